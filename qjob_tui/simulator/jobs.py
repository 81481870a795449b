"""The simulated jobs and the state machine that moves them through Qovery's states.

Time comes from an injected clock and states are computed when they are read, so a test that drives a
`ManualClock` sees exactly the states it expects, with no background task and no sleeping.

Every action goes through three equal phases of `phase_s` seconds: queued, in progress, settled.

| action             | queued            | in progress | settled                                     |
|--------------------|-------------------|-------------|---------------------------------------------|
| deploy, redeploy   | DEPLOYMENT_QUEUED | DEPLOYING   | DEPLOYED, or DEPLOYMENT_ERROR if set to fail |
| stop               | STOP_QUEUED       | STOPPING    | STOPPED                                     |
| uninstall          | DELETE_QUEUED     | DELETING    | DELETED                                     |

A job that has never been deployed is READY. Cleaning a failed job removes the Kubernetes jobs its failed
runs left behind and puts it back in the state it had before the failed deploy (DEPLOYED for a job that a
dataset starts in DEPLOYMENT_ERROR, READY for one that was never deployed).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from qjob_tui.simulator.dataset import JobSpec

# Namespace for the deployment request ids a dataset's jobs start with (uuid5, stable across runs).
_INITIAL_REQUEST_NAMESPACE = uuid.UUID("5b7e3c1a-9d24-4f6b-8e0a-2c4d6f8a1b3e")


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
    """The clock and phase length shared by all the jobs of one simulator, and how to show an instant."""

    def __init__(self, clock: Callable[[], float], phase_s: float) -> None:
        if phase_s < 0:
            raise ValueError("phase_s must not be negative")
        self.clock = clock
        self.phase_s = phase_s
        # Clock values are turned into wall-clock dates relative to the moment the simulator started.
        self.clock_origin = clock()
        self.wall_origin = time.time()

    def isoformat(self, instant: float) -> str:
        """The ISO 8601 UTC date-time of a clock value."""
        wall = self.wall_origin + (instant - self.clock_origin)
        return datetime.fromtimestamp(wall, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


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
DEPLOYMENT_ERROR = "DEPLOYMENT_ERROR"

# status_details (action, status) of each settled state.
_SETTLED_DETAILS = {
    "READY": ("DEPLOY", "NEVER"),
    "DEPLOYED": ("DEPLOY", "SUCCESS"),
    DEPLOYMENT_ERROR: ("DEPLOY", "ERROR"),
    "STOPPED": ("STOP", "SUCCESS"),
    "DELETED": ("DELETE", "SUCCESS"),
}


@dataclass(frozen=True)
class Operation:
    """An accepted action on a job, from the moment it was queued until it settles."""

    kind: OperationKind
    started_at: float
    phase_s: float
    fails: bool
    request_id: str
    previous_state: str
    force_event: str | None = None


class OperationInProgress(Exception):
    """An action arrived while another one is queued or running (Qovery answers 409)."""

    def __init__(self, job: SimJob, state: str) -> None:
        super().__init__(f"an operation is already in progress on job {job.name} ({job.id}): {state}")
        self.state = state


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
        self._operation: Operation | None = None
        self._deployed_once = spec.state != "READY"
        self._state_before_failure = "DEPLOYED"
        self._failed_kubernetes_jobs: list[str] = []
        self.last_deployment_at: float | None = None
        self.deployment_request_id: str | None = None
        if spec.state != "READY":
            self.last_deployment_at = timing.clock_origin - spec.deployed_ago_s
            self.deployment_request_id = str(uuid.uuid5(_INITIAL_REQUEST_NAMESPACE, spec.id))
        if spec.state == DEPLOYMENT_ERROR:
            self._failed_kubernetes_jobs.append(self._kubernetes_job_name(self.deployment_request_id))

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
        operation = self._current_operation()
        if operation is None:
            return self._settled
        elapsed = self._timing.clock() - operation.started_at
        return operation.kind.queued if elapsed < operation.phase_s else operation.kind.running

    @property
    def in_progress(self) -> bool:
        """Whether an action is queued or running (a new one would be refused with 409)."""
        return self._current_operation() is not None

    @property
    def status_details(self) -> tuple[str, str]:
        """Qovery's `status_details` (action, status) for the current state."""
        operation = self._current_operation()
        if operation is None:
            return _SETTLED_DETAILS.get(self._settled, ("UNKNOWN", "SUCCESS"))
        elapsed = self._timing.clock() - operation.started_at
        return operation.kind.action, "QUEUED" if elapsed < operation.phase_s else "ONGOING"

    @property
    def service_deployment_status(self) -> str:
        """NEVER_DEPLOYED until a deploy succeeds; OUT_OF_DATE while deploying or after a failed deploy."""
        operation = self._current_operation()
        if not self._deployed_once:
            return "NEVER_DEPLOYED"
        if (operation is not None and operation.kind is DEPLOY) or self._settled == DEPLOYMENT_ERROR:
            return "OUT_OF_DATE"
        return "UP_TO_DATE"

    @property
    def deployment_requests_count(self) -> int:
        """How many deployment requests are pending for this job: 1 while an action is in progress."""
        return 1 if self._current_operation() is not None else 0

    @property
    def has_something_deployed(self) -> bool:
        """False for a job that was never deployed or is uninstalled: uninstall then answers 204."""
        return self.in_progress or self._settled not in ("READY", "DELETED")

    def last_deployment_date(self) -> str | None:
        """ISO date-time of the last action accepted for this job (None if there never was one)."""
        if self.last_deployment_at is None:
            return None
        return self._timing.isoformat(self.last_deployment_at)

    def start(self, kind: OperationKind, *, force_event: str | None = None) -> Operation:
        """Queue an action; raises `OperationInProgress` while another one is queued or running."""
        current = self._current_operation()
        if current is not None:
            raise OperationInProgress(self, self.state)
        fails = False
        if kind is DEPLOY:
            fails = self.fails or self.fail_next
            self.fail_next = False
        now = self._timing.clock()
        operation = Operation(
            kind=kind,
            started_at=now,
            phase_s=self._timing.phase_s,
            fails=fails,
            request_id=str(uuid.uuid4()),
            previous_state=self._settled,
            force_event=force_event,
        )
        self._operation = operation
        self.accepted_actions += 1
        self.last_force_event = force_event
        self.last_deployment_at = now
        self.deployment_request_id = operation.request_id
        # A phase of 0 settles at once, so that back-to-back actions (benchmarks) are never refused.
        self._current_operation()
        return operation

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
        """Put the job in a settled `state` at once, dropping any action in progress (for tests)."""
        self._operation = None
        if state == DEPLOYMENT_ERROR and self._settled != DEPLOYMENT_ERROR:
            self._state_before_failure = self._settled
            self._failed_kubernetes_jobs.append(self._kubernetes_job_name(self.deployment_request_id))
        if state == "DEPLOYED":
            self._deployed_once = True
        self._settled = state

    def _current_operation(self) -> Operation | None:
        """The action in progress, after settling it if its time is up."""
        operation = self._operation
        if operation is None:
            return None
        if self._timing.clock() - operation.started_at < 2 * operation.phase_s:
            return operation
        self._finish(operation)
        return None

    def _finish(self, operation: Operation) -> None:
        self._operation = None
        if operation.kind is not DEPLOY:
            self._settled = operation.kind.done
            return
        if operation.fails:
            if operation.previous_state != DEPLOYMENT_ERROR:
                self._state_before_failure = operation.previous_state
            self._failed_kubernetes_jobs.append(self._kubernetes_job_name(operation.request_id))
            self._settled = DEPLOYMENT_ERROR
            return
        self._deployed_once = True
        self._failed_kubernetes_jobs = []
        self._settled = operation.kind.done

    def _kubernetes_job_name(self, request_id: str | None) -> str:
        suffix = (request_id or self.id)[:8]
        return f"qjob-{self.name}-{suffix}"
