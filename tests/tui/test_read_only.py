"""The dashboard in --read-only: it shows and refreshes, and nothing on it leads to an action."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from textual.command import CommandInput, CommandPalette

from qjob_tui.actions import ACTIONS
from qjob_tui.tui.keys import APP_KEYS
from qjob_tui.tui.screens.help import HelpScreen
from qjob_tui.tui.widgets.action_bar import ActionBar

from .support import Dashboard, job_id, running_dashboard

ACTING_KEYS = [spec.key for spec in APP_KEYS if spec.acts]


@pytest.fixture
async def read_only(tmp_path: Path) -> AsyncIterator[Dashboard]:
    async with running_dashboard(tmp_path, read_only=True, with_servers=True) as running:
        yield running


async def test_the_header_says_read_only_and_the_action_bar_is_gone(read_only: Dashboard) -> None:
    header = read_only.screen_text().splitlines()[0]
    assert "READ-ONLY" in header
    assert not read_only.app.query(ActionBar)
    for action in ACTIONS:
        assert f"{action.title} {action.key}" not in read_only.screen_text()


async def test_no_action_key_does_anything(read_only: Dashboard) -> None:
    for key in ACTING_KEYS:
        await read_only.press(key)
        assert read_only.app.screen is read_only.app.screen_stack[0], key  # no dialog opened
    await read_only.burst("drsucfD ")
    assert read_only.actions_sent() == []
    assert not read_only.app.table.marked
    footer = read_only.screen_text().splitlines()[-1]
    assert "Force run" not in footer and "Deploy" not in footer and "Mark" not in footer
    assert "Filter" in footer  # what only shows stays


async def test_the_palette_offers_no_action(read_only: Dashboard) -> None:
    await read_only.press("ctrl+p")
    assert isinstance(read_only.app.screen, CommandPalette)
    read_only.app.screen.query_one(CommandInput).value = "nightly"
    await read_only.pilot.pause(0.3)
    text = read_only.screen_text()
    for action in ACTIONS:
        assert f"{action.title} nightly-backup" not in text
    assert read_only.app.job_commands() == []


async def test_help_lists_no_action_key(read_only: Dashboard) -> None:
    await read_only.press("question_mark")
    assert isinstance(read_only.app.screen, HelpScreen)
    text = read_only.screen_text()
    for spec in APP_KEYS:
        assert (spec.help[:40] in text) is not spec.acts, spec.id


async def test_the_states_still_refresh(read_only: Dashboard) -> None:
    assert read_only.row("cache-warmup")["state"] == "✗ DEPLOYMENT_ERROR"
    assert read_only.runtime.board.refreshed_at is not None


async def test_an_agents_refused_action_shows_in_the_log_pane(read_only: Dashboard) -> None:
    assert read_only.servers is not None
    async with httpx.AsyncClient(base_url=read_only.servers.rest_url) as client:
        response = await client.post(f"/v1/job/{job_id('nightly-backup')}/deploy")
    assert response.status_code == 403
    await read_only.until(lambda: "403 refused" in read_only.log_text(), "the refusal in the log pane")
    assert "runs read-only" in read_only.log_text()
    assert read_only.actions_sent() == []


async def test_an_action_key_says_the_dashboard_is_read_only(read_only: Dashboard) -> None:
    # The keys are gone from the footer, the action bar and the help, but a finger used to `d` pressed it and
    # nothing happened, with nothing to say why.
    await read_only.press("d")
    assert read_only.notifications()[-1].startswith("Deploy is off: this dashboard is read-only")
    await read_only.press("enter", "s")  # on a job's page too
    assert read_only.notifications()[-1].startswith("Stop is off")
    await read_only.press("slash")
    count = len(read_only.notifications())
    await read_only.press("d")  # a letter in the search: no word about it
    assert len(read_only.notifications()) == count
    assert read_only.actions_sent() == []
