"""The demo data the contract promises, and the benchmark data's determinism."""

from __future__ import annotations

import uuid

import httpx
import pytest

from qjob_tui.simulator import (
    DEMO_ENV_STOREFRONT_PRODUCTION_ID,
    DEMO_ORGANIZATION_ID,
    Dataset,
    EnvironmentSpec,
    JobSpec,
    OrganizationSpec,
    ProjectSpec,
    Simulator,
    big_dataset,
    demo_dataset,
    serve_simulator,
)

from .conftest import AUTH
from .openapi_check import OpenAPI


def _is_uuid(value: str) -> bool:
    return str(uuid.UUID(value)) == value


def test_the_demo_has_what_the_contract_promises() -> None:
    demo = demo_dataset()
    assert len(demo.jobs) >= 6
    assert {job.job_type for job in demo.jobs} == {"CRON", "LIFECYCLE"}
    assert len({job.environment_id for job in demo.jobs}) >= 2
    assert [job.name for job in demo.jobs if job.state == "DEPLOYMENT_ERROR"] == ["cache-warmup"]
    assert [job.name for job in demo.jobs if job.fail_next] == ["seed-fixtures"]
    assert [org.id for org in demo.organizations] == [DEMO_ORGANIZATION_ID]
    assert len(demo.projects) == 2
    assert len(demo.environments) >= 3
    ids = [
        item.id
        for group in (demo.organizations, demo.projects, demo.environments, demo.jobs)
        for item in group
    ]
    assert all(_is_uuid(value) for value in ids)


def test_the_demo_ids_are_stable() -> None:
    assert demo_dataset() == demo_dataset()
    assert demo_dataset().job_named("nightly-backup").id == "cbc600f8-fdbd-4cda-a6e0-9f5ef9412584"
    assert demo_dataset().environment_named("production").id == DEMO_ENV_STOREFRONT_PRODUCTION_ID
    with pytest.raises(KeyError):
        demo_dataset().job_named("nope")


def test_the_big_dataset_is_deterministic_and_spread_evenly() -> None:
    big = big_dataset(1000, 10)
    assert big == big_dataset(1000, 10)
    assert len(big.jobs) == 1000
    assert len({job.id for job in big.jobs}) == 1000
    per_env = {env.id: sum(job.environment_id == env.id for job in big.jobs) for env in big.environments}
    assert sorted(per_env.values()) == [100] * 10
    assert {job.job_type for job in big.jobs} == {"CRON", "LIFECYCLE"}
    assert all(_is_uuid(job.id) for job in big.jobs[:50])
    with pytest.raises(ValueError):
        big_dataset(10, 0)


async def test_a_big_environment_answers_in_one_request(spec: OpenAPI) -> None:
    big = big_dataset(300, 3)
    sim = Simulator(dataset=big, phase_s=0, record=False)
    async with serve_simulator(sim) as url, httpx.AsyncClient(base_url=url, headers=AUTH) as client:
        answer = await client.get(f"/environment/{big.environments[0].id}/job/status")
        await answer.aread()
        spec.check(answer)
        jobs = await client.get(f"/environment/{big.environments[1].id}/job")
        spec.check(jobs)
    assert len(answer.json()["results"]) == 100
    assert len(jobs.json()["results"]) == 100


def test_a_dataset_refuses_dangling_references() -> None:
    org = OrganizationSpec(id="o", name="o")
    project = ProjectSpec(id="p", organization_id="o", name="p")
    env = EnvironmentSpec(id="e", project_id="p", name="e")
    Dataset((org,), (project,), (env,), (JobSpec(id="j", environment_id="e", name="j"),))
    with pytest.raises(ValueError, match="unknown environment"):
        Dataset((org,), (project,), (env,), (JobSpec(id="j", environment_id="x", name="j"),))
    with pytest.raises(ValueError, match="unknown project"):
        Dataset((org,), (project,), (EnvironmentSpec(id="e", project_id="x", name="e"),), ())
    with pytest.raises(ValueError, match="duplicate job"):
        job = JobSpec(id="j", environment_id="e", name="j")
        Dataset((org,), (project,), (env,), (job, job))


def test_a_job_spec_refuses_impossible_states() -> None:
    with pytest.raises(ValueError):
        JobSpec(id="j", environment_id="e", name="j", state="DEPLOYING")
    with pytest.raises(ValueError):
        JobSpec(id="j", environment_id="e", name="j", job_type="LIFECYCLE", lifecycle_events=())
