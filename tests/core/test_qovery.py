"""The Qovery client over real loopback sockets: what Qovery receives, what is retried, how errors are typed."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from typing import Any

import pytest
import trustme

from qjob_tui import __version__
from qjob_tui.actions import ACTIONS_BY_NAME, ForceEvent, InvalidInput
from qjob_tui.qovery import (
    QoveryBadResponse,
    QoveryClient,
    QoveryHTTPError,
    QoveryTimeout,
    QoveryUnreachable,
    authorization_header,
    parse_retry_after,
)
from qjob_tui.simulator import DEMO_ENV_STOREFRONT_PRODUCTION_ID
from qjob_tui.transport import AiohttpTransport
from tests.common import (
    API_TOKEN,
    CRON_JOB,
    FAILED_JOB,
    LIFECYCLE_JOB,
    NEVER_DEPLOYED_JOB,
    UNKNOWN_JOB,
    free_port,
)

from .support import JWT, SimQovery, Waits, client_for, simulated_qovery
from .upstream import Reply, ScriptedUpstream, reset_server

# -- the five actions, as Qovery receives them ------------------------------------------------------

ACTION_CASES: list[tuple[str, str, ForceEvent | None, dict[str, Any] | None, str, dict[str, str], int]] = [
    # action, job, forceEvent, body -> upstream path, query, status
    ("deploy", CRON_JOB, ForceEvent.CRON, {"image_tag": "2.5.0"}, f"/job/{CRON_JOB}/deploy", {"forceEvent": "CRON"}, 202),
    ("deploy", LIFECYCLE_JOB, None, {"git_commit_id": "9d1c0ab"}, f"/job/{LIFECYCLE_JOB}/deploy", {}, 202),
    ("deploy", CRON_JOB, None, None, f"/job/{CRON_JOB}/deploy", {}, 202),
    ("redeploy", LIFECYCLE_JOB, ForceEvent.START, None, f"/job/{LIFECYCLE_JOB}/redeploy", {"forceEvent": "START"}, 202),
    ("redeploy", CRON_JOB, None, None, f"/job/{CRON_JOB}/redeploy", {}, 202),
    ("stop", CRON_JOB, None, None, f"/job/{CRON_JOB}/stop", {}, 202),
    ("uninstall", CRON_JOB, None, {}, f"/job/{CRON_JOB}/uninstall", {}, 202),
    ("uninstall", CRON_JOB, None, None, f"/job/{CRON_JOB}/uninstall", {}, 202),
    ("clean-failed", FAILED_JOB, None, None, f"/job/{FAILED_JOB}/cleanFailedJob", {}, 200),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "job", "event", "body", "path", "query", "status"),
    ACTION_CASES,
    ids=[f"{c[0]}-{c[2] or 'no-event'}-{'body' if c[3] is not None else 'no-body'}" for c in ACTION_CASES],
)
async def test_each_action_reaches_qovery_exactly_as_documented(
    qovery: SimQovery,
    name: str,
    job: str,
    event: ForceEvent | None,
    body: dict[str, Any] | None,
    path: str,
    query: dict[str, str],
    status: int,
) -> None:
    async with client_for(qovery.url) as client:
        response = await client.run_action(ACTIONS_BY_NAME[name], job, event, body)

    assert response.status == status
    [seen] = qovery.sim.requests
    assert (seen.method, seen.path, seen.query) == ("POST", path, query)
    assert seen.headers["authorization"] == f"Token {API_TOKEN}"
    assert seen.headers["user-agent"] == f"qjob-tui/{__version__}"
    assert seen.headers["accept"] == "application/json"
    if body is None:
        assert seen.body == b""
        assert "content-type" not in seen.headers
    else:
        assert seen.json() == body
        assert seen.headers["content-type"] == "application/json"


async def test_deploy_answers_qoverys_status_object(qovery: SimQovery) -> None:
    async with client_for(qovery.url) as client:
        response = await client.run_action(ACTIONS_BY_NAME["deploy"], CRON_JOB, ForceEvent.CRON)
    assert response.status == 202
    assert response.data["id"] == CRON_JOB
    assert response.data["state"] == "DEPLOYMENT_QUEUED"
    assert isinstance(response.data["deployment_request_id"], str)
    assert response.content.startswith(b"{")  # the raw bytes, for the REST face to relay unchanged


async def test_clean_failed_answers_the_cleaned_kubernetes_jobs(qovery: SimQovery) -> None:
    async with client_for(qovery.url) as client:
        response = await client.run_action(ACTIONS_BY_NAME["clean-failed"], FAILED_JOB)
    assert response.status == 200
    assert isinstance(response.data["clean_kubernetes_jobs"], list)


async def test_uninstall_with_nothing_deployed_is_an_empty_204(qovery: SimQovery) -> None:
    async with client_for(qovery.url) as client:
        response = await client.run_action(ACTIONS_BY_NAME["uninstall"], NEVER_DEPLOYED_JOB, body={})
    assert (response.status, response.data, response.content) == (204, None, b"")


async def test_force_event_is_only_sent_by_the_actions_that_take_it(qovery: SimQovery) -> None:
    async with client_for(qovery.url) as client:
        await client.run_action(ACTIONS_BY_NAME["stop"], CRON_JOB, ForceEvent.CRON)
    assert qovery.sim.requests[0].query == {}


async def test_reads_send_the_same_headers(qovery: SimQovery) -> None:
    async with client_for(qovery.url) as client:
        job = await client.get_job(CRON_JOB)
        status = await client.get_job_status(CRON_JOB)
        statuses = await client.environment_job_statuses(DEMO_ENV_STOREFRONT_PRODUCTION_ID)
        jobs = await client.list_environment_jobs(DEMO_ENV_STOREFRONT_PRODUCTION_ID)
    assert (job["name"], job["job_type"]) == ("nightly-backup", "CRON")
    assert status["state"] == "DEPLOYED"
    assert {s["id"] for s in statuses} == {j["id"] for j in jobs} >= {CRON_JOB, LIFECYCLE_JOB}
    assert [(r.method, r.path) for r in qovery.sim.requests] == [
        ("GET", f"/job/{CRON_JOB}"),
        ("GET", f"/job/{CRON_JOB}/status"),
        ("GET", f"/environment/{DEMO_ENV_STOREFRONT_PRODUCTION_ID}/job/status"),
        ("GET", f"/environment/{DEMO_ENV_STOREFRONT_PRODUCTION_ID}/job"),
    ]
    for seen in qovery.sim.requests:
        assert seen.headers["authorization"] == f"Token {API_TOKEN}"
        assert seen.headers["user-agent"] == f"qjob-tui/{__version__}"


async def test_one_client_keeps_its_connection_alive(scripted: tuple[ScriptedUpstream, str]) -> None:
    upstream, url = scripted
    async with client_for(url) as client:
        for _ in range(3):
            await client.run_action(ACTIONS_BY_NAME["stop"], CRON_JOB)
        await client.get_job(CRON_JOB)
    assert len({seen.peer for seen in upstream.requests}) == 1


async def test_proxy_variables_are_ignored(qovery: SimQovery, monkeypatch: pytest.MonkeyPatch) -> None:
    # The Qovery URL is the only place the client goes; a proxy from the environment would see the token.
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("ALL_PROXY", f"http://127.0.0.1:{free_port()}")
    async with client_for(qovery.url) as client:
        await client.get_job(CRON_JOB)
    assert len(qovery.sim.requests) == 1


# -- authentication -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "scheme", "expected"),
    [
        (API_TOKEN, "auto", f"Token {API_TOKEN}"),
        (JWT, "auto", f"Bearer {JWT}"),
        (API_TOKEN, "token", f"Token {API_TOKEN}"),
        (API_TOKEN, "bearer", f"Bearer {API_TOKEN}"),
        (JWT, "token", f"Token {JWT}"),
        (JWT, "bearer", f"Bearer {JWT}"),
    ],
    ids=["auto-api-token", "auto-jwt", "token", "bearer", "jwt-as-token", "jwt-as-bearer"],
)
async def test_auth_scheme(token: str, scheme: Any, expected: str) -> None:
    async with (
        simulated_qovery(token=token) as qovery,
        client_for(qovery.url, token, auth_scheme=scheme) as client,
    ):
        await client.run_action(ACTIONS_BY_NAME["redeploy"], CRON_JOB)
    assert qovery.sim.requests[0].headers["authorization"] == expected


@pytest.mark.parametrize(
    ("token", "scheme"),
    [
        ("qov_abc.def", "Token"),  # two parts is not a JWT
        ("a.b.c.d", "Token"),  # four parts neither
        ("eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.", "Bearer"),  # an unsigned JWT still has three parts
        ("ab+c.d/e.f", "Token"),  # not base64url
    ],
)
def test_auto_scheme_goes_by_the_token_shape(token: str, scheme: str) -> None:
    assert authorization_header(token) == f"{scheme} {token}"


async def test_wrong_token_is_a_401_with_qoverys_message(qovery: SimQovery) -> None:
    async with client_for(qovery.url, "qov_not-the-right-one") as client:
        with pytest.raises(QoveryHTTPError) as caught:
            await client.run_action(ACTIONS_BY_NAME["deploy"], CRON_JOB)
    error = caught.value
    assert error.status == 401
    assert error.data["message"] in error.message
    assert "qov_not-the-right-one" not in error.message
    assert len(qovery.sim.requests) == 1  # a refused action is not retried either


async def test_a_token_that_cannot_be_sent_is_not_quoted_in_the_error(qovery: SimQovery) -> None:
    # httpx refuses the header before sending it, and its own message quotes the header value.
    async with client_for(qovery.url, "qov_top\nsecret", attempts=1) as client:
        with pytest.raises(QoveryUnreachable) as caught:
            await client.run_action(ACTIONS_BY_NAME["deploy"], CRON_JOB)
    assert "secret" not in caught.value.message
    assert "could not be sent" in caught.value.message
    assert qovery.sim.requests == []


# -- actions are never retried ---------------------------------------------------------------------


async def test_action_answered_503_is_sent_once(qovery: SimQovery) -> None:
    qovery.sim.inject(method="POST", path="/deploy$", status=503, json={"message": "try later"}, times=None)
    waits = Waits()
    async with client_for(qovery.url, waits=waits) as client:
        with pytest.raises(QoveryHTTPError) as caught:
            await client.run_action(ACTIONS_BY_NAME["deploy"], CRON_JOB)
    assert caught.value.status == 503
    assert len(qovery.sim.requests) == 1
    assert waits.seconds == []


async def test_action_answered_429_is_sent_once(qovery: SimQovery) -> None:
    qovery.sim.inject(method="POST", status=429, headers={"Retry-After": "1"}, times=None)
    async with client_for(qovery.url) as client:
        with pytest.raises(QoveryHTTPError) as caught:
            await client.run_action(ACTIONS_BY_NAME["stop"], CRON_JOB)
    assert caught.value.status == 429
    assert caught.value.retry_after_s == 1
    assert len(qovery.sim.requests) == 1


async def test_action_whose_connection_is_reset_is_sent_once(qovery: SimQovery) -> None:
    qovery.sim.inject(method="POST", path="/deploy$", reset=True, times=None)
    async with client_for(qovery.url) as client:
        with pytest.raises(QoveryUnreachable):
            await client.run_action(ACTIONS_BY_NAME["deploy"], CRON_JOB, ForceEvent.CRON)
    assert len(qovery.sim.requests) == 1


async def test_action_reset_by_a_raw_socket_is_sent_once() -> None:
    async with reset_server() as (url, server), client_for(url) as client:
        with pytest.raises(QoveryUnreachable) as caught:
            await client.run_action(ACTIONS_BY_NAME["uninstall"], CRON_JOB, body={})
    assert len(server.received) == 1
    assert server.received[0].startswith(f"POST /job/{CRON_JOB}/uninstall ".encode())
    assert url in caught.value.message


async def test_action_cut_mid_answer_is_sent_once(qovery: SimQovery) -> None:
    qovery.sim.inject(method="POST", path="/redeploy$", truncate=True)
    async with client_for(qovery.url) as client:
        with pytest.raises(QoveryUnreachable):
            await client.run_action(ACTIONS_BY_NAME["redeploy"], CRON_JOB)
    assert len(qovery.sim.requests) == 1


async def test_action_without_an_answer_in_time_is_a_timeout_sent_once(qovery: SimQovery) -> None:
    qovery.sim.inject(method="POST", delay_s=30)
    async with client_for(qovery.url, timeout_s=0.2) as client:
        with pytest.raises(QoveryTimeout) as caught:
            await client.run_action(ACTIONS_BY_NAME["deploy"], CRON_JOB)
    assert "0.2 s" in caught.value.message
    assert len(qovery.sim.requests) == 1


async def test_action_with_nothing_listening_is_unreachable() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    waits = Waits()
    async with client_for(url, waits=waits) as client:
        with pytest.raises(QoveryUnreachable) as caught:
            await client.run_action(ACTIONS_BY_NAME["deploy"], CRON_JOB)
    assert url in caught.value.message
    assert waits.seconds == []


# -- reads are retried -----------------------------------------------------------------------------


async def test_read_honours_retry_after_on_429(qovery: SimQovery) -> None:
    qovery.sim.inject(method="GET", path=r"^/job/[^/]+$", status=429, headers={"Retry-After": "7"}, times=2)
    waits = Waits()
    async with client_for(qovery.url, waits=waits) as client:
        job = await client.get_job(CRON_JOB)
    assert job["id"] == CRON_JOB
    assert waits.seconds == [7.0, 7.0]
    assert len(qovery.sim.requests) == 3


async def test_read_gives_up_at_once_when_retry_after_is_too_long(qovery: SimQovery) -> None:
    qovery.sim.inject(method="GET", status=429, headers={"Retry-After": "3600"}, times=None)
    waits = Waits()
    async with client_for(qovery.url, waits=waits) as client:
        with pytest.raises(QoveryHTTPError) as caught:
            await client.get_job_status(CRON_JOB)
    assert caught.value.status == 429
    assert waits.seconds == []
    assert len(qovery.sim.requests) == 1


async def test_read_retries_a_503_then_succeeds(qovery: SimQovery) -> None:
    qovery.sim.inject(method="GET", path="/job/status$", status=503, times=1)
    waits = Waits()
    async with client_for(qovery.url, waits=waits) as client:
        statuses = await client.environment_job_statuses(DEMO_ENV_STOREFRONT_PRODUCTION_ID)
    assert CRON_JOB in {s["id"] for s in statuses}
    assert len(qovery.sim.requests) == 2
    assert len(waits.seconds) == 1 and 0.25 <= waits.seconds[0] <= 0.5  # the first backoff step, with jitter


async def test_read_retries_a_503_whose_body_is_not_json(qovery: SimQovery) -> None:
    # A proxy in front of Qovery answers its 502/503 pages in HTML: still worth another try for a read.
    qovery.sim.inject(method="GET", status=503, raw=b"<html>Service Unavailable</html>", times=1)
    async with client_for(qovery.url) as client:
        job = await client.get_job(CRON_JOB)
    assert job["id"] == CRON_JOB
    assert len(qovery.sim.requests) == 2


async def test_read_answered_404_in_html_is_not_retried(qovery: SimQovery) -> None:
    qovery.sim.inject(method="GET", status=404, raw=b"<html>Not Found</html>", times=None)
    async with client_for(qovery.url) as client:
        with pytest.raises(QoveryBadResponse) as caught:
            await client.get_job(CRON_JOB)
    assert caught.value.status == 404
    assert len(qovery.sim.requests) == 1


async def test_read_backs_off_exponentially_then_raises_the_last_error(qovery: SimQovery) -> None:
    qovery.sim.inject(method="GET", status=502, json={"message": "bad gateway upstream"}, times=None)
    waits = Waits()
    async with client_for(qovery.url, waits=waits, attempts=4) as client:
        with pytest.raises(QoveryHTTPError) as caught:
            await client.get_job(CRON_JOB)
    assert caught.value.status == 502
    assert "bad gateway upstream" in caught.value.message
    assert len(qovery.sim.requests) == 4
    assert len(waits.seconds) == 3
    for step, wait in enumerate(waits.seconds):
        assert 0.5 * 2**step / 2 <= wait <= 0.5 * 2**step


async def test_read_is_not_retried_on_a_404(qovery: SimQovery) -> None:
    waits = Waits()
    async with client_for(qovery.url, waits=waits) as client:
        with pytest.raises(QoveryHTTPError) as caught:
            await client.get_job(UNKNOWN_JOB)
    assert caught.value.status == 404
    assert UNKNOWN_JOB in caught.value.message  # Qovery's message
    assert waits.seconds == []
    assert len(qovery.sim.requests) == 1


async def test_read_retries_a_reset_connection(qovery: SimQovery) -> None:
    qovery.sim.inject(method="GET", reset=True, times=1)
    async with client_for(qovery.url) as client:
        status = await client.get_job_status(CRON_JOB)
    assert status["id"] == CRON_JOB
    assert len(qovery.sim.requests) == 2


async def test_read_retries_a_timeout_then_raises_it(qovery: SimQovery) -> None:
    qovery.sim.inject(method="GET", delay_s=30, times=None)
    waits = Waits()
    async with client_for(qovery.url, waits=waits, attempts=2, timeout_s=0.2) as client:
        with pytest.raises(QoveryTimeout):
            await client.get_job(CRON_JOB)
    assert len(qovery.sim.requests) == 2
    assert len(waits.seconds) == 1


async def test_read_with_nothing_listening_is_retried_then_unreachable() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    waits = Waits()
    async with client_for(url, waits=waits, attempts=3) as client:
        with pytest.raises(QoveryUnreachable) as caught:
            await client.get_job(CRON_JOB)
    assert len(waits.seconds) == 2
    assert url in caught.value.message


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("7", 7.0),
        (" 2.5 ", 2.5),
        ("-3", 0.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # a date in the past: go now
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_header(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header) == seconds


def test_retry_after_date_in_the_future_counts_down(monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 3, 14, 16, 20, tzinfo=UTC).timestamp()
    monkeypatch.setattr("qjob_tui.qovery.time.time", lambda: now)
    assert parse_retry_after("Sat, 14 Mar 2026 16:21:30 GMT") == 90.0


# -- every error is reported as its type -----------------------------------------------------------


async def test_conflict_is_an_http_error_with_qoverys_message_and_body(qovery: SimQovery) -> None:
    deploy = ACTIONS_BY_NAME["deploy"]
    async with client_for(qovery.url) as client:
        await client.run_action(deploy, CRON_JOB)
        with pytest.raises(QoveryHTTPError) as caught:
            await client.run_action(deploy, CRON_JOB)  # the first one is still in progress
    error = caught.value
    assert error.status == 409
    assert isinstance(error.data, dict) and error.data["message"]
    assert error.message == f"Qovery answered 409: {error.data['message']}"
    assert error.content.startswith(b"{")  # the raw bytes, relayed as they are


async def test_bad_force_event_for_the_job_is_qoverys_400(qovery: SimQovery) -> None:
    async with client_for(qovery.url) as client:
        with pytest.raises(QoveryHTTPError) as caught:
            await client.run_action(ACTIONS_BY_NAME["redeploy"], LIFECYCLE_JOB, ForceEvent.CRON)
    assert caught.value.status == 400
    assert "CRON" in caught.value.message


async def test_error_without_a_body_names_the_status(qovery: SimQovery) -> None:
    qovery.sim.inject(method="POST", status=502, raw=b"")
    async with client_for(qovery.url) as client:
        with pytest.raises(QoveryHTTPError) as caught:
            await client.run_action(ACTIONS_BY_NAME["stop"], CRON_JOB)
    assert (caught.value.status, caught.value.data, caught.value.content) == (502, None, b"")
    assert caught.value.message == "Qovery answered 502: Bad Gateway"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"detail": "job is locked"}, "job is locked"),
        ({"error": "forbidden", "error_description": "token expired"}, "token expired"),
        ({"code": 17}, "Forbidden"),
        (["unexpected"], "Forbidden"),
    ],
)
async def test_qoverys_message_is_found_wherever_it_is(qovery: SimQovery, body: Any, message: str) -> None:
    qovery.sim.inject(method="POST", status=403, json=body)
    async with client_for(qovery.url) as client:
        with pytest.raises(QoveryHTTPError) as caught:
            await client.run_action(ACTIONS_BY_NAME["deploy"], CRON_JOB)
    assert caught.value.message == f"Qovery answered 403: {message}"
    assert caught.value.data == body


@pytest.mark.parametrize("status", [200, 202, 409, 500])
async def test_answer_that_is_not_json_is_a_bad_response(qovery: SimQovery, status: int) -> None:
    qovery.sim.inject(method="POST", status=status, raw=b"<html><body>Gateway</body></html>")
    async with client_for(qovery.url) as client:
        with pytest.raises(QoveryBadResponse) as caught:
            await client.run_action(ACTIONS_BY_NAME["deploy"], CRON_JOB)
    assert caught.value.status == status
    assert "not JSON" in caught.value.message
    assert API_TOKEN not in caught.value.message
    assert len(qovery.sim.requests) == 1


async def test_answer_whose_encoding_lies_is_a_bad_response(qovery: SimQovery) -> None:
    qovery.sim.inject(method="POST", status=202, raw=b"not gzip at all", headers={"Content-Encoding": "gzip"})
    async with client_for(qovery.url) as client:
        with pytest.raises(QoveryBadResponse) as caught:
            await client.run_action(ACTIONS_BY_NAME["stop"], CRON_JOB)
    assert "could not be decoded" in caught.value.message


async def test_json_nested_too_deep_is_a_bad_response(qovery: SimQovery) -> None:
    qovery.sim.inject(method="POST", status=202, raw=b"[" * 100_000 + b"]" * 100_000)
    async with client_for(qovery.url) as client:
        with pytest.raises(QoveryBadResponse) as caught:
            await client.run_action(ACTIONS_BY_NAME["stop"], CRON_JOB)
    assert caught.value.status == 202


async def test_list_answer_without_results_is_a_bad_response(scripted: tuple[ScriptedUpstream, str]) -> None:
    upstream, url = scripted
    upstream.then(Reply(200, [{"id": CRON_JOB}]))
    async with client_for(url) as client:
        with pytest.raises(QoveryBadResponse):
            await client.environment_job_statuses(DEMO_ENV_STOREFRONT_PRODUCTION_ID)


async def test_list_answers_are_followed_page_by_page(scripted: tuple[ScriptedUpstream, str]) -> None:
    upstream, url = scripted
    ids = [f"00000000-0000-4000-8000-00000000000{i}" for i in range(5)]
    upstream.then(
        Reply(200, {"page": 1, "page_size": 2, "results": [{"id": ids[0]}, {"id": ids[1]}]}),
        Reply(200, {"page": 2, "page_size": 2, "results": [{"id": ids[2]}, {"id": ids[3]}]}),
        Reply(200, {"page": 3, "page_size": 2, "results": [{"id": ids[4]}]}),
    )
    async with client_for(url) as client:
        jobs = await client.list_environment_jobs(DEMO_ENV_STOREFRONT_PRODUCTION_ID)
    assert [job["id"] for job in jobs] == ids
    assert [seen.query for seen in upstream.requests] == ["", "page=2", "page=3"]


# -- ids are checked before any URL is built ------------------------------------------------------

BAD_IDS = [
    "../x",
    "%2e%2e%2f",
    "",
    f"{CRON_JOB}\n",
    f"{CRON_JOB}/../../organization",
    f"{CRON_JOB}?forceEvent=DELETE",
    f" {CRON_JOB}",
    CRON_JOB[:-1],
    CRON_JOB.replace("-", ""),
    "0d6e3c5a-1f0b-4c55-9d7e-2b1a4f9c8e1g",
]


@pytest.mark.parametrize("bad_id", BAD_IDS, ids=repr)
@pytest.mark.parametrize("action", sorted(ACTIONS_BY_NAME))
async def test_action_on_a_job_id_that_is_not_a_uuid_sends_nothing(
    qovery: SimQovery, action: str, bad_id: str
) -> None:
    async with client_for(qovery.url) as client:
        with pytest.raises(InvalidInput) as caught:
            await client.run_action(ACTIONS_BY_NAME[action], bad_id)
    assert caught.value.field == "jobId"
    assert qovery.sim.requests == []


@pytest.mark.parametrize("bad_id", [*BAD_IDS, None, 42], ids=repr)
async def test_read_of_an_id_that_is_not_a_uuid_sends_nothing(qovery: SimQovery, bad_id: Any) -> None:
    async with client_for(qovery.url) as client:
        for read in (
            client.get_job,
            client.get_job_status,
            client.list_environment_jobs,
            client.environment_job_statuses,
        ):
            with pytest.raises(InvalidInput):
                await read(bad_id)
    assert qovery.sim.requests == []


async def test_upper_case_job_id_is_sent_lower_case(qovery: SimQovery) -> None:
    async with client_for(qovery.url) as client:
        await client.run_action(ACTIONS_BY_NAME["stop"], CRON_JOB.upper())
    assert qovery.sim.requests[0].path == f"/job/{CRON_JOB}/stop"


async def test_an_idle_connection_the_server_closed_is_not_reused_for_an_action() -> None:
    """Qovery (or a proxy) may drop an idle keep-alive connection. The pool must notice before it sends an
    action there: actions are never retried, so a dead connection would lose a deploy."""
    accepted: list[int] = []
    answer = (
        b"HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
        b"Connection: keep-alive\r\n\r\n{}"
    )

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        await reader.readuntil(b"\r\n\r\n")  # the actions below carry no body
        writer.write(answer)
        await writer.drain()
        writer.close()  # then drop the connection while the client keeps it as idle
        await writer.wait_closed()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with QoveryClient(f"http://127.0.0.1:{port}", API_TOKEN) as client:
            first = await client.run_action(ACTIONS_BY_NAME["stop"], CRON_JOB)
            # The next action comes a moment later, as a user's would: the server's close has been seen by
            # then (what no client can see is a close still on its way, as on every keep-alive connection).
            await asyncio.sleep(0.2)
            second = await client.run_action(ACTIONS_BY_NAME["stop"], CRON_JOB)
    finally:
        server.close()
        await server.wait_closed()
    assert (first.status, second.status) == (202, 202)
    assert len(accepted) == 2  # the second went on a fresh connection


async def test_a_204_with_a_stray_body_does_not_spoil_the_next_action() -> None:
    """A 204 has no body by definition; a server that sends one anyway leaves bytes behind on the connection.
    Whatever becomes of that answer, the next action must not be sent where those bytes would be read as its
    answer (actions are never retried: a spoiled connection would lose it)."""
    accepted: list[int] = []
    answers = [
        b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nstray",
        b"HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
    ]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        answer = answers[0] if len(accepted) == 1 else answers[1]
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                await reader.readuntil(b"\r\n\r\n")
                writer.write(answer)
                await writer.drain()
                answer = answers[1]
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with QoveryClient(f"http://127.0.0.1:{port}", API_TOKEN) as client:
            with contextlib.suppress(QoveryUnreachable):  # the broken 204 itself may be refused
                await client.run_action(ACTIONS_BY_NAME["uninstall"], CRON_JOB)
            second = await client.run_action(ACTIONS_BY_NAME["stop"], CRON_JOB)
    finally:
        server.close()
        await server.wait_closed()
    assert (second.status, second.data) == (202, {})
    assert len(accepted) == 2  # the stop went on a fresh connection


async def test_requests_beyond_the_pool_wait_for_a_connection_and_all_arrive() -> None:
    """At most `max_connections` requests are in flight to Qovery; the rest wait their turn in the client."""
    in_flight, peak, connections = 0, 0, 0
    answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal in_flight, peak, connections
        connections += 1
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                await reader.readuntil(b"\r\n\r\n")
                in_flight += 1
                peak = max(peak, in_flight)
                await asyncio.sleep(0.01)  # Qovery takes a moment: the next requests pile up meanwhile
                in_flight -= 1
                writer.write(answer)
                await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with QoveryClient(f"http://127.0.0.1:{port}", API_TOKEN, max_connections=4) as client:
            answers = await asyncio.gather(*(client.get_job_status(CRON_JOB) for _ in range(40)))
    finally:
        server.close()
        await server.wait_closed()
    assert answers == [{}] * 40
    assert peak == 4
    assert connections <= 4


async def test_qovery_over_tls_is_reached_only_with_a_certificate_it_trusts() -> None:
    """Qovery is HTTPS: the certificate is verified (by default against httpx's roots, which do not know this
    test's authority), and a client that trusts the authority talks to it."""
    authority = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(server_context)
    seen: list[bytes] = []
    answer = b"HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            seen.append(await reader.readuntil(b"\r\n\r\n"))
            writer.write(answer)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=server_context)
    url = f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    trusting = ssl.create_default_context()
    authority.configure_trust(trusting)
    try:
        async with QoveryClient(url, API_TOKEN) as client:
            with pytest.raises(QoveryUnreachable) as caught:
                await client.run_action(ACTIONS_BY_NAME["deploy"], CRON_JOB)
        transport = AiohttpTransport(ssl_context=trusting)
        async with QoveryClient(url, API_TOKEN, transport=transport) as client:
            response = await client.run_action(ACTIONS_BY_NAME["deploy"], CRON_JOB)
    finally:
        server.close()
        await server.wait_closed()
    assert "CERTIFICATE_VERIFY_FAILED" in caught.value.message
    assert f"cannot connect to 127.0.0.1:{url.rsplit(':', 1)[1]}: " in caught.value.message
    assert "object at 0x" not in caught.value.message  # aiohttp's text showed its TLS context's repr
    assert response.status == 202
    assert len(seen) == 1 and seen[0].startswith(f"POST /job/{CRON_JOB}/deploy ".encode())
