"""`qjob-tui mcp`: the MCP tools over stdio (newline-delimited JSON-RPC), for clients that start their servers as
a command (Claude Desktop, Claude Code, editors). The same `build_mcp_server(runtime)` as Streamable HTTP.

stdout carries JSON-RPC and nothing else: the SDK's stdio transport serves the wire from its own copy of file
descriptor 1 and points descriptor 1 at stderr while it serves, so that a stray print cannot break a frame.
stderr gets the start line, one line per action (as `--serve` prints them) and every warning, one line each.

The job board is learnt before the first request is answered (a request that came earlier would be refused
as "not configured" for a job of a configured environment), then kept fresh by the runtime's lifecycle.
Without a dashboard in the process, an action in `server.approve` is refused at once (approval-unavailable).
The server ends when the client closes stdin, or on SIGINT/SIGTERM; the audit log is flushed; exit code 0.
stdin is read on the event loop (`StdinLines`), not in the SDK's worker thread: a read blocked in a thread
cannot be cancelled, and a stop signal would wait for the client's next line.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Callable
from typing import Any, TextIO, cast

from mcp.server.mcpserver import MCPServer
from mcp.server.stdio import stdio_server

from qjob_tui import __version__, strictjson
from qjob_tui.lines import PROGRAM, action_line, note_line
from qjob_tui.runtime import Runtime
from qjob_tui.server.headless import gated_note, jobs_summary, shown_api
from qjob_tui.server.mcp_tools import build_mcp_server
from qjob_tui.server.serving import route_warnings
from qjob_tui.signals import STOP_SIGNALS, on_signals


def start_line(runtime: Runtime) -> str:
    """What the client's log (stderr) says first: what serves, against what, on which jobs; never the token."""
    return (
        f"{PROGRAM} {__version__} serving MCP over stdio against {shown_api(runtime)}; {jobs_summary(runtime)};"
        f"{gated_note(runtime)} audit {runtime.audit.path}"
    )


async def serve_stdio(runtime: Runtime, *, stderr: TextIO | None = None) -> int:
    """Serve the MCP tools on this process's stdin and stdout until the client closes stdin or a stop signal
    arrives; returns the exit code."""
    out = stderr or sys.stderr

    def say(text: str) -> None:
        print(text, file=out, flush=True)

    stopped = asyncio.Event()
    restore_signals = on_signals(STOP_SIGNALS, stopped.set)
    unroute = route_warnings(lambda text: say(note_line(text)))
    lifecycle = runtime.lifecycle
    unsubscribe = [
        runtime.pipeline.subscribe(lambda outcome: say(action_line(outcome))),
        lifecycle.subscribe(lambda note: say(note_line(note.message))),
    ]
    try:
        lifecycle.start()
        await lifecycle.discovered()
        server = build_mcp_server(runtime)
        say(start_line(runtime))
        serving = asyncio.ensure_future(_serve(server, await StdinLines.open(warn=say)))
        stopping = asyncio.ensure_future(stopped.wait())
        await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not serving.done():
            say(note_line("stopping"))
            serving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await serving
    finally:
        await lifecycle.stop()
        for undo in unsubscribe:
            undo()
        unroute()
        restore_signals()
    runtime.audit.flush()
    say(note_line("stopped"))
    return 0


#: The longest line (one JSON-RPC message) read from stdin; a longer one is skipped, with a warning.
LINE_LIMIT_BYTES = 4 * 1024 * 1024


async def _serve(server: MCPServer, stdin: StdinLines | None) -> None:
    """What `MCPServer.run_stdio_async` does, with our stdin (None: the SDK's own, for a regular file)."""
    # The SDK's claim of stdout stays: descriptor 1 points at stderr while the wire has a copy of its own.
    async with stdio_server(stdin=cast(Any, stdin)) as (read_stream, write_stream):
        # The low-level server behind MCPServer: the SDK's own in-memory client reaches it the same way.
        lowlevel = server._lowlevel_server
        await lowlevel.run(read_stream, write_stream, lowlevel.create_initialization_options())


class StdinLines:
    """stdin's lines as the SDK's stdio transport reads them (`async for line in stdin`), read on the event
    loop so that the read can be cancelled."""

    def __init__(self, reader: asyncio.StreamReader, warn: Callable[[str], None]) -> None:
        self._reader = reader
        self._warn = warn

    @classmethod
    async def open(cls, *, warn: Callable[[str], None]) -> StdinLines | None:
        """stdin (a copy of descriptor 0) on the event loop; None when it cannot be (a regular file, which
        never blocks: the SDK's reader serves it)."""
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=LINE_LIMIT_BYTES, loop=loop)
        pipe = os.fdopen(os.dup(sys.stdin.fileno()), "rb", buffering=0)
        try:
            await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader, loop=loop), pipe)
        except (ValueError, OSError):
            pipe.close()
            return None
        return cls(reader, warn)

    def __aiter__(self) -> StdinLines:
        return self

    async def __anext__(self) -> str:
        try:
            line = await self._reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as exc:  # the client closed stdin
            if not exc.partial:
                raise StopAsyncIteration from None
            line = exc.partial
        except asyncio.LimitOverrunError:
            await self._skip_line()
            self._warn(note_line(f"a message over {LINE_LIMIT_BYTES} bytes on stdin was skipped"))
            return "\n"  # not JSON-RPC: the SDK answers it as a parse error and reads on
        try:  # the same strict JSON as every other door (the SDK's parser takes NaN, keys twice, surrogates)
            if line.strip():
                strictjson.loads(line)
        except strictjson.JSONRefused as exc:
            self._warn(note_line(f"a message on stdin that is not strict JSON was refused ({exc})"))
            return "\n"  # answered as a parse error, like any line that is not JSON-RPC
        return line.decode("utf-8", "replace")

    async def _skip_line(self) -> None:
        while True:
            try:
                await self._reader.readuntil(b"\n")
                return
            except asyncio.LimitOverrunError as exc:
                await self._reader.readexactly(exc.consumed)
            except asyncio.IncompleteReadError:
                return
