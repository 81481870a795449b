"""The deployment log: which lines each run writes, and when, in its environment's log.

A run's lines are computed from the run, never stored: each line is anchored to an instant of its run
(when it was queued, or when it was cut short) with an offset, and it is visible once the clock has gone
that far past its anchor. The comparisons are the ones `Run.phase` makes, so a line that says a phase
began is there exactly when the job's state says so, and the last line of a run appears with its
settled state.

The lines of one run of a job (transmitter: the job), with `q` = `queued_s`, `r` = `running_s` (both
`phase_s` for a run an action starts) and `n` lines in progress, at offsets from when it was queued:

- at 0, step LoadConfiguration: 1 line, the request is queued;
- at q + r*k/n (k = 0..n-1), in progress: a deploy writes 3 lines (steps Build, Build, Built) for a job
  built from git or 1 (Deploy, pulling the image) otherwise, then 3 more (Deploy: the CronJob or the
  Kubernetes job; Executing: it runs; Executing: waiting for it); a stop 2 (Pause), an uninstall 2 (Delete);
- at q + r, with the settled state: 1 line (Deployed, Paused or Deleted), or for a failed deploy an
  `error` line (step DeployedError, `message` null) with `user_log_message`, `hint_message` and `link`;
- a canceled run writes no line due after the cancel, but 1 when the cancel arrives (Cancel) and 1 when it
  is done, `phase_s` later (Cancelled).

Each execution also has lines of its environment (transmitter: the environment): one when it is queued,
one when its first run starts, and one when its last run settles. Lines of one instant keep the order
above (the environment's first, except at the end).
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from qjob_tui.simulator.dataset import EnvironmentSpec
from qjob_tui.simulator.jobs import DEPLOY, DEPLOYMENT_ERROR, STOP, UNINSTALL, Run, SimJob

#: The most lines one answer of `GET /environment/{environmentId}/logs` holds (Qovery: "the last 1000").
LOG_LIMIT = 1000

#: The deployment stage every simulated job belongs to (Qovery's default stage for jobs).
JOB_STAGE = "JOB DEFAULT"

#: Where a failed job's error line points (Qovery's troubleshooting guide).
TROUBLESHOOT_LINK = "https://hub.qovery.com/docs/using-qovery/troubleshoot/"

LineType = Literal["info", "warning", "error"]

# Namespace of the stage ids (uuid5 of the environment and the stage name: stable across runs).
_STAGE_NAMESPACE = uuid.UUID("1c0de9a4-5f3b-4e7d-a2c6-8b9f0e1d2a3c")


def stage_id(environment_id: str) -> str:
    """The id of the environment's job stage."""
    return str(uuid.uuid5(_STAGE_NAMESPACE, f"{environment_id}/{JOB_STAGE}"))


@dataclass(frozen=True)
class LogLine:
    """One `EnvironmentLogs` line before it becomes JSON: who wrote it, when, and what it says."""

    anchor: float  # the clock value the line's offset counts from
    offset: float
    order: int  # its place among the lines of its execution that share an instant
    execution_id: str
    transmitter: SimJob | EnvironmentSpec
    step: str
    type: LineType = "info"
    message: str | None = None
    full_details: str | None = None
    error: dict[str, Any] | None = None

    @property
    def at(self) -> float:
        """The clock value the line was written at."""
        return self.anchor + self.offset

    def visible(self, now: float) -> bool:
        """Whether the line has been written by `now`."""
        return now - self.anchor >= self.offset


@dataclass(frozen=True)
class Execution:
    """One deployment of an environment: the runs of its jobs that share an execution id."""

    execution_id: str
    environment: EnvironmentSpec
    runs: tuple[tuple[SimJob, Run], ...]

    @property
    def starts_at(self) -> float:
        """When its first run was queued."""
        return min(run.queued_at for _, run in self.runs)

    @property
    def ends_at(self) -> float:
        """When its last run settles (or settled)."""
        return max(run.ends_at for _, run in self.runs)


def executions(environment: EnvironmentSpec, jobs: Iterable[SimJob]) -> list[Execution]:
    """Every execution of the environment's jobs that they still remember, oldest first."""
    grouped: dict[str, list[tuple[SimJob, Run]]] = {}
    for job in jobs:
        for run in job.runs:
            grouped.setdefault(run.execution_id, []).append((job, run))
    found = [Execution(execution_id, environment, tuple(runs)) for execution_id, runs in grouped.items()]
    # Executions queued at the same instant in the order they were accepted, not by their (random) ids.
    found.sort(key=lambda execution: (execution.starts_at, min(run.sequence for _, run in execution.runs)))
    return found


def environment_log(found: Sequence[Execution], version: str | None, now: float) -> list[LogLine]:
    """The deployment log for `version` (an execution id; None: the latest), as of `now`.

    `found` is the environment's executions, oldest first (see `executions`).

    That is every line the environment's executions wrote from the moment that execution was queued until
    it settled (or until now): its own lines, and those of any other run of the environment that ran
    meanwhile, so a reader keeps the lines of its job and execution. The last LOG_LIMIT lines, oldest first;
    [] for an execution the environment does not have.
    """
    if not found:
        return []
    if version is None:
        wanted = found[-1]
    else:
        matches = [execution for execution in found if execution.execution_id == version]
        if not matches:
            return []
        wanted = matches[0]
    start = wanted.starts_at
    # While it runs, what is visible bounds it: comparing instants to `now` could round differently.
    settled = all(run.phase(now) == "settled" for _, run in wanted.runs)
    end = wanted.ends_at if settled else float("inf")
    lines = []
    for rank, execution in enumerate(found):
        if execution.ends_at < start or execution.starts_at > end:
            continue
        for line in execution_lines(execution):
            if line.visible(now) and start <= line.at <= end:
                lines.append((line.at, rank, line.order, line))
    lines.sort(key=lambda entry: entry[:3])
    return [line for *_, line in lines[-LOG_LIMIT:]]


def execution_lines(execution: Execution) -> list[LogLine]:
    """Every line the execution writes, visible or not yet."""
    first = min((run for _, run in execution.runs), key=lambda run: run.queued_at)
    last = max((run for _, run in execution.runs), key=lambda run: run.ends_at)
    env = execution.environment
    names = ", ".join(job.name for job, _ in execution.runs)
    order = itertools.count()
    lines = [
        LogLine(
            first.queued_at,
            0.0,
            next(order),
            execution.execution_id,
            env,
            "LoadConfiguration",
            message=f"Deployment {execution.execution_id} of environment {env.name} queued: "
            f"{_what(first)} of {names}",
        )
    ]
    if _written(first, first.queued_at, first.queued_s):
        started = f"Environment {env.name}: deployment started on cluster {env.cluster_name}"
        step = _step(first, "start")
        lines.append(
            LogLine(
                first.queued_at,
                first.queued_s,
                next(order),
                execution.execution_id,
                env,
                step,
                message=started,
            )
        )
    for job, run in execution.runs:
        lines += _run_lines(job, run, execution.execution_id, order)
    anchor, offset = _end_anchor(last)
    duration = _seconds(last.ends_at - first.queued_at)
    failed = [job.name for job, run in execution.runs if run.outcome == DEPLOYMENT_ERROR]
    kind: LineType = "info"
    if any(run.canceled for _, run in execution.runs):
        step, outcome = "Cancelled", f"canceled after {duration}"
    elif failed:
        step, outcome, kind = (
            "DeployedError",
            f"failed after {duration} ({', '.join(failed)} failed)",
            "warning",
        )
    else:
        step, outcome = _step(last, "done"), f"done in {duration}"
    message = f"Environment {env.name}: deployment {outcome}"
    lines.append(LogLine(anchor, offset, next(order), execution.execution_id, env, step, kind, message))
    return lines


def _run_lines(job: SimJob, run: Run, execution_id: str, numbers: Iterator[int]) -> list[LogLine]:
    def line(anchor: float, offset: float, step: str, **fields: Any) -> LogLine:
        return LogLine(anchor, offset, next(numbers), execution_id, job, step, **fields)

    queued = f"{_what(run).capitalize()} of job {job.name} queued (deployment request {run.request_id})"
    lines = [line(run.queued_at, 0.0, "LoadConfiguration", message=queued)]
    progress = _progress(job, run)
    for index, (step, message, full_details) in enumerate(progress):
        offset = run.queued_s + run.running_s * index / len(progress)
        if _written(run, run.queued_at, offset):
            lines.append(line(run.queued_at, offset, step, message=message, full_details=full_details))
    if run.ended_early_at is not None:
        if run.canceled:
            cancel = f"Cancel requested: stopping the deployment of job {job.name}"
            lines.append(line(run.ended_early_at, 0.0, "Cancel", message=cancel))
            done = f"Deployment of job {job.name} canceled"
            lines.append(line(run.ended_early_at, run.ending_s, "Cancelled", message=done))
        return lines
    end = run.queued_s + run.running_s
    if run.outcome == DEPLOYMENT_ERROR:
        lines.append(line(run.queued_at, end, "DeployedError", type="error", error=_failure(job, run)))
    else:
        lines.append(line(run.queued_at, end, _step(run, "done"), message=_done(job, run)))
    return lines


def _progress(job: SimJob, run: Run) -> list[tuple[str, str, str | None]]:
    """The in-progress lines of a run: (step, safe message, full details)."""
    spec = job.spec
    name = job.name
    kubernetes_job = job.kubernetes_job_name(run.request_id)
    if run.kind is STOP:
        hook = spec.job_type == "LIFECYCLE" and "STOP" in spec.lifecycle_events
        first = f"Running the STOP hook of job {name}" if hook else f"Suspending the schedule of job {name}"
        return [("Pause", first, None), ("Pause", f"Waiting for the pods of job {name} to end", None)]
    if run.kind is UNINSTALL:
        hook = spec.job_type == "LIFECYCLE" and "DELETE" in spec.lifecycle_events
        first = f"Running the DELETE hook of job {name}" if hook else f"Removing the schedule of job {name}"
        return [("Delete", first, None), ("Delete", f"Deleting the Kubernetes resources of job {name}", None)]
    lines: list[tuple[str, str, str | None]] = []
    if spec.git_url is not None:
        commit = run.git_commit_id
        lines += [
            (
                "Build",
                f"Cloning {spec.git_url} at {commit[:12]} (branch {spec.git_branch}) for job {name}",
                None,
            ),
            (
                "Build",
                f"Building the image of job {name} from Dockerfile",
                f"docker build -f Dockerfile . ({commit})",
            ),
            ("Built", f"Image of job {name} built and pushed to the cluster's registry", None),
        ]
    else:
        image = f"{spec.image_name}:{run.image_tag}"
        lines.append(
            (
                "Deploy",
                f"Pulling image {image} for job {name}",
                f"registry Docker Hub (https://docker.io), image {image}",
            )
        )
    if spec.job_type == "CRON":
        install = f"Installing CronJob {kubernetes_job}: schedule '{spec.scheduled_at}' ({spec.timezone})"
    else:
        event = run.force_event or spec.lifecycle_events[0]
        install = f"Creating Kubernetes job {kubernetes_job} for the {event} event"
    command = " ".join([spec.entrypoint or "(image entrypoint)", *spec.arguments])
    lines += [
        ("Deploy", install, None),
        ("Executing", f"Job {name} is running: {command}", None),
        ("Executing", f"Waiting for job {name} to complete (at most 300s)", None),
    ]
    return lines


def _done(job: SimJob, run: Run) -> str:
    if run.kind is STOP:
        return f"Job {job.name} stopped"
    if run.kind is UNINSTALL:
        return f"Job {job.name} deleted"
    return f"Job {job.name} completed successfully (exit code 0)"


def _failure(job: SimJob, run: Run) -> dict[str, Any]:
    """The `error` of a failed deploy's last line."""
    kubernetes_job = job.kubernetes_job_name(run.request_id)
    return {
        "tag": "JOB_FAILURE",
        "user_log_message": f"Job {job.name} failed: its container exited with code 1",
        "link": TROUBLESHOOT_LINK,
        "hint_message": (
            f"Read the output of job {job.name} in the Qovery console, fix its arguments or environment variables, "
            "then deploy it again; clean the failed job to remove what the run left behind."
        ),
        "underlying_error": {
            "message": "Job has reached the specified backoff limit",
            "full_details": f"Kubernetes job {kubernetes_job}: container exited with code 1 after 1 attempt "
            "(reason BackoffLimitExceeded)",
        },
    }


def _what(run: Run) -> str:
    return {DEPLOY.action: "deployment", STOP.action: "stop", UNINSTALL.action: "deletion"}[run.kind.action]


def _step(run: Run, moment: Literal["start", "done"]) -> str:
    """The engine's EnvironmentStep name of a run's start or successful end."""
    steps = {
        DEPLOY.action: ("Deploy", "Deployed"),
        STOP.action: ("Pause", "Paused"),
        UNINSTALL.action: ("Delete", "Deleted"),
    }
    start, done = steps[run.kind.action]
    return start if moment == "start" else done


def _written(run: Run, anchor: float, offset: float) -> bool:
    """Whether a line of the run's normal course is written: not when the run was cut short before it."""
    if run.ended_early_at is None:
        return True
    return run.ended_early_at - anchor >= offset


def _end_anchor(run: Run) -> tuple[float, float]:
    """The anchor and offset of the instant a run settles, compared the way `Run.phase` compares."""
    if run.ended_early_at is not None:
        return run.ended_early_at, run.ending_s
    return run.queued_at, run.queued_s + run.running_s


def _seconds(duration: float) -> str:
    return f"{duration:.0f}s" if duration >= 10 else f"{duration:.1f}s"
