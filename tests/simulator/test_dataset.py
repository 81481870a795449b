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
    RunSpec,
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


def test_a_job_without_history_gets_the_one_run_that_explains_its_state() -> None:
    runs = {
        state: JobSpec(id="j", environment_id="e", name="j", state=state, deployed_ago_s=600).past_runs
        for state in ("READY", "DEPLOYED", "DEPLOYMENT_ERROR", "STOPPED", "DELETED")
    }
    assert runs["READY"] == ()
    assert {
        state: [(run.action, run.failed, run.ago_s) for run in found] for state, found in runs.items()
    } == {
        "READY": [],
        "DEPLOYED": [("DEPLOY", False, 600)],
        "DEPLOYMENT_ERROR": [("DEPLOY", True, 600)],
        "STOPPED": [("STOP", False, 600)],
        "DELETED": [("DELETE", False, 600)],
    }
    assert all(run.outcome == state for state, found in runs.items() for run in found)


@pytest.mark.parametrize(
    ("state", "history", "message"),
    [
        ("READY", (RunSpec(ago_s=600),), "a READY job has never run"),
        ("STOPPED", (RunSpec(ago_s=600),), "its newest run must be the one that left it STOPPED, 600s ago"),
        ("DEPLOYED", (RunSpec(ago_s=900),), r"\(it left it DEPLOYED, 900s ago\)"),
        ("DEPLOYED", (RunSpec(ago_s=600), RunSpec(ago_s=620)), "overlap or are not newest first"),
        ("DEPLOYED", (RunSpec(ago_s=600), RunSpec(ago_s=300)), "overlap or are not newest first"),
    ],
)
def test_a_job_history_must_explain_its_state(state: str, history: tuple[RunSpec, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        JobSpec(id="j", environment_id="e", name="j", state=state, deployed_ago_s=600, history=history)


def test_a_past_run_is_over_and_only_a_deploy_fails() -> None:
    with pytest.raises(ValueError, match="only a deploy can fail"):
        RunSpec(ago_s=600, action="STOP", failed=True)
    with pytest.raises(ValueError, match="must have ended when the simulator starts"):
        RunSpec(ago_s=10, queued_s=5, running_s=6)
    assert RunSpec(ago_s=11, queued_s=5, running_s=6).outcome == "DEPLOYED"


def test_the_runs_of_one_environment_deployment_start_together() -> None:
    org = OrganizationSpec(id="o", name="o")
    project = ProjectSpec(id="p", organization_id="o", name="p")
    env = EnvironmentSpec(id="e", project_id="p", name="e")

    def job(name: str, ago_s: float) -> JobSpec:
        run = RunSpec(ago_s=ago_s, execution="release")
        return JobSpec(id=name, environment_id="e", name=name, deployed_ago_s=ago_s, history=(run,))

    Dataset((org,), (project,), (env,), (job("a", 600), job("b", 600)))
    with pytest.raises(ValueError, match="job b: execution 'release' started at another time"):
        Dataset((org,), (project,), (env,), (job("a", 600), job("b", 700)))
