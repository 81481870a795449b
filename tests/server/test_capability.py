"""The relay exposes what the capability spec declares (reference/qovery-job-actions.yaml), corrected where
qjob_tui/reference/README.md says it is wrong: every REST path and method, every MCP tool with its inputs plus jobId."""

from __future__ import annotations

from importlib import resources
from typing import Any

import yaml

from qjob_tui.actions import ACTIONS
from tests.common import CRON_JOB, Relay


def capability() -> dict[str, Any]:
    text = (
        resources.files("qjob_tui").joinpath("reference/qovery-job-actions.yaml").read_text(encoding="utf-8")
    )
    spec: dict[str, Any] = yaml.safe_load(text)
    return spec["capability"]


def exposed(kind: str) -> dict[str, Any]:
    [adapter] = [item for item in capability()["exposes"] if item["type"] == kind]
    return adapter


def consumed_operations() -> dict[str, tuple[str, str]]:
    """operation name -> (method, Qovery path)."""
    [consumer] = capability()["consumes"]
    return {
        operation["name"]: (operation["method"], resource["path"])
        for resource in consumer["resources"]
        for operation in resource["operations"]
    }


async def test_every_rest_path_and_method_of_the_capability_exists(relay: Relay) -> None:
    resources_ = exposed("rest")["resources"]
    assert len(resources_) == 5
    async with relay.rest() as client:
        document = (await client.get("/v1/openapi.json")).json()
        for resource in resources_:
            for operation in resource["operations"]:
                method = operation["method"].lower()
                assert method in document["paths"][resource["path"]], resource["path"]
                assert document["paths"][resource["path"]][method]["operationId"] == operation["name"]
                # and the route answers (not 404/405) for a real job
                response = await client.request(
                    operation["method"], resource["path"].replace("{jobid}", CRON_JOB)
                )
                assert response.status_code not in (404, 405), resource["path"]


async def test_every_rest_input_of_the_capability_is_accepted(relay: Relay) -> None:
    async with relay.rest() as client:
        document = (await client.get("/v1/openapi.json")).json()
    for resource in exposed("rest")["resources"]:
        for operation in resource["operations"]:
            described = document["paths"][resource["path"]][operation["method"].lower()]
            names = {p.get("name") or p["$ref"].rsplit("/", 1)[1] for p in described["parameters"]}
            for name in operation.get("with", {}):
                if name == "body":
                    assert "requestBody" in described, resource["path"]
                else:
                    assert name in names, (resource["path"], name)
            assert "jobid" in names  # the job id the capability forgot


async def test_every_mcp_tool_of_the_capability_exists_with_its_inputs_and_job_id(relay: Relay) -> None:
    async with relay.mcp() as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    declared = exposed("mcp")["tools"]
    assert len(declared) == 5
    for tool in declared:
        assert tool["name"] in tools
        schema = tools[tool["name"]].input_schema
        expected = {"jobId", *tool.get("with", {})}
        assert set(schema["properties"]) == expected, tool["name"]
        assert schema["required"] == ["jobId"]


async def test_every_mcp_tool_calls_the_operation_the_capability_names(relay: Relay) -> None:
    operations = consumed_operations()
    tools = {tool["name"]: tool["call"].split(".", 1)[1] for tool in exposed("mcp")["tools"]}
    by_tool = {action.tool: action for action in ACTIONS}
    for name, operation in tools.items():
        method, path = operations[operation]
        assert (method, path) == ("POST", by_tool[name].upstream_path)
    async with relay.mcp() as client:
        for name in tools:
            await client.call_tool(name, {"jobId": CRON_JOB})
    sent = [(request.method, request.path) for request in relay.upstream_actions]
    assert sent == [("POST", by_tool[name].upstream_url(CRON_JOB)) for name in tools]


def test_the_ports_of_the_capability_are_the_defaults() -> None:
    from qjob_tui.config import ServerSettings

    defaults = ServerSettings()
    assert (exposed("rest")["port"], exposed("mcp")["port"]) == (defaults.rest_port, defaults.mcp_port)
