"""`qjob-tui logs JOB [--run EXECUTION_ID] [--follow]`: the deployment log of a job's run.

The lines are the core's (`JobReads.logs`, `JobReads.follow`): the job's own lines of its environment's log for
that execution, errors with their hint. Without `--follow`, what has been written so far; with it, each new
line as it comes, until the run settles.
"""

from __future__ import annotations

from qjob_tui.oneshot.arguments import OPTION_OF_FIELD, LogsArgs
from qjob_tui.oneshot.jobref import JobFinder, JobNotFound
from qjob_tui.oneshot.report import Reporter
from qjob_tui.oneshot.results import Ending, Exit, ending_of_error, ending_of_refusal, exit_for_signal
from qjob_tui.oneshot.stopping import Interrupted, StopSignals
from qjob_tui.pipeline import ActionRefused
from qjob_tui.qovery import QoveryError
from qjob_tui.reads import JobReads
from qjob_tui.runtime import Runtime


async def run_logs(runtime: Runtime, args: LogsArgs, reporter: Reporter, stop: StopSignals) -> Ending:
    try:
        job_id = await stop.guard(JobFinder(runtime.board, runtime.client).find(args.job))
        reporter.subject.job = job_id
        known = runtime.board.get(job_id)
        reporter.subject.label = known.name if known else None
        if args.follow:
            return await stop.guard(follow(runtime.reads, job_id, args.run, reporter))
        log = await stop.guard(runtime.reads.logs(job_id, args.run))
    except JobNotFound as exc:
        return exc.ending
    except ActionRefused as exc:
        return ending_of_refusal(exc, OPTION_OF_FIELD.get(exc.field or ""))
    except QoveryError as exc:
        return ending_of_error(exc)
    except Interrupted as exc:
        said = "stopped following; the run goes on in Qovery" if args.follow else "interrupted"
        return Ending(exit_for_signal(exc.signum), said)
    for line in log.lines:
        reporter.log(line)
    if log.execution_id is None:
        return Ending(Exit.SUCCESS, "the job has never run: there is no deployment log")
    if not log.settled:
        return Ending(Exit.SUCCESS, f"run {log.execution_id} is still going: --follow shows the rest")
    return Ending(Exit.SUCCESS)


async def follow(reads: JobReads, job_id: str, execution_id: str | None, reporter: Reporter) -> Ending:
    """Every line of the run, each once, until it settles (the core's follower ends then)."""
    lines = 0
    async for line in reads.follow(job_id, execution_id):
        reporter.log(line)
        lines += 1
    if lines == 0 and execution_id is None:
        return Ending(Exit.SUCCESS, "no deployment log: the job has never run, or its run wrote nothing")
    return Ending(Exit.SUCCESS)
