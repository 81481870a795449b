"""The relay's promises, for arbitrary (hypothesis) requests and arbitrary answers of a hostile upstream: any
action, job, query, headers and body on REST (and any tool arguments on MCP, over the official client), and
Qovery answering with any status, JSON or not, a 204 with a body, a cut, a reset, a drip, a lying length, an
echo of the token. Whatever the draw:

- no 500 of ours (a 500 only when it is Qovery's own, relayed), and every answer of ours is problem JSON;
- no traceback, nor any error of the relay's own, in its log or the event loop's;
- no action at Qovery without its audit lines: each request Qovery received has an intent, each intent one
  outcome (with its id);
- no token in any answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client

from qjob_tui.actions import ACTIONS, FORCE_EVENTS, BodyKind
from qjob_tui.runtime import Runtime, open_runtime
from qjob_tui.server import RelayServers
from qjob_tui.simulator import DEMO_TOKEN
from tests.common import LISTED_JOBS, UNLISTED_JOB, audit_outcomes, read_audit, relay_settings
from tests.support.hostile import (
    Answer,
    HostileUpstream,
    Received,
    close_mid_answer,
    drip,
    echo_authorization,
    hostile_upstream,
    json_answer,
    no_content_with_body,
    weird_status,
)

from .relay_harness import in_thread

TOKEN = DEMO_TOKEN
TIMEOUT_S = 1.0  # the deadline of one exchange: a lying Content-Length or a slow drip costs at most this
PROBLEM_JSON = "application/problem+json"

# -- what Qovery may answer -------------------------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
statuses = st.sampled_from([200, 201, 202, 204, 400, 401, 403, 404, 409, 429, 500, 502, 503]) | st.integers(
    100, 599
)
header_values = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20)


@st.composite
def answers(draw: st.DrawFn) -> Answer | Any:
    kind = draw(
        st.sampled_from(
            [
                "json",
                "raw",
                "weird-status",
                "204-body",
                "cut",
                "reset",
                "drip",
                "echo",
                "lying-length",
                "headers",
            ]
        )
    )
    status = draw(statuses)
    if kind == "json":
        return json_answer(status, draw(json_values))
    if kind == "raw":
        return Answer(
            status, draw(st.binary(max_size=64)), content_type=draw(st.sampled_from([None, "text/html"]))
        )
    if kind == "weird-status":
        return weird_status(draw(st.sampled_from([0, 1, 99, 600, 999, 1000])))
    if kind == "204-body":
        return no_content_with_body(
            draw(st.binary(min_size=1, max_size=32)), status=draw(st.sampled_from([204, 304]))
        )
    if kind == "cut":
        return close_mid_answer(status)
    if kind == "reset":
        return Answer(reset=True)
    if kind == "drip":
        return drip(json_answer(status, {"deployment_request_id": "drip"}), every_s=0.01, chunk=4)
    if kind == "echo":
        return echo_authorization(status, draw(st.sampled_from(["bad token {}", "{}", "ok {} ok"])))
    if kind == "lying-length":
        body = b'{"deployment_request_id":"lie"}'
        return Answer(status, body, content_length=len(body) + draw(st.sampled_from([-10, -1, 1, 50])))
    return json_answer(
        status,
        {"message": "with headers"},
        headers=draw(
            st.lists(
                st.tuples(
                    st.sampled_from(["Retry-After", "Content-Encoding", "X-Token", "Set-Cookie"]),
                    header_values,
                ),
                max_size=3,
            )
        ),
    )


# -- what a caller may send --------------------------------------------------------------------------------

job_ids = st.sampled_from([*LISTED_JOBS[:3], UNLISTED_JOB]) | st.text(max_size=12)
queries = st.sampled_from(["", *(f"forceEvent={e}" for e in FORCE_EVENTS), "forceEvent=", "x=1"]) | st.text(
    max_size=12
)
bodies = (
    st.none()
    | st.sampled_from(
        [b"{}", b'{"image_tag":"2.5.0"}', b'{"git_commit_id":"9d1c0ab"}', b"NaN", b'{"a":1,"a":2}']
    )
    | json_values.map(lambda value: json.dumps(value).encode())
    | st.binary(max_size=48)
)
content_types = st.sampled_from(
    [None, "application/json", "text/plain", "application/json; charset=utf-8", "x/y"]
)
extra_headers = st.dictionaries(
    st.sampled_from(["X-Request-Id", "Accept", "User-Agent", "Transfer-Encoding-Ish", "Cookie"]),
    header_values.map(str.strip),  # what a client can send at all (no white space around a value)
    max_size=3,
)


@dataclass
class Call:
    action: Any
    job: str
    query: str
    body: bytes | None
    content_type: str | None
    headers: dict[str, str]

    def url(self) -> str:
        job = quote(self.job, safe="")
        path = f"/v1/{self.action.target.kind}/{job}/{self.action.rest_segment}"
        return f"{path}?{quote(self.query, safe='=&')}" if self.query else path


@st.composite
def valid_calls(draw: st.DrawFn) -> Call:
    """A call the relay accepts: Qovery sees it, so that its answers are tried."""
    action = draw(st.sampled_from(ACTIONS))
    query = (
        f"forceEvent={draw(st.sampled_from(FORCE_EVENTS))}"
        if action.force_event and draw(st.booleans())
        else ""
    )
    body = None
    if action.body is BodyKind.DEPLOY:
        body = draw(st.sampled_from([None, b'{"image_tag":"2.5.0"}', b'{"git_commit_id":"9d1c0ab"}']))
    elif action.body is BodyKind.OBJECT:
        body = draw(st.none() | json_values.map(lambda value: json.dumps({"x": value}).encode()))
    job = draw(st.sampled_from(LISTED_JOBS[:3]))
    return Call(action, job, query, body, "application/json", draw(extra_headers))


# Two draws in three are accepted calls; the third is anything at all, refused before Qovery or not.
calls = st.one_of(
    valid_calls(),
    valid_calls(),
    st.builds(Call, st.sampled_from(ACTIONS), job_ids, queries, bodies, content_types, extra_headers),
)


# -- the relay in a thread of its own, with its log and its loop's errors kept ----------------------------


@dataclass
class HostileRelay:
    upstream: HostileUpstream
    runtime: Runtime
    servers: RelayServers
    loop: asyncio.AbstractEventLoop
    audit_path: Path
    log: list[str] = field(default_factory=list)
    loop_errors: list[str] = field(default_factory=list)

    def answer_with(self, behaviour: Any) -> None:
        """From now on, Qovery answers every request with `behaviour`."""
        self.upstream.script.clear()
        self.upstream.default = behaviour

    def run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=120)


@contextlib.asynccontextmanager
async def hostile_relay(directory: Path, loop: asyncio.AbstractEventLoop) -> AsyncIterator[HostileRelay]:
    """The relay in front of the hostile upstream, on `loop` (whose errors it keeps)."""
    errors: list[str] = []
    loop.set_exception_handler(lambda _, context: errors.append(str(context.get("message"))))
    log: list[str] = []
    async with (
        hostile_upstream() as upstream,
        open_runtime(relay_settings(directory, upstream.url, token=TOKEN, timeout_s=TIMEOUT_S)) as runtime,
        RelayServers(runtime, log=log.append) as servers,
    ):
        await servers.wait_started()
        yield HostileRelay(upstream, runtime, servers, loop, runtime.audit.path, log, errors)


@pytest.fixture(scope="module")
def relay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostileRelay]:
    directory = tmp_path_factory.mktemp("hostile-relay")
    with in_thread(lambda loop: hostile_relay(directory, loop)) as running:
        yield running


@pytest.fixture(scope="module")
def http(relay: HostileRelay) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=relay.servers.rest_url, timeout=60) as client:
        yield client


# -- the promises ------------------------------------------------------------------------------------------


def upstream_said(behaviour: Any, received: list[Received]) -> Answer | None:
    """The answer Qovery gave to the last request it received (None when it received none)."""
    if not received:
        return None
    return behaviour(received[-1]) if callable(behaviour) else behaviour


def assert_an_honest_answer(response: httpx.Response, given: Answer | None) -> None:
    our_own = response.headers.get("content-type", "").startswith(PROBLEM_JSON)
    if response.status_code == 500:
        # Only Qovery's own 500, relayed as it came: JSON, and nothing of ours.
        assert given is not None and given.status == 500 and not our_own, response.text
        assert response.headers.get("content-type") == "application/json", response.text
    if our_own:
        problem = response.json()
        assert problem["status"] == response.status_code and problem["type"].startswith(
            "urn:qjob-tui:problem:"
        )
    elif response.status_code >= 400 and response.status_code != 500:
        assert given is not None and response.status_code == given.status, response.text  # Qovery's, relayed
    assert TOKEN not in response.text


def assert_every_action_at_qovery_audited(relay: HostileRelay) -> None:
    records = read_audit(relay.audit_path)
    audit_outcomes(records)  # every intent has exactly one outcome, after it, with its id
    intents = Counter(f"/job/{r['job_id']}/{r['action']}" for r in records if r["phase"] == "intent")
    upstream_names = {a.upstream_path.rsplit("/", 1)[1]: a.name for a in ACTIONS}
    at_qovery = Counter(
        f"{received.path.rsplit('/', 1)[0]}/{upstream_names[received.path.rsplit('/', 1)[1]]}"
        for received in relay.upstream.requests()
    )
    assert not at_qovery - intents, f"at Qovery without an intent: {at_qovery - intents}"


def assert_no_error_of_ours(relay: HostileRelay) -> None:
    ours = [
        line for line in relay.log if "Traceback" in line or "Exception in ASGI" in line or " failed" in line
    ]
    assert not ours, ours
    assert not relay.loop_errors, relay.loop_errors


PROPERTY = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@PROPERTY
@given(call=calls, behaviour=answers())
def test_any_rest_call_against_any_upstream_answer_keeps_the_promises(
    relay: HostileRelay, http: httpx.Client, call: Call, behaviour: Any
) -> None:
    relay.answer_with(behaviour)
    before = len(relay.upstream.requests())
    headers = dict(call.headers)
    if call.content_type is not None:
        headers["Content-Type"] = call.content_type
    response = http.post(call.url(), content=call.body, headers=headers)
    sent = relay.upstream.requests()[before:]
    assert len(sent) <= 1  # never retried
    assert_an_honest_answer(response, upstream_said(behaviour, sent))
    assert_every_action_at_qovery_audited(relay)
    assert_no_error_of_ours(relay)


tool_arguments = st.fixed_dictionaries(
    {"jobId": job_ids},
    optional={"forceEvent": st.sampled_from([*FORCE_EVENTS, "", "NOW"]), "body": json_values},
)


async def call_tool(url: str, tool: str, arguments: dict[str, Any]) -> Any:
    async with Client(url) as client:
        return await client.call_tool(tool, arguments)


@settings(PROPERTY, max_examples=60)
@given(action=st.sampled_from(ACTIONS), arguments=tool_arguments, behaviour=answers())
def test_any_mcp_call_against_any_upstream_answer_keeps_the_promises(
    relay: HostileRelay, action: Any, arguments: dict[str, Any], behaviour: Any
) -> None:
    relay.answer_with(behaviour)
    before = len(relay.upstream.requests())
    result = relay.run(call_tool(relay.servers.mcp_url, action.tool, arguments))
    sent = relay.upstream.requests()[before:]
    assert len(sent) <= 1
    texts = [item.text for item in result.content] + [json.dumps(result.structured_content)]
    assert all(TOKEN not in text for text in texts)
    given = upstream_said(behaviour, sent)
    if given is None or not 200 <= given.status < 300:
        assert result.is_error or (given is not None and given.raw is not None), (
            texts
        )  # never a made-up success
    # An exception of ours would come back as the SDK's bare "Error executing tool <name>" (its argument
    # validation adds the reason after a colon: a refusal, which is fine).
    assert f"Error executing tool {action.tool}" not in texts, texts
    assert_every_action_at_qovery_audited(relay)
    assert_no_error_of_ours(relay)


def test_the_properties_reached_qovery_with_every_kind_of_answer(relay: HostileRelay) -> None:
    """The draws above are not all refused before Qovery: many reached it (so its answers were tried)."""
    assert len(relay.upstream.requests()) >= 20
    assert len([r for r in read_audit(relay.audit_path) if r["phase"] == "intent"]) >= 20
