"""The few ASGI pieces both surfaces share: sending a response or a problem, reading a bounded body.

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


def body_too_large_problem() -> dict[str, Any]:
    return problem(413, "Body too large", f"the request body is over {BODY_LIMIT_BYTES // 1024} KiB")


async def send_body_too_large(send: Send) -> None:
    """The 413, on a connection that closes after it: what is left of the body will not be read."""
    await send_problem(send, body_too_large_problem(), extra_headers=[(b"connection", b"close")])


async def read_body(scope: Scope, receive: Receive) -> bytes:
    """The request body, read chunk by chunk; BodyTooLarge past the limit, whatever Content-Length says."""
    declared = find_header(scope["headers"], b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > DRAIN_LIMIT_BYTES:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
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
