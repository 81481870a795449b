"""The reads every face offers on one job, in one place: checked as an action is, answered by Qovery, shared.

A read names a job the same way an action does, so it passes the same check (a UUID this qjob-tui may touch,
`ActionPipeline.allowed_job`) before any URL is built. What Qovery answers also updates the board, so that
every face shows the fresher state.

The reads: a job's `Status`, its facts (`JobFacts`: the JobResponse plus the names of its environment, project
and organization), its runs (`Run`, from `deploymentHistoryV2`), the deployment log of one run (`RunLog`: the
environment's log for that execution, kept to the job's own lines) and `follow`, which yields a run's lines
as they appear until the run settles. How Qovery serves runs and logs: `reference/README.md`, "Following a run".

Every answer is kept for `CACHE_TTL_S` and a request in flight is shared (`ReadCache`): the dashboard's detail
screen, a one-shot `logs --follow` and an agent asking at once cost Qovery one request. The answers are
shared objects: read them, never change them.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeVar, cast

from qjob_tui.jobs import JobBoard, is_settled
from qjob_tui.pipeline import ActionRefused
from qjob_tui.qovery import QoveryClient, QoveryError

T = TypeVar("T")

#: How long an answer is reused: long enough for faces asking at once, short enough to stay live.
CACHE_TTL_S = 1.0
#: How often `follow` asks for a run's new lines (and whether it has settled): the board's fast refresh.
FOLLOW_INTERVAL_S = 1.5
#: How many runs `runs` answers unless told: Qovery's default page.
RUNS_LIMIT = 20
#: The most runs one read may ask for.
RUNS_MAX = 100
#: How long `follow` waits for a named run to appear in the job's history before it gives up on it.
FIND_GRACE_S = 30.0
#: After a walk of organizations, projects and environments that did not name an environment (or failed),
#: how long before another walk is tried for it.
NAMES_RETRY_S = 300.0

LineKind = Literal["info", "warning", "error"]
_LINE_KINDS: frozenset[str] = frozenset({"info", "warning", "error"})

# Qovery's execution ids are `<deployment request UUID>-<unix seconds>`; accept that family (letters, digits,
# `-`, `_`, `.`, `:`), nothing that could change the query they are put in.
_EXECUTION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_DURATION = re.compile(
    r"P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?"
)
_HOOKS = ("on_start", "on_stop", "on_delete")


class RunNotFound(ActionRefused):
    """A run the job's recent history does not hold (404): a mistyped execution id, or one too old."""

    def __init__(self, job_id: str, execution_id: str, looked_at: int) -> None:
        super().__init__(
            404,
            "Run not found",
            f"job {job_id} has no run {execution_id} among its last {looked_at} runs; its runs list them",
            "run",
            slug="run-not-found",
        )


def validate_execution_id(value: object) -> str:
    """An execution id (a run's, as `Run.execution_id` gives it); else ActionRefused 400 naming `run`."""
    if not isinstance(value, str) or not _EXECUTION_ID.fullmatch(value):
        shown = repr(value)[:60]
        raise ActionRefused(
            400,
            "Invalid input",
            f"{shown} is not an execution id (like <deployment request id>-<number>, as a job's runs give it)",
            "run",
        )
    return value


# -- what the reads answer -------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobSource:
    """What a job runs: a container image (name, tag, registry) or a git repository Qovery builds."""

    kind: Literal["image", "git", "unknown"]
    image_name: str | None = None
    tag: str | None = None
    registry: str | None = None
    repository: str | None = None  # the repository's URL
    branch: str | None = None
    commit: str | None = None  # the commit deployed

    @property
    def summary(self) -> str:
        """One line: `acme/job-runner:1.0.0 (Docker Hub)`, `https://github.com/acme/x @ main (3f9c2a17e5b0)`."""
        if self.kind == "image":
            text = f"{self.image_name or '?'}:{self.tag or '?'}"
            return f"{text} ({self.registry})" if self.registry else text
        if self.kind == "git":
            text = self.repository or "?"
            if self.branch:
                text += f" @ {self.branch}"
            return f"{text} ({self.commit[:12]})" if self.commit else text
        return "unknown"

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "image_name": self.image_name,
            "tag": self.tag,
            "registry": self.registry,
            "repository": self.repository,
            "branch": self.branch,
            "commit": self.commit,
            "summary": self.summary,
        }


@dataclass(frozen=True)
class JobFacts:
    """Who a job is: Qovery's JobResponse (`raw`) and what the faces show of it, with the names of where it lives."""

    id: str
    name: str | None
    job_type: str | None  # CRON or LIFECYCLE
    environment_id: str | None
    environment_name: str | None
    project_id: str | None
    project_name: str | None
    organization_id: str | None
    organization_name: str | None
    schedule: str | None  # a cron job's cron expression
    timezone: str | None  # ... and the time zone it is read in
    hooks: tuple[str, ...]  # a lifecycle job's hooks: on_start, on_stop, on_delete
    source: JobSource
    raw: dict[str, Any] = field(repr=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "type": self.job_type,
            "environment": {"id": self.environment_id, "name": self.environment_name},
            "project": {"id": self.project_id, "name": self.project_name},
            "organization": {"id": self.organization_id, "name": self.organization_name},
            "schedule": {"cron": self.schedule, "timezone": self.timezone} if self.schedule else None,
            "hooks": list(self.hooks),
            "source": self.source.as_dict(),
            "qovery": self.raw,
        }


@dataclass(frozen=True)
class Run:
    """One run of a job (a row of `deploymentHistoryV2`: Qovery's DeploymentHistoryService in `raw`)."""

    execution_id: str | None
    state: str | None  # a StateEnum string, shown as it is when new
    created_at: str | None
    updated_at: str | None
    triggered_by: str | None
    origin: str | None
    duration_s: float | None  # None while it runs
    version: str | None  # the image tag, or the commit of a git job
    raw: dict[str, Any] = field(repr=False, compare=False)

    @property
    def settled(self) -> bool:
        return is_settled(self.state)

    def as_dict(self) -> dict[str, Any]:
        return {
            "execution_id": self.execution_id,
            "state": self.state,
            "settled": self.settled,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "triggered_by": self.triggered_by,
            "origin": self.origin,
            "duration_s": self.duration_s,
            "version": self.version,
            "qovery": self.raw,
        }


@dataclass(frozen=True)
class LogLine:
    """One line of a run's deployment log (Qovery's EnvironmentLogs in `raw`). `message` is the line's
    `safe_message`, or for an error its `user_log_message`; `hint` and `link` say what to do about an error."""

    timestamp: str | None
    kind: LineKind
    message: str
    hint: str | None
    link: str | None
    execution_id: str | None
    step: str | None  # the deployment step: Build, Deploy, Executing, Deployed, DeployedError...
    raw: dict[str, Any] = field(repr=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "timestamp": self.timestamp,
            "kind": self.kind,
            "message": self.message,
            "hint": self.hint,
            "link": self.link,
            "execution_id": self.execution_id,
            "step": self.step,
        }


@dataclass(frozen=True)
class RunLog:
    """The deployment log of one run of a job: its lines so far, oldest first, and whether the run has settled
    (then the lines are all there will be). `execution_id` None: the job has never run."""

    execution_id: str | None
    lines: list[LogLine]
    settled: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "execution_id": self.execution_id,
            "settled": self.settled,
            "lines": [line.as_dict() for line in self.lines],
        }


# -- from Qovery's JSON ----------------------------------------------------------------------------------


def _at(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _text(data: Any, *path: str) -> str | None:
    value = _at(data, *path)
    return value if isinstance(value, str) and value else None


def job_source(job: dict[str, Any]) -> JobSource:
    """The source of a JobResponse: `source.image` (a container) or `source.docker.git_repository`."""
    image = _at(job, "source", "image")
    if isinstance(image, dict):
        return JobSource(
            "image",
            image_name=_text(image, "image_name"),
            tag=_text(image, "tag"),
            registry=_text(image, "registry", "name"),
        )
    git = _at(job, "source", "docker", "git_repository")
    if isinstance(git, dict):
        owner, name = _text(git, "owner"), _text(git, "name")
        return JobSource(
            "git",
            repository=_text(git, "url") or (f"{owner}/{name}" if owner and name else name),
            branch=_text(git, "branch"),
            commit=_text(git, "deployed_commit_id"),
        )
    return JobSource("unknown")


@dataclass(frozen=True)
class _Names:
    environment: str | None = None
    project_id: str | None = None
    project: str | None = None
    organization_id: str | None = None
    organization: str | None = None


def job_facts(job_id: str, job: dict[str, Any], names: _Names) -> JobFacts:
    schedule = _at(job, "schedule")
    return JobFacts(
        id=job_id,
        name=_text(job, "name"),
        job_type=_text(job, "job_type"),
        environment_id=_environment_id(job),
        environment_name=names.environment,
        project_id=names.project_id,
        project_name=names.project,
        organization_id=names.organization_id,
        organization_name=names.organization,
        schedule=_text(schedule, "cronjob", "scheduled_at"),
        timezone=_text(schedule, "cronjob", "timezone"),
        hooks=tuple(hook for hook in _HOOKS if isinstance(_at(schedule, hook), dict)),
        source=job_source(job),
        raw=job,
    )


def _environment_id(job: dict[str, Any]) -> str | None:
    env = _text(job, "environment", "id")
    return env.lower() if env else None


def iso_duration_s(text: str | None) -> float | None:
    """Seconds of an ISO 8601 duration (`PT4S`, `PT1M12.5S`, `P1DT2H`); None when it is not one."""
    if not text:
        return None
    match = _DURATION.fullmatch(text)
    if match is None or text in ("P", "PT") or text.endswith("T"):
        return None
    days, hours, minutes, seconds = (float(part) if part else 0.0 for part in match.groups())
    return round(((days * 24 + hours) * 60 + minutes) * 60 + seconds, 3)


def _seconds_between(start: str | None, end: str | None) -> float | None:
    try:
        begun = datetime.fromisoformat((start or "").replace("Z", "+00:00"))
        ended = datetime.fromisoformat((end or "").replace("Z", "+00:00"))
        return round(max(0.0, (ended - begun).total_seconds()), 3)
    except (TypeError, ValueError):
        return None


def job_run(item: dict[str, Any]) -> Run:
    """A Run from one DeploymentHistoryService."""
    auditing = _at(item, "auditing_data")
    state = _text(item, "status")
    created, updated = _text(auditing, "created_at"), _text(auditing, "updated_at")
    duration = None
    if is_settled(state):
        duration = iso_duration_s(_text(item, "total_duration"))
        if duration is None:  # the field is optional: a settled run's last update is when it ended
            duration = _seconds_between(created, updated)
    return Run(
        execution_id=_text(item, "identifier", "execution_id"),
        state=state,
        created_at=created,
        updated_at=updated,
        triggered_by=_text(auditing, "triggered_by"),
        origin=_text(auditing, "origin"),
        duration_s=duration,
        version=_text(item, "details", "tag") or _text(item, "details", "commit", "git_commit_id"),
        raw=item,
    )


def log_line(item: dict[str, Any]) -> LogLine:
    """A LogLine from one EnvironmentLogs: the safe message, or the error's message, hint and link."""
    error = _at(item, "error")
    kind = (_text(item, "type") or "info").lower()
    if isinstance(error, dict):
        kind = "error"
        message = (
            _text(error, "user_log_message")
            or _text(error, "underlying_error", "message")
            or _text(item, "message", "safe_message")
            or ""
        )
    else:
        message = _text(item, "message", "safe_message") or ""
    return LogLine(
        timestamp=_text(item, "timestamp"),
        kind=cast(LineKind, kind) if kind in _LINE_KINDS else "info",
        message=message,
        hint=_text(error, "hint_message"),
        link=_text(error, "link"),
        execution_id=_text(item, "details", "execution_id"),
        step=_text(item, "details", "stage", "step"),
        raw=item,
    )


def own_lines(lines: list[dict[str, Any]], job_id: str, execution_id: str) -> list[LogLine]:
    """The lines of an environment's deployment log that this job wrote for this run (Qovery's log holds
    every service's lines, and lines of other runs that ran meanwhile)."""
    return [
        log_line(item)
        for item in lines
        if (_text(item, "details", "transmitter", "id") or "").lower() == job_id
        and _text(item, "details", "execution_id") == execution_id
    ]


# -- the cache -------------------------------------------------------------------------------------------


@dataclass
class _Entry:
    started: int  # the cache's event number when its request was sent
    task: asyncio.Future[Any] | None = None
    arrived: int | None = None  # ... and when its answer came; None while in flight
    arrived_at: float = 0.0  # the clock then


class ReadCache:
    """Answers of reads by key, kept `ttl_s` after they arrive; a read asked for while the same one is in
    flight waits for that one instead of sending another. Failures are not kept: the next ask tries again.
    A caller that gives up (cancelled) does not cancel the request the others wait for.

    Sends and arrivals are numbered in the order they happen (a clock could give two of them one instant):
    `get` tells when its answer arrived, and `not_before` asks for an answer sent after such a moment."""

    def __init__(self, ttl_s: float = CACHE_TTL_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.clock = clock
        self._entries: dict[Hashable, _Entry] = {}
        self._events = itertools.count()

    async def get(
        self, key: Hashable, fetch: Callable[[], Awaitable[T]], *, not_before: int | None = None
    ) -> tuple[T, int]:
        """The answer for `key` and the moment it arrived. `not_before` (a moment `get` gave): only an answer
        whose request was sent after it will do, so that what was seen then is in the answer too."""
        entry = self._entries.get(key)
        if entry is None or not self._usable(entry, not_before):
            entry = self._start(key, fetch)
        assert entry.task is not None
        value: T = await asyncio.shield(entry.task)
        assert entry.arrived is not None
        return value, entry.arrived

    def forget(self, match: Callable[[Hashable], bool]) -> None:
        """Drop the answers (and requests in flight) whose key matches: what comes next is asked afresh. Those
        already waiting for a dropped request still get its answer."""
        for key in [key for key in self._entries if match(key)]:
            del self._entries[key]

    def _usable(self, entry: _Entry, not_before: int | None) -> bool:
        if not_before is not None and entry.started < not_before:
            return False
        return entry.arrived is None or self.clock() - entry.arrived_at <= self.ttl_s

    def _start(self, key: Hashable, fetch: Callable[[], Awaitable[T]]) -> _Entry:
        if len(self._entries) > 256:
            self._sweep()
        entry = _Entry(next(self._events))

        async def fetch_and_stamp() -> T:
            value = await fetch()
            entry.arrived, entry.arrived_at = next(self._events), self.clock()
            return value

        entry.task = asyncio.ensure_future(fetch_and_stamp())

        def forget_failure(task: asyncio.Future[Any]) -> None:
            # exception() retrieves the error: no "never retrieved" warning when every caller gave up.
            failed = task.cancelled() or task.exception() is not None
            if failed and self._entries.get(key) is entry:
                del self._entries[key]

        entry.task.add_done_callback(forget_failure)
        self._entries[key] = entry
        return entry

    def _sweep(self) -> None:
        now = self.clock()
        stale = [
            key
            for key, entry in self._entries.items()
            if entry.arrived is not None and now - entry.arrived_at > self.ttl_s
        ]
        for key in stale:
            del self._entries[key]


# -- the reads -------------------------------------------------------------------------------------------


class JobReads:
    """Reads of one job from Qovery, for any face. Raise `ActionRefused` (400, 403; `RunNotFound` 404) before
    Qovery is asked, or `QoveryError` when it could not answer (reads are retried by the client first)."""

    def __init__(
        self,
        client: QoveryClient,
        board: JobBoard,
        allowed_job: Callable[[object], str],
        *,
        cache: ReadCache | None = None,
    ) -> None:
        self.client = client
        self.board = board
        self.allowed_job = allowed_job
        self.cache = cache or ReadCache()
        self._names: dict[str, _Names] = {}  # environment id -> names; learnt once
        self._walked_at: float | None = None
        self._environments: dict[str, str] = {}  # job id -> environment id; a job never moves

    def forget(self, job_id: str) -> None:
        """Forget what was read of this job (its Status, facts, runs): after an action on it, the next read
        must see what the action did, not an answer from just before it."""
        job = job_id.lower()
        self.cache.forget(lambda key: isinstance(key, tuple) and len(key) > 1 and key[1] == job)

    async def status(self, job_id: object) -> dict[str, Any]:
        """Qovery's current Status of the job (`GET /job/{id}/status`), which the board takes on as well."""
        job = self.allowed_job(job_id)
        status, _ = await self.cache.get(("status", job), lambda: self.client.get_job_status(job))
        self.board.apply_statuses([status])
        return status

    async def facts(self, job_id: object) -> JobFacts:
        """The job as Qovery describes it (`GET /job/{id}`), with the names of its environment, project and
        organization (learnt once per environment; None when Qovery would not say)."""
        job = self.allowed_job(job_id)
        data = await self._job(job)
        if self.board.get(job) is not None:
            self.board.add_jobs([data])
        env = _environment_id(data)
        names = await self._names_of(env) if env else _Names()
        return job_facts(job, data, names)

    async def runs(self, job_id: object, limit: int = RUNS_LIMIT) -> list[Run]:
        """The job's newest runs, newest first (`GET /job/{id}/deploymentHistoryV2`)."""
        job = self.allowed_job(job_id)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= RUNS_MAX:
            raise ActionRefused(400, "Invalid input", f"must be a whole number from 1 to {RUNS_MAX}", "limit")
        runs, _ = await self._runs(job, limit)
        return runs

    async def logs(self, job_id: object, execution_id: str | None = None) -> RunLog:
        """The deployment log of one run of the job (None: its newest run), as far as it has been written."""
        job = self.allowed_job(job_id)
        wanted = None if execution_id is None else validate_execution_id(execution_id)
        runs, seen_at = await self._runs(job)
        run = _pick(runs, wanted)
        if run is None:
            if wanted is not None:
                raise RunNotFound(job, wanted, RUNS_LIMIT)
            return RunLog(None, [], True)  # never ran: nothing to show, nothing to wait for
        if run.execution_id is None:
            return RunLog(None, [], run.settled)
        lines = await self._lines(job, run.execution_id, not_before=seen_at if run.settled else None)
        return RunLog(run.execution_id, lines, run.settled)

    async def follow(
        self,
        job_id: object,
        execution_id: str | None = None,
        *,
        interval_s: float | Callable[[], float] = FOLLOW_INTERVAL_S,
    ) -> AsyncIterator[LogLine]:
        """The lines of a run (None: the newest when the follow starts) as they appear, each once, until the
        run settles; then the iterator ends. A named run that is not in the job's history yet (just started)
        is waited for up to FIND_GRACE_S. The checks and Qovery's errors raise at the first `anext`.
        `interval_s` may be a function that says each wait: a face that slows its looks down over a long run
        (the one-shot `--watch --logs`) slows the follower with them."""
        job = self.allowed_job(job_id)
        wanted = None if execution_id is None else validate_execution_id(execution_id)
        seen: Counter[tuple[Any, ...]] = Counter()
        give_up = time.monotonic() + FIND_GRACE_S
        while True:
            runs, seen_at = await self._runs(job)
            run = _pick(runs, wanted)
            if run is None:
                if wanted is None:
                    return  # the job never ran: there is nothing to follow
                if time.monotonic() > give_up:
                    raise RunNotFound(job, wanted, RUNS_LIMIT)
            elif run.execution_id is None:
                return
            else:
                wanted = run.execution_id  # hold on to this run, whatever starts after it
                lines = await self._lines(job, wanted, not_before=seen_at if run.settled else None)
                shown: Counter[tuple[Any, ...]] = Counter()
                for line in lines:
                    # A line is new when this answer holds it more often than the lines yielded so far did
                    # (two identical lines are two lines).
                    key = _line_key(line)
                    shown[key] += 1
                    if shown[key] > seen[key]:
                        seen[key] += 1
                        yield line
                if run.settled:
                    return
            await asyncio.sleep(interval_s() if callable(interval_s) else interval_s)

    # -- the requests behind them ----------------------------------------------------------------------

    async def _job(self, job: str) -> dict[str, Any]:
        data, _ = await self.cache.get(("job", job), lambda: self.client.get_job(job))
        env = _environment_id(data)
        if env:
            self._environments[job] = env
        return data

    async def _runs(self, job: str, limit: int = RUNS_LIMIT) -> tuple[list[Run], int]:
        async def fetch() -> list[Run]:
            return [job_run(item) for item in await self.client.list_job_runs(job, limit)]

        return await self.cache.get(("runs", job, limit), fetch)

    async def _environment_of(self, job: str) -> str:
        known = self.board.get(job)
        env = self._environments.get(job) or (known.environment if known is not None else None)
        if env:
            return env
        env = _environment_id(await self._job(job))
        if not env:
            raise QoveryError(f"GET /job/{job}: Qovery did not say which environment the job is in")
        return env

    async def _lines(self, job: str, execution_id: str, *, not_before: int | None) -> list[LogLine]:
        env = await self._environment_of(job)

        async def fetch() -> list[dict[str, Any]]:
            return await self.client.environment_logs(env, execution_id)

        # Keyed by environment and run, not job: the jobs of one deployment share its log.
        lines, _ = await self.cache.get(("logs", env, execution_id), fetch, not_before=not_before)
        return own_lines(lines, job, execution_id)

    async def _names_of(self, environment_id: str) -> _Names:
        names = self._names.get(environment_id)
        if names is not None:
            return names
        if self._walked_at is not None and time.monotonic() - self._walked_at < NAMES_RETRY_S:
            return _Names()
        with contextlib.suppress(QoveryError):  # names are a courtesy: the facts stand without them
            found, _ = await self.cache.get(("names",), self._walk)
            self._names.update(found)
        self._walked_at = time.monotonic()
        return self._names.get(environment_id, _Names())

    async def _walk(self) -> dict[str, _Names]:
        """Every environment the token can see, with its project's and organization's names: Qovery's document
        has no read of one environment, so walk organization -> project -> environment once."""
        limit = asyncio.Semaphore(8)

        async def listed(
            read: Callable[[str], Awaitable[list[dict[str, Any]]]], parent: str
        ) -> list[dict[str, Any]]:
            async with limit:
                return await read(parent)

        found: dict[str, _Names] = {}
        organizations = await self.client.list_organizations()
        org_names = {str(org["id"]).lower(): _text(org, "name") for org in organizations if _text(org, "id")}
        project_lists = await asyncio.gather(*(listed(self.client.list_projects, org) for org in org_names))
        projects = [project for answer in project_lists for project in answer if _text(project, "id")]
        environment_lists = await asyncio.gather(
            *(listed(self.client.list_environments, str(project["id"])) for project in projects)
        )
        for project, environments in zip(projects, environment_lists, strict=True):
            org = (_text(project, "organization", "id") or "").lower() or None
            for env in environments:
                env_id = _text(env, "id")
                if env_id:
                    found[env_id.lower()] = _Names(
                        environment=_text(env, "name"),
                        project_id=str(project["id"]).lower(),
                        project=_text(project, "name"),
                        organization_id=org,
                        organization=org_names.get(org or ""),
                    )
        return found


def _line_key(line: LogLine) -> tuple[Any, ...]:
    """What tells two lines apart (Qovery's lines have no id)."""
    return (line.timestamp, line.kind, line.step, line.message, line.hint)


def _pick(runs: list[Run], execution_id: str | None) -> Run | None:
    if execution_id is None:
        return runs[0] if runs else None
    return next((run for run in runs if run.execution_id == execution_id), None)
