"""Every action of the table, through every face, in one walk: the REST route and its OpenAPI operation, the
MCP tool with its annotations and the server's instructions, the dashboard's key, action-bar button, palette
entry and help line, the one-shot command (`qjob-tui <action> JOB`), and the audit record each one leaves. The same walk over the table plus a throwaway
seventh row proves that a new action is one row: no face needs a hand edit to offer it.

Everything runs for real: the simulator on loopback behind one runtime, REST and MCP on uvicorn (httpx and
the official MCP client talk to them), the dashboard in Textual's Pilot, the audit log on disk.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client
from mcp.types import CallToolResult, TextContent, Tool
from textual.command import Command, CommandList, CommandPalette
from textual.widgets import Button

from qjob_tui.actions import ACTIONS, BodyKind, JobAction
from qjob_tui.oneshot.act import run_action
from qjob_tui.oneshot.arguments import ActionArgs, command_names, parse
from qjob_tui.oneshot.run import reporter_for
from qjob_tui.oneshot.stopping import StopSignals
from qjob_tui.tui.app import QJobApp
from qjob_tui.tui.keys import app_bindings
from qjob_tui.tui.screens.confirm import ConfirmScreen
from qjob_tui.tui.screens.help import HelpScreen
from tests.common import job_id, read_audit

from .support import Dashboard, running_dashboard

# A row no production table has: Qovery's reference document does not describe its path, and the simulator
# answers it 404 (an unknown path), which every face relays as Qovery's answer.
RESTART = JobAction(
    name="restart",
    title="Restart",
    summary="Restart job",
    verb="restart",
    description="Restart a Qovery job (a test's row: no such operation exists).",
    upstream_path="/job/{jobId}/restart",
    rest_segment="restart",
    operation="restartjob",
    tool="restart-job",
    key="x",
    success_status=(202,),
    force_event=True,
    body=BodyKind.OBJECT,
    agent_note="is a test's row: never call it.",
)

TABLES = {"the table": ACTIONS, "the table and a seventh row": (*ACTIONS, RESTART)}

JOB = "nightly-backup"  # the row the dashboard selects first


def dashboard_for(actions: tuple[JobAction, ...]) -> type[QJobApp]:
    """The dashboard whose key bindings are those of `actions` (Textual reads them from the class)."""

    class Dashboard(QJobApp):
        BINDINGS = app_bindings(actions)

    return Dashboard


@dataclass
class Walk:
    """The running faces, and what each call of one action must leave behind."""

    dash: Dashboard
    rest: httpx.AsyncClient
    mcp: Client

    def audit(self) -> list[dict[str, Any]]:
        """The audit log's outcome lines so far: one per action that has ended (its intent came first)."""
        return [line for line in read_audit(self.dash.runtime.audit.path) if line["phase"] == "outcome"]

    async def reached_qovery(self, action: JobAction, source: str, before: tuple[int, int]) -> dict[str, Any]:
        """After one call from `source`: Qovery got exactly the action's request, and the audit log its line."""
        sent, audited = before
        await self.dash.until(
            lambda: len(self.dash.actions_sent()) > sent and len(self.audit()) > audited,
            f"{action.name} from {source} at Qovery and in the audit log",
        )
        requests = self.dash.actions_sent()[sent:]
        assert [(r.method, r.path) for r in requests] == [("POST", action.upstream_url(job_id(JOB)))]
        [record] = self.audit()[audited:]
        assert (record["source"], record["action"], record["job_id"]) == (source, action.name, job_id(JOB))
        return record

    def counts(self) -> tuple[int, int]:
        return len(self.dash.actions_sent()), len(self.audit())


def check_openapi_operation(document: dict[str, Any], action: JobAction) -> None:
    target = action.target
    operation = document["paths"][f"/v1/{target.kind}/{{{target.rest_param}}}/{action.rest_segment}"]["post"]
    assert (operation["operationId"], operation["summary"]) == (action.operation, action.summary)
    assert operation["description"] == action.description
    parameters = {parameter["$ref"].rsplit("/", 1)[1] for parameter in operation["parameters"]}
    assert parameters == {target.rest_param, *(["forceEvent"] if action.force_event else [])}
    assert ("requestBody" in operation) is (action.body is not BodyKind.NONE)
    successes = {code for code in operation["responses"] if code.startswith("2")}
    assert successes == {str(status) for status in action.success_status}
    if 204 in action.success_status:
        assert action.no_content in operation["responses"]["204"]["description"]


def check_mcp_tool(tool: Tool, action: JobAction, instructions: str) -> None:
    annotations = tool.annotations
    assert annotations is not None and tool.title == annotations.title == action.summary
    assert annotations.read_only_hint is False and annotations.idempotent_hint is False
    assert annotations.destructive_hint is action.destructive and annotations.open_world_hint is True
    assert tool.description is not None and tool.description.startswith(action.description)
    schema = tool.input_schema
    expected = {action.target.tool_input}
    expected |= {"forceEvent"} if action.force_event else set()
    expected |= {"body"} if action.body is not BodyKind.NONE else set()
    assert set(schema["properties"]) == expected and schema["required"] == [action.target.tool_input]
    assert action.verb in instructions
    if action.agent_note:
        assert f"{action.tool} {action.agent_note}" in instructions


def check_button_and_help(walk: Walk, action: JobAction) -> None:
    app = walk.dash.app
    button = app.query_one(f"#action-{action.name}", Button)
    assert str(button.label) == f"{action.title} {action.key}"
    assert button.variant == ("error" if action.destructive else "default")
    assert (action.key, action.help_line) in app.help_rows()


def assert_mcp_result(result: CallToolResult, action: JobAction, status: int) -> None:
    """Qovery's answer as the tool's result: its JSON, what its 204 means, or an error naming its status."""
    [content] = result.content
    assert isinstance(content, TextContent)
    assert result.is_error is (status >= 400)
    if status >= 400:
        assert content.text.startswith(f"Qovery answered {status}")
    elif status == 204:
        assert content.text.endswith(f": {action.no_content}")
    else:
        assert json.loads(content.text) == result.structured_content


async def answer_dialog(walk: Walk, action: JobAction) -> None:
    """The dialog appears exactly for the actions the table asks first for (ui.confirm's default); y runs it."""
    dash = walk.dash
    if not action.confirm:
        assert not isinstance(dash.app.screen, ConfirmScreen)
        return
    await dash.until(lambda: isinstance(dash.app.screen, ConfirmScreen), f"the dialog of {action.name}")
    dialog = dash.app.screen
    assert isinstance(dialog, ConfirmScreen)
    assert dialog.question == f"{action.title} {JOB}?" and dialog.warning == action.warning
    await dash.press("y")


async def from_the_palette(walk: Walk, action: JobAction) -> None:
    """ctrl+p, type the entry's title, Enter: the palette lists the action for the selected job and runs it."""
    dash = walk.dash
    title = f"{action.title} {JOB}"
    command = next(c for c in dash.app.job_commands() if c.title == title)
    assert command.help == action.summary
    await dash.press("ctrl+p")
    await dash.until(lambda: isinstance(dash.app.screen, CommandPalette), "the palette")
    await dash.pilot.press(*title)
    hits = dash.app.screen.query_one(CommandList)
    await dash.until(lambda: title in _prompts(hits), f"the palette's entry {title!r}")
    for _ in range(hits.option_count):  # the best-scored hit is highlighted; go down to this one
        if _prompts(hits)[hits.highlighted or 0] == title:
            break
        await dash.press("down")
    await dash.press("enter")
    await dash.until(lambda: not isinstance(dash.app.screen, CommandPalette), "the palette closed")


async def from_the_command_line(
    walk: Walk, action: JobAction, actions: tuple[JobAction, ...]
) -> dict[str, Any]:
    """`qjob-tui <action> JOB --json` (with --yes where the row destroys) on the walk's runtime: its result line."""
    args = parse(action.name, [JOB, "--json", *(["--yes"] if action.destructive else [])], actions)
    assert isinstance(args, ActionArgs)
    stdout, stderr = io.StringIO(), io.StringIO()
    reporter = reporter_for(args, stdout, stderr)
    with StopSignals() as stop:
        reporter.end(await run_action(walk.dash.runtime, args, reporter, stop, io.StringIO()))
    records = [json.loads(line) for line in stdout.getvalue().splitlines()]
    assert records[-1]["event"] == "result" and records[-1]["command"] == action.name, stderr.getvalue()
    return records[-1]


def _prompts(hits: CommandList) -> list[str | None]:
    """The titles of the palette's hits, in the order it lists them."""
    return [option.hit.text if isinstance(option, Command) else None for option in hits.options]


@pytest.mark.parametrize("actions", TABLES.values(), ids=TABLES)
async def test_every_action_of_the_table_is_on_every_face_and_reaches_qovery(
    tmp_path: Path, actions: tuple[JobAction, ...]
) -> None:
    async with (
        running_dashboard(
            tmp_path, with_servers=True, actions=actions, app_factory=dashboard_for(actions)
        ) as dash,
    ):
        assert dash.servers is not None
        await dash.servers.wait_started()
        async with (
            httpx.AsyncClient(base_url=dash.servers.rest_url, timeout=30) as rest,
            Client(dash.servers.mcp_url) as mcp,
        ):
            walk = Walk(dash, rest, mcp)
            document = (await rest.get("/v1/openapi.json")).json()
            tools = {tool.name: tool for tool in (await mcp.list_tools()).tools}
            instructions = mcp.instructions or ""
            job = job_id(JOB)

            # Nothing but the table: no face offers an action the table lacks, or misses one.
            action_paths = {path for path, item in document["paths"].items() if "post" in item}
            assert len(action_paths) == len(actions)
            assert {name for name, tool in tools.items() if not tool.annotations.read_only_hint} == {
                action.tool for action in actions
            }
            assert command_names(actions)[: len(actions)] == tuple(action.name for action in actions)
            buttons = {button.id for button in dash.app.query("ActionBar Button")}
            assert buttons == {f"action-{action.name}" for action in actions}
            await dash.press("question_mark")
            assert isinstance(dash.app.screen, HelpScreen)
            help_text = dash.screen_text()
            await dash.press("escape")

            for action in actions:
                check_openapi_operation(document, action)
                check_mcp_tool(tools[action.tool], action, instructions)
                check_button_and_help(walk, action)
                assert action.help_line in help_text

                before = walk.counts()
                target = action.target
                response = await rest.post(f"/v1/{target.kind}/{job}/{action.rest_segment}")
                record = await walk.reached_qovery(action, "rest", before)
                assert response.status_code == record["status"]  # Qovery's answer, relayed

                before = walk.counts()
                result = await mcp.call_tool(action.tool, {target.tool_input: job})
                record = await walk.reached_qovery(action, "mcp", before)
                assert_mcp_result(result, action, record["status"])

                before = walk.counts()
                await dash.press(action.key)
                await answer_dialog(walk, action)
                await walk.reached_qovery(action, "tui", before)
                await dash.until(
                    lambda a=action: f"{a.name}  {JOB}" in dash.log_text(), "the log pane's entry"
                )

                before = walk.counts()
                assert await dash.pilot.click(f"#action-{action.name}")
                await answer_dialog(walk, action)
                await walk.reached_qovery(action, "tui", before)

                before = walk.counts()
                await from_the_palette(walk, action)
                await answer_dialog(walk, action)
                await walk.reached_qovery(action, "tui", before)

                before = walk.counts()
                result = await from_the_command_line(walk, action, actions)
                record = await walk.reached_qovery(action, "cli", before)
                assert result.get("http_status") == record["status"]
