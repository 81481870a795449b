"""What every request to the relay passes before its surface sees it: one guard, in front of REST and of MCP.

In order: the request's framing (one of Content-Length and Transfer-Encoding, 400), the Host/Origin
allowlist (on REST; on /mcp the SDK's transport security still checks them, and answers 421/403 itself), the
bearer token (401), then, for a surface that takes its body whole (MCP: the SDK reads it), the body: a JSON
media type (415), the relay's limit (413), strict JSON (`strictjson`, 400). REST reads its body itself, after
routing, with the same checks (`read_body`, `check_json_media_type`, `strictjson`). Every refusal is problem
JSON, in the same words on both surfaces.

Whatever the surfaces must check alike goes here: one exact Host/Origin rule for both (then the SDK's check is
turned off), the caller's client name (User-Agent; MCP's clientInfo is the SDK's) and the watch on a caller
that goes away, which the operator's approval gate will need.
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from qjob_tui import strictjson
from qjob_tui.config import Settings
from qjob_tui.server.asgi import (
    BodyTooLarge,
    Departure,
    UnsupportedMediaType,
    check_json_media_type,
    framing_problem,
    read_body,
    replay,
    send_body_too_large,
    send_problem,
)
from qjob_tui.server.problems import not_json, not_json_media, problem, refusal_problem
from qjob_tui.server.security import BearerCheck, OriginCheck, find_header

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


class Guard:
    """An ASGI app in front of one surface: lets through only the requests the relay's settings allow."""

    def __init__(self, app: ASGIApp, settings: Settings, *, check_origin: bool, whole_body: bool) -> None:
        """`check_origin`: check Host/Origin here (REST; the SDK does for MCP, for now). `whole_body`: read a
        POST's body before the app, with the relay's limit (MCP, whose SDK would read any size)."""
        self.app = app
        self.bearer = BearerCheck(settings.server_token)
        self.origins = OriginCheck(settings.config.server.host) if check_origin else None
        self.whole_body = whole_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope["headers"]
        bad_framing = framing_problem(headers)
        if bad_framing is not None:  # what follows on this connection cannot be told apart: close it
            await send_problem(send, bad_framing, extra_headers=[(b"connection", b"close")])
            return
        if self.origins is not None and not self.origins.allows(
            find_header(headers, b"host"), find_header(headers, b"origin")
        ):
            await send_problem(send, foreign_origin_problem())
            return
        if not self.bearer.allows(find_header(headers, b"authorization")):
            await send_problem(send, unauthorized_problem(), extra_headers=[(b"www-authenticate", b"Bearer")])
            return
        if self.whole_body and scope["method"] == "POST":
            try:
                check_json_media_type(headers)
                body = await read_body(scope, receive)
                strictjson.loads(body)  # the SDK's parser would take NaN, duplicate keys, lone surrogates
            except UnsupportedMediaType as exc:
                await send_problem(send, refusal_problem(not_json_media(str(exc))))
                return
            except BodyTooLarge:
                await send_body_too_large(send)
                return
            except strictjson.JSONRefused as exc:
                await send_problem(send, refusal_problem(not_json(str(exc))))
                return
            departure = Departure(receive)
            scope[_DEPARTURE] = departure
            receive = replay(body, departure.receive)
        await self.app(scope, receive, send)
