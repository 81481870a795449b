"""The approval queue, the pipeline's gate: what agents ask for waits for the operator; nothing reaches Qovery
before a yes; every ending (yes, no, timeout, nobody there, too many, the caller gone) is audited."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from qjob_tui.approvals import MAX_WAITING, ApprovalEvent, ApprovalQueue, PendingApproval
from qjob_tui.pipeline import ActionOutcome, ActionPipeline, Approval, Caller
from tests.common import CRON_JOB, LIFECYCLE_JOB, NEVER_DEPLOYED_JOB, read_outcomes

from .support import SimQovery, pipeline_on


async def until(condition: Callable[[], object], what: str) -> None:
    """Let the loop run until `condition()` holds (a guard against hanging, not a timing assertion)."""
    try:
        async with asyncio.timeout(20):
            while not condition():  # noqa: ASYNC110 (other tasks' doings)
                await asyncio.sleep(0.005)
    except TimeoutError:
        raise AssertionError(f"never happened: {what}") from None


@asynccontextmanager
async def gated(
    qovery: SimQovery, tmp_path: Path, *, actions: tuple[str, ...] = ("stop", "uninstall"), **queue: Any
) -> AsyncIterator[tuple[ActionPipeline, ApprovalQueue, list[ApprovalEvent]]]:
    """A pipeline behind an approval queue for `actions`, with an operator present; the queue's events."""
    approvals = ApprovalQueue(actions, queue.pop("timeout_s", 30.0), **queue)
    events: list[ApprovalEvent] = []
    approvals.subscribe(events.append)
    approvals.open()
    async with pipeline_on(qovery.url, tmp_path / "audit.jsonl", gate=approvals) as pipeline:
        approvals.board = pipeline.board
        yield pipeline, approvals, events


def actions_sent(qovery: SimQovery) -> list[str]:
    return [request.path for request in qovery.sim.requests if request.method == "POST"]


async def ask(
    pipeline: ActionPipeline, action: str, job: str = CRON_JOB, caller: Caller | None = None, **extra: Any
) -> asyncio.Task[ActionOutcome]:
    """An agent's request, on its way: the task ends once the gate and Qovery have answered."""
    request = pipeline.prepare(action, job, source=extra.pop("source", "rest"), client="agent/1.0", **extra)
    return asyncio.create_task(pipeline.run(request, caller or Caller()))


async def test_nothing_reaches_qovery_before_the_operator_says_yes(qovery: SimQovery, tmp_path: Path) -> None:
    async with gated(qovery, tmp_path) as (pipeline, approvals, events):
        task = await ask(pipeline, "stop")
        await until(lambda: approvals.waiting, "the request waits")
        await asyncio.sleep(0.05)  # whatever else runs meanwhile, the request stays held
        assert actions_sent(qovery) == []
        (pending,) = approvals.waiting
        assert (pending.request.action.name, pending.request.client, pending.job_label) == (
            "stop",
            "agent/1.0",
            CRON_JOB,
        )
        assert 29 < pending.remaining_s() <= 30
        assert approvals.answer(pending, approve=True)
        outcome = await task
    assert outcome.status == 202 and outcome.approval is Approval.APPROVED
    assert actions_sent(qovery) == [f"/job/{CRON_JOB}/stop"]
    assert [(e.pending, e.verdict) for e in events] == [(pending, None), (pending, Approval.APPROVED)]
    (line,) = read_outcomes(tmp_path / "audit.jsonl")
    assert (line["action"], line["status"], line["approval"], line["client"]) == (
        "stop",
        202,
        "approved",
        "agent/1.0",
    )
    assert line["waited_ms"] >= 50


async def test_a_refusal_sends_nothing_and_says_who_refused(qovery: SimQovery, tmp_path: Path) -> None:
    async with gated(qovery, tmp_path) as (pipeline, approvals, _):
        task = await ask(pipeline, "uninstall", NEVER_DEPLOYED_JOB)
        await until(lambda: approvals.waiting, "the request waits")
        approvals.answer(approvals.waiting[0], approve=False)
        outcome = await task
    assert actions_sent(qovery) == []
    refused = outcome.refused
    assert refused is not None and outcome.approval is Approval.DENIED
    assert (refused.status, refused.slug, refused.title) == (403, "approval-denied", "Approval denied")
    assert refused.detail.startswith(f"the operator refused uninstall on {NEVER_DEPLOYED_JOB} after ")
    assert refused.detail.endswith("; nothing was sent to Qovery")
    (line,) = read_outcomes(tmp_path / "audit.jsonl")
    assert (line["approval"], line["status"], line["error"]) == ("denied", None, refused.detail)


async def test_a_timeout_never_approves(qovery: SimQovery, tmp_path: Path) -> None:
    async with gated(qovery, tmp_path, timeout_s=0.2) as (pipeline, approvals, events):
        outcome = await (await ask(pipeline, "stop"))
        late = approvals.answer(events[0].pending, approve=True)  # the operator answers too late
    assert late is False
    assert actions_sent(qovery) == []
    assert outcome.refused is not None and outcome.refused.slug == "approval-timeout"
    assert outcome.refused.detail == (
        f"the operator did not answer within 0.2s; stop on {CRON_JOB} was not run (a timeout never approves)"
    )
    assert approvals.waiting == []
    (line,) = read_outcomes(tmp_path / "audit.jsonl")
    assert line["approval"] == "timeout" and line["waited_ms"] >= 200


async def test_without_an_operator_a_gated_action_is_refused_at_once(
    qovery: SimQovery, tmp_path: Path
) -> None:
    approvals = ApprovalQueue(["stop"], 120)  # never opened: --serve, qjob-tui mcp
    async with pipeline_on(qovery.url, tmp_path / "audit.jsonl", gate=approvals) as pipeline:
        outcome = await pipeline.perform("stop", CRON_JOB, source="mcp")
    assert actions_sent(qovery) == []
    refused = outcome.refused
    assert refused is not None and (refused.status, refused.slug) == (403, "approval-unavailable")
    assert refused.detail == (
        "stop needs the operator: run qjob-tui --server (server.approve lists it, and nobody is here to "
        "approve it); nothing was sent to Qovery"
    )
    (line,) = read_outcomes(tmp_path / "audit.jsonl")
    assert line["approval"] == "unavailable" and line["source"] == "mcp"


async def test_the_operators_own_actions_and_ungated_ones_do_not_wait(
    qovery: SimQovery, tmp_path: Path
) -> None:
    async with gated(qovery, tmp_path, actions=("stop",)) as (pipeline, _, events):
        by_dashboard = await (await ask(pipeline, "stop", source="tui"))
        by_command = await (await ask(pipeline, "stop", LIFECYCLE_JOB, source="cli"))
        ungated = await (await ask(pipeline, "deploy", NEVER_DEPLOYED_JOB, source="rest"))
    assert [o.status for o in (by_dashboard, by_command, ungated)] == [202, 202, 202]
    assert [o.approval for o in (by_dashboard, by_command, ungated)] == [None, None, None]
    assert events == []
    assert all("approval" not in line for line in read_outcomes(tmp_path / "audit.jsonl"))


async def test_requests_wait_oldest_first_and_each_gets_its_own_answer(
    qovery: SimQovery, tmp_path: Path
) -> None:
    async with gated(qovery, tmp_path) as (pipeline, approvals, _):
        first = await ask(pipeline, "stop", CRON_JOB)
        await until(lambda: len(approvals.waiting) == 1, "the first waits")
        second = await ask(pipeline, "stop", LIFECYCLE_JOB)
        await until(lambda: len(approvals.waiting) == 2, "both wait")
        assert [p.request.job_id for p in approvals.waiting] == [CRON_JOB, LIFECYCLE_JOB]
        oldest = approvals.oldest()
        assert oldest is not None and oldest.request.job_id == CRON_JOB
        approvals.answer(oldest, approve=False)
        approvals.answer(approvals.waiting[0], approve=True)
        refused, approved = await first, await second
    assert refused.approval is Approval.DENIED and approved.status == 202
    assert actions_sent(qovery) == [f"/job/{LIFECYCLE_JOB}/stop"]


async def test_a_caller_that_leaves_takes_its_request_out_of_the_queue(
    qovery: SimQovery, tmp_path: Path
) -> None:
    gone = asyncio.Event()

    async def departed() -> None:
        await gone.wait()

    async with gated(qovery, tmp_path) as (pipeline, approvals, events):
        task = await ask(pipeline, "stop", caller=Caller(departed=departed))
        await until(lambda: approvals.waiting, "the request waits")
        gone.set()
        outcome = await task
        assert approvals.waiting == []
    assert actions_sent(qovery) == []
    assert outcome.approval is Approval.WITHDRAWN
    assert [e.verdict for e in events] == [None, Approval.WITHDRAWN]
    (line,) = read_outcomes(tmp_path / "audit.jsonl")
    assert line["approval"] == "withdrawn"
    assert line["error"] == "the caller went away before the operator answered; nothing was sent to Qovery"


async def test_a_face_that_gives_up_on_a_request_withdraws_it_and_audits_it(
    qovery: SimQovery, tmp_path: Path
) -> None:
    async with gated(qovery, tmp_path) as (pipeline, approvals, events):
        task = await ask(pipeline, "stop")
        await until(lambda: approvals.waiting, "the request waits")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert approvals.waiting == []
    assert actions_sent(qovery) == []
    assert [e.verdict for e in events] == [None, Approval.WITHDRAWN]
    (line,) = read_outcomes(tmp_path / "audit.jsonl")
    assert line["approval"] == "withdrawn"


async def test_closing_the_queue_refuses_every_waiting_request(qovery: SimQovery, tmp_path: Path) -> None:
    async with gated(qovery, tmp_path) as (pipeline, approvals, _):
        tasks = [await ask(pipeline, "stop", job) for job in (CRON_JOB, LIFECYCLE_JOB, NEVER_DEPLOYED_JOB)]
        await until(lambda: len(approvals.waiting) == 3, "three wait")
        approvals.close()
        outcomes = await asyncio.gather(*tasks)
        later = await (await ask(pipeline, "stop"))
    assert actions_sent(qovery) == []
    assert [o.approval for o in outcomes] == [Approval.UNAVAILABLE] * 3
    assert outcomes[0].refused is not None
    assert outcomes[0].refused.detail == (
        f"the operator quit the dashboard before answering; stop on {CRON_JOB} was not run"
    )
    assert later.refused is not None and later.refused.slug == "approval-unavailable"
    assert [line["approval"] for line in read_outcomes(tmp_path / "audit.jsonl")] == ["unavailable"] * 4


async def test_beyond_the_limit_a_request_is_refused_with_when_to_retry(
    qovery: SimQovery, tmp_path: Path
) -> None:
    async with gated(qovery, tmp_path, limit=3, timeout_s=40) as (pipeline, approvals, _):
        waiting = [await ask(pipeline, "stop") for _ in range(3)]
        await until(lambda: len(approvals.waiting) == 3, "three wait")
        outcome = await (await ask(pipeline, "stop"))
        approvals.close()
        await asyncio.gather(*waiting)
    refused = outcome.refused
    assert refused is not None and outcome.approval is Approval.QUEUE_FULL
    assert (refused.status, refused.slug) == (429, "approval-queue-full")
    assert refused.retry_after_s is not None and 1 <= refused.retry_after_s <= 40
    assert refused.detail == (
        f"3 requests already wait for the operator's approval; try again in {refused.retry_after_s}s "
        "(nothing was sent to Qovery)"
    )
    assert MAX_WAITING == 50
    assert actions_sent(qovery) == []
    assert "queue-full" in [line["approval"] for line in read_outcomes(tmp_path / "audit.jsonl")]


async def test_a_waiting_caller_hears_now_and_then_that_it_still_waits(
    qovery: SimQovery, tmp_path: Path
) -> None:
    heard: list[tuple[float, float, str]] = []

    async def progress(waited: float, total: float, message: str) -> None:
        heard.append((waited, total, message))

    async with gated(qovery, tmp_path, progress_every_s=0.02, timeout_s=30) as (pipeline, approvals, _):
        task = await ask(pipeline, "stop", caller=Caller(progress=progress))
        await until(lambda: len(heard) >= 3, "three progress notes")
        approvals.answer(approvals.waiting[0], approve=True)
        assert (await task).status == 202
        count = len(heard)
        await asyncio.sleep(0.1)
    assert len(heard) == count  # silent once answered
    waited, total, message = heard[0]
    assert total == 30 and 0 <= waited < 30
    assert message.startswith(f"waiting for the operator's approval of stop on {CRON_JOB}: ")
    assert message.endswith("s left")
    assert [w for w, _, _ in heard] == sorted(w for w, _, _ in heard)


async def test_a_caller_that_cannot_hear_progress_still_gets_its_answer(
    qovery: SimQovery, tmp_path: Path
) -> None:
    async def deaf(waited: float, total: float, message: str) -> None:
        raise ConnectionError("gone deaf")

    async with gated(qovery, tmp_path, progress_every_s=0.01) as (pipeline, approvals, _):
        task = await ask(pipeline, "stop", caller=Caller(progress=deaf))
        await until(lambda: approvals.waiting, "the request waits")
        await asyncio.sleep(0.05)
        assert approvals.waiting  # a failing progress note is not a departure
        approvals.answer(approvals.waiting[0], approve=True)
        assert (await task).status == 202


async def test_a_listener_that_fails_stops_no_answer(qovery: SimQovery, tmp_path: Path) -> None:
    def broken(event: ApprovalEvent) -> None:
        raise RuntimeError("a face's listener failed")

    async with gated(qovery, tmp_path) as (pipeline, approvals, _):
        approvals.subscribe(broken)
        task = await ask(pipeline, "stop")
        await until(lambda: approvals.waiting, "the request waits")
        pending: PendingApproval = approvals.waiting[0]
        approvals.answer(pending, approve=True)
        assert (await task).status == 202
