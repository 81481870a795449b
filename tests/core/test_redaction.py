"""Redaction: the token (any scheme, any case, bare) and URL credentials never leave, and JSON keeps its shape."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qjob_tui.actions import ACTIONS_BY_NAME
from qjob_tui.qovery import QoveryError, QoveryHTTPError
from qjob_tui.redaction import MARK, Redactor, shown_url, url_secrets
from tests.common import API_TOKEN, CRON_JOB, free_port
from tests.support.hostile import echo_authorization, hostile_upstream, json_answer

from .support import client_for

CREDENTIALED_URL = "http://relay-user:s3cr%2Ft-pass@127.0.0.1:9/api"
REDACTOR = Redactor.for_qovery(API_TOKEN, CREDENTIALED_URL)


@pytest.mark.parametrize(
    "text",
    [
        f"bad token Token {API_TOKEN}",
        f"bad token bearer {API_TOKEN}",
        f"BEARER {API_TOKEN.upper()}",
        f"token={API_TOKEN.lower()}&x=1",
        API_TOKEN,
        f"unreachable at {CREDENTIALED_URL}",
        "at http://relay-user:s3cr/t-pass@127.0.0.1:9/api",  # the password percent-decoded
        "try https://someone:else@example.com/x",  # any http(s) URL's user info
        "Basic cmVsYXktdXNlcjpzM2NyL3QtcGFzcw==",  # what httpx sends for a URL with user info
    ],
)
def test_every_form_of_a_secret_is_replaced(text: str) -> None:
    shown = REDACTOR.text(text)
    assert MARK in shown
    for secret in (API_TOKEN, "s3cr%2Ft-pass", "s3cr/t-pass", "relay-user:", "someone:else"):
        assert secret.lower() not in shown.lower()


def test_text_without_a_secret_is_the_same_object() -> None:
    text = "Qovery answered 409: Operation in progress (see https://hub.qovery.com/docs)"
    assert REDACTOR.text(text) is text


def test_a_url_is_shown_without_its_user_info() -> None:
    assert shown_url(CREDENTIALED_URL) == "http://127.0.0.1:9/api"
    assert shown_url("https://api.qovery.com") == "https://api.qovery.com"
    assert url_secrets("https://api.qovery.com") == []


def test_secrets_too_short_to_tell_from_words_are_not_searched() -> None:
    assert Redactor(["abc"]).text("abc abc") == "abc abc"


def test_a_clean_relayed_body_is_the_very_same_bytes() -> None:
    raw = b'{"deployment_request_id": "d-1",  "state":"DEPLOYMENT_QUEUED"}'  # odd spacing, kept
    data = json.loads(raw)
    body, decoded = REDACTOR.body(raw, data)
    assert body is raw and decoded is data


def test_a_body_with_a_secret_keeps_its_shape_with_the_secret_replaced() -> None:
    value = {
        "message": f"bad token Token {API_TOKEN}",
        "details": [{"header": f"Authorization: Token {API_TOKEN}"}, 3, None, True],
        API_TOKEN: "as a key",
    }
    raw = json.dumps(value).encode()
    body, decoded = REDACTOR.body(raw, json.loads(raw))
    assert (
        json.loads(body)
        == decoded
        == {
            "message": f"bad token Token {MARK}",
            "details": [{"header": f"Authorization: Token {MARK}"}, 3, None, True],
            MARK: "as a key",
        }
    )
    assert API_TOKEN.encode() not in body


def test_a_secret_spelled_with_json_escapes_is_found() -> None:
    spelled = "".join(f"\\u{ord(c):04x}" for c in API_TOKEN)
    raw = ('{"message": "' + spelled + '"}').encode()
    body, decoded = REDACTOR.body(raw, json.loads(raw))
    assert decoded == {"message": MARK}
    assert API_TOKEN not in json.loads(body)["message"]


def test_a_body_that_is_not_json_is_redacted_as_bytes() -> None:
    raw = f"<html>bad token {API_TOKEN}</html>".encode()
    body, decoded = REDACTOR.body(raw, None)
    assert decoded is None and body == f"<html>bad token {MARK}</html>".encode()


@pytest.mark.parametrize(
    ("secret", "value"),
    [
        ("nabcdefg", "x\nabcdefg"),  # the secret's first letter is an escape's: \n + abcdefg is not it
        ("0041wxyz", "Awxyz"),  # encoded \u0041wxyz: the digits of an escape
        ('quo"te-secret', "quo te-secret"),  # a secret JSON writes with an escape of its own
    ],
)
def test_encoded_json_stays_valid_json(secret: str, value: str) -> None:
    redactor = Redactor([secret])
    raw = json.dumps({"a": value, "b": secret, "c": "\\" + secret}).encode()
    clean = json.loads(redactor.encoded(raw))
    assert clean["b"] == MARK and clean["c"] == "\\" + MARK
    assert clean["a"] == value  # not the secret: left as it was


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@given(value=json_values, where=st.integers(0, 3))
def test_no_json_value_keeps_the_token_and_every_result_is_json(value: Any, where: int) -> None:
    planted = [value, {"message": f"x Token {API_TOKEN} y"}, [API_TOKEN, value], {API_TOKEN: value}][where]
    for ascii_only in (True, False):
        raw = json.dumps(planted, ensure_ascii=ascii_only).encode()
        body, decoded = REDACTOR.body(raw, json.loads(raw))
        assert API_TOKEN.lower() not in json.dumps(decoded, ensure_ascii=False).lower()
        assert json.loads(body) == decoded
        assert json.loads(REDACTOR.encoded(raw)) is not None or raw == b"null"


# -- where Qovery's text comes in: the client --------------------------------------------------------------


async def test_an_upstream_echoing_the_token_in_an_error_gives_no_token_back() -> None:
    async with (
        hostile_upstream(echo_authorization(400, "bad token {}")) as upstream,
        client_for(upstream.url) as client,
    ):
        with pytest.raises(QoveryHTTPError) as caught:
            await client.run_action(ACTIONS_BY_NAME["stop"], CRON_JOB)
    [seen] = upstream.requests()
    assert seen.headers["authorization"] == f"Token {API_TOKEN}"  # it did get the token, and echoed it
    error = caught.value
    assert error.message == f"Qovery answered 400: bad token Token {MARK}"
    assert error.data == {"message": f"bad token Token {MARK}"}
    assert API_TOKEN.encode() not in error.content and json.loads(error.content) == error.data


async def test_a_2xx_answer_echoing_the_token_is_relayed_redacted_and_a_clean_one_as_it_came() -> None:
    echoing = echo_authorization(202, "queued for {}")
    clean = json_answer(202, {"deployment_request_id": "d-1"})
    async with hostile_upstream() as upstream, client_for(upstream.url) as client:
        upstream.then(echoing, clean)
        echoed = await client.run_action(ACTIONS_BY_NAME["stop"], CRON_JOB)
        plain = await client.run_action(ACTIONS_BY_NAME["stop"], CRON_JOB)
    assert echoed.data == {"message": f"queued for Token {MARK}"}
    assert json.loads(echoed.content) == echoed.data
    assert plain.content == b'{"deployment_request_id":"d-1"}'  # the bytes as they came


async def test_credentials_in_the_api_url_are_in_no_error_message() -> None:
    url = f"http://relay-user:s3cr3t-pass@127.0.0.1:{free_port()}"
    async with client_for(url) as client:
        with pytest.raises(QoveryError) as caught:
            await client.run_action(ACTIONS_BY_NAME["stop"], CRON_JOB)
    assert "unreachable at http://127.0.0.1:" in caught.value.message
    assert "s3cr3t" not in caught.value.message and "relay-user" not in caught.value.message
