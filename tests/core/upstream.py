"""A purpose-built stand-in for Qovery, for what the simulator cannot express: exact replies, resets, silence.

`ScriptedUpstream` is a Starlette app served by uvicorn on a loopback ephemeral port. It records every
request as it arrived on the wire and answers from a script (a queue of `Reply`); an empty script answers
`default`. `serve_app()` runs any ASGI app the same way. `reset_server()` is a raw TCP listener that reads a
request and drops the connection with a reset, which no ASGI app can do.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
from collections import deque
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


@dataclass(frozen=True)
class Seen:
    """One request as the upstream received it."""

    method: str
    path: str
    query: str  # the raw query string, as sent
    headers: dict[str, str]  # lower-case names
    body: bytes
    peer: (
        tuple[str, int] | None
    )  # the client's address: the same one for requests on one kept-alive connection

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Reply:
    """One scripted answer."""

    status: int = 200
    json: Any = None
    raw: bytes | None = None  # sent as is, instead of `json`
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    delay_s: float = 0.0  # wait this long (or until the server stops) before answering


class ScriptedUpstream:
    """Records requests and answers them from a script."""

    def __init__(self, default: Reply | None = None) -> None:
        self.requests: list[Seen] = []
        self.script: deque[Reply] = deque()
        self.default = default or Reply(200, {"ok": True})
        self.stopping = asyncio.Event()
        self.app = Starlette(
            routes=[Route("/{path:path}", self._answer, methods=["GET", "POST", "PUT", "DELETE", "PATCH"])]
        )

    def then(self, *replies: Reply) -> ScriptedUpstream:
        """Queue replies, answered in order; after them, `default`."""
        self.script.extend(replies)
        return self

    async def _answer(self, request: Request) -> Response:
        body = await request.body()
        self.requests.append(
            Seen(
                request.method,
                request.url.path,
                request.url.query,
                {k.lower(): v for k, v in request.headers.items()},
                body,
                (request.client.host, request.client.port) if request.client else None,
            )
        )
        reply = self.script.popleft() if self.script else self.default
        if reply.delay_s:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), reply.delay_s)
        if reply.raw is not None:
            content = reply.raw
        elif reply.json is None:
            content = b""
        else:
            content = json.dumps(reply.json).encode()
        media = reply.content_type if content else None
        return Response(content, status_code=reply.status, headers=reply.headers, media_type=media)


class _QuietServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # the test runner owns the signals
        yield


@contextlib.asynccontextmanager
async def serve_app(app: Any, stopping: asyncio.Event | None = None) -> AsyncIterator[str]:
    """Serve an ASGI app on 127.0.0.1 with an ephemeral port; yields its base URL."""
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        log_config=None,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=1,
    )
    server = _QuietServer(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # startup failed: raise its error here
        await asyncio.sleep(0.005)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        if stopping is not None:
            stopping.set()  # release the replies that are still waiting
        server.should_exit = True
        await task


@contextlib.asynccontextmanager
async def serve_scripted(upstream: ScriptedUpstream) -> AsyncIterator[str]:
    async with serve_app(upstream.app, upstream.stopping) as url:
        yield url


@dataclass
class ResetServer:
    """Counts the requests it received; answers each by resetting the connection."""

    received: list[bytes] = field(default_factory=list)


@contextlib.asynccontextmanager
async def reset_server() -> AsyncIterator[tuple[str, ResetServer]]:
    """A raw TCP listener that reads one request head and closes the connection with an RST."""
    state = ResetServer()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            head = await reader.readuntil(b"\r\n\r\n")
            state.received.append(head)
        sock = writer.get_extra_info("socket")
        if sock is not None:  # linger 0: close() sends RST instead of FIN
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", state
    finally:
        server.close()
        await server.wait_closed()
