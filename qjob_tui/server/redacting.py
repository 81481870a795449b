"""The outermost layer of both surfaces: no response leaves the relay with a secret in its body.

What Qovery says is already redacted where it comes in (`QoveryClient`); this is the last check of
everything else a response may carry (a message that quoted a URL, a caller's own input echoed back). A body
without a secret (the common case: one search over it) goes out as it is; one with a secret goes out with it
replaced and its Content-Length fixed, its JSON still valid.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qjob_tui.redaction import Redactor


class Redacting:
    """An ASGI app that redacts the response bodies of the app it wraps."""

    def __init__(self, app: ASGIApp, redactor: Redactor) -> None:
        self.app = app
        self.redactor = redactor

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        redactor = self.redactor
        held: Message | None = None  # a start with a Content-Length, held until the body's length is known
        length_fixed = False  # a Content-Length went out: what follows must keep its length

        async def send_redacted(message: Message) -> None:
            nonlocal held, length_fixed
            if message["type"] == "http.response.start":
                if _has_length(message):
                    held = message
                else:  # a stream (an event stream, a chunked answer): its headers go out at once
                    await send(message)
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            body: bytes = message.get("body", b"")
            if held is not None:
                start, held = held, None
                if message.get("more_body"):  # the first part of a body whose length is announced
                    length_fixed = True
                    clean = redactor.encoded(body, same_length=True)
                else:  # the whole body at once: MARK, and the length it now has
                    clean = redactor.encoded(body)
                    if clean is not body:
                        start = {**start, "headers": _with_length(start["headers"], len(clean))}
                await send(start)
            else:
                clean = redactor.encoded(body, same_length=length_fixed)
            await send({**message, "body": clean} if clean is not body else message)

        try:
            await self.app(scope, receive, send_redacted)
        finally:
            if held is not None:  # a start without a body: let the server see it as the app sent it
                start, held = held, None
                await send(start)


def _has_length(start: Message) -> bool:
    return any(name.lower() == b"content-length" for name, _ in start.get("headers", []))


def _with_length(headers: list[tuple[bytes, bytes]], length: int) -> list[tuple[bytes, bytes]]:
    kept = [(name, value) for name, value in headers if name.lower() != b"content-length"]
    return [*kept, (b"content-length", str(length).encode())]
