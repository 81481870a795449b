"""What the stress tests share: a relay (REST and MCP) in front of the simulator, in the test's event loop or
in a thread of its own (for synchronous clients such as schemathesis), and readers of what it left behind."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from qjob_tui.actions import ACTIONS, FORCE_EVENTS, BodyKind, JobAction, validate_body
from qjob_tui.config import AuditSettings, Config, JobEntry, QoverySettings, ServerSettings, Settings
from qjob_tui.pipeline import ActionRefused
from qjob_tui.reads import validate_execution_id
from qjob_tui.runtime import Runtime, open_runtime
from qjob_tui.server import RelayServers
from qjob_tui.simulator import DEMO_TOKEN, RecordedRequest, Simulator, demo_dataset, serve_simulator

DEMO = demo_dataset()
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


@dataclass
class StressRelay:
    """A running relay in front of a simulator, with the audit log it writes."""

    sim: Simulator
    runtime: Runtime
    servers: RelayServers
    audit_path: Path

    @property
    def rest_url(self) -> str:
        return self.servers.rest_url

    @property
    def mcp_url(self) -> str:
        return self.servers.mcp_url

    def audit_records(self) -> list[dict[str, Any]]:
        """Every line of the audit log, each parsed as JSON (a line that is not JSON fails the test)."""
        text = self.audit_path.read_text(encoding="utf-8") if self.audit_path.exists() else ""
        return [json.loads(line) for line in text.splitlines()]


def relay_settings(
    upstream: str,
    audit_path: Path,
    *,
    jobs: list[str] | None = None,
    timeout_s: float = 10.0,
    allow_unlisted_jobs: bool = False,
) -> Settings:
    # Port 0 as `--rest-port 0` gives it (the config file itself asks for a real port).
    server = ServerSettings(allow_unlisted_jobs=allow_unlisted_jobs).model_copy(
        update={"rest_port": 0, "mcp_port": 0}
    )
    config = Config(
        qovery=QoverySettings(timeout_s=timeout_s, poll_interval_s=3600),
        jobs=[JobEntry(id=job) for job in (DEMO_JOBS if jobs is None else jobs)],
        server=server,
        audit=AuditSettings(path=audit_path),
    )
    return Settings(config, None, upstream, SecretStr(DEMO_TOKEN), None)


@contextlib.asynccontextmanager
async def running_relay(sim: Simulator, audit_path: Path, **settings: Any) -> AsyncIterator[StressRelay]:
    """The simulator on loopback and the relay's two servers in front of it, in this event loop."""
    async with (
        serve_simulator(sim) as upstream,
        open_runtime(relay_settings(upstream, audit_path, **settings)) as runtime,
        RelayServers(runtime) as servers,
    ):
        await servers.wait_started()
        yield StressRelay(sim, runtime, servers, audit_path)


@contextlib.contextmanager
def relay_in_thread(sim: Simulator, audit_path: Path, **settings: Any) -> Iterator[StressRelay]:
    """`running_relay` in a thread with its own event loop, for synchronous clients."""
    loop = asyncio.new_event_loop()
    ready: asyncio.Future[StressRelay] = loop.create_future()
    stop = asyncio.Event()

    async def serve() -> None:
        try:
            async with running_relay(sim, audit_path, **settings) as relay:
                ready.set_result(relay)
                await stop.wait()
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc)
            raise

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    try:
        yield asyncio.run_coroutine_threadsafe(_wait(ready), loop).result(timeout=60)
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=60)
        loop.close()


async def _wait(future: asyncio.Future[StressRelay]) -> StressRelay:
    return await future


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
