"""The main screen an operator trusts at 2 a.m.: a LAST ACTION that tells the truth, visible focus, a log that
follows and says when it does not, colours by category, a header that says what is wrong, every refused
request shown (a flood collapsed), where each job lives, sorting, and the DELETE hook asking first."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import pytest
from mcp import Client
from rich.console import Console
from textual.events import MouseScrollUp
from textual.filter import Monochrome

from qjob_tui.jobs import ActionMark
from qjob_tui.tui import app as app_module
from qjob_tui.tui.display import last_action_text, state_text
from qjob_tui.tui.screens.job_detail import JobDetailScreen
from qjob_tui.tui.widgets.job_table import JobTable
from qjob_tui.tui.widgets.log_pane import LogEntry, LogPane
from tests.common import DEMO_NAMES, environment_of

from .support import Dashboard, job_id, quiet_simulator, running_dashboard

TIMES_12 = "\N{MULTIPLICATION SIGN}12 in"  # a flood's count: x12 in 10 s
SERVER_TOKEN = "dash-inbound-9f2c7e1a5b3d4680"


def header(dash: Dashboard) -> str:
    return dash.screen_text().splitlines()[0]


def mark(action: str, result: str, ok: bool, options: str = "", source: str = "tui") -> ActionMark:
    return ActionMark(action, options, source, result, ok, 0.0)


# -- LAST ACTION ----------------------------------------------------------------------------------------


async def test_last_action_names_what_was_asked_and_which_face_asked(tmp_path: Path) -> None:
    async with running_dashboard(tmp_path, size=(200, 40), with_servers=True) as dash:
        assert dash.servers is not None
        async with Client(dash.servers.mcp_url) as client:  # an agent forces a CRON run
            forced = await client.call_tool(
                "deploy-job", {"jobId": job_id("nightly-backup"), "forceEvent": "CRON"}
            )
        assert not forced.is_error
        await dash.select("db-migrate")
        await dash.press("D")  # the operator deploys an image tag
        dash.app.screen.query_one("#image-tag").value = "2.5.0"  # type: ignore[attr-defined]
        await dash.press("enter")
        await dash.until(lambda: dash.row("db-migrate")["last"], "the deploy in the table")
        await dash.until(lambda: dash.row("nightly-backup")["last"], "the forced run in the table")
        # Two deploys that both answered 202, told apart.
        assert dash.row("nightly-backup")["last"] == "deploy CRON 202 mcp"
        assert dash.row("db-migrate")["last"] == "deploy image_tag 2.5.0 202 tui"


async def test_a_failed_later_attempt_is_marked_beside_the_accepted_action(tmp_path: Path) -> None:
    async with running_dashboard(tmp_path, size=(200, 40)) as dash:
        await dash.press("d")
        await dash.until(lambda: "202" in dash.row("nightly-backup")["last"], "the accepted deploy")
        await dash.press("d")  # still queued: Qovery answers 409
        await dash.until(lambda: "409" in dash.row("nightly-backup")["last"], "the refused second deploy")
        last = dash.row("nightly-backup")["last"]
        assert last.startswith("deploy 202 tui  deploy ✗ 409 an operation is already in progress")
        assert dash.log_text().count("deploy  nightly-backup") == 2  # the whole history stays in the log


def test_when_both_do_not_fit_the_failure_keeps_its_mark_and_status() -> None:
    accepted = mark("deploy", "202", True, "CRON", "mcp")
    failed = mark("redeploy", "409 an operation is already in progress", False)
    assert last_action_text(accepted, failed, 80).plain == (
        "deploy CRON 202 mcp  redeploy ✗ 409 an operation is already in progress tui"
    )
    assert last_action_text(accepted, failed, 60).plain == (
        "deploy CRON 202 mcp  redeploy ✗ 409 an operation is already…"
    )
    # Cut short, the failure says which action it was when it was another one, while the accepted one can
    # keep a few cells; then only its status.
    assert last_action_text(accepted, failed, 24).plain == "deploy CR… ✗redeploy 409"
    assert last_action_text(accepted, failed, 20).plain == "deplo… ✗redeploy 409"
    assert last_action_text(accepted, failed, 14).plain == "deploy C… ✗409"
    again = mark("deploy", "409 an operation is already in progress", False)
    assert (
        last_action_text(accepted, again, 24).plain == "deploy CRON 202 mcp ✗409"
    )  # the same action: its status
    assert last_action_text(None, failed, 30).plain == "redeploy ✗ 409 an operation i…"
    assert last_action_text(accepted, None, 40).plain == "deploy CRON 202 mcp"
    assert last_action_text(None, None, 40).plain == ""


# -- focus, the panes' own keys, the log that follows ---------------------------------------------------


async def test_the_focused_pane_is_lit_and_each_pane_names_its_keys(dash: Dashboard) -> None:
    table, log = dash.app.table, dash.app.log_pane
    assert "o sort" in str(table.border_title) and "/ filter" in str(table.border_title)
    assert "y copy JSON" in str(log.border_title) and "z zoom" in str(log.border_title)

    def lit(widget: JobTable | LogPane) -> object:
        return widget.styles.border_top[1]

    assert dash.app.focused is table
    assert lit(table) != lit(log)
    focused_colour = lit(table)
    await dash.press("tab")
    assert dash.app.focused is log
    assert lit(log) == focused_colour and lit(table) != focused_colour


@pytest.mark.parametrize("leave", ["z", "escape"])
async def test_after_the_zoomed_log_the_navigation_keys_move_the_table_again(
    dash: Dashboard, leave: str
) -> None:
    await dash.press("z")
    assert dash.app.screen.maximized is dash.app.log_pane
    await dash.press(leave)
    assert dash.app.screen.maximized is None
    assert dash.app.focused is dash.app.table
    for key, row in (("G", len(DEMO_NAMES) - 1), ("g", 0), ("end", len(DEMO_NAMES) - 1), ("home", 0)):
        await dash.press(key)
        assert dash.app.table.cursor_row == row, key


def entry(n: int, lines: int = 0) -> LogEntry:
    data = {f"key{i}": f"value {i}" for i in range(lines)} if lines else None
    return LogEntry.note(f"note{n}", f"message {n}", ok=True) if data is None else LogEntry(
        time=LogEntry.note("x", "y").time, source="rest", action=f"deploy{n}", job="job", result="202", ok=True,
        data=data,
    )  # fmt: skip


def visible(dash: Dashboard) -> list[str]:
    """The log pane's lines on screen, below its title."""
    lines = dash.screen_text().splitlines()
    top = next(i for i, line in enumerate(lines) if line.startswith("─log"))
    return lines[top + 1 : -1]


async def test_at_80x24_the_newest_entry_shows_its_header_line_not_its_json_tail(tmp_path: Path) -> None:
    async with running_dashboard(tmp_path, size=(80, 24)) as dash:
        await dash.press("d")  # Qovery's Status: ten lines of JSON, more than the pane shows
        await dash.until(lambda: "202" in dash.log_text(), "the deploy in the log")
        await dash.pilot.pause()
        shown = visible(dash)
        assert "tui  deploy  nightly-backup  202" in shown[0]
        assert len(dash.app.log_pane.entries[-1].body) > len(shown)  # its tail is what is cut


async def test_the_log_follows_until_scrolled_up_then_counts_what_waits_below(dash: Dashboard) -> None:
    log = dash.app.log_pane
    for n in range(30):
        log.add(entry(n))
    await dash.pilot.pause()
    assert "message 29" in visible(dash)[-1]  # following
    for _ in range(40):  # the user turns the wheel up
        log.post_message(MouseScrollUp(log, 2, 2, 0, -1, 0, False, False, False))
    await dash.until(lambda: log.scroll_y == 0, "the view at the top")
    assert not log.follow
    log.add(entry(30))
    log.add(entry(31))
    await dash.pilot.pause()
    assert "note00" not in dash.screen_text()
    assert "▼ 2 new entries below · end: follow the newest" in visible(dash)[-1]
    assert (
        "note0 " in visible(dash)[0] or "note0" in visible(dash)[0]
    )  # the view stayed where the user put it
    await dash.press("tab", "end")
    assert log.follow
    await dash.pilot.pause()
    assert "new entries below" not in dash.screen_text()
    assert "message 31" in visible(dash)[-1]


async def test_a_flood_of_identical_entries_is_counted_on_one(dash: Dashboard) -> None:
    log = dash.app.log_pane
    before = len(log.entries)
    for _ in range(12):
        log.add(LogEntry.note("refused", "the same thing again"))
    await dash.pilot.pause()
    assert len(log.entries) == before + 1
    [counted] = [line for line in log.plain_lines() if TIMES_12 in line]
    assert counted.index(TIMES_12) < 12  # beside the time: a long result cannot push it out of view


# -- colours --------------------------------------------------------------------------------------------


async def test_job_names_are_drawn_neutral_and_states_by_category(dash: Dashboard) -> None:
    table = dash.app.table
    name = table.get_cell(job_id("cache-warmup"), "name")
    assert not name.style and [span.style for span in name.spans] == ["bold magenta"]  # only the mark
    styles = {state: str(state_text(state).style) for state in
              ("DEPLOYED", "DEPLOYMENT_ERROR", "DEPLOYING", "DEPLOYMENT_QUEUED", "DELETED", "STOPPED")}  # fmt: skip
    assert "red" in styles["DEPLOYMENT_ERROR"] and "bold" in styles["DEPLOYMENT_ERROR"]
    assert "blue" in styles["DEPLOYING"]
    assert "yellow" in styles["DEPLOYMENT_QUEUED"]
    assert styles["DEPLOYED"] == styles["STOPPED"] == "green"
    assert styles["DELETED"] == "dim"  # gone: not green like DEPLOYED
    assert state_text("DEPLOYMENT_ERROR").plain == "✗ DEPLOYMENT_ERROR"  # stands out without colour too


@pytest.mark.parametrize("system", ["256", "truecolor"])
def test_each_state_category_has_its_own_colour_in_256_and_truecolor_terminals(system: str) -> None:
    def sgr(state: str) -> str:
        console = Console(color_system=system, force_terminal=True, width=40)  # type: ignore[arg-type]
        with console.capture() as captured:
            console.print(state_text(state), end="")
        return captured.get().split(state, 1)[0]  # the escape sequence before the text

    codes = {
        state: sgr(state) for state in ("DEPLOYED", "DEPLOYMENT_ERROR", "DEPLOYING", "DEPLOYMENT_QUEUED")
    }
    assert len(set(codes.values())) == 4, codes
    assert all(code.startswith("\x1b[") for code in codes.values())
    assert "1;" in codes["DEPLOYMENT_ERROR"]  # bold: it stands out whatever the palette


async def test_with_no_color_the_error_state_still_stands_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    async with running_dashboard(tmp_path) as dash:
        assert dash.app.no_color
        assert any(isinstance(f, Monochrome) for f in dash.app._filters)
        strips = dash.app.screen._compositor.render_strips()
        row = next(s for s in strips if "cache-warmup" in s.text)
        mono = row.apply_filter(Monochrome(), dash.app.styles.background)
        error = [seg for seg in mono if "DEPLOYMENT_ERROR" in seg.text]
        assert error and error[0].style is not None and error[0].style.bold
        assert "✗ DEPLOYMENT_ERROR" in row.text
        for seg in mono:
            colour = seg.style.color if seg.style else None
            if colour is not None and colour.triplet is not None:
                red, green, blue = colour.triplet
                assert red == green == blue, seg  # grey only


# -- the header -----------------------------------------------------------------------------------------


async def test_the_header_says_when_the_states_were_read(dash: Dashboard) -> None:
    await dash.until(
        lambda: "↻ " in header(dash) and "s ago" in header(dash), "the last refresh in the header"
    )
    assert "7 jobs" in header(dash)


async def test_one_job_is_one_job(tmp_path: Path) -> None:
    only = {"id": job_id("nightly-backup"), "environment": environment_of(job_id("nightly-backup"))}
    async with running_dashboard(tmp_path, environments=[], jobs=[only]) as dash:
        assert "1 job ·" in header(dash)
        assert "1 jobs" not in header(dash)


async def test_jobs_without_environment_and_qovery_unreachable_say_so_until_it_clears(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app_module, "DISCOVERY_RETRY_S", (0.3,))
    sim = quiet_simulator()
    sim.inject(method="GET", path=r"^/job/[^/]+$", status=503, json={"message": "down"}, times=None)
    async with running_dashboard(
        tmp_path, sim=sim, environments=[], jobs=[{"id": job_id("nightly-backup")}], wait=False
    ) as dash:
        await dash.until(lambda: "unread" in header(dash), "the discovery trouble in the header")
        assert "⚠ Qovery 503: 1 job or environment unread · retry in" in header(dash)
        sim.clear_faults()
        await dash.until(lambda: "unread" not in header(dash), "the headline gone once discovery worked")
        await dash.until(
            lambda: (
                [(r["name"].strip(), r["state"]) for r in dash.rows()] == [("nightly-backup", "DEPLOYED")]
            ),
            "the job's name and state",
        )
        assert "every job and environment could be read" in dash.log_text()


# -- every refused request, with why --------------------------------------------------------------------


async def test_every_refused_rest_or_mcp_request_shows_in_the_log_pane_with_why(tmp_path: Path) -> None:
    async with running_dashboard(tmp_path, with_servers=True, server_token=SERVER_TOKEN) as dash:
        assert dash.servers is not None
        auth = {"Authorization": f"Bearer {SERVER_TOKEN}"}
        deploy = f"/v1/job/{job_id('nightly-backup')}/deploy"
        async with httpx.AsyncClient(base_url=dash.servers.rest_url, headers=auth) as rest:
            answers = [
                await rest.post(deploy, headers={"Origin": "https://evil.example"}),  # 403 foreign origin
                await rest.post(deploy + "?forceevent=CRON"),  # 400 unknown query parameter
                await rest.post(deploy, headers={"Authorization": "Bearer wrong"}),  # 401
                await rest.get("/v1/nothing"),  # 404
                await rest.get(deploy),  # 405
                await rest.post(
                    f"/v1/job/{job_id('nightly-backup')}/uninstall",
                    content=b"{" + b" " * 70_000 + b"}",
                    headers={"Content-Type": "application/json"},
                ),  # 413
            ]
        assert [a.status_code for a in answers] == [403, 400, 401, 404, 405, 413]
        for why in (
            "403 refused · foreign-origin",
            "400 refused · invalid-input",
            "401 refused · unauthorized",
            "404 refused · not-found",
            "405 refused · method-not-allowed",
            "413 refused · body-too-large",
        ):
            await dash.until(lambda why=why: why in dash.log_text(), why)
        assert "unknown query parameter(s) forceevent" in dash.log_text()
        assert SERVER_TOKEN not in dash.log_text()
        assert dash.actions_sent() == []


async def test_a_flood_of_refused_requests_is_one_entry_with_its_count(tmp_path: Path) -> None:
    async with running_dashboard(tmp_path, with_servers=True, server_token=SERVER_TOKEN) as dash:
        assert dash.servers is not None
        async with httpx.AsyncClient(base_url=dash.servers.rest_url) as rest:
            await asyncio.gather(*(rest.post(f"/v1/job/{job_id('nightly-backup')}/stop") for _ in range(12)))
        await dash.until(lambda: TIMES_12 in dash.log_text(), "the count of the flood")
        assert dash.log_text().count("401 refused") == 1


# -- where each job lives, the order, the DELETE hook ---------------------------------------------------


async def test_wide_enough_each_job_shows_its_project_and_environment(tmp_path: Path) -> None:
    async with running_dashboard(tmp_path, size=(140, 40)) as dash:
        await dash.until(lambda: dash.row("cache-warmup")["env"], "the environments' names")
        assert (dash.row("cache-warmup")["project"], dash.row("cache-warmup")["env"]) == (
            "storefront",
            "staging",
        )
        assert dash.row("nightly-backup")["env"] == "production"
        await dash.burst("/staging\r")  # the filter knows the names too
        assert dash.names() == ["cache-warmup", "seed-fixtures"]


async def test_at_80_columns_the_places_make_way(tmp_path: Path) -> None:
    async with running_dashboard(tmp_path, size=(80, 24)) as dash:
        assert "project" not in dash.app.table.column_keys


async def test_o_cycles_the_order_and_the_column_header_says_which(tmp_path: Path) -> None:
    async with running_dashboard(tmp_path, size=(140, 40)) as dash:
        assert dash.names() == DEMO_NAMES  # the config's order first
        await dash.press("o")
        assert dash.names() == sorted(DEMO_NAMES)
        assert "JOB ▲" in dash.screen_text()
        await dash.press("o")
        assert dash.names()[0] == "cache-warmup"  # errors first
        assert "STATE ▲" in dash.screen_text()
        await dash.press("o")
        assert dash.names()[0] == "cache-warmup"  # deployed 40 minutes ago: the newest
        assert dash.names()[-1] == "table-vacuum"  # never deployed: last
        assert "DEPLOYED ▼" in dash.screen_text()
        await dash.press("o")
        assert dash.names() == DEMO_NAMES
        assert "▲" not in dash.screen_text() and "▼" not in dash.screen_text()


async def test_sorted_by_state_a_job_moves_when_its_state_changes(tmp_path: Path) -> None:
    async with running_dashboard(tmp_path, size=(140, 40)) as dash:
        await dash.press("o", "o")  # by state
        await dash.select("weekly-report")
        await dash.press("d")  # STOPPED -> DEPLOYMENT_QUEUED: before the settled ones now
        await dash.until(lambda: dash.names()[1] == "weekly-report", "the row moved up")
        assert dash.app.table.selected_id == job_id("weekly-report")  # the selection went with it


async def test_a_click_on_the_highlighted_job_opens_it_and_a_first_click_only_highlights(
    tmp_path: Path,
) -> None:
    async with running_dashboard(tmp_path, size=(140, 40)) as dash:
        table = dash.app.table
        # Below the pane's title (the table's border) and the column headers.
        top = table.content_region.y - table.region.y + table.header_height
        row_y = top + dash.names().index("cache-warmup")
        await dash.pilot.click(JobTable, offset=(4, row_y))
        await dash.pilot.pause()
        assert table.selected_id == job_id("cache-warmup")
        assert not isinstance(dash.app.screen, JobDetailScreen)  # a first click selects, like k9s
        await dash.pilot.click(JobTable, offset=(4, row_y))
        await dash.until(lambda: isinstance(dash.app.screen, JobDetailScreen), "the detail screen")
        assert dash.app.screen.job_id == job_id("cache-warmup")


async def test_qovery_unreachable_at_start_says_so_in_an_80_column_header(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The header took the failed request's path for the cause: `⚠ 2 jobs or environments unread (GET
    # /job/0d6e…) · retry in` at 140 columns, and at 80 only `⚠ 2 jobs or environments unread`; it never said
    # that Qovery could not be reached.
    monkeypatch.setattr(app_module, "DISCOVERY_RETRY_S", (30.0,))
    sim = quiet_simulator()
    sim.inject(method="GET", path=r"^/job/[^/]+$", reset=True, times=None)
    jobs = [{"id": job_id("nightly-backup")}, {"id": job_id("db-migrate")}]
    async with running_dashboard(
        tmp_path, sim=sim, environments=[], jobs=jobs, wait=False, size=(80, 24)
    ) as dash:
        await dash.until(lambda: "⚠" in header(dash), "the discovery trouble in the header")
        assert "⚠ Qovery unreachable: 2 jobs" in header(dash)
        assert "GET /job" not in header(dash)


async def test_a_narrow_header_drops_whole_parts_never_a_number_from_its_word(tmp_path: Path) -> None:
    # At 80 columns with a filter and marks the header read `3/7 jobs · filter: prod · 2`: the right side was
    # cut at its end, wherever that fell, so `2 marked` lost its word. Parts that do not fit go whole, the
    # least urgent (how long ago the states were read) first. (The API's URL here is as long as Qovery's.)
    async with running_dashboard(tmp_path, size=(80, 24), with_servers=True) as dash:
        await dash.press("space", "space")
        await dash.press("slash")
        await dash.burst("production\r")
        line = header(dash)
        assert "2 marked" in line, line
        assert "↻" not in line  # dropped whole, not cut
        assert not line.rstrip().endswith(("·", "2", "…"))


async def test_a_board_without_jobs_says_why_and_what_adds_some(tmp_path: Path) -> None:
    # An environment with no jobs gave an empty table and `0 jobs` in the header: nothing said the config
    # was read and found none, nor how to add some.
    from qjob_tui.simulator.dataset import DEMO_ENV_DATA_DEVELOPMENT_ID

    async with running_dashboard(tmp_path, environments=[DEMO_ENV_DATA_DEVELOPMENT_ID]) as dash:
        await dash.until(lambda: "no jobs" in header(dash), "the empty board explained")
        assert "no jobs in the configured environments · b adds some" in header(dash)


async def test_an_80_column_header_with_the_servers_keeps_room_for_a_refresh_error(tmp_path: Path) -> None:
    # `qjob-tui │ https://api.qovery.com │ REST :8080 · MCP :9090` took 56 of 80 columns, and a refresh error
    # was cut to `⚠ Qovery 503 · ret`. Narrow, the header leaves out its name and the URL's scheme.
    async with running_dashboard(tmp_path, size=(80, 24), with_servers=True) as dash:
        dash.sim.inject(method="GET", path="/job/status$", status=503, times=None)
        await dash.until(lambda: "retry in" in header(dash), "the backoff in the header")
        line = header(dash)
        assert re.search(r"⚠ Qovery 503 · retry in \d+s", line), line
        assert "REST :" in line and "MCP :" in line and "127.0.0.1:" in line
        assert "http://" not in line and "qjob-tui" not in line
        await dash.pilot.resize_terminal(140, 45)
        await dash.until(lambda: "qjob-tui │ http://127.0.0.1:" in header(dash), "the full header when wide")


async def test_a_refused_input_is_shown_with_its_name_as_the_caller_was_told(tmp_path: Path) -> None:
    async with running_dashboard(tmp_path, with_servers=True) as dash:
        assert dash.servers is not None
        deploy = f"/v1/job/{job_id('nightly-backup')}/deploy"
        async with httpx.AsyncClient(base_url=dash.servers.rest_url) as rest:
            answer = await rest.post(deploy, json={"image_tag": 2})
        assert answer.json()["detail"] == "body.image_tag: must be a string, not a number"
        await dash.until(lambda: "400 refused" in dash.log_text(), "the refusal in the log pane")
        assert "body.image_tag: must be a string, not a number" in dash.log_text()
        assert dash.actions_sent() == []
