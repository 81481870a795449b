"""`qjob-tui --serve`: the REST and MCP servers and the job poller, until SIGINT/SIGTERM.

stderr gets one start line (URLs, DEMO or the API URL, never the token) and one line per action:
time, source, action, job, status, duration. On a signal the servers stop accepting, requests in flight
are answered, the audit log is flushed, and the exit code is 0. A second signal gives up on the requests.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import TextIO

from qjob_tui import __version__
from qjob_tui.approvals import OPERATOR_COMMAND
from qjob_tui.config import ConfigError
from qjob_tui.lines import (
    PROGRAM,
    LinePrinter,
    Repeat,
    Repeats,
    action_line,
    iso_utc,
    note_line,
    refusal_line,
    repeats_text,
)
from qjob_tui.pipeline import Refusal
from qjob_tui.runtime import Runtime
from qjob_tui.server.openapi import REST_PREFIX
from qjob_tui.server.serving import RelayServers
from qjob_tui.signals import STOP_SIGNALS, on_signals


def start_line(runtime: Runtime, servers: RelayServers) -> str:
    jobs = jobs_summary(runtime)
    token = (
        "inbound token required"
        if runtime.settings.server_token is not None
        else "no inbound token (loopback)"
    )
    return (
        f"{PROGRAM} {__version__} serving REST {servers.rest_url}{REST_PREFIX} and MCP {servers.mcp_url} "
        f"against {shown_api(runtime)}; {read_only_note(runtime)}{jobs}; {token};{gated_note(runtime)} audit {runtime.audit.path}; "
        "Ctrl+C to stop"
    )


def read_only_note(runtime: Runtime) -> str:
    """What a start line says of read-only mode (nothing when it is off)."""
    return "READ-ONLY (acts on nothing); " if runtime.read_only else ""


def jobs_summary(runtime: Runtime) -> str:
    """What the relay acts on, for a start line: `7 jobs + the jobs of 2 environments`."""
    board = runtime.board
    known = [f"{len(board.jobs)} job{'s' if len(board.jobs) != 1 else ''}"] if board.jobs else []
    if board.environments:
        count = len(board.environments)
        known.append(f"the jobs of {count} environment{'s' if count != 1 else ''}")
    return " + ".join(known) or "no jobs"


def gated_note(runtime: Runtime) -> str:
    """What server.approve gates, and that without a dashboard those actions are refused."""
    gated = [action.name for action in runtime.actions if action.name in runtime.approvals.actions]
    if not gated:
        return ""
    needs, are = ("needs", "is") if len(gated) == 1 else ("need", "are")
    return f" {', '.join(gated)} {needs} the operator's approval and {are} refused here (run {OPERATOR_COMMAND});"


def shown_api(runtime: Runtime) -> str:
    return "DEMO (embedded Qovery simulator)" if runtime.demo else runtime.api_label


async def unless_stopped(work: Awaitable[None], stop: asyncio.Event) -> bool:
    """Await `work` unless `stop` is set first, then cancel it; True when `work` ended (its error raised)."""
    task = asyncio.ensure_future(work)
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
    if task.done():
        task.result()
        return True
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return False


class RefusalLines:
    """One stderr line per refused request, with why; an identical refusal within REPEAT_WINDOW_S is counted,
    and said once when its window has passed (`... x12 in 10 s`), so that a flood cannot drown the log."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self.say = say
        self.repeats = Repeats()

    def __call__(self, refusal: Refusal) -> None:
        line = refusal_line(refusal)
        if self.repeats.seen(line.split(" ", 1)[1]) is None:  # the same refusal, whenever it came
            self.say(line)

    def tick(self) -> None:
        self._say(self.repeats.ended())

    def flush(self) -> None:
        self._say(self.repeats.flush())

    def _say(self, ended: list[tuple[Hashable, Repeat]]) -> None:
        for text, repeat in ended:
            if repeat.count == 1:
                continue
            self.say(
                f"{iso_utc(time.time())} {text} {repeats_text(repeat.count, repeat.last_at - repeat.first_at)}"
            )

    async def tick_forever(self, every_s: float = 1.0) -> None:
        while True:
            await asyncio.sleep(every_s)
            self.tick()


async def serve_headless(
    runtime: Runtime, *, stop: asyncio.Event | None = None, stderr: TextIO | None = None
) -> int:
    """Serve until SIGINT/SIGTERM (or until `stop` is set); returns the exit code."""
    out = stderr or sys.stderr
    stop = stop or asyncio.Event()
    servers: RelayServers | None = None

    say = LinePrinter(out, runtime.redactor)  # no secret, no control character reaches the terminal

    def on_signal() -> None:
        if stop.is_set() and servers is not None:
            servers.force_stop()
        stop.set()

    lifecycle = runtime.lifecycle  # keeps the states fresh, so that GET /v1/jobs and list-jobs have them
    restore_signals = on_signals(STOP_SIGNALS, on_signal)
    refusals = RefusalLines(say)
    unsubscribe = [
        runtime.pipeline.subscribe(lambda outcome: say(action_line(outcome))),
        runtime.pipeline.subscribe_refusals(refusals),
        lifecycle.subscribe(lambda note: say(note_line(note.message))),
    ]
    ticking = asyncio.create_task(refusals.tick_forever(), name="qjob-tui refusal counts")
    try:
        # Learn the jobs of the configured environments before the ports open: a request that arrived
        # earlier would be refused as "not configured" for a job that is. A signal ends the wait at once.
        lifecycle.start()
        if await unless_stopped(lifecycle.discovered(), stop):
            async with RelayServers(
                runtime, log=lambda text: say(note_line(text)), operator=False
            ) as servers:
                try:
                    started = await unless_stopped(servers.wait_started(), stop)
                except RuntimeError as exc:
                    raise ConfigError(f"{exc}: {exc.__cause__}") from None
                if started:
                    say(start_line(runtime, servers))
                    for note in runtime.audit.notes:  # e.g. an audit file that had to be made private
                        say(note_line(note))
                    await stop.wait()
                await lifecycle.stop()
                say(note_line("stopping; answering the requests in flight"))
    finally:
        await lifecycle.stop()
        ticking.cancel()
        await asyncio.gather(ticking, return_exceptions=True)
        refusals.flush()
        for undo in unsubscribe:
            undo()
        restore_signals()
    runtime.audit.flush()
    say(note_line("stopped"))
    return 0
