"""Upstream faults: a connection reset before the answer, an answer cut short of its Content-Length, a body that
is not JSON, an upstream slower than `timeout_s`. Each is a 502 or 504 problem on REST and an isError result
on MCP, never a hang (every await below is bounded), never a retry, always one audit line; and the requests
beside the broken ones, in flight at the same time, are answered normally."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client

from qjob_tui.simulator import Simulator
from tests.common import DEMO, Relay

from .relay_harness import running_relay

BROKEN = DEMO.job_named("db-migrate").id
HEALTHY = DEMO.job_named("nightly-backup").id
# The whole exchange: 50 requests at once on a busy machine fit in it; the slow fault does not.
TIMEOUT_S = 2.0
BOUND_S = 30  # far above TIMEOUT_S: only a hang reaches it

FAULTS: dict[str, tuple[dict[str, Any], int]] = {
    "reset before the answer": ({"reset": True}, 502),
    "answer cut short": ({"truncate": True}, 502),
    "answer not JSON": ({"status": 200, "raw": b"<html>gateway error</html>"}, 502),
    "slower than timeout_s": ({"delay_s": 10 * TIMEOUT_S}, 504),
}


def broken_upstream(fault: dict[str, Any]) -> Simulator:
    sim = Simulator(phase_s=0.0)
    sim.inject(method="POST", path=BROKEN, times=None, **fault)
    return sim


def upstream_posts(relay: Relay, job_id: str) -> int:
    return sum(1 for r in relay.sim.requests if r.method == "POST" and job_id in r.path)


@pytest.mark.parametrize("fault", FAULTS, ids=list(FAULTS))
async def test_rest_answers_every_fault_with_a_problem_and_the_rest_normally(
    tmp_path: Path, fault: str
) -> None:
    injected, status = FAULTS[fault]
    async with (
        running_relay(broken_upstream(injected), tmp_path / "audit.jsonl", timeout_s=TIMEOUT_S) as relay,
        httpx2.AsyncClient(base_url=relay.rest_url, timeout=BOUND_S) as http,
        asyncio.timeout(BOUND_S),
    ):
        jobs = [BROKEN, HEALTHY] * 25
        answers = await asyncio.gather(*(http.post(f"/v1/job/{job}/deploy") for job in jobs))
        for job, answer in zip(jobs, answers, strict=True):
            if job == HEALTHY:
                assert answer.status_code == 202, answer.text
                continue
            assert answer.status_code == status, answer.text
            assert answer.headers["content-type"].startswith("application/problem+json")
            problem = answer.json()
            assert problem["status"] == status and "Qovery" in problem["title"], problem
        assert upstream_posts(relay, BROKEN) == 25  # each once: never retried
        records = relay.audit_outcomes()
        assert len(records) == 50
        failed = [r for r in records if r["job_id"] == BROKEN]
        assert len(failed) == 25 and all(r["error"] for r in failed)


@pytest.mark.parametrize("fault", FAULTS, ids=list(FAULTS))
async def test_mcp_reports_every_fault_as_an_error_result(tmp_path: Path, fault: str) -> None:
    injected, status = FAULTS[fault]
    async with (
        running_relay(broken_upstream(injected), tmp_path / "audit.jsonl", timeout_s=TIMEOUT_S) as relay,
        Client(relay.mcp_url) as client,
        asyncio.timeout(BOUND_S),
    ):
        jobs = [BROKEN, HEALTHY] * 10
        results = await asyncio.gather(*(client.call_tool("deploy-job", {"jobId": job}) for job in jobs))
        for job, result in zip(jobs, results, strict=True):
            text = result.content[0].text
            if job == HEALTHY:
                assert not result.is_error, text
                continue
            assert result.is_error, text
            assert text.startswith(str(status)), text
        assert upstream_posts(relay, BROKEN) == 10
        assert len(relay.audit_outcomes()) == 20


async def test_a_reset_in_the_middle_of_a_busy_pool_spoils_no_other_answer(tmp_path: Path) -> None:
    """Resets and truncations on some pooled upstream connections while healthy calls share the pool."""
    sim = Simulator(phase_s=0.0, latency_s=0.01)
    sim.inject(method="POST", path=BROKEN, reset=True, times=None)
    truncating = DEMO.job_named("warehouse-schema").id
    sim.inject(method="POST", path=truncating, truncate=True, times=None)
    async with (
        running_relay(sim, tmp_path / "audit.jsonl") as relay,
        httpx2.AsyncClient(base_url=relay.rest_url, timeout=BOUND_S) as http,
        asyncio.timeout(BOUND_S),
    ):
        jobs = [BROKEN, HEALTHY, truncating, HEALTHY] * 50
        answers = await asyncio.gather(*(http.post(f"/v1/job/{job}/deploy") for job in jobs))
        statuses = [answer.status_code for answer in answers]
        assert statuses == [502, 202, 502, 202] * 50
        assert all(json.loads(a.content)["state"] for a in answers if a.status_code == 202)
        assert len(relay.audit_outcomes()) == len(jobs)
