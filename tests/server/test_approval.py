"""The operator's approval over real sockets: REST (httpx) and MCP (the official client, both protocol eras)
against the simulator. Here the test plays the operator on the queue; the dashboard's dialog has its own
tests (tests/tui/test_approval_dialog.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from mcp import Client
from mcp.types import Implementation

from qjob_tui.approvals import ApprovalQueue, PendingApproval
from tests.common import CRON_JOB, LIFECYCLE_JOB, NEVER_DEPLOYED_JOB, Relay, running_relay

GATED = ["stop", "uninstall"]
ERAS = ["auto", "legacy"]  # 2026-07-28, and the 2025-11-25 handshake
PROBLEM = "urn:qjob-tui:problem:"


async def until(condition: Callable[[], object], what: str) -> None:
    try:
        async with asyncio.timeout(30):
            while not condition():  # noqa: ASYNC110 (the relay's doings)
                await asyncio.sleep(0.01)
    except TimeoutError:
        raise AssertionError(f"never happened: {what}") from None


@pytest.fixture
async def headless(tmp_path: Path) -> AsyncIterator[Relay]:
    """The relay with stop and uninstall gated and no dashboard: nobody to approve."""
    async with running_relay(tmp_path, approve=GATED) as relay:
        yield relay


@pytest.fixture
async def relay(tmp_path: Path) -> AsyncIterator[Relay]:
    """The relay with stop and uninstall gated and an operator present (the test answers on the queue)."""
    async with running_relay(tmp_path, approve=GATED, approve_timeout_s=30) as relay:
        relay.runtime.approvals.open()
        yield relay


async def next_waiting(queue: ApprovalQueue, count: int = 1) -> PendingApproval:
    """The oldest request once `count` wait."""
    await until(lambda: len(queue.waiting) >= count, f"{count} request(s) waiting")
    oldest = queue.oldest()
    assert oldest is not None
    return oldest


def mcp_client(relay: Relay, mode: str, name: str = "agent-x") -> Client:
    return Client(relay.mcp_url, mode=mode, client_info=Implementation(name=name, version="1.0"))  # type: ignore[arg-type]


def approvals_audited(relay: Relay) -> list[tuple[str, str, str | None]]:
    return [(line["source"], line["action"], line.get("approval")) for line in relay.audit_outcomes()]


# -- nobody to ask: refused at once ----------------------------------------------------------------------


async def test_headless_refuses_a_gated_rest_request_at_once(headless: Relay) -> None:
    async with headless.rest(headers={"User-Agent": "deploy-bot/2"}) as http:
        answer = await http.post(f"/v1/job/{CRON_JOB}/stop")
    assert answer.status_code == 403
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json() == {
        "type": PROBLEM + "approval-unavailable",
        "title": "Approval unavailable",
        "status": 403,
        "detail": "stop needs the operator: run qjob-tui --server (server.approve lists it, and nobody is here "
        "to approve it); nothing was sent to Qovery",
    }
    assert headless.upstream_actions == []
    (line,) = headless.audit_outcomes()
    assert (line["approval"], line["client"], line["status"]) == ("unavailable", "deploy-bot/2", None)


@pytest.mark.parametrize("mode", ERAS)
async def test_headless_refuses_a_gated_mcp_call_at_once(headless: Relay, mode: str) -> None:
    async with mcp_client(headless, mode) as client:
        result = await client.call_tool("uninstall-job", {"jobId": CRON_JOB})
    assert result.is_error
    assert result.content[0].text.startswith(  # type: ignore[union-attr]
        "Refused before Qovery (403 Approval unavailable): uninstall needs the operator: run qjob-tui --server"
    )
    assert result.structured_content is not None
    assert result.structured_content["type"] == PROBLEM + "approval-unavailable"
    assert headless.upstream_actions == []
    assert approvals_audited(headless) == [("mcp", "uninstall", "unavailable")]


async def test_ungated_actions_are_unaffected(headless: Relay) -> None:
    async with headless.rest() as http:
        answer = await http.post(f"/v1/job/{CRON_JOB}/deploy")
    assert answer.status_code == 202
    assert [r.path for r in headless.upstream_actions] == [f"/job/{CRON_JOB}/deploy"]
    (line,) = headless.audit_outcomes()
    assert "approval" not in line


# -- the operator answers ----------------------------------------------------------------------------------


async def test_an_approved_rest_request_reaches_qovery_once_and_the_caller_gets_its_answer(
    relay: Relay,
) -> None:
    async with relay.rest(headers={"User-Agent": "deploy-bot/2"}) as http:
        call = asyncio.create_task(http.post(f"/v1/job/{LIFECYCLE_JOB}/stop"))
        pending = await next_waiting(relay.runtime.approvals)
        await asyncio.sleep(0.05)
        assert relay.upstream_actions == []  # held while it waits
        assert (pending.request.source, pending.request.client) == ("rest", "deploy-bot/2")
        assert pending.job_label == LIFECYCLE_JOB  # no name known: the relay alone has not read the jobs
        relay.runtime.approvals.answer(pending, approve=True)
        answer = await call
    assert answer.status_code == 202
    (sent,) = relay.upstream_actions
    assert sent.path == f"/job/{LIFECYCLE_JOB}/stop"
    assert answer.json()["id"] == LIFECYCLE_JOB  # Qovery's own answer, relayed
    (line,) = relay.audit_outcomes()
    assert (line["approval"], line["status"], line["client"]) == ("approved", 202, "deploy-bot/2")
    assert line["waited_ms"] >= 50


@pytest.mark.parametrize("mode", ERAS)
async def test_an_approved_mcp_call_reaches_qovery_once(relay: Relay, mode: str) -> None:
    async with mcp_client(relay, mode) as client:
        call = asyncio.create_task(client.call_tool("stop-job", {"jobId": CRON_JOB}))
        pending = await next_waiting(relay.runtime.approvals)
        # clientInfo.name where the era carries it on the call; else the HTTP client's User-Agent
        assert pending.request.client == ("agent-x" if mode == "auto" else "python-httpx2/2.16.2")
        relay.runtime.approvals.answer(pending, approve=True)
        result = await call
    assert not result.is_error
    assert result.structured_content is not None and result.structured_content["id"] == CRON_JOB
    assert [r.path for r in relay.upstream_actions] == [f"/job/{CRON_JOB}/stop"]
    assert approvals_audited(relay) == [("mcp", "stop", "approved")]


async def test_a_refused_rest_request_gets_403_approval_denied(relay: Relay) -> None:
    async with relay.rest() as http:
        call = asyncio.create_task(http.post(f"/v1/job/{NEVER_DEPLOYED_JOB}/uninstall", json={}))
        relay.runtime.approvals.answer(await next_waiting(relay.runtime.approvals), approve=False)
        answer = await call
    assert answer.status_code == 403
    body = answer.json()
    assert (body["type"], body["title"]) == (PROBLEM + "approval-denied", "Approval denied")
    assert body["detail"].startswith(f"the operator refused uninstall on {NEVER_DEPLOYED_JOB} after ")
    assert relay.upstream_actions == []
    assert approvals_audited(relay) == [("rest", "uninstall", "denied")]


@pytest.mark.parametrize("mode", ERAS)
async def test_a_refused_mcp_call_is_an_error_result_saying_so(relay: Relay, mode: str) -> None:
    async with mcp_client(relay, mode) as client:
        call = asyncio.create_task(client.call_tool("stop-job", {"jobId": CRON_JOB}))
        relay.runtime.approvals.answer(await next_waiting(relay.runtime.approvals), approve=False)
        result = await call
    assert result.is_error
    text = result.content[0].text  # type: ignore[union-attr]
    assert text.startswith(
        f"Refused before Qovery (403 Approval denied): the operator refused stop on {CRON_JOB}"
    )
    assert result.structured_content is not None
    assert result.structured_content["type"] == PROBLEM + "approval-denied"
    assert relay.upstream_actions == []


async def test_no_answer_in_time_is_403_approval_timeout(tmp_path: Path) -> None:
    async with running_relay(tmp_path, approve=GATED, approve_timeout_s=0.3) as relay:
        relay.runtime.approvals.open()
        async with relay.rest() as http:
            answer = await http.post(f"/v1/job/{CRON_JOB}/stop")
        async with mcp_client(relay, "auto") as client:
            result = await client.call_tool("stop-job", {"jobId": CRON_JOB})
    assert answer.status_code == 403
    assert answer.json()["type"] == PROBLEM + "approval-timeout"
    assert answer.json()["detail"] == (
        f"the operator did not answer within 0.3s; stop on {CRON_JOB} was not run (a timeout never approves)"
    )
    assert result.is_error and result.structured_content is not None
    assert result.structured_content["type"] == PROBLEM + "approval-timeout"
    assert relay.upstream_actions == []
    assert approvals_audited(relay) == [("rest", "stop", "timeout"), ("mcp", "stop", "timeout")]


async def test_two_callers_at_once_are_answered_in_order(relay: Relay) -> None:
    queue = relay.runtime.approvals
    async with relay.rest() as http:
        first = asyncio.create_task(http.post(f"/v1/job/{CRON_JOB}/stop"))
        await next_waiting(queue)
        second = asyncio.create_task(http.post(f"/v1/job/{LIFECYCLE_JOB}/stop"))
        oldest = await next_waiting(queue, 2)
        assert oldest.request.job_id == CRON_JOB
        queue.answer(oldest, approve=True)
        assert (await first).status_code == 202
        assert not second.done()
        queue.answer(await next_waiting(queue), approve=True)
        assert (await second).status_code == 202
    assert [r.path for r in relay.upstream_actions] == [f"/job/{CRON_JOB}/stop", f"/job/{LIFECYCLE_JOB}/stop"]


# -- the caller gives up -----------------------------------------------------------------------------------


async def test_a_rest_caller_that_disconnects_takes_its_request_out(relay: Relay) -> None:
    queue = relay.runtime.approvals
    async with relay.rest() as http:
        call = asyncio.create_task(http.post(f"/v1/job/{CRON_JOB}/stop"))
        await next_waiting(queue)
        call.cancel()  # the client closes its connection
    await until(lambda: not queue.waiting, "the request withdrawn")
    await until(lambda: relay.audit_outcomes(), "its audit line")
    assert relay.upstream_actions == []
    assert approvals_audited(relay) == [("rest", "stop", "withdrawn")]


@pytest.mark.parametrize("mode", ERAS)
async def test_an_mcp_caller_that_disconnects_takes_its_request_out(relay: Relay, mode: str) -> None:
    queue = relay.runtime.approvals
    async with mcp_client(relay, mode) as client:
        call = asyncio.create_task(client.call_tool("stop-job", {"jobId": CRON_JOB}))
        await next_waiting(queue)
    call.cancel()
    await until(lambda: not queue.waiting, "the request withdrawn")
    await until(lambda: relay.audit_outcomes(), "its audit line")
    assert relay.upstream_actions == []
    assert approvals_audited(relay) == [("mcp", "stop", "withdrawn")]


# -- too many at once --------------------------------------------------------------------------------------


async def test_a_flood_of_gated_requests_fills_the_queue_then_gets_429(relay: Relay) -> None:
    queue = relay.runtime.approvals
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=0)
    async with relay.rest(limits=limits) as http:
        calls = [asyncio.create_task(http.post(f"/v1/job/{CRON_JOB}/stop")) for _ in range(100)]
        await until(lambda: sum(call.done() for call in calls) == 50, "fifty answered at once")
        answered_at_once = [call for call in calls if call.done()]
        full = [call.result() for call in answered_at_once]
        assert len(queue.waiting) == 50
        assert relay.upstream_actions == []
        queue.close("the test ended the wait")
        held = await asyncio.gather(*(call for call in calls if call not in answered_at_once))
    assert {answer.status_code for answer in full} == {429}
    body = full[0].json()
    assert (body["type"], body["title"]) == (PROBLEM + "approval-queue-full", "Approval queue full")
    retry = int(full[0].headers["retry-after"])
    assert 1 <= retry <= 30 and body["retryAfter"] == retry
    assert body["detail"].startswith("50 requests already wait for the operator's approval; try again in ")
    assert {answer.json()["type"] for answer in held} == {PROBLEM + "approval-unavailable"}
    assert relay.upstream_actions == []
    counts: dict[str | None, int] = {}
    for _, _, approval in approvals_audited(relay):
        counts[approval] = counts.get(approval, 0) + 1
    assert counts == {"queue-full": 50, "unavailable": 50}


@pytest.mark.parametrize("mode", ERAS)
async def test_the_mcp_instructions_tell_agents_which_tools_wait_for_a_human(
    headless: Relay, mode: str
) -> None:
    async with mcp_client(headless, mode) as client:
        text = client.instructions
    assert text is not None
    assert (
        " stop-job, uninstall-job wait for the operator's approval in the qjob-tui dashboard (up to 120s) "
        "before anything is sent to Qovery; send a progressToken" in text
    )


# -- progress while it waits -------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ERAS)
async def test_a_waiting_mcp_caller_that_asked_for_progress_hears_that_it_still_waits(
    relay: Relay, mode: str
) -> None:
    queue = relay.runtime.approvals
    queue.progress_every_s = 0.05  # "every few seconds", quicker
    heard: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        heard.append((progress, total, message))

    async with mcp_client(relay, mode) as client:
        call = asyncio.create_task(
            client.call_tool("stop-job", {"jobId": CRON_JOB}, progress_callback=on_progress)
        )
        await until(lambda: len(heard) >= 3, "three progress notifications")
        assert relay.upstream_actions == []
        queue.answer(await next_waiting(queue), approve=True)
        result = await call
    assert not result.is_error and result.structured_content is not None
    assert result.structured_content["id"] == CRON_JOB
    progress, total, message = heard[-1]
    assert total == 30 and 0 <= progress < 30
    assert message is not None
    assert message.startswith(f"waiting for the operator's approval of stop on {CRON_JOB}: ")
    assert [p for p, _, _ in heard] == sorted(p for p, _, _ in heard)
    assert [r.path for r in relay.upstream_actions] == [f"/job/{CRON_JOB}/stop"]


@pytest.mark.parametrize("mode", ERAS)
async def test_asking_for_progress_changes_nothing_for_an_ungated_call(relay: Relay, mode: str) -> None:
    heard: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        heard.append(progress)

    async with mcp_client(relay, mode) as client:
        result = await client.call_tool("deploy-job", {"jobId": CRON_JOB}, progress_callback=on_progress)
        listed = await client.call_tool("list-jobs", {}, progress_callback=on_progress)
    assert not result.is_error and not listed.is_error
    assert result.structured_content is not None and result.structured_content["id"] == CRON_JOB
    assert heard == []


@pytest.mark.parametrize("mode", ERAS)
async def test_a_caller_that_asked_for_progress_and_left_is_withdrawn(relay: Relay, mode: str) -> None:
    queue = relay.runtime.approvals
    queue.progress_every_s = 0.05
    heard: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        heard.append(progress)

    async with mcp_client(relay, mode) as client:
        call = asyncio.create_task(
            client.call_tool("stop-job", {"jobId": CRON_JOB}, progress_callback=on_progress)
        )
        await until(lambda: heard, "a progress notification")
    call.cancel()
    await until(lambda: not queue.waiting, "the request withdrawn")
    await until(lambda: relay.audit_outcomes(), "its audit line")
    assert relay.upstream_actions == []
    assert approvals_audited(relay) == [("mcp", "stop", "withdrawn")]
