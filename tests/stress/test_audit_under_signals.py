"""Every action that reached Qovery has its audit lines, whatever happens to a real `qjob-tui --serve`: SIGTERM
while Qovery answers, SIGTERM while it never does, a second SIGTERM, SIGKILL (then a restart). The hostile
upstream counts what it received; each of those requests has exactly one intent line, and — unless the
process was killed — exactly one outcome line with its id. Every caller gets an honest answer (Qovery's, or
503 "interrupted" problem JSON / an MCP isError result), never a bare 500; stderr shows no traceback."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
from mcp import Client

from tests.common import LISTED_JOBS, audit_outcomes, free_port, read_audit, user_env, write_config
from tests.support.hostile import HostileUpstream, accepted, actions_only, hold, hostile_upstream
from tests.support.served import BOUND_S, Served, serving

REST_CALLS, MCP_CALLS = 12, 4
INTERRUPTED = "qjob-tui stopped before Qovery answered; the request was sent and may have run"
PROBLEM = "urn:qjob-tui:problem:"


@dataclass
class InFlight:
    """A `qjob-tui --serve` whose Qovery holds every action, with REST and MCP calls waiting on it."""

    upstream: HostileUpstream
    served: Served
    release: asyncio.Event
    rest: list[asyncio.Task[httpx2.Response | None]]
    mcp: list[asyncio.Task[Any]]

    async def answers(self) -> tuple[list[httpx2.Response | None], list[Any]]:
        async with asyncio.timeout(BOUND_S):
            return list(await asyncio.gather(*self.rest)), list(await asyncio.gather(*self.mcp))


async def rest_deploy(http: httpx2.AsyncClient, job: str) -> httpx2.Response | None:
    """A REST deploy; None when the connection was dropped with no answer at all."""
    try:
        return await http.post(f"/v1/job/{job}/deploy")
    except httpx2.TransportError:
        return None


async def mcp_deploy(url: str, job: str) -> Any:
    """A tool call as an agent makes it: the tools listed first (the client checks a result against its
    tool's output schema, and would ask for them after the server has gone), then the call. None when no
    result came; the client's goodbye may find the server gone: only the result counts."""
    result = None
    with contextlib.suppress(BaseExceptionGroup, OSError):
        async with Client(url) as client:
            await client.list_tools()  # the client checks results against the tools' output schemas
            result = await client.call_tool("deploy-job", {"jobId": job})
    return result


@contextlib.asynccontextmanager
async def in_flight(tmp_path: Path) -> AsyncIterator[InFlight]:
    """The relay serving, every call sent, and Qovery holding all of them (none answered)."""
    release = asyncio.Event()
    rest_port, mcp_port = free_port(), free_port()
    held = actions_only(hold(accepted, release))  # the reads (discovery, the poller) answered at once
    async with hostile_upstream(held) as upstream, asyncio.timeout(4 * BOUND_S):
        config = write_config(tmp_path, upstream.url, timeout_s=30, rest_port=rest_port, mcp_port=mcp_port)
        limits = httpx2.Limits(max_connections=REST_CALLS + 5)
        async with (
            serving(config, user_env(tmp_path), rest_port, mcp_port) as served,
            httpx2.AsyncClient(base_url=served.rest_url, timeout=BOUND_S, limits=limits) as http,
        ):
            jobs = [LISTED_JOBS[i % len(LISTED_JOBS)] for i in range(REST_CALLS + MCP_CALLS)]
            rest = [asyncio.create_task(rest_deploy(http, job)) for job in jobs[:REST_CALLS]]
            mcp = [asyncio.create_task(mcp_deploy(served.mcp_url, job)) for job in jobs[REST_CALLS:]]
            await upstream.wait_for(lambda: len(upstream.requests()) == REST_CALLS + MCP_CALLS)
            try:
                yield InFlight(upstream, served, release, rest, mcp)
            finally:
                release.set()


def assert_each_upstream_action_audited_once(
    upstream: HostileUpstream, records: list[dict[str, Any]], *, outcomes: bool = True
) -> list[dict[str, Any]]:
    """Qovery's requests against the audit lines: one intent each (and one outcome each, when `outcomes`)."""
    intents = [record for record in records if record["phase"] == "intent"]
    received = sorted(request.path for request in upstream.requests())
    assert sorted(f"/job/{r['job_id']}/deploy" for r in intents) == received
    assert len({r["id"] for r in intents}) == len(intents)
    if not outcomes:
        assert [record["phase"] for record in records] == ["intent"] * len(intents)
        return []
    ended = audit_outcomes(records)  # every intent has exactly one outcome, with its id, after it
    assert len(ended) == len(intents)
    return ended


def assert_honest_interruption(rest: list[httpx2.Response | None], mcp: list[Any]) -> None:
    for answer in rest:
        assert answer is not None, "a caller got no answer"
        assert (answer.status_code, answer.headers["content-type"]) == (503, "application/problem+json")
        assert answer.json()["type"] == PROBLEM + "interrupted"
        assert answer.json()["detail"].startswith(INTERRUPTED)
    for result in mcp:
        assert result is not None and result.is_error, result
        assert INTERRUPTED in result.content[0].text


def assert_clean_stop(code: int, stderr: str) -> None:
    assert code == 0, stderr
    assert "Traceback" not in stderr and "Exception in ASGI application" not in stderr, stderr


async def test_sigterm_while_qovery_answers_gives_every_caller_qoverys_answer(tmp_path: Path) -> None:
    async with in_flight(tmp_path) as flight:
        flight.served.send(signal.SIGTERM)
        await flight.served.until_line(lambda line: "stopping" in line)
        flight.release.set()  # Qovery answers within the shutdown's grace
        rest, mcp = await flight.answers()
        code = await flight.served.exited()
    assert_clean_stop(code, flight.served.stderr)
    assert [answer.status_code if answer else None for answer in rest] == [202] * REST_CALLS
    assert all(result is not None and not result.is_error for result in mcp), mcp
    ended = assert_each_upstream_action_audited_once(flight.upstream, read_audit(tmp_path))
    assert {record["status"] for record in ended} == {202}


async def test_sigterm_while_qovery_never_answers_ends_each_call_interrupted(tmp_path: Path) -> None:
    async with in_flight(tmp_path) as flight:
        code, stderr = await flight.served.terminate()  # the grace runs out: the calls are cancelled
        rest, mcp = await flight.answers()
    assert_clean_stop(code, stderr)
    assert_honest_interruption(rest, mcp)
    ended = assert_each_upstream_action_audited_once(flight.upstream, read_audit(tmp_path))
    assert all(r["status"] is None and r["error"].startswith(INTERRUPTED) for r in ended)


async def test_a_second_sigterm_answers_every_call_interrupted_at_once(tmp_path: Path) -> None:
    async with in_flight(tmp_path) as flight:
        flight.served.send(signal.SIGTERM)
        await flight.served.until_line(lambda line: "stopping" in line)
        flight.served.send(signal.SIGTERM)
        rest, mcp = await flight.answers()
        code = await flight.served.exited()
    assert_clean_stop(code, flight.served.stderr)
    assert_honest_interruption(rest, mcp)
    ended = assert_each_upstream_action_audited_once(flight.upstream, read_audit(tmp_path))
    assert all(r["error"].startswith(INTERRUPTED) for r in ended)


async def test_after_sigkill_each_sent_action_has_its_intent_and_a_restart_serves(tmp_path: Path) -> None:
    async with in_flight(tmp_path) as flight:
        flight.served.send(signal.SIGKILL)
        assert await flight.served.exited() == -signal.SIGKILL
        await flight.answers()  # the callers learn nothing more: the process is gone
        killed = read_audit(tmp_path)  # every line whole JSON, though the process died mid-flight
        assert_each_upstream_action_audited_once(flight.upstream, killed, outcomes=False)

        # The same relay again, on the same config and audit log: it serves, says at start how many actions
        # have no recorded outcome, and gives each its outcome line (status unknown), once.
        rest_port, mcp_port = (
            int(url.rsplit(":", 1)[1].split("/")[0])
            for url in (flight.served.rest_url, flight.served.mcp_url)
        )
        config = tmp_path / "qjob-tui.yaml"
        flight.release.set()
        async with (
            serving(config, user_env(tmp_path), rest_port, mcp_port) as again,
            httpx2.AsyncClient(base_url=again.rest_url, timeout=BOUND_S) as http,
        ):
            assert (await http.post(f"/v1/job/{LISTED_JOBS[0]}/deploy")).status_code == 202
            code, stderr = await again.terminate()
    assert_clean_stop(code, stderr)
    assert f"audit: {len(killed)} actions sent to Qovery with no recorded outcome" in stderr
    records = read_audit(tmp_path)
    by_id: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_id.setdefault(record["id"], []).append(record)
    closed_at_start = {key for key, lines in by_id.items() if len(lines) == 2 and lines[1]["status"] is None}
    assert closed_at_start == {record["id"] for record in killed}
    assert all("may or may not have run" in by_id[key][1]["error"] for key in closed_at_start)
    assert [[line["phase"] for line in lines] for lines in by_id.values()] == [["intent", "outcome"]] * len(
        by_id
    )
