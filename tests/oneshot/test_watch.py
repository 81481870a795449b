"""`--watch` step by step: the real client and reads against the simulator, time moved by the watch's own waits.

The simulator's clock is a `ManualClock` and the watch sleeps by advancing it, so each look sees exactly the
state the run is in at that moment, and a run of hours is watched in milliseconds.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from qjob_tui.config import JobEntry
from qjob_tui.jobs import JobBoard
from qjob_tui.oneshot.results import Exit
from qjob_tui.oneshot.watch import FAILED_LOOKS_ALLOWED, LogFollower, RunWatch, Schedule
from qjob_tui.pipeline import ActionPipeline
from qjob_tui.qovery import QoveryClient, RetryPolicy
from qjob_tui.reads import JobReads, LogLine, ReadCache
from qjob_tui.simulator import ManualClock, Simulator, serve_simulator
from tests.common import API_TOKEN, CRON_JOB, FAILS_NEXT_JOB, environment_of

from .support import LISTED


async def no_wait(seconds: float) -> None:
    """The client's retry backoff, skipped: the retries still happen, at once."""


@dataclass
class Watched:
    """A job acted on through the pipeline, and a watch of it whose waits move the simulator's clock."""

    sim: Simulator
    clock: ManualClock
    pipeline: ActionPipeline
    reads: JobReads
    states: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    async def act(self, action: str, job: str, **schedule: float) -> RunWatch:
        outcome = await self.pipeline.perform(action, job, source="cli")
        assert outcome.status == 202, outcome.summary
        assert isinstance(outcome.data, dict)
        return RunWatch(
            self.reads,
            job,
            outcome.data,
            schedule=Schedule(**{"every_s": 10.0, **schedule}),
            on_state=self.states.append,
            on_note=self.notes.append,
            clock=self.clock,
            sleep=self.sleep,
        )

    async def sleep(self, seconds: float) -> None:
        self.clock.advance(seconds)

    def status_reads(self, job: str = CRON_JOB) -> int:
        return len([r for r in self.sim.requests if r.method == "GET" and r.path == f"/job/{job}/status"])


@asynccontextmanager
async def watched(phase_s: float = 2.0) -> AsyncIterator[Watched]:
    clock = ManualClock()
    sim = Simulator(token=API_TOKEN, clock=clock, phase_s=phase_s)
    async with serve_simulator(sim) as url:
        board = JobBoard([JobEntry(id=job.id, name=job.name) for job in LISTED])
        retry = RetryPolicy(sleep=no_wait)
        async with QoveryClient(url, API_TOKEN, timeout_s=5, retry=retry) as client:
            pipeline = ActionPipeline(client, board, None)
            # The reads' cache keeps answers for a second of the same clock the watch moves.
            reads = JobReads(client, board, pipeline.allowed_job, cache=ReadCache(clock=clock))
            yield Watched(sim, clock, pipeline, reads)


async def test_each_new_state_is_told_once_until_the_run_settles() -> None:
    async with watched(phase_s=2.0) as w:
        watch = await w.act("deploy", CRON_JOB)
        ending = await watch.until_settled(timeout_s=60)
        reads = w.status_reads()
    # looks at 1.5 s (still queued: not told again), 3 s, 4.5 s
    assert w.states == ["DEPLOYING", "DEPLOYED"]
    assert (ending.exit, ending.state) == (Exit.SUCCESS, "DEPLOYED")
    assert reads == watch.looks == 3


async def test_an_error_state_ends_it_failed() -> None:
    async with watched() as w:
        watch = await w.act("deploy", FAILS_NEXT_JOB)
        ending = await watch.until_settled(timeout_s=60)
    assert (ending.exit, ending.state) == (Exit.FAILED, "DEPLOYMENT_ERROR")
    assert ending.message == "the run ended in DEPLOYMENT_ERROR"


async def test_a_canceled_run_is_not_a_success() -> None:
    async with watched(phase_s=2.0) as w:
        watch = await w.act("deploy", CRON_JOB)
        w.clock.advance(2.5)  # in progress
        response = await w.pipeline.client._http.post(
            f"/environment/{environment_of(CRON_JOB)}/cancelDeployment"
        )
        assert response.status_code == 202
        ending = await watch.until_settled(timeout_s=60)
    assert w.states[-2:] == ["CANCELING", "CANCELED"]
    assert (ending.exit, ending.state, ending.message) == (Exit.FAILED, "CANCELED", "the run was CANCELED")


async def test_the_status_from_before_the_action_is_not_taken_for_the_runs() -> None:
    async with watched(phase_s=2.0) as w:
        before = dict(await w.reads.status(CRON_JOB))  # what Qovery showed just before, for a moment after
        watch = await w.act("deploy", CRON_JOB)
        w.sim.inject(method="GET", path="/status$", status=200, json=before, times=2)
        ending = await watch.until_settled(timeout_s=60)
        history_reads = [r for r in w.sim.requests if r.path.endswith("/deploymentHistoryV2")]
    assert before["state"] == "DEPLOYED"
    # At 1.5 s and 3 s the old Status (DEPLOYED) was not taken for the end: the run's row said queued, then
    # deploying; at 4.5 s the run's own Status.
    assert w.states == ["DEPLOYING", "DEPLOYED"]
    assert (watch.looks, len(history_reads), ending.exit) == (3, 2, Exit.SUCCESS)


async def test_a_run_another_caller_starts_after_ours_does_not_hide_how_ours_ended() -> None:
    async with watched(phase_s=2.0) as w:
        watch = await w.act("deploy", FAILS_NEXT_JOB)

        async def meanwhile(seconds: float) -> None:
            if w.clock.now < 4 <= w.clock.now + seconds:  # ours ends; someone deploys again before our look
                w.clock.advance(4.2 - w.clock.now)
                assert w.sim.state_of(FAILS_NEXT_JOB) == "DEPLOYMENT_ERROR"
                assert (await w.pipeline.perform("redeploy", FAILS_NEXT_JOB, source="rest")).status == 202
            else:
                w.clock.advance(seconds)

        watch.sleep = meanwhile
        ending = await watch.until_settled(timeout_s=600)
    assert (ending.exit, ending.state) == (Exit.FAILED, "DEPLOYMENT_ERROR")  # ours, not the new run's queue
    assert w.states == ["DEPLOYING", "DEPLOYMENT_ERROR"] and watch.looks == 3


async def test_a_failed_look_is_said_and_tried_again() -> None:
    async with watched() as w:
        watch = await w.act("deploy", CRON_JOB)
        w.sim.inject(method="GET", path="/status$", status=503, times=4)  # one look: the client's four tries
        ending = await watch.until_settled(timeout_s=60)
    assert ending.exit is Exit.SUCCESS
    [note] = w.notes
    assert "could not be read (Qovery answered 503: injected fault); trying again (1 of 3 tries)" in note


async def test_looks_that_keep_failing_end_it_unreachable_never_silently() -> None:
    async with watched() as w:
        watch = await w.act("deploy", CRON_JOB)
        w.sim.inject(method="GET", path="/status$", status=502, times=None)
        ending = await watch.until_settled(timeout_s=600)
        reads = w.status_reads()
    assert (ending.exit, ending.state, ending.http_status) == (Exit.UNREACHABLE, "DEPLOYMENT_QUEUED", 502)
    assert f"could not be read {FAILED_LOOKS_ALLOWED} times in a row" in (ending.message or "")
    assert len(w.notes) == FAILED_LOOKS_ALLOWED - 1
    assert reads == FAILED_LOOKS_ALLOWED * RetryPolicy().attempts  # each look retried by the client


@pytest.mark.parametrize("status", [403, 404])
async def test_qovery_refusing_the_read_ends_it_at_once(status: int) -> None:
    async with watched() as w:
        watch = await w.act("deploy", CRON_JOB)
        w.sim.inject(method="GET", path="/status$", status=status, times=None)
        ending = await watch.until_settled(timeout_s=600)
    assert (ending.exit, ending.http_status, watch.looks) == (Exit.REFUSED, status, 1)


async def test_it_gives_up_at_the_timeout_with_the_last_state_seen() -> None:
    async with watched(phase_s=3600) as w:
        watch = await w.act("stop", CRON_JOB)
        ending = await watch.until_settled(timeout_s=120)
    assert (ending.exit, ending.state) == (Exit.TIMEOUT, "STOP_QUEUED")
    assert w.clock.now == pytest.approx(120)  # not a look later


def looks_per_minute(schedule: Schedule, minutes: int) -> list[int]:
    """How many looks the schedule takes in each minute of a watch."""
    counts, now = [0] * minutes, 0.0
    while True:
        now += schedule.wait_after(now)
        if now >= minutes * 60:
            return counts
        counts[int(now // 60)] += 1


def test_fast_at_first_then_on_the_poll_interval() -> None:
    assert looks_per_minute(Schedule(every_s=10), 3) == [22, 6, 6]  # 20 in the first 30 s, then every 10 s
    assert looks_per_minute(Schedule(every_s=1), 1) == [59]  # never slower than the configured interval


async def test_the_schedule_is_what_qovery_sees() -> None:
    async with watched(phase_s=150) as w:  # a five-minute run
        watch = await w.act("deploy", CRON_JOB)
        ending = await watch.until_settled(timeout_s=3600)
        times: list[Any] = [r for r in w.sim.requests if r.method == "GET"]
    assert ending.exit is Exit.SUCCESS
    assert len(times) == watch.looks == sum(looks_per_minute(Schedule(every_s=10), 5)) + 1


async def test_with_logs_the_runs_own_lines_come_and_the_error_with_its_hint() -> None:
    async with watched() as w:
        lines: list[LogLine] = []
        follower = LogFollower(
            w.reads, FAILS_NEXT_JOB, on_line=lines.append, on_note=w.notes.append, interval_s=0.01
        )
        watch = await w.act("deploy", FAILS_NEXT_JOB)
        watch.on_run = follower.start
        ending = await watch.until_settled(timeout_s=60)
        await follower.finish(grace_s=30)
    assert ending.exit is Exit.FAILED and w.notes == []
    assert {line.execution_id for line in lines} == {watch.execution_id}  # its own run's, no other service's
    assert lines[0].step == "LoadConfiguration" and len(lines) == len({id(line) for line in lines})
    error = lines[-1]
    assert (error.kind, error.step) == ("error", "DeployedError")
    assert error.hint and "clean the failed job" in error.hint


async def test_a_log_that_cannot_be_read_is_said_and_the_state_still_watched() -> None:
    async with watched() as w:
        w.sim.inject(method="GET", path="/logs$", status=503, times=None)
        lines: list[LogLine] = []
        follower = LogFollower(
            w.reads, CRON_JOB, on_line=lines.append, on_note=w.notes.append, interval_s=0.01
        )
        watch = await w.act("deploy", CRON_JOB)
        watch.on_run = follower.start
        ending = await watch.until_settled(timeout_s=60)
        await follower.finish(grace_s=30)
    assert ending.exit is Exit.SUCCESS and lines == []
    [note] = w.notes
    assert note.startswith("the run's deployment log could not be read (Qovery answered 503")
    assert note.endswith("its state is still watched")


async def test_the_follower_waits_as_its_face_says_between_reads() -> None:
    async with watched() as w:
        asked: list[float] = []

        def next_wait() -> float:  # the face's schedule: asked once per wait, moving the run on
            asked.append(w.clock.now)
            w.clock.advance(1.5)
            return 0.0

        lines: list[LogLine] = []
        follower = LogFollower(
            w.reads, CRON_JOB, on_line=lines.append, on_note=w.notes.append, interval_s=next_wait
        )
        await w.act("deploy", CRON_JOB)
        follower.start(w.sim.job(CRON_JOB).execution_id or "")
        await follower.finish(grace_s=30)
    assert asked == [0.0, 1.5, 3.0]  # read at 0, 1.5, 3 (in progress), 4.5: settled, the follower ended
    assert lines[-1].step == "Deployed" and w.notes == []
