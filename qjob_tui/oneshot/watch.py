"""`--watch`: follow one job's state after Qovery accepted an action, until the run settles.

Each look is one `GET /job/{id}/status` (`JobReads.status`): for one job that is the cheapest read there is —
the board's poller would read the job's whole environment at the same pace, and every other configured
environment on `poll_interval_s` besides. Looks come fast at first and then
every `poll_interval_s` (`Schedule`), so that a short run is seen to its end quickly and a long one costs a
few requests a minute.

With `--logs` a `LogFollower` runs beside it (`JobReads.follow`: the run's lines as they appear, read on the
same schedule as the state), started once the run's execution id is known; the watch's end waits for its last lines, so that a failed run's error line
and hint come before the result. A log that cannot be read is said, and the state is still watched.

A settled state ends the watch only when it is the run's own: for a moment Qovery may still show the state
from before the action, and another caller may start a run right after ours ends, so a Status that names
another deployment request than the one accepted is not taken for this run's: the run's own row of the job's
history (`JobReads.runs`, by execution id) is read instead, at that look only. A look that fails (after the client's own retries) is tried again at the next
look and said on stderr; `FAILED_LOOKS_ALLOWED` in a row end the watch with exit 5 — never silently.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from qjob_tui.jobs import FAST_INTERVAL_S, is_settled
from qjob_tui.oneshot.results import Ending, Exit, ending_of_error, ending_of_state
from qjob_tui.pipeline import ActionRefused
from qjob_tui.qovery import QoveryError, QoveryHTTPError
from qjob_tui.reads import FOLLOW_INTERVAL_S, JobReads, LogLine

FAILED_LOOKS_ALLOWED = 3
FAST_FOR_S = 30.0  # a run's first moments (queued, starting) are watched closely; then poll_interval_s
FINISH_GRACE_S = 10.0  # how long a settled run's last log lines are waited for


@dataclass(frozen=True)
class Schedule:
    """When to look: every `fast_s` for the first `fast_for_s` seconds, then every `every_s`."""

    every_s: float
    fast_s: float = FAST_INTERVAL_S
    fast_for_s: float = FAST_FOR_S

    def wait_after(self, elapsed_s: float) -> float:
        """How long to wait before the next look, `elapsed_s` into the watch."""
        return min(self.fast_s, self.every_s) if elapsed_s < self.fast_for_s else self.every_s


class RunWatch:
    """Watches one job's run from its accepted Status until it settles, the time is up, or the reads fail."""

    def __init__(
        self,
        reads: JobReads,
        job_id: str,
        accepted: dict[str, Any],
        *,
        schedule: Schedule,
        on_state: Callable[[str], None],
        on_note: Callable[[str], None],
        on_run: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.reads = reads
        self.job_id = job_id
        self.schedule = schedule
        self.on_state = on_state
        self.on_note = on_note
        self.on_run = on_run
        self.clock = clock
        self.sleep = sleep
        state = accepted.get("state")
        self.state: str | None = state if isinstance(state, str) else None
        request = accepted.get("deployment_request_id")
        self.request_id: str | None = request if isinstance(request, str) else None
        execution = accepted.get("execution_id")
        self.execution_id: str | None = execution if isinstance(execution, str) else None
        self.looks = 0  # status reads asked for

    async def until_settled(self, timeout_s: float) -> Ending:
        """Look until the run settles (its ending), or `timeout_s` has passed (exit 4), or looks keep failing."""
        start = self.clock()
        deadline = start + timeout_s
        failures = 0
        if self.execution_id is not None and self.on_run is not None:
            self.on_run(self.execution_id)
        while deadline - self.clock() > 0:
            wait = self.schedule.wait_after(self.clock() - start)
            await self.sleep(min(wait, deadline - self.clock()))
            remaining = deadline - self.clock()
            if remaining <= 0:
                break
            self.looks += 1
            try:
                async with asyncio.timeout(remaining):
                    state = await self._look()
            except TimeoutError:
                break
            except QoveryError as exc:
                if isinstance(exc, QoveryHTTPError) and exc.status < 500 and exc.status != 429:
                    ending = ending_of_error(exc)  # Qovery refuses to show the job: no use asking again
                    return Ending(ending.exit, ending.message, self.state, ending.http_status)
                failures += 1
                if failures >= FAILED_LOOKS_ALLOWED:
                    return Ending(
                        Exit.UNREACHABLE,
                        f"the job's state could not be read {failures} times in a row ({exc.message}); "
                        f"the run goes on in Qovery, its last known state {self.state or 'unknown'}",
                        self.state,
                        getattr(exc, "status", None),
                    )
                self.on_note(
                    f"the job's state could not be read ({exc.message}); trying again "
                    f"({failures} of {FAILED_LOOKS_ALLOWED} tries)"
                )
                continue
            failures = 0
            if state is None:
                continue  # nothing known of the run yet
            if state != self.state:
                self.state = state
                self.on_state(state)
            if is_settled(state):
                return ending_of_state(state)
        return Ending(
            Exit.TIMEOUT,
            f"gave up watching after {timeout_s:g} s; the run goes on in Qovery, last seen {self.state or 'unknown'}",
            self.state,
        )

    async def _look(self) -> str | None:
        """The run's state now, from the job's Status (None: the Status says nothing of this run yet)."""
        status = await self.reads.status(self.job_id)
        request = status.get("deployment_request_id")
        if self.request_id is not None and isinstance(request, str) and request != self.request_id:
            # Another deployment's Status: the one before ours, still shown for a moment, or one that started
            # after ours ended. The run's own row of the job's history tells which.
            return await self._state_in_history()
        execution = status.get("execution_id")
        if self.execution_id is None and isinstance(execution, str):
            self.execution_id = execution  # the accepted answer did not say; the run's own Status does
            if self.on_run is not None:
                self.on_run(execution)
        state = status.get("state")
        return state if isinstance(state, str) else None

    async def _state_in_history(self) -> str | None:
        """The run's state in the job's runs (`deploymentHistoryV2`), by its execution id, when it is there."""
        if self.execution_id is None:
            return None
        runs = await self.reads.runs(self.job_id)
        run = next((run for run in runs if run.execution_id == self.execution_id), None)
        return run.state if run is not None else None


class LogFollower:
    """A run's deployment log lines as they appear, told one by one, in a task beside the state watch."""

    def __init__(
        self,
        reads: JobReads,
        job_id: str,
        *,
        on_line: Callable[[LogLine], None],
        on_note: Callable[[str], None],
        interval_s: float | Callable[[], float] = FOLLOW_INTERVAL_S,
    ) -> None:
        self.reads = reads
        self.job_id = job_id
        self.on_line = on_line
        self.on_note = on_note
        self.interval_s = interval_s
        self._task: asyncio.Task[None] | None = None

    def start(self, execution_id: str) -> None:
        """Follow that run (once)."""
        if self._task is None:
            self._task = asyncio.create_task(self._follow(execution_id), name="qjob-tui log follower")

    async def _follow(self, execution_id: str) -> None:
        try:
            async for line in self.reads.follow(self.job_id, execution_id, interval_s=self.interval_s):
                self.on_line(line)
        except (QoveryError, ActionRefused) as exc:
            message = exc.message if isinstance(exc, QoveryError) else exc.detail
            self.on_note(
                f"the run's deployment log could not be read ({message}); its state is still watched"
            )

    async def finish(self, grace_s: float = FINISH_GRACE_S) -> None:
        """Let the follower take the run's last lines (it ends when the run has settled), then stop it."""
        if self._task is None:
            return
        done, _ = await asyncio.wait({self._task}, timeout=grace_s)
        if not done:
            self.on_note(
                "the run's last deployment log lines did not come in time; `qjob-tui logs` shows them"
            )
        await self.stop()

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
