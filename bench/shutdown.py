"""How long `qjob-tui --serve` takes from SIGTERM to its exit, with nothing open and with 1,000 idle connections
and 100 open `GET /mcp` streams (the goal: under 2 s).

    .venv/bin/python bench/shutdown.py              # 3 rounds, about half a minute
    .venv/bin/python bench/shutdown.py --rounds 5 --idle 1000 --streams 100

Method. Each round starts a real `qjob-tui --serve --demo` (the embedded simulator behind it) in a process of
its own, on free loopback ports, and waits for its start line. Then, for the loaded case, it opens `--idle`
connections to the REST port, each with one `GET /v1/health` answered and then left idle (kept alive), and
`--streams` `GET /mcp` streams on the MCP port, each with its answer's head read (open, nothing more to
come). It sends SIGTERM and measures until the process has exited. The quiet case (nothing open) is the
baseline of the same round: start-up cost and Python's own exit are in both. Rounds alternate the two cases.
The figures are wall-clock on a shared machine: read the median, and the ratio to the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import resource
import signal
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

GOAL_S = 2.0
START = re.compile(r"serving REST http://(?P<rest>[^/\s]+)/v1 and MCP http://(?P<mcp>[^/\s]+)/mcp ")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def start_relay(home: Path) -> tuple[asyncio.subprocess.Process, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QJOB_TUI_", "QOVERY_"))}
    for name in ("HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME"):
        (home / name.lower()).mkdir(exist_ok=True)
        env[name] = str(home / name.lower())
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "qjob_tui", "--serve", "--demo",
        "--rest-port", str(free_port()), "--mcp-port", str(free_port()),
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        env=env,
    )  # fmt: skip
    assert process.stderr is not None
    async with asyncio.timeout(60):
        while True:
            line = (await process.stderr.readline()).decode()
            if not line:
                raise RuntimeError("qjob-tui --serve exited before serving")
            if match := START.search(line):
                return process, match["rest"], match["mcp"]


async def open_connection(address: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    host, port = address.rsplit(":", 1)
    return await asyncio.open_connection(host, int(port))


async def idle_connection(address: str) -> asyncio.StreamWriter:
    reader, writer = await open_connection(address)
    writer.write(f"GET /v1/health HTTP/1.1\r\nHost: {address}\r\n\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    await reader.readexactly(length)
    return writer  # answered, kept alive, idle


async def open_stream(address: str) -> asyncio.StreamWriter:
    reader, writer = await open_connection(address)
    writer.write(
        f"GET /mcp HTTP/1.1\r\nHost: {address}\r\nAccept: text/event-stream\r\n"
        "MCP-Protocol-Version: 2025-06-18\r\n\r\n".encode()
    )
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"GET /mcp was not a stream: {head[:80]!r}")
    return writer


async def one_round(idle: int, streams: int) -> float:
    """Seconds from SIGTERM to exit, with `idle` idle connections and `streams` streams open."""
    with tempfile.TemporaryDirectory() as home:
        process, rest, mcp = await start_relay(Path(home))
        held: list[asyncio.StreamWriter] = []
        try:
            for start in range(0, idle, 100):  # a hundred at a time: the accept backlog stays short
                held += await asyncio.gather(*(idle_connection(rest) for _ in range(min(100, idle - start))))
            held += await asyncio.gather(*(open_stream(mcp) for _ in range(streams)))
            began = time.perf_counter()
            process.send_signal(signal.SIGTERM)
            assert process.stderr is not None
            drained = asyncio.ensure_future(process.stderr.read())  # a full pipe must not hold the exit
            code = await asyncio.wait_for(process.wait(), 120)
            elapsed = time.perf_counter() - began
            await drained
            if code != 0:
                raise RuntimeError(f"qjob-tui --serve exited {code}")
            return elapsed
        finally:
            for writer in held:
                writer.close()
            if process.returncode is None:
                process.kill()
                await process.wait()


async def measure(args: argparse.Namespace) -> tuple[list[float], list[float]]:
    quiet: list[float] = []
    loaded: list[float] = []
    for round_number in range(args.rounds):
        quiet.append(await one_round(0, 0))
        loaded.append(await one_round(args.idle, args.streams))
        print(
            f"round {round_number + 1}: nothing open {quiet[-1]:.2f} s; "
            f"{args.idle} idle + {args.streams} streams {loaded[-1]:.2f} s",
            flush=True,
        )
    return quiet, loaded


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/shutdown.py", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--idle", type=int, default=1000, help="idle keep-alive connections to REST")
    parser.add_argument("--streams", type=int, default=100, help="open GET /mcp streams")
    args = parser.parse_args(argv)
    with contextlib.suppress(ValueError, OSError):  # this process holds every client socket
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(
            resource.RLIMIT_NOFILE, (max(soft, min(hard, args.idle + args.streams + 256)), hard)
        )
    quiet, loaded = asyncio.run(measure(args))
    quiet_s, loaded_s = statistics.median(quiet), statistics.median(loaded)
    verdict = "met" if max(loaded) < GOAL_S else "NOT met"
    print(
        f"SIGTERM to exit, median of {args.rounds}: nothing open {quiet_s:.2f} s; "
        f"{args.idle} idle connections + {args.streams} GET /mcp streams {loaded_s:.2f} s "
        f"(x{loaded_s / quiet_s:.2f}; worst {max(loaded):.2f} s); goal under {GOAL_S:g} s: {verdict}"
    )
    return 0 if verdict == "met" else 1


if __name__ == "__main__":
    raise SystemExit(main())
