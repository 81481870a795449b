"""serve_simulator: a real server on loopback inside the caller's loop, gone when the block ends."""

from __future__ import annotations

import asyncio
import signal
import socket

import httpx
import pytest

from qjob_tui.simulator import Simulator, serve_simulator

from .conftest import AUTH


async def test_it_serves_on_an_ephemeral_loopback_port_and_releases_it() -> None:
    sim = Simulator(phase_s=0)
    async with serve_simulator(sim) as url:
        assert url.startswith("http://127.0.0.1:")
        port = int(url.rsplit(":", 1)[1])
        assert port > 0
        async with httpx.AsyncClient(base_url=url, headers=AUTH) as client:
            assert (await client.get("/organization")).status_code == 200
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as client:
            await client.get(f"{url}/organization")
    # The port is free again: a new server can take it.
    async with serve_simulator(sim, port=port) as again:
        assert again == url


async def test_it_installs_no_signal_handlers() -> None:
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    async with serve_simulator(Simulator()) as url:
        during = {sig: signal.getsignal(sig) for sig in before}
        async with httpx.AsyncClient(base_url=url, headers=AUTH) as client:
            await client.get("/organization")
    assert during == before


async def test_an_address_in_use_raises_os_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError):
            async with serve_simulator(Simulator(), port=port):
                pass


async def test_keep_alive_connections_do_not_hold_the_server_open() -> None:
    sim = Simulator(phase_s=0)
    async with httpx.AsyncClient(headers=AUTH) as client:
        async with serve_simulator(sim) as url:
            for _ in range(3):
                assert (await client.get(f"{url}/organization")).status_code == 200
        assert len(sim.requests) == 3


@pytest.mark.parametrize("rounds", range(5))
async def test_a_connection_that_comes_as_the_server_stops_is_closed_too(rounds: int) -> None:
    """A connection accepted in the loop's last rounds before the stop reaches the server a round or two
    later (asyncio makes its transport in a task of its own): it must be closed with the others, not left
    open for the loop's end to find (a ResourceWarning that failed whichever test came next)."""
    loop = asyncio.get_running_loop()
    async with serve_simulator(Simulator(phase_s=0)) as url:
        client = socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])))
        client.setblocking(False)
        for _ in range(rounds):  # the stop comes this many rounds after the connection
            await asyncio.sleep(0)
    with client:
        try:
            async with asyncio.timeout(30):
                closed = await loop.sock_recv(client, 1)
        except ConnectionResetError:  # still waiting to be accepted when the port closed
            closed = b""
    assert closed == b""
