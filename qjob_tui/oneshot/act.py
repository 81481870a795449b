"""One action on one job from the command line: find the job, check, ask (a destructive action), send, watch.

Every step before the send costs Qovery nothing it need not: a refusal (read-only, no `--yes` off a
terminal) comes before the runtime is even opened, bad input before any action request. The action goes
through the pipeline like every face's (validation, allowlist, audit line with source `cli`). A signal before
the send stops the command with nothing sent; during the send it waits for Qovery's answer (the action is
then sent, and said so); while watching, it ends the watch and leaves the run to Qovery.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import TextIO

from qjob_tui.actions import JobAction
from qjob_tui.config import Settings
from qjob_tui.jobs import is_settled
from qjob_tui.lines import is_terminal, printable
from qjob_tui.oneshot.arguments import OPTION_OF_FIELD, ActionArgs
from qjob_tui.oneshot.jobref import JobFinder, JobNotFound
from qjob_tui.oneshot.report import Reporter
from qjob_tui.oneshot.results import Ending, Exit, ending_of_outcome, ending_of_refusal, exit_for_signal
from qjob_tui.oneshot.stopping import Interrupted, StopSignals
from qjob_tui.oneshot.watch import LogFollower, RunWatch, Schedule
from qjob_tui.pipeline import READ_ONLY_DETAIL, ActionOutcome, ActionRefused
from qjob_tui.runtime import Runtime

ACCEPTED = 202  # the answer that starts a run; any other success (200, 204) has nothing to follow
SETTLED = (Exit.SUCCESS, Exit.FAILED)  # the watch's ends at which the run is over, its log complete


def refusal_before_start(args: ActionArgs, settings: Settings, stdin: TextIO) -> Ending | None:
    """What refuses the command before anything is opened or sent: read-only (`--read-only` or the config's
    `server.read_only`; the pipeline would refuse it too, after finding the job), or no `--yes` off a
    terminal."""
    action = args.action
    if args.read_only or settings.config.server.read_only:
        return Ending(Exit.USAGE, f"read-only: {READ_ONLY_DETAIL}; nothing was sent")
    if action.destructive and not args.yes and not is_terminal(stdin):
        return Ending(
            Exit.USAGE,
            f"{action.name} asks first, and stdin is not a terminal: pass --yes to {action.name} "
            "from a script; nothing was sent",
        )
    return None


async def run_action(
    runtime: Runtime, args: ActionArgs, reporter: Reporter, stop: StopSignals, stdin: TextIO
) -> Ending:
    """The action command inside an open runtime."""
    action = args.action
    finder = JobFinder(runtime.board, runtime.client)
    try:
        job_id = await stop.guard(finder.find(args.job))
        reporter.subject.job = job_id
        known = runtime.board.get(job_id)
        reporter.subject.label = known.name if known else None
        request = runtime.pipeline.prepare(action, job_id, args.force_event, args.body, source="cli")
        if action.destructive and not args.yes:
            question = _question(action, reporter.subject.shown, job_id)
            if not await stop.guard(ask(question, stdin, reporter.stderr)):
                return Ending(Exit.REFUSED, "not confirmed; nothing was sent")
    except JobNotFound as exc:
        return exc.ending
    except ActionRefused as exc:
        return ending_of_refusal(exc, OPTION_OF_FIELD.get(exc.field or ""))
    except Interrupted as exc:
        return Ending(exit_for_signal(exc.signum), "interrupted; nothing was sent")

    outcome = await runtime.pipeline.run(request)  # a signal now waits for Qovery's answer
    reporter.accepted(outcome)
    if outcome.audit_error:
        reporter.note(outcome.audit_error)
    ending = ending_of_outcome(outcome)
    if not args.watch or not ending.ok:
        return ending
    if outcome.status != ACCEPTED:
        return Ending(Exit.SUCCESS, "done: Qovery started no run to follow", ending.state, outcome.status)
    if stop.signum is not None:
        return _stopped_watching(stop.signum, outcome, ending.state)
    return await watch_run(runtime, args, reporter, stop, outcome)


async def watch_run(
    runtime: Runtime, args: ActionArgs, reporter: Reporter, stop: StopSignals, outcome: ActionOutcome
) -> Ending:
    """`--watch` (and `--logs`) after Qovery accepted the action: until the run settles, the time is up, a
    signal, or the state cannot be read."""
    job_id = outcome.request.job_id
    accepted = outcome.data if isinstance(outcome.data, dict) else {}
    schedule = Schedule(every_s=runtime.settings.config.qovery.poll_interval_s)
    started = time.monotonic()
    follower = (
        LogFollower(
            runtime.reads,
            job_id,
            on_line=reporter.log,
            on_note=reporter.note,
            interval_s=lambda: schedule.wait_after(time.monotonic() - started),  # the log as the state
        )
        if args.logs
        else None
    )
    settled_states: list[tuple[str, float]] = []

    def tell_state(state: str) -> None:
        if follower is not None and is_settled(state):  # told after the run's last log lines, not amid them
            settled_states.append((state, time.time()))
        else:
            reporter.state(state)

    watch = RunWatch(
        runtime.reads,
        job_id,
        accepted,
        schedule=schedule,
        on_state=tell_state,
        on_note=reporter.note,
        on_run=follower.start if follower is not None else None,
    )
    if watch.state is not None:
        reporter.state(watch.state)
    try:
        ending = await stop.guard(watch.until_settled(args.timeout_s))
        if follower is not None and ending.exit in SETTLED:
            await stop.guard(follower.finish())  # the run's last lines before its result
        for state, at in settled_states:
            reporter.state(state, at)
    except Interrupted as exc:
        return _stopped_watching(exc.signum, outcome, watch.state)
    finally:
        if follower is not None:
            await follower.stop()
    if ending.ok:
        return Ending(Exit.SUCCESS, f"{ending.state} after {time.monotonic() - started:.0f} s", ending.state)
    return ending


def _stopped_watching(signum: int, outcome: ActionOutcome, state: str | None) -> Ending:
    request = outcome.deployment_request_id
    sent = f"{outcome.request.action.name} was accepted by Qovery" + (
        f" (deployment request {request})" if request else ""
    )
    return Ending(
        exit_for_signal(signum),
        f"stopped watching; {sent} and its run goes on in Qovery, last seen {state or 'unknown'}",
        state,
    )


def _question(action: JobAction, shown: str, job_id: str) -> str:
    who = shown if shown == job_id else f"{shown} ({job_id})"
    warning = f" {action.warning}" if action.warning else ""
    return printable(f"{action.title} {who}?{warning}") + " [y/N] "


async def ask(question: str, stdin: TextIO, out: TextIO) -> bool:
    """Ask on a terminal; True for y or yes. Waits in the event loop, so that a signal still interrupts it."""
    out.write(question)
    out.flush()
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[bytes] = loop.create_future()
    fd = stdin.fileno()

    def readable() -> None:
        if not answer.done():
            answer.set_result(os.read(fd, 4096))  # a terminal hands over a whole line at Enter

    loop.add_reader(fd, readable)
    try:
        reply = await answer
    finally:
        loop.remove_reader(fd)
    if not reply:  # end of input: no answer is no
        out.write("\n")
        return False
    return reply.decode(errors="replace").strip().lower() in {"y", "yes"}
