"""The jobs qjob-tui shows and acts on, with their last known state, and the poller that keeps it fresh.

`JobBoard` holds the configured jobs plus every job of the configured environments. Names, types and
environments come from the config or, once, from discovery (`qjob_tui.discovery`: about two requests per
environment). States come from `GET /environment/{id}/job/status`: one request per environment per refresh,
and never two at once for the same environment (a read in flight is shared). A job that was just acted on
is refreshed every `FAST_INTERVAL_S` until its state settles. Shared by the dashboard and the servers.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from qjob_tui.actions import ForceEvent, is_uuid
from qjob_tui.config import JobEntry
from qjob_tui.qovery import QoveryClient, QoveryError, QoveryHTTPError

if TYPE_CHECKING:
    from qjob_tui.configfile import Selection

Statuses = list[dict[str, Any]]  # Qovery's Status objects, as one environment's status list answers them

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


@dataclass(frozen=True)
class ActionMark:
    """One action on a job as the board remembers it: what, asked with what, by which face, and Qovery's
    answer. What the dashboard's LAST ACTION column and a job's facts show."""

    action: str  # deploy
    options: str  # `CRON`, `image_tag 2.5.0`, or empty (actions.options_text)
    source: str  # tui, rest, mcp, cli
    result: str  # `202`, `409 an operation is already in progress …`, `timeout`
    ok: bool
    at: float  # time.time() of the answer


@dataclass
class JobInfo:
    """One job on the board: who it is (config or Qovery), its last known state, and our last action on it."""

    id: str
    name: str | None = None
    environment: str | None = None
    environment_name: str | None = None  # learnt once per environment by discovery (Place)
    project_name: str | None = None
    job_type: str | None = None  # CRON or LIFECYCLE
    events: tuple[ForceEvent, ...] = ()  # the events a forced run may name
    state: str | None = None
    last_deployment: str | None = None
    last_action: str | None = None  # the latest attempt, whatever came of it (the REST/MCP job list)
    last_result: str | None = None
    last_result_ok: bool | None = None
    accepted: ActionMark | None = None  # the last action Qovery accepted
    failed: ActionMark | None = None  # an attempt that failed after it (cleared by the next accepted one)
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


@dataclass(frozen=True)
class Place:
    """Where an environment is: its name and its project's, as Qovery's organization tree names them."""

    environment_name: str
    project_id: str | None = None
    project_name: str | None = None


@dataclass(frozen=True)
class DiscoveryProgress:
    """How far discovery is, for a status line: `learning 1,000 jobs: 4/10 environments`.

    `environments_found` grows while discovery runs (a job's answer names an environment not seen before);
    `rate_limited_s` is set while Qovery's rate limit holds discovery back (its `Retry-After`)."""

    jobs: int  # the jobs whose names and types are being learnt
    environments_found: int = 0
    environments_read: int = 0
    rate_limited_s: float | None = None

    @property
    def headline(self) -> str:
        jobs = f"{self.jobs:,} job{'' if self.jobs == 1 else 's'}" if self.jobs else "the jobs"
        text = f"learning {jobs}"
        if self.environments_found:
            text += f": {self.environments_read}/{self.environments_found} environments"
        else:
            text += "…"
        if self.rate_limited_s is not None:
            text += f" · Qovery rate limit, again in {self.rate_limited_s:.0f}s"
        return text


ChangeListener = Callable[[set[str]], None]


class _SharedRead:
    """One environment's status read in flight, and how many wait for it."""

    def __init__(self, read: Coroutine[Any, Any, tuple[Statuses, set[str]]]) -> None:
        self.task = asyncio.ensure_future(read)
        self.readers = 0


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
        self.discovery: DiscoveryProgress | None = None  # while discovery runs
        self.places: dict[str, Place] = {}  # environment id -> its names, once discovery learnt them
        self._listeners: list[ChangeListener] = []
        self._wake = asyncio.Event()
        # Per environment: Qovery's last status list (monotonic time of the answer, the list), and the read in
        # flight. An environment's jobs that join later (its job list answers after its states) take their
        # states from the last list instead of asking again; a second reader of an environment shares the
        # read in flight instead of sending its own.
        self._statuses: dict[str, tuple[float, Statuses]] = {}
        self._reading: dict[str, _SharedRead] = {}

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
            self.learn(job, data)
            changed.add(job.id)
        self._notify(changed)
        return changed

    def learn(self, job: JobInfo, data: dict[str, Any]) -> None:
        """Complete a job from Qovery's JobResponse; what the config gave (its name, environment) stays."""
        if job.name is None and isinstance(data.get("name"), str):
            job.name = data["name"]
        env = data.get("environment")
        if job.environment is None and isinstance(env, dict) and is_uuid(env.get("id")):
            self.place_in(job, str(env["id"]).lower())
        if isinstance(data.get("job_type"), str):
            job.job_type = data["job_type"]
            job.events = events_of(data)

    def place_in(self, job: JobInfo, environment: str) -> None:
        """The job is in this environment (and takes the environment's names, once known)."""
        job.environment = environment
        if (place := self.places.get(environment)) is not None:
            job.environment_name, job.project_name = place.environment_name, place.project_name

    def name_environments(self, places: dict[str, Place]) -> None:
        """Remember where environments are, and show it on their jobs."""
        self.places.update(places)
        changed = set()
        for job in self.jobs.values():
            if job.environment in places:
                self.place_in(job, job.environment)
                changed.add(job.id)
        self._notify(changed)

    def set_discovery(self, progress: DiscoveryProgress | None) -> None:
        """Discovery's progress (None once it is over), for the faces' status lines."""
        if progress != self.discovery:
            self.discovery = progress
            self._notify({"*"})

    def last_statuses(self, environment: str, since: float | None = None) -> Statuses | None:
        """The environment's last status list from Qovery (answered at or after monotonic `since`), if any."""
        last = self._statuses.get(environment)
        if last is None or (since is not None and last[0] < since):
            return None
        return last[1]

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

    def record_action(
        self,
        job_id: str,
        action: str,
        result: str,
        ok: bool,
        status: Any = None,
        *,
        source: str = "tui",
        options: str = "",
    ) -> None:
        """Remember our last action on a job and start its fast refresh. An accepted action replaces the one
        before it; a failed one is kept beside the last accepted, which it does not hide."""
        job = self.get(job_id)
        if job is None:
            return
        job.last_action, job.last_result, job.last_result_ok = action, result, ok
        mark = ActionMark(action, options, source, result, ok, time.time())
        if ok:
            job.accepted, job.failed = mark, None
        else:
            job.failed = mark
        if ok:
            job.settle_until = time.monotonic() + SETTLE_GIVE_UP_S
            if isinstance(status, dict) and isinstance(status.get("state"), str):
                job.state = status["state"]
        self._notify({job.id})
        self._wake.set()

    def settling(self) -> list[JobInfo]:
        return [job for job in self.jobs.values() if job.settle_until]

    # -- talking to Qovery --------------------------------------------------------------------------

    async def read_statuses(self, client: QoveryClient, environment: str) -> tuple[Statuses, set[str]]:
        """Read one environment's states and put them on the board: Qovery's list and the jobs that changed.

        A read of the same environment already in flight is shared, not repeated (the poller's first read and
        discovery's, at start). The read ends with its last reader: when every reader is cancelled, so is it."""
        shared = self._reading.get(environment)
        if shared is None:
            shared = self._reading[environment] = _SharedRead(self._read_statuses(client, environment))
            shared.task.add_done_callback(lambda _: self._reading.pop(environment, None))
        shared.readers += 1
        try:
            return await asyncio.shield(shared.task)
        finally:
            shared.readers -= 1
            if not shared.readers and not shared.task.done():
                shared.task.cancel()
                await asyncio.wait([shared.task])  # its request ends before its reader does

    async def _read_statuses(self, client: QoveryClient, environment: str) -> tuple[Statuses, set[str]]:
        statuses = await client.environment_job_statuses(environment)
        self._statuses[environment] = (time.monotonic(), statuses)
        return statuses, self.apply_statuses(statuses)

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
                changed.update((await self.read_statuses(client, env))[1])
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
