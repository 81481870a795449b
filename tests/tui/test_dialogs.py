"""The dialogs: force run per job type, deploy with options, help, the command palette, remapped keys."""

from __future__ import annotations

import re
from pathlib import Path

from textual.command import CommandInput, CommandPalette
from textual.widgets import Button, Input

from qjob_tui.tui.keys import APP_KEYS
from qjob_tui.tui.screens.confirm import ConfirmScreen
from qjob_tui.tui.screens.deploy_options import DeployOptionsScreen
from qjob_tui.tui.screens.force_run import ForceRunScreen
from qjob_tui.tui.screens.help import HelpScreen
from qjob_tui.tui.widgets.filter_bar import FilterBar
from tests.common import job_id

from .support import Dashboard, running_dashboard


def event_buttons(dash: Dashboard) -> list[str]:
    return [
        str(b.id).removeprefix("event-")
        for b in dash.app.screen.query(Button)
        if str(b.id).startswith("event-")
    ]


async def test_force_run_of_a_cron_job_offers_cron_only(dash: Dashboard) -> None:
    await dash.press("f")
    assert isinstance(dash.app.screen, ForceRunScreen)
    assert "Force run nightly-backup (cron job)" in dash.screen_text()
    assert event_buttons(dash) == ["CRON"]
    await dash.press("1")
    await dash.until(lambda: dash.actions_sent(), "the forced run upstream")
    [sent] = dash.actions_sent()
    assert (sent.path, sent.query) == (f"/job/{job_id('nightly-backup')}/deploy", {"forceEvent": "CRON"})
    await dash.until(
        lambda: "deploy forceEvent=CRON  nightly-backup  202" in dash.log_text(), "the log entry"
    )


async def test_force_run_of_a_lifecycle_job_offers_its_hooks(dash: Dashboard) -> None:
    await dash.select("warehouse-schema")
    await dash.press("f")
    assert "Force run warehouse-schema (lifecycle job)" in dash.screen_text()
    assert event_buttons(dash) == ["START", "STOP", "DELETE"]
    await dash.press("escape")
    assert not isinstance(dash.app.screen, ForceRunScreen)

    await dash.select("seed-fixtures")
    await dash.press("f")
    assert event_buttons(dash) == ["START", "DELETE"]  # only the hooks the job defines
    await dash.press("right", "enter")  # the focused button: DELETE
    assert isinstance(dash.app.screen, ConfirmScreen)  # the on-delete hook asks first, like uninstall
    assert "on-delete hook" in dash.screen_text()
    assert dash.actions_sent() == []
    await dash.press("y")
    await dash.until(lambda: dash.actions_sent(), "the forced run upstream")
    [sent] = dash.actions_sent()
    assert (sent.path, sent.query) == (f"/job/{job_id('seed-fixtures')}/deploy", {"forceEvent": "DELETE"})


async def test_deploy_with_options_refuses_both_fields_then_sends_one(dash: Dashboard) -> None:
    await dash.press("D")
    assert isinstance(dash.app.screen, DeployOptionsScreen)
    screen = dash.app.screen
    screen.query_one("#image-tag", Input).value = "2.5.0"
    screen.query_one("#commit-id", Input).value = "9d1e4b7a2c6f08e35b1a7d9c4e2f60b8a3c5d712"
    await dash.press("enter")
    assert "give image_tag or git_commit_id, not both" in dash.screen_text()
    assert isinstance(dash.app.screen, DeployOptionsScreen)  # still open, nothing sent
    await dash.pilot.pause(0.2)
    assert dash.actions_sent() == []

    screen.query_one("#commit-id", Input).value = ""
    await dash.press("enter")
    await dash.until(lambda: dash.actions_sent(), "the deploy upstream")
    [sent] = dash.actions_sent()
    assert sent.path == f"/job/{job_id('nightly-backup')}/deploy"
    assert sent.json() == {"image_tag": "2.5.0"}
    await dash.until(
        lambda: 'deploy {"image_tag":"2.5.0"}  nightly-backup  202' in dash.log_text(), "the log"
    )


async def test_deploy_with_options_refuses_empty_fields(dash: Dashboard) -> None:
    await dash.press("D", "enter")
    assert "give an image tag or a git commit id" in dash.screen_text()
    await dash.press("escape")
    assert not isinstance(dash.app.screen, DeployOptionsScreen)
    assert dash.actions_sent() == []


async def test_help_lists_every_key(dash: Dashboard) -> None:
    await dash.press("question_mark")
    assert isinstance(dash.app.screen, HelpScreen)
    text = dash.screen_text()
    for spec in APP_KEYS:
        assert spec.help[:40] in text, spec.id
    for key in ("^p", "d ", "u ", "D ", "space", "/ ", "? "):
        assert key in text
    await dash.press("escape")
    assert not isinstance(dash.app.screen, HelpScreen)


async def test_the_palette_offers_every_action_for_the_selected_job(dash: Dashboard) -> None:
    await dash.select("warehouse-schema")
    await dash.press("ctrl+p")
    assert isinstance(dash.app.screen, CommandPalette)
    dash.app.screen.query_one(CommandInput).value = "warehouse"
    await dash.until(lambda: "Uninstall warehouse-schema" in dash.screen_text(), "the job's commands")
    text = dash.screen_text()
    for title in ("Deploy", "Redeploy", "Stop", "Clean failed", "Force run START", "Force run DELETE"):
        assert f"{title} warehouse-schema" in text
    dash.app.screen.query_one(CommandInput).value = "redeploy warehouse"
    await dash.until(lambda: "Stop warehouse-schema" not in dash.screen_text(), "the search narrowing")
    await dash.press("enter")
    await dash.until(lambda: dash.actions_sent(), "the redeploy upstream")
    assert [r.path for r in dash.actions_sent()] == [f"/job/{job_id('warehouse-schema')}/redeploy"]


async def test_a_remapped_key_runs_its_action_and_the_old_one_does_not(tmp_path: Path) -> None:
    async with running_dashboard(tmp_path, keys={"deploy": "x", "help": "h"}) as dash:
        assert "Deploy x" in dash.screen_text()  # the button shows the new key
        await dash.press("d")
        await dash.pilot.pause(0.2)
        assert dash.actions_sent() == []
        await dash.press("x")
        await dash.until(lambda: dash.actions_sent(), "the deploy upstream")
        assert [r.path.rsplit("/", 1)[1] for r in dash.actions_sent()] == ["deploy"]
        await dash.press("h")
        assert isinstance(dash.app.screen, HelpScreen)
        assert re.search(r"x +Deploy job", dash.screen_text())


async def test_an_unknown_binding_id_in_ui_keys_is_reported(tmp_path: Path) -> None:
    async with running_dashboard(tmp_path, keys={"dploy": "x"}) as dash:
        assert "ui.keys: 'dploy' is not a binding id" in dash.log_text()
        assert dash.app.is_running


async def test_two_actions_on_one_key_are_reported_and_the_remap_is_not_shown_as_working(
    tmp_path: Path,
) -> None:
    async with running_dashboard(tmp_path, keys={"deploy": "r", "help": "h"}) as dash:
        assert "ui.keys: deploy and redeploy share the key 'r'" in dash.log_text()
        assert "kept: deploy on 'd'" in dash.log_text()
        text = dash.screen_text()
        assert "Deploy d" in text and "Redeploy r" in text  # the bar shows the keys that work
        await dash.press("h")  # the good remap of the same config applies
        assert re.search(r"\bd +Deploy job", dash.screen_text())
        assert not re.search(r"\br +Deploy job", dash.screen_text())
        await dash.press("escape", "r")
        await dash.until(lambda: dash.actions_sent(), "the redeploy upstream")
        assert [r.path.rsplit("/", 1)[1] for r in dash.actions_sent()] == ["redeploy"]


async def test_a_remap_onto_navigation_is_reported_and_the_action_keeps_its_key(tmp_path: Path) -> None:
    async with running_dashboard(tmp_path, keys={"stop": "down"}) as dash:
        assert "ui.keys: stop: 'down' is taken by navigation" in dash.log_text()
        assert "Stop s" in dash.screen_text()
        await dash.press("down")
        assert dash.app.table.cursor_row == 1  # down still moves
        assert not isinstance(dash.app.screen, ConfirmScreen)
        await dash.press("s")
        assert isinstance(dash.app.screen, ConfirmScreen)  # stop asks first, on its own key


async def test_q_quits_but_a_q_typed_into_the_filter_stays_a_q(dash: Dashboard) -> None:
    await dash.burst("/q")
    assert dash.app.query_one(FilterBar).value == "q"
    assert dash.app.is_running
    await dash.burst("\x1b")
    await dash.press("q")
    await dash.until(lambda: not dash.app.is_running, "the app to quit")


async def test_q_is_remappable(tmp_path: Path) -> None:
    async with running_dashboard(tmp_path, keys={"exit": "Q"}) as dash:
        await dash.press("q")
        assert dash.app.is_running
        await dash.press("Q")
        await dash.until(lambda: not dash.app.is_running, "the app to quit")


async def test_an_empty_config_says_how_to_add_jobs(tmp_path: Path) -> None:
    async with running_dashboard(tmp_path, environments=[], wait=False) as dash:
        await dash.pilot.pause()
        assert "no jobs to show" in dash.log_text()
        await dash.press("d")
        assert "No job selected" in dash.notifications()
        assert dash.actions_sent() == []


async def test_help_at_80x24_scrolls_to_its_last_key(tmp_path: Path) -> None:
    # At 80x24 the help is taller than the terminal: its rows were cut at the dialog's bottom border and no
    # key scrolled them, so the last keys (tab, the dialogs' y/n) could not be read at all.
    async with running_dashboard(tmp_path, size=(80, 24)) as dash:
        await dash.press("question_mark")
        last = "y approves, n or escape refuses"
        assert last not in dash.screen_text()
        await dash.press("end")
        assert last in dash.screen_text()
        await dash.press("home")
        assert "Deploy job" in dash.screen_text()


async def test_a_confirmation_reads_as_a_sentence_whatever_the_options(dash: Dashboard) -> None:
    # The question was the action's words, then the jobs: "Deploy image tag 2.5.0 2 marked jobs?" and
    # "Force run DELETE (deploy) seed-fixtures?".
    await dash.select("seed-fixtures")
    await dash.press("f", "right", "enter")  # DELETE, the on-delete hook: it asks
    assert isinstance(dash.app.screen, ConfirmScreen)
    assert dash.app.screen.question == "Force run DELETE on seed-fixtures?"
    await dash.press("n")

    await dash.select("nightly-backup")
    await dash.press("space", "space")  # space marks and moves down: two jobs marked
    await dash.press("D")
    dash.app.screen.query_one("#image-tag", Input).value = "2.5.0"
    await dash.press("enter")
    assert isinstance(dash.app.screen, ConfirmScreen)
    assert dash.app.screen.question == "Deploy 2 marked jobs with image tag 2.5.0?"
    await dash.press("n")

    await dash.press("D")
    dash.app.screen.query_one("#commit-id", Input).value = "3f9c2a17e5b04d1c"
    await dash.press("enter")
    assert isinstance(dash.app.screen, ConfirmScreen)
    assert dash.app.screen.question == "Deploy 2 marked jobs with commit 3f9c2a17e5b0?"  # cut to twelve
    await dash.press("n")
    assert dash.actions_sent() == []


async def test_the_keys_line_beneath_a_dialog_is_not_shown(dash: Dashboard) -> None:
    # Under a dialog the main screen's footer still read `f Force run  D Deploy…  / Filter  ? Help`, keys the
    # dialog does not let through: pressed, they did nothing. The dialog says its own keys.
    def footer() -> str:
        return dash.screen_text().splitlines()[-1]

    assert "Force run" in footer()
    await dash.press("u")
    assert isinstance(dash.app.screen, ConfirmScreen)
    assert "Force run" not in footer() and "Help" not in footer()
    await dash.press("n")
    assert "Force run" in footer()
    await dash.press("enter")  # the detail screen's own footer, likewise under a dialog
    assert "Back" in footer()
    await dash.press("f")
    assert "Back" not in footer() and "Force run" not in footer()
    await dash.press("escape")
    assert "Back" in footer()


async def test_the_palette_does_not_open_over_a_dialog(dash: Dashboard) -> None:
    # ctrl+p opened the palette over a confirmation: from there a deploy could be sent while "Uninstall
    # nightly-backup?" still waited beneath. A dialog is answered first.
    await dash.press("u")
    assert isinstance(dash.app.screen, ConfirmScreen)
    await dash.press("ctrl+p")
    assert isinstance(dash.app.screen, ConfirmScreen)
    await dash.press("n", "ctrl+p")
    assert isinstance(dash.app.screen, CommandPalette)


async def test_the_palettes_keys_command_is_the_dashboards_help(dash: Dashboard) -> None:
    # The palette's "Keys" opened Textual's own keys panel beside the table, a second list in other words than
    # `?`'s, which stayed open until "Keys" was chosen again; its "Quit" said "as soon as possible", when the
    # dashboard first waits for the actions in flight.
    await dash.press("ctrl+p")
    dash.app.screen.query_one(CommandInput).value = "keys"
    await dash.until(lambda: "Every key" in dash.screen_text(), "the Keys command")
    await dash.press("enter")
    await dash.until(lambda: isinstance(dash.app.screen, HelpScreen), "the help")
    await dash.press("escape")
    await dash.press("ctrl+p")
    dash.app.screen.query_one(CommandInput).value = "quit"
    await dash.until(lambda: "in flight" in dash.screen_text(), "the Quit command")
    assert "as soon as possible" not in dash.screen_text()
