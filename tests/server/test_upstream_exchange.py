"""The upstream exchange, against a Qovery that misbehaves on the wire (tests/support/hostile.py): one deadline
for the whole exchange, a 204 that carries a body, statuses that are not HTTP, answers that are not strict
JSON; and through a sequence of all of them, every caller gets the answer to its own request."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.common import CRON_JOB, LISTED_JOBS, NEVER_DEPLOYED_JOB, Relay, running_relay
from tests.support.hostile import (
    Answer,
    HostileUpstream,
    Received,
    accepted,
    drip,
    hold,
    hostile_upstream,
    json_answer,
    no_content_with_body,
    weird_status,
)

BOUND_S = 60  # every wait below; only a hang reaches it


def echoed(received: Received, delay_s: float = 0.0) -> Answer:
    """Qovery's 202, naming the request it answers: its arrival number and the body it carried."""
    return json_answer(
        202,
        {"deployment_request_id": f"req-{received.seq}", "echo": received.json() if received.body else None},
        delay_s=delay_s,
    )


@contextlib.asynccontextmanager
async def relay_before(
    upstream: HostileUpstream, tmp_path: Path, timeout_s: float = 5.0
) -> AsyncIterator[Relay]:
    async with running_relay(tmp_path, api_url=upstream.url, timeout_s=timeout_s) as relay:
        yield relay


@pytest.fixture
async def upstream() -> AsyncIterator[HostileUpstream]:
    async with hostile_upstream(default=echoed) as hostile:
        yield hostile


async def deploy(relay: Relay, tag: str) -> Any:
    async with relay.rest() as client:
        return await client.post(f"/v1/job/{CRON_JOB}/deploy", json={"image_tag": tag})


async def test_timeout_s_bounds_the_whole_exchange_not_each_read(
    upstream: HostileUpstream, tmp_path: Path
) -> None:
    # Headers at once, then the body a byte every 0.2 s: some 14 s in all, far past timeout_s; each read is quick.
    upstream.then(drip(json_answer(202, {"deployment_request_id": "dripped", "pad": "x" * 40}), every_s=0.2))
    async with (
        running_relay(tmp_path, api_url=upstream.url, timeout_s=1.0) as relay,
        asyncio.timeout(BOUND_S),
    ):
        slow = await deploy(relay, "slow")
        after = await deploy(relay, "after")
    assert slow.status_code == 504, slow.text
    assert slow.json()["type"] == "urn:qjob-tui:problem:upstream-timeout"
    assert "within 1 s" in slow.json()["detail"]
    assert after.status_code == 202 and after.json()["echo"] == {"image_tag": "after"}
    first, second = upstream.requests()
    assert second.connection != first.connection  # the cut connection was not reused


@pytest.mark.parametrize("same_read", [True, False], ids=["stray body in the same read", "stray body later"])
async def test_a_204_with_a_body_is_qoverys_204_and_the_next_action_gets_its_own_answer(
    upstream: HostileUpstream, tmp_path: Path, same_read: bool
) -> None:
    stray = b'{"deployment_request_id":"stray"}'
    if same_read:
        upstream.then(no_content_with_body(stray))
    else:  # the head, then the stray bytes in a write of their own, just after
        upstream.then(drip(Answer(204, stray, with_length=False), every_s=0.05, chunk=len(stray)))
    async with relay_before(upstream, tmp_path) as relay, relay.rest() as client:
        uninstall = await client.post(f"/v1/job/{NEVER_DEPLOYED_JOB}/uninstall")
        following = [await deploy(relay, f"next-{n}") for n in range(3)]
        async with relay.mcp() as mcp:
            tool = await mcp.call_tool("deploy-job", {"jobId": CRON_JOB, "body": {"image_tag": "by-mcp"}})
    assert uninstall.status_code == 204 and uninstall.content == b""
    for n, answer in enumerate(following):
        assert answer.status_code == 202, answer.text
        assert answer.json()["echo"] == {"image_tag": f"next-{n}"}
    assert not tool.is_error and tool.structured_content["echo"] == {"image_tag": "by-mcp"}  # type: ignore[index]
    assert len(upstream.requests()) == 5
    audit = relay.audit_outcomes()
    assert [line["status"] for line in audit] == [204, 202, 202, 202, 202]


@pytest.mark.parametrize("status", [600, 999, 101])
async def test_a_status_that_is_not_a_final_http_status_is_a_clear_502(
    upstream: HostileUpstream, tmp_path: Path, status: int
) -> None:
    upstream.then(weird_status(status), weird_status(status))
    async with relay_before(upstream, tmp_path) as relay:
        rest = await deploy(relay, "weird")
        async with relay.mcp() as mcp:
            tool = await mcp.call_tool("deploy-job", {"jobId": CRON_JOB})
        after = await deploy(relay, "after")
    assert rest.status_code == 502, rest.text
    assert f"status {status}, which is not a final HTTP status" in rest.json()["detail"]
    assert tool.is_error and f"status {status}" in tool.content[0].text  # type: ignore[union-attr]
    assert after.status_code == 202 and after.json()["echo"] == {"image_tag": "after"}


NOT_STRICT = {
    "a lone surrogate in Qovery's message": (400, b'{"message": "bad \\ud800 tag"}', "lone surrogate"),
    "NaN in an accepted answer": (
        202,
        b'{"deployment_request_id": "r1", "progress": NaN}',
        "NaN is not JSON",
    ),
    "a key twice": (202, b'{"state": "QUEUED", "state": "DEPLOYED"}', "duplicate key 'state'"),
}


@pytest.mark.parametrize(("status", "body", "says"), NOT_STRICT.values(), ids=NOT_STRICT.keys())
async def test_an_answer_that_is_not_strict_json_is_a_502_every_client_can_read(
    upstream: HostileUpstream, tmp_path: Path, status: int, body: bytes, says: str
) -> None:
    upstream.then(Answer(status, body), Answer(status, body))
    async with relay_before(upstream, tmp_path) as relay:
        rest = await deploy(relay, "v1")
        async with relay.mcp() as mcp:
            tool = await mcp.call_tool("deploy-job", {"jobId": CRON_JOB})
    assert rest.status_code == 502
    problem = json.loads(rest.content.decode("utf-8"))  # strict UTF-8: no lone surrogate got through
    assert says in problem["detail"] and f"Qovery answered {status}" in problem["detail"]
    assert tool.is_error and says in tool.content[0].text  # type: ignore[union-attr]
    audit = relay.audit_outcomes()
    assert len(audit) == 2 and all(says in line["error"] for line in audit)


async def test_after_a_timeout_a_429_a_403_a_non_json_200_and_a_204_every_caller_gets_its_own_answer(
    upstream: HostileUpstream, tmp_path: Path
) -> None:
    """The issue's count that did not add up: 200 deploys, 100 at once, after a sequence of broken exchanges.
    Each caller sends a tag of its own and Qovery names the request and tag it answers: a caller that got an
    answer read from another exchange (a late answer left on a pooled connection) would see another tag."""
    late = asyncio.Event()
    upstream.then(
        hold(accepted, late),  # answered only after the relay gave up on it: a late answer
        json_answer(429, {"message": "slow down"}, headers=[("Retry-After", "1")]),
        json_answer(403, {"message": "not yours"}),
        Answer(200, b"<html>gateway</html>", content_type="text/html"),
        no_content_with_body(),
    )
    callers = 200
    upstream.default = lambda received: echoed(received, delay_s=0.4)
    async with relay_before(upstream, tmp_path, timeout_s=2.0) as relay, asyncio.timeout(BOUND_S):
        async with relay.rest() as client:
            prelude = [(await client.post(f"/v1/job/{job}/deploy")).status_code for job in LISTED_JOBS[:4]]
            prelude.append((await client.post(f"/v1/job/{NEVER_DEPLOYED_JOB}/uninstall")).status_code)
            late.set()  # the late answer goes out now, on a connection the relay must have dropped
            limit = asyncio.Semaphore(100)

            async def caller(n: int) -> tuple[int, Any]:
                async with limit:
                    answer = await client.post(
                        f"/v1/job/{CRON_JOB}/deploy", json={"image_tag": f"caller-{n}"}
                    )
                    return answer.status_code, answer.json()

            answers = await asyncio.gather(*(caller(n) for n in range(callers)))
        received_when_answered = len(upstream.requests())
    assert prelude == [504, 429, 403, 502, 204]
    by_seq = {request.seq: request for request in upstream.requests()}
    for n, (status, data) in enumerate(answers):
        assert status == 202, data
        assert data["echo"] == {"image_tag": f"caller-{n}"}  # its own answer
        seq = int(data["deployment_request_id"].removeprefix("req-"))
        assert by_seq[seq].json() == {"image_tag": f"caller-{n}"}  # to a request Qovery received
    assert len({data["deployment_request_id"] for _, data in answers}) == callers
    assert received_when_answered == 5 + callers
    assert len(relay.audit_outcomes()) == 5 + callers
