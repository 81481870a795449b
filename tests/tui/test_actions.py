"""The actions on keys and buttons: what Qovery receives, and what the log pane shows (every action on every
face: test_every_action.py)."""

from __future__ import annotations

from pathlib import Path

from qjob_tui.tui.screens.confirm import ConfirmScreen
from tests.common import job_id, quiet_simulator

from .support import Dashboard, running_dashboard


async def test_d_deploys_the_selected_job_and_the_log_shows_202(dash: Dashboard) -> None:
    await dash.press("d")
    await dash.until(lambda: "202" in dash.log_text(), "the answer in the log")
    [sent] = dash.actions_sent()
    assert sent.path == f"/job/{job_id('nightly-backup')}/deploy"
    header = dash.log_text().splitlines()[0]
    assert header.split()[1:] == ["tui", "deploy", "nightly-backup", "202"]
    assert '"state": "DEPLOYMENT_QUEUED"' in dash.log_text()  # Qovery's JSON, pretty
    assert dash.row("nightly-backup")["last"] == "deploy 202 tui"  # what, Qovery's answer, which face
    assert "nightly-backup: 202" in dash.notifications()


async def test_the_action_bar_buttons_run_the_same_actions(dash: Dashboard) -> None:
    await dash.select("db-migrate")
    assert await dash.pilot.click("#action-redeploy")
    await dash.until(lambda: dash.actions_sent(), "the request upstream")
    assert [r.path for r in dash.actions_sent()] == [f"/job/{job_id('db-migrate')}/redeploy"]
    assert dash.app.table.selected_id == job_id("db-migrate")  # the table kept the selection


async def test_uninstall_asks_first_escape_cancels_and_y_confirms(dash: Dashboard) -> None:
    await dash.select("weekly-report")
    await dash.press("u")
    assert isinstance(dash.app.screen, ConfirmScreen)
    assert "Uninstall weekly-report?" in dash.screen_text()
    assert "deletes the job's compute and data resources" in dash.screen_text()
    await dash.press("escape")
    assert not isinstance(dash.app.screen, ConfirmScreen)
    await dash.pilot.pause(0.2)
    assert dash.actions_sent() == []  # nothing reached Qovery

    await dash.press("u")
    await dash.press("y")
    await dash.until(lambda: dash.actions_sent(), "the uninstall upstream")
    assert [r.path for r in dash.actions_sent()] == [f"/job/{job_id('weekly-report')}/uninstall"]
    await dash.until(lambda: "uninstall  weekly-report  202" in dash.log_text(), "the answer in the log")


async def test_stop_asks_first_n_cancels_and_enter_confirms(dash: Dashboard) -> None:
    await dash.press("s")
    assert isinstance(dash.app.screen, ConfirmScreen)
    await dash.press("n")
    await dash.pilot.pause(0.2)
    assert dash.actions_sent() == []
    await dash.press("s", "enter")
    await dash.until(lambda: dash.actions_sent(), "the stop upstream")
    assert [r.path for r in dash.actions_sent()] == [f"/job/{job_id('nightly-backup')}/stop"]


async def test_ui_confirm_decides_which_actions_ask(tmp_path: Path) -> None:
    async with running_dashboard(tmp_path, confirm=["deploy"]) as dash:
        await dash.press("d")
        assert isinstance(dash.app.screen, ConfirmScreen)
        await dash.press("escape")
        await dash.press("s")  # not in the list any more: runs at once
        await dash.until(lambda: dash.actions_sent(), "the stop upstream")
        assert [r.path.rsplit("/", 1)[1] for r in dash.actions_sent()] == ["stop"]


async def test_a_409_shows_in_the_log_and_the_app_keeps_running(dash: Dashboard) -> None:
    await dash.press("d")
    await dash.until(lambda: "202" in dash.log_text(), "the first deploy accepted")
    await dash.press("d")  # the first one is still queued: Qovery answers 409
    await dash.until(lambda: "409" in dash.log_text(), "the conflict in the log")
    log = dash.log_text()
    assert "deploy  nightly-backup  409" in log
    assert "already in progress" in log  # Qovery's message, from its JSON
    # The accepted deploy stays; the failed second one is marked beside it (cut to its status at 120 cells).
    assert dash.row("nightly-backup")["last"] == "deploy 202 tui ✗409"
    assert any("409" in n for n in dash.notifications())
    assert dash.app.is_running
    await dash.select("db-migrate")
    await dash.press("r")  # and it still acts
    await dash.until(lambda: "redeploy  db-migrate  202" in dash.log_text(), "the next action")


async def test_a_timeout_shows_in_the_log_and_the_app_keeps_running(tmp_path: Path) -> None:
    sim = quiet_simulator()
    async with running_dashboard(tmp_path, sim=sim, timeout_s=0.3) as dash:
        sim.inject(method="POST", path="/deploy$", delay_s=3.0)
        await dash.press("d")
        await dash.until(lambda: "timeout" in dash.log_text(), "the timeout in the log")
        assert "deploy  nightly-backup  timeout" in dash.log_text()
        assert dash.row("nightly-backup")["last"] == "deploy ✗ timeout tui"
        assert dash.app.is_running
        await dash.press("r")
        await dash.until(lambda: "redeploy  nightly-backup  202" in dash.log_text(), "the next action")


async def test_an_unreachable_qovery_shows_in_the_log(tmp_path: Path) -> None:
    sim = quiet_simulator()
    async with running_dashboard(tmp_path, sim=sim) as dash:
        sim.inject(method="POST", path="/deploy$", reset=True)
        await dash.press("d")
        await dash.until(
            lambda: "deploy  nightly-backup  unreachable" in dash.log_text(), "the error in the log"
        )
        assert dash.app.is_running


async def test_an_uninstall_with_nothing_deployed_shows_204_and_no_content(tmp_path: Path) -> None:
    async with running_dashboard(tmp_path, confirm=[]) as dash:
        await dash.select("table-vacuum")  # never deployed
        await dash.press("u")
        await dash.until(lambda: "uninstall  table-vacuum  204" in dash.log_text(), "the 204 in the log")
        assert "(no content)" in dash.log_text()
        assert dash.row("table-vacuum")["last"] == "uninstall 204 tui"
