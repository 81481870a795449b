"""What the stress tests add to `tests.common`: the shared relay with their defaults, in the test's event loop or
in a thread of its own (for synchronous clients such as schemathesis), and the check that what reached Qovery
was a valid action."""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from qjob_tui.actions import ACTIONS, FORCE_EVENTS, BodyKind, JobAction, validate_body
from qjob_tui.pipeline import ActionRefused
from qjob_tui.reads import validate_execution_id
from qjob_tui.simulator import RecordedRequest, Simulator
from tests import common
from tests.common import DEMO, Relay

T = TypeVar("T")
DEMO_JOBS = [job.id for job in DEMO.jobs]
# What may reach Qovery: one of the five action paths on a canonical (lower-case) UUID.
_ACTION_PATH = re.compile(
    r"^/job/(?P<job>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/(?P<action>[A-Za-z]+)$"
)
_ACTIONS_BY_UPSTREAM = {action.upstream_path.rsplit("/", 1)[1]: action for action in ACTIONS}
_UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
# What the reads of one job may ask Qovery, on canonical UUIDs, with the query parameters each may carry.
_READ_PATHS = [
    (re.compile(f"^/job/{_UUID}(/status)?$"), set()),
    (re.compile(f"^/job/{_UUID}/deploymentHistoryV2$"), {"pageSize"}),
    (re.compile(f"^/environment/{_UUID}/logs$"), {"version"}),
    (re.compile(f"^/organization(/{_UUID}/project)?$"), set()),
    (re.compile(f"^/project/{_UUID}/environment$"), set()),
]


@contextlib.asynccontextmanager
async def running_relay(sim: Simulator, audit_path: Path, **config: Any) -> AsyncIterator[Relay]:
    """The shared relay (`tests.common.running_relay`) with the stress tests' defaults: every demo job listed,
    a generous timeout; its config and audit log beside `audit_path`."""
    config.setdefault("jobs", DEMO_JOBS)
    config.setdefault("timeout_s", 10.0)
    config.setdefault("poll_interval_s", 3600)  # nothing but the tests' own requests reaches Qovery
    async with common.running_relay(audit_path.parent, sim=sim, **config) as relay:
        yield relay


def relay_in_thread(
    sim: Simulator, audit_path: Path, **settings: Any
) -> contextlib.AbstractContextManager[Relay]:
    """`running_relay` in a thread with its own event loop, for synchronous clients."""
    return in_thread(lambda _loop: running_relay(sim, audit_path, **settings))


@contextlib.contextmanager
def in_thread(
    serving: Callable[[asyncio.AbstractEventLoop], contextlib.AbstractAsyncContextManager[T]],
) -> Iterator[T]:
    """What `serving(loop)` yields, kept open on `loop`, a new event loop in a thread of its own, until the
    with-block ends (then the context exits there and the loop closes)."""
    loop = asyncio.new_event_loop()
    ready: asyncio.Future[T] = loop.create_future()
    stop = asyncio.Event()

    async def serve() -> None:
        try:
            async with serving(loop) as value:
                ready.set_result(value)
                await stop.wait()
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc)
            raise

    async def wait() -> T:
        return await ready

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    try:
        yield asyncio.run_coroutine_threadsafe(wait(), loop).result(timeout=60)
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=60)
        loop.close()


def unvalidated(request: RecordedRequest) -> str | None:
    """Why a request that reached the upstream should not have (None when it is a valid action call or read)."""
    if request.method == "GET":
        return _bad_read(request)
    if request.method != "POST":
        return f"{request.method} {request.path}: the relay only sends actions and reads"
    match = _ACTION_PATH.fullmatch(request.path)
    if match is None:
        return f"POST {request.path}: not an action path on a canonical job UUID"
    action = _ACTIONS_BY_UPSTREAM.get(match["action"])
    if action is None:
        return f"POST {request.path}: unknown action"
    return _bad_query(action, request) or _bad_body(action, request)


def _bad_read(request: RecordedRequest) -> str | None:
    names = next((names for pattern, names in _READ_PATHS if pattern.fullmatch(request.path)), None)
    if names is None:
        return f"GET {request.path}: not a read of the relay"
    unknown = set(request.query) - names
    if unknown:
        return f"GET {request.path}: unexpected query {sorted(unknown)}"
    if not request.query.get("pageSize", "20").isdigit():
        return f"GET {request.path}: pageSize {request.query['pageSize']!r}"
    version = request.query.get("version")
    if version is not None:
        try:
            validate_execution_id(version)
        except ActionRefused:
            return f"GET {request.path}: version {version!r} is not an execution id"
    return None


def _bad_query(action: JobAction, request: RecordedRequest) -> str | None:
    unknown = set(request.query) - ({"forceEvent"} if action.force_event else set())
    if unknown:
        return f"{request.path}: unexpected query {sorted(unknown)}"
    event = request.query.get("forceEvent")
    if event is not None and event not in FORCE_EVENTS:
        return f"{request.path}: forceEvent {event!r} is not in the enum"
    return None


def _bad_body(action: JobAction, request: RecordedRequest) -> str | None:
    if not request.body:
        return None
    if action.body is BodyKind.NONE:
        return f"{request.path}: a body was sent to an action that takes none"
    if request.headers.get("content-type") != "application/json":
        return f"{request.path}: body sent as {request.headers.get('content-type')!r}"
    try:
        validate_body(action, request.json())
    except ValueError as exc:  # InvalidInput, or JSON that does not parse
        return f"{request.path}: body {request.body[:80]!r} is not valid ({exc})"
    return None
