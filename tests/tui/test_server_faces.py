"""`--server`: actions that arrive through REST and MCP show in the dashboard, with their source."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from mcp import Client

from tests.common import job_id

from .support import Dashboard, running_dashboard


@pytest.fixture
async def served_dash(tmp_path: Path) -> AsyncIterator[Dashboard]:
    async with running_dashboard(tmp_path, with_servers=True) as running:
        assert running.servers is not None
        await running.servers.wait_started()
        yield running


async def test_the_header_names_the_servers_and_their_ports(served_dash: Dashboard) -> None:
    servers = served_dash.servers
    assert servers is not None
    header = served_dash.screen_text().splitlines()[0]
    assert f"REST :{servers.rest_port} · MCP :{servers.mcp_port}" in header


async def test_without_servers_the_header_says_servers_off(dash: Dashboard) -> None:
    assert "servers off" in dash.screen_text().splitlines()[0]


async def test_an_mcp_call_appears_in_the_log_pane_and_the_table(served_dash: Dashboard) -> None:
    dash = served_dash
    assert dash.servers is not None
    async with Client(dash.servers.mcp_url) as client:
        result = await client.call_tool("deploy-job", {"jobId": job_id("weekly-report")})
    assert not result.is_error
    await dash.until(lambda: "mcp  deploy  weekly-report  202" in dash.log_text(), "the MCP call in the log")
    await dash.until(lambda: dash.row("weekly-report")["last"] == "deploy 202 mcp", "the table's last action")
    assert dash.row("weekly-report")["state"] == "DEPLOYMENT_QUEUED"


async def test_a_rest_call_appears_in_the_log_pane_and_the_table(served_dash: Dashboard) -> None:
    dash = served_dash
    assert dash.servers is not None
    async with httpx.AsyncClient(base_url=dash.servers.rest_url) as http:
        answer = await http.post(f"/v1/job/{job_id('db-migrate')}/stop")
    assert answer.status_code == 202
    await dash.until(lambda: "rest stop  db-migrate  202" in dash.log_text(), "the REST call in the log")
    await dash.until(lambda: dash.row("db-migrate")["last"] == "stop 202 rest", "the table's last action")


async def test_a_refused_rest_or_mcp_request_shows_in_the_log_pane_with_why(served_dash: Dashboard) -> None:
    """An agent poking at a job it may not touch is something the operator wants to see."""
    dash = served_dash
    assert dash.servers is not None
    unlisted = "0d6e3c5a-1f0b-4c55-9d7e-2b1a4f9c8e11"
    async with httpx.AsyncClient(base_url=dash.servers.rest_url) as http:
        answer = await http.post(f"/v1/job/{unlisted}/uninstall")
    assert answer.status_code == 403
    async with Client(dash.servers.mcp_url) as client:
        result = await client.call_tool("deploy-job", {"jobId": job_id("weekly-report"), "forceEvent": "NOW"})
    assert result.is_error
    await dash.until(
        lambda: f"rest uninstall  {unlisted}  403 refused" in dash.log_text(), "the 403 in the log"
    )
    await dash.until(
        lambda: "mcp  deploy  weekly-report  400 refused" in dash.log_text(), "the 400 in the log"
    )
    assert "not in this qjob-tui's job list" in dash.log_text()


async def test_what_the_servers_report_reaches_the_log_pane(served_dash: Dashboard) -> None:
    """A relay warning (say, why MCP did not start) must not vanish behind the dashboard."""
    dash = served_dash
    assert dash.servers is not None and dash.servers.log is not None
    dash.servers.log("the MCP server did not start: OSError: address in use")
    await dash.until(
        lambda: "the MCP server did not start: OSError: address in use" in dash.log_text(),
        "the server's line",
    )
