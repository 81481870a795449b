"""An environment's statuses and the two cancel routes (a whole environment, one deployment request)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from qjob_tui.simulator import (
    DEMO_ENV_DATA_DEVELOPMENT_ID,
    DEMO_ENV_STOREFRONT_PRODUCTION_ID,
    DEMO_ENV_STOREFRONT_STAGING_ID,
    ManualClock,
    Simulator,
    demo_dataset,
    serve_simulator,
)

from .conftest import AUTH

DEMO = demo_dataset()
BACKUP = DEMO.job_named("nightly-backup").id  # storefront production
MIGRATE = DEMO.job_named("db-migrate").id  # storefront production
WARMUP = DEMO.job_named("cache-warmup").id  # storefront staging, DEPLOYMENT_ERROR
VACUUM = DEMO.job_named("table-vacuum").id  # READY
UNKNOWN = "00000000-0000-4000-8000-000000000007"
PRODUCTION = DEMO_ENV_STOREFRONT_PRODUCTION_ID


async def statuses(api: httpx.AsyncClient, environment_id: str) -> dict[str, Any]:
    answer = await api.get(f"/environment/{environment_id}/statuses")
    assert answer.status_code == 200
    body: dict[str, Any] = answer.json()
    return body


async def job_state(api: httpx.AsyncClient, job_id: str) -> str:
    state: str = (await api.get(f"/job/{job_id}/status")).json()["state"]
    return state


async def newest_run(api: httpx.AsyncClient, job_id: str) -> dict[str, Any]:
    run: dict[str, Any] = (await api.get(f"/job/{job_id}/deploymentHistoryV2")).json()["results"][0]
    return run


async def test_the_statuses_hold_the_jobs_statuses_and_the_newest_run(api: httpx.AsyncClient) -> None:
    body = await statuses(api, PRODUCTION)
    listed = (await api.get(f"/environment/{PRODUCTION}/job/status")).json()["results"]
    assert body["jobs"] == listed
    assert [body[kind] for kind in ("applications", "containers", "databases", "helms", "terraforms")] == [
        []
    ] * 5
    environment = body["environment"]
    migrate = await newest_run(api, MIGRATE)  # 5 hours ago: the environment's newest run
    assert environment["id"] == PRODUCTION
    assert (environment["state"], environment["last_deployment_state"]) == ("DEPLOYED", "DEPLOYED")
    assert environment["last_deployment_id"] == migrate["identifier"]["execution_id"]
    assert environment["last_deployment_date"] == migrate["auditing_data"]["created_at"]
    assert (environment["triggered_by"], environment["origin"]) == ("Alice Martin", "CONSOLE")
    assert environment["total_deployment_duration_in_seconds"] == 99
    assert environment["deployment_status"] == "UP_TO_DATE"


async def test_a_failed_job_makes_its_environment_failed(api: httpx.AsyncClient) -> None:
    environment = (await statuses(api, DEMO_ENV_STOREFRONT_STAGING_ID))["environment"]
    # cache-warmup failed 40 minutes ago, after seed-fixtures deployed 3 hours ago.
    assert (environment["state"], environment["last_deployment_state"]) == (
        "DEPLOYMENT_ERROR",
        "DEPLOYMENT_ERROR",
    )
    assert environment["deployment_status"] == "OUT_OF_DATE"


async def test_an_environment_that_never_ran(api: httpx.AsyncClient) -> None:
    environment = (await statuses(api, DEMO_ENV_DATA_DEVELOPMENT_ID))["environment"]
    assert environment == {
        "id": DEMO_ENV_DATA_DEVELOPMENT_ID,
        "state": "READY",
        "last_deployment_state": "READY",
        "last_deployment_date": None,
        "last_deployment_id": None,
        "total_deployment_duration_in_seconds": None,
        "origin": None,
        "triggered_by": None,
        "deployment_status": "NEVER_DEPLOYED",
        "deployment_request_id": None,
    }


async def test_the_environment_follows_a_run_in_progress(api: httpx.AsyncClient, clock: ManualClock) -> None:
    accepted = (await api.post(f"/job/{BACKUP}/deploy")).json()
    seen = []
    for _ in range(3):
        environment = (await statuses(api, PRODUCTION))["environment"]
        seen.append((environment["state"], environment["total_deployment_duration_in_seconds"]))
        assert environment["last_deployment_id"] == accepted["execution_id"]
        assert environment["deployment_request_id"] == accepted["deployment_request_id"]
        assert (environment["triggered_by"], environment["origin"]) == ("Demo User", "API")
        clock.advance(2)
    assert seen == [("DEPLOYMENT_QUEUED", None), ("DEPLOYING", None), ("DEPLOYED", 4)]


async def test_canceling_an_environment_cancels_its_runs(api: httpx.AsyncClient, clock: ManualClock) -> None:
    backup = (await api.post(f"/job/{BACKUP}/deploy")).json()
    clock.advance(2.5)
    migrate = (await api.post(f"/job/{MIGRATE}/redeploy")).json()
    answer = await api.post(f"/environment/{PRODUCTION}/cancelDeployment", json={"force_cancel": True})
    assert answer.status_code == 202
    assert answer.json()["state"] == "CANCELING"
    assert [await job_state(api, job) for job in (BACKUP, MIGRATE)] == ["CANCELING", "CANCELING"]
    clock.advance(2)
    assert [await job_state(api, job) for job in (BACKUP, MIGRATE)] == ["CANCELED", "CANCELED"]
    for job_id, accepted in ((BACKUP, backup), (MIGRATE, migrate)):
        run = await newest_run(api, job_id)
        assert run["identifier"]["execution_id"] == accepted["execution_id"]
        assert (run["status"], run["status_details"]["status"]) == ("CANCELED", "CANCELED")
        assert run["total_duration"] == ("PT4.5S" if job_id == BACKUP else "PT2S")
        status = (await api.get(f"/job/{job_id}/status")).json()
        assert status["status_details"] == {"action": "DEPLOY", "status": "CANCELED", "sub_action": "NONE"}
    assert (await statuses(api, PRODUCTION))["environment"]["state"] == "CANCELED"
    lines = (
        await api.get(f"/environment/{PRODUCTION}/logs", params={"version": backup["execution_id"]})
    ).json()
    mine = [line for line in lines if line["details"]["execution_id"] == backup["execution_id"]]
    steps = [
        line["details"]["stage"]["step"] for line in mine if line["details"]["transmitter"]["id"] == BACKUP
    ]
    # Queued, the lines of the running phase up to the cancel (2.0s and 2.5s: written as it came), the cancel.
    assert steps == ["LoadConfiguration", "Deploy", "Deploy", "Cancel", "Cancelled"]
    assert mine[-1]["details"]["stage"]["step"] == "Cancelled"
    assert mine[-1]["details"]["transmitter"]["type"] == "Environment"


async def test_a_canceled_job_takes_actions_again(api: httpx.AsyncClient, clock: ManualClock) -> None:
    await api.post(f"/job/{VACUUM}/deploy")
    assert (
        await api.post(f"/environment/{DEMO.job_named('table-vacuum').environment_id}/cancelDeployment")
    ).status_code == 202
    assert (await api.post(f"/job/{VACUUM}/deploy")).status_code == 409, "still canceling"
    clock.advance(2)
    # Canceled before it ever deployed: nothing to stop or uninstall, as before the deploy.
    assert (await api.post(f"/job/{VACUUM}/stop")).status_code == 409
    assert (await api.post(f"/job/{VACUUM}/uninstall")).status_code == 204
    assert (await api.get(f"/job/{VACUUM}/status")).json()["service_deployment_status"] == "NEVER_DEPLOYED"
    assert (await api.post(f"/job/{VACUUM}/deploy")).status_code == 202
    clock.advance(4)
    assert await job_state(api, VACUUM) == "DEPLOYED"


async def test_canceling_one_deployment_request(api: httpx.AsyncClient, clock: ManualClock) -> None:
    backup = (await api.post(f"/job/{BACKUP}/deploy")).json()
    await api.post(f"/job/{MIGRATE}/deploy")
    answer = await api.post(f"/deploymentQueue/{backup['deployment_request_id']}/cancelDeployment")
    assert (answer.status_code, answer.content) == (202, b"")
    assert [await job_state(api, job) for job in (BACKUP, MIGRATE)] == ["CANCELING", "DEPLOYMENT_QUEUED"]
    again = await api.post(f"/deploymentQueue/{backup['deployment_request_id']}/cancelDeployment")
    assert again.status_code == 409
    assert "not in progress" in again.json()["message"]
    clock.advance(4)
    assert [await job_state(api, job) for job in (BACKUP, MIGRATE)] == ["CANCELED", "DEPLOYED"]


async def test_nothing_to_cancel_is_409_and_an_unknown_request_404(api: httpx.AsyncClient) -> None:
    answer = await api.post(f"/environment/{PRODUCTION}/cancelDeployment")
    assert (answer.status_code, answer.json()["message"]) == (
        409,
        f"environment production ({PRODUCTION}) has no deployment in progress to cancel",
    )
    past = (await newest_run(api, BACKUP))["identifier"]["execution_id"].rsplit("-", 1)[0]
    answer = await api.post(f"/deploymentQueue/{past}/cancelDeployment")
    assert answer.status_code == 409
    answer = await api.post(f"/deploymentQueue/{UNKNOWN}/cancelDeployment")
    assert (answer.status_code, answer.json()["message"]) == (404, f"deployment request {UNKNOWN} not found")
    answer = await api.post(f"/environment/{UNKNOWN}/cancelDeployment")
    assert (answer.status_code, answer.json()["message"]) == (404, f"environment {UNKNOWN} not found")
    assert (await api.get(f"/environment/{UNKNOWN}/statuses")).status_code == 404


@pytest.mark.parametrize("body", [b"[]", b"nope", b'{"force_cancel": "yes"}', b'{"force_cancel": null}'])
async def test_a_bad_cancel_body_is_400(api: httpx.AsyncClient, body: bytes) -> None:
    await api.post(f"/job/{BACKUP}/deploy")
    answer = await api.post(f"/environment/{PRODUCTION}/cancelDeployment", content=body)
    assert answer.status_code == 400
    assert await job_state(api, BACKUP) == "DEPLOYMENT_QUEUED"


async def test_with_phase_zero_a_cancel_is_done_at_once() -> None:
    clock = ManualClock()
    sim = Simulator(clock=clock, phase_s=2.0)
    async with serve_simulator(sim) as url, httpx.AsyncClient(base_url=url, headers=AUTH) as client:
        await client.post(f"/job/{BACKUP}/deploy")
        sim.phase_s = 0
        assert (await client.post(f"/environment/{PRODUCTION}/cancelDeployment")).status_code == 202
        assert (await client.get(f"/job/{BACKUP}/status")).json()["state"] == "CANCELED"
