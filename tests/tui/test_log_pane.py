"""The log pane: Qovery's JSON per outcome, errors in red, the last 5,000 entries, copy and zoom."""

from __future__ import annotations

import json

from qjob_tui.tui.app import LOG_LIMIT
from qjob_tui.tui.widgets.log_pane import LogEntry, LogPane
from tests.common import job_id

from .support import Dashboard


async def test_an_error_entry_is_red_and_a_success_is_not(dash: Dashboard) -> None:
    await dash.press("d", "d")
    await dash.until(lambda: "409" in dash.log_text(), "the conflict in the log")
    pane = dash.app.log_pane
    lines = dash.log_text().splitlines()
    conflict = next(i for i, line in enumerate(lines) if "  409" in line)
    assert any("red" in str(span.style) for span in pane.line_text(conflict).spans)
    assert any("red" in str(span.style) for span in pane.line_text(conflict + 1).spans)  # Qovery's JSON
    assert not any("red" in str(span.style) for span in pane.line_text(0).spans)


async def test_the_log_keeps_the_last_5000_entries(dash: Dashboard) -> None:
    pane = dash.app.query_one(LogPane)
    for n in range(LOG_LIMIT + 1):
        pane.add(LogEntry.note("test", f"entry {n}", ok=True))
    await dash.pilot.pause()
    assert len(pane.entries) == LOG_LIMIT == 5000
    text = pane.plain_text()
    assert "entry 0\n" not in text + "\n"
    assert "entry 1\n" in text and text.endswith(f"entry {LOG_LIMIT}")


async def test_y_copies_the_selected_entrys_json(dash: Dashboard) -> None:
    await dash.press("d")
    await dash.until(lambda: "202" in dash.log_text(), "the deploy's answer")
    await dash.select("db-migrate")
    await dash.press("r")
    await dash.until(lambda: "redeploy  db-migrate  202" in dash.log_text(), "the redeploy's answer")
    await dash.press("y")  # the newest entry
    assert json.loads(dash.app.clipboard)["id"] == job_id("db-migrate")
    await dash.press("tab", "up", "y")  # pick the previous entry in the log pane
    copied = json.loads(dash.app.clipboard)
    assert copied["id"] == job_id("nightly-backup")
    assert copied["state"] == "DEPLOYMENT_QUEUED"


async def test_z_zooms_the_log_pane_and_back(dash: Dashboard) -> None:
    await dash.press("z")
    assert dash.app.screen.maximized is dash.app.log_pane
    assert dash.app.log_pane.size.height > 30  # the whole screen but the header, the title and the footer
    await dash.press("z")
    assert dash.app.screen.maximized is None
    assert dash.app.focused is dash.app.table
