"""What the REST adapter refuses before Qovery: the right status, problem JSON, and nothing sent upstream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.common import CRON_JOB, LIFECYCLE_JOB, SERVER_TOKEN, UNLISTED_JOB, Relay, running_relay


@dataclass(frozen=True)
class Refusal:
    method: str
    path: str
    status: int
    content: bytes | None = None
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)  # expected in the answer
    field: str | None = None  # the input the problem must name
    streamed: int = 0  # send this many bytes chunked, without Content-Length
    content_type: str | None = "application/json"  # sent with `content`


def _chunks(total: int, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    async def generate() -> AsyncIterator[bytes]:
        sent = 0
        while sent < total:
            yield b" " * min(size, total - sent)
            sent += size

    return generate()


REFUSALS = {
    "percent-encoded .. and / in the job id": Refusal(
        "POST", "/v1/job/..%2F..%2Forganization/deploy", 400, field="jobId"
    ),
    "percent-encoded dots as the job id": Refusal("POST", "/v1/job/%2e%2e/stop", 400, field="jobId"),
    "an encoded slash after a valid id": Refusal(
        "POST", f"/v1/job/{CRON_JOB}%2Fstop/deploy", 400, field="jobId"
    ),
    "an encoded path as the job id": Refusal(
        "POST", "/v1/job/%2E%2E%2F%2E%2E%2Fjob%2Fx/redeploy", 400, field="jobId"
    ),
    "a job id that is not a UUID": Refusal("POST", "/v1/job/nightly-backup/deploy", 400, field="jobId"),
    "a job that is not configured": Refusal("POST", f"/v1/job/{UNLISTED_JOB}/deploy", 403, field="jobId"),
    "a forceEvent outside the enum": Refusal(
        "POST", f"/v1/job/{CRON_JOB}/deploy?forceEvent=NOW", 400, field="forceEvent"
    ),
    "a lower-case forceEvent": Refusal(
        "POST", f"/v1/job/{CRON_JOB}/redeploy?forceEvent=cron", 400, field="forceEvent"
    ),
    "a forceEvent on stop": Refusal(
        "POST", f"/v1/job/{CRON_JOB}/stop?forceEvent=STOP", 400, field="forceEvent"
    ),
    "an empty forceEvent": Refusal(
        "POST", f"/v1/job/{CRON_JOB}/redeploy?forceEvent=", 400, field="forceEvent"
    ),
    "forceEvent twice": Refusal("POST", f"/v1/job/{CRON_JOB}/deploy?forceEvent=CRON&forceEvent=START", 400),
    "a misspelt query parameter": Refusal(
        "POST", f"/v1/job/{CRON_JOB}/deploy?forceevent=CRON", 400, field="forceevent"
    ),
    "a body that is an array": Refusal("POST", f"/v1/job/{CRON_JOB}/deploy", 400, json=["v2"], field="body"),
    "a body that is null": Refusal(
        "POST", f"/v1/job/{CRON_JOB}/uninstall", 400, content=b"null", field="body"
    ),
    "a body that is not JSON": Refusal(
        "POST", f"/v1/job/{CRON_JOB}/deploy", 400, content=b"image_tag=v2", field="body"
    ),
    "a form body": Refusal(
        "POST",
        f"/v1/job/{CRON_JOB}/deploy",
        415,
        content=b"image_tag=v2",
        content_type="application/x-www-form-urlencoded",
    ),
    "a JSON body without a Content-Type": Refusal(
        "POST", f"/v1/job/{CRON_JOB}/deploy", 415, content=b'{"image_tag": "v2"}', content_type=None
    ),
    "a body cut short": Refusal(
        "POST", f"/v1/job/{CRON_JOB}/deploy", 400, content=b'{"image_tag": "v', field="body"
    ),
    "an image_tag that is a number": Refusal(
        "POST", f"/v1/job/{CRON_JOB}/deploy", 400, json={"image_tag": 2}, field="body.image_tag"
    ),
    "both image_tag and git_commit_id": Refusal(
        "POST",
        f"/v1/job/{CRON_JOB}/deploy",
        400,
        json={"image_tag": "v2", "git_commit_id": "abc"},
        field="body",
    ),
    "an image_tag with a newline": Refusal(
        "POST", f"/v1/job/{CRON_JOB}/deploy", 400, json={"image_tag": "v2\nv3"}, field="body.image_tag"
    ),
    "a git_commit_id of 1,000 characters": Refusal(
        "POST",
        f"/v1/job/{CRON_JOB}/deploy",
        400,
        json={"git_commit_id": "a" * 1000},
        field="body.git_commit_id",
    ),
    "an unknown deploy field": Refusal(
        "POST", f"/v1/job/{CRON_JOB}/deploy", 400, json={"tag": "v2"}, field="body"
    ),
    "an uninstall body that is not an object": Refusal(
        "POST", f"/v1/job/{CRON_JOB}/uninstall", 400, json="everything", field="body"
    ),
    "a body on redeploy": Refusal("POST", f"/v1/job/{LIFECYCLE_JOB}/redeploy", 400, json={}, field="body"),
    "a 2 MB body": Refusal("POST", f"/v1/job/{CRON_JOB}/deploy", 413, content=b" " * (2 * 1024 * 1024)),
    "a 2 MB body without Content-Length": Refusal(
        "POST", f"/v1/job/{CRON_JOB}/uninstall", 413, streamed=2 * 1024 * 1024
    ),
    "a body just over 64 KiB": Refusal(
        "POST", f"/v1/job/{CRON_JOB}/uninstall", 413, content=b" " * (64 * 1024 + 1)
    ),
    "an unknown action": Refusal("POST", f"/v1/job/{CRON_JOB}/restart", 404),
    "Qovery's own casing of an action": Refusal("POST", f"/v1/job/{CRON_JOB}/cleanFailedJob", 404),
    "an unknown path": Refusal("GET", "/v1/environments", 404),
    "a path under an action": Refusal("POST", f"/v1/job/{CRON_JOB}/deploy/now", 404),
    "the root": Refusal("GET", "/", 404),
    "GET on an action": Refusal("GET", f"/v1/job/{CRON_JOB}/deploy", 405, headers={"allow": "POST"}),
    "DELETE on an action": Refusal("DELETE", f"/v1/job/{CRON_JOB}/uninstall", 405, headers={"allow": "POST"}),
    "POST on the job list": Refusal("POST", "/v1/jobs", 405, headers={"allow": "GET, HEAD"}),
    "a filter on the job list, which takes none": Refusal("GET", "/v1/jobs?state=FAILED", 400, field="state"),
    "a query parameter on the health route": Refusal("GET", "/v1/health?verbose=1", 400, field="verbose"),
    "a query parameter on the OpenAPI document": Refusal("GET", "/v1/openapi.json?v=3", 400, field="v"),
}


@pytest.mark.parametrize("refusal", REFUSALS.values(), ids=REFUSALS.keys())
async def test_refused_before_qovery(relay: Relay, refusal: Refusal) -> None:
    async with relay.rest() as client:
        if refusal.streamed:
            response = await client.post(refusal.path, content=_chunks(refusal.streamed))
        else:
            sent = {"content-type": refusal.content_type} if refusal.content and refusal.content_type else {}
            response = await client.request(
                refusal.method, refusal.path, content=refusal.content, json=refusal.json, headers=sent
            )
    assert response.status_code == refusal.status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert set(problem) >= {"type", "title", "status", "detail"}
    assert problem["status"] == refusal.status
    assert problem["detail"]
    if refusal.field is not None:
        assert problem["field"] == refusal.field
    if refusal.status == 400:
        assert problem["detail"].startswith(f"{problem.get('field', 'forceEvent')}: ")
    for name, value in refusal.headers.items():
        assert response.headers[name] == value
    assert relay.sim.requests == []
    assert relay.audit_outcomes() == []


async def test_a_problem_says_what_to_do(relay: Relay) -> None:
    async with relay.rest() as client:
        not_uuid = (await client.post("/v1/job/nightly-backup/deploy")).json()
        unlisted = (await client.post(f"/v1/job/{UNLISTED_JOB}/stop")).json()
        bad_event = (await client.post(f"/v1/job/{CRON_JOB}/deploy?forceEvent=NOW")).json()
    assert "is not a job UUID" in not_uuid["detail"]
    assert "allow_unlisted_jobs" in unlisted["detail"]
    assert "START, STOP, DELETE, CRON" in bad_event["detail"]


@pytest.mark.parametrize("segment", ["run", "log", "status", ""])
async def test_a_mistyped_read_of_a_job_points_at_the_reads(relay: Relay, segment: str) -> None:
    """`GET /v1/job/<id>/run` (for /runs) or `GET /v1/job/<id>/` is a read gone wrong: the answer names the
    reads, not only the actions one POSTs."""
    async with relay.rest() as client:
        response = await client.get(f"/v1/job/{CRON_JOB}/{segment}")
    assert response.status_code == 404
    detail = response.json()["detail"]
    assert "GET /v1/job/{jobid}/runs" in detail and "GET /v1/job/{jobid}/logs" in detail
    assert relay.sim.requests == [] or all(request.method == "GET" for request in relay.sim.requests)


async def test_an_unlisted_job_passes_when_the_config_allows_it(tmp_path: Path) -> None:
    async with running_relay(tmp_path, allow_unlisted_jobs=True) as relay, relay.rest() as client:
        response = await client.post(f"/v1/job/{UNLISTED_JOB}/deploy?forceEvent=CRON")
    assert response.status_code == 202
    assert [r.path for r in relay.upstream_actions] == [f"/job/{UNLISTED_JOB}/deploy"]


async def test_without_token_every_route_answers_401(guarded_relay: Relay) -> None:
    async with guarded_relay.rest(token="") as client:
        responses = [
            await client.post(f"/v1/job/{CRON_JOB}/deploy"),
            await client.get("/v1/jobs"),
            await client.get("/v1/health"),
            await client.get("/v1/openapi.json"),
            await client.get("/v1/nowhere"),
        ]
    for response in responses:
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.headers["content-type"] == "application/problem+json"
        assert "QJOB_TUI_SERVER_TOKEN" in response.json()["detail"]
    assert guarded_relay.sim.requests == []


@pytest.mark.parametrize(
    "authorization",
    [
        f"Bearer {SERVER_TOKEN}x",
        f"Bearer {SERVER_TOKEN[:-1]}",
        SERVER_TOKEN,
        f"Token {SERVER_TOKEN}",
        "Bearer",
    ],
    ids=["longer", "shorter", "no scheme", "Token scheme", "scheme only"],
)
async def test_a_wrong_token_is_401(guarded_relay: Relay, authorization: str) -> None:
    async with guarded_relay.rest(token="") as client:
        response = await client.post(f"/v1/job/{CRON_JOB}/deploy", headers={"Authorization": authorization})
    assert response.status_code == 401
    assert guarded_relay.sim.requests == []


async def test_with_the_token_the_action_runs(guarded_relay: Relay) -> None:
    async with guarded_relay.rest() as client:
        response = await client.post(f"/v1/job/{CRON_JOB}/deploy")
        document = (await client.get("/v1/openapi.json")).json()
    assert response.status_code == 202
    assert len(guarded_relay.upstream_actions) == 1
    assert document["security"] == [{"bearer": []}]
