"""When Qovery answers an error, is slow, or is not there: what the REST caller gets."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.common import CRON_JOB, LISTED_JOBS, Relay, free_port, quiet_simulator, running_relay


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (
            403,
            {"status": 403, "error": "Forbidden", "message": "this token cannot deploy jobs of this project"},
        ),
        (409, {"status": 409, "error": "Conflict", "message": "an operation is already in progress"}),
        (429, {"message": "Too many requests"}),
        (500, {"message": "internal error", "detail": "database unavailable"}),
    ],
    ids=["403", "409", "429", "500"],
)
async def test_qoverys_error_is_passed_through(relay: Relay, status: int, body: dict[str, object]) -> None:
    relay.sim.inject(method="POST", path="/deploy$", status=status, json=body, headers={"Retry-After": "7"})
    async with relay.rest() as client:
        response = await client.post(f"/v1/job/{CRON_JOB}/deploy")
    assert response.status_code == status
    assert response.json() == body
    assert response.headers["content-type"] == "application/json"
    assert response.headers["retry-after"] == "7"
    assert len(relay.upstream_actions) == 1  # an action is never retried
    [line] = relay.audit_outcomes()
    assert line["status"] == status
    assert line["error"]


async def test_a_real_conflict_from_qovery_is_409(relay: Relay) -> None:
    async with relay.rest() as client:
        first = await client.post(f"/v1/job/{CRON_JOB}/deploy")
        second = await client.post(f"/v1/job/{CRON_JOB}/stop")
    assert (first.status_code, second.status_code) == (202, 409)
    assert "in progress" in second.json()["message"]


@pytest.mark.parametrize("status", [200, 202, 500], ids=["200", "202", "500"])
async def test_an_answer_that_is_not_json_is_502(relay: Relay, status: int) -> None:
    relay.sim.inject(
        method="POST", path="/deploy$", status=status, raw=b"<html><body>Bad gateway</body></html>"
    )
    async with relay.rest() as client:
        response = await client.post(f"/v1/job/{CRON_JOB}/deploy")
    assert response.status_code == 502
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 502
    assert "not JSON" in problem["detail"]
    assert "Traceback" not in response.text


async def test_a_connection_lost_mid_answer_is_502(relay: Relay) -> None:
    relay.sim.inject(method="POST", path="/stop$", reset=True)
    async with relay.rest() as client:
        response = await client.post(f"/v1/job/{CRON_JOB}/stop")
    assert response.status_code == 502
    assert "unreachable" in response.json()["detail"]


async def test_a_truncated_answer_is_502(relay: Relay) -> None:
    relay.sim.inject(method="POST", path="/stop$", truncate=True)
    async with relay.rest() as client:
        response = await client.post(f"/v1/job/{CRON_JOB}/stop")
    assert response.status_code == 502


async def test_no_answer_within_the_timeout_is_504(tmp_path: Path) -> None:
    async with running_relay(tmp_path, timeout_s=0.5) as relay:
        relay.sim.inject(method="POST", path="/redeploy$", delay_s=30)
        async with relay.rest() as client:
            response = await client.post(f"/v1/job/{CRON_JOB}/redeploy")
    assert response.status_code == 504
    problem = response.json()
    assert problem["title"] == "Qovery timeout"
    assert "0.5 s" in problem["detail"]
    [line] = relay.audit_outcomes()
    assert line["status"] is None and "0.5 s" in line["error"]


async def test_qovery_down_is_502(tmp_path: Path) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    async with running_relay(tmp_path, api_url=down) as relay, relay.rest() as client:
        response = await client.post(f"/v1/job/{CRON_JOB}/deploy")
    assert response.status_code == 502
    problem = response.json()
    assert problem["title"] == "Qovery unavailable"
    assert down in problem["detail"]


async def test_200_concurrent_requests_against_a_slow_qovery_are_all_answered_once(tmp_path: Path) -> None:
    sim = quiet_simulator(latency_s=0.3)
    async with running_relay(tmp_path, sim=sim) as relay, relay.rest() as client:
        jobs = [LISTED_JOBS[i % len(LISTED_JOBS)] for i in range(200)]
        responses = await asyncio.gather(*(client.post(f"/v1/job/{job}/cleanfailedjob") for job in jobs))
    assert [r.status_code for r in responses] == [200] * 200
    sent = sorted(r.path for r in relay.upstream_actions)
    assert sent == sorted(f"/job/{job}/cleanFailedJob" for job in jobs)
    assert len(relay.audit_outcomes()) == 200
