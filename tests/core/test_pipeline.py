"""The action pipeline every face goes through: validate -> gate -> client -> audit -> listeners."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from qjob_tui.actions import ACTIONS_BY_NAME, ForceEvent
from qjob_tui.pipeline import (
    ActionOutcome,
    ActionRefused,
    ActionRequest,
    Approval,
    Caller,
    ReadOnlyRefused,
    Refusal,
)
from tests.common import CRON_JOB, FAILED_JOB, LIFECYCLE_JOB, UNKNOWN_JOB, free_port, read_outcomes

from .support import SimQovery, pipeline_on

REFUSALS: list[tuple[str, Any, Any, Any, int, str | None]] = [
    # action, job id, forceEvent, body -> status, field
    ("deploy", "../x", None, None, 400, "jobId"),
    ("deploy", "%2e%2e%2f", None, None, 400, "jobId"),
    ("stop", "", None, None, 400, "jobId"),
    ("stop", f"{CRON_JOB}\n", None, None, 400, "jobId"),
    ("stop", None, None, None, 400, "jobId"),
    ("deploy", CRON_JOB, "NOW", None, 400, "forceEvent"),
    ("redeploy", CRON_JOB, "cron", None, 400, "forceEvent"),
    ("stop", CRON_JOB, "CRON", None, 400, "forceEvent"),
    ("redeploy", CRON_JOB, None, {"image_tag": "2.5.0"}, 400, "body"),
    ("deploy", CRON_JOB, None, ["image_tag"], 400, "body"),
    ("deploy", CRON_JOB, None, {"image_tag": "2.5.0", "git_commit_id": "9d1c0ab"}, 400, "body"),
    ("deploy", CRON_JOB, None, {"image_tag": 25}, 400, "body.image_tag"),
    ("deploy", CRON_JOB, None, {"git_commit_id": "  "}, 400, "body.git_commit_id"),
    ("deploy", CRON_JOB, None, {"branch": "main"}, 400, "body"),
    ("uninstall", CRON_JOB, None, "{}", 400, "body"),
    ("clean-failed", FAILED_JOB, None, {}, 400, "body"),
    ("launch", CRON_JOB, None, None, 404, None),
    ("deploy", UNKNOWN_JOB, None, None, 403, "jobId"),
]


@pytest.mark.parametrize(
    ("action", "job", "event", "body", "status", "field"),
    REFUSALS,
    ids=[f"{r[4]}-{r[0]}-{r[5]}-{i}" for i, r in enumerate(REFUSALS)],
)
async def test_bad_input_is_refused_before_anything_is_sent(
    qovery: SimQovery,
    tmp_path: Path,
    action: str,
    job: Any,
    event: Any,
    body: Any,
    status: int,
    field: str | None,
) -> None:
    seen: list[ActionOutcome] = []
    path = tmp_path / "audit.jsonl"
    async with pipeline_on(qovery.url, path) as pipeline:
        pipeline.subscribe(seen.append)
        with pytest.raises(ActionRefused) as caught:
            await pipeline.perform(action, job, event, body, source="rest")
    refusal = caught.value
    assert (refusal.status, refusal.field) == (status, field)
    assert refusal.title and refusal.detail
    assert qovery.sim.requests == []
    assert seen == []
    assert path.read_bytes() == b""


@pytest.mark.parametrize("source", ["tui", "rest", "mcp", "cli"])
async def test_read_only_refuses_every_action_from_every_face_before_qovery(
    qovery: SimQovery, tmp_path: Path, source: str
) -> None:
    path = tmp_path / "audit.jsonl"
    refusals: list[Refusal] = []
    async with pipeline_on(qovery.url, path, read_only=True) as pipeline:
        pipeline.subscribe_refusals(refusals.append)
        for action in ACTIONS_BY_NAME:
            with pytest.raises(ReadOnlyRefused) as caught:
                await pipeline.perform(action, CRON_JOB, source=source)
            assert (caught.value.status, caught.value.slug) == (403, "read-only")
        with pytest.raises(ReadOnlyRefused):  # read-only first, whatever else is wrong with the request
            pipeline.prepare("deploy", "not-a-uuid", "NOW", source=source)
    assert qovery.sim.requests == []
    assert path.read_bytes() == b""
    assert [r.action for r in refusals] == [*ACTIONS_BY_NAME, "deploy"]
    assert {r.source for r in refusals} == {source}


async def test_unlisted_job_refusal_says_how_to_allow_it(qovery: SimQovery) -> None:
    async with pipeline_on(qovery.url, None) as pipeline:
        with pytest.raises(ActionRefused) as caught:
            pipeline.prepare("stop", UNKNOWN_JOB, source="mcp")
    assert UNKNOWN_JOB in caught.value.detail
    assert "allow_unlisted_jobs" in caught.value.detail


async def test_allow_unlisted_jobs_lets_any_job_through(qovery: SimQovery) -> None:
    async with pipeline_on(qovery.url, None, jobs=(), allow_unlisted_jobs=True) as pipeline:
        outcome = await pipeline.perform("redeploy", CRON_JOB, "CRON", source="rest")
    assert outcome.status == 202
    assert [(r.method, r.path, r.query) for r in qovery.sim.requests] == [
        ("POST", f"/job/{CRON_JOB}/redeploy", {"forceEvent": "CRON"})
    ]


async def test_prepare_normalises_what_it_accepts(qovery: SimQovery) -> None:
    async with pipeline_on(qovery.url, None) as pipeline:
        request = pipeline.prepare(ACTIONS_BY_NAME["deploy"], CRON_JOB.upper(), "", None, source="tui")
        with_event = pipeline.prepare("redeploy", LIFECYCLE_JOB, ForceEvent.START, source="mcp")
    assert (request.job_id, request.force_event, request.body, request.source) == (
        CRON_JOB,
        None,
        None,
        "tui",
    )
    assert with_event.force_event is ForceEvent.START


class OneAnswerGate:
    """A gate that holds the actions it is given, records what it was asked, and answers the same each time."""

    def __init__(self, actions: set[str], refusal: ActionRefused | None = None) -> None:
        self.actions = actions
        self.refusal = refusal
        self.asked: list[ActionRequest] = []

    def holds(self, request: ActionRequest) -> bool:
        return request.action.name in self.actions

    async def wait(self, request: ActionRequest, caller: Caller) -> Approval:
        self.asked.append(request)
        if self.refusal is not None:
            raise self.refusal
        return Approval.APPROVED


async def test_gate_refusal_sends_nothing_and_ends_in_a_refused_outcome(
    qovery: SimQovery, tmp_path: Path
) -> None:
    refusal = ActionRefused(
        403, "Approval denied", "the operator refused stop on nightly-backup", approval=Approval.DENIED
    )
    gate = OneAnswerGate({"stop"}, refusal)
    seen: list[ActionOutcome] = []
    async with pipeline_on(qovery.url, tmp_path / "audit.jsonl", gate=gate) as pipeline:
        pipeline.subscribe(seen.append)
        outcome = await pipeline.perform("stop", CRON_JOB, source="mcp")
        job = pipeline.board.get(CRON_JOB)

    assert [r.action.name for r in gate.asked] == ["stop"]
    assert qovery.sim.requests == []
    assert outcome.refused is refusal and outcome.approval is Approval.DENIED
    assert (outcome.status, outcome.data, outcome.error, outcome.ok) == (None, None, None, False)
    assert outcome.summary == "refused: the operator refused stop on nightly-backup"
    assert outcome.error_message == "the operator refused stop on nightly-backup"
    assert seen == [outcome]
    # The job was not touched: its last action is still none.
    assert job is not None and job.last_action is None
    (line,) = read_outcomes(tmp_path / "audit.jsonl")
    assert (line["action"], line["approval"], line["status"]) == ("stop", "denied", None)
    assert line["waited_ms"] >= 0


async def test_gate_that_lets_the_request_through(qovery: SimQovery, tmp_path: Path) -> None:
    gate = OneAnswerGate({"stop"})
    async with pipeline_on(qovery.url, tmp_path / "audit.jsonl", gate=gate) as pipeline:
        outcome = await pipeline.perform("stop", CRON_JOB, source="rest")
    assert outcome.status == 202 and outcome.approval is Approval.APPROVED
    assert len(qovery.sim.requests) == 1
    (line,) = read_outcomes(tmp_path / "audit.jsonl")
    assert (line["approval"], line["status"]) == ("approved", 202)


async def test_actions_the_gate_does_not_hold_pass_without_asking_it(
    qovery: SimQovery, tmp_path: Path
) -> None:
    gate = OneAnswerGate({"uninstall"}, ActionRefused(403, "No", "no", approval=Approval.DENIED))
    async with pipeline_on(qovery.url, tmp_path / "audit.jsonl", gate=gate) as pipeline:
        outcome = await pipeline.perform("stop", CRON_JOB, source="rest")
    assert outcome.status == 202 and outcome.approval is None
    assert gate.asked == []
    (line,) = read_outcomes(tmp_path / "audit.jsonl")
    assert "approval" not in line and "waited_ms" not in line


async def test_listeners_receive_every_outcome_and_a_broken_one_breaks_nothing(qovery: SimQovery) -> None:
    received: list[ActionOutcome] = []
    late: list[ActionOutcome] = []

    def broken(outcome: ActionOutcome) -> None:
        raise RuntimeError("a face's listener failed")

    qovery.sim.inject(method="POST", path="/cleanFailedJob$", status=500, json={"message": "boom"})
    async with pipeline_on(qovery.url, None) as pipeline:
        pipeline.subscribe(broken)
        pipeline.subscribe(received.append)
        ok = await pipeline.perform("deploy", CRON_JOB, source="tui")
        conflict = await pipeline.perform("deploy", CRON_JOB, source="rest")
        failed = await pipeline.perform("clean-failed", FAILED_JOB, source="mcp")
        unsubscribe = pipeline.subscribe(late.append)
        unsubscribe()
        again = await pipeline.perform("redeploy", LIFECYCLE_JOB, source="tui")

    assert received == [ok, conflict, failed, again]
    assert [o.status for o in received] == [202, 409, 500, 202]
    assert [o.request.source for o in received] == ["tui", "rest", "mcp", "tui"]
    assert late == []


async def test_outcome_of_a_success(qovery: SimQovery) -> None:
    async with pipeline_on(qovery.url, None) as pipeline:
        pipeline.board.jobs[CRON_JOB].name = "nightly-backup"
        outcome = await pipeline.perform("deploy", CRON_JOB, "CRON", {"image_tag": "2.5.0"}, source="tui")
        job = pipeline.board.jobs[CRON_JOB]
    assert outcome.ok
    assert outcome.summary == "202"
    assert outcome.error_message is None
    assert outcome.job_name == "nightly-backup"
    assert outcome.deployment_request_id == outcome.data["deployment_request_id"]
    assert outcome.content.startswith(b"{")
    # The board remembers the action and starts the job's fast refresh.
    assert (job.last_action, job.last_result, job.last_result_ok) == ("deploy", "202", True)
    assert job.state == "DEPLOYMENT_QUEUED"
    assert job in pipeline.board.settling()


async def test_outcome_of_a_qovery_error_carries_its_status_and_message(qovery: SimQovery) -> None:
    async with pipeline_on(qovery.url, None) as pipeline:
        await pipeline.perform("redeploy", CRON_JOB, source="tui")
        outcome = await pipeline.perform("uninstall", CRON_JOB, body={}, source="tui")
        job = pipeline.board.jobs[CRON_JOB]
    message = outcome.data["message"]
    assert (outcome.status, outcome.ok) == (409, False)
    assert outcome.summary == f"409 {message}"
    assert outcome.error_message == f"Qovery answered 409: {message}"
    assert outcome.deployment_request_id is None
    assert (job.last_action, job.last_result, job.last_result_ok) == ("uninstall", f"409 {message}", False)


@pytest.mark.parametrize(
    ("fault", "summary"),
    [
        ({"status": 502, "raw": b""}, "502"),
        ({"status": 500, "json": {"message": "internal error"}}, "500 internal error"),
        ({"status": 200, "raw": b"<html>maintenance</html>"}, "bad-response"),
        ({"reset": True}, "unreachable"),
        ({"delay_s": 30}, "timeout"),
    ],
    ids=["http-empty", "http-message", "not-json", "reset", "timeout"],
)
async def test_outcome_summary_names_what_went_wrong(
    qovery: SimQovery, fault: dict[str, Any], summary: str
) -> None:
    qovery.sim.inject(method="POST", **fault)
    async with pipeline_on(qovery.url, None, timeout_s=0.2) as pipeline:
        outcome = await pipeline.perform("stop", CRON_JOB, source="rest")
    assert outcome.summary == summary
    assert not outcome.ok
    assert outcome.error is not None and outcome.error_message == outcome.error.message
    assert len(qovery.sim.requests) == 1


async def test_unreachable_qovery_is_an_outcome_not_an_exception() -> None:
    async with pipeline_on(f"http://127.0.0.1:{free_port()}", None) as pipeline:
        outcome = await pipeline.perform("deploy", CRON_JOB, source="tui")
    assert (outcome.summary, outcome.status, outcome.ok) == ("unreachable", None, False)
    assert outcome.error is not None and outcome.error.kind == "unreachable"


async def test_refusal_listeners_hear_every_refused_request_with_its_reason(qovery: SimQovery) -> None:
    async with pipeline_on(qovery.url, None) as pipeline:
        heard: list[tuple[str, str, str, int]] = []
        pipeline.subscribe_refusals(lambda r: heard.append((r.source, r.action, r.job_id, r.refused.status)))
        with pytest.raises(ActionRefused):
            pipeline.prepare("deploy", "../etc", source="rest")
        with pytest.raises(ActionRefused):
            pipeline.prepare("stop", UNKNOWN_JOB, source="mcp")
        with pytest.raises(ActionRefused):
            pipeline.prepare("deploy", CRON_JOB, "NOW", source="mcp")
        pipeline.prepare("deploy", CRON_JOB, source="rest")  # accepted: nobody hears of it
    assert heard == [
        ("rest", "deploy", "../etc", 400),
        ("mcp", "stop", UNKNOWN_JOB, 403),
        ("mcp", "deploy", CRON_JOB, 400),  # the name once the board knows it
    ]
    assert qovery.sim.requests == []
