"""The simulated jobs, their runs, and the state machine that moves them through Qovery's states.

Time comes from an injected clock and states are computed when they are read, so a test that drives a
`ManualClock` sees exactly the states it expects, with no background task and no sleeping.

Every accepted action is a `Run` (one row of the job's `deploymentHistoryV2`, one execution in its
environment's deployment log) that goes through three equal phases of `phase_s` seconds: queued, in
progress, settled.

| action             | queued            | in progress | settled                                      |
|--------------------|-------------------|-------------|----------------------------------------------|
| deploy, redeploy   | DEPLOYMENT_QUEUED | DEPLOYING   | DEPLOYED, or DEPLOYMENT_ERROR if set to fail |
| stop               | STOP_QUEUED       | STOPPING    | STOPPED                                      |
| uninstall          | DELETE_QUEUED     | DELETING    | DELETED                                      |

A canceled run is CANCELING for one more `phase_s` from the moment it is canceled, then CANCELED, and so is
its job. A job that has never been deployed is READY. Cleaning a failed job removes the Kubernetes jobs
its failed runs left behind and puts it back in the state it had before the failed deploy (DEPLOYED for a
job that a dataset starts in DEPLOYMENT_ERROR, READY for one that was never deployed).
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from qjob_tui.simulator.dataset import DEMO_USER, JobSpec, RunSpec

# Namespace for the deployment request ids of a dataset's past runs (uuid5, stable across runs).
_INITIAL_REQUEST_NAMESPACE = uuid.UUID("5b7e3c1a-9d24-4f6b-8e0a-2c4d6f8a1b3e")
# Namespace for the request ids of the runs actions start: uuid5 of the job, its count of runs and the
# simulator's `Timing.seed`, so that a fixed `wall_start` repeats them and two simulators never share them.
_REQUEST_NAMESPACE = uuid.UUID("9e4f2b7d-3a61-4c08-b5d2-7f1e6a0c8d94")

#: How many runs a job remembers (its deploymentHistoryV2 serves at most these).
RUN_HISTORY = 100

#: Who a run started through the simulator's API was triggered by, and from where (OrganizationEventOrigin).
API_TRIGGERED_BY = DEMO_USER
API_ORIGIN = "API"


class ManualClock:
    """A clock that moves only when told: `Simulator(clock=ManualClock())`, then `advance()` it."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by `seconds`."""
        if seconds < 0:
            raise ValueError("a clock does not go back")
        self.now += seconds


class Timing:
    """The clock and phase length shared by all the jobs of one simulator, and how to show an instant.

    `wall_start` is the Unix time the clock's value at start stands for (default: now), so that a test
    can fix every date the simulator shows.
    """

    def __init__(self, clock: Callable[[], float], phase_s: float, wall_start: float | None = None) -> None:
        if phase_s < 0:
            raise ValueError("phase_s must not be negative")
        self.clock = clock
        self.phase_s = phase_s
        # Clock values are turned into wall-clock dates relative to the moment the simulator started.
        self.clock_origin = clock()
        self.wall_origin = time.time() if wall_start is None else wall_start
        #: what makes the ids of this simulator's new runs its own (fixed with `wall_start`)
        self.seed = uuid.uuid4().hex if wall_start is None else repr(wall_start)

    def wall(self, instant: float) -> float:
        """The Unix time of a clock value."""
        return self.wall_origin + (instant - self.clock_origin)

    def isoformat(self, instant: float) -> str:
        """The ISO 8601 UTC date-time of a clock value."""
        return datetime.fromtimestamp(self.wall(instant), UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class OperationKind:
    """One kind of action as the state machine sees it: its Qovery action name and its states."""

    action: str  # ServiceActionEnum
    queued: str
    running: str
    done: str


DEPLOY = OperationKind("DEPLOY", "DEPLOYMENT_QUEUED", "DEPLOYING", "DEPLOYED")
STOP = OperationKind("STOP", "STOP_QUEUED", "STOPPING", "STOPPED")
UNINSTALL = OperationKind("DELETE", "DELETE_QUEUED", "DELETING", "DELETED")
KINDS = {kind.action: kind for kind in (DEPLOY, STOP, UNINSTALL)}
DEPLOYMENT_ERROR = "DEPLOYMENT_ERROR"
CANCELING = "CANCELING"
CANCELED = "CANCELED"

# status_details (action, status) of each settled state.
_SETTLED_DETAILS = {
    "READY": ("DEPLOY", "NEVER"),
    "DEPLOYED": ("DEPLOY", "SUCCESS"),
    DEPLOYMENT_ERROR: ("DEPLOY", "ERROR"),
    "STOPPED": ("STOP", "SUCCESS"),
    "DELETED": ("DELETE", "SUCCESS"),
}

Phase = Literal["queued", "running", "ending", "settled"]


_RUN_SEQUENCE = itertools.count()


@dataclass
class Run:
    """One accepted action on a job, from the moment it was queued until it settles: a Qovery deployment.

    Times are clock values. The run waits `queued_s`, runs for `running_s`, then settles in its
    `outcome`, unless it is cut short: from `ended_early_at` it spends `ending_s` ending (CANCELING, for a
    cancel), then settles in `early_outcome`. Runs of one environment deployment share a `request_id`
    and an `execution_id`.
    """

    kind: OperationKind
    queued_at: float
    queued_s: float
    running_s: float
    fails: bool
    request_id: str
    execution_id: str
    previous_state: str
    triggered_by: str
    origin: str
    image_tag: str
    git_commit_id: str
    force_event: str | None = None
    ended_early_at: float | None = None
    ending_s: float = 0.0
    early_outcome: str = CANCELED
    # The order runs were made in: runs queued at the same instant (a burst under a still clock) keep it.
    sequence: int = field(default_factory=lambda: next(_RUN_SEQUENCE))

    def phase(self, instant: float) -> Phase:
        """Where the run is at `instant` (comparisons on elapsed time, the same ones the log lines use)."""
        if self.ended_early_at is not None and instant >= self.ended_early_at:
            return "ending" if instant - self.ended_early_at < self.ending_s else "settled"
        elapsed = instant - self.queued_at
        if elapsed < self.queued_s:
            return "queued"
        if elapsed < self.queued_s + self.running_s:
            return "running"
        return "settled"

    @property
    def ends_at(self) -> float:
        """The instant the run settles (or settled)."""
        if self.ended_early_at is not None:
            return self.ended_early_at + self.ending_s
        return self.queued_at + self.queued_s + self.running_s

    @property
    def canceled(self) -> bool:
        """Whether the run was canceled (it ends, or ended, CANCELED)."""
        return self.ended_early_at is not None and self.early_outcome == CANCELED

    @property
    def outcome(self) -> str:
        """The state the run settles in."""
        if self.ended_early_at is not None:
            return self.early_outcome
        if self.kind is DEPLOY and self.fails:
            return DEPLOYMENT_ERROR
        return self.kind.done

    def state_at(self, instant: float) -> str:
        """The run's state (a StateEnum value) at `instant`."""
        phase = self.phase(instant)
        if phase == "queued":
            return self.kind.queued
        if phase == "running":
            return self.kind.running
        if phase == "ending":
            return CANCELING
        return self.outcome

    def status_details_at(self, instant: float) -> tuple[str, str]:
        """Qovery's `status_details` (action, ServiceActionStatusEnum) of the run at `instant`."""
        phase = self.phase(instant)
        if phase == "queued":
            return self.kind.action, "QUEUED"
        if phase == "running":
            return self.kind.action, "ONGOING"
        if phase == "ending":
            return self.kind.action, CANCELING
        outcome = self.outcome
        if outcome == CANCELED:
            return self.kind.action, CANCELED
        return self.kind.action, "ERROR" if outcome == DEPLOYMENT_ERROR else "SUCCESS"

    def updated_at(self, instant: float) -> float:
        """When the run last changed phase, as seen at `instant`."""
        phase = self.phase(instant)
        if phase == "queued":
            return self.queued_at
        if phase == "running":
            return self.queued_at + self.queued_s
        if phase == "ending":
            assert self.ended_early_at is not None
            return self.ended_early_at
        return self.ends_at


class OperationInProgress(Exception):
    """An action arrived while another one is queued or running (Qovery answers 409)."""

    def __init__(self, job: SimJob, state: str) -> None:
        super().__init__(f"an operation is already in progress on job {job.name} ({job.id}): {state}")
        self.state = state


class NothingToCancel(Exception):
    """A cancel arrived for a run that is not queued or running (Qovery answers 409)."""


def execution_id_of(request_id: str, wall_time: float) -> str:
    """Qovery's execution id: the deployment request's UUID and the Unix second it started."""
    return f"{request_id}-{int(wall_time)}"


class SimJob:
    """The simulator's state of one job: what the dataset said, plus everything actions changed since."""

    def __init__(self, spec: JobSpec, timing: Timing) -> None:
        self.spec = spec
        self._timing = timing
        #: every deploy or redeploy ends in DEPLOYMENT_ERROR while this is set
        self.fails = spec.fails
        #: the next deploy or redeploy ends in DEPLOYMENT_ERROR, then this clears
        self.fail_next = spec.fail_next
        self.image_tag = spec.image_tag
        self.git_commit_id = spec.git_commit_id
        #: how many actions the simulator accepted for this job (202 answers)
        self.accepted_actions = 0
        self.last_force_event: str | None = None
        self._settled = spec.state
        self._runs: deque[Run] = deque(self._past_runs(), maxlen=RUN_HISTORY)
        self._active: Run | None = None
        self._deployed_once = spec.state != "READY"
        self._state_before_failure = "DEPLOYED"
        self._state_before_cancel = "READY"
        self._failed_kubernetes_jobs: list[str] = []
        if spec.state == DEPLOYMENT_ERROR:
            self._failed_kubernetes_jobs.append(self.kubernetes_job_name(self.deployment_request_id))

    def _past_runs(self) -> list[Run]:
        """The dataset's past runs of the job, oldest first, with stable request ids."""
        spec = self.spec
        past = spec.past_runs
        runs = []
        previous_state = "READY"
        for index in range(len(past) - 1, -1, -1):
            run_spec = past[index]
            runs.append(self._past_run(run_spec, index, previous_state))
            previous_state = run_spec.outcome
        return runs

    def _past_run(self, run_spec: RunSpec, index: int, previous_state: str) -> Run:
        spec = self.spec
        if run_spec.execution is not None:
            # One environment deployment: every job's run in it has the same request and execution.
            seed = f"{spec.environment_id}/{run_spec.execution}"
        else:
            # The newest run's id is the one the job's Status has always shown.
            seed = spec.id if index == 0 else f"{spec.id}/{index}"
        request_id = str(uuid.uuid5(_INITIAL_REQUEST_NAMESPACE, seed))
        queued_at = self._timing.clock_origin - run_spec.ago_s
        return Run(
            kind=KINDS[run_spec.action],
            queued_at=queued_at,
            queued_s=run_spec.queued_s,
            running_s=run_spec.running_s,
            fails=run_spec.failed,
            request_id=request_id,
            execution_id=execution_id_of(request_id, self._timing.wall(queued_at)),
            previous_state=previous_state,
            triggered_by=run_spec.triggered_by,
            origin=run_spec.origin,
            image_tag=spec.image_tag,
            git_commit_id=spec.git_commit_id,
        )

    @property
    def id(self) -> str:
        """The job's UUID."""
        return self.spec.id

    @property
    def name(self) -> str:
        """The job's name."""
        return self.spec.name

    @property
    def environment_id(self) -> str:
        """The UUID of the job's environment."""
        return self.spec.environment_id

    @property
    def state(self) -> str:
        """The job's state now, per the clock (a StateEnum value)."""
        run = self._current_operation()
        if run is None:
            return self._settled
        return run.state_at(self._timing.clock())

    @property
    def in_progress(self) -> bool:
        """Whether an action is queued or running (a new one would be refused with 409)."""
        return self._current_operation() is not None

    @property
    def status_details(self) -> tuple[str, str]:
        """Qovery's `status_details` (action, status) for the current state."""
        run = self._current_operation()
        if run is not None:
            return run.status_details_at(self._timing.clock())
        if self._settled == CANCELED and self._runs:
            return self._runs[-1].kind.action, CANCELED
        return _SETTLED_DETAILS.get(self._settled, ("UNKNOWN", "SUCCESS"))

    @property
    def service_deployment_status(self) -> str:
        """NEVER_DEPLOYED until a deploy succeeds; OUT_OF_DATE while deploying or after a failed deploy."""
        run = self._current_operation()
        if not self._deployed_once:
            return "NEVER_DEPLOYED"
        if (run is not None and run.kind is DEPLOY) or self._settled == DEPLOYMENT_ERROR:
            return "OUT_OF_DATE"
        return "UP_TO_DATE"

    @property
    def deployment_requests_count(self) -> int:
        """How many deployment requests are pending for this job: 1 while an action is in progress."""
        return 1 if self._current_operation() is not None else 0

    @property
    def _underlying_state(self) -> str:
        """The settled state, seen through a cancel: what the job was before the canceled run."""
        return self._state_before_cancel if self._settled == CANCELED else self._settled

    @property
    def has_something_deployed(self) -> bool:
        """False for a job that was never deployed or is uninstalled: uninstall then answers 204."""
        return self.in_progress or self._underlying_state not in ("READY", "DELETED")

    @property
    def is_stopped(self) -> bool:
        """Whether the job is settled with nothing running (STOPPED, READY, DELETED): a stop is refused."""
        return not self.in_progress and self._underlying_state in ("STOPPED", "READY", "DELETED")

    @property
    def active_run(self) -> Run | None:
        """The run queued or in progress (or being canceled), if any."""
        return self._current_operation()

    @property
    def runs(self) -> tuple[Run, ...]:
        """The job's runs, newest first (at most RUN_HISTORY)."""
        self._current_operation()
        return tuple(reversed(self._runs))

    @property
    def last_deployment_at(self) -> float | None:
        """Clock value of the last action accepted for this job (None if there never was one)."""
        return self._runs[-1].queued_at if self._runs else None

    @property
    def deployment_request_id(self) -> str | None:
        """The deployment request of the job's newest run (None if it never ran)."""
        return self._runs[-1].request_id if self._runs else None

    @property
    def execution_id(self) -> str | None:
        """The execution id of the job's newest run (None if it never ran)."""
        return self._runs[-1].execution_id if self._runs else None

    def last_deployment_date(self) -> str | None:
        """ISO date-time of the last action accepted for this job (None if there never was one)."""
        if self.last_deployment_at is None:
            return None
        return self._timing.isoformat(self.last_deployment_at)

    def start(
        self,
        kind: OperationKind,
        *,
        force_event: str | None = None,
        image_tag: str | None = None,
        git_commit_id: str | None = None,
        triggered_by: str = API_TRIGGERED_BY,
        origin: str = API_ORIGIN,
    ) -> Run:
        """Queue an action; raises `OperationInProgress` while another one is queued or running.

        A deploy's `image_tag` / `git_commit_id` become the job's configured version, as in Qovery.
        """
        current = self._current_operation()
        if current is not None:
            raise OperationInProgress(self, self.state)
        fails = False
        if kind is DEPLOY:
            fails = self.fails or self.fail_next
            self.fail_next = False
            if image_tag is not None:
                self.image_tag = image_tag
            if git_commit_id is not None:
                self.git_commit_id = git_commit_id
        now = self._timing.clock()
        seed = f"{self.id}/{self.accepted_actions}/{self._timing.seed}"
        request_id = str(uuid.uuid5(_REQUEST_NAMESPACE, seed))
        run = Run(
            kind=kind,
            queued_at=now,
            queued_s=self._timing.phase_s,
            running_s=self._timing.phase_s,
            fails=fails,
            request_id=request_id,
            execution_id=execution_id_of(request_id, self._timing.wall(now)),
            previous_state=self._settled,
            triggered_by=triggered_by,
            origin=origin,
            image_tag=self.image_tag,
            git_commit_id=self.git_commit_id,
            force_event=force_event,
        )
        self._active = run
        self._runs.append(run)
        self.accepted_actions += 1
        self.last_force_event = force_event
        # A phase of 0 settles at once, so that back-to-back actions (benchmarks) are never refused.
        self._current_operation()
        return run

    def cancel(self) -> Run:
        """Cancel the run in progress: CANCELING for one phase, then CANCELED.

        Raises `NothingToCancel` when no run is queued or running, or it is being canceled already.
        """
        run = self._current_operation()
        now = self._timing.clock()
        if run is None or run.phase(now) == "ending":
            raise NothingToCancel(f"job {self.name} ({self.id}) has no deployment in progress to cancel")
        run.ended_early_at = now
        run.ending_s = self._timing.phase_s
        run.early_outcome = CANCELED
        self._current_operation()
        return run

    def clean_failed(self) -> list[str]:
        """Remove what failed runs left behind; a settled failed job goes back to its state before the failure.

        Returns the names of the Kubernetes jobs removed ([] when there were none).
        """
        if self._current_operation() is not None:
            return []
        cleaned = self._failed_kubernetes_jobs
        self._failed_kubernetes_jobs = []
        if self._settled == DEPLOYMENT_ERROR:
            self._settled = self._state_before_failure
        return cleaned

    def settle(self, state: str) -> None:
        """Put the job in a settled `state` at once, cutting short any action in progress (for tests)."""
        run = self._active
        now = self._timing.clock()
        if run is not None and run.phase(now) != "settled":
            # The run ends now in that state, so that its history row and log agree with the job.
            run.ended_early_at = now
            run.ending_s = 0.0
            run.early_outcome = state
        self._active = None
        if state == DEPLOYMENT_ERROR and self._settled != DEPLOYMENT_ERROR:
            self._state_before_failure = self._settled
            self._failed_kubernetes_jobs.append(self.kubernetes_job_name(self.deployment_request_id))
        if state == "DEPLOYED":
            self._deployed_once = True
        self._settled = state

    def _current_operation(self) -> Run | None:
        """The run in progress, after settling it if its time is up."""
        run = self._active
        if run is None:
            return None
        if run.phase(self._timing.clock()) != "settled":
            return run
        self._finish(run)
        return None

    def _finish(self, run: Run) -> None:
        self._active = None
        if run.canceled:
            self._state_before_cancel = self._underlying_state
            self._settled = CANCELED
            return
        if run.kind is not DEPLOY:
            self._settled = run.kind.done
            return
        if run.fails:
            if run.previous_state != DEPLOYMENT_ERROR:
                self._state_before_failure = run.previous_state
            self._failed_kubernetes_jobs.append(self.kubernetes_job_name(run.request_id))
            self._settled = DEPLOYMENT_ERROR
            return
        self._deployed_once = True
        self._failed_kubernetes_jobs = []
        self._settled = run.kind.done

    def kubernetes_job_name(self, request_id: str | None) -> str:
        """The Kubernetes job a run of this job creates (what cleanFailedJob removes after a failure)."""
        suffix = (request_id or self.id)[:8]
        return f"qjob-{self.name}-{suffix}"
