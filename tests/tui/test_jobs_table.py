"""The jobs table: what the dashboard shows of the jobs, and how it stays fresh."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from qjob_tui.simulator import ManualClock, Simulator, big_dataset
from qjob_tui.tui.widgets.job_table import JobTable
from tests.common import API_TOKEN, DEMO, DEMO_NAMES, job_id, quiet_simulator

from .support import Dashboard, running_dashboard


async def test_demo_jobs_appear_with_type_and_state(dash: Dashboard) -> None:
    assert dash.names() == DEMO_NAMES
    assert dash.row("nightly-backup")["type"] == "cron"
    assert dash.row("db-migrate")["type"] == "lifecycle"
    assert dash.row("cache-warmup")["state"] == "✗ DEPLOYMENT_ERROR"
    assert dash.row("weekly-report")["state"] == "STOPPED"
    assert dash.row("table-vacuum")["state"] == "READY"
    assert dash.row("nightly-backup")["deployed"] == "26h ago"


async def test_focus_starts_on_the_table_with_the_first_job_selected(dash: Dashboard) -> None:
    assert isinstance(dash.app.focused, JobTable)
    assert dash.app.table.selected_id == DEMO.jobs[0].id


async def test_states_are_coloured_by_category(dash: Dashboard) -> None:
    table = dash.app.table

    def style(name: str) -> str:
        return str(table.get_cell(job_id(name), "state").style)

    assert "green" in style("nightly-backup")
    assert "red" in style("cache-warmup")
    await dash.press("d")
    await dash.until(lambda: dash.row("nightly-backup")["state"] == "DEPLOYMENT_QUEUED", "the queued state")
    assert "yellow" in style("nightly-backup")
    dash.advance(2.5)
    await dash.refresh_now()
    await dash.until(lambda: dash.row("nightly-backup")["state"] == "DEPLOYING", "the running state")
    assert "blue" in style("nightly-backup")


async def test_state_refreshes_after_an_action_until_it_settles(dash: Dashboard) -> None:
    await dash.press("d")
    await dash.until(lambda: dash.row("nightly-backup")["state"] == "DEPLOYMENT_QUEUED", "the queued state")
    dash.advance(10)
    await dash.until(lambda: dash.row("nightly-backup")["state"] == "DEPLOYED", "the settled state")
    assert dash.row("nightly-backup")["last"] == "deploy 202 tui"


async def test_configured_jobs_and_every_job_of_configured_environments(tmp_path: Path) -> None:
    staging = DEMO.environment_named("staging").id
    jobs = [{"id": job_id("weekly-report")}, {"id": job_id("nightly-backup"), "name": "backup (prod)"}]
    async with running_dashboard(tmp_path, jobs=jobs, environments=[staging]) as dash:
        assert dash.names() == ["weekly-report", "backup (prod)", "cache-warmup", "seed-fixtures"]
        assert dash.row("backup (prod)")["state"] == "DEPLOYED"


async def test_a_state_qovery_added_later_is_shown_as_it_is(tmp_path: Path) -> None:
    sim = quiet_simulator()
    production = DEMO.environment_named("production").id
    sim.inject(
        path=f"/environment/{production}/job/status$",
        status=200,
        json={
            "results": [
                {"id": job_id("nightly-backup"), "state": "HIBERNATING"},
                {"id": job_id("db-migrate"), "state": "DEPLOYED"},
            ]
        },
        times=None,
    )
    async with running_dashboard(tmp_path, sim=sim, environments=[production]) as dash:
        await dash.until(lambda: dash.row("nightly-backup")["state"] == "HIBERNATING", "the new state")
        assert dash.app.is_running


async def test_a_refresh_error_shows_in_the_header_with_its_backoff(dash: Dashboard) -> None:
    dash.sim.inject(method="GET", path="/job/status$", status=503, times=None)
    await dash.until(lambda: "retry in" in dash.screen_text(), "the backoff in the header")
    header = dash.screen_text().splitlines()[0]
    assert "⚠ Qovery 503 · retry in" in header  # a headline fits the header; the full message is in the log
    assert "refresh" in dash.log_text() and "503" in dash.log_text()
    dash.sim.clear_faults()
    await dash.until(lambda: "Qovery answers again" in dash.log_text(), "the recovery")
    assert "⚠" not in dash.screen_text().splitlines()[0]


async def test_a_job_qovery_does_not_know_goes_to_the_log(tmp_path: Path) -> None:
    unknown = "00000000-0000-4000-8000-000000000000"
    async with running_dashboard(tmp_path, jobs=[{"id": unknown}], environments=[], wait=False) as dash:
        await dash.until(lambda: "discover" in dash.log_text(), "the discovery error in the log")
        assert "404" in dash.log_text()
        assert dash.names() == [unknown]
        assert dash.row(unknown)["type"] == "?"


async def test_hundreds_of_jobs_all_show_in_the_boards_order_with_their_states(tmp_path: Path) -> None:
    dataset = big_dataset(250, 5)
    sim = Simulator(token=API_TOKEN, clock=ManualClock(), dataset=dataset)
    jobs = [{"id": job.id, "name": job.name, "environment": job.environment_id} for job in dataset.jobs]
    async with running_dashboard(tmp_path, sim=sim, jobs=jobs, environments=[]) as dash:
        assert dash.names() == [job.name for job in dataset.jobs]
        assert dash.row("job-00049")["state"] == "✗ DEPLOYMENT_ERROR"
        assert "250 jobs" in dash.screen_text().splitlines()[0]
        await dash.press("end")
        assert dash.app.table.selected_id == dataset.jobs[-1].id


async def test_an_unexpected_error_in_the_poller_is_logged_and_polling_resumes(
    dash: Dashboard, monkeypatch: pytest.MonkeyPatch
) -> None:
    board = dash.runtime.board
    original = board.apply_statuses
    calls = 0

    def breaks_once(statuses: Any) -> set[str]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("a status Qovery never sent before")
        return original(statuses)

    monkeypatch.setattr(board, "apply_statuses", breaks_once)
    await dash.press("d")  # the fast refresh after an action runs into the error
    await dash.until(lambda: "a status Qovery never sent before" in dash.log_text(), "the error in the log")
    dash.advance(10)
    await dash.until(lambda: dash.row("nightly-backup")["state"] == "DEPLOYED", "polling again")
    assert dash.app.is_running
