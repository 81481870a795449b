"""Strict input on both surfaces: a body is JSON only when it says so and is RFC 8259 JSON, framed by one
header; REST and MCP refuse the same bodies with the same answer, and nothing reaches Qovery."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

import pytest
from starlette.types import Message, Receive, Scope, Send

from qjob_tui.server.guard import Guard
from tests.common import CRON_JOB, Relay


@dataclass(frozen=True)
class Body:
    text: bytes  # the deploy body, as it goes into REST's body and into MCP's `arguments.body`
    says: str  # what the detail names


BODIES = {
    "NaN": Body(b'{"image_tag": NaN}', "NaN is not JSON"),
    "Infinity": Body(b'{"image_tag": -Infinity}', "-Infinity is not JSON"),
    "a number too large for a float": Body(b'{"image_tag": 1e999}', "too large for a float"),
    "a key given twice": Body(b'{"image_tag": "v1", "image_tag": "v2"}', "duplicate key 'image_tag'"),
    "a lone surrogate": Body(b'{"image_tag": "v\\ud800"}', "lone surrogate (\\ud800)"),
    "a lone surrogate in a key": Body(b'{"\\udc00": "v1"}', "lone surrogate (\\udc00)"),
    "nesting beyond the bound": Body(
        b'{"image_tag": ' + b"[" * 70 + b"]" * 70 + b"}", "nested deeper than 64"
    ),
    "bytes that are not UTF-8": Body(b'{"image_tag": "v\xff"}', "not UTF-8"),
}


def mcp_call(arguments_body: bytes) -> bytes:
    """A tools/call of deploy-job whose `body` argument is `arguments_body`, verbatim."""
    return (
        b'{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "deploy-job", '
        b'"arguments": {"jobId": "' + CRON_JOB.encode() + b'", "body": ' + arguments_body + b"}}}"
    )


MCP_HEADERS = {"accept": "application/json, text/event-stream", "mcp-protocol-version": "2025-06-18"}


async def post_both(relay: Relay, body: bytes, content_type: str | None) -> tuple[dict, dict]:  # type: ignore[type-arg]
    """The same deploy body sent to REST and (inside a tools/call) to MCP; both answers' problem JSON."""
    sent = {"content-type": content_type} if content_type else {}
    async with relay.rest() as client:
        rest = await client.post(f"/v1/job/{CRON_JOB}/deploy", content=body, headers=sent)
        mcp = await client.post(relay.mcp_url, content=mcp_call(body), headers={**MCP_HEADERS, **sent})
    for response in (rest, mcp):
        assert response.headers["content-type"] == "application/problem+json", response.text
    return rest.json(), mcp.json()


@pytest.mark.parametrize("body", BODIES.values(), ids=BODIES.keys())
async def test_a_body_that_is_not_strict_json_is_refused_alike_before_qovery(
    relay: Relay, body: Body
) -> None:
    rest, mcp = await post_both(relay, body.text, "application/json")
    for answer in (rest, mcp):
        assert answer["status"] == 400
        assert answer["type"] == "urn:qjob-tui:problem:invalid-input"
        assert answer["field"] == "body"
        assert answer["detail"].startswith("body: the body is not JSON (")
        assert body.says in answer["detail"]
    assert relay.sim.requests == []
    assert relay.audit_outcomes() == []


TEXT_BODIES = {name: body for name, body in BODIES.items() if name != "bytes that are not UTF-8"}


@pytest.mark.parametrize("body", TEXT_BODIES.values(), ids=TEXT_BODIES.keys())
async def test_a_body_sent_as_a_json_text_is_read_as_strictly(relay: Relay, body: Body) -> None:
    """Some agents send an object argument as a JSON text (a string). It is taken, but read as strictly as a
    body: the SDK's own lenient parse would let a key given twice through to Qovery (the last one winning)."""
    async with relay.mcp() as client:
        result = await client.call_tool("deploy-job", {"jobId": CRON_JOB, "body": body.text.decode()})
    assert result.is_error
    assert result.structured_content is not None
    detail = result.structured_content["detail"]
    assert detail.startswith("body: the body is not JSON (") and body.says in detail
    assert relay.sim.requests == [] or all(request.method == "GET" for request in relay.sim.requests)
    assert relay.audit_outcomes() == []


async def test_a_body_sent_as_a_well_formed_json_text_is_taken_as_the_object(relay: Relay) -> None:
    async with relay.mcp() as client:
        result = await client.call_tool("deploy-job", {"jobId": CRON_JOB, "body": ' {"image_tag": "v1"}'})
    assert not result.is_error, result.content
    [sent] = [request for request in relay.sim.requests if request.method == "POST"]
    assert json.loads(sent.body) == {"image_tag": "v1"}


CONTENT_TYPES = {
    "no Content-Type": (None, "got no Content-Type"),
    "text/plain": ("text/plain", "got Content-Type 'text/plain'"),
    "a form": ("application/x-www-form-urlencoded", "got Content-Type 'application/x-www-form-urlencoded'"),
    "JSON in another charset": ("application/json; charset=latin-1", "charset 'latin-1'"),
}


@pytest.mark.parametrize(("content_type", "says"), CONTENT_TYPES.values(), ids=CONTENT_TYPES.keys())
async def test_a_body_that_does_not_say_json_is_415_alike(
    relay: Relay, content_type: str | None, says: str
) -> None:
    rest, mcp = await post_both(relay, b'{"image_tag": "v2"}', content_type)
    assert rest == mcp
    assert rest["status"] == 415
    assert rest["type"] == "urn:qjob-tui:problem:unsupported-media-type"
    assert says in rest["detail"]
    assert relay.sim.requests == []


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", 'Application/JSON; charset="UTF-8"'],
)
async def test_a_json_body_that_says_so_runs(relay: Relay, content_type: str) -> None:
    async with relay.rest() as client:
        response = await client.post(
            f"/v1/job/{CRON_JOB}/deploy",
            content=b'{"image_tag": "v2"}',
            headers={"content-type": content_type},
        )
    assert response.status_code == 202, response.text
    assert [request.json() for request in relay.upstream_actions] == [{"image_tag": "v2"}]


async def raw_exchange(url: str, request: bytes) -> tuple[bytes, bool]:
    """Send `request` as it is on a new connection; the answer's head and body, and whether the relay then
    closed the connection."""
    host, port = url.removeprefix("http://").split("/")[0].rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(request)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(65536), 30)
        closed = await asyncio.wait_for(reader.read(1), 30) == b""
    finally:
        writer.close()
    return answer, closed


FRAMINGS = {
    "Content-Length and Transfer-Encoding": (
        b'Content-Length: 21\r\nTransfer-Encoding: chunked\r\n\r\n15\r\n{"image_tag": "v2"}\r\n\r\n0\r\n\r\n'
    ),
    "two Content-Lengths": b'Content-Length: 19\r\nContent-Length: 19\r\n\r\n{"image_tag": "v2"}',
}


@pytest.mark.parametrize("framing", FRAMINGS.values(), ids=FRAMINGS.keys())
@pytest.mark.parametrize("surface", ["rest", "mcp"])
async def test_a_request_framed_two_ways_is_refused_and_its_connection_closed(
    relay: Relay, framing: bytes, surface: str
) -> None:
    url, path = (
        (relay.rest_url, f"/v1/job/{CRON_JOB}/deploy") if surface == "rest" else (relay.mcp_url, "/mcp")
    )
    host = url.removeprefix("http://").split("/")[0]
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        "Accept: application/json, text/event-stream\r\n"
    ).encode()
    answer, closed = await raw_exchange(url, head + framing)
    status_line = answer.split(b"\r\n", 1)[0]
    # uvicorn's parser refuses some of these itself (a plain-text 400); what passes it, the guard refuses.
    assert status_line.startswith(b"HTTP/1.1 400"), answer[:200]
    assert closed
    assert relay.sim.requests == []


@pytest.mark.parametrize("framing", [[b"content-length", b"transfer-encoding"], [b"content-length"] * 2])
async def test_the_guard_refuses_two_framings_whatever_parser_is_in_front(
    relay: Relay, framing: list[bytes]
) -> None:
    """uvicorn's parser refuses these first today; the guard holds the rule for any other parser."""
    reached: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        reached.append(scope)

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def receive() -> Message:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    headers = [
        (b"host", b"127.0.0.1"),
        *((name, b"2" if name == b"content-length" else b"chunked") for name in framing),
    ]
    scope: Scope = {"type": "http", "method": "POST", "path": "/mcp", "headers": headers}
    await Guard(app, relay.runtime.settings, surface="mcp", whole_body=True)(scope, receive, send)
    assert reached == []
    assert sent[0]["status"] == 400
    assert (b"connection", b"close") in sent[0]["headers"]
    assert json.loads(sent[1]["body"])["type"] == "urn:qjob-tui:problem:ambiguous-framing"
