"""The surfaces' outermost layer: a response that carries a secret leaves without it, whole or streamed, with a
Content-Length that still tells the truth, and valid JSON; one without a secret leaves as it came."""

from __future__ import annotations

import json

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from qjob_tui.redaction import MARK, Redactor
from qjob_tui.server.redacting import Redacting
from tests.common import API_TOKEN
from tests.core.upstream import serve_app

BODY = json.dumps({"message": f"bad token Token {API_TOKEN}"}).encode()


async def leaky_app(scope: Scope, receive: Receive, send: Send) -> None:
    """Answers `BODY` whole (with its length), in parts (with its length), or streamed (no length)."""
    mode = scope["path"].strip("/")
    length = [] if mode == "stream" else [(b"content-length", str(len(BODY)).encode())]
    await send(
        {
            "type": "http.response.start",
            "status": 400,
            "headers": [(b"content-type", b"application/json"), *length],
        }
    )
    if mode == "whole":
        await send({"type": "http.response.body", "body": BODY})
        return
    await send({"type": "http.response.body", "body": BODY[:-2], "more_body": True})  # the token whole in it
    await send({"type": "http.response.body", "body": BODY[-2:]})


@pytest.mark.parametrize("mode", ["whole", "parts", "stream"])
async def test_a_secret_in_a_response_leaves_without_it(mode: str) -> None:
    app = Redacting(leaky_app, Redactor.for_qovery(API_TOKEN))
    async with serve_app(app) as url, httpx.AsyncClient(base_url=url) as client:
        answer = await client.get(f"/{mode}")
    assert answer.status_code == 400 and API_TOKEN not in answer.text
    message = answer.json()["message"]  # still JSON, its length right
    if mode == "parts":  # the length went out already: masked to the same length
        assert message == "bad token Token " + "*" * len(API_TOKEN)
    else:
        assert message == f"bad token Token {MARK}"


async def test_a_response_without_a_secret_leaves_as_it_came() -> None:
    app = Redacting(leaky_app, Redactor.for_qovery("qov_someOtherToken_123456"))
    async with serve_app(app) as url, httpx.AsyncClient(base_url=url) as client:
        answer = await client.get("/whole")
    assert answer.content == BODY and answer.headers["content-length"] == str(len(BODY))
