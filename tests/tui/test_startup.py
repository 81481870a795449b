"""The dashboard's first frame waits for no module it does not show: the screens, the servers, the simulator and
the picker load when first used (bench/dashboard.py measures what the start-up costs)."""

from __future__ import annotations

import json
import subprocess
import sys

# What the dashboard imports to start (the CLI's entry, the runtime, the app), as bench/dashboard.py's child does.
STARTUP = "import qjob_tui.cli, qjob_tui.runtime, qjob_tui.tui.app"

NOT_AT_STARTUP = (
    "qjob_tui.tui.screens.job_detail",  # Enter
    "qjob_tui.tui.screens.help",  # ?
    "qjob_tui.tui.screens.confirm",  # an action in ui.confirm, a bulk action
    "qjob_tui.tui.screens.deploy_options",  # D
    "qjob_tui.tui.screens.force_run",  # f
    "qjob_tui.tui.screens.picker",  # b (browse)
    "qjob_tui.server",  # --server
    "qjob_tui.simulator",  # --demo
    "qjob_tui.oneshot.run",  # a one-shot command
    "uvicorn",
    "starlette",
    "mcp",
)


def test_the_dashboard_starts_without_what_it_shows_later() -> None:
    code = f"{STARTUP}; import sys, json; print(json.dumps(sorted(sys.modules)))"
    loaded = json.loads(
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    )
    assert [name for name in NOT_AT_STARTUP if name in loaded] == []
    assert "qjob_tui.tui.app" in loaded  # the start-up did import what it should
