"""Load against a slow upstream that sometimes fails: 1,000 concurrent REST requests and 200 concurrent MCP
calls. Every request gets one honest answer (Qovery's, or the problem that stood in its way), Qovery sees each
at most once (actions are never retried), the audit log has exactly one line per action, and memory stays
flat from one round to the next.

Each call carries its own `image_tag`, so that what Qovery received and what the audit log holds can be
matched to the call that caused it.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from qjob_tui.simulator import Simulator
from tests.common import DEMO, Relay

from .relay_harness import running_relay

# The demo jobs' parts in the fault plan: Qovery fails some of them, every time.
FAILING = DEMO.job_named("db-migrate").id  # Qovery answers 500 with its JSON
RESETTING = DEMO.job_named("seed-fixtures").id  # the connection drops before any answer
TRUNCATING = DEMO.job_named("warehouse-schema").id  # the answer stops short of its Content-Length
HEALTHY = [DEMO.job_named(name).id for name in ("nightly-backup", "cache-warmup", "table-vacuum")]
PLAN = [*HEALTHY, FAILING, RESETTING, TRUNCATING]
QOVERY_FAILURE = {"status": 500, "error": "Internal Server Error", "message": "the deployment queue is down"}
ROUND_TIMEOUT_S = 120  # a hang fails the test instead of stalling the suite


def faulty_simulator(latency_s: float = 0.02) -> Simulator:
    """A slow simulator (every answer waits `latency_s`) where half of the jobs fail in their own way."""
    sim = Simulator(phase_s=0.0, latency_s=latency_s)
    sim.inject(method="POST", path=FAILING, status=500, json=QOVERY_FAILURE, times=None)
    sim.inject(method="POST", path=RESETTING, reset=True, times=None)
    sim.inject(method="POST", path=TRUNCATING, truncate=True, times=None)
    return sim


@dataclass(frozen=True)
class Call:
    """One deploy, told apart from all others by its image tag."""

    job_id: str
    tag: str

    @property
    def body(self) -> dict[str, str]:
        return {"image_tag": self.tag}


def calls_for(prefix: str, count: int) -> list[Call]:
    return [Call(PLAN[i % len(PLAN)], f"{prefix}-{i:05d}") for i in range(count)]


def expected_status(call: Call) -> int:
    """What an honest relay answers for this call under the fault plan."""
    if call.job_id == FAILING:
        return 500
    if call.job_id in (RESETTING, TRUNCATING):
        return 502
    return 202


def upstream_tags(relay: Relay) -> Counter[str]:
    """How many times Qovery received each image tag."""
    tags: Counter[str] = Counter()
    for request in relay.sim.requests:
        if request.method == "POST" and request.body:
            tags[request.json().get("image_tag")] += 1
    return tags


def audit_by_tag(relay: Relay) -> dict[str, list[dict[str, Any]]]:
    records: dict[str, list[dict[str, Any]]] = {}
    for record in relay.audit_outcomes():
        records.setdefault((record.get("body") or {}).get("image_tag"), []).append(record)
    return records


def rss_bytes() -> int:
    """This process's resident memory now (Linux /proc)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


def assert_each_reached_qovery_at_most_once_and_was_audited_once(
    relay: Relay, calls: list[Call], source: str
) -> None:
    seen = upstream_tags(relay)
    audited = audit_by_tag(relay)
    for call in calls:
        assert seen[call.tag] == 1, f"{call.tag}: Qovery received it {seen[call.tag]} times"
        records = audited.get(call.tag, [])
        assert len(records) == 1, f"{call.tag}: {len(records)} audit lines"
        record = records[0]
        assert (record["source"], record["job_id"], record["action"]) == (source, call.job_id, "deploy")
        status = expected_status(call)
        if status == 502:
            assert record["status"] is None and record["error"], record
        else:
            assert record["status"] == status, record


# -- REST ----------------------------------------------------------------------------------------------


async def rest_round(relay: Relay, calls: list[Call]) -> list[tuple[int, str, bytes]]:
    """All calls at once, each on its own connection; (status, content type, body) per call."""
    limits = httpx2.Limits(max_connections=len(calls), max_keepalive_connections=0)
    async with httpx2.AsyncClient(base_url=relay.rest_url, timeout=ROUND_TIMEOUT_S, limits=limits) as http:

        async def one(call: Call) -> tuple[int, str, bytes]:
            response = await http.post(f"/v1/job/{call.job_id}/deploy", json=call.body)
            return response.status_code, response.headers.get("content-type", ""), response.content

        async with asyncio.timeout(ROUND_TIMEOUT_S):
            return await asyncio.gather(*(one(call) for call in calls))


def assert_rest_answers_are_honest(calls: list[Call], answers: list[tuple[int, str, bytes]]) -> None:
    statuses: Counter[int] = Counter()
    for call, (status, content_type, body) in zip(calls, answers, strict=True):
        statuses[status] += 1
        assert status == expected_status(call), (call, status, body[:200])
        if status == 202:
            assert json.loads(body)["state"], body
        elif status == 500:  # Qovery's answer, relayed unchanged
            assert json.loads(body) == QOVERY_FAILURE
            assert content_type.startswith("application/json")
        else:
            problem = json.loads(body)
            assert content_type.startswith("application/problem+json")
            assert problem["status"] == 502 and "Qovery" in problem["detail"]
    assert set(statuses) == {202, 500, 502}, statuses


async def run_rest_rounds(tmp_path: Path, count: int, rounds: int) -> tuple[int, int]:
    """`rounds` rounds of `count` concurrent deploys; returns RSS after the first and after the last."""
    # Calls wait their turn for one of the client's pooled connections within timeout_s: room for a round.
    async with running_relay(
        faulty_simulator(), tmp_path / "audit.jsonl", timeout_s=ROUND_TIMEOUT_S
    ) as relay:
        rss: list[int] = []
        all_calls: list[Call] = []
        for round_index in range(rounds):
            calls = calls_for(f"rest{round_index}", count)
            answers = await rest_round(relay, calls)
            assert_rest_answers_are_honest(calls, answers)
            all_calls += calls
            rss.append(rss_bytes())
        assert_each_reached_qovery_at_most_once_and_was_audited_once(relay, all_calls, "rest")
        assert len(relay.audit_outcomes()) == len(all_calls)
        return rss[0], rss[-1]


async def test_a_thousand_concurrent_rest_requests_each_get_one_honest_answer(tmp_path: Path) -> None:
    after_first, after_last = await run_rest_rounds(tmp_path, 1000, rounds=2)
    # Generous: the second round may not grow memory by more than this (a leak of 40 KB per request would).
    assert after_last - after_first < 40 * 1024 * 1024, (after_first, after_last)


@pytest.mark.heavy
async def test_three_thousand_concurrent_rest_requests_heavy(tmp_path: Path) -> None:
    after_first, after_last = await run_rest_rounds(tmp_path, 3000, rounds=3)
    assert after_last - after_first < 80 * 1024 * 1024, (after_first, after_last)


# -- MCP -----------------------------------------------------------------------------------------------


async def mcp_round(relay: Relay, calls: list[Call]) -> list[Any]:
    limits = httpx2.Limits(max_connections=len(calls), max_keepalive_connections=len(calls))
    async with (
        httpx2.AsyncClient(timeout=60, limits=limits) as http,
        Client(streamable_http_client(relay.mcp_url, http_client=http)) as client,
    ):

        async def one(call: Call) -> Any:
            arguments = {"jobId": call.job_id, "body": call.body}
            return await client.call_tool("deploy-job", arguments)

        async with asyncio.timeout(ROUND_TIMEOUT_S):
            return await asyncio.gather(*(one(call) for call in calls))


def assert_mcp_results_are_honest(calls: list[Call], results: list[Any]) -> None:
    for call, result in zip(calls, results, strict=True):
        status = expected_status(call)
        text = result.content[0].text
        if status == 202:
            assert not result.is_error, text
            assert result.structured_content["state"], result.structured_content
        else:
            assert result.is_error, text
            assert str(status) in text, text
            if status == 500:
                assert "the deployment queue is down" in text  # Qovery's message, named


async def run_mcp_rounds(tmp_path: Path, count: int, rounds: int) -> tuple[int, int]:
    async with running_relay(faulty_simulator(), tmp_path / "audit.jsonl") as relay:
        rss: list[int] = []
        all_calls: list[Call] = []
        for round_index in range(rounds):
            calls = calls_for(f"mcp{round_index}", count)
            assert_mcp_results_are_honest(calls, await mcp_round(relay, calls))
            all_calls += calls
            rss.append(rss_bytes())
        assert_each_reached_qovery_at_most_once_and_was_audited_once(relay, all_calls, "mcp")
        assert len(relay.audit_outcomes()) == len(all_calls)
        return rss[0], rss[-1]


async def test_two_hundred_concurrent_mcp_calls_each_get_one_honest_result(tmp_path: Path) -> None:
    after_first, after_last = await run_mcp_rounds(tmp_path, 200, rounds=2)
    assert after_last - after_first < 40 * 1024 * 1024, (after_first, after_last)


@pytest.mark.heavy
async def test_a_thousand_concurrent_mcp_calls_heavy(tmp_path: Path) -> None:
    after_first, after_last = await run_mcp_rounds(tmp_path, 1000, rounds=4)
    assert after_last - after_first < 80 * 1024 * 1024, (after_first, after_last)
