"""`--read-only` on the relay: REST action routes answer 403 `read-only` before Qovery, MCP lists only the
read tools, the reads still work, and every refusal reaches the operator."""

from __future__ import annotations

import asyncio
import io
import re
import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from qjob_tui.actions import ACTIONS
from qjob_tui.pipeline import Refusal
from qjob_tui.runtime import open_runtime
from qjob_tui.server import serve_headless
from qjob_tui.simulator import serve_simulator
from tests.common import CRON_JOB, LIFECYCLE_JOB, quiet_simulator, relay_settings, running_relay, user_env

READ_TOOLS = {"list-jobs", "get-job-status", "get-job-runs", "get-job-logs"}


@pytest.mark.parametrize(
    "path",
    [
        f"/v1/job/{CRON_JOB}/deploy",
        f"/v1/job/{CRON_JOB}/redeploy?forceEvent=CRON",
        f"/v1/job/{LIFECYCLE_JOB}/stop",
        f"/v1/job/{LIFECYCLE_JOB}/uninstall",
        f"/v1/job/{CRON_JOB}/cleanfailedjob",
        "/v1/job/not-a-uuid/deploy?forceEvent=BOGUS",  # read-only first, whatever else is wrong
    ],
)
async def test_every_rest_action_is_refused_403_read_only_before_qovery(tmp_path: Path, path: str) -> None:
    async with running_relay(tmp_path, read_only=True) as relay, relay.rest() as client:
        response = await client.post(path, json={"image_tag": "2.5.0"} if "/deploy" in path else None)
        assert response.status_code == 403
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["type"] == "urn:qjob-tui:problem:read-only"
        assert "read-only" in problem["detail"] and "--read-only" in problem["detail"]
        assert relay.upstream_actions == []
        assert relay.audit_outcomes() == []  # nothing was sent, so nothing to audit


async def test_the_rest_reads_still_answer(tmp_path: Path) -> None:
    async with running_relay(tmp_path, read_only=True) as relay, relay.rest() as client:
        assert (await client.get("/v1/jobs")).status_code == 200
        health = (await client.get("/v1/health")).json()
        assert health["read_only"] is True


async def test_mcp_lists_only_the_read_tools_and_says_why(tmp_path: Path) -> None:
    async with running_relay(tmp_path, read_only=True) as relay, relay.mcp() as client:
        tools = {tool.name for tool in (await client.list_tools()).tools}
        assert tools == READ_TOOLS
        assert not {action.tool for action in ACTIONS} & tools
        assert "read-only" in (client.instructions or "")
        result = await client.call_tool("deploy-job", {"jobId": CRON_JOB})
        assert result.is_error
        # An agent (or a script) that knew the tool hears why it is gone, as REST says it: not "Unknown tool".
        assert result.structured_content is not None
        assert result.structured_content["type"] == "urn:qjob-tui:problem:read-only"
        assert "runs read-only" in result.content[0].text
        status = await client.call_tool("get-job-status", {"jobId": CRON_JOB})
        assert not status.is_error
        assert relay.upstream_actions == []


async def test_without_read_only_every_action_tool_is_listed(tmp_path: Path) -> None:
    async with running_relay(tmp_path) as relay, relay.mcp() as client:
        tools = {tool.name for tool in (await client.list_tools()).tools}
        assert tools >= READ_TOOLS | {action.tool for action in ACTIONS}


async def test_a_refused_action_is_announced_to_the_operator(tmp_path: Path) -> None:
    async with running_relay(tmp_path, read_only=True) as relay, relay.rest() as client:
        refusals: list[Refusal] = []
        relay.runtime.pipeline.subscribe_refusals(refusals.append)
        await client.post(f"/v1/job/{CRON_JOB}/stop")
        [refusal] = refusals
        assert (refusal.source, refusal.action, refusal.refused.slug) == ("rest", "stop", "read-only")


async def test_serve_says_read_only_in_its_start_line(tmp_path: Path) -> None:
    stderr = io.StringIO()
    stop = asyncio.Event()
    async with serve_simulator(quiet_simulator()) as sim_url:
        settings = relay_settings(tmp_path, sim_url, read_only=True)
        async with open_runtime(settings) as runtime:
            serving = asyncio.create_task(serve_headless(runtime, stop=stop, stderr=stderr))
            for _ in range(500):
                if "serving REST" in stderr.getvalue():
                    break
                await asyncio.sleep(0.02)
            stop.set()
            assert await serving == 0
    [start] = [line for line in stderr.getvalue().splitlines() if "serving REST" in line]
    assert re.search(r"; READ-ONLY \(acts on nothing\); ", start)


async def test_mcp_over_stdio_with_read_only_lists_only_the_read_tools(tmp_path: Path) -> None:
    parameters = StdioServerParameters(
        command=sys.executable,
        args=["-m", "qjob_tui", "mcp", "--demo", "--read-only"],
        env=user_env(tmp_path),
        cwd=str(tmp_path),
    )
    async with asyncio.timeout(60), Client(parameters) as client:  # type: ignore[arg-type]
        tools = {tool.name for tool in (await client.list_tools()).tools}
        refused = await client.call_tool("deploy-job", {"jobId": CRON_JOB})
    assert tools == READ_TOOLS
    assert refused.is_error and "runs read-only" in refused.content[0].text
