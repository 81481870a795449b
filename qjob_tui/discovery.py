"""Discovery: who the board's jobs are, in about two requests per environment instead of one per job.

A job the config names without its environment costs a `GET /job/{id}` (a probe) only while no answer so
far has placed it. That answer names its environment; then the environment's status list
(`GET /environment/{id}/job/status`: the states, and which jobs the environment has) and its job list
(`GET /environment/{id}/job`: names and types) answer for every configured job in it. States go on the board
per environment, as each answers.

Probing all jobs at once would ask again about jobs an answer on its way is about to place, so the next
probe goes out only while the environments in flight are unlikely to hold it: their expected share of the
jobs still unplaced (from the environments that answered so far) must stay under `PROBE_RISK`. The first
probe goes alone; when nothing answers for a while, one more goes anyway, so that a slow environment does not
hold the others back. Every request goes through one `Pacer`: at most `CONCURRENCY` in flight, and a
rate-limit answer (429) holds them all back for its `Retry-After`, then asks again, one at a time until
Qovery answers: discovery slows down and loses nothing.

Then `learn_places` names the environments (and their projects) from Qovery's organization tree, walked
once: `GET /organization`, then each organization's projects and each project's environments, until every
environment on the board is named (`JobBoard.places`; `JobInfo.environment_name` and `project_name`).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from qjob_tui.actions import is_uuid
from qjob_tui.jobs import DiscoveryProgress, JobBoard, JobInfo, Place
from qjob_tui.qovery import QoveryBadResponse, QoveryClient, QoveryError, QoveryHTTPError

CONCURRENCY = 8  # discovery's requests in flight at once
PROBE_RISK = 0.1  # how likely a probe may be to ask about a job that an answer on its way will place
# Probes wait for the answers in flight a few of Qovery's usual answer times (PATIENCE_MIN_S at least);
# then one more goes, and the wait doubles (up to PATIENCE_MAX_S) until an environment answers.
PATIENCE_ANSWERS = 4
PATIENCE_MIN_S = 0.25
PATIENCE_MAX_S = 30.0
RATE_LIMIT_FIRST_WAIT_S = 1.0  # a 429 without Retry-After: wait 1 s, doubling up to the cap
RATE_LIMIT_MAX_WAIT_S = 60.0

T = TypeVar("T")


class Unread(str):
    """What discovery could not read: the readable line it always was (a `str`), and a few words of why for a
    status line (`headline`: `Qovery unreachable`, `Qovery 503`), so that a face need not parse the line; and
    `status`, the HTTP status when Qovery answered (a one-shot command tells a refusal, 4xx, from no answer)."""

    headline: str
    status: int | None

    def __new__(cls, line: str, headline: str, status: int | None = None) -> Unread:
        unread = super().__new__(cls, line)
        unread.headline = headline
        unread.status = status
        return unread

    @classmethod
    def of(cls, what: str, exc: QoveryError) -> Unread:
        return cls(f"{what}: {exc.message}", exc.headline, getattr(exc, "status", None))


class Pacer:
    """Discovery's requests: bounded in number, and held back together while Qovery says 429.

    A 429 reaches here once the client's own retries are spent (or at once for a Retry-After longer than the
    client waits). Every request then waits out the `Retry-After` (or a doubling wait without one), and the
    requests go one at a time until one is answered: a rate limit that persists is asked as rarely as it
    tells. `on_hold(seconds)` is told of each wait, `on_hold(None)` when Qovery answers again."""

    def __init__(
        self, concurrency: int = CONCURRENCY, *, on_hold: Callable[[float | None], None] = lambda _: None
    ) -> None:
        self._slots = asyncio.Semaphore(concurrency)
        self._one_at_a_time = asyncio.Lock()
        self._resume_at = 0.0  # monotonic
        self._wait_s = 0.0  # the last wait without Retry-After (doubles)
        self._held = False
        self._on_hold = on_hold
        self.typical_s = 0.0  # how long Qovery takes to answer, lately (a moving average)

    async def ask(self, read: Callable[[], Awaitable[T]]) -> T:
        """`read()`, again after each 429 until it is answered; any other QoveryError is raised."""
        while True:
            await self._wait_out()
            if self._held:  # after a 429: one request at a time until Qovery answers again
                async with self._one_at_a_time:
                    answer = await self._try(read)
            else:
                answer = await self._try(read)
            if answer is not _LIMITED:
                return answer  # type: ignore[return-value]

    async def _try(self, read: Callable[[], Awaitable[T]]) -> T | object:
        async with self._slots:
            if self._resume_at > time.monotonic():
                return _LIMITED  # a hold began while this one waited for a slot
            started = time.monotonic()
            try:
                answer = await read()
            except (QoveryHTTPError, QoveryBadResponse) as exc:  # (a proxy's 429 page is not JSON)
                if exc.status != 429:
                    raise
                self._hold(exc.retry_after_s if isinstance(exc, QoveryHTTPError) else None)
                return _LIMITED
            took = time.monotonic() - started
            self.typical_s = took if not self.typical_s else 0.7 * self.typical_s + 0.3 * took
        if self._held:
            self._held, self._wait_s = False, 0.0
            self._on_hold(None)
        return answer

    def _hold(self, retry_after_s: float | None) -> None:
        if retry_after_s is None:
            self._wait_s = min(RATE_LIMIT_MAX_WAIT_S, self._wait_s * 2 or RATE_LIMIT_FIRST_WAIT_S)
            wait = self._wait_s
        else:
            wait = retry_after_s
        self._resume_at = max(self._resume_at, time.monotonic() + wait)
        self._held = True
        self._on_hold(wait)

    async def _wait_out(self) -> None:
        wait = self._resume_at - time.monotonic()
        while wait > 0:
            await asyncio.sleep(wait)
            wait = self._resume_at - time.monotonic()  # a 429 meanwhile may have made the hold longer


_LIMITED = object()  # a request answered 429: ask again once the hold is over


@dataclass
class _Environment:
    """One environment discovery reads: its status list and its job list, and what they said."""

    id: str
    configured: bool  # in the config's `environments:` (all its jobs join the board)
    states: bool = False  # the status list answered (or failed)
    listed: bool = False  # the job list answered (or failed)
    placed: bool = False  # one of the two answered: who is in this environment is known
    jobs: list[dict[str, Any]] | None = None  # a configured environment's job list, until its turn

    @property
    def done(self) -> bool:
        return self.states and self.listed


@dataclass
class _Discovery:
    board: JobBoard
    client: QoveryClient
    concurrency: int
    states: bool  # read the environments' states too (else only their job lists)
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        board = self.board
        self.started = time.monotonic()
        self.pacer = Pacer(self.concurrency, on_hold=self._held)
        self.progress = DiscoveryProgress(jobs=sum(1 for job in board.jobs.values() if job.job_type is None))
        self.environments: dict[str, _Environment] = {}
        # The configured environments whose jobs have not joined yet: they join in the config's order.
        self.in_order: list[_Environment] = []
        # The jobs whose environment nobody knows yet, in a fixed shuffled order: a config grouped by
        # environment and one that interleaves them are probed alike.
        unplaced = [job.id for job in board.jobs.values() if job.environment is None and job.job_type is None]
        random.Random(0).shuffle(unplaced)
        self.candidates = unplaced
        self.next_candidate = 0
        self.ours = frozenset(unplaced)  # the jobs discovery has to place
        self.unplaced = set(unplaced)  # not placed, not probed
        self.probing: set[str] = set()
        self.probed: set[str] = set()  # answered or failed: never asked again
        self.placed_by_environments = 0  # our jobs in the environments that answered
        self.environment_answers = 0
        self.wake = asyncio.Event()

    # -- the whole -------------------------------------------------------------------------------------

    async def run(self) -> list[str]:
        board = self.board
        configured = list(board.environments)
        of_jobs = sorted(
            {job.environment for job in board.jobs.values() if job.job_type is None and job.environment}
            - set(configured)
        )
        if self.progress.jobs or configured:
            self._show()
        try:
            async with asyncio.TaskGroup() as group:
                self.group = group
                for env in configured + of_jobs:
                    self._open(env, configured=env in configured)
                await self._probe_until_placed()
            await self._learn_the_rest()
        except ExceptionGroup as bugs:  # a bug in one read (not Qovery's answer): raised as itself
            raise _first(bugs) from None
        finally:
            board.set_discovery(None)
        return self.errors

    def _show(self, **changes: Any) -> None:
        found = len(self.environments)
        read = sum(1 for env in self.environments.values() if env.done)
        progress = self.progress
        self.progress = DiscoveryProgress(
            progress.jobs, found, read, changes.get("rate_limited_s", progress.rate_limited_s)
        )
        self.board.set_discovery(self.progress)

    def _held(self, seconds: float | None) -> None:
        self._show(rate_limited_s=seconds)

    # -- probes: GET /job/{id} for a job nobody placed yet ------------------------------------------------

    async def _probe_until_placed(self) -> None:
        impatient = False  # nothing answered for a while: the next probe goes whatever the odds
        patience_s = self._patience_s()
        while True:
            job_id = self._next_probe(impatient)
            if job_id is not None:
                self.unplaced.discard(job_id)
                self.probing.add(job_id)
                self.group.create_task(self._probe(job_id))
                impatient = False
                continue
            if not self.probing and not self.unplaced:
                return  # every job is placed, or probed; the environments' reads finish in the group
            answers = self.environment_answers
            self.wake.clear()
            try:
                await asyncio.wait_for(self.wake.wait(), patience_s)
            except TimeoutError:
                # A slow environment must not hold the others back: one more probe, and twice as long
                # to wait before the next one, until an environment answers.
                impatient, patience_s = True, min(PATIENCE_MAX_S, patience_s * 2)
            if self.environment_answers != answers:
                patience_s = self._patience_s()

    def _patience_s(self) -> float:
        """How long probes wait for the answers in flight: a few of Qovery's usual answer times."""
        return max(PATIENCE_MIN_S, PATIENCE_ANSWERS * self.pacer.typical_s)

    def _next_probe(self, impatient: bool = False) -> str | None:
        """The next job to probe, if a probe may go now."""
        if len(self.probing) >= self.concurrency or not self.unplaced:
            return None
        in_flight = len(self.probing) + sum(
            1 for env in self.environments.values() if not (env.placed or env.done)
        )
        if in_flight and not impatient:
            answered = sum(1 for env in self.environments.values() if env.placed)
            if not answered:
                return None  # no idea yet how many of our jobs an environment holds
            expected = in_flight * self.placed_by_environments / answered
            if expected > PROBE_RISK * len(self.unplaced):
                return None
        while self.candidates[self.next_candidate] not in self.unplaced:
            self.next_candidate += 1  # placed or probed since: never again a candidate
        return self.candidates[self.next_candidate]

    async def _probe(self, job_id: str) -> None:
        job = self.board.jobs[job_id]
        try:
            data = await self.pacer.ask(lambda: self.client.get_job(job_id))
        except QoveryError as exc:
            self.errors.append(Unread.of(f"job {job.label}", exc))
        else:
            self.board.add_jobs([{**data, "id": job_id}])
            if job.environment is not None:
                self._open(job.environment, configured=False, found=True)
        finally:
            self.probing.discard(job_id)
            self.probed.add(job_id)
            self.wake.set()

    # -- environments: their states and their jobs -------------------------------------------------------

    def _open(self, env_id: str, *, configured: bool, found: bool = False) -> None:
        """Read an environment's states and its jobs (once). One that a probe `found` is listed only when its
        states show more of our jobs without a type: the probe's answer already told about the probed one."""
        if env_id in self.environments:
            return
        env = _Environment(env_id, configured, states=not self.states)
        self.environments[env_id] = env
        if configured:
            self.in_order.append(env)
        self._show()
        if found and self.states:
            self.group.create_task(self._read_found(env))
            return
        if self.states:
            self.group.create_task(self._read_states(env))
        self.group.create_task(self._read_jobs(env))

    async def _read_found(self, env: _Environment) -> None:
        ours = await self._read_states(env)
        if ours is None or any(self.board.jobs[job_id].job_type is None for job_id in ours):
            await self._read_jobs(env)
        else:
            env.listed = True
            self._after(env)

    async def _read_states(self, env: _Environment) -> list[str] | None:
        """The environment's states on the board; returns our jobs it holds (None: the read failed)."""
        ours = None
        try:
            last = self.board.last_statuses(env.id, since=self.started)  # the poller's, just now
            if last is not None:
                statuses = last
            else:
                statuses, _ = await self.pacer.ask(lambda: self.board.read_statuses(self.client, env.id))
        except QoveryError as exc:
            self.errors.append(Unread.of(f"states of environment {env.id}", exc))
        else:
            ours = self._place(env, (_id_of(status) for status in statuses))
        finally:
            env.states = True
            self._after(env)
        return ours

    async def _read_jobs(self, env: _Environment) -> None:
        jobs: list[dict[str, Any]] = []
        try:
            jobs = await self.pacer.ask(lambda: self.client.list_environment_jobs(env.id))
        except QoveryError as exc:
            if env.configured:
                self.errors.append(Unread.of(f"environment {env.id}", exc))
            # else its jobs are asked one by one at the end (_learn_the_rest)
        else:
            self._place(env, (_id_of(job) for job in jobs))
        board = self.board
        if env.configured:
            env.jobs = jobs
            self._join_in_order()
        else:  # complete the jobs we have; the environment's others stay out
            board.add_jobs(job for job in jobs if _id_of(job) in board.jobs)
        env.listed = True
        self._after(env)

    def _join_in_order(self) -> None:
        """A configured environment's jobs join the board once the environments before it have joined: the
        table's order is the config's, whatever order the answers came in."""
        board = self.board
        while self.in_order and self.in_order[0].jobs is not None:
            env = self.in_order.pop(0)
            jobs, env.jobs = env.jobs or [], []
            board.add_jobs(jobs)
            if (statuses := board.last_statuses(env.id)) is not None:
                board.apply_statuses(statuses)  # the states read before these jobs joined

    def _place(self, env: _Environment, job_ids: Iterable[str | None]) -> list[str]:
        """These jobs are in this environment: nobody needs to probe them. Returns those that are ours."""
        board = self.board
        first, env.placed = not env.placed, True
        self.environment_answers += 1
        ours = []
        for job_id in job_ids:
            if job_id not in self.ours:
                continue
            ours.append(job_id)
            if first:
                self.placed_by_environments += 1  # how many of our jobs an environment holds, on average
            if job_id in self.unplaced or job_id in self.probing:  # (a probe in flight was one too many)
                job = board.jobs[job_id]
                if job.environment is None:
                    board.place_in(job, env.id)
                self.unplaced.discard(job_id)
        return ours

    def _after(self, env: _Environment) -> None:
        self._show()
        self.wake.set()

    # -- what the environments did not answer for ----------------------------------------------------------

    async def _learn_the_rest(self) -> None:
        """One GET /job/{id} for each job still without a type: a job no environment lists (its environment
        in the config is wrong, or it moved), or one whose environment's job list failed."""
        board = self.board
        rest = [job for job in board.jobs.values() if job.job_type is None and job.id not in self.probed]
        if not rest:
            return

        async def learn(job: JobInfo) -> None:
            try:
                data = await self.pacer.ask(lambda: self.client.get_job(job.id))
            except QoveryError as exc:
                self.errors.append(Unread.of(f"job {job.label}", exc))
                return
            env = data.get("environment")
            actual = _id_of(env) if isinstance(env, dict) else None
            if job.environment is not None and actual is not None and actual != job.environment:
                # Its environment's lists did not name it: the config is wrong (or the job moved).
                self.errors.append(
                    Unread(
                        f"job {job.label}: it is in environment {actual}, "
                        f"not {job.environment} as the config says",
                        "a job in another environment than the config says",
                    )
                )
                board.place_in(job, actual)
            board.add_jobs([{**data, "id": job.id}])

        await asyncio.gather(*(learn(job) for job in rest))
        new = sorted({job.environment for job in rest if job.environment} - set(self.environments))
        if not self.states:
            return
        async with asyncio.TaskGroup() as group:
            for env_id in new:
                env = _Environment(env_id, configured=False, listed=True)
                self.environments[env_id] = env
                group.create_task(self._read_states(env))


def _first(group: BaseExceptionGroup[Exception]) -> Exception:
    first = group.exceptions[0]
    return _first(first) if isinstance(first, BaseExceptionGroup) else first


def _id_of(data: dict[str, Any]) -> str | None:
    value = data.get("id")
    return value.lower() if isinstance(value, str) else None


async def discover(
    board: JobBoard, client: QoveryClient, *, states: bool = True, concurrency: int = CONCURRENCY
) -> list[str]:
    """Learn the board's jobs: the jobs of its configured environments, each job's name, type and environment
    (once), and their states as each environment answers (`states=False`: who the jobs are, no states; the
    job lists place the jobs instead). The board shows the progress (`board.discovery`) until the end.
    Returns what could not be read, as readable lines; the board keeps whatever was learnt."""
    return await _Discovery(board, client, concurrency, states).run()


async def learn_places(board: JobBoard, client: QoveryClient, *, concurrency: int = CONCURRENCY) -> list[str]:
    """The names of the board's environments and of their projects (`board.places`), from Qovery's
    organization tree: `GET /organization`, each organization's projects, and their environments (one project,
    then two, then four... at a time) until every environment is named. Returns what could not be read, as
    readable lines."""
    wanted = {job.environment for job in board.jobs.values() if job.environment} - set(board.places)
    if not wanted:
        return []
    pacer = Pacer(concurrency)
    try:
        organizations = await pacer.ask(client.list_organizations)
        for org_id in (_id_of(org) for org in organizations):
            if org_id is None or not is_uuid(org_id):
                continue
            listed = await pacer.ask(partial(client.list_projects, org_id))
            projects = [project for project in listed if is_uuid(project.get("id"))]
            batch = 1  # one project, then two, then four...: a small account is asked no more than it needs
            while projects:
                asked, projects = projects[:batch], projects[batch:]
                batch = min(concurrency, batch * 2)
                named = await asyncio.gather(*(_places_in(pacer, client, p, wanted) for p in asked))
                places = {env_id: place for found in named for env_id, place in found.items()}
                board.name_environments(places)
                wanted -= set(places)
                if not wanted:
                    return []  # every environment named: the other projects are not asked
    except QoveryError as exc:
        return [Unread.of("environment names", exc)]
    return []


async def _places_in(
    pacer: Pacer, client: QoveryClient, project: dict[str, Any], wanted: set[str]
) -> dict[str, Place]:
    """The wanted environments of one project, with their names."""
    project_id = str(project["id"]).lower()
    name = project.get("name") if isinstance(project.get("name"), str) else None
    places = {}
    for env in await pacer.ask(partial(client.list_environments, project_id)):
        env_id = _id_of(env)
        if env_id in wanted and isinstance(env.get("name"), str):
            places[env_id] = Place(env["name"], project_id, name)
    return places
