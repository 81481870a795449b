"""The jobs qjob-tui shows and acts on, with their last known state, and the poller that keeps it fresh.

`JobBoard` holds the configured jobs plus every job of the configured environments. Names, types and
environments come from the config or, once, from `GET /job/{id}`. States come from
`GET /environment/{id}/job/status`: one request per environment per refresh. A job that was just acted on
is refreshed every `FAST_INTERVAL_S` until its state settles. Shared by the dashboard and the servers.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from qjob_tui.actions import ForceEvent, is_uuid
from qjob_tui.config import JobEntry
from qjob_tui.qovery import QoveryClient, QoveryError, QoveryHTTPError

if TYPE_CHECKING:
    from qjob_tui.configfile import Selection

FAST_INTERVAL_S = 1.5
MAX_BACKOFF_S = 300.0
SETTLE_GIVE_UP_S = 600.0  # stop the fast refresh of a job that never settles

_ERROR_STATES = {
    "BUILD_ERROR",
    "DELETE_ERROR",
    "DEPLOYMENT_ERROR",
    "RESTART_ERROR",
    "STOP_ERROR",
    "UNAVAILABLE",
}
_OK_STATES = {"DEPLOYED", "STOPPED", "DELETED", "READY", "RESTARTED", "CANCELED", "RECAP"}
_QUEUED_STATES = {"QUEUED", "DEPLOYMENT_QUEUED", "STOP_QUEUED", "DELETE_QUEUED", "RESTART_QUEUED"}


def state_category(state: str | None) -> str:
    """`ok`, `queued`, `progress`, `error` or `unknown`: how a state is coloured and whether it has settled."""
    if not state:
        return "unknown"
    if state in _ERROR_STATES or state.endswith("_ERROR"):
        return "error"
    if state in _OK_STATES:
        return "ok"
    if state in _QUEUED_STATES or state.endswith("_QUEUED"):
        return "queued"
    if state.endswith("ING") or state.startswith("WAITING_") or state == "EXECUTING":
        return "progress"
    return "unknown"  # a state Qovery added later: shown as it is, treated as settled


def is_settled(state: str | None) -> bool:
    return state_category(state) not in {"queued", "progress"}


@dataclass
class JobInfo:
    """One job on the board: who it is (config or Qovery), its last known state, and our last action on it."""

    id: str
    name: str | None = None
    environment: str | None = None
    job_type: str | None = None  # CRON or LIFECYCLE
    events: tuple[ForceEvent, ...] = ()  # the events a forced run may name
    state: str | None = None
    last_deployment: str | None = None
    last_action: str | None = None
    last_result: str | None = None
    last_result_ok: bool | None = None
    listed: bool = True  # in the config (or in a configured environment)
    settle_until: float = 0.0  # monotonic deadline of the fast refresh after an action
    status: dict[str, Any] = field(default_factory=dict)  # Qovery's last Status object

    @property
    def label(self) -> str:
        return self.name or self.id

    def as_dict(self) -> dict[str, Any]:
        """The job as the REST and MCP faces list it."""
        return {
            "id": self.id,
            "name": self.name,
            "environment": self.environment,
            "type": self.job_type,
            "events": [e.value for e in self.events],
            "state": self.state,
            "last_deployment_date": self.last_deployment,
            "last_action": self.last_action,
            "last_result": self.last_result,
        }


def events_of(job: dict[str, Any]) -> tuple[ForceEvent, ...]:
    """The force events a job from `GET /job/{id}` has: CRON for a cron job, its defined hooks for a lifecycle job."""
    schedule = job.get("schedule") if isinstance(job.get("schedule"), dict) else {}
    if job.get("job_type") == "CRON":
        return (ForceEvent.CRON,)
    events = []
    for key, event in (
        ("on_start", ForceEvent.START),
        ("on_stop", ForceEvent.STOP),
        ("on_delete", ForceEvent.DELETE),
    ):
        if isinstance(schedule, dict) and schedule.get(key) is not None:
            events.append(event)
    return tuple(events)


ChangeListener = Callable[[set[str]], None]


class JobBoard:
    """The jobs and their last known state. Single event loop; no locking needed."""

    def __init__(self, entries: Iterable[JobEntry] = (), environments: Iterable[str] = ()) -> None:
        self.jobs: dict[str, JobInfo] = {}
        self.environments: list[str] = list(environments)
        for entry in entries:
            self.jobs[entry.id] = JobInfo(id=entry.id, name=entry.name, environment=entry.environment)
        self.last_error: str | None = None
        self.last_error_headline: str | None = None  # a few words of last_error, for a status line
        self.backoff_s: float = 0.0
        self.refreshed_at: float | None = None
        self._listeners: list[ChangeListener] = []
        self._wake = asyncio.Event()

    # -- queries ------------------------------------------------------------------------------------

    def get(self, job_id: str) -> JobInfo | None:
        return self.jobs.get(job_id.lower()) if isinstance(job_id, str) else None

    def is_listed(self, job_id: str) -> bool:
        job = self.get(job_id)
        return job is not None and job.listed

    def known_environments(self) -> list[str]:
        envs = list(self.environments)
        for job in self.jobs.values():
            if job.environment and job.environment not in envs:
                envs.append(job.environment)
        return envs

    def subscribe(self, listener: ChangeListener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _notify(self, changed: set[str]) -> None:
        if not changed:
            return
        for listener in list(self._listeners):
            with contextlib.suppress(Exception):  # a broken listener must not stop the poller
                listener(changed)

    # -- updates ------------------------------------------------------------------------------------

    def add_jobs(self, jobs: Iterable[dict[str, Any]]) -> set[str]:
        """Add or complete jobs from Qovery's JobResponse objects."""
        changed: set[str] = set()
        for data in jobs:
            job_id = data.get("id")
            if not is_uuid(job_id):
                continue
            assert isinstance(job_id, str)
            job = self.jobs.setdefault(job_id.lower(), JobInfo(id=job_id.lower()))
            self._learn(job, data)
            changed.add(job.id)
        self._notify(changed)
        return changed

    @staticmethod
    def _learn(job: JobInfo, data: dict[str, Any]) -> None:
        if job.name is None and isinstance(data.get("name"), str):
            job.name = data["name"]
        env = data.get("environment")
        if job.environment is None and isinstance(env, dict) and is_uuid(env.get("id")):
            job.environment = str(env["id"]).lower()
        if isinstance(data.get("job_type"), str):
            job.job_type = data["job_type"]
            job.events = events_of(data)

    def apply_statuses(self, statuses: Iterable[dict[str, Any]]) -> set[str]:
        """Update states from Status objects (`id`, `state`, `last_deployment_date`, ...)."""
        changed: set[str] = set()
        now = time.monotonic()
        for status in statuses:
            job = self.get(status.get("id", ""))  # jobs we do not show are ignored
            if job is None:
                continue
            state = status.get("state")
            state = state if isinstance(state, str) else None
            last = status.get("last_deployment_date")
            if state != job.state or last != job.last_deployment:
                changed.add(job.id)
            job.state = state
            job.last_deployment = last if isinstance(last, str) else job.last_deployment
            job.status = status
            if job.settle_until and (is_settled(state) or now > job.settle_until):
                job.settle_until = 0.0
        self._notify(changed)
        return changed

    def record_action(self, job_id: str, action: str, result: str, ok: bool, status: Any = None) -> None:
        """Remember our last action on a job and start its fast refresh."""
        job = self.get(job_id)
        if job is None:
            return
        job.last_action, job.last_result, job.last_result_ok = action, result, ok
        if ok:
            job.settle_until = time.monotonic() + SETTLE_GIVE_UP_S
            if isinstance(status, dict) and isinstance(status.get("state"), str):
                job.state = status["state"]
        self._notify({job.id})
        self._wake.set()

    def settling(self) -> list[JobInfo]:
        return [job for job in self.jobs.values() if job.settle_until]

    # -- talking to Qovery --------------------------------------------------------------------------

    async def discover(self, client: QoveryClient, concurrency: int = 8) -> list[str]:
        """Learn the jobs of the configured environments, and the name/type/environment of each job once.

        A configured job whose environment the config gives is learnt from that environment's job list (one
        request per environment instead of one per job); only the rest cost a `GET /job/{id}` each.
        Returns the errors as readable lines (the board stays usable with what it has)."""
        errors: list[str] = []
        limit = asyncio.Semaphore(concurrency)

        async def fetch(env: str) -> list[dict[str, Any]] | QoveryError:
            async with limit:
                try:
                    return await client.list_environment_jobs(env)
                except QoveryError as exc:
                    return exc

        configured = list(self.environments)
        borrowed = sorted(
            {
                job.environment
                for job in self.jobs.values()
                if job.job_type is None and job.environment and job.environment not in configured
            }
        )
        answers = await asyncio.gather(*(fetch(env) for env in configured + borrowed))
        # Applied in the config's order, whatever order the answers came in: the table's order is stable.
        for env, answer in zip(configured + borrowed, answers, strict=True):
            if isinstance(answer, QoveryError):
                if env in configured:
                    errors.append(f"environment {env}: {answer.message}")
                continue  # the jobs of a merely known environment fall back to GET /job/{id}
            if env not in configured:  # only complete the jobs we have; the environment's others stay out
                answer = [
                    job for job in answer if isinstance(job.get("id"), str) and job["id"].lower() in self.jobs
                ]
            self.add_jobs(answer)

        async def learn_job(job: JobInfo) -> None:
            async with limit:
                try:
                    data = await client.get_job(job.id)
                except QoveryError as exc:
                    errors.append(f"job {job.label}: {exc.message}")
                    return
                self._learn(job, data)
                self._notify({job.id})

        await asyncio.gather(*(learn_job(job) for job in self.jobs.values() if job.job_type is None))
        return errors

    async def add_selection(self, client: QoveryClient, selection: Selection) -> list[str]:
        """Put picked environments and jobs (the dashboard's browse) on the board with their states now; from
        then on they are refreshed with the rest. Returns the errors as readable lines."""
        errors: list[str] = []
        jobs = [dict(job.data) for job in selection.jobs if self.get(job.id) is None]
        if jobs:
            self.add_jobs(jobs)
        for environment in selection.environments:
            if environment.id in self.environments:
                continue
            self.environments.append(environment.id)
            try:
                self.add_jobs(await client.list_environment_jobs(environment.id))
            except QoveryError as exc:
                errors.append(f"environment {environment.name or environment.id}: {exc.message}")
        touched = sorted(
            {*(env.id for env in selection.environments), *(job.environment.id for job in selection.jobs)}
        )
        if touched:
            try:
                await self.refresh(client, touched)
            except QoveryError as exc:
                errors.append(f"states: {exc.message}")
        return errors

    async def refresh(self, client: QoveryClient, environments: Iterable[str] | None = None) -> set[str]:
        """One status request per environment; raises the first QoveryError after trying them all."""
        changed: set[str] = set()
        first_error: QoveryError | None = None
        envs = list(environments) if environments is not None else self.known_environments()

        async def one(env: str) -> None:
            nonlocal first_error
            try:
                changed.update(self.apply_statuses(await client.environment_job_statuses(env)))
            except QoveryError as exc:
                first_error = first_error or exc

        await asyncio.gather(*(one(env) for env in envs))
        if first_error is not None:
            raise first_error
        self.refreshed_at = time.time()
        return changed

    async def poll_forever(
        self, client: QoveryClient, interval_s: float, fast_s: float = FAST_INTERVAL_S
    ) -> None:
        """Refresh every `interval_s`, the environments of settling jobs every `fast_s`; back off on errors."""
        next_full = 0.0
        while True:
            now = time.monotonic()
            answered = False  # only an answer from Qovery ends a backoff, not a turn that asked nothing
            try:
                if now >= next_full:
                    await self.refresh(client)
                    next_full = time.monotonic() + interval_s
                    answered = True
                elif not self.backoff_s:  # while backing off, not even the settling jobs are asked for
                    envs = {job.environment for job in self.settling() if job.environment}
                    if envs:
                        await self.refresh(client, sorted(envs))
                        answered = True
                if answered and (self.last_error or self.backoff_s):
                    self.last_error, self.last_error_headline, self.backoff_s = None, None, 0.0
                    self._notify({"*"})
            except QoveryError as exc:
                self.backoff_s = min(MAX_BACKOFF_S, max(interval_s, self.backoff_s * 2 or interval_s))
                if isinstance(exc, QoveryHTTPError) and exc.retry_after_s:
                    self.backoff_s = max(self.backoff_s, exc.retry_after_s)
                self.last_error, self.last_error_headline = exc.message, exc.headline
                next_full = time.monotonic() + self.backoff_s
                self._notify({"*"})
            wait = (
                fast_s if self.settling() and not self.backoff_s else max(0.05, next_full - time.monotonic())
            )
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=min(wait, interval_s))
