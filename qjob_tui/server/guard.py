"""What every request to the relay passes before its surface sees it: one guard, in front of REST and of MCP.

In order: the request's framing (one of Content-Length and Transfer-Encoding, 400), the one Host/Origin rule
(`security.OriginCheck`, 403 `foreign-origin`, the same on both surfaces: the MCP SDK's own check is off), the
bearer token (401), then, for a surface that takes its body whole (MCP: the SDK reads it), the body: a JSON
media type (415), the relay's limit (413), strict JSON (`strictjson`, 400). REST reads its body itself, after
routing, with the same checks (`read_body`, `check_json_media_type`, `strictjson`). Every refusal is problem
JSON, in the same words on both surfaces.

Whatever the surfaces must check alike goes here, and so does the caller's client name (User-Agent; MCP's
clientInfo is the SDK's) and the watch on a caller that goes away (the operator's approval gate needs both).
Whoever shows refused requests (the dashboard's log pane, stderr) passes `on_refusal`: it hears of each one.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qjob_tui import strictjson
from qjob_tui.config import Settings
from qjob_tui.server.asgi import (
    BodyTooLarge,
    CallerGone,
    Departure,
    UnsupportedMediaType,
    body_too_large_problem,
    check_json_media_type,
    framing_problem,
    read_body,
    replay,
    send_problem,
)
from qjob_tui.server.problems import not_json, not_json_media, problem, refusal_problem
from qjob_tui.server.security import BearerCheck, OriginCheck, find_header

MAX_SHOWN_PATH = 200  # of a refused request's path, in a GuardRefusal
_DEPARTURE = "qjob_tui.departure"  # the scope key under which the guard leaves a request's Departure


def departure_of(scope: Scope) -> Departure | None:
    """How to learn that the caller of this request left (set by the guard once it read the whole body)."""
    departure = scope.get(_DEPARTURE)
    return departure if isinstance(departure, Departure) else None


def user_agent(scope: Scope) -> str | None:
    """The caller's User-Agent, as it names itself (outside input: cut by the pipeline, escaped where shown)."""
    value = find_header(scope["headers"], b"user-agent")
    return value.decode("latin-1") if value else None


def foreign_origin_problem() -> dict[str, Any]:
    return problem(
        403,
        "Foreign origin",
        "requests from web pages (an Origin header) or for another Host name are refused; "
        "call the relay from a script or an agent, by the name it listens on",
        slug="foreign-origin",
    )


def unauthorized_problem() -> dict[str, Any]:
    return problem(
        401, "Unauthorized", "send Authorization: Bearer <token> with the relay's QJOB_TUI_SERVER_TOKEN"
    )


@dataclass(frozen=True)
class GuardRefusal:
    """A request the guard turned away before its surface saw it, for whoever shows them (`on_refusal`): the
    dashboard's log pane, a stderr line. `path` is outside input: cut here, to be escaped where shown."""

    surface: str  # "rest" or "mcp"
    method: str
    path: str
    status: int
    type: str  # the problem type, e.g. urn:qjob-tui:problem:foreign-origin
    detail: str


RefusalHook = Callable[[GuardRefusal], None]


class OpenStreams:
    """The long-lived GET streams of a surface (MCP's `GET /mcp`): at most `limit` open at once, and all ended
    at once by `close()` when the relay stops. A stream owes nobody an answer, so a stop never waits for one;
    to its app, the end looks like its client going away (`http.disconnect`)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open = 0
        self._closing = asyncio.Event()

    def close(self) -> None:
        self._closing.set()

    async def serve(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        self.open += 1
        started = ended = False

        async def tracked(message: Message) -> None:
            nonlocal started, ended
            if message["type"] == "http.response.start":
                started = True
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                ended = True
            await send(message)

        async def until_closed() -> Message:
            if self._closing.is_set():
                return {"type": "http.disconnect"}
            message = asyncio.ensure_future(receive())
            closed = asyncio.ensure_future(self._closing.wait())
            await asyncio.wait({message, closed}, return_when=asyncio.FIRST_COMPLETED)
            closed.cancel()
            if message.done():
                return message.result()
            message.cancel()
            return {"type": "http.disconnect"}

        try:
            await app(scope, until_closed, tracked)
            if started and not ended:  # the app left its answer open: close it, so that the connection ends
                with contextlib.suppress(Exception):
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            self.open -= 1


def too_many_streams_problem(limit: int) -> dict[str, Any]:
    return problem(
        503,
        "Too many streams",
        f"{limit} GET streams are open, as many as the relay holds; close one, or try again later",
        slug="too-many-streams",
    )


async def send_refusal(
    hook: RefusalHook | None,
    surface: str,
    scope: Scope,
    send: Send,
    body: dict[str, Any],
    extra_headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    """Answer a request with the problem `body` and tell `hook` of the refusal (the guard's, the REST routes')."""
    await send_problem(send, body, extra_headers)
    report_refusal(hook, surface, scope, body)


def report_refusal(hook: RefusalHook | None, surface: str, scope: Scope, body: dict[str, Any]) -> None:
    """Tell `hook` of a request refused with the problem `body` (the guard's, and the REST routes' own)."""
    if hook is None:
        return
    refusal = GuardRefusal(
        surface,
        str(scope.get("method", ""))[:16],
        str(scope.get("path", ""))[:MAX_SHOWN_PATH],
        int(body["status"]),
        str(body["type"]),
        str(body["detail"]),
    )
    with contextlib.suppress(Exception):  # a listener's bug must not turn a refusal into a 500
        hook(refusal)


class Guard:
    """An ASGI app in front of one surface: lets through only the requests the relay's settings allow."""

    def __init__(
        self,
        app: ASGIApp,
        settings: Settings,
        *,
        surface: str,
        whole_body: bool,
        on_refusal: RefusalHook | None = None,
        streams: OpenStreams | None = None,
    ) -> None:
        """`surface`: "rest" or "mcp", as `GuardRefusal` names it. `whole_body`: read a POST's body before the app,
        with the relay's checks (MCP, whose SDK would read any size, and parse leniently). `on_refusal`: told
        of every request turned away (it must not raise, and must not block). `streams`: this surface's GETs are
        long-lived streams, capped and ended at stop by this `OpenStreams` (MCP)."""
        self.app = app
        self.surface = surface
        self.bearer = BearerCheck(settings.server_token)
        self.origins = OriginCheck(settings.config.server.host)
        self.whole_body = whole_body
        self.on_refusal = on_refusal
        self.streams = streams

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope["headers"]
        bad_framing = framing_problem(headers)
        if bad_framing is not None:  # what follows on this connection cannot be told apart: close it
            await self._refuse(scope, send, bad_framing, [(b"connection", b"close")])
            return
        if not self.origins.allows(
            [value for name, value in headers if name == b"host"],
            [value for name, value in headers if name == b"origin"],
        ):
            await self._refuse(scope, send, foreign_origin_problem())
            return
        if not self.bearer.allows(find_header(headers, b"authorization")):
            await self._refuse(scope, send, unauthorized_problem(), [(b"www-authenticate", b"Bearer")])
            return
        if self.whole_body and scope["method"] == "POST":
            try:
                check_json_media_type(headers)
                body = await read_body(scope, receive)
                strictjson.loads(body)  # the SDK's parser would take NaN, duplicate keys, lone surrogates
            except UnsupportedMediaType as exc:
                await self._refuse(scope, send, refusal_problem(not_json_media(str(exc))))
                return
            except BodyTooLarge:
                await self._refuse(scope, send, body_too_large_problem(), [(b"connection", b"close")])
                return
            except CallerGone:  # no whole request, nobody to answer
                return
            except strictjson.JSONRefused as exc:
                await self._refuse(scope, send, refusal_problem(not_json(str(exc))))
                return
            departure = Departure(receive)
            scope[_DEPARTURE] = departure
            receive = replay(body, departure.receive)
        elif self.streams is not None and scope["method"] == "GET":
            if self.streams.open >= self.streams.limit:
                await self._refuse(
                    scope, send, too_many_streams_problem(self.streams.limit), [(b"retry-after", b"5")]
                )
                return
            await self.streams.serve(self.app, scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _refuse(
        self,
        scope: Scope,
        send: Send,
        body: dict[str, Any],
        extra_headers: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        await send_refusal(self.on_refusal, self.surface, scope, send, body, extra_headers)
