"""The audit log, written ahead: an action's intent on disk before its request leaves, its outcome (the same id)
before the answer; one outcome line alone for an attempt that never went; fsynced in the background; no
token. An action whose intent cannot be written is refused and never sent."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from qjob_tui import audit as audit_module
from qjob_tui.actions import ForceEvent
from qjob_tui.approvals import ApprovalQueue
from qjob_tui.audit import AuditError, AuditLog
from qjob_tui.cli import main
from qjob_tui.pipeline import ActionInterrupted, ActionOutcome, ActionPipeline
from tests.common import API_TOKEN, CRON_JOB, FAILED_JOB, LIFECYCLE_JOB, audit_outcomes, free_port
from tests.support.hostile import HostileUpstream, accepted, hold, hostile_upstream

from .conftest import UserEnv
from .support import SimQovery, pipeline_on

CONTRACT_FIELDS = {
    "time",
    "source",
    "job_id",
    "action",
    "forceEvent",
    "body",
    "status",
    "duration_ms",
    "deployment_request_id",
    "error",
}


def read_lines(path: Path) -> list[dict[str, Any]]:
    """Every line of the file as JSON; fails on a line that is not exactly one JSON object."""
    raw = path.read_bytes()
    assert raw.endswith(b"\n") or raw == b""
    records = [json.loads(line) for line in raw.decode().splitlines()]
    assert all(isinstance(record, dict) for record in records)
    return records


DISK_FULL = Path("/dev/full")  # every write fails with ENOSPC, as on a full disk: a real failing os.write
JOBS = [CRON_JOB, LIFECYCLE_JOB, FAILED_JOB]


def nested(depth: int) -> dict[str, Any]:
    """An object nested `depth` levels deep: past the JSON encoder's recursion limit for a large depth."""
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"n": value}
    return value


def outcome_lines(path: Path) -> list[dict[str, Any]]:
    """The outcome lines, one per action, each intent checked against its outcome."""
    return audit_outcomes(read_lines(path))


# -- what a line holds ------------------------------------------------------------------------------


async def test_an_action_is_an_intent_then_an_outcome_with_the_contract_fields_before_run_returns(
    qovery: SimQovery, tmp_path: Path
) -> None:
    path = tmp_path / "audit.jsonl"
    async with pipeline_on(qovery.url, path) as pipeline:
        request = pipeline.prepare("deploy", CRON_JOB, "CRON", {"image_tag": "2.5.0"}, source="rest")
        outcome = await pipeline.run(request)
        intent, record = read_lines(path)  # read at once: the audit log is still open

    assert (intent["phase"], record["phase"]) == ("intent", "outcome")
    assert intent["id"] == record["id"] == outcome.id and len(outcome.id) == 32
    # The intent says what is asked, nothing of what came of it.
    assert {k: intent[k] for k in ("time", "source", "job_id", "action", "forceEvent", "body")} == {
        k: record[k] for k in ("time", "source", "job_id", "action", "forceEvent", "body")
    }
    assert not {"status", "duration_ms", "deployment_request_id", "error"} & set(intent)

    assert set(record) >= CONTRACT_FIELDS
    assert record["source"] == "rest"
    assert (record["job_id"], record["action"]) == (CRON_JOB, "deploy")
    assert record["forceEvent"] == "CRON"
    assert record["body"] == {"image_tag": "2.5.0"}
    assert record["status"] == 202
    assert record["deployment_request_id"] == outcome.data["deployment_request_id"]
    assert record["error"] is None
    assert isinstance(record["duration_ms"], int | float) and record["duration_ms"] >= 0
    assert record["time"].endswith("Z")
    assert datetime.fromisoformat(record["time"]).tzinfo is not None


async def test_qovery_error_is_audited_with_its_status_and_message(qovery: SimQovery, tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    async with pipeline_on(qovery.url, path) as pipeline:
        await pipeline.perform("redeploy", CRON_JOB, source="tui")
        conflict = await pipeline.perform("stop", CRON_JOB, source="mcp")  # the redeploy is in progress
        records = outcome_lines(path)

    assert conflict.status == 409
    assert [(r["action"], r["status"], r["source"]) for r in records] == [
        ("redeploy", 202, "tui"),
        ("stop", 409, "mcp"),
    ]
    assert records[1]["error"] == conflict.error_message
    assert conflict.data["message"] in records[1]["error"]
    assert records[1]["deployment_request_id"] is None


async def test_unreachable_qovery_is_audited_without_a_status(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    async with pipeline_on(f"http://127.0.0.1:{free_port()}", path) as pipeline:
        await pipeline.perform("clean-failed", FAILED_JOB, source="rest")
        intent, record = read_lines(path)
    assert intent["phase"] == "intent"  # it was on its way: it may have reached Qovery
    assert record["status"] is None
    assert "unreachable" in record["error"]


async def test_gate_refusal_is_audited(qovery: SimQovery, tmp_path: Path) -> None:
    gate = ApprovalQueue({"uninstall"}, timeout_s=60)  # nobody opened it: refused at once, as headless
    path = tmp_path / "audit.jsonl"
    async with pipeline_on(qovery.url, path, gate=gate) as pipeline:
        await pipeline.perform("uninstall", CRON_JOB, body={}, source="mcp")
        [record] = read_lines(path)  # the attempt, and no intent: it never went
    assert record["phase"] == "outcome"
    assert (record["action"], record["status"], record["body"]) == ("uninstall", None, {})
    assert record["approval"] == "unavailable"
    assert record["error"].startswith("uninstall needs the operator: run qjob-tui --server")


async def test_every_action_of_every_face_is_one_line(qovery: SimQovery, tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    async with pipeline_on(qovery.url, path) as pipeline:
        await pipeline.perform("deploy", CRON_JOB, ForceEvent.CRON, source="tui")
        await pipeline.perform("redeploy", LIFECYCLE_JOB, "START", source="rest")
        await pipeline.perform("clean-failed", FAILED_JOB, source="mcp")
        await pipeline.perform("stop", LIFECYCLE_JOB, source="rest")  # 409: in progress
        await pipeline.perform("uninstall", FAILED_JOB, source="tui")
        lines = read_lines(path)
    records = audit_outcomes(lines)
    assert [r["phase"] for r in lines] == ["intent", "outcome"] * 5
    assert [(r["source"], r["action"]) for r in records] == [
        ("tui", "deploy"),
        ("rest", "redeploy"),
        ("mcp", "clean-failed"),
        ("rest", "stop"),
        ("tui", "uninstall"),
    ]
    assert records[1]["forceEvent"] == "START"
    assert records[2]["forceEvent"] is None


async def test_the_token_is_never_written(qovery: SimQovery, tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    async with pipeline_on(qovery.url, path) as pipeline:
        await pipeline.perform("deploy", CRON_JOB, "CRON", {"git_commit_id": "9d1c0ab"}, source="rest")
        await pipeline.perform("deploy", CRON_JOB, source="rest")  # 409
    async with pipeline_on(qovery.url, path, token=f"{API_TOKEN}-wrong") as pipeline:
        await pipeline.perform("stop", CRON_JOB, source="mcp")  # 401
    async with pipeline_on(f"http://127.0.0.1:{free_port()}", path) as pipeline:
        await pipeline.perform("stop", CRON_JOB, source="tui")  # unreachable
    content = path.read_bytes()
    assert len(outcome_lines(path)) == 4
    assert API_TOKEN.encode() not in content


def test_a_record_is_one_line_for_every_reader_whatever_its_text(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    tricky = {"image_tag": "a\u2028b\u2029c\x85d\re\nf\x1cg", "n\u00e4me": "caf\u00e9 \U0001f680"}
    log = AuditLog(path)
    log.append({"body": tricky})
    log.append({"body": {}})
    log.close()
    text = path.read_text(encoding="utf-8")
    assert len(text.splitlines()) == 2  # Python's splitlines breaks at U+2028, U+0085 and friends
    assert json.loads(text.splitlines()[0])["body"] == tricky


# -- how lines reach the disk ---------------------------------------------------------------------


async def test_concurrent_actions_each_get_a_whole_line(qovery: SimQovery, tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    jobs = [CRON_JOB, LIFECYCLE_JOB, FAILED_JOB]
    async with pipeline_on(qovery.url, path) as pipeline:
        await asyncio.gather(
            *(pipeline.perform("clean-failed", jobs[i % 3], source="rest") for i in range(30))
        )
        records = outcome_lines(path)
    assert len(records) == 30
    assert {r["job_id"] for r in records} == set(jobs)


def test_concurrent_appends_from_threads_and_two_logs_stay_valid_lines(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    first, second = AuditLog(path), AuditLog(path)  # two writers on one file, like two processes
    big = "x" * 20_000  # larger than a pipe buffer: one write must still be one line

    def writer(log: AuditLog, name: str) -> None:
        for n in range(150):
            log.append({"writer": name, "n": n, "body": {"note": big if n % 10 == 0 else name}})

    threads = [
        threading.Thread(target=writer, args=(log, f"{label}{i}"))
        for i in range(4)
        for label, log in (("a", first), ("b", second))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    first.close()
    second.close()

    records = read_lines(path)
    assert len(records) == 8 * 150
    seen = {(r["writer"], r["n"]) for r in records}
    assert len(seen) == 8 * 150
    assert all(r["body"]["note"] == big for r in records if r["n"] % 10 == 0)


def test_fsync_follows_in_the_background(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    done = threading.Event()

    def fake_fsync(fd: int) -> None:
        synced.append(fd)
        done.set()

    monkeypatch.setattr(audit_module.os, "fsync", fake_fsync)
    monkeypatch.setattr(audit_module, "FSYNC_DELAY_S", 0.01)
    log = AuditLog(tmp_path / "audit.jsonl")
    try:
        log.append({"action": "deploy"})
        assert done.wait(timeout=10), "no fsync after an append"
        assert synced == [log._fd]
    finally:
        log.close()


def test_append_returns_before_the_fsync_and_close_fsyncs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[int] = []
    monkeypatch.setattr(audit_module.os, "fsync", synced.append)
    monkeypatch.setattr(audit_module, "FSYNC_DELAY_S", 3600)  # the timer never fires in this test
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    log.append({"n": 1})
    log.append({"n": 2})
    assert synced == []  # written through to the OS, not yet flushed to the disk
    assert len(read_lines(path)) == 2
    log.close()
    assert len(synced) == 1


def test_append_does_not_wait_for_a_slow_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    in_fsync, release = threading.Event(), threading.Event()

    def slow_fsync(fd: int) -> None:
        in_fsync.set()
        release.wait(timeout=30)

    monkeypatch.setattr(audit_module.os, "fsync", slow_fsync)
    monkeypatch.setattr(audit_module, "FSYNC_DELAY_S", 0.01)
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    appended = threading.Event()
    try:
        log.append({"n": 1})
        assert in_fsync.wait(timeout=10)  # the background fsync is now stuck on the disk
        worker = threading.Thread(target=lambda: (log.append({"n": 2}), appended.set()))
        worker.start()
        assert appended.wait(timeout=10), "append waited for the fsync"
        assert len(read_lines(path)) == 2
    finally:
        release.set()
        log.close()


def test_the_file_is_private_and_only_appended_to(tmp_path: Path) -> None:
    path = tmp_path / "state" / "audit.jsonl"
    path.parent.mkdir()
    path.write_text('{"earlier":true}\n')
    path.chmod(0o600)
    log = AuditLog(path)
    log.append({"later": True})
    log.close()
    assert read_lines(path) == [{"earlier": True}, {"later": True}]
    fresh = tmp_path / "new" / "dir" / "audit.jsonl"  # missing directories are made
    AuditLog(fresh).close()
    assert stat.S_IMODE(os.stat(fresh).st_mode) == 0o600


def test_unopenable_path_is_an_audit_error_naming_the_key(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(AuditError, match=r"audit\.path") as caught:
        AuditLog(blocker / "audit.jsonl")
    assert str(blocker) in str(caught.value)


def test_append_after_close_is_refused(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    log.close()
    with pytest.raises(AuditError, match="closed"):
        log.append({"n": 1})


def test_unopenable_audit_path_stops_the_start_with_one_line(
    user_env: UserEnv, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("QOVERY_API_KEY", API_TOKEN)
    blocker = user_env.work / "a-file"
    blocker.write_text("")
    (user_env.work / "qjob-tui.yaml").write_text(f"audit:\n  path: {blocker / 'audit.jsonl'}\n")
    code = main([])
    captured = capsys.readouterr()
    assert code == 2
    assert "Traceback" not in captured.err
    [line] = captured.err.strip().splitlines()
    assert line.startswith("qjob-tui: audit.path")
    assert API_TOKEN not in captured.err


# -- written ahead ----------------------------------------------------------------------------------------


@dataclass
class HeldActions:
    """Actions sent through a pipeline whose Qovery holds every answer until `release` is set."""

    upstream: HostileUpstream
    pipeline: ActionPipeline
    release: asyncio.Event
    running: list[asyncio.Task[ActionOutcome]]


@asynccontextmanager
async def held_actions(path: Path, *calls: tuple[str, str, str]) -> AsyncIterator[HeldActions]:
    """Run each (action, job, source) call, and yield once Qovery has them all (and answered none)."""
    release = asyncio.Event()
    async with (
        hostile_upstream(hold(accepted, release)) as upstream,
        pipeline_on(upstream.url, path) as pipeline,
    ):
        running = [
            asyncio.create_task(pipeline.perform(action, job, source=source)) for action, job, source in calls
        ]
        async with asyncio.timeout(20):
            await upstream.wait_for(lambda: len(upstream.requests()) == len(calls))
        try:
            yield HeldActions(upstream, pipeline, release, running)
        finally:
            release.set()


async def test_the_intent_is_on_disk_before_qovery_has_the_request(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    async with held_actions(path, ("deploy", CRON_JOB, "rest")) as held:
        [intent] = read_lines(path)  # Qovery has it, and has not answered: the intent alone
        assert (intent["phase"], intent["action"], intent["job_id"]) == ("intent", "deploy", CRON_JOB)
        held.release.set()
        [outcome] = await asyncio.gather(*held.running)
        assert [r["phase"] for r in read_lines(path)] == ["intent", "outcome"]
    assert outcome.status == 202 and outcome.sent


async def test_an_action_whose_intent_cannot_be_written_is_refused_and_never_sent(tmp_path: Path) -> None:
    heard: list[ActionOutcome] = []
    async with hostile_upstream() as upstream, pipeline_on(upstream.url, DISK_FULL) as pipeline:
        pipeline.subscribe(heard.append)  # the dashboard's log pane and the headless line hear it too
        outcome = await pipeline.perform("deploy", CRON_JOB, source="tui")
    assert upstream.received == []
    assert outcome.refused is not None and not outcome.sent
    assert (outcome.refused.status, outcome.refused.slug) == (503, "audit-unavailable")
    assert outcome.refused.detail == (
        "audit log unavailable: /dev/full could not be written (No space left on device); "
        "nothing was sent to Qovery"
    )
    assert heard == [outcome] and outcome.summary.startswith("refused: audit log unavailable")


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (nested(5000), "the body cannot be written as JSON (nested too deeply); it was not sent"),
        ({"x": float("nan")}, "the body cannot be written as JSON (Out of range float values"),
        ({"x": "\udc80"}, "the body cannot be sent as UTF-8 (it holds a lone surrogate); it was not sent"),
    ],
    ids=["nested-past-the-encoder", "nan", "lone-surrogate"],
)
async def test_a_body_that_cannot_be_written_or_sent_never_goes(tmp_path: Path, body: Any, why: str) -> None:
    path = tmp_path / "audit.jsonl"
    async with hostile_upstream() as upstream, pipeline_on(upstream.url, path) as pipeline:
        request = pipeline.prepare("uninstall", CRON_JOB, body=body, source="cli")  # any object passes
        outcome = await pipeline.run(request)
    assert upstream.received == [] and read_lines(path) == []
    assert outcome.refused is not None and outcome.refused.status == 400
    assert outcome.refused.detail.startswith(why)


async def test_an_outcome_that_cannot_be_written_still_returns_qoverys_answer_and_says_so(
    tmp_path: Path,
) -> None:
    """Qovery has acted: the caller must see its answer (a retry would act twice), with the audit failure named."""
    path = tmp_path / "audit.jsonl"
    async with held_actions(path, ("deploy", CRON_JOB, "rest")) as held:
        assert held.pipeline.audit is not None
        held.pipeline.audit.close()  # the disk goes while Qovery works on it
        held.release.set()
        [outcome] = await asyncio.gather(*held.running)
    assert outcome.status == 202 and outcome.ok
    assert outcome.audit_error is not None and "audit log could not be written" in outcome.audit_error
    # What the next reader learns: it was sent, and may have run.
    assert [r["phase"] for r in read_lines(path)] == ["intent"]


async def test_stop_answers_the_actions_in_flight_as_interrupted_their_lines_written_first(
    tmp_path: Path,
) -> None:
    path = tmp_path / "audit.jsonl"
    async with held_actions(path, *(("stop", job, "rest") for job in JOBS)) as held:
        held.pipeline.stop()
        # Before the loop runs again: every action in flight has its outcome on disk.
        assert [r["phase"] for r in read_lines(path)] == ["intent"] * 3 + ["outcome"] * 3
        outcomes = await asyncio.gather(*held.running)
        late = await held.pipeline.perform("stop", CRON_JOB, source="mcp")
        await held.pipeline.drained()
    assert all(isinstance(outcome.error, ActionInterrupted) for outcome in outcomes)
    records = outcome_lines(path)
    assert len(records) == 3 and {r["job_id"] for r in records} == set(JOBS)
    assert all(r["status"] is None for r in records)
    assert all(r["error"].startswith("qjob-tui stopped before Qovery") for r in records)
    assert late.refused is not None and late.refused.slug == "shutting-down"
    assert len(held.upstream.requests()) == 3  # the late one was never sent, nor audited


async def test_a_cancelled_action_still_gets_its_outcome_line(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    async with held_actions(path, ("deploy", CRON_JOB, "tui")) as held:
        [running] = held.running
        running.cancel()  # the face's task ends: the dashboard quits, the server's grace is over
        with pytest.raises(asyncio.CancelledError):
            await running
        [record] = outcome_lines(path)
    assert record["error"].startswith("qjob-tui stopped before Qovery answered; the request was sent")


def test_at_start_intents_left_without_an_outcome_are_told_and_closed_once(tmp_path: Path) -> None:
    """After a process died between an intent and its outcome (SIGKILL, a power cut), the next start says so in
    one note and writes each such action's outcome (status unknown), so the record is whole and the start after
    that says nothing."""
    path = tmp_path / "audit.jsonl"
    finished = {"id": "a1", "time": "2026-05-19T10:00:00.000Z", "source": "rest", "job_id": CRON_JOB,
                "job_name": "nightly-backup", "action": "deploy"}  # fmt: skip
    lines = [
        {**finished, "phase": "intent"},
        {**finished, "phase": "outcome", "status": 202},
        {**finished, "id": "b2", "phase": "intent", "action": "stop", "time": "2026-05-19T10:01:00.000Z"},
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    path.chmod(0o600)
    log = AuditLog(path)
    log.close()
    [note] = log.notes
    assert note.startswith(
        "audit: 1 action sent to Qovery with no recorded outcome (the last: stop nightly-backup"
    )
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 4
    closing = records[-1]
    assert (closing["id"], closing["phase"], closing["status"], closing["action"]) == (
        "b2",
        "outcome",
        None,
        "stop",
    )
    assert "may or may not have run" in closing["error"]
    again = AuditLog(path)
    again.close()
    assert again.notes == []
    assert len(path.read_text(encoding="utf-8").splitlines()) == 4
