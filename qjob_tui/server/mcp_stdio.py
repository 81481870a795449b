"""`qjob-tui mcp`: the MCP tools over stdio (newline-delimited JSON-RPC), for clients that start their servers as
a command (Claude Desktop, Claude Code, editors). The same `build_mcp_server(runtime)` as Streamable HTTP.

stdout carries JSON-RPC and nothing else: the SDK's stdio transport serves the wire from its own copy of file
descriptor 1 and points descriptor 1 at stderr while it serves, so that a stray print cannot break a frame.
stderr gets the start line, one line per action (as `--serve` prints them) and every warning, one line each.

The job board is learnt before the first request is answered (a request that came earlier would be refused
as "not configured" for a job of a configured environment), then kept fresh by the runtime's lifecycle.
Without a dashboard in the process, an action in `server.approve` is refused at once (approval-unavailable).
The server ends when the client closes stdin (once the requests in flight are answered), or on SIGINT/SIGTERM;
the audit log is flushed; exit code 0. stdin is read on the event loop (`StdinLines`), not in the SDK's worker
thread: a read blocked in a thread cannot be cancelled, and a stop signal would wait for the client's next line.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import json
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any, BinaryIO, TextIO, cast

from mcp.server.mcpserver import MCPServer
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage
from mcp.types import PARSE_ERROR, ErrorData, JSONRPCError

from qjob_tui import __version__, strictjson
from qjob_tui.lines import PROGRAM, LinePrinter, action_line, note_line
from qjob_tui.runtime import Runtime
from qjob_tui.server.headless import gated_note, jobs_summary, read_only_note, shown_api
from qjob_tui.server.mcp_tools import build_mcp_server
from qjob_tui.server.serving import route_warnings
from qjob_tui.signals import STOP_SIGNALS, on_signals


def start_line(runtime: Runtime) -> str:
    """What the client's log (stderr) says first: what serves, against what, on which jobs; never the token."""
    return (
        f"{PROGRAM} {__version__} serving MCP over stdio against {shown_api(runtime)}; "
        f"{read_only_note(runtime)}{jobs_summary(runtime)};"
        f"{gated_note(runtime)} audit {runtime.audit.path}"
    )


async def serve_stdio(runtime: Runtime, *, stderr: TextIO | None = None) -> int:
    """Serve the MCP tools on this process's stdin and stdout until the client closes stdin or a stop signal
    arrives; returns the exit code."""
    out = stderr or sys.stderr

    say = LinePrinter(out, runtime.redactor)  # no secret, no control character reaches the client's log

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
        server = build_mcp_server(runtime, operator=False)  # no dashboard: gated tools are refused
        say(start_line(runtime))
        for note in runtime.audit.notes:  # e.g. an audit file that had to be made private
            say(note_line(note))
        # At the end of stdin, what is in flight gets its answer: an action within Qovery's timeout.
        drain_s = runtime.settings.config.qovery.timeout_s + 5
        stdin = await StdinLines.open(warn=say, drain_s=drain_s)
        serving = asyncio.ensure_future(_serve(server, stdin))
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


async def _serve(server: MCPServer, stdin: StdinLines) -> None:
    """What `MCPServer.run_stdio_async` does, with our stdin, and the answers watched (`Unanswered`)."""
    # The SDK's claim of stdout stays: descriptor 1 points at stderr while the wire has a copy of its own.
    async with stdio_server(stdin=cast(Any, stdin)) as (read_stream, write_stream):
        # The low-level server behind MCPServer: the SDK's own in-memory client reaches it the same way.
        lowlevel = server._lowlevel_server
        watched = _AnswersWatched(write_stream, stdin.unanswered)
        stdin.answer_refused = functools.partial(_answer_refused, watched)
        await lowlevel.run(read_stream, watched, lowlevel.create_initialization_options())


async def _answer_refused(stream: _AnswersWatched, message_id: str | int | None, reason: str) -> None:
    """JSON-RPC's answer to a line it cannot take: a parse error, with the request's id when one can be read
    from the line (so that its client stops waiting for it), else a null id."""
    error = JSONRPCError(jsonrpc="2.0", id=message_id, error=ErrorData(code=PARSE_ERROR, message=reason))
    await stream.send(SessionMessage(error))


class Unanswered:
    """The requests read from stdin that the server has not answered yet, by JSON-RPC id. When stdin ends,
    the SDK would cancel them: an action already sent to Qovery would lose its answer, and its audit line.
    So the end of stdin waits (up to a bound) until they are answered."""

    def __init__(self) -> None:
        self._ids: set[str] = set()
        self._none = asyncio.Event()
        self._none.set()

    def read(self, message: object) -> None:
        """A message from the client: a request waits for its answer; a cancellation ends that wait (the
        SDK does not answer a request its client cancelled)."""
        if not isinstance(message, dict):
            return
        if "method" in message and "id" in message:
            self._ids.add(_id_key(message["id"]))
            self._none.clear()
        elif message.get("method") == "notifications/cancelled":
            params = message.get("params")
            if isinstance(params, dict) and "requestId" in params:
                self._done(_id_key(params["requestId"]))

    def answered(self, message: object) -> None:
        """A message the server sends: a result or an error answers the request of its id."""
        if not hasattr(message, "method") and hasattr(message, "id"):
            self._done(_id_key(message.id))

    def __len__(self) -> int:
        return len(self._ids)

    def _done(self, key: str) -> None:
        self._ids.discard(key)
        if not self._ids:
            self._none.set()

    async def settled(self, within_s: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._none.wait(), within_s)


def _id_key(value: object) -> str:
    return json.dumps(value)  # 1 and "1" are two ids


class _AnswersWatched:
    """The server's write stream, telling `Unanswered` of each answer once it is on its way to stdout."""

    def __init__(self, stream: Any, unanswered: Unanswered) -> None:
        self._stream = stream
        self._unanswered = unanswered

    async def send(self, item: Any, /) -> None:
        await self._stream.send(item)
        self._unanswered.answered(getattr(item, "message", None))

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def __aenter__(self) -> _AnswersWatched:
        await self._stream.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> bool | None:
        result: bool | None = await self._stream.__aexit__(*exc)
        return result


class _TooLong(Exception):
    """A line over LINE_LIMIT_BYTES (what was read of it is dropped, and the rest of it skipped)."""


class StdinLines:
    """stdin's lines as the SDK's stdio transport reads them (`async for line in stdin`): a pipe, a socket or
    a terminal on the event loop, so that the read can be cancelled; a regular file (which never blocks) in a
    worker thread. Each line is strict JSON (the SDK's parser takes NaN, keys twice, surrogates) or is
    answered as a parse error; at the end, what is unanswered is answered first (`Unanswered`)."""

    def __init__(
        self,
        next_line: Callable[[], Awaitable[bytes]],
        warn: Callable[[str], None],
        drain_s: float,
    ) -> None:
        self._next_line = next_line  # b"" at the end; _TooLong
        self._warn = warn
        self._drain_s = drain_s
        self.unanswered = Unanswered()
        # Answers a refused line on the wire (set once the server's write stream exists).
        self.answer_refused: Callable[[str | int | None, str], Awaitable[None]] | None = None

    @classmethod
    async def open(cls, *, warn: Callable[[str], None], drain_s: float) -> StdinLines:
        """Over a copy of descriptor 0."""
        loop = asyncio.get_running_loop()
        source = os.fdopen(os.dup(sys.stdin.fileno()), "rb", buffering=0)
        reader = asyncio.StreamReader(limit=LINE_LIMIT_BYTES, loop=loop)
        try:
            await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader, loop=loop), source)
        except (ValueError, OSError):  # a regular file
            return cls(functools.partial(_file_line, io.BufferedReader(source)), warn, drain_s)
        return cls(functools.partial(_stream_line, reader), warn, drain_s)

    def __aiter__(self) -> StdinLines:
        return self

    async def __anext__(self) -> str:
        try:
            line = await self._next_line()
        except _TooLong:
            self._warn(note_line(f"a message over {LINE_LIMIT_BYTES} bytes on stdin was skipped"))
            await self._refuse(b"", f"the message is over {LINE_LIMIT_BYTES} bytes")
            return "\n"  # a blank line: the SDK skips it and reads on
        if not line:  # the client closed stdin: answer what is in flight, then end
            await self.unanswered.settled(self._drain_s)
            raise StopAsyncIteration
        try:  # the same strict JSON as every other door
            message = strictjson.loads(line) if line.strip() else None
        except strictjson.JSONRefused as exc:
            self._warn(note_line(f"a message on stdin that is not strict JSON was refused ({exc})"))
            await self._refuse(line, f"Parse error: not strict JSON ({exc})")
            return "\n"  # a blank line: the SDK skips it and reads on
        self.unanswered.read(message)
        return line.decode("utf-8", "replace")

    async def _refuse(self, line: bytes, reason: str) -> None:
        if self.answer_refused is not None:
            await self.answer_refused(_lenient_id(line), reason)


def _lenient_id(line: bytes) -> str | int | None:
    """The id a refused line would have had, read leniently (the line was refused for NaN, a key twice...): the
    error answer carries it, so that the client stops waiting. None when it cannot be told."""
    try:
        message = json.loads(line)
    except (ValueError, RecursionError):
        return None
    value = message.get("id") if isinstance(message, dict) else None
    return (
        value if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)) else None
    )


async def _stream_line(reader: asyncio.StreamReader) -> bytes:
    try:
        return await reader.readuntil(b"\n")
    except asyncio.IncompleteReadError as exc:  # the end, maybe after a last line without its newline
        return exc.partial
    except asyncio.LimitOverrunError as exc:
        consumed = exc.consumed
        while True:  # skip the rest of the line
            await reader.readexactly(consumed)
            try:
                await reader.readuntil(b"\n")
                break
            except asyncio.LimitOverrunError as more:
                consumed = more.consumed
            except asyncio.IncompleteReadError:
                break
        raise _TooLong from None


async def _file_line(source: BinaryIO) -> bytes:
    line = await asyncio.to_thread(source.readline, LINE_LIMIT_BYTES + 1)
    if len(line) <= LINE_LIMIT_BYTES or line.endswith(b"\n"):
        return line
    while True:  # skip the rest of the line
        rest = await asyncio.to_thread(source.readline, LINE_LIMIT_BYTES)
        if not rest or rest.endswith(b"\n"):
            raise _TooLong
