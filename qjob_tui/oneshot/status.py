"""`qjob-tui status [JOB ...]`: the jobs with their states, as a table or one JSON object per job.

Without JOB: every job of the config (and of its environments), through the lifecycle's one discovery
(names, then one status request per environment). With JOBs: only theirs — one status request per
environment they are in, and one `GET /job/{id}/status` for a job whose environment is not known. A job
the config does not list is refused, as an action on it would be (exit 3), unless `allow_unlisted_jobs`.
"""

from __future__ import annotations

from qjob_tui.jobs import JobInfo
from qjob_tui.lifecycle import LifecycleNote
from qjob_tui.oneshot.arguments import StatusArgs
from qjob_tui.oneshot.jobref import JobFinder, JobNotFound
from qjob_tui.oneshot.report import Reporter
from qjob_tui.oneshot.results import (
    Ending,
    Exit,
    ending_of_error,
    ending_of_refusal,
    ending_of_unread,
    exit_for_signal,
)
from qjob_tui.oneshot.stopping import Interrupted, StopSignals
from qjob_tui.pipeline import ActionRefused
from qjob_tui.qovery import QoveryError
from qjob_tui.runtime import Runtime


async def run_status(runtime: Runtime, args: StatusArgs, reporter: Reporter, stop: StopSignals) -> Ending:
    try:
        if args.jobs:
            jobs = await stop.guard(named_jobs(runtime, args.jobs))
            problems: list[str] = []
        else:
            jobs, problems = await stop.guard(every_job(runtime))
    except JobNotFound as exc:
        return exc.ending
    except ActionRefused as exc:
        return ending_of_refusal(exc)
    except QoveryError as exc:
        return ending_of_error(exc)
    except Interrupted as exc:
        return Ending(exit_for_signal(exc.signum), "interrupted")
    reporter.jobs(jobs)
    for problem in problems:
        reporter.note(problem)
    if problems:
        said = f"{len(problems)} read(s) failed; the states shown may be missing or old"
        return ending_of_unread(said, runtime.lifecycle.discovery_errors)
    return Ending(Exit.SUCCESS)


async def every_job(runtime: Runtime) -> tuple[list[JobInfo], list[str]]:
    """Every listed job after one discovery, and what it could not read."""
    notes: list[LifecycleNote] = []
    unsubscribe = runtime.lifecycle.subscribe(notes.append)
    try:
        await runtime.lifecycle.discover()
    finally:
        unsubscribe()
    return [job for job in runtime.board.jobs.values() if job.listed], [note.message for note in notes]


async def named_jobs(runtime: Runtime, texts: tuple[str, ...]) -> list[JobInfo]:
    """The jobs named, in the order given (once each), with their states read now."""
    board = runtime.board
    finder = JobFinder(board, runtime.client)
    ids: list[str] = []
    for text in texts:
        job_id = await finder.find(text)
        runtime.pipeline.allowed_job(job_id)  # a read is checked like an action
        if job_id not in ids:
            ids.append(job_id)
    environments = sorted({job.environment for job in map(board.get, ids) if job and job.environment})
    if environments:
        await board.refresh(runtime.client, environments)
    shown = []
    for job_id in ids:
        job = board.get(job_id)
        if job is None or job.environment is None:
            status = await runtime.reads.status(job_id)  # the board takes it on, for a job it has
            job = board.get(job_id) or _unlisted(job_id, status)
        shown.append(job)
    return shown


def _unlisted(job_id: str, status: dict[str, object]) -> JobInfo:
    """A job the board does not hold (allow_unlisted_jobs), shown from its Status alone."""
    state, last = status.get("state"), status.get("last_deployment_date")
    return JobInfo(
        id=job_id,
        state=state if isinstance(state, str) else None,
        last_deployment=last if isinstance(last, str) else None,
        listed=False,
    )
