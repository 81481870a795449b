"""A hostile Qovery stand-in of our own: raw asyncio sockets, no HTTP framework, so that it can misbehave.

`HostileUpstream` reads HTTP/1.1 requests off real loopback connections (keep-alive, Content-Length or chunked
bodies), counts every request it received whole (`received`, before it answers), and answers each one with an
`Answer` taken from a script (`then(...)`) or from `default`. An answer can be a callable of the request, so
that it can echo what it got (`echo_authorization`: the token, the way a careless upstream puts it into an
error message) or name the request it answers (`numbered`). Answers go out as raw bytes, so they may be what
no well-behaved server sends:

- any status line, also outside 100-599 (`weird_status`);
- a 204 (or 304) that carries a body anyway (`no_content_with_body`);
- headers, then the body dripped a few bytes at a time (`drip`);
- a cut: the connection closed after part of the answer (`close_mid_answer`), or reset with no answer;
- an answer held until the test releases it (`hold`), for requests that must be in flight at a given moment.

The simulator is the well-behaved Qovery; this is the one that lies, stalls and echoes.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import socket
import struct
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

_MAX_HEAD = 64 * 1024


@dataclass(frozen=True)
class Received:
    """One request as it arrived, in arrival order (`seq` from 0) on connection `connection`."""

    seq: int
    connection: int
    method: str
    target: str  # the request target as sent: path and query
    headers: dict[str, str]  # lower-case names (a repeated header: the last value)
    raw_headers: list[tuple[str, str]]
    body: bytes

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    @property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(self.target.partition("?")[2], keep_blank_values=True))

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Answer:
    """What to send back for one request. `raw` replaces everything else (the exact bytes of the answer)."""

    status: int = 200
    body: bytes = b""
    content_type: str | None = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)
    reason: str | None = None  # the status line's phrase; default: the standard one, or "Unknown"
    content_length: int | None = None  # announce this length instead of the body's (a lie, or a cut)
    with_length: bool = True  # send a Content-Length header at all
    delay_s: float = 0.0  # wait before answering
    hold: asyncio.Event | None = None  # wait until this is set before answering
    drip_bytes: int = 0  # > 0: send the body this many bytes at a time, `drip_every_s` apart
    drip_every_s: float = 0.0
    cut_after: int | None = None  # close the connection after this many bytes of the body
    reset: bool = False  # reset the connection instead of answering
    close: bool = False  # close the connection after this answer
    raw: bytes | None = None

    def encoded_head(self) -> bytes:
        reason = self.reason
        if reason is None:
            try:
                reason = HTTPStatus(self.status).phrase
            except ValueError:
                reason = "Unknown"
        lines = [f"HTTP/1.1 {self.status} {reason}"]
        if self.content_type is not None and self.body:
            lines.append(f"Content-Type: {self.content_type}")
        if self.with_length:
            length = self.content_length if self.content_length is not None else len(self.body)
            lines.append(f"Content-Length: {length}")
        if self.close:
            lines.append("Connection: close")
        lines.extend(f"{name}: {value}" for name, value in self.headers)
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


Behaviour = Answer | Callable[[Received], Answer]


# -- answers ---------------------------------------------------------------------------------------------


def json_answer(status: int, value: Any, **options: Any) -> Answer:
    """A JSON answer, encoded as Qovery would (compact, UTF-8)."""
    return Answer(status, json.dumps(value, separators=(",", ":")).encode(), **options)


def accepted(received: Received) -> Answer:
    """Qovery's 202 for an action, with a deployment request id of its own."""
    return json_answer(
        202, {"deployment_request_id": f"hostile-{received.seq}", "state": "DEPLOYMENT_QUEUED"}
    )


def numbered(received: Received) -> Answer:
    """A 202 that names the request it answers (its seq, method and target), unique per request."""
    return json_answer(
        202,
        {
            "deployment_request_id": f"req-{received.seq}",
            "answers": {"seq": received.seq, "method": received.method, "target": received.target},
        },
    )


def echo_authorization(status: int = 400, template: str = "bad token {}") -> Callable[[Received], Answer]:
    """An upstream that quotes the Authorization header it got (scheme and token) in its JSON message."""

    def answer(received: Received) -> Answer:
        return json_answer(status, {"message": template.format(received.headers.get("authorization", ""))})

    return answer


def weird_status(status: int, body: bytes = b'{"message":"odd"}') -> Answer:
    """A status line with any number in it (0, 99, 600, 999...)."""
    return Answer(status, body, reason="Weird")


def no_content_with_body(body: bytes = b'{"surprise":true}', status: int = 204) -> Answer:
    """A 204 (or 304) followed by bytes it must not have: they sit on the connection for the next answer."""
    head = f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\nContent-Type: application/json\r\n\r\n"
    return Answer(status, raw=head.encode() + body)


def drip(answer: Answer, every_s: float = 1.0, chunk: int = 1) -> Answer:
    """The same answer, its headers at once, then its body `chunk` bytes every `every_s` seconds."""
    answer.drip_bytes, answer.drip_every_s = chunk, every_s
    return answer


def close_mid_answer(status: int = 202, body: bytes = b'{"deployment_request_id":"cut-short"}') -> Answer:
    """Headers that announce the whole body, half of it, then the connection closed."""
    return Answer(status, body, cut_after=len(body) // 2)


def not_found(received: Received) -> Answer:
    """Qovery's 404 for something it does not know: a read that fails at once, without a retry."""
    return json_answer(404, {"message": f"{received.path} not found"})


def actions_only(actions: Behaviour, reads: Behaviour = not_found) -> Callable[[Received], Answer]:
    """`actions` for the POSTs (the job actions), `reads` for everything else (the poller, discovery)."""

    def answer(received: Received) -> Answer:
        chosen = actions if received.method == "POST" else reads
        return chosen(received) if callable(chosen) else chosen

    return answer


def hold(answer: Behaviour, until: asyncio.Event) -> Callable[[Received], Answer]:
    """`answer`, sent only once `until` is set."""

    def held(received: Received) -> Answer:
        made = answer(received) if callable(answer) else answer
        made.hold = until
        return made

    return held


# -- the server ------------------------------------------------------------------------------------------


class HostileUpstream:
    """A raw-socket HTTP/1.1 server on loopback that answers from a script; see the module's docstring."""

    def __init__(self, default: Behaviour = accepted) -> None:
        self.default = default
        self.script: deque[Behaviour] = deque()
        self.received: list[Received] = []
        self.connections = 0
        self.answered = 0  # answers sent whole
        self.url = ""
        self._server: asyncio.Server | None = None
        self._seq = itertools.count()
        self._conn_ids = itertools.count()
        self._handlers: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Event()

    def then(self, *answers: Behaviour) -> HostileUpstream:
        """Queue answers, used in order; after them, `default`."""
        self.script.extend(answers)
        return self

    def requests(self, method: str | None = "POST") -> list[Received]:
        """What arrived (by default the actions: POSTs), in order."""
        return [r for r in self.received if method is None or r.method == method]

    async def wait_for(self, condition: Callable[[], bool]) -> None:
        """Until `condition()` holds (bound it with the caller's timeout)."""
        while not condition():
            self._changed.clear()
            await self._changed.wait()

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    def _touch(self) -> None:
        self._changed.set()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        connection = next(self._conn_ids)
        self.connections += 1
        self._touch()
        try:
            while True:
                received = await self._read_request(reader, connection)
                if received is None:
                    return
                self.received.append(received)
                self._touch()
                behaviour = self.script.popleft() if self.script else self.default
                answer = behaviour(received) if callable(behaviour) else behaviour
                if not await self._answer(writer, answer):
                    return
                self.answered += 1
                self._touch()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            return
        except asyncio.CancelledError:  # stop(): the connection ends here, quietly (nobody awaits this task)
            return
        finally:
            self._handlers.discard(task)
            with contextlib.suppress(Exception):
                writer.close()

    async def _read_request(self, reader: asyncio.StreamReader, connection: int) -> Received | None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return None  # the client closed the connection between requests
        if len(head) > _MAX_HEAD:
            raise ValueError("head too large")
        request_line, *header_lines = head[:-4].decode("latin-1").split("\r\n")
        method, target, _version = request_line.split(" ", 2)
        raw_headers = [
            tuple(part.strip() for part in line.split(":", 1)) for line in header_lines if ":" in line
        ]
        headers = {name.lower(): value for name, value in raw_headers}
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = await _read_chunked(reader)
        else:
            body = await reader.readexactly(int(headers.get("content-length", "0") or "0"))
        return Received(next(self._seq), connection, method, target, headers, list(raw_headers), body)  # type: ignore[arg-type]

    async def _answer(self, writer: asyncio.StreamWriter, answer: Answer) -> bool:
        """Send `answer`; False when the connection is done (closed, cut or reset)."""
        if answer.delay_s:
            await asyncio.sleep(answer.delay_s)
        if answer.hold is not None:
            await answer.hold.wait()
        if answer.reset:
            sock = writer.get_extra_info("socket")
            if sock is not None:  # linger 0: close() sends RST instead of FIN
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return False
        if answer.raw is not None:
            writer.write(answer.raw)
            await writer.drain()
            return not answer.close
        writer.write(answer.encoded_head())
        body = answer.body if answer.cut_after is None else answer.body[: answer.cut_after]
        if answer.drip_bytes > 0:
            for start in range(0, len(body), answer.drip_bytes):
                await writer.drain()
                await asyncio.sleep(answer.drip_every_s)
                writer.write(body[start : start + answer.drip_bytes])
        else:
            writer.write(body)
        await writer.drain()
        return answer.cut_after is None and not answer.close


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    chunks = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
        if size == 0:
            await reader.readuntil(b"\r\n")  # the empty trailer
            return b"".join(chunks)
        chunks.append(await reader.readexactly(size))
        await reader.readexactly(2)


@contextlib.asynccontextmanager
async def hostile_upstream(default: Behaviour = accepted) -> AsyncIterator[HostileUpstream]:
    """A `HostileUpstream` on a free loopback port for the block; `upstream.url` is its base URL."""
    upstream = HostileUpstream(default)
    await upstream.start()
    try:
        yield upstream
    finally:
        await upstream.stop()
