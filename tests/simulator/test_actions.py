"""The five job actions over HTTP: answers, state changes, 409 while busy, 400 for bad input, 204."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from qjob_tui.simulator import ManualClock, Simulator, demo_dataset, serve_simulator

from .conftest import AUTH

DEMO = demo_dataset()
BACKUP = DEMO.job_named("nightly-backup").id  # cron, DEPLOYED
MIGRATE = DEMO.job_named("db-migrate").id  # lifecycle START, DEPLOYED, built from git
WARMUP = DEMO.job_named("cache-warmup").id  # cron, DEPLOYMENT_ERROR
SEED = DEMO.job_named("seed-fixtures").id  # lifecycle START/DELETE, DEPLOYED, next deploy fails
REPORT = DEMO.job_named("weekly-report").id  # cron, STOPPED
SCHEMA = DEMO.job_named("warehouse-schema").id  # lifecycle START/STOP/DELETE, DEPLOYED
VACUUM = DEMO.job_named("table-vacuum").id  # cron, READY (never deployed)


async def state(api: httpx.AsyncClient, job_id: str) -> str:
    answer = await api.get(f"/job/{job_id}/status")
    assert answer.status_code == 200
    value: str = answer.json()["state"]
    return value


async def test_deploy_is_accepted_with_a_queued_status(api: httpx.AsyncClient) -> None:
    answer = await api.post(f"/job/{BACKUP}/deploy")
    assert answer.status_code == 202
    status = answer.json()
    assert status["id"] == BACKUP
    assert status["state"] == "DEPLOYMENT_QUEUED"
    assert status["status_details"] == {"action": "DEPLOY", "status": "QUEUED", "sub_action": "NONE"}
    assert status["deployment_requests_count"] == 1
    assert uuid.UUID(status["deployment_request_id"])


async def test_every_action_has_a_fresh_deployment_request_id(
    api: httpx.AsyncClient, clock: ManualClock
) -> None:
    seen = set()
    for _ in range(3):
        answer = await api.post(f"/job/{BACKUP}/redeploy")
        assert answer.status_code == 202
        seen.add(answer.json()["deployment_request_id"])
        clock.advance(4)
    assert len(seen) == 3
    assert (await api.get(f"/job/{BACKUP}/status")).json()["deployment_request_id"] in seen


@pytest.mark.parametrize(
    ("action", "job_id", "phases"),
    [
        ("deploy", BACKUP, ["DEPLOYMENT_QUEUED", "DEPLOYING", "DEPLOYED"]),
        ("redeploy", MIGRATE, ["DEPLOYMENT_QUEUED", "DEPLOYING", "DEPLOYED"]),
        ("deploy", VACUUM, ["DEPLOYMENT_QUEUED", "DEPLOYING", "DEPLOYED"]),
        ("stop", SCHEMA, ["STOP_QUEUED", "STOPPING", "STOPPED"]),
        ("uninstall", REPORT, ["DELETE_QUEUED", "DELETING", "DELETED"]),
        ("deploy", SEED, ["DEPLOYMENT_QUEUED", "DEPLOYING", "DEPLOYMENT_ERROR"]),
    ],
)
async def test_an_action_moves_through_its_phases_with_the_clock(
    api: httpx.AsyncClient, clock: ManualClock, action: str, job_id: str, phases: list[str]
) -> None:
    queued, running, settled = phases
    assert (await api.post(f"/job/{job_id}/{action}")).status_code == 202
    assert await state(api, job_id) == queued
    clock.advance(1.9)
    assert await state(api, job_id) == queued
    clock.advance(0.1)
    assert await state(api, job_id) == running
    statuses = (await api.get(f"/environment/{DEMO.jobs[0].environment_id}/job/status")).json()["results"]
    assert all(s["state"] != running or s["id"] == job_id for s in statuses)
    clock.advance(1.9)
    assert await state(api, job_id) == running
    clock.advance(0.1)
    assert await state(api, job_id) == settled
    status = (await api.get(f"/job/{job_id}/status")).json()
    assert status["deployment_requests_count"] == 0
    assert status["status_details"]["status"] == ("ERROR" if settled.endswith("ERROR") else "SUCCESS")


async def test_a_job_set_to_fail_fails_once_then_deploys(api: httpx.AsyncClient, clock: ManualClock) -> None:
    await api.post(f"/job/{SEED}/deploy")
    clock.advance(4)
    status = (await api.get(f"/job/{SEED}/status")).json()
    assert status["state"] == "DEPLOYMENT_ERROR"
    assert status["service_deployment_status"] == "OUT_OF_DATE"
    await api.post(f"/job/{SEED}/deploy")
    clock.advance(4)
    status = (await api.get(f"/job/{SEED}/status")).json()
    assert status["state"] == "DEPLOYED"
    assert status["service_deployment_status"] == "UP_TO_DATE"


async def test_a_job_that_always_fails_fails_every_deploy(
    api: httpx.AsyncClient, sim: Simulator, clock: ManualClock
) -> None:
    sim.job(BACKUP).fails = True
    for _ in range(2):
        await api.post(f"/job/{BACKUP}/redeploy")
        clock.advance(4)
        assert await state(api, BACKUP) == "DEPLOYMENT_ERROR"


async def test_fail_next_arms_a_single_failure(
    api: httpx.AsyncClient, sim: Simulator, clock: ManualClock
) -> None:
    sim.fail_next(BACKUP)
    await api.post(f"/job/{BACKUP}/deploy")
    clock.advance(4)
    assert await state(api, BACKUP) == "DEPLOYMENT_ERROR"
    await api.post(f"/job/{BACKUP}/deploy")
    clock.advance(4)
    assert await state(api, BACKUP) == "DEPLOYED"


@pytest.mark.parametrize("busy_for", [0.0, 2.5], ids=["queued", "running"])
@pytest.mark.parametrize("first", ["deploy", "redeploy", "stop", "uninstall"])
@pytest.mark.parametrize("second", ["deploy", "redeploy", "stop", "uninstall"])
async def test_any_action_while_another_is_in_progress_is_409(
    api: httpx.AsyncClient, clock: ManualClock, first: str, second: str, busy_for: float
) -> None:
    assert (await api.post(f"/job/{SCHEMA}/{first}")).status_code == 202
    clock.advance(busy_for)
    busy = await api.post(f"/job/{SCHEMA}/{second}")
    assert busy.status_code == 409
    assert "in progress" in busy.json()["message"]
    clock.advance(4)
    # Once settled the job takes actions again, as its new state allows.
    settled = {"deploy": "DEPLOYED", "redeploy": "DEPLOYED", "stop": "STOPPED", "uninstall": "DELETED"}[first]
    expected = AFTER_SETTLING[settled][second]
    assert (await api.post(f"/job/{SCHEMA}/{second}")).status_code == expected


AFTER_SETTLING = {
    "DEPLOYED": {"deploy": 202, "redeploy": 202, "stop": 202, "uninstall": 202},
    "STOPPED": {"deploy": 202, "redeploy": 202, "stop": 409, "uninstall": 202},
    "DELETED": {"deploy": 202, "redeploy": 202, "stop": 409, "uninstall": 204},
}


async def test_stopping_a_stopped_job_is_409(api: httpx.AsyncClient) -> None:
    for job_id in (REPORT, VACUUM):
        answer = await api.post(f"/job/{job_id}/stop")
        assert answer.status_code == 409
        assert "already stopped" in answer.json()["message"]


async def test_uninstall_with_nothing_deployed_is_204(api: httpx.AsyncClient, clock: ManualClock) -> None:
    answer = await api.post(f"/job/{VACUUM}/uninstall")
    assert (answer.status_code, answer.content) == (204, b"")
    assert await state(api, VACUUM) == "READY"
    assert (await api.post(f"/job/{BACKUP}/uninstall", json={})).status_code == 202
    clock.advance(4)
    again = await api.post(f"/job/{BACKUP}/uninstall")
    assert (again.status_code, again.content) == (204, b"")


async def test_a_deleted_job_can_be_deployed_again(api: httpx.AsyncClient, clock: ManualClock) -> None:
    await api.post(f"/job/{REPORT}/uninstall")
    clock.advance(4)
    assert await state(api, REPORT) == "DELETED"
    assert (await api.post(f"/job/{REPORT}/deploy")).status_code == 202
    clock.advance(4)
    assert await state(api, REPORT) == "DEPLOYED"


async def test_clean_failed_job_removes_leftovers_and_restores_the_job(api: httpx.AsyncClient) -> None:
    answer = await api.post(f"/job/{WARMUP}/cleanFailedJob")
    assert answer.status_code == 200
    cleaned = answer.json()["clean_kubernetes_jobs"]
    assert len(cleaned) == 1
    assert cleaned[0].startswith("qjob-cache-warmup-")
    status = (await api.get(f"/job/{WARMUP}/status")).json()
    assert (status["state"], status["status_details"]["status"]) == ("DEPLOYED", "SUCCESS")
    again = await api.post(f"/job/{WARMUP}/cleanFailedJob")
    assert again.json() == {"clean_kubernetes_jobs": []}


async def test_clean_of_a_healthy_job_cleans_nothing(api: httpx.AsyncClient) -> None:
    answer = await api.post(f"/job/{BACKUP}/cleanFailedJob")
    assert answer.json() == {"clean_kubernetes_jobs": []}
    assert await state(api, BACKUP) == "DEPLOYED"


async def test_a_cleaned_job_goes_back_to_its_state_before_the_failure(
    api: httpx.AsyncClient, sim: Simulator, clock: ManualClock
) -> None:
    sim.fail_next(VACUUM)
    await api.post(f"/job/{VACUUM}/deploy")
    clock.advance(4)
    await api.post(f"/job/{VACUUM}/redeploy")  # the second failure keeps the first one's "before"
    sim.fail_next(VACUUM)
    clock.advance(4)
    assert await state(api, VACUUM) == "DEPLOYED"
    sim.job(VACUUM).fails = True
    await api.post(f"/job/{VACUUM}/redeploy")
    clock.advance(4)
    await api.post(f"/job/{VACUUM}/redeploy")
    clock.advance(4)
    assert await state(api, VACUUM) == "DEPLOYMENT_ERROR"
    cleaned = (await api.post(f"/job/{VACUUM}/cleanFailedJob")).json()["clean_kubernetes_jobs"]
    assert len(cleaned) == 2
    assert await state(api, VACUUM) == "DEPLOYED"


async def test_clean_while_deploying_cleans_nothing(api: httpx.AsyncClient) -> None:
    await api.post(f"/job/{WARMUP}/deploy")
    answer = await api.post(f"/job/{WARMUP}/cleanFailedJob")
    assert answer.json() == {"clean_kubernetes_jobs": []}
    assert await state(api, WARMUP) == "DEPLOYMENT_QUEUED"


async def test_deploy_with_an_image_tag_changes_the_job_image(api: httpx.AsyncClient) -> None:
    assert (await api.post(f"/job/{BACKUP}/deploy", json={"image_tag": "2.5.0"})).status_code == 202
    job = (await api.get(f"/job/{BACKUP}")).json()
    assert job["source"]["image"]["tag"] == "2.5.0"


async def test_deploy_with_a_commit_changes_the_deployed_commit(api: httpx.AsyncClient) -> None:
    commit = "0123456789abcdef0123456789abcdef01234567"
    assert (await api.post(f"/job/{MIGRATE}/deploy", json={"git_commit_id": commit})).status_code == 202
    job = (await api.get(f"/job/{MIGRATE}")).json()
    assert job["source"]["docker"]["git_repository"]["deployed_commit_id"] == commit


@pytest.mark.parametrize(
    ("job_id", "event"),
    [(BACKUP, "CRON"), (MIGRATE, "START"), (SCHEMA, "STOP"), (SCHEMA, "DELETE"), (SEED, "DELETE")],
)
@pytest.mark.parametrize("action", ["deploy", "redeploy"])
async def test_a_force_event_the_job_has_is_accepted(
    api: httpx.AsyncClient, sim: Simulator, action: str, job_id: str, event: str
) -> None:
    answer = await api.post(f"/job/{job_id}/{action}", params={"forceEvent": event})
    assert answer.status_code == 202
    assert sim.job(job_id).last_force_event == event


# Each refusal names what is wrong and what the job accepts, so that a caller can correct the request.
NOT_AN_EVENT = "is not one of CRON, DELETE, START, STOP"


@pytest.mark.parametrize(
    ("job_id", "event", "message"),
    [
        (
            BACKUP,
            "START",
            "job nightly-backup is a cron job without a START event (it accepts forceEvent CRON)",
        ),
        (
            BACKUP,
            "STOP",
            "job nightly-backup is a cron job without a STOP event (it accepts forceEvent CRON)",
        ),
        (
            MIGRATE,
            "CRON",
            "job db-migrate is a lifecycle job without a CRON event (it accepts forceEvent START)",
        ),
        (
            MIGRATE,
            "STOP",
            "job db-migrate is a lifecycle job without a STOP event (it accepts forceEvent START)",
        ),
        (
            SEED,
            "STOP",
            "job seed-fixtures is a lifecycle job without a STOP event (it accepts forceEvent START, DELETE)",
        ),
        (BACKUP, "NOPE", f"forceEvent 'NOPE' {NOT_AN_EVENT}"),
        (BACKUP, "cron", f"forceEvent 'cron' {NOT_AN_EVENT}"),
        (BACKUP, "", f"forceEvent '' {NOT_AN_EVENT}"),
    ],
)
@pytest.mark.parametrize("action", ["deploy", "redeploy"])
async def test_a_force_event_the_job_lacks_is_400(
    api: httpx.AsyncClient, sim: Simulator, action: str, job_id: str, event: str, message: str
) -> None:
    before = sim.state_of(job_id)
    answer = await api.post(f"/job/{job_id}/{action}", params={"forceEvent": event})
    assert answer.status_code == 400
    assert answer.json()["message"] == message
    assert not sim.job(job_id).in_progress
    assert sim.job(job_id).accepted_actions == 0
    assert sim.state_of(job_id) == before


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"{",
        b"[]",
        b'"image_tag"',
        b"null",
        b"42",
        json.dumps({"image_tag": 2}).encode(),
        json.dumps({"image_tag": None}).encode(),
        json.dumps({"image_tag": ""}).encode(),
        json.dumps({"git_commit_id": ["abc"]}).encode(),
        json.dumps({"image_tag": "1.0", "git_commit_id": "abc"}).encode(),
        b"\xff\xfe",
        b"[" * 100_000,
    ],
)
async def test_a_bad_deploy_body_is_400(api: httpx.AsyncClient, sim: Simulator, body: bytes) -> None:
    answer = await api.post(
        f"/job/{BACKUP}/deploy", content=body, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 400
    assert not sim.job(BACKUP).in_progress


@pytest.mark.parametrize("body", [b"nope", b"[]", b"null", b'"x"'])
async def test_a_bad_uninstall_body_is_400(api: httpx.AsyncClient, body: bytes) -> None:
    answer = await api.post(f"/job/{BACKUP}/uninstall", content=body)
    assert answer.status_code == 400


@pytest.mark.parametrize("body", [None, {}, {"image_tag": "3.0"}, {"git_commit_id": "abc"}, {"other": 1}])
async def test_a_good_deploy_body_is_accepted(api: httpx.AsyncClient, body: dict[str, Any] | None) -> None:
    answer = await api.post(f"/job/{BACKUP}/deploy", json=body)
    assert answer.status_code == 202


async def test_with_phase_zero_back_to_back_deploys_all_succeed() -> None:
    sim = Simulator(phase_s=0)
    async with serve_simulator(sim) as url, httpx.AsyncClient(base_url=url, headers=AUTH) as client:
        answers = [(await client.post(f"/job/{BACKUP}/deploy")).status_code for _ in range(25)]
        assert answers == [202] * 25
        assert (await client.get(f"/job/{BACKUP}/status")).json()["state"] == "DEPLOYED"
    assert sim.job(BACKUP).accepted_actions == 25


async def test_requests_are_recorded_in_order(api: httpx.AsyncClient, sim: Simulator) -> None:
    await api.post(f"/job/{BACKUP}/deploy", params={"forceEvent": "CRON"}, json={"image_tag": "9"})
    await api.post(f"/job/{BACKUP}/stop")
    await api.get("/job/nowhere")
    first, second, third = sim.requests
    assert (first.method, first.path, first.query) == (
        "POST",
        f"/job/{BACKUP}/deploy",
        {"forceEvent": "CRON"},
    )
    assert first.json() == {"image_tag": "9"}
    assert first.headers["authorization"] == AUTH["Authorization"]
    assert first.headers["content-type"] == "application/json"
    assert (second.path, second.body) == (f"/job/{BACKUP}/stop", b"")
    assert third.path == "/job/nowhere"


async def test_recording_can_be_turned_off() -> None:
    sim = Simulator(phase_s=0, record=False)
    async with serve_simulator(sim) as url, httpx.AsyncClient(base_url=url, headers=AUTH) as client:
        assert (await client.get("/organization")).status_code == 200
    assert sim.requests == []


async def test_latency_delays_but_does_not_change_answers() -> None:
    sim = Simulator(phase_s=0, latency_s=0.05)
    async with serve_simulator(sim) as url, httpx.AsyncClient(base_url=url, headers=AUTH) as client:
        assert (await client.post(f"/job/{BACKUP}/deploy")).status_code == 202
    with pytest.raises(ValueError):
        Simulator(latency_s=-1)


async def test_latency_holds_the_answer_back() -> None:
    # A latency far beyond the client's timeout: an answer that came early would mean latency is ignored.
    sim = Simulator(phase_s=0, latency_s=600)
    async with (
        serve_simulator(sim) as url,
        httpx.AsyncClient(base_url=url, headers=AUTH, timeout=0.3) as client,
    ):
        with pytest.raises(httpx.ReadTimeout):
            await client.get("/organization")
    assert [request.path for request in sim.requests] == ["/organization"]
