"""Starting and quitting: ctrl+q, and SIGTERM on a real process in a terminal."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from qjob_tui.runtime import Runtime
from qjob_tui.tui.app import QJobApp
from tests.common import quiet_simulator, read_outcomes

from .support import LEAVE_ALTERNATE_SCREEN, Dashboard, in_a_terminal, read_until, running_dashboard


async def test_ctrl_q_quits_with_exit_code_0(dash: Dashboard) -> None:
    await dash.pilot.press("ctrl+q")
    await dash.pilot.pause()
    assert not dash.app.is_running
    assert dash.app.return_code == 0


async def test_quitting_waits_for_an_action_in_flight_and_its_audit_line(tmp_path: Path) -> None:
    sim = quiet_simulator()
    async with running_dashboard(tmp_path, sim=sim) as dash:
        sim.inject(method="POST", path="/deploy$", delay_s=0.5, status=None)  # a slow answer
        await dash.pilot.press("d")
        await dash.until(lambda: dash.actions_sent(), "the deploy upstream")
        await dash.pilot.press("ctrl+q")
        assert dash.app.is_running  # still waiting for Qovery's answer
        await dash.until(lambda: not dash.app.is_running, "the quit")
    assert dash.app.return_code == 0
    [line] = read_outcomes(tmp_path)
    assert line["status"] == 202


async def test_a_bug_in_the_poller_is_shown_and_the_states_keep_coming(tmp_path: Path) -> None:
    def app_with_a_buggy_first_refresh(runtime: Runtime, **ports: Any) -> QJobApp:
        real_refresh, calls = runtime.board.refresh, []

        async def refresh(*args: Any, **kwargs: Any) -> set[str]:
            calls.append(args)
            if len(calls) == 1:
                raise KeyError("state")
            return await real_refresh(*args, **kwargs)

        runtime.board.refresh = refresh  # type: ignore[method-assign]
        return QJobApp(runtime, **ports)

    async with running_dashboard(tmp_path, app_factory=app_with_a_buggy_first_refresh) as dash:
        # states_loaded() has waited for every job's state: the lifecycle went on after the bug
        assert "KeyError: 'state'" in dash.log_text()
        assert any("KeyError" in text for text in dash.notifications())
        assert dash.app.is_running


def test_sigterm_quits_cleanly_restores_the_terminal_and_exits_0(tmp_path: Path) -> None:
    with in_a_terminal(tmp_path, "--demo", size=(80, 24)) as (process, terminal):
        shown = read_until(terminal, b"nightly-backup", 30)
        assert b"nightly-backup" in shown, shown[-2000:]
        process.send_signal(signal.SIGTERM)
        rest = read_until(terminal, LEAVE_ALTERNATE_SCREEN, 30)
        assert process.wait(timeout=30) == 0
        rest += read_until(terminal, b"\0never", 0.5)
    assert LEAVE_ALTERNATE_SCREEN in rest  # the terminal is back to the shell's screen
    assert b"Traceback" not in shown + rest


def test_the_dashboard_imports_no_server_library() -> None:
    """The first screen waits for nothing it does not show: no MCP SDK, no uvicorn, no Starlette."""
    probe = (
        "import sys, qjob_tui.cli, qjob_tui.runtime, qjob_tui.tui.app; "
        "print(' '.join(m for m in ('mcp', 'uvicorn', 'starlette') if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == ""
