"""Marking jobs for bulk actions, and filtering the table."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from qjob_tui.simulator import ManualClock, Simulator, big_dataset
from qjob_tui.tui.app import BULK_CONCURRENCY
from qjob_tui.tui.screens.confirm import ConfirmScreen
from qjob_tui.tui.screens.force_run import ForceRunScreen
from tests.common import API_TOKEN, DEMO_NAMES, job_id

from .support import Dashboard, running_dashboard


async def mark(dash: Dashboard, *names: str) -> None:
    for name in names:
        await dash.select(name)
        await dash.press("space")


async def test_space_marks_jobs_and_an_action_asks_naming_every_marked_job(dash: Dashboard) -> None:
    await mark(dash, "nightly-backup", "cache-warmup", "weekly-report")
    assert "3 marked" in dash.screen_text().splitlines()[0]
    assert dash.row("cache-warmup")["name"].startswith("●")
    await dash.press("r")  # redeploy asks: it is a bulk action
    assert isinstance(dash.app.screen, ConfirmScreen)
    text = dash.screen_text()
    assert "Redeploy 3 marked jobs?" in text
    for name in ("nightly-backup", "cache-warmup", "weekly-report"):
        assert f"• {name}" in text
    await dash.press("y")
    await dash.until(lambda: len(dash.actions_sent()) == 3, "three redeploys upstream")
    assert sorted(r.path for r in dash.actions_sent()) == sorted(
        f"/job/{job_id(name)}/redeploy" for name in ("nightly-backup", "cache-warmup", "weekly-report")
    )
    await dash.until(lambda: dash.log_text().count("redeploy  ") == 3, "one log entry per job")
    await dash.until(lambda: any("3 of 3 accepted" in n for n in dash.notifications()), "the summary")
    assert "marked" not in dash.screen_text().splitlines()[0]  # the marks are spent


async def test_a_cancelled_bulk_action_sends_nothing_and_keeps_the_marks(dash: Dashboard) -> None:
    await mark(dash, "nightly-backup", "db-migrate")
    await dash.press("d", "n")
    await dash.pilot.pause(0.2)
    assert dash.actions_sent() == []
    assert "2 marked" in dash.screen_text().splitlines()[0]
    await mark(dash, "db-migrate")  # space again unmarks
    assert "1 marked" in dash.screen_text().splitlines()[0]


async def test_bulk_failures_are_counted_in_the_summary(dash: Dashboard) -> None:
    dash.sim.inject(method="POST", path=f"/job/{job_id('db-migrate')}/stop$", status=409)
    await mark(dash, "nightly-backup", "db-migrate")
    await dash.press("s", "y")
    await dash.until(
        lambda: any("1 of 2 accepted, 1 failed" in n for n in dash.notifications()), "the summary"
    )
    assert "stop  db-migrate  409" in dash.log_text()
    assert "stop  nightly-backup  202" in dash.log_text()


async def test_bulk_force_run_offers_the_events_the_marked_jobs_share(dash: Dashboard) -> None:
    await mark(dash, "seed-fixtures", "warehouse-schema")  # START+DELETE and START+STOP+DELETE
    await dash.press("f")
    assert isinstance(dash.app.screen, ForceRunScreen)
    assert [e.value for e in dash.app.screen.events] == ["START", "DELETE"]
    await dash.press("2", "y")  # DELETE, then the bulk confirmation
    await dash.until(lambda: len(dash.actions_sent()) == 2, "two forced runs")
    assert {r.query.get("forceEvent") for r in dash.actions_sent()} == {"DELETE"}


async def test_a_bulk_action_runs_at_most_eight_at_once(tmp_path: Path) -> None:
    dataset = big_dataset(20, 2)
    sim = Simulator(token=API_TOKEN, clock=ManualClock(), dataset=dataset)
    envs = [env.id for env in dataset.environments]
    async with running_dashboard(tmp_path, sim=sim, environments=envs, size=(120, 50)) as dash:
        client = dash.runtime.client
        in_flight, most = 0, 0
        original = client.run_action

        async def counted(*args: Any, **kwargs: Any) -> Any:
            nonlocal in_flight, most
            in_flight += 1
            most = max(most, in_flight)
            try:
                await asyncio.sleep(0.05)  # long enough for every allowed request to be in flight together
                return await original(*args, **kwargs)
            finally:
                in_flight -= 1

        client.run_action = counted  # type: ignore[method-assign]
        for _ in range(20):
            await dash.press("space")
        assert "20 marked" in dash.screen_text().splitlines()[0]
        await dash.press("d", "y")
        await dash.until(lambda: len(dash.actions_sent()) == 20, "twenty deploys upstream")
        assert most == BULK_CONCURRENCY
        await dash.until(lambda: dash.log_text().count("deploy  job-") == 20, "one log entry per job")


async def test_slash_filters_by_name_id_or_state_and_escape_clears(dash: Dashboard) -> None:
    await dash.press("slash")
    await dash.press(*"backup")
    assert dash.names() == ["nightly-backup"]
    await dash.press("escape")
    assert dash.names() == DEMO_NAMES

    await dash.press("slash", *"error")  # a state, in any case
    assert dash.names() == ["cache-warmup"]
    await dash.press("enter")  # keeps the filter, back to the table
    assert dash.app.focused is dash.app.table
    assert "1/7 jobs · filter: error" in dash.screen_text().splitlines()[0]
    await dash.press("d")  # acts on what is shown
    await dash.until(lambda: dash.actions_sent(), "the deploy upstream")
    assert dash.actions_sent()[0].path == f"/job/{job_id('cache-warmup')}/deploy"

    await dash.press("slash")
    dash.app.query_one("#filter").value = job_id("table-vacuum")[:13]  # type: ignore[attr-defined]
    await dash.pilot.pause()
    assert dash.names() == ["table-vacuum"]


async def test_escape_on_the_table_clears_a_kept_filter(dash: Dashboard) -> None:
    # Enter keeps a filter and goes back to the table; Escape there did nothing (k9s clears its filter on
    # Escape, and the help says "Esc clears"), so the way out was `/` then Escape.
    await dash.press("slash")
    await dash.burst("production\r")
    assert len(dash.names()) < 7 and dash.app.focused is dash.app.table
    await dash.press("escape")
    assert len(dash.names()) == 7
    assert "filter:" not in dash.screen_text().splitlines()[0]
    assert dash.app.focused is dash.app.table
    await dash.press("escape")  # nothing to clear: nothing happens
    assert len(dash.names()) == 7 and dash.app.is_running


async def test_the_filters_placeholder_names_every_field_it_matches(dash: Dashboard) -> None:
    # It said "name, id or state" while the filter matches the project and the environment too (the help says so).
    await dash.press("slash")
    assert "filter by name, id, state, project or env" in dash.screen_text()
    await dash.burst("storefront")
    assert len(dash.names()) == 4  # the project
