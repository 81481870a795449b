"""The few ASGI pieces both surfaces share: sending a response or a problem, reading a bounded body, telling
a JSON media type and a request's framing.

The types are Starlette's (`starlette.types`): raw ASGI, no framework on the relay's hot path.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.types import Message, Receive, Scope, Send

from qjob_tui.actions import BODY_LIMIT_BYTES
from qjob_tui.server.problems import PROBLEM_CONTENT_TYPE, encode_problem, problem
from qjob_tui.server.security import find_header

# Past the limit the body is still read (and dropped) up to here, so that the client, which sends all of
# it before it reads an answer, gets the 413 rather than a reset connection. Beyond it, the connection is cut.
DRAIN_LIMIT_BYTES = 8 * 1024 * 1024


class BodyTooLarge(Exception):
    """The request body is over BODY_LIMIT_BYTES."""


class CallerGone(Exception):
    """The connection ended (or timed out) before the whole body came: there is no request, and no one to
    answer. What had arrived is never taken for the body: a body cut short can still be valid JSON."""


class UnsupportedMediaType(Exception):
    """A body sent with a Content-Type that does not say JSON; the message names what was sent."""


def check_json_media_type(headers: list[tuple[bytes, bytes]]) -> None:
    """UnsupportedMediaType unless the request says its body is JSON: `application/json` (or a `+json` type),
    in UTF-8 if it names a charset. A body is read as what its sender says it is, or not at all: a form
    or a text that happens to parse as JSON is not a JSON body."""
    value = find_header(headers, b"content-type")
    if value is not None:
        media, *params = value.decode("latin-1").split(";")
        media = media.strip().lower()
        if media == "application/json" or (media.startswith("application/") and media.endswith("+json")):
            for param in params:
                name, _, param_value = param.partition("=")
                charset = param_value.strip().strip('"').lower()
                if name.strip().lower() == "charset" and charset not in ("utf-8", "utf8"):
                    raise UnsupportedMediaType(
                        f"a JSON body is UTF-8; Content-Type names charset {charset!r}"
                    )
            return
    sent = f"Content-Type {value.decode('latin-1')[:60]!r}" if value is not None else "no Content-Type"
    raise UnsupportedMediaType(f"send the body as Content-Type: application/json (got {sent})")


def framing_problem(headers: list[tuple[bytes, bytes]]) -> dict[str, Any] | None:
    """A 400 for a request whose body's end is ambiguous (RFC 9112 6.3): Content-Length beside
    Transfer-Encoding, or two Content-Lengths. Two parsers in a row may read such a request as two different
    ones (request smuggling); the relay reads it as none. None when the framing is one header's."""
    lengths = [value for name, value in headers if name == b"content-length"]
    chunked = any(name == b"transfer-encoding" for name, _ in headers)
    if lengths and chunked:
        detail = "Content-Length and Transfer-Encoding together; send one of them"
    elif len(lengths) > 1:
        detail = "Content-Length given more than once; send it once"
    else:
        return None
    return problem(400, "Ambiguous framing", detail, slug="ambiguous-framing")


def body_too_large_problem() -> dict[str, Any]:
    return problem(413, "Body too large", f"the request body is over {BODY_LIMIT_BYTES // 1024} KiB")


async def read_body(scope: Scope, receive: Receive) -> bytes:
    """The request body, read chunk by chunk; BodyTooLarge past the limit, whatever Content-Length says;
    CallerGone when the connection ends before the body does."""
    declared = find_header(scope["headers"], b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > DRAIN_LIMIT_BYTES:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            raise CallerGone
        chunk = message.get("body", b"")
        more = message.get("more_body", False)
        size += len(chunk)
        if size > BODY_LIMIT_BYTES:
            chunks.clear()  # keep nothing past the limit; read on only to answer the client cleanly
            if size > DRAIN_LIMIT_BYTES:
                break
        elif chunk:
            chunks.append(chunk)
    if size > BODY_LIMIT_BYTES:
        raise BodyTooLarge
    return b"".join(chunks)


async def send_response(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes | None,
    extra_headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    headers = [(b"content-length", str(len(body)).encode())] if status != 204 else []
    if content_type is not None:
        headers.append((b"content-type", content_type))
    if extra_headers:
        headers.extend(extra_headers)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def send_problem(
    send: Send, body: dict[str, Any], extra_headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    await send_response(send, int(body["status"]), encode_problem(body), PROBLEM_CONTENT_TYPE, extra_headers)


def replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands an app the body already read, then passes on what the connection says next
    (a disconnect), so that the app still learns when its client goes away."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


class Departure:
    """What a connection says once a request's body is read (a disconnect: the caller left, or the answer went
    out), read once for everyone who asks: the app through `receive`, and the approval gate through `wait`."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._next: asyncio.Future[Message] | None = None

    async def receive(self) -> Message:
        if self._next is None:  # nobody asked yet: start reading only now (most requests never ask)
            self._next = asyncio.ensure_future(self._receive())
        return await asyncio.shield(self._next)  # one asker giving up must not cancel the read for the others

    async def wait(self) -> None:
        """Until the caller has gone away (or its answer is complete): once the body is read, the next thing
        an ASGI server says about a request is `http.disconnect`."""
        await self.receive()
