"""The job's detail screen (`Enter`): facts, Status, runs, and the selected run's log, live, against the
simulator on loopback. Its `ManualClock` drives the runs: `dash.advance(seconds)`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from qjob_tui.simulator import ManualClock
from qjob_tui.tui.screens import job_detail
from qjob_tui.tui.screens.approval import ApprovalScreen
from qjob_tui.tui.screens.confirm import ConfirmScreen
from qjob_tui.tui.screens.job_detail import JobDetailScreen
from qjob_tui.tui.widgets.action_bar import ActionBar
from qjob_tui.tui.widgets.run_list import RunList
from qjob_tui.tui.widgets.run_log import CURRENT_MATCH_STYLE, MATCH_STYLE

from .support import Dashboard, job_id, quiet_simulator, running_dashboard


@pytest.fixture(autouse=True)
def quick_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """The screen asks often: the simulator's clock, not the wall clock, decides when lines appear."""
    monkeypatch.setattr(job_detail, "FOLLOW_INTERVAL_S", 0.05)
    monkeypatch.setattr(job_detail, "FAST_REFRESH_S", 0.1)
    monkeypatch.setattr(job_detail, "RETRY_S", 0.1)


@pytest.fixture
async def dash(tmp_path: Path) -> AsyncIterator[Dashboard]:
    async with running_dashboard(tmp_path, size=(100, 40)) as running:
        running.runtime.reads.cache.ttl_s = 0.02  # answers kept while the faces ask at once, not longer
        yield running


def screen(dash: Dashboard) -> JobDetailScreen:
    assert isinstance(dash.app.screen, JobDetailScreen), f"not on the detail screen:\n{dash.screen_text()}"
    return dash.app.screen


def log_text(dash: Dashboard) -> str:
    return screen(dash).log_view.plain_text()


async def open_detail(dash: Dashboard, name: str) -> JobDetailScreen:
    """Select the job in the table and press Enter; wait for its runs and the newest run's log (or note)."""
    await dash.select(name)
    await dash.press("enter")
    detail = screen(dash)
    await dash.until(
        lambda: (
            detail.runs is not None and detail.facts is not None and (detail.log_settled or not detail.runs)
        ),
        f"{name}'s facts, runs and log",
    )
    await dash.pilot.pause()
    return detail


def run_rows(detail: JobDetailScreen) -> list[tuple[str, str]]:
    runs = detail.run_list
    return [(runs.cell_text(row, "state"), runs.cell_text(row, "by")) for row in range(runs.row_count)]


# -- what the screen shows ---------------------------------------------------------------------------


async def test_enter_opens_the_jobs_facts_status_and_runs(dash: Dashboard) -> None:
    detail = await open_detail(dash, "nightly-backup")
    facts = detail.facts_panel.text.plain
    assert "nightly-backup  cron  DEPLOYED  UP_TO_DATE  deployed 26h ago" in facts
    assert "Acme Robotics / storefront / production" in facts
    assert job_id("nightly-backup") in facts
    assert "schedule 0 3 * * * (Etc/UTC)" in facts
    assert "image acme/pg-backup:2.4.1 (Docker Hub)" in facts
    assert run_rows(detail) == [
        ("DEPLOYED", "Alice Martin"),
        ("DEPLOYED", "Bob Chen"),
        ("✗ DEPLOYMENT_ERROR", "Demo User"),
    ]
    assert [detail.run_list.cell_text(row, "took") for row in range(3)] == ["50s", "42s", "35s"]
    text = dash.screen_text()
    assert "runs · 3" in text
    assert "Job nightly-backup completed successfully (exit code 0)" in log_text(dash)
    assert f"log · run {detail.runs[0].execution_id} · DEPLOYED" in text  # type: ignore[index]


async def test_a_lifecycle_job_shows_its_hooks_and_git_source(dash: Dashboard) -> None:
    detail = await open_detail(dash, "db-migrate")
    facts = detail.facts_panel.text.plain
    assert "db-migrate  lifecycle  DEPLOYED" in facts
    assert "hooks on_start" in facts
    assert "git https://github.com/acme/storefront @ main (3f9c2a17e5b0)" in facts
    assert detail.run_list.cell_text(0, "version") == "3f9c2a17e5b0"


async def test_the_log_of_a_job_holds_its_own_lines_and_no_other_services(dash: Dashboard) -> None:
    detail = await open_detail(dash, "nightly-backup")
    await dash.press("down")  # the storefront release: db-migrate ran in the same deployment
    await dash.until(lambda: detail.log_settled and detail.log_view.lines, "the release run's log")
    run = detail.runs[1]  # type: ignore[index]
    assert detail.shown == run.execution_id
    assert f"log · run {run.execution_id}" in dash.screen_text()
    lines = detail.log_view.lines
    assert {line.raw["details"]["transmitter"]["id"] for line in lines} == {job_id("nightly-backup")}
    assert {line.execution_id for line in lines} == {run.execution_id}
    assert "nightly-backup" in log_text(dash)
    assert "db-migrate" not in log_text(dash)
    # The environment's log of that execution holds db-migrate's lines too: they were left out.
    everything = await dash.runtime.client.environment_logs(detail.facts.environment_id, run.execution_id)
    assert job_id("db-migrate") in {line["details"]["transmitter"]["id"] for line in everything}


async def test_a_run_that_failed_shows_its_error_line_and_hint(dash: Dashboard) -> None:
    await open_detail(dash, "cache-warmup")
    text = log_text(dash)
    assert "DeployedEr… ✖ Job cache-warmup failed: its container exited with code 1" in text
    assert "hint        Read the output of job cache-warmup in the Qovery console" in text
    assert "link        https://hub.qovery.com/docs/using-qovery/troubleshoot/" in text
    view = screen(dash).log_view
    error_row = next(n for n, line in enumerate(view.plain_lines()) if "✖" in line)
    assert any(span.style == "bold red" for span in view.row_text(error_row).spans)


async def test_a_job_that_never_ran_says_so(dash: Dashboard) -> None:
    detail = await open_detail(dash, "table-vacuum")
    assert detail.runs == []
    assert "No runs yet: table-vacuum has never been deployed (d deploys it)." in dash.screen_text()


# -- live ----------------------------------------------------------------------------------------------


async def test_a_deploy_from_the_screen_starts_a_run_whose_lines_appear_live(dash: Dashboard) -> None:
    detail = await open_detail(dash, "nightly-backup")
    before = detail.runs[0].execution_id  # type: ignore[index]
    await dash.press("d")
    await dash.until(lambda: dash.actions_sent(), "the deploy sent")
    assert [r.path for r in dash.actions_sent()] == [f"/job/{job_id('nightly-backup')}/deploy"]
    await dash.until(
        lambda: (
            detail.runs
            and detail.runs[0].execution_id != before
            and detail.shown == detail.runs[0].execution_id
        ),
        "the new run shown",
    )
    assert detail.run_list.cell_text(0, "state") == "DEPLOYMENT_QUEUED"
    await dash.until(lambda: "Deployment of job nightly-backup queued" in log_text(dash), "the queued line")
    assert "Pulling image" not in log_text(dash)
    assert "· live" in dash.screen_text()
    dash.advance(2.0)  # in progress
    await dash.until(
        lambda: "Pulling image acme/pg-backup:2.4.1" in log_text(dash), "the first line in progress"
    )
    await dash.until(lambda: detail.run_list.cell_text(0, "state") == "DEPLOYING", "the run in progress")
    assert "completed successfully" not in log_text(dash)
    dash.advance(2.0)  # settled
    await dash.until(lambda: "Job nightly-backup completed successfully" in log_text(dash), "the last line")
    await dash.until(lambda: detail.run_list.cell_text(0, "state") == "DEPLOYED", "the run settled")
    assert detail.log_settled
    assert log_text(dash).count("Deployment of job nightly-backup queued") == 1  # each line once
    assert "· live" not in dash.screen_text()


async def test_scrolled_up_new_lines_show_the_marker_and_the_view_does_not_jump(tmp_path: Path) -> None:
    clock = ManualClock()
    async with running_dashboard(tmp_path, sim=quiet_simulator(clock), clock=clock, size=(80, 16)) as dash:
        dash.runtime.reads.cache.ttl_s = 0.02
        detail = await open_detail(dash, "db-migrate")
        view = detail.log_view
        await dash.press("d")
        await dash.until(lambda: detail.runs and detail.runs[0].state == "DEPLOYMENT_QUEUED", "the new run")
        dash.advance(2.0 + 2.0 * 3 / 7)  # queued, then three of the seven lines in progress
        await dash.until(lambda: len(view.lines) >= 4, "four lines")
        assert view.max_scroll_y > 0, f"the log must be taller than its pane:\n{dash.screen_text()}"
        assert view.following and view.scroll_y == view.max_scroll_y
        await dash.press("home")
        assert view.scroll_y == 0 and not view.following
        top = view.plain_lines()[0]
        shown = len(view.lines)
        dash.advance(2.0)  # the rest of the run
        await dash.until(lambda: len(view.lines) > shown, "lines that arrived below")
        await dash.pilot.pause()
        assert view.scroll_y == 0  # it did not jump: the same rows are on screen
        assert view.plain_lines()[0] == top and top.strip() in dash.screen_text()
        assert "completed successfully" not in dash.screen_text()
        assert f"↓ {len(view.lines) - shown} new lines below" in dash.screen_text()
        await dash.press("end")
        assert view.following and view.scroll_y == view.max_scroll_y
        assert "new line" not in dash.screen_text()


# -- search --------------------------------------------------------------------------------------------


async def test_search_finds_and_highlights_and_n_moves_between_matches(dash: Dashboard) -> None:
    detail = await open_detail(dash, "nightly-backup")
    await dash.press("slash")
    await dash.pilot.press(*"nightly-backup")
    await dash.pilot.pause()
    view = detail.log_view
    assert len(view.matches) == 6  # every line of the run names the job
    assert "1/6" in dash.screen_text()
    first = view.current
    row = next(n for n, line in enumerate(view.plain_lines()) if "nightly-backup" in line)
    marked = [span for span in view.row_text(row).spans if span.style in (MATCH_STYLE, CURRENT_MATCH_STYLE)]
    assert [view.row_text(row).plain[span.start : span.end] for span in marked] == ["nightly-backup"]
    await dash.press("enter")  # back to the log, the matches kept
    assert dash.app.focused is view
    await dash.press("n")
    assert view.current == first + 1
    assert "2/6" in dash.screen_text()
    await dash.press("N", "N")
    assert view.current == 5  # round the top
    assert dash.actions_sent() == []  # n and N are the search's, never an action
    await dash.press("escape")  # closes the search first
    assert not detail.search_bar.is_open and view.matches == []
    assert isinstance(dash.app.screen, JobDetailScreen)


async def test_a_burst_typed_after_slash_goes_to_the_search_and_runs_nothing(dash: Dashboard) -> None:
    detail = await open_detail(dash, "nightly-backup")
    await dash.burst("/deploy")  # d is the deploy key: typed into the search, it must deploy nothing
    assert dash.app.focused is detail.search_bar.input
    assert detail.search_bar.text == "deploy"
    assert dash.actions_sent() == []
    assert detail.log_view.query_text == "deploy"


async def test_a_burst_of_enter_then_slash_opens_the_job_and_searches_it(dash: Dashboard) -> None:
    await dash.select("cache-warmup")
    await dash.burst("\r/failed")
    detail = screen(dash)
    assert detail.job_id == job_id("cache-warmup")
    assert detail.search_bar.text == "failed"
    assert dash.actions_sent() == []
    await dash.until(lambda: detail.log_view.matches, "the match in the log, once it is read")


# -- back, and actions on this job -------------------------------------------------------------------


async def test_escape_returns_to_the_table_with_the_same_job_selected(dash: Dashboard) -> None:
    await open_detail(dash, "weekly-report")
    await dash.press("escape")
    assert not isinstance(dash.app.screen, JobDetailScreen)
    assert dash.app.table.selected_id == job_id("weekly-report")
    assert dash.app.focused is dash.app.table


async def test_an_action_key_acts_on_this_job_not_on_the_marked_ones(dash: Dashboard) -> None:
    await dash.press("space", "space")  # two jobs marked in the table
    assert len(dash.app.table.marked) == 2
    await open_detail(dash, "weekly-report")
    await dash.press("s")  # stop asks first (ui.confirm), naming this job only
    dialog = dash.app.screen
    assert isinstance(dialog, ConfirmScreen)
    assert dialog.job_names == ["weekly-report"]
    await dash.press("y")
    await dash.until(lambda: dash.actions_sent(), "the stop sent")
    assert [r.path for r in dash.actions_sent()] == [f"/job/{job_id('weekly-report')}/stop"]
    assert isinstance(dash.app.screen, JobDetailScreen)
    assert len(dash.app.table.marked) == 2  # the marks are the table's, untouched


async def test_marking_is_the_tables_the_key_says_so_and_marks_nothing(dash: Dashboard) -> None:
    await open_detail(dash, "weekly-report")
    await dash.press("space")
    assert dash.app.table.marked == set()
    assert any("Marks are set in the jobs table" in message for message in dash.notifications())


async def test_a_search_bar_closed_with_escape_leaves_the_detail_screen_open(dash: Dashboard) -> None:
    detail = await open_detail(dash, "nightly-backup")
    await dash.burst("/x\x1b")
    assert not detail.search_bar.is_open
    assert dash.app.screen is detail
    await dash.press("escape")
    assert not isinstance(dash.app.screen, JobDetailScreen)


# -- the network -------------------------------------------------------------------------------------


async def test_a_failed_read_of_the_runs_shows_in_the_screen_and_is_retried(dash: Dashboard) -> None:
    dash.sim.inject(method="GET", path="/deploymentHistoryV2$", status=500, times=None)
    await dash.select("nightly-backup")
    await dash.press("enter")
    detail = screen(dash)
    await dash.until(lambda: "could not read the job's runs" in dash.screen_text(), "the error on screen")
    assert "runs · ⚠ could not read them" in dash.screen_text()
    assert any("could not read its runs" in message for message in dash.notifications())
    assert "detail runs" in dash.log_text()  # and in the dashboard's log pane, once
    dash.sim.clear_faults()
    await dash.until(lambda: detail.runs and detail.log_settled, "the runs and the log on the next refresh")
    assert "runs · 3" in dash.screen_text()
    assert "Job nightly-backup completed successfully" in log_text(dash)
    assert "read again" in dash.log_text()


async def test_a_failed_read_of_the_log_shows_in_the_log_and_is_retried(dash: Dashboard) -> None:
    dash.sim.inject(method="GET", path="/logs$", status=503, times=None)
    await dash.select("cache-warmup")
    await dash.press("enter")
    detail = screen(dash)
    await dash.until(lambda: "could not read the log" in log_text(dash), "the error in the log")
    assert detail.runs  # the rest of the screen is there
    dash.sim.clear_faults()
    await dash.until(lambda: "✖ Job cache-warmup failed" in log_text(dash), "the log once Qovery answers")
    assert "could not read" not in log_text(dash)


async def test_a_slow_qovery_never_freezes_the_screen(dash: Dashboard) -> None:
    dash.sim.inject(method="GET", path="/logs$", status=None, delay_s=1.5, times=None)
    await dash.select("cache-warmup")
    await dash.press("enter")
    detail = screen(dash)
    await dash.until(lambda: detail.runs, "the runs")
    assert not detail.log_view.lines  # the log is still on its way...
    await dash.press("escape")  # ...and the keys work meanwhile
    assert not isinstance(dash.app.screen, JobDetailScreen)
    # The read in flight is shared (other faces may wait for it): let it end before the test does.
    await dash.runtime.reads.logs(job_id("cache-warmup"))


async def test_a_run_whose_log_is_empty_says_so(dash: Dashboard) -> None:
    dash.sim.inject(method="GET", path="/logs$", status=200, json=[], times=None)
    detail = await open_detail(dash, "cache-warmup")
    assert detail.log_view.lines == []
    assert "This run's log is empty." in log_text(dash)


async def test_outside_text_in_the_log_is_shown_as_it_is_never_markup_or_escapes(dash: Dashboard) -> None:
    job = job_id("cache-warmup")
    detail_runs = await dash.runtime.reads.runs(job)
    execution = detail_runs[0].execution_id
    line = {
        "type": "INFO",
        "timestamp": "2026-05-28T19:46:40.000000Z",
        "details": {
            "transmitter": {"type": "JOB", "id": job, "name": "cache-warmup"},
            "execution_id": execution,
            "stage": {"step": "Deploy"},
        },
        "message": {"safe_message": "[bold red]not markup[/] \x1b[2Jcleared? \x07"},
    }
    dash.sim.inject(method="GET", path="/logs$", status=200, json=[line], times=None)
    await open_detail(dash, "cache-warmup")
    text = log_text(dash)
    assert "[bold red]not markup[/] \\x1b[2Jcleared? \\x07" in text
    assert "\x1b" not in dash.screen_text()


async def test_read_only_the_screen_shows_everything_and_acts_on_nothing(tmp_path: Path) -> None:
    async with running_dashboard(tmp_path, size=(100, 40), read_only=True) as dash:
        detail = await open_detail(dash, "nightly-backup")
        assert not detail.query(ActionBar)
        assert "Job nightly-backup completed successfully" in log_text(dash)
        await dash.press("d", "s", "u", "c", "D", "f")
        assert dash.actions_sent() == []
        assert dash.app.screen is detail  # no dialog opened either
        assert not any("this job" in text for _, text in detail.help_rows())


async def test_the_approval_dialog_opens_over_the_screen_and_the_run_it_starts_is_followed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1000.0]
    monkeypatch.setattr(ApprovalScreen, "clock", staticmethod(lambda: now[0]))
    async with running_dashboard(tmp_path, size=(100, 40), with_servers=True, approve=["stop"]) as dash:
        assert dash.servers is not None
        await dash.servers.wait_started()
        dash.runtime.reads.cache.ttl_s = 0.02
        detail = await open_detail(dash, "db-migrate")
        job = job_id("db-migrate")
        async with httpx.AsyncClient(base_url=dash.servers.rest_url, timeout=60) as http:
            call = asyncio.ensure_future(http.post(f"/v1/job/{job}/stop"))
            await dash.until(
                lambda: (
                    isinstance(dash.app.screen, ApprovalScreen) and "left to answer" in dash.screen_text()
                ),
                "the approval dialog, over the detail screen",
            )
            assert "rest asks to stop db-migrate" in dash.screen_text()
            assert dash.app.screen_stack[-2] is detail
            now[0] += 1  # past the dialog's half second
            await dash.press("y")
            answer = await call
        assert answer.status_code == 202
        assert dash.app.screen is detail  # back on the detail screen, which follows the stop's run
        await dash.until(lambda: detail.runs and detail.runs[0].state == "STOP_QUEUED", "the stop's run")
        await dash.until(lambda: detail.shown == detail.runs[0].execution_id, "its log shown")  # type: ignore[index]
        dash.advance(4.0)
        await dash.until(lambda: detail.run_list.cell_text(0, "state") == "STOPPED", "the run settled")
        await dash.until(lambda: "Job db-migrate stopped" in log_text(dash), "the stop's last line")
        assert "Waiting for the pods of job db-migrate to end" in log_text(dash)


async def test_a_click_on_a_run_shows_its_log(dash: Dashboard) -> None:
    detail = await open_detail(dash, "nightly-backup")
    runs = detail.runs
    assert runs is not None
    await dash.pilot.click(RunList, offset=(4, 4))  # border, header, then the runs: the third, which failed
    await dash.until(
        lambda: detail.shown == runs[2].execution_id and detail.log_settled, "the clicked run's log"
    )
    assert detail.pinned == runs[2].execution_id
    assert f"log · run {runs[2].execution_id} · DEPLOYMENT_ERROR" in dash.screen_text()
    assert "✖ Job nightly-backup failed" in log_text(dash)
    await dash.press("up", "up")  # back to the newest: newer runs take its place again
    assert detail.shown == runs[0].execution_id and detail.pinned is None


async def test_a_failed_runs_state_is_shown_whole_at_80_columns(tmp_path: Path) -> None:
    # The run list's STATE column was one cell narrower than the jobs table's: a failed run read
    # "✗ DEPLOYMENT_ERR…" at every width, the one word that says what happened cut.
    async with running_dashboard(tmp_path, size=(80, 24)) as dash:
        await open_detail(dash, "cache-warmup")
        rows = [line for line in dash.screen_text().splitlines() if line.strip().startswith("✗")]
        assert rows and all("✗ DEPLOYMENT_ERROR " in line for line in rows), rows


async def test_q_on_the_detail_screen_goes_back_and_does_not_quit(dash: Dashboard) -> None:
    # `q` quits "from the jobs or the log"; on a job's page it ended the whole dashboard (and the servers).
    await open_detail(dash, "nightly-backup")
    await dash.press("q")
    assert not isinstance(dash.app.screen, JobDetailScreen)
    assert dash.app.is_running and dash.app.table.selected_id == job_id("nightly-backup")
    await dash.press("enter", "slash", "q")  # in the search, q is a letter
    assert screen(dash).search_bar.text == "q"


async def test_qovery_unreachable_reads_as_its_cause_on_an_80_column_detail_screen(tmp_path: Path) -> None:
    # Each one-line place (the status, the facts, the runs' title) showed the whole error, which starts with
    # the request (`GET /job/0d6e3c5a-…/deploymentHistoryV2: Qovery is…`): at 80 columns the cause was cut
    # off in all three. They say the cause now; the log below (it wraps) and the log pane keep the details.
    async with running_dashboard(tmp_path, size=(80, 24)) as dash:
        dash.runtime.reads.cache.ttl_s = 0.0
        await dash.select("nightly-backup")
        dash.sim.inject(method="GET", path="^/job/", reset=True, times=None)
        await dash.press("enter")
        await dash.until(
            lambda: "could not read the job's runs" in dash.screen_text(), "the errors on screen"
        )
        await dash.until(lambda: "⚠" in dash.screen_text().splitlines()[0], "the status error")
        text = dash.screen_text()
        assert "⚠ Qovery unr" in text.splitlines()[0], text  # the status line, after the status last read
        assert "⚠ could not read the job: Qovery unreachable" in text, text
        assert "runs · ⚠ could not read them: Qovery unreachable" in text, text
        assert "deploymentHistoryV2: Qovery is" in log_text(dash)  # the details, where there is room


async def test_enter_on_an_empty_search_closes_it_and_one_escape_goes_back(dash: Dashboard) -> None:
    # An empty search kept with Enter stayed open (its placeholder on screen), so Escape closed it first and a
    # second Escape was needed to leave; the jobs' filter closes on an empty Enter.
    detail = await open_detail(dash, "nightly-backup")
    await dash.press("slash", "enter")
    assert not detail.search_bar.is_open
    await dash.press("escape")
    assert not isinstance(dash.app.screen, JobDetailScreen)
