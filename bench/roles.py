"""The servers of bench/relay.py, each run in a process of its own:

    python bench/roles.py upstream [--latency-s S]           the simulator, phase_s=0, nothing recorded
    python bench/roles.py relay --upstream URL --audit PATH --job ID ...   qjob-tui's REST and MCP servers
        [--client STACK] [--http h11|httptools] [--loop asyncio|uvloop]  on another HTTP stack (STACKS)
    python bench/roles.py peer --upstream URL                FastMCP's OpenAPI bridge (needs the bench extra)

Each prints one line `READY <url> [<url>]` on stdout once it serves, and stops when its stdin closes (so it
never outlives the benchmark) or on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from pydantic import SecretStr

AUTH_SCHEME = "Token"

# The Qovery client's transports bench/relay.py --stacks compares (`qjob-tui` is the one QoveryClient builds).
CLIENTS = ("qjob-tui", "httpx", "httpx-aiohttp")
HTTP_PARSERS = ("h11", "httptools")
LOOPS = ("asyncio", "uvloop")


async def _until_told_to_stop() -> None:
    """Return when stdin closes or SIGTERM/SIGINT arrives."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    eof = loop.run_in_executor(None, sys.stdin.read)
    waiter = asyncio.ensure_future(stop.wait())
    await asyncio.wait([eof, waiter], return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()


def _ready(*urls: str) -> None:
    print("READY", *urls, flush=True)


async def run_upstream(latency_s: float) -> None:
    from qjob_tui.simulator import Simulator, serve_simulator

    sim = Simulator(phase_s=0.0, latency_s=latency_s, record=False)
    async with serve_simulator(sim) as url:
        _ready(url)
        await _until_told_to_stop()


@contextlib.asynccontextmanager
async def relay_servers(upstream: str, token: str, audit: Path, jobs: Sequence[str]) -> AsyncIterator[object]:
    """qjob-tui's REST and MCP servers on free loopback ports, in front of `upstream`."""
    from qjob_tui.config import AuditSettings, Config, JobEntry, ServerSettings, Settings
    from qjob_tui.runtime import open_runtime
    from qjob_tui.server import RelayServers

    # Port 0 (any free port) as `--rest-port 0` gives it: the config file itself asks for a real port.
    server = ServerSettings().model_copy(update={"rest_port": 0, "mcp_port": 0})
    config = Config(jobs=[JobEntry(id=job) for job in jobs], server=server, audit=AuditSettings(path=audit))
    settings = Settings(config, None, upstream, SecretStr(token), None)
    async with open_runtime(settings) as runtime, RelayServers(runtime) as servers:
        await servers.wait_started()
        yield servers


def use_stack(client: str, http: str | None) -> None:
    """Build the relay on another stack than its own, for the comparison only: the Qovery client's transport
    (same pool size as QoveryClient's own) and the servers' HTTP parser."""
    import functools

    import httpx

    import qjob_tui.runtime
    from qjob_tui.qovery import QoveryClient
    from qjob_tui.server import RelayServers

    if client != "qjob-tui":
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        if client == "httpx":
            transport: httpx.AsyncBaseTransport = httpx.AsyncHTTPTransport(limits=limits, trust_env=False)
        else:
            from httpx_aiohttp import AiohttpTransport

            transport = AiohttpTransport(limits=limits, trust_env=False)
        qjob_tui.runtime.QoveryClient = functools.partial(QoveryClient, transport=transport)  # type: ignore[misc]
    if http is not None:
        config = RelayServers._config

        def with_parser(self: RelayServers, app: object, lifespan: str) -> object:
            built = config(self, app, lifespan)
            built.http = http
            return built

        RelayServers._config = with_parser  # type: ignore[method-assign,assignment]


async def run_relay(upstream: str, token: str, audit: Path, jobs: Sequence[str]) -> None:
    async with relay_servers(upstream, token, audit, jobs) as servers:
        _ready(servers.rest_url, servers.mcp_url)  # type: ignore[attr-defined]
        await _until_told_to_stop()


async def run_peer(upstream: str, token: str) -> None:
    import uvicorn
    from peer import build_bridge

    bridge = build_bridge(upstream, f"{AUTH_SCHEME} {token}")
    app = bridge.http_app(stateless_http=True, json_response=True)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    _ready(f"http://127.0.0.1:{port}/mcp")
    await _until_told_to_stop()
    server.should_exit = True
    await task


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench/roles.py")
    roles = parser.add_subparsers(dest="role", required=True)
    upstream = roles.add_parser("upstream")
    upstream.add_argument("--latency-s", type=float, default=0.0)
    relay = roles.add_parser("relay")
    relay.add_argument("--upstream", required=True)
    relay.add_argument("--token", required=True)
    relay.add_argument("--audit", type=Path, required=True)
    relay.add_argument("--job", action="append", required=True)
    relay.add_argument("--client", choices=CLIENTS, default="qjob-tui", help="the Qovery client's transport")
    relay.add_argument("--http", choices=HTTP_PARSERS, help="the servers' HTTP parser (default: the relay's)")
    relay.add_argument("--loop", choices=LOOPS, default="asyncio", help="the event loop")
    peer = roles.add_parser("peer")
    peer.add_argument("--upstream", required=True)
    peer.add_argument("--token", required=True)
    args = parser.parse_args(argv)
    if args.role == "upstream":
        asyncio.run(run_upstream(args.latency_s))
    elif args.role == "relay":
        use_stack(args.client, args.http)
        loop_factory = None
        if args.loop == "uvloop":
            import uvloop

            loop_factory = uvloop.new_event_loop
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            runner.run(run_relay(args.upstream, args.token, args.audit, args.job))
    else:
        asyncio.run(run_peer(args.upstream, args.token))


if __name__ == "__main__":
    main()
