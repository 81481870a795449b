"""The MCP adapter, through the official client in both protocol eras: tools, requests to Qovery, results."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client

from qjob_tui.server.mcp_tools import build_mcp_server
from tests.common import (
    API_TOKEN,
    CRON_JOB,
    FAILED_JOB,
    LIFECYCLE_JOB,
    LISTED_JOBS,
    NEVER_DEPLOYED_JOB,
    UNLISTED_JOB,
    Relay,
    running_relay,
)

MODES = {"2026-07-28": "auto", "2025-11-25": "legacy"}
ACTION_TOOLS = ["clean-failed-job", "deploy-job", "redeploy-job", "stop-job", "uninstall-job"]
READ_TOOLS = ["list-jobs", "get-job-status", "get-job-runs", "get-job-logs"]


@pytest.mark.parametrize("mode", MODES.values(), ids=MODES.keys())
async def test_both_protocol_eras_negotiate(relay: Relay, mode: str) -> None:
    async with relay.mcp(mode) as client:
        assert client.protocol_version == ("2026-07-28" if mode == "auto" else "2025-11-25")
        assert client.server_info.name == "qjob-tui"


@pytest.mark.parametrize("mode", MODES.values(), ids=MODES.keys())
async def test_the_tools_and_their_inputs(relay: Relay, mode: str) -> None:
    async with relay.mcp(mode) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) == {*ACTION_TOOLS, *READ_TOOLS}
    inputs = {name: set(tool.input_schema["properties"]) for name, tool in tools.items()}
    assert inputs == {
        "clean-failed-job": {"jobId"},
        "deploy-job": {"jobId", "forceEvent", "body"},
        "redeploy-job": {"jobId", "forceEvent"},
        "stop-job": {"jobId"},
        "uninstall-job": {"jobId", "body"},
        "list-jobs": set(),
        "get-job-status": {"jobId"},
        "get-job-runs": {"jobId"},
        "get-job-logs": {"jobId", "run"},
    }
    for name, tool in tools.items():
        schema = tool.input_schema
        assert schema.get("required", []) == ([] if name == "list-jobs" else ["jobId"])
        if "jobId" in schema["properties"]:
            assert schema["properties"]["jobId"]["format"] == "uuid"
        if "forceEvent" in schema["properties"]:
            assert schema["properties"]["forceEvent"]["enum"] == ["START", "STOP", "DELETE", "CRON"]
        assert tool.description and len(tool.description) > 40
    deploy_body = tools["deploy-job"].input_schema["properties"]["body"]
    assert deploy_body["type"] == "object"
    assert deploy_body["properties"] == {
        "image_tag": {"type": "string", "minLength": 1, "description": "Image tag to deploy."},
        "git_commit_id": {"type": "string", "minLength": 1, "description": "Git commit to deploy."},
    }
    assert tools["uninstall-job"].input_schema["properties"]["body"]["type"] == "object"


async def test_the_annotations(relay: Relay) -> None:
    async with relay.mcp() as client:
        tools = {tool.name: tool.annotations for tool in (await client.list_tools()).tools}
    for name in ACTION_TOOLS:
        hints = tools[name]
        assert hints is not None
        assert (hints.read_only_hint, hints.idempotent_hint, hints.open_world_hint) == (False, False, True)
        assert hints.destructive_hint is (name == "uninstall-job")
    for name in READ_TOOLS:
        hints = tools[name]
        assert hints is not None and hints.read_only_hint is True


async def test_uninstall_tells_the_agent_to_ask_first(relay: Relay) -> None:
    async with relay.mcp() as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert "Ask a human" in (tools["uninstall-job"].description or "")


@dataclass(frozen=True)
class Call:
    tool: str
    arguments: dict[str, Any]
    upstream_path: str
    query: dict[str, str]
    upstream_body: Any = None


CALLS = {
    "deploy-job": Call("deploy-job", {"jobId": CRON_JOB}, f"/job/{CRON_JOB}/deploy", {}),
    "deploy-job forcing CRON with an image tag": Call(
        "deploy-job",
        {"jobId": CRON_JOB, "forceEvent": "CRON", "body": {"image_tag": "v7"}},
        f"/job/{CRON_JOB}/deploy",
        {"forceEvent": "CRON"},
        {"image_tag": "v7"},
    ),
    "redeploy-job forcing START": Call(
        "redeploy-job",
        {"jobId": LIFECYCLE_JOB, "forceEvent": "START"},
        f"/job/{LIFECYCLE_JOB}/redeploy",
        {"forceEvent": "START"},
    ),
    "stop-job": Call("stop-job", {"jobId": CRON_JOB}, f"/job/{CRON_JOB}/stop", {}),
    "uninstall-job with a body": Call(
        "uninstall-job", {"jobId": CRON_JOB, "body": {}}, f"/job/{CRON_JOB}/uninstall", {}, {}
    ),
    "clean-failed-job": Call(
        "clean-failed-job", {"jobId": FAILED_JOB}, f"/job/{FAILED_JOB}/cleanFailedJob", {}
    ),
}


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
@pytest.mark.parametrize("mode", MODES.values(), ids=MODES.keys())
async def test_each_tool_sends_qovery_exactly_its_request(relay: Relay, call: Call, mode: str) -> None:
    async with relay.mcp(mode) as client:
        result = await client.call_tool(call.tool, call.arguments)
    assert not result.is_error, result.content
    [sent] = relay.upstream_actions
    assert (sent.method, sent.path, sent.query) == ("POST", call.upstream_path, call.query)
    assert sent.headers["authorization"] == f"Token {API_TOKEN}"
    assert (sent.json() if call.upstream_body is not None else sent.body) == (
        call.upstream_body if call.upstream_body is not None else b""
    )
    # Qovery's JSON, as structured content and as text.
    assert isinstance(result.structured_content, dict)
    assert json.loads(result.content[0].text) == result.structured_content


async def test_the_result_is_qoverys_json(relay: Relay) -> None:
    async with relay.mcp() as client:
        result = await client.call_tool("deploy-job", {"jobId": CRON_JOB})
    status = result.structured_content
    assert status is not None
    assert (status["id"], status["state"]) == (CRON_JOB, "DEPLOYMENT_QUEUED")
    assert status["deployment_request_id"]


async def test_an_uninstall_with_nothing_deployed_says_so(relay: Relay) -> None:
    async with relay.mcp() as client:
        result = await client.call_tool("uninstall-job", {"jobId": NEVER_DEPLOYED_JOB})
    assert not result.is_error
    text = result.content[0].text
    assert "204" in text
    # Structured content too (the tool has an outputSchema, which the client has checked it against).
    assert result.structured_content == {"status": 204, "detail": text}


async def test_every_tool_call_is_audited_with_source_mcp(relay: Relay) -> None:
    seen: list[str] = []
    relay.runtime.pipeline.subscribe(lambda outcome: seen.append(outcome.request.source))
    async with relay.mcp() as client:
        await client.call_tool("stop-job", {"jobId": CRON_JOB})
    [line] = relay.audit_outcomes()
    assert (line["source"], line["action"], line["job_id"], line["status"]) == ("mcp", "stop", CRON_JOB, 202)
    assert seen == ["mcp"]


async def test_the_tools_are_built_apart_from_http(relay: Relay) -> None:
    """The same server, tools and pipeline without Streamable HTTP (as MCP over stdio will serve them)."""
    async with Client(build_mcp_server(relay.runtime)) as memory, relay.mcp() as http:
        in_memory = [tool.model_dump() for tool in (await memory.list_tools()).tools]
        over_http = [tool.model_dump() for tool in (await http.list_tools()).tools]
        result = await memory.call_tool("stop-job", {"jobId": LIFECYCLE_JOB})
    assert in_memory == over_http
    assert not result.is_error
    [sent] = relay.upstream_actions
    assert sent.path == f"/job/{LIFECYCLE_JOB}/stop"
    [line] = relay.audit_outcomes()
    assert (line["source"], line["action"], line["job_id"]) == ("mcp", "stop", LIFECYCLE_JOB)


REFUSED = {
    "a poisoned jobId": ({"jobId": "../../organization"}, "jobId"),
    "an encoded poisoned jobId": ({"jobId": "..%2F..%2Forganization"}, "jobId"),
    "a jobId with a path after it": ({"jobId": f"{CRON_JOB}/../../x"}, "jobId"),
    "a jobId that is a number": ({"jobId": 42}, "jobId"),
    "no jobId": ({}, "jobId"),
    "a forceEvent outside the enum": ({"jobId": CRON_JOB, "forceEvent": "NOW"}, "forceEvent"),
    "an empty forceEvent": ({"jobId": CRON_JOB, "forceEvent": ""}, "forceEvent"),
    "a body that is an array": ({"jobId": CRON_JOB, "body": ["v1"]}, "body"),
    "an image_tag that is a number": ({"jobId": CRON_JOB, "body": {"image_tag": 3}}, "body.image_tag"),
    "both image_tag and git_commit_id": (
        {"jobId": CRON_JOB, "body": {"image_tag": "a", "git_commit_id": "b"}},
        "body",
    ),
}


@pytest.mark.parametrize(("arguments", "field"), REFUSED.values(), ids=REFUSED.keys())
async def test_a_bad_input_is_an_error_result_and_nothing_reaches_qovery(
    relay: Relay, arguments: dict[str, Any], field: str
) -> None:
    async with relay.mcp() as client:
        result = await client.call_tool("deploy-job", arguments)
    assert result.is_error
    text = result.content[0].text
    assert "400" in text and field in text
    assert relay.sim.requests == []


MISTYPED = {
    "deploy-job forceevent": (
        "deploy-job",
        {"jobId": CRON_JOB, "forceevent": "CRON"},
        "jobId, forceEvent, body",
    ),
    "stop-job forceEvent": ("stop-job", {"jobId": CRON_JOB, "forceEvent": "CRON"}, "jobId"),
    "list-jobs x": ("list-jobs", {"x": 1}, "none"),
}


@pytest.mark.parametrize("mode", MODES.values(), ids=MODES.keys())
@pytest.mark.parametrize(("tool", "arguments", "takes"), MISTYPED.values(), ids=MISTYPED.keys())
async def test_a_mistyped_argument_is_refused_not_dropped(
    relay: Relay, mode: str, tool: str, arguments: dict[str, Any], takes: str
) -> None:
    """`forceevent` for `forceEvent` must not turn a forced run into a plain deploy; the refusal reads like
    every other (the argument at fault, what the tool takes), not like a pydantic trace."""
    async with relay.mcp(mode) as client:
        result = await client.call_tool(tool, arguments)
    assert result.is_error
    unknown = next(key for key in arguments if key != "jobId")
    text = result.content[0].text
    assert text.startswith(
        f"Refused before Qovery (400 Invalid input): {unknown}: unknown argument(s) {unknown}"
    )
    assert takes in text
    assert "pydantic" not in text and "validation error" not in text
    assert result.structured_content is not None and result.structured_content["field"] == unknown
    assert relay.sim.requests == []


async def test_an_unlisted_job_is_an_error_result(relay: Relay) -> None:
    async with relay.mcp() as client:
        result = await client.call_tool("stop-job", {"jobId": UNLISTED_JOB})
        status = await client.call_tool("get-job-status", {"jobId": UNLISTED_JOB})
    assert result.is_error and "403" in result.content[0].text
    assert status.is_error and "403" in status.content[0].text
    assert relay.sim.requests == []


@pytest.mark.parametrize("status", [403, 409, 429, 500])
async def test_qoverys_error_is_an_error_result_naming_status_and_message(relay: Relay, status: int) -> None:
    relay.sim.inject(
        method="POST", path="/redeploy$", status=status, json={"message": f"qovery says {status}"}
    )
    async with relay.mcp() as client:
        result = await client.call_tool("redeploy-job", {"jobId": CRON_JOB})
    assert result.is_error
    text = result.content[0].text
    assert str(status) in text and f"qovery says {status}" in text
    assert result.structured_content is not None
    assert result.structured_content["qovery"] == {"message": f"qovery says {status}"}


async def test_a_409_for_a_job_already_stopped_does_not_claim_an_operation_in_progress(relay: Relay) -> None:
    relay.sim.inject(method="POST", path="/stop$", status=409, json={"message": "the job is already stopped"})
    async with relay.mcp() as client:
        result = await client.call_tool("stop-job", {"jobId": CRON_JOB})
    text = result.content[0].text
    assert result.is_error and "the job is already stopped" in text
    assert "in progress" not in text and "get-job-status" in text


async def test_an_answer_that_is_not_json_is_a_502_error_result(relay: Relay) -> None:
    relay.sim.inject(method="POST", path="/stop$", status=200, raw=b"<html>oops</html>")
    async with relay.mcp() as client:
        result = await client.call_tool("stop-job", {"jobId": CRON_JOB})
    assert result.is_error and "502" in result.content[0].text


async def test_a_slow_qovery_is_a_504_error_result(tmp_path: Path) -> None:
    async with running_relay(tmp_path, timeout_s=0.5) as relay:
        relay.sim.inject(method="POST", path="/stop$", delay_s=30)
        async with relay.mcp() as client:
            result = await client.call_tool("stop-job", {"jobId": CRON_JOB})
    assert result.is_error and "504" in result.content[0].text


async def test_list_jobs_shows_the_configured_jobs(relay: Relay) -> None:
    async with relay.mcp() as client:
        await client.call_tool("deploy-job", {"jobId": CRON_JOB})
        result = await client.call_tool("list-jobs", {})
    assert not result.is_error
    listing = result.structured_content
    assert listing is not None
    jobs = {job["id"]: job for job in listing["jobs"]}
    assert set(jobs) == set(LISTED_JOBS)
    assert jobs[CRON_JOB]["last_action"] == "deploy"
    assert [r.method for r in relay.sim.requests] == ["POST"]  # read from the board, not Qovery


@pytest.mark.parametrize("mode", MODES.values(), ids=MODES.keys())
async def test_get_job_status_asks_qovery(relay: Relay, mode: str) -> None:
    async with relay.mcp(mode) as client:
        result = await client.call_tool("get-job-status", {"jobId": FAILED_JOB})
    assert not result.is_error
    assert result.structured_content is not None
    assert (result.structured_content["id"], result.structured_content["state"]) == (
        FAILED_JOB,
        "DEPLOYMENT_ERROR",
    )
    [sent] = relay.sim.requests
    assert (sent.method, sent.path) == ("GET", f"/job/{FAILED_JOB}/status")
    assert relay.runtime.board.jobs[FAILED_JOB].state == "DEPLOYMENT_ERROR"


async def test_get_job_status_refuses_a_poisoned_id(relay: Relay) -> None:
    async with relay.mcp() as client:
        result = await client.call_tool("get-job-status", {"jobId": "../account"})
    assert result.is_error and "400" in result.content[0].text
    assert relay.sim.requests == []


INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    },
}
MCP_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}


# Host and Origin: one rule for both surfaces, tested on both in test_security.py.


async def test_a_body_over_64_kib_is_refused(relay: Relay) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.post(relay.mcp_url, content=b" " * (2 * 1024 * 1024), headers=MCP_HEADERS)
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 413
    assert relay.sim.requests == []


async def test_without_token_mcp_answers_401(guarded_relay: Relay) -> None:
    async with httpx.AsyncClient() as client:
        missing = await client.post(guarded_relay.mcp_url, json=INIT, headers=MCP_HEADERS)
        wrong = await client.post(
            guarded_relay.mcp_url, json=INIT, headers={**MCP_HEADERS, "Authorization": "Bearer nope"}
        )
    for response in (missing, wrong):
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert "QJOB_TUI_SERVER_TOKEN" in response.json()["detail"]


async def test_the_official_client_without_token_cannot_connect(guarded_relay: Relay) -> None:
    with pytest.raises(BaseExceptionGroup):
        async with guarded_relay.mcp(token="") as client:
            await client.list_tools()
    assert guarded_relay.sim.requests == []


@pytest.mark.parametrize("mode", MODES.values(), ids=MODES.keys())
async def test_the_official_client_with_the_token_runs_tools(guarded_relay: Relay, mode: str) -> None:
    async with guarded_relay.mcp(mode) as client:
        result = await client.call_tool("deploy-job", {"jobId": CRON_JOB, "forceEvent": "CRON"})
    assert not result.is_error
    [sent] = guarded_relay.upstream_actions
    assert (sent.path, sent.query) == (f"/job/{CRON_JOB}/deploy", {"forceEvent": "CRON"})


@pytest.mark.parametrize("path", ["/", "/sse", "/v1/jobs", "/mcpx"])
async def test_a_path_beside_the_endpoint_is_a_404_that_names_it(relay: Relay, path: str) -> None:
    """An agent configured with the port but not the path (`http://127.0.0.1:9090`) hears where the endpoint is."""
    base = relay.mcp_url.removesuffix("/mcp")
    async with httpx.AsyncClient() as client:
        answered = await client.post(
            base + path,
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}},
            headers={"Accept": "application/json, text/event-stream"},
        )
        got = await client.get(base + path)
    for response in (answered, got):
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["type"] == "urn:qjob-tui:problem:not-found"
        assert f"{relay.mcp_url}" in problem["detail"]
