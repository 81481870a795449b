"""The REST face: a `POST /v1/job/{jobid}/<action>` route per action of the table, the reads of one job
(`GET /v1/job/{jobid}`, `/runs`, `/logs[?run=ID]`), plus jobs, health, OpenAPI.

A small raw ASGI router, no framework and no middleware stack: this is the relay's hot path. Routes are
generated from the action table. `build_rest_app` puts the relay's guard (Host/Origin, token) in front. Every
action goes through the shared pipeline with source "rest", every read through `runtime.reads`; Qovery's
error statuses and bytes are relayed unchanged, and everything refused before Qovery is problem JSON.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any
from urllib.parse import parse_qsl, unquote

from starlette.types import ASGIApp, Receive, Scope, Send

from qjob_tui import strictjson
from qjob_tui.actions import BodyKind, JobAction
from qjob_tui.pipeline import ActionInterrupted, ActionOutcome, ActionRefused, Caller
from qjob_tui.qovery import QoveryError, QoveryHTTPError
from qjob_tui.runtime import Runtime
from qjob_tui.server.asgi import (
    BodyTooLarge,
    CallerGone,
    Departure,
    UnsupportedMediaType,
    body_too_large_problem,
    check_json_media_type,
    read_body,
    send_problem,
    send_response,
)
from qjob_tui.server.guard import Guard, RefusalHook, send_refusal, user_agent
from qjob_tui.server.openapi import REST_PREFIX, openapi_document
from qjob_tui.server.problems import (
    not_json,
    not_json_media,
    problem,
    refusal_headers,
    refusal_problem,
    refuse_empty_force_event,
    upstream_problem,
)
from qjob_tui.server.redacting import Redacting
from qjob_tui.server.views import health_view, job_view, jobs_view, logs_view, runs_view

log = logging.getLogger("qjob_tui.server")

JSON_CONTENT_TYPE = b"application/json"
_GET_PATHS = {b"/v1/jobs", b"/v1/health", b"/v1/openapi.json"}
# The reads of one job by their last segment (None: the job itself), with the query parameters each takes.
_READS: dict[bytes | None, frozenset[str]] = {
    None: frozenset(),
    b"runs": frozenset(),
    b"logs": frozenset({"run"}),
}
_READ_PATHS = f"GET {REST_PREFIX}/job/{{jobid}}, GET {REST_PREFIX}/job/{{jobid}}/runs, GET {REST_PREFIX}/job/{{jobid}}/logs"
_ACTION_QUERY = frozenset({"forceEvent"})


def build_rest_app(runtime: Runtime, *, on_refusal: RefusalHook | None = None) -> ASGIApp:
    """The REST adapter behind the relay's guard, its answers redacted: what uvicorn serves on the REST port."""
    guarded = Guard(
        RestApp(runtime, on_refusal=on_refusal),
        runtime.settings,
        surface="rest",
        whole_body=False,
        on_refusal=on_refusal,
    )
    return Redacting(guarded, runtime.redactor)


class RestApp:
    """The REST adapter's routes as an ASGI application (the guard in front has let the request in)."""

    def __init__(self, runtime: Runtime, *, on_refusal: RefusalHook | None = None) -> None:
        """`on_refusal`: told of each request the routes refuse themselves (the pipeline tells of its own)."""
        self.runtime = runtime
        self.pipeline = runtime.pipeline
        self.on_refusal = on_refusal
        token_required = runtime.settings.server_token is not None
        self._openapi = json.dumps(
            openapi_document(token_required=token_required, actions=runtime.actions)
        ).encode()
        # POST /v1/<target kind>/<id>/<segment>: the routes of the action table, and the 404s that list them.
        actions = runtime.actions
        self._routes = {(a.target.kind.encode(), a.rest_segment.encode()): a for a in actions}
        targets = list(dict.fromkeys(a.target for a in actions))
        self._segments = {
            t.kind.encode(): ", ".join(sorted(a.rest_segment for a in actions if a.target == t))
            for t in targets
        }
        self._action_paths = ", ".join(
            f"POST {REST_PREFIX}/{t.kind}/{{{t.rest_param}}}/<action> (action: {self._segments[t.kind.encode()]})"
            for t in targets
        )
        self._started = time.time()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        try:
            await self._handle(scope, receive, send)
        except Exception:  # a bug must not show a traceback to the caller; the log line says what it was
            log.exception("REST %s %s failed", scope.get("method"), scope.get("path"))
            with contextlib.suppress(Exception):  # the response may have started already
                await send_problem(
                    send, problem(500, "Internal error", "the relay failed on this request; see its log")
                )

    async def _refuse(
        self,
        scope: Scope,
        send: Send,
        body: dict[str, Any],
        extra_headers: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        """Answer a refusal and tell `on_refusal` of it, as the guard does of its own."""
        await send_refusal(self.on_refusal, "rest", scope, send, body, extra_headers)

    async def _method_not_allowed(self, scope: Scope, send: Send, method: str, allow: str) -> None:
        body = problem(405, "Method not allowed", f"{method} is not allowed here; use {allow.split(',')[0]}")
        await self._refuse(scope, send, body, [(b"allow", allow.encode())])

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        method: str = scope["method"]
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        raw_path = raw_path.split(b"?", 1)[0]
        if raw_path in _GET_PATHS:
            if method not in ("GET", "HEAD"):
                await self._method_not_allowed(scope, send, method, "GET, HEAD")
                return
            await self._get(raw_path, scope, send)
            return
        parts = raw_path.split(b"/")
        # b"/v1/job/<id>/<action>".split(b"/") == [b"", b"v1", b"job", <id>, <action>]
        if len(parts) in (4, 5) and parts[1:3] == [b"v1", b"job"] and not parts[0] and parts[3]:
            segment = parts[4] if len(parts) == 5 else None
            if segment in _READS:  # the reads of one job, whatever actions the table holds
                if method not in ("GET", "HEAD"):
                    await self._method_not_allowed(scope, send, method, "GET, HEAD")
                    return
                await self._read(segment, unquote(parts[3].decode("latin-1")), scope, send)
                return
        if len(parts) != 5 or parts[0] or parts[1] != b"v1" or parts[2] not in self._segments or not parts[3]:
            paths = ", ".join(filter(None, (self._action_paths, _READ_PATHS)))
            await self._refuse(
                scope,
                send,
                problem(
                    404,
                    "Not found",
                    f"no such path; the routes are {paths}, GET {REST_PREFIX}/jobs, "
                    f"GET {REST_PREFIX}/health, GET {REST_PREFIX}/openapi.json",
                ),
            )
            return
        action = self._routes.get((parts[2], parts[4]))
        if action is None:
            shown = unquote(parts[4].decode("latin-1"))[:40]
            segments = self._segments[parts[2]]
            if method in ("GET", "HEAD") and parts[2] == b"job":  # a read gone wrong (`/run` for `/runs`)
                body = problem(
                    404,
                    "Not found",
                    f"{shown!r} is not a read of a job; the reads are {_READ_PATHS} "
                    f"(and POST one of {segments} to act)",
                )
            else:
                body = problem(404, "Unknown action", f"{shown!r} is not an action; use one of {segments}")
            await self._refuse(scope, send, body)
            return
        if method != "POST":
            await self._method_not_allowed(scope, send, method, "POST")
            return
        await self._action(action, unquote(parts[3].decode("latin-1")), scope, receive, send)

    async def _action(
        self, action: JobAction, job_id: str, scope: Scope, receive: Receive, send: Send
    ) -> None:
        try:
            self.pipeline.check_writable(action, job_id, source="rest")  # before anything else is read
        except ActionRefused as exc:  # the pipeline told of it
            await send_problem(send, refusal_problem(exc))
            return
        try:
            force_event = _force_event(scope.get("query_string", b""))
            body = await _read_json_body(action, scope, receive)
        except ActionRefused as exc:
            await self._refuse(scope, send, refusal_problem(exc))
            return
        except BodyTooLarge:
            await self._refuse(scope, send, body_too_large_problem(), [(b"connection", b"close")])
            return
        except CallerGone:  # no whole request, nobody to answer: nothing is done
            return
        try:
            request = self.pipeline.prepare(
                action, job_id, force_event, body, source="rest", client=user_agent(scope)
            )
        except ActionRefused as exc:  # the pipeline told of it
            await send_problem(send, refusal_problem(exc))
            return
        # The body is read: what the connection says next is that the caller left, which the gate listens for.
        try:
            outcome = await self.pipeline.run(request, Caller(departed=Departure(receive).wait))
        except asyncio.CancelledError:
            # The server stops and its grace is over: the outcome line is written (interrupted); the caller
            # gets that honest answer instead of the bare `500 text/plain` uvicorn sends for a cancelled app.
            # Nobody waits for this task's cancellation: it ends here, answered.
            await send_problem(send, upstream_problem(ActionInterrupted()))
            return
        await _send_outcome(send, outcome)

    async def _read(self, segment: bytes | None, job_id: str, scope: Scope, send: Send) -> None:
        """One job, its runs or a run's log: Qovery's answers through the shared reads."""
        reads = self.runtime.reads
        try:
            query = _query(scope.get("query_string", b""), _READS[segment])
            job = self.pipeline.allowed_job(job_id)
            if segment is None:
                view = await job_view(self.runtime, job)
            elif segment == b"runs":
                view = runs_view(job, await reads.runs(job))
            else:
                view = logs_view(job, await reads.logs(job, query.get("run")))
        except ActionRefused as exc:
            await self._refuse(scope, send, refusal_problem(exc), refusal_headers(exc))
            return
        except QoveryError as exc:
            await _send_upstream_error(send, exc)
            return
        await send_response(send, 200, json.dumps(view).encode(), JSON_CONTENT_TYPE)

    async def _get(self, path: bytes, scope: Scope, send: Send) -> None:
        try:
            _query(scope.get("query_string", b""), _NO_QUERY)  # (a filter that is ignored would mislead)
        except ActionRefused as exc:
            await self._refuse(scope, send, refusal_problem(exc))
            return
        if path == b"/v1/jobs":
            body = json.dumps(jobs_view(self.runtime)).encode()
        elif path == b"/v1/health":
            body = json.dumps(health_view(self.runtime, self._started, time.time())).encode()
        else:
            body = self._openapi
        await send_response(send, 200, body, JSON_CONTENT_TYPE)


_NO_QUERY: frozenset[str] = frozenset()


def _query(query_string: bytes, names: frozenset[str]) -> dict[str, str]:
    """The query parameters of a route that takes `names`, each at most once; unknown ones are refused, since
    a typo (`forceevent=CRON`) would otherwise be ignored and run a plain deploy."""
    if not query_string:
        return {}
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    unknown = sorted({name for name, _ in pairs if name not in names})
    if unknown:
        takes = f"only {', '.join(sorted(names))}" if names else "this route takes none"
        raise ActionRefused(
            400, "Invalid input", f"unknown query parameter(s) {', '.join(unknown)}; {takes}", unknown[0]
        )
    found: dict[str, str] = {}
    for name, value in pairs:
        if name in found:
            raise ActionRefused(400, "Invalid input", f"give {name} once", name)
        found[name] = value
    return found


def _force_event(query_string: bytes) -> str | None:
    """The forceEvent query parameter of an action; an empty one is refused."""
    value = _query(query_string, _ACTION_QUERY).get("forceEvent")
    if value is not None:
        refuse_empty_force_event(value)
    return value


async def _read_json_body(action: JobAction, scope: Scope, receive: Receive) -> Any:
    """The body parsed as strict JSON (`strictjson`); None when there is none. A body must say it is JSON."""
    raw = await read_body(scope, receive)
    if not raw.strip():
        return None
    if action.body is BodyKind.NONE:
        raise ActionRefused(400, "Invalid input", f"{action.name} takes no body; send none", "body")
    try:
        check_json_media_type(scope["headers"])
        parsed = strictjson.loads(raw)
    except UnsupportedMediaType as exc:
        raise not_json_media(str(exc)) from None
    except strictjson.JSONRefused as exc:
        raise not_json(str(exc)) from None
    if parsed is None:  # a body that says `null` is not "no body": it is not a JSON object
        raise ActionRefused(400, "Invalid input", "must be a JSON object, not null; or send no body", "body")
    return parsed


async def _send_outcome(send: Send, outcome: ActionOutcome) -> None:
    """Qovery's status and bytes unchanged; a refusal or an upstream failure as problem JSON."""
    if outcome.refused is not None:
        await send_problem(send, refusal_problem(outcome.refused), refusal_headers(outcome.refused))
        return
    if outcome.error is not None:
        await _send_upstream_error(send, outcome.error)
        return
    assert outcome.status is not None
    content = outcome.content if outcome.status not in (204, 304) else b""
    await send_response(send, outcome.status, content, JSON_CONTENT_TYPE if content else None)


async def _send_upstream_error(send: Send, error: QoveryError) -> None:
    """Qovery's error status and bytes unchanged (with its Retry-After); no answer at all: 502/504 problem JSON."""
    if not isinstance(error, QoveryHTTPError):
        await send_problem(send, upstream_problem(error))
        return
    headers: list[tuple[bytes, bytes]] = []
    if "retry-after" in error.headers:
        headers.append((b"retry-after", error.headers["retry-after"].encode("latin-1")))
    content = error.content if error.status not in (204, 304) else b""
    await send_response(send, error.status, content, JSON_CONTENT_TYPE if content else None, headers)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
