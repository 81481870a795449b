"""The dashboard's first frame waits for no module it does not show: the screens, the servers, the simulator,
the picker and the Qovery client's HTTP stack load when first used (bench/dashboard.py measures what the
start-up costs)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

from qjob_tui.simulator import serve_simulator
from tests.common import LISTED_JOBS, quiet_simulator, user_env, write_config

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
    "httpx",  # the Qovery client's HTTP stack (about 110 ms of CPU): with its first request, after the first frame
    "aiohttp",
)


def test_the_dashboard_starts_without_what_it_shows_later() -> None:
    code = f"{STARTUP}; import sys, json; print(json.dumps(sorted(sys.modules)))"
    loaded = json.loads(
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    )
    assert [name for name in NOT_AT_STARTUP if name in loaded] == []
    assert "qjob_tui.tui.app" in loaded  # the start-up did import what it should


# The dashboard as the CLI starts it (collections held, then the settings, the runtime, the app), in a process
# of its own: what it has imported and whether the collector runs, on mount and when its first frame is drawn
# (on_mount's call_after_refresh: after the first refresh), then once every job shows Qovery's state.
FIRST_FRAME = """
import asyncio, gc, json, sys
from qjob_tui.config import load_settings
from qjob_tui.runtime import open_runtime
from qjob_tui.startup import hold_collections
from qjob_tui.tui.app import QJobApp

def http_stack():
    return sorted(name for name in ("httpx", "aiohttp") if name in sys.modules)

class Watched(QJobApp):
    seen = {}

    def on_mount(self):
        self.seen["collecting on mount"] = gc.isenabled()
        super().on_mount()
        self.call_after_refresh(
            lambda: self.seen.update(rows=self.table.row_count, http=http_stack(), collecting=gc.isenabled())
        )

async def main():
    async with open_runtime(load_settings(sys.argv[1])) as runtime:
        async with Watched(runtime).run_test() as pilot:
            while not all(job.state for job in runtime.board.jobs.values()):
                await asyncio.sleep(0.02)
            print(json.dumps({"first frame": Watched.seen, "states": http_stack(), "frozen": gc.get_freeze_count()}))

hold_collections()
asyncio.run(main())
"""


async def test_the_first_frame_comes_before_the_http_stack_and_collections(tmp_path: Path) -> None:
    async with serve_simulator(quiet_simulator()) as url:
        config = write_config(tmp_path, url)  # the jobs by id alone: their names come from Qovery
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", FIRST_FRAME, str(config), env=user_env(tmp_path),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        stdout, stderr = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, stderr.decode()
    seen = json.loads(stdout)
    assert seen["first frame"] == {
        "collecting on mount": False,
        "rows": len(LISTED_JOBS),
        "http": [],
        "collecting": True,  # resumed once the first frame is drawn, with what the start-up made frozen
    }
    assert seen["frozen"] > 0
    assert seen["states"] == ["aiohttp", "httpx"]  # what the first frame did without, the states needed
