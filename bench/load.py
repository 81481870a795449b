"""Load generators for bench/relay.py, run in a process of their own so that their CPU is not the relay's.

Two clients:

- `http`: a lean HTTP/1.1 client on raw asyncio streams. Each of `concurrency` keep-alive connections
  sends a pre-encoded request, reads the answer (status line, headers, Content-Length or chunked body)
  and sends the next. It costs a few tens of microseconds per request, so the servers, not the client,
  set the pace: that is what lets a throughput ratio show the relay's cost.
- `mcp`: the official MCP client (`mcp.Client(url)`), `concurrency` tool calls in flight on one client,
  as an agent would drive it. It is far heavier per call than the raw client; its figures say so.

As a worker (`python bench/load.py`), it reads one JSON command per line on stdin and answers one JSON
result per line on stdout, so that one warm process serves every round of a benchmark.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit


@dataclass
class LoadResult:
    """How many calls completed in `elapsed_s`, and what they answered (`status` -> count)."""

    calls: int = 0  # inside the measured window
    elapsed_s: float = 0.0
    total_calls: int = 0  # including the warm-up and the calls that ended after the window
    outcomes: dict[str, int] = field(default_factory=dict)

    @property
    def per_second(self) -> float:
        return self.calls / self.elapsed_s if self.elapsed_s > 0 else 0.0


def http_request(
    method: str, url: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> tuple[str, int, bytes]:
    """(host, port, request bytes) of one HTTP/1.1 keep-alive request, encoded once and sent many times."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return host, port, ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class RawConnection:
    """One keep-alive HTTP/1.1 connection that sends a request and reads its whole answer."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, host: str, port: int) -> RawConnection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length, chunked = 0, False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if not chunked:
            return status, await self.reader.readexactly(length) if length else b""
        body = bytearray()
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunk = await self.reader.readexactly(size + 2)
            if size == 0:
                return status, bytes(body)
            body += chunk[:-2]

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()


async def _timed(
    concurrency: int,
    duration_s: float,
    warmup_s: float,
    make_worker: Callable[[int], Callable[[], Any]],
    setup: Callable[[int], Any] | None = None,
) -> LoadResult:
    """Run `concurrency` loops of calls; count only the calls that finish inside the measured window."""
    result = LoadResult()
    outcomes: Counter[str] = Counter()
    window: dict[str, float] = {}
    stop = asyncio.Event()

    async def loop(index: int) -> None:
        call = make_worker(index)
        while not stop.is_set():
            outcome = await call()
            result.total_calls += 1
            now = time.perf_counter()
            if window and window["start"] <= now <= window["end"]:
                result.calls += 1
                outcomes[str(outcome)] += 1

    tasks = [asyncio.create_task(loop(i)) for i in range(concurrency)]
    try:
        await asyncio.sleep(warmup_s)
        window["start"] = time.perf_counter()
        window["end"] = window["start"] + duration_s
        await asyncio.sleep(duration_s)
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=60)
    finally:
        for task in tasks:
            task.cancel()
    result.elapsed_s = duration_s
    result.outcomes = dict(outcomes)
    return result


async def http_throughput(
    requests: Sequence[tuple[str, int, bytes]], concurrency: int, duration_s: float, warmup_s: float
) -> LoadResult:
    """Keep `concurrency` raw connections busy with `requests` (round-robin) for `duration_s`."""
    host, port, _ = requests[0]
    connections = [await RawConnection.open(host, port) for _ in range(concurrency)]
    try:

        def worker(index: int) -> Callable[[], Any]:
            connection, position = connections[index], index

            async def call() -> int:
                nonlocal position
                position += 1
                status, _ = await connection.exchange(requests[position % len(requests)][2])
                return status

            return call

        return await _timed(concurrency, duration_s, warmup_s, worker)
    finally:
        for connection in connections:
            await connection.close()


@contextlib.asynccontextmanager
async def mcp_client(url: str) -> AsyncIterator[Any]:
    """The official MCP client, connected (auto mode: 2026-07-28 against an SDK 2.x server)."""
    from mcp import Client

    async with Client(url) as client:
        yield client


async def mcp_throughput(
    client: Any,
    calls: Sequence[tuple[str, dict[str, Any]]],
    concurrency: int,
    duration_s: float,
    warmup_s: float,
) -> LoadResult:
    """Keep `concurrency` tool calls in flight on one MCP client for `duration_s`."""

    def worker(index: int) -> Callable[[], Any]:
        position = index

        async def call() -> str:
            nonlocal position
            position += 1
            tool, arguments = calls[position % len(calls)]
            result = await client.call_tool(tool, arguments)
            return "isError" if result.is_error else "ok"

        return call

    return await _timed(concurrency, duration_s, warmup_s, worker)


async def serve_commands() -> None:
    """The worker loop: one JSON command per stdin line -> one JSON LoadResult per stdout line.

    {"kind": "http", "requests": [[method, url, headers, body-text], ...], "concurrency": 32, "duration_s": 2}
    {"kind": "mcp", "url": ..., "calls": [[tool, arguments], ...], "concurrency": 32, "duration_s": 2}
    """
    clients: dict[str, Any] = {}
    async with contextlib.AsyncExitStack() as stack:
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line.strip():
                return
            command = json.loads(line)
            warmup = float(command.get("warmup_s", 0.3))
            if command["kind"] == "http":
                requests = [http_request(m, u, h, b.encode()) for m, u, h, b in command["requests"]]
                result = await http_throughput(
                    requests, command["concurrency"], command["duration_s"], warmup
                )
            else:
                url = command["url"]
                if url not in clients:
                    clients[url] = await stack.enter_async_context(mcp_client(url))
                calls = [(tool, arguments) for tool, arguments in command["calls"]]
                result = await mcp_throughput(
                    clients[url], calls, command["concurrency"], command["duration_s"], warmup
                )
            print(json.dumps(asdict(result)), flush=True)


if __name__ == "__main__":
    print("READY", flush=True)
    asyncio.run(serve_commands())
