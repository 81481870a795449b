"""Serving the simulator on a real loopback socket, inside the caller's event loop.

`serve_simulator` is what `qjob-tui --demo`, the tests and the benchmarks use: a uvicorn server that
installs no signal handlers (it lives inside the Textual app's loop or a test's loop) and stops at once
when the `async with` block ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import socket
from collections.abc import AsyncIterator, Iterator

import uvicorn
from starlette.types import Scope

from qjob_tui.listeners import stop_accepting
from qjob_tui.simulator.app import Simulator

# Keep idle connections well past a dashboard's poll interval, so that clients do not race the server
# closing a pooled connection just as they reuse it.
_KEEP_ALIVE_S = 120
# Upper bound on how long stopping waits for requests still in flight (injected delays are cut short
# at once, so only a stuck client could make it wait this long).
_SHUTDOWN_GRACE_S = 10.0


class _EmbeddedServer(uvicorn.Server):
    """uvicorn's server without its signal handlers: the process that embeds it owns the signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _bind(host: str, port: int) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        if os.name != "nt":
            # Lets a test restart on the port it just used; on Windows this flag would allow port theft.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except BaseException:
        sock.close()
        raise
    return sock


def _find_transport(server: uvicorn.Server, scope: Scope) -> asyncio.Transport | None:
    client = scope.get("client")
    if not client:
        return None
    client = tuple(client)
    for connection in list(server.server_state.connections):
        if getattr(connection, "client", None) == client:
            transport: asyncio.Transport | None = getattr(connection, "transport", None)
            return transport
    return None


async def _keep_date_header(server: uvicorn.Server) -> None:
    # uvicorn refreshes its Date header in its main loop, which an embedded server does not run.
    while True:
        await server.on_tick(0)
        await asyncio.sleep(1.0)


async def _stop(server: uvicorn.Server) -> None:
    # What the listeners have accepted reaches the server before they close (see qjob_tui.listeners).
    await stop_accepting(server.servers)
    for listener in server.servers:
        listener.close()
    for connection in list(server.server_state.connections):
        connection.shutdown()
    tasks = set(server.server_state.tasks)
    if tasks:
        _, pending = await asyncio.wait(tasks, timeout=_SHUTDOWN_GRACE_S)
        for task in pending:
            task.cancel()
    # Each connection's close ends a round later (its socket is closed then); wait for all of them, bounded.
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(_SHUTDOWN_GRACE_S):
            while server.server_state.connections:
                for connection in list(server.server_state.connections):
                    connection.shutdown()
                await asyncio.sleep(0.01)
    for listener in server.servers:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(listener.wait_closed(), _SHUTDOWN_GRACE_S)


@contextlib.asynccontextmanager
async def serve_simulator(sim: Simulator, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
    """Run `sim` under uvicorn on `host:port` (0: a free port) and yield its base URL.

    The server runs in the current event loop and installs no signal handlers. Leaving the block stops
    it: injected delays are cut short, open connections are closed, and the port is released.
    Raises OSError when the address cannot be bound.
    """
    sock = _bind(host, port)
    config = uvicorn.Config(
        sim.app,
        log_config=None,
        access_log=False,
        lifespan="off",
        timeout_keep_alive=_KEEP_ALIVE_S,
    )
    config.load()
    server = _EmbeddedServer(config)
    server.lifespan = config.lifespan_class(config)
    try:
        await server.startup(sockets=[sock])
    except BaseException:
        sock.close()
        raise
    lookup = functools.partial(_find_transport, server)
    stopping = sim.attach_server(lookup)
    ticker = asyncio.create_task(_keep_date_header(server))
    bound_port = sock.getsockname()[1]
    url_host = f"[{host}]" if ":" in host else host
    try:
        yield f"http://{url_host}:{bound_port}"
    finally:
        ticker.cancel()
        stopping.set()
        try:
            await _stop(server)
        finally:
            sim.detach_server(lookup)
            sock.close()
