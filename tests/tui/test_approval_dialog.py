"""The operator approves what agents do, in the dashboard (`--server`): the dialog, its countdown and its keys,
the header's count, the log pane, and what the callers (httpx for REST, the official MCP client in both
eras) get, against the simulator over real sockets."""

from __future__ import annotations

import asyncio
import json
import re
import signal
from collections.abc import AsyncIterator, Awaitable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client
from mcp.types import Implementation
from textual.widgets import Input

from qjob_tui.tui.screens import approval
from qjob_tui.tui.screens.approval import ApprovalScreen
from qjob_tui.tui.screens.deploy_options import DeployOptionsScreen
from qjob_tui.tui.screens.help import HelpScreen
from tests.common import API_TOKEN, DEMO, job_id, read_audit, read_outcomes

from .support import LEAVE_ALTERNATE_SCREEN, Dashboard, in_a_terminal, read_until, running_dashboard

PROBLEM = "urn:qjob-tui:problem:"
ERAS = ["auto", "legacy"]


class FakeClock:
    """The dialog's half-second guard reads this; the tests move it instead of waiting."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(ApprovalScreen, "clock", staticmethod(fake))
    return fake


@dataclass
class Desk:
    """The dashboard with the servers, stop and uninstall gated, and the ways to call it."""

    dash: Dashboard
    clock: FakeClock

    @property
    def rest_url(self) -> str:
        assert self.dash.servers is not None
        return self.dash.servers.rest_url

    @property
    def mcp_url(self) -> str:
        assert self.dash.servers is not None
        return self.dash.servers.mcp_url

    def rest(self, agent: str = "deploy-bot/2") -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.rest_url, headers={"User-Agent": agent}, timeout=60)

    def mcp(self, mode: str = "auto") -> Client:
        info = Implementation(name="claude-code", version="2.1")
        return Client(self.mcp_url, mode=mode, client_info=info)  # type: ignore[arg-type]

    def call(self, awaitable: Awaitable[Any]) -> asyncio.Task[Any]:
        return asyncio.ensure_future(awaitable)

    async def dialog(self, job: str | None = None) -> ApprovalScreen:
        """The approval dialog once it is up (for `job`'s request, if given)."""

        def up() -> bool:
            screen = self.dash.app.screen
            return (
                isinstance(screen, ApprovalScreen)
                and (job is None or screen.pending.request.job_id == job)
                and "left to answer" in self.dash.screen_text()  # drawn, countdown and all
            )

        await self.dash.until(up, f"the approval dialog{' for ' + job if job else ''}")
        screen = self.dash.app.screen
        assert isinstance(screen, ApprovalScreen)
        return screen

    async def answer(self, key: str) -> None:
        """Press `key` in the dialog once its half second has passed."""
        self.clock.now += 1
        await self.dash.press(key)

    def header(self) -> str:
        return self.dash.screen_text().splitlines()[0]

    def audit(self) -> list[dict[str, Any]]:
        """The audit log's outcome lines so far: one per request that has ended."""
        return [line for line in read_audit(self.dash.runtime.audit.path) if line["phase"] == "outcome"]


@pytest.fixture
async def desk(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Desk]:
    async with running_dashboard(tmp_path, with_servers=True, approve=["stop", "uninstall"]) as dash:
        assert dash.servers is not None
        await dash.servers.wait_started()
        yield Desk(dash, clock)


async def test_an_approved_request_reaches_qovery_once_and_its_caller_gets_the_answer(desk: Desk) -> None:
    dash = desk.dash
    job = job_id("db-migrate")
    async with desk.rest() as http:
        call = desk.call(http.post(f"/v1/job/{job}/stop"))
        dialog = await desk.dialog()
        text = dash.screen_text()
        assert "rest asks to stop db-migrate" in text
        for line in (
            "source  rest",
            "client  deploy-bot/2",
            "action  Stop",
            "job  db-migrate",
            f"job id  {job}",
        ):
            assert line in text, line
        assert "forceEvent  none" in text
        assert "s left to answer" in text
        assert "1 waiting for approval" in desk.header()
        assert dash.actions_sent() == []  # nothing before the yes
        await desk.answer("y")
        answer = await call
    assert answer.status_code == 202 and answer.json()["id"] == job
    assert [r.path for r in dash.actions_sent()] == [f"/job/{job}/stop"]
    assert not isinstance(dash.app.screen, ApprovalScreen)
    assert dialog.pending.request.client == "deploy-bot/2"
    await dash.until(lambda: "rest stop  db-migrate  202" in dash.log_text(), "Qovery's answer in the log")
    log = dash.log_text()
    assert "rest stop  db-migrate  waiting for approval" in log
    assert "asked by deploy-bot/2; 120s to answer" in log
    assert "rest stop  db-migrate  approved" in log
    assert log.index("waiting for approval") < log.index("approved") < log.index("202")
    assert "waiting for approval" not in desk.header()
    (line,) = desk.audit()
    assert (line["approval"], line["status"], line["client"]) == ("approved", 202, "deploy-bot/2")


@pytest.mark.parametrize(("mode", "key"), [("auto", "n"), ("legacy", "escape")])
async def test_n_or_escape_refuses_and_the_mcp_caller_is_told(desk: Desk, mode: str, key: str) -> None:
    dash = desk.dash
    async with desk.mcp(mode) as client:
        call = desk.call(client.call_tool("uninstall-job", {"jobId": job_id("nightly-backup")}))
        await desk.dialog()
        text = dash.screen_text()
        assert "mcp asks to uninstall nightly-backup" in text
        client_shown = "claude-code" if mode == "auto" else "python-httpx2"  # 2025 stateless: the User-Agent
        assert f"client  {client_shown}" in text
        assert "body  none" in text
        assert "deletes the job's compute and data resources" in text  # the action's own warning
        await desk.answer(key)
        result = await call
    assert result.is_error
    assert result.structured_content["type"] == PROBLEM + "approval-denied"
    assert "the operator refused uninstall on nightly-backup" in result.content[0].text
    assert dash.actions_sent() == []
    await dash.until(
        lambda: "mcp  uninstall  nightly-backup  refused: the operator" in dash.log_text(), "the log"
    )
    assert [line["approval"] for line in desk.audit()] == ["denied"]


async def test_enter_and_keys_pressed_as_the_dialog_appears_do_not_answer(desk: Desk) -> None:
    dash = desk.dash
    async with desk.rest() as http:
        call = desk.call(http.post(f"/v1/job/{job_id('nightly-backup')}/stop"))
        dialog = await desk.dialog()
        await dash.press("y")  # the clock has not moved: within the first half second
        assert dash.app.screen is dialog and dialog.pending.waiting
        assert "Too soon: a key pressed as the dialog appeared does not count" in dash.screen_text()
        await dash.press("n")
        assert dash.app.screen is dialog and dialog.pending.waiting
        desk.clock.now += 1
        await dash.press("enter")
        assert dash.app.screen is dialog and dialog.pending.waiting
        assert "Enter does not answer: y approves, n or Escape refuses." in dash.screen_text()
        assert dash.actions_sent() == []
        await dash.press("y")
        assert (await call).status_code == 202
    assert len(dash.actions_sent()) == 1


async def test_the_countdown_runs_and_a_timeout_refuses(tmp_path: Path, clock: FakeClock) -> None:
    async with running_dashboard(
        tmp_path, with_servers=True, approve=["stop"], approve_timeout_s=1.5
    ) as dash:
        assert dash.servers is not None
        desk = Desk(dash, clock)
        async with desk.rest() as http:
            call = desk.call(http.post(f"/v1/job/{job_id('nightly-backup')}/stop"))
            await desk.dialog()
            first = next(line for line in dash.screen_text().splitlines() if "left to answer" in line)
            await dash.until(
                lambda: first not in dash.screen_text() and "left to answer" in dash.screen_text(),
                "the countdown moves",
            )
            answer = await call
        await dash.until(lambda: not isinstance(dash.app.screen, ApprovalScreen), "the dialog closes")
        await dash.until(
            lambda: any(
                "Nobody answered in time; refused: stop on nightly-backup" in n for n in dash.notifications()
            ),
            "the dialog says why it closed",
        )
    assert answer.status_code == 403 and answer.json()["type"] == PROBLEM + "approval-timeout"
    assert dash.actions_sent() == []
    assert [line["approval"] for line in desk.audit()] == ["timeout"]


async def test_two_callers_at_once_are_asked_oldest_first_and_answered_in_order(desk: Desk) -> None:
    dash = desk.dash
    first_job, second_job = job_id("nightly-backup"), job_id("db-migrate")
    async with desk.rest() as http, desk.mcp() as client:
        first = desk.call(http.post(f"/v1/job/{first_job}/stop"))
        await desk.dialog(first_job)
        second = desk.call(client.call_tool("stop-job", {"jobId": second_job}))
        await dash.until(lambda: "1 more waiting" in dash.screen_text(), "the second counted")
        assert "2 waiting for approval" in desk.header()
        await desk.answer("y")
        assert (await first).status_code == 202
        assert not second.done()
        await desk.dialog(second_job)  # the next one, at once
        assert "mcp asks to stop db-migrate" in dash.screen_text()
        await desk.answer("y")
        result = await second
    assert not result.is_error
    assert [r.path for r in dash.actions_sent()] == [f"/job/{first_job}/stop", f"/job/{second_job}/stop"]
    assert [(line["source"], line["approval"]) for line in desk.audit()] == [
        ("rest", "approved"),
        ("mcp", "approved"),
    ]


async def test_a_caller_that_disconnects_takes_its_request_and_its_dialog_away(desk: Desk) -> None:
    dash = desk.dash
    async with desk.rest() as http:
        call = desk.call(http.post(f"/v1/job/{job_id('nightly-backup')}/stop"))
        await desk.dialog()
        call.cancel()  # the agent closes its connection
    await dash.until(lambda: not isinstance(dash.app.screen, ApprovalScreen), "the dialog closes")
    await dash.until(
        lambda: any(
            "The caller went away; withdrawn: stop on nightly-backup" in n for n in dash.notifications()
        ),
        "the dialog says why it closed",
    )
    assert dash.runtime.approvals.waiting == []
    assert "waiting for approval" not in desk.header()
    assert dash.actions_sent() == []
    await dash.until(lambda: desk.audit(), "the audit line")
    assert [line["approval"] for line in desk.audit()] == ["withdrawn"]


async def test_quitting_while_three_wait_answers_all_three_and_runs_none(desk: Desk) -> None:
    dash = desk.dash
    jobs = [job_id(name) for name in ("nightly-backup", "db-migrate", "table-vacuum")]
    async with desk.rest() as http, desk.mcp("legacy") as client:
        calls = [
            desk.call(http.post(f"/v1/job/{jobs[0]}/stop")),
            desk.call(client.call_tool("stop-job", {"jobId": jobs[1]})),
            desk.call(http.post(f"/v1/job/{jobs[2]}/uninstall")),
        ]
        await dash.until(lambda: len(dash.runtime.approvals.waiting) == 3, "three waiting")
        await dash.pilot.press("ctrl+q")
        rest_first, mcp_second, rest_third = await asyncio.gather(*calls)
    assert not dash.app.is_running and dash.app.return_code == 0
    for answer in (rest_first, rest_third):
        assert answer.status_code == 403
        assert answer.json()["type"] == PROBLEM + "approval-unavailable"
        assert answer.json()["detail"].startswith("the operator quit the dashboard before answering")
    assert mcp_second.is_error and mcp_second.structured_content["type"] == PROBLEM + "approval-unavailable"
    assert dash.actions_sent() == []
    assert sorted(line["approval"] for line in desk.audit()) == ["unavailable"] * 3


async def test_an_open_dialog_is_not_pushed_away_the_header_counts_and_a_opens_the_queue(desk: Desk) -> None:
    dash = desk.dash
    await dash.press("question_mark")
    assert isinstance(dash.app.screen, HelpScreen)
    async with desk.rest() as http:
        call = desk.call(http.post(f"/v1/job/{job_id('nightly-backup')}/stop"))
        await dash.until(lambda: dash.runtime.approvals.waiting, "the request waits")
        await dash.pilot.pause(0.2)
        assert isinstance(dash.app.screen, HelpScreen)  # the operator's dialog stays
        await dash.press("escape")  # back on the main screen, where the header counts it
        await desk.dialog()
        await desk.answer("n")
        refused = await call
        assert refused.status_code == 403
        # Over a dialog, `a` brings the queue up; the dialog beneath stays.
        await dash.press("question_mark")
        second = desk.call(http.post(f"/v1/job/{job_id('db-migrate')}/stop"))
        await dash.until(lambda: dash.runtime.approvals.waiting, "the second waits")
        assert isinstance(dash.app.screen, HelpScreen)
        await dash.press("a")
        await desk.dialog()
        await desk.answer("y")
        assert (await second).status_code == 202
    await dash.until(lambda: isinstance(dash.app.screen, HelpScreen), "back to the help screen")


async def test_a_typed_into_an_input_stays_there(desk: Desk) -> None:
    """`a` opens the queue over a dialog, but not while the operator types: then it is a letter."""
    dash = desk.dash
    await dash.press("D")
    options = dash.app.screen
    assert isinstance(options, DeployOptionsScreen)
    async with desk.rest() as http:
        call = desk.call(http.post(f"/v1/job/{job_id('nightly-backup')}/stop"))
        await dash.until(lambda: dash.runtime.approvals.waiting, "the request waits")
        await dash.press("a", "b", "c")
        assert dash.app.screen is options
        assert options.query_one(Input).value == "abc"
        await dash.press("escape")  # the operator leaves the dialog: the request's turn
        await desk.dialog()
        await desk.answer("n")
        assert (await call).status_code == 403


async def test_the_header_counts_what_waits_behind_a_dialog(desk: Desk) -> None:
    dash = desk.dash
    async with desk.rest() as http:
        calls = [desk.call(http.post(f"/v1/job/{job_id(n)}/stop")) for n in ("nightly-backup", "db-migrate")]
        await desk.dialog()
        await dash.until(lambda: len(dash.runtime.approvals.waiting) == 2, "both waiting")
        await dash.until(lambda: "2 waiting for approval  a" in desk.header(), "the count in the header")
        dash.runtime.approvals.close("the test ends the wait")
        await asyncio.gather(*calls)
    await dash.until(lambda: "waiting for approval" not in desk.header(), "the count gone")


async def test_a_client_name_is_escaped_and_cut(desk: Desk) -> None:
    """The client's name is whatever the caller says: markup shows as text, an escape sequence is defused
    (HTTP refuses control characters in a User-Agent, MCP's clientInfo carries them), a long one is cut."""
    dash = desk.dash
    hostile = "[bold red]evil[/] \x1b[2J\x07" + "x" * 200
    info = Implementation(name=hostile, version="6.6.6")
    async with Client(desk.mcp_url, client_info=info) as client:  # 2026-07-28: clientInfo on every call
        call = desk.call(client.call_tool("stop-job", {"jobId": job_id("nightly-backup")}))
        await desk.dialog()
        line = next(line for line in dash.screen_text().splitlines() if "client  " in line)
        assert "client  [bold red]evil[/] \\x1b[2J\\x07" in line  # markup shown as text, the escape defused
        assert "x" * 60 not in line and "…" in line
        await desk.answer("n")
        await call
    async with desk.rest(agent="[link=https://evil.example]click me[/link] " + "y" * 100) as http:
        rest_call = desk.call(http.post(f"/v1/job/{job_id('nightly-backup')}/stop"))
        await desk.dialog()
        line = next(line for line in dash.screen_text().splitlines() if "client  " in line)
        assert "client  [link=https://evil.example]click me[/link] yyy" in line and "…" in line
        await desk.answer("n")
        await rest_call
    assert dash.actions_sent() == []


async def test_a_secret_in_what_the_caller_sent_is_not_shown(desk: Desk) -> None:
    """Whatever an agent sends, the Qovery token does not reach the screen (nor its audit line)."""
    dash = desk.dash
    async with desk.rest(agent=f"leaky-agent {API_TOKEN}") as http:
        call = desk.call(http.post(f"/v1/job/{job_id('nightly-backup')}/stop"))
        await desk.dialog()
        text = dash.screen_text()
        assert "client  leaky-agent [redacted]" in text
        assert API_TOKEN not in text
        await desk.answer("n")
        await call
    assert API_TOKEN not in dash.log_text()
    assert API_TOKEN not in json.dumps(desk.audit())


async def test_the_dashboards_own_actions_are_not_gated(tmp_path: Path, clock: FakeClock) -> None:
    async with running_dashboard(tmp_path, with_servers=True, approve=["stop"], confirm=[]) as dash:
        await dash.select("db-migrate")
        await dash.press("s")
        await dash.until(lambda: dash.actions_sent(), "the stop upstream")
        assert not isinstance(dash.app.screen, ApprovalScreen)
        assert dash.runtime.approvals.waiting == []
        await dash.until(lambda: "tui  stop  db-migrate  202" in dash.log_text(), "the outcome")
        assert "waiting for approval" not in dash.log_text()


async def test_ungated_rest_actions_go_straight_through(desk: Desk) -> None:
    dash = desk.dash
    async with desk.rest() as http:
        answer = await http.post(f"/v1/job/{job_id('nightly-backup')}/deploy")
    assert answer.status_code == 202
    assert not isinstance(dash.app.screen, ApprovalScreen)
    assert "approval" not in desk.audit()[0]


def test_sigterm_while_three_wait_answers_each_caller_before_the_process_exits(tmp_path: Path) -> None:
    """The real command in a terminal: `qjob-tui --demo --server` with stop gated, three agents waiting."""
    config = tmp_path / "qjob-tui.yaml"
    config.write_text("server:\n  approve: [stop]\n", encoding="utf-8")
    command = ["--demo", "--server", "--config", str(config)]
    ports = ["--rest-port", "0", "--mcp-port", "0"]  # free ports: the header says which
    jobs = [DEMO.job_named(name).id for name in ("nightly-backup", "db-migrate", "cache-warmup")]
    with in_a_terminal(tmp_path, *command, *ports, size=(140, 40)) as (process, terminal):
        shown = read_until(terminal, b"nightly-backup", 60)
        assert b"nightly-backup" in shown, shown[-2000:]
        port = re.search(rb"REST :(\d+)", shown)
        assert port is not None, shown[-2000:]
        rest_port = int(port[1])
        with ThreadPoolExecutor(3) as pool:
            url = f"http://127.0.0.1:{rest_port}/v1/job/{{}}/stop"
            calls = [pool.submit(httpx.post, url.format(job), timeout=60) for job in jobs]
            shown += read_until(terminal, b"3 waiting for approval", 60)
            assert b"3 waiting for approval" in shown, shown[-3000:]
            process.send_signal(signal.SIGTERM)
            answers = [call.result(timeout=60) for call in calls]
        # Read the terminal while the process ends, as a terminal does: its last frames (the dialog gone, the
        # log's refusals) blocked on a full pseudo-terminal that nobody read, and the exit timed out.
        shown += read_until(terminal, LEAVE_ALTERNATE_SCREEN, 30)
        assert process.wait(timeout=30) == 0
        shown += read_until(terminal, b"\0never", 0.5)
    assert [answer.status_code for answer in answers] == [403, 403, 403]
    assert {answer.json()["type"] for answer in answers} == {PROBLEM + "approval-unavailable"}
    audit = tmp_path / "state" / "qjob-tui" / "audit-demo.jsonl"
    lines = read_outcomes(audit)
    assert sorted(line["approval"] for line in lines) == ["unavailable"] * 3
    assert all(line["status"] is None for line in lines)  # none ran
    assert b"Traceback" not in shown


async def test_a_with_nothing_waiting_says_so(desk: Desk, tmp_path: Path) -> None:
    # `a` is in the help; pressed with nothing waiting it did nothing and said nothing.
    dash = desk.dash
    await dash.press("a")
    assert "Nothing waits for your approval" in dash.notifications()[-1]
    await dash.press("enter")  # the detail screen: the same
    await dash.press("a")
    assert len([n for n in dash.notifications() if "Nothing waits" in n]) == 2


async def test_a_without_gated_actions_says_what_would_gate_them(tmp_path: Path) -> None:
    async with running_dashboard(tmp_path) as dash:
        await dash.press("a")
        assert "Nothing waits for your approval: server.approve is empty" in dash.notifications()[-1]


async def test_a_long_value_wraps_under_its_column_at_80x24(tmp_path: Path, clock: FakeClock) -> None:
    # A client name or a body longer than the dialog went on at the dialog's left edge, under the labels
    # (`  python-httpx/0.2…` below `client  a-very-long-agent…`): values now wrap in their own column.
    async with running_dashboard(tmp_path, size=(80, 24), with_servers=True, approve=["uninstall"]) as dash:
        assert dash.servers is not None
        await dash.servers.wait_started()
        desk = Desk(dash, clock)
        body = {"reason": "cleanup " * 12}
        async with desk.rest(agent=" ".join(["agent"] * 12)) as http:
            call = desk.call(http.post(f"/v1/job/{job_id('nightly-backup')}/uninstall", json=body))
            await desk.dialog()
            lines = dash.screen_text().splitlines()
            for label in ("client  ", "body  "):
                row = next(n for n, line in enumerate(lines) if label in line)
                column = lines[row].index(label) + len(label)
                after = lines[row + 1]
                assert after[:column].strip(" █") == "" and after[column] != " ", (
                    label,
                    lines[row : row + 2],
                )
            await desk.answer("n")
            assert (await call).status_code == 403


async def test_a_request_waits_while_the_operator_types_in_the_filter(desk: Desk) -> None:
    # The dialog opened over the filter as the operator typed: the keys of the first half second were dropped,
    # and the next `y` (`nightly-backup`) approved a request nobody had read. While an input has the keys, the
    # header counts the request; the dialog opens once the typing is done (Enter or Escape).
    dash = desk.dash
    await dash.press("slash")
    async with desk.rest() as http:
        call = desk.call(http.post(f"/v1/job/{job_id('nightly-backup')}/stop"))
        await dash.until(lambda: dash.runtime.approvals.waiting, "the request waits")
        await dash.pilot.pause(0.2)
        assert not isinstance(dash.app.screen, ApprovalScreen)
        assert "1 waiting for approval" in desk.header()
        desk.clock.now += 1
        await dash.burst("nightly")
        assert dash.app.table.filter_text == "nightly" and dash.runtime.approvals.waiting
        await dash.press("enter")  # the filter kept: now the request's turn
        await desk.dialog()
        await desk.answer("n")
        assert (await call).status_code == 403
    assert dash.actions_sent() == []


async def test_a_filter_left_open_does_not_hide_a_request(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An input that has the keys but no typing: the request's dialog opens once the keys pause."""
    monkeypatch.setattr(approval, "TYPING_PAUSE_S", 0.3)
    dash = desk.dash
    await dash.press("slash")
    async with desk.rest() as http:
        call = desk.call(http.post(f"/v1/job/{job_id('nightly-backup')}/stop"))
        await desk.dialog()
        await desk.answer("n")
        assert (await call).status_code == 403
