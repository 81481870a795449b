"""Keys that arrive in one burst (a paste, SSH batching, a fast typist) go where the same keys typed slowly go.

A burst is queued on the app all at once, as the terminal's parser queues the keys of one read; Pilot's
`press` would wait for the app between keys and hide the bug. `tests/tui/test_terminal.py` sends the same
bursts through a real terminal (tmux, one write).
"""

from __future__ import annotations

import json

from textual import events
from textual.widgets import Input

from qjob_tui.tui.screens.confirm import ConfirmScreen
from qjob_tui.tui.screens.deploy_options import DeployOptionsScreen
from qjob_tui.tui.screens.picker import PickerScreen
from qjob_tui.tui.widgets.filter_bar import FilterBar
from tests.common import job_id

from .support import Dashboard


def field(dash: Dashboard, selector: str) -> str:
    return dash.app.screen.query_one(selector, Input).value


async def test_keys_right_after_slash_go_to_the_filter_and_run_nothing(dash: Dashboard) -> None:
    await dash.burst("/dev")
    assert dash.actions_sent() == []
    assert dash.app.query_one(FilterBar).value == "dev"
    assert dash.app.focused is dash.app.query_one(FilterBar)
    assert "filter: dev" in dash.screen_text().splitlines()[0]
    assert dash.names() == []  # no job matches "dev"


async def test_a_filter_burst_that_names_action_keys_neither_deploys_nor_browses(dash: Dashboard) -> None:
    await dash.burst("/db")
    await dash.burst("ucsrD")  # every action key, still typed into the open filter
    assert dash.actions_sent() == []
    assert dash.app.query_one(FilterBar).value == "dbucsrD"
    assert not isinstance(dash.app.screen, PickerScreen)


async def test_a_burst_through_the_filter_and_back_behaves_as_typed_slowly(dash: Dashboard) -> None:
    await dash.burst("/cache\r")  # Enter keeps the filter and hands the keys back to the table
    assert dash.names() == ["cache-warmup"]
    assert dash.app.focused is dash.app.table
    await dash.burst("/\x1b")  # Escape clears it
    assert len(dash.names()) == 7
    assert dash.actions_sent() == []


async def test_deploy_options_typed_in_one_burst_fill_each_field_and_send_nothing(dash: Dashboard) -> None:
    await dash.burst("Dv2.1\tabc123")
    assert isinstance(dash.app.screen, DeployOptionsScreen)
    assert (field(dash, "#image-tag"), field(dash, "#commit-id")) == ("v2.1", "abc123")
    await dash.burst("\r")  # both fields: refused in the dialog, as when typed slowly
    assert "not both" in dash.screen_text()
    assert dash.actions_sent() == []


async def test_deploy_options_and_enter_in_one_burst_deploy_exactly_what_was_typed(dash: Dashboard) -> None:
    await dash.burst("Dv2.1\r")
    await dash.until(lambda: dash.actions_sent(), "the deploy upstream")
    [sent] = dash.actions_sent()
    assert sent.path == f"/job/{job_id('nightly-backup')}/deploy"
    assert json.loads(sent.body) == {"image_tag": "v2.1"}


async def test_a_paste_right_after_slash_lands_in_the_filter(dash: Dashboard) -> None:
    key = events.Key("slash", "/")
    key.set_sender(dash.app)
    done = dash.app.keys_handled + 2
    dash.app.post_message(key)
    dash.app.post_message(events.Paste("weekly"))
    await dash.until(lambda: dash.app.keys_handled >= done, "the paste handled")
    await dash.pilot.pause()
    assert dash.app.query_one(FilterBar).value == "weekly"
    assert dash.names() == ["weekly-report"]


async def test_a_confirmation_typed_in_the_same_burst_still_asks_first(dash: Dashboard) -> None:
    await dash.burst("s")
    assert isinstance(dash.app.screen, ConfirmScreen)
    await dash.burst("n")
    await dash.burst("sn")  # stop, then no: the dialog saw the n
    assert not isinstance(dash.app.screen, ConfirmScreen)
    assert dash.actions_sent() == []


async def test_keys_right_after_b_go_to_the_pickers_filter(dash: Dashboard) -> None:
    await dash.burst("bstore")
    assert isinstance(dash.app.screen, PickerScreen)
    await dash.until(lambda: dash.app.screen.filter_text == "store", "the picker's filter")
    assert dash.actions_sent() == []
