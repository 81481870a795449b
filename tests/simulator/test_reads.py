"""The read endpoints: the organization -> project -> environment -> job walk, job details and statuses."""

from __future__ import annotations

import uuid

import httpx
import pytest

from qjob_tui.simulator import (
    DEMO_ENV_DATA_DEVELOPMENT_ID,
    DEMO_ORGANIZATION_ID,
    Simulator,
    demo_dataset,
)

UNKNOWN = str(uuid.UUID(int=7))


async def test_the_organization_walk_reaches_every_demo_job(api: httpx.AsyncClient) -> None:
    organizations = (await api.get("/organization")).json()["results"]
    assert [org["id"] for org in organizations] == [DEMO_ORGANIZATION_ID]
    projects = (await api.get(f"/organization/{DEMO_ORGANIZATION_ID}/project")).json()["results"]
    assert {project["name"] for project in projects} == {"storefront", "data-platform"}
    environments = []
    for project in projects:
        answer = await api.get(f"/project/{project['id']}/environment")
        found = answer.json()["results"]
        assert len(found) == project["associated_environments_count"]
        environments += found
    assert len(environments) >= 3
    jobs = []
    for env in environments:
        jobs += (await api.get(f"/environment/{env['id']}/job")).json()["results"]
    assert sorted(job["id"] for job in jobs) == sorted(job.id for job in demo_dataset().jobs)
    assert {job["job_type"] for job in jobs} == {"CRON", "LIFECYCLE"}


async def test_job_details_follow_the_job_type(api: httpx.AsyncClient) -> None:
    for spec in demo_dataset().jobs:
        job = (await api.get(f"/job/{spec.id}")).json()
        assert (job["id"], job["name"], job["job_type"]) == (spec.id, spec.name, spec.job_type)
        assert job["environment"] == {"id": spec.environment_id}
        if spec.job_type == "CRON":
            assert job["schedule"]["cronjob"]["scheduled_at"] == spec.scheduled_at
        else:
            hooks = {key for key in job["schedule"] if key.startswith("on_")}
            assert hooks == {f"on_{event.lower()}" for event in spec.lifecycle_events}


async def test_job_status_matches_the_environment_statuses(api: httpx.AsyncClient, sim: Simulator) -> None:
    for env in demo_dataset().environments:
        statuses = (await api.get(f"/environment/{env.id}/job/status")).json()["results"]
        for status in statuses:
            single = (await api.get(f"/job/{status['id']}/status")).json()
            assert single == status
            assert status["state"] == sim.state_of(status["id"])


async def test_demo_states_show_as_the_dataset_says(api: httpx.AsyncClient) -> None:
    for spec in demo_dataset().jobs:
        status = (await api.get(f"/job/{spec.id}/status")).json()
        assert status["state"] == spec.state
    vacuum = (await api.get(f"/job/{demo_dataset().job_named('table-vacuum').id}/status")).json()
    assert vacuum["service_deployment_status"] == "NEVER_DEPLOYED"
    assert "last_deployment_date" not in vacuum
    failed = (await api.get(f"/job/{demo_dataset().job_named('cache-warmup').id}/status")).json()
    assert failed["status_details"]["status"] == "ERROR"


async def test_an_empty_environment_lists_no_jobs(api: httpx.AsyncClient) -> None:
    assert (await api.get(f"/environment/{DEMO_ENV_DATA_DEVELOPMENT_ID}/job")).json() == {"results": []}
    assert (await api.get(f"/environment/{DEMO_ENV_DATA_DEVELOPMENT_ID}/job/status")).json() == {
        "results": []
    }


@pytest.mark.parametrize(
    ("method", "path", "message"),
    [
        ("GET", f"/job/{UNKNOWN}", f"job {UNKNOWN} not found"),
        ("GET", f"/job/{UNKNOWN}/status", f"job {UNKNOWN} not found"),
        ("GET", "/job/not-a-uuid", "job not-a-uuid not found"),
        ("GET", f"/environment/{UNKNOWN}/job", f"environment {UNKNOWN} not found"),
        ("GET", f"/environment/{UNKNOWN}/job/status", f"environment {UNKNOWN} not found"),
        ("GET", f"/organization/{UNKNOWN}/project", f"organization {UNKNOWN} not found"),
        ("GET", f"/project/{UNKNOWN}/environment", f"project {UNKNOWN} not found"),
        ("POST", f"/job/{UNKNOWN}/deploy", f"job {UNKNOWN} not found"),
        ("POST", f"/job/{UNKNOWN}/redeploy", f"job {UNKNOWN} not found"),
        ("POST", f"/job/{UNKNOWN}/stop", f"job {UNKNOWN} not found"),
        ("POST", f"/job/{UNKNOWN}/uninstall", f"job {UNKNOWN} not found"),
        ("POST", f"/job/{UNKNOWN}/cleanFailedJob", f"job {UNKNOWN} not found"),
    ],
)
async def test_unknown_ids_are_404_naming_what_is_missing(
    api: httpx.AsyncClient, sim: Simulator, method: str, path: str, message: str
) -> None:
    answer = await api.request(method, path)
    assert (answer.status_code, answer.json()["message"]) == (404, message)
    assert all(job.accepted_actions == 0 for job in sim.jobs.values())


async def test_an_unknown_path_is_a_json_404(raw: httpx.AsyncClient) -> None:
    answer = await raw.get("/no/such/thing", headers={"Authorization": "Token qov-demo-token"})
    assert answer.status_code == 404
    assert answer.json()["status"] == 404
    trailing = await raw.get(
        f"/job/{demo_dataset().jobs[0].id}/", headers={"Authorization": "Token qov-demo-token"}
    )
    assert trailing.status_code == 404


async def test_a_wrong_method_is_405_with_allow(api: httpx.AsyncClient) -> None:
    job_id = demo_dataset().jobs[0].id
    answer = await api.get(f"/job/{job_id}/deploy")
    assert answer.status_code == 405
    assert answer.headers["allow"] == "POST"
    assert (await api.delete(f"/job/{job_id}/status")).status_code == 405


async def test_account_is_served(api: httpx.AsyncClient) -> None:
    account = (await api.get("/account")).json()
    assert account["id"] == demo_dataset().account_id
