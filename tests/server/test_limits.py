"""The relay's limits hold whatever its clients do: a cap on connections and on GET /mcp streams, idle and
request deadlines, and a stop that waits for no stream and no idle connection (and not for discovery).
Every wait below is bounded far above what the limit under test allows; only a limit that does not hold
reaches the bound."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import io
import json
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import httpx2
import pytest

from qjob_tui.runtime import open_runtime
from qjob_tui.server import RelayServers, serve_headless
from qjob_tui.server.serving import ServerLimits
from qjob_tui.simulator import serve_simulator
from tests.common import CRON_JOB, Relay, quiet_simulator, relay_settings

BOUND_S = 30


class Raw:
    """One connection to a relay server, bytes in and out as they are."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str) -> None:
        self.reader, self.writer, self.host = reader, writer, host

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def get(self, path: str, *headers: str) -> bytes:
        """A GET on this connection, kept alive; the answer's head."""
        lines = [f"GET {path} HTTP/1.1", f"Host: {self.host}", *headers]
        await self.send(("\r\n".join(lines) + "\r\n\r\n").encode())
        return await self.head()

    async def head(self) -> bytes:
        return await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), BOUND_S)

    async def rest(self) -> bytes:
        """Everything until the relay closes the connection."""
        return await asyncio.wait_for(self.reader.read(), BOUND_S)

    def close(self) -> None:
        self.writer.close()


@contextlib.asynccontextmanager
async def connected(url: str) -> AsyncIterator[Raw]:
    address = url.removeprefix("http://").split("/")[0]
    host, port = address.rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    raw = Raw(reader, writer, address)
    try:
        yield raw
    finally:
        raw.close()


@contextlib.asynccontextmanager
async def limited(relay: Relay, **limits: float) -> AsyncIterator[RelayServers]:
    """A second pair of servers over the relay's runtime, with these limits."""
    async with RelayServers(relay.runtime, limits=ServerLimits(**limits)) as servers:  # type: ignore[arg-type]
        await servers.wait_started()
        yield servers


def problem_of(answer: bytes) -> dict:  # type: ignore[type-arg]
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"content-type: application/problem+json" in head.lower(), answer
    return json.loads(body)  # type: ignore[no-any-return]


STREAM = ("Accept: text/event-stream", "MCP-Protocol-Version: 2025-06-18")


async def test_beyond_the_connection_cap_a_new_connection_is_answered_503_and_closed(relay: Relay) -> None:
    async with limited(relay, max_connections=3) as servers, contextlib.AsyncExitStack() as stack:
        held = [await stack.enter_async_context(connected(servers.rest_url)) for _ in range(3)]
        for raw in held:  # each one in use: the server has counted it
            assert (await raw.get("/v1/health")).startswith(b"HTTP/1.1 200")
        async with connected(servers.rest_url) as silent:  # says nothing: answered within a second
            answer = await silent.rest()
        assert answer.startswith(b"HTTP/1.1 503")
        assert problem_of(answer)["title"] == "Too many connections"
        async with connected(servers.rest_url) as asking:  # sends its request: reads the 503, not a reset
            await asking.send(f"GET /v1/health HTTP/1.1\r\nHost: {asking.host}\r\n\r\n".encode())
            assert problem_of(await asking.rest())["status"] == 503
        held[0].close()
        # Once one goes, a new connection is served again (its closing reaches the server in a moment).
        async with asyncio.timeout(BOUND_S):
            while True:
                async with connected(servers.rest_url) as again:
                    if (await again.get("/v1/health")).startswith(b"HTTP/1.1 200"):
                        break
                await asyncio.sleep(0.05)


async def test_a_connection_that_says_nothing_is_closed_after_the_idle_timeout(relay: Relay) -> None:
    async with limited(relay, idle_timeout_s=0.2) as servers:
        for url in (servers.rest_url, servers.mcp_url):
            async with connected(url) as silent:
                assert await silent.rest() == b""  # closed, without an answer to a request never made
            async with connected(url) as kept_alive:  # and after an answer, the same
                await kept_alive.get("/v1/health")
                assert b"HTTP/1.1" not in await kept_alive.rest()


@pytest.mark.parametrize(
    "sent",
    [
        b"POST /v1/job/" + CRON_JOB.encode() + b"/deploy HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty",
        # A body cut short that is valid JSON already: it must not be taken for the whole body.
        b"POST /v1/job/" + CRON_JOB.encode() + b"/deploy HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b'Content-Type: application/json\r\nContent-Length: 40\r\n\r\n{"image_tag": "v2"}',
    ],
    ids=["a head cut short", "a body cut short"],
)
@pytest.mark.parametrize("surface", ["rest", "mcp"])
async def test_a_request_that_does_not_arrive_whole_in_time_is_408_and_nothing_is_done(
    relay: Relay, sent: bytes, surface: str
) -> None:
    async with limited(relay, request_timeout_s=0.3) as servers:
        url = servers.rest_url if surface == "rest" else servers.mcp_url
        if surface == "mcp":
            sent = sent.replace(f"/v1/job/{CRON_JOB}/deploy".encode(), b"/mcp")
        async with connected(url) as trickle:
            await trickle.send(sent)
            answer = await trickle.rest()
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert problem_of(answer)["title"] == "Request timeout"
    assert relay.sim.requests == []
    assert relay.audit_outcomes() == []


async def test_get_mcp_streams_are_capped(relay: Relay) -> None:
    async with limited(relay, max_streams=2) as servers, contextlib.AsyncExitStack() as stack:
        for _ in range(2):
            stream = await stack.enter_async_context(connected(servers.mcp_url))
            head = await stream.get("/mcp", *STREAM)
            assert head.startswith(b"HTTP/1.1 200") and b"text/event-stream" in head
        async with connected(servers.mcp_url) as third:
            head = await third.get("/mcp", *STREAM)
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            body = await asyncio.wait_for(third.reader.readexactly(length), BOUND_S)
    assert head.startswith(b"HTTP/1.1 503")
    assert b"retry-after: 5" in head.lower()
    assert json.loads(body)["type"] == "urn:qjob-tui:problem:too-many-streams"


async def test_a_stop_ends_the_streams_and_closes_idle_connections_without_waiting(relay: Relay) -> None:
    # A grace far beyond the bound: a stop that waited for any of these would not end within it.
    servers = RelayServers(
        relay.runtime, limits=ServerLimits(shutdown_grace_s=10 * BOUND_S, idle_timeout_s=600)
    )
    async with servers, contextlib.AsyncExitStack() as stack:
        await servers.wait_started()
        streams = [await stack.enter_async_context(connected(servers.mcp_url)) for _ in range(3)]
        for stream in streams:
            assert (await stream.get("/mcp", *STREAM)).startswith(b"HTTP/1.1 200")
        idle = [await stack.enter_async_context(connected(servers.rest_url)) for _ in range(5)]
        await idle[0].get("/v1/health")
        async with asyncio.timeout(BOUND_S):
            await servers.stop()
        for stream in streams:  # each stream ended as a chunked answer ends, then its connection closed
            assert (await stream.rest()).endswith(b"0\r\n\r\n")
        for connection in idle:
            assert b"HTTP/1.1" not in await connection.rest()


async def test_a_stop_during_discovery_does_not_wait_for_it(tmp_path: Path) -> None:
    """The jobs' names come from Qovery; Qovery holds its answer far past the bound: a stop ends the wait."""
    sim = quiet_simulator()
    sim.inject(method="GET", path=f"/job/{CRON_JOB}$", delay_s=10 * BOUND_S, times=None)
    async with serve_simulator(sim) as url:
        settings = relay_settings(tmp_path, url, jobs=[CRON_JOB], timeout_s=10 * BOUND_S)
        async with open_runtime(settings) as runtime:
            stop = asyncio.Event()
            serving = asyncio.create_task(serve_headless(runtime, stop=stop, stderr=io.StringIO()))
            async with asyncio.timeout(BOUND_S):
                while not any(r.path == f"/job/{CRON_JOB}" for r in sim.requests):  # noqa: ASYNC110
                    await asyncio.sleep(0.01)  # (discovery, under way in the relay)
                stop.set()
                assert await serving == 0


async def test_a_request_waiting_when_the_idle_deadline_comes_is_answered_not_reset(relay: Relay) -> None:
    """A loaded loop may come to a kept-alive connection's idle deadline before it reads the request that has
    just arrived on it. Closing then would reset the connection (a socket closed with bytes unread sends RST):
    the client, whose POST may be an action, could not tell whether it ran. The request is read and answered."""
    async with limited(relay, idle_timeout_s=0.2) as servers:
        host, port = servers.rest_url.removeprefix("http://").rsplit(":", 1)
        loop = asyncio.get_running_loop()
        with socket.create_connection((host, int(port))) as client:
            client.setblocking(False)
            health = f"GET /v1/health HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
            await loop.sock_sendall(client, health)
            assert (await answer_on(client)).startswith(b"HTTP/1.1 200")
            # The loop is busy past the deadline (time.sleep holds it, as load does), then its next round runs
            # this task first and the overdue deadline after it, before it looks at the sockets again: the
            # request below is in the server's socket, unread, when the deadline comes.
            time.sleep(0.4)  # noqa: ASYNC251 - holding the loop is the point
            await asyncio.sleep(0)
            deploy = (
                f"POST /v1/job/{CRON_JOB}/deploy HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Length: 0\r\n\r\n"
            )
            client.send(deploy.encode())
            answer = await answer_on(client)
    assert answer.startswith(b"HTTP/1.1 202"), answer
    assert [request.method for request in relay.upstream_actions] == ["POST"]


async def answer_on(client: socket.socket) -> bytes:
    """One whole answer with a Content-Length on `client`, or what came before the connection closed."""
    loop = asyncio.get_running_loop()
    received = b""
    async with asyncio.timeout(BOUND_S):
        while b"\r\n\r\n" not in received or len(received.partition(b"\r\n\r\n")[2]) < content_length(
            received
        ):
            chunk = await loop.sock_recv(client, 65536)
            if not chunk:
                break
            received += chunk
    return received


def content_length(answer: bytes) -> int:
    head = answer.partition(b"\r\n\r\n")[0].lower()
    return int(head.split(b"content-length: ")[1].split(b"\r\n")[0]) if b"content-length: " in head else 0


async def test_blank_lines_between_requests_do_not_hold_a_connection_open(relay: Relay) -> None:
    async with limited(relay, idle_timeout_s=0.2) as servers:
        for url in (servers.rest_url, servers.mcp_url):
            async with connected(url) as kept_alive:
                await kept_alive.get("/v1/health")
                await kept_alive.send(b"\r\n")  # begins no request (a parser skips it), and is no request
                assert b"HTTP/1.1" not in await kept_alive.rest()


def test_idle_connections_outlive_the_pools_of_the_clients_that_reuse_them() -> None:
    """A keep-alive client reuses its pooled connection until its own expiry. Had the relay the same deadline
    (httpx's 5 s), a request sent at the last moment would meet the relay closing the connection: a reset or
    no answer, and a caller who cannot tell whether its action ran. The relay keeps an idle connection well
    past the pools of the clients that talk to it: httpx, httpx2 (the MCP SDK's) and aiohttp (its
    documented 15 s)."""
    pools = [httpx.Limits().keepalive_expiry, httpx2.Limits().keepalive_expiry, 15.0]
    assert ServerLimits().idle_timeout_s >= 2 * max(expiry or 0.0 for expiry in pools)


async def test_connections_that_come_as_the_relay_stops_are_each_closed(relay: Relay) -> None:
    """A client connects in every round of the loop while the relay stops. asyncio makes an accepted
    connection's transport a round or two after accepting it; had the stop closed the listener in between, that
    connection would be neither served nor closed (its client waiting for nothing, its half-made transport an
    unclosed-resource warning when collected), or the stop would not see it (it would close at its idle
    deadline, here far past the bound). Every client sees its connection closed, and nothing is left unclosed."""
    loop = asyncio.get_running_loop()
    servers = RelayServers(relay.runtime, limits=ServerLimits(idle_timeout_s=10 * BOUND_S))
    open_clients: list[socket.socket] = []
    async with servers:
        await servers.wait_started()
        host, port = servers.rest_url.removeprefix("http://").rsplit(":", 1)
        stopping = asyncio.create_task(servers.stop())
        with contextlib.suppress(ConnectionRefusedError):  # until the port is closed
            while not stopping.done():
                client = socket.create_connection((host, int(port)))
                client.setblocking(False)
                open_clients.append(client)
                if len(open_clients) > 20:  # the last ones are those the stop may miss
                    open_clients.pop(0).close()
                await asyncio.sleep(0)
        await stopping
    for client in open_clients:
        with client:
            try:
                async with asyncio.timeout(BOUND_S):
                    assert await loop.sock_recv(client, 1) == b""
            except ConnectionResetError:  # still in the listener's queue when it closed
                pass
    gc.collect()  # a transport left half-made would warn now, in this test
