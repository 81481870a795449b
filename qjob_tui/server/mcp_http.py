"""MCP over Streamable HTTP at /mcp: the tools of `mcp_tools`, stateless with JSON responses, behind the guard.

The relay's guard checks Host/Origin (the one rule of both surfaces), the bearer token, and reads the body
with the relay's checks; the SDK's own Host/Origin check is off. Imported by `serving.py` in a worker
thread: the SDK is slow to import.

A call that sent a `progressToken` (and accepts an event stream) is served by a second app over the same
tools that answers as an event stream: in JSON-response mode the SDK drops every notification, and a caller
whose action waits for the operator's approval must hear that it still waits, or its client gives up.
"""

from __future__ import annotations

import contextlib

from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send

from qjob_tui.actions import BODY_LIMIT_BYTES
from qjob_tui.runtime import Runtime
from qjob_tui.server.asgi import replay
from qjob_tui.server.guard import Guard, OpenStreams, RefusalHook, send_refusal
from qjob_tui.server.mcp_tools import build_mcp_server
from qjob_tui.server.problems import problem
from qjob_tui.server.redacting import Redacting
from qjob_tui.server.schemas import MCP_PATH
from qjob_tui.server.security import find_header


def build_mcp_app(
    runtime: Runtime,
    *,
    on_refusal: RefusalHook | None = None,
    streams: OpenStreams | None = None,
    operator: bool = True,
) -> ASGIApp:
    """The MCP ASGI application (its lifespan runs the SDK's session managers), behind the relay's guard, its
    answers redacted; `streams` caps its GET streams and ends them at stop (the default: 100, ended by
    nobody); `operator` as for `build_mcp_server`."""
    server = build_mcp_server(runtime, operator=operator)

    def app(*, json_response: bool) -> Starlette:
        return server.streamable_http_app(
            streamable_http_path=MCP_PATH,
            stateless_http=True,
            json_response=json_response,
            max_request_body_size=BODY_LIMIT_BYTES,
            # The guard holds the one Host/Origin rule of both surfaces; the SDK's own (prefix patterns, its
            # own statuses) would answer the same request differently.
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )

    router = ProgressRouter(app(json_response=True), app(json_response=False))
    guarded = Guard(
        EndpointOnly(router, on_refusal),
        runtime.settings,
        surface="mcp",
        whole_body=True,
        on_refusal=on_refusal,
        streams=streams if streams is not None else OpenStreams(100),
    )
    return Redacting(guarded, runtime.redactor)


class EndpointOnly:
    """Any other path than the endpoint is a 404 that says where the endpoint is: an agent configured with the
    port alone (`http://127.0.0.1:9090`) would otherwise read a bare `Not Found`. `/mcp/` is left to the SDK
    (it redirects to /mcp)."""

    def __init__(self, app: ASGIApp, on_refusal: RefusalHook | None) -> None:
        self.app = app
        self.on_refusal = on_refusal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in (MCP_PATH, MCP_PATH + "/"):
            await self.app(scope, receive, send)
            return
        host, port = scope.get("server") or ("127.0.0.1", 0)
        where = f"[{host}]" if ":" in host else host
        body = problem(
            404, "Not found", f"no such path; the MCP endpoint is {MCP_PATH}: http://{where}:{port}{MCP_PATH}"
        )
        await send_refusal(self.on_refusal, "mcp", scope, send, body)


class ProgressRouter:
    """JSON answers, except for a call that asked for progress notifications: an event stream carries those
    before its result (the 2026-07-28 era still answers JSON when no notification comes)."""

    def __init__(self, json_app: Starlette, stream_app: Starlette) -> None:
        self.json_app = json_app
        self.stream_app = stream_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] == "http" and scope["method"] == "POST" and _accepts_stream(scope):
            message = await receive()  # the guard has read the whole body: it comes in one message
            body = message.get("body", b"") if message["type"] == "http.request" else b""
            receive = replay(body, receive)
            # The guard parsed the body strictly already; a mention of the key is enough to choose the
            # framing (a false alarm only streams an answer the client accepts as a stream).
            if b'"progressToken"' in body:
                await self.stream_app(scope, receive, send)
                return
        await self.json_app(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        """Both apps' lifespans (each runs its SDK session manager) for as long as the server runs."""
        await receive()  # lifespan.startup
        async with contextlib.AsyncExitStack() as stack:
            try:
                for app in (self.json_app, self.stream_app):
                    await stack.enter_async_context(app.router.lifespan_context(app))
            except Exception as exc:
                await send({"type": "lifespan.startup.failed", "message": f"{type(exc).__name__}: {exc}"})
                return
            await send({"type": "lifespan.startup.complete"})
            await receive()  # lifespan.shutdown
        await send({"type": "lifespan.shutdown.complete"})


def _accepts_stream(scope: Scope) -> bool:
    accept = find_header(scope["headers"], b"accept")
    return accept is not None and b"text/event-stream" in accept
