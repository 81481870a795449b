"""The REST adapter sends Qovery exactly the request of each action and relays Qovery's answer unchanged."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tests.common import (
    API_TOKEN,
    CRON_JOB,
    FAILED_JOB,
    LIFECYCLE_JOB,
    LISTED_JOBS,
    NEVER_DEPLOYED_JOB,
    UNLISTED_JOB,
    Relay,
)


@dataclass(frozen=True)
class Case:
    """One REST call and what Qovery must receive for it."""

    path: str
    upstream_path: str
    status: int
    query: dict[str, str]
    body: Any = None  # JSON sent to the relay (None: no body)
    upstream_body: Any = None  # JSON Qovery must receive (None: no body)


CASES = {
    "deploy": Case(f"/v1/job/{CRON_JOB}/deploy", f"/job/{CRON_JOB}/deploy", 202, {}),
    "deploy forcing the cron event": Case(
        f"/v1/job/{CRON_JOB}/deploy?forceEvent=CRON", f"/job/{CRON_JOB}/deploy", 202, {"forceEvent": "CRON"}
    ),
    "deploy an image tag": Case(
        f"/v1/job/{CRON_JOB}/deploy",
        f"/job/{CRON_JOB}/deploy",
        202,
        {},
        {"image_tag": "v2.1"},
        {"image_tag": "v2.1"},
    ),
    "deploy a commit, forcing START": Case(
        f"/v1/job/{LIFECYCLE_JOB}/deploy?forceEvent=START",
        f"/job/{LIFECYCLE_JOB}/deploy",
        202,
        {"forceEvent": "START"},
        {"git_commit_id": "9d1e4b7"},
        {"git_commit_id": "9d1e4b7"},
    ),
    "redeploy": Case(f"/v1/job/{CRON_JOB}/redeploy", f"/job/{CRON_JOB}/redeploy", 202, {}),
    "redeploy forcing START": Case(
        f"/v1/job/{LIFECYCLE_JOB}/redeploy?forceEvent=START",
        f"/job/{LIFECYCLE_JOB}/redeploy",
        202,
        {"forceEvent": "START"},
    ),
    "stop": Case(f"/v1/job/{CRON_JOB}/stop", f"/job/{CRON_JOB}/stop", 202, {}),
    "uninstall": Case(f"/v1/job/{CRON_JOB}/uninstall", f"/job/{CRON_JOB}/uninstall", 202, {}),
    "uninstall with a body": Case(
        f"/v1/job/{CRON_JOB}/uninstall", f"/job/{CRON_JOB}/uninstall", 202, {}, {}, {}
    ),
    "clean a failed job": Case(
        f"/v1/job/{FAILED_JOB}/cleanfailedjob", f"/job/{FAILED_JOB}/cleanFailedJob", 200, {}
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
async def test_each_route_sends_qovery_exactly_its_request(relay: Relay, case: Case) -> None:
    async with relay.rest() as client:
        if case.body is None:
            response = await client.post(case.path)
        else:
            response = await client.post(case.path, json=case.body)
    assert response.status_code == case.status, response.text
    [sent] = relay.upstream_actions
    assert (sent.method, sent.path, sent.query) == ("POST", case.upstream_path, case.query)
    assert sent.headers["authorization"] == f"Token {API_TOKEN}"
    if case.upstream_body is None:
        assert sent.body == b""
    else:
        assert sent.json() == case.upstream_body
        assert sent.headers["content-type"] == "application/json"
    assert response.headers["content-type"] == "application/json"


async def test_the_answer_is_qoverys_status_and_body(relay: Relay) -> None:
    async with relay.rest() as client:
        response = await client.post(f"/v1/job/{CRON_JOB}/deploy")
    assert response.status_code == 202
    status = response.json()
    assert status["id"] == CRON_JOB
    assert status["state"] == "DEPLOYMENT_QUEUED"
    assert status["deployment_request_id"]


async def test_qoverys_bytes_are_relayed_not_re_encoded(relay: Relay) -> None:
    odd = b'{ "state" :"DEPLOYMENT_QUEUED",\n  "note": "caf\\u00e9",  "n": 1.50 }'
    relay.sim.inject(
        method="POST", path="/deploy$", status=202, raw=odd, headers={"content-type": "application/json"}
    )
    async with relay.rest() as client:
        response = await client.post(f"/v1/job/{CRON_JOB}/deploy")
    assert response.status_code == 202
    assert response.content == odd


async def test_uninstall_with_nothing_deployed_stays_204_without_body(relay: Relay) -> None:
    async with relay.rest() as client:
        response = await client.post(f"/v1/job/{NEVER_DEPLOYED_JOB}/uninstall")
    assert response.status_code == 204
    assert response.content == b""
    assert "content-type" not in response.headers


async def test_clean_failed_job_answers_qoverys_list(relay: Relay) -> None:
    async with relay.rest() as client:
        response = await client.post(f"/v1/job/{FAILED_JOB}/cleanfailedjob")
    assert response.status_code == 200
    assert isinstance(response.json()["clean_kubernetes_jobs"], list)


async def test_every_action_is_audited_with_source_rest(relay: Relay) -> None:
    async with relay.rest() as client:
        await client.post(f"/v1/job/{CRON_JOB}/deploy?forceEvent=CRON", json={"image_tag": "v3"})
    [line] = relay.audit_outcomes()
    assert line["source"] == "rest"
    assert (line["job_id"], line["action"], line["forceEvent"], line["status"]) == (
        CRON_JOB,
        "deploy",
        "CRON",
        202,
    )
    assert line["body"] == {"image_tag": "v3"}
    assert line["deployment_request_id"]


async def test_every_action_reaches_the_pipelines_listeners(relay: Relay) -> None:
    seen: list[tuple[str, str, int | None]] = []
    relay.runtime.pipeline.subscribe(
        lambda o: seen.append((o.request.source, o.request.action.name, o.status))
    )
    async with relay.rest() as client:
        await client.post(f"/v1/job/{CRON_JOB}/stop")
    assert seen == [("rest", "stop", 202)]


async def test_jobs_lists_the_configured_jobs_with_their_last_known_state(relay: Relay) -> None:
    async with relay.rest() as client:
        await client.post(f"/v1/job/{CRON_JOB}/deploy")
        response = await client.get("/v1/jobs")
    assert response.status_code == 200
    jobs = {job["id"]: job for job in response.json()["jobs"]}
    assert set(jobs) == set(LISTED_JOBS)
    assert UNLISTED_JOB not in jobs
    assert jobs[CRON_JOB]["state"] == "DEPLOYMENT_QUEUED"
    assert jobs[CRON_JOB]["last_action"] == "deploy"
    assert relay.sim.requests[1:] == []  # listing reads the board, not Qovery


async def test_health_answers_ok(relay: Relay) -> None:
    async with relay.rest() as client:
        response = await client.get("/v1/health")
        head = await client.head("/v1/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert head.status_code == 200
    assert head.content == b""


async def test_openapi_document_describes_every_route(relay: Relay) -> None:
    async with relay.rest() as client:
        response = await client.get("/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.1")
    paths = document["paths"]
    assert set(paths) == {
        "/v1/job/{jobid}/cleanfailedjob",
        "/v1/job/{jobid}/deploy",
        "/v1/job/{jobid}/redeploy",
        "/v1/job/{jobid}/stop",
        "/v1/job/{jobid}/uninstall",
        "/v1/job/{jobid}",
        "/v1/job/{jobid}/runs",
        "/v1/job/{jobid}/logs",
        "/v1/jobs",
        "/v1/health",
        "/v1/openapi.json",
    }
    deploy = paths["/v1/job/{jobid}/deploy"]["post"]
    assert deploy["requestBody"]["content"]["application/json"]["schema"]["properties"].keys() == {
        "image_tag",
        "git_commit_id",
    }
    assert document["components"]["parameters"]["forceEvent"]["schema"]["enum"] == [
        "START",
        "STOP",
        "DELETE",
        "CRON",
    ]
    assert "requestBody" not in paths["/v1/job/{jobid}/stop"]["post"]
    assert "security" not in document  # no inbound token configured


def documented_statuses(document: dict[str, Any], method: str, path: str) -> set[str]:
    """The statuses the document lists for the operation a concrete request (`/v1/job/<uuid>/stop`) is."""
    for template, operations in document["paths"].items():
        if re.fullmatch(re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(template)), path):
            return set(operations[method.lower()]["responses"])
    raise AssertionError(f"{path} is not in the document")


async def test_every_refusal_the_relay_answers_is_documented_for_its_route(guarded_relay: Relay) -> None:
    """What a client reads in the document is what it gets: each status the relay itself answers on a route
    is listed for it (a generated client treats an undocumented status as a surprise)."""
    relay = guarded_relay
    oversized = b"{" + b" " * (65 * 1024) + b"}"
    stop, read = f"/v1/job/{CRON_JOB}/stop", f"/v1/job/{CRON_JOB}"
    calls: list[tuple[str, str, dict[str, Any], int]] = [
        *(
            ("GET", path, {"params": {"x": "1"}}, 400)
            for path in ("/v1/jobs", "/v1/health", "/v1/openapi.json")
        ),
        *(
            ("GET", path, {"token": "wrong-token-0123456789"}, 401)
            for path in ("/v1/jobs", "/v1/openapi.json")
        ),
        *(
            ("GET", path, {"headers": {"Origin": "http://evil.example"}}, 403)
            for path in ("/v1/jobs", "/v1/health", "/v1/openapi.json", read)
        ),
        *(
            ("POST", f"/v1/job/{CRON_JOB}/{action}", {"content": oversized}, 413)
            for action in ("stop", "redeploy", "cleanfailedjob", "deploy")
        ),
        ("POST", stop, {"headers": {"Origin": "http://evil.example"}}, 403),
    ]
    async with relay.rest() as client:
        document = (await client.get("/v1/openapi.json")).json()
    for method, path, options, status in calls:
        token = options.pop("token", None)
        async with relay.rest(token=token) as client:
            answered = await client.request(method, path, **options)
        assert answered.status_code == status, (method, path, answered.text)
        assert str(status) in documented_statuses(document, method, path), (method, path, status)
    assert relay.sim.requests == [] or all(request.method == "GET" for request in relay.sim.requests)


async def test_the_health_answer_has_no_undocumented_field(relay: Relay) -> None:
    async with relay.rest() as client:
        document = (await client.get("/v1/openapi.json")).json()
        health = (await client.get("/v1/health")).json()
    assert set(health) <= set(document["components"]["schemas"]["Health"]["properties"])


async def test_openapi_document_schemas_are_valid_json_schema(relay: Relay) -> None:
    async with relay.rest() as client:
        document = (await client.get("/v1/openapi.json")).json()
    # OpenAPI 3.1's schema dialect is JSON Schema 2020-12.
    schemas = list(document["components"]["schemas"].values())
    schemas += [parameter["schema"] for parameter in document["components"]["parameters"].values()]
    for item in document["paths"].values():
        for operation in item.values():
            content = operation.get("requestBody", {}).get("content", {})
            schemas += [media["schema"] for media in content.values()]
    for schema in schemas:
        Draft202012Validator.check_schema(schema)
