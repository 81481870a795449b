"""Deterministic dashboards for snapshot tests.

`snap_compare` runs the app with `App.run()` (its own event loop), so the simulator is served from a
thread, and the runtime is wired by hand (no `async with` around a plain test). Everything that moves is
held still: the simulator's clock (states), the dashboard's clock (ages), the log's times, the header
(DEMO instead of a random port), and the answers to actions (Qovery's request ids are random).
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from textual import on
from textual.events import Unmount
from textual.pilot import Pilot

from qjob_tui.approvals import ApprovalQueue
from qjob_tui.audit import AuditLog
from qjob_tui.config import Settings
from qjob_tui.jobs import JobBoard
from qjob_tui.pipeline import ActionPipeline
from qjob_tui.qovery import QoveryClient
from qjob_tui.runtime import Runtime
from qjob_tui.simulator import ManualClock, Simulator, serve_simulator
from qjob_tui.tui.app import QJobApp
from tests.common import API_TOKEN, job_id

from .support import tui_settings

# A 202 answer with fixed ids, in place of the simulator's (its deployment_request_id is random).
ACCEPTED = {
    "id": job_id("nightly-backup"),
    "state": "DEPLOYMENT_QUEUED",
    "service_deployment_status": "OUT_OF_DATE",
    "is_part_last_deployment": True,
    "status_details": {"action": "DEPLOY", "status": "QUEUED", "sub_action": "NONE"},
    "deployment_request_id": "7d4c6a51-2f8e-4b9a-9c3d-0e1f2a3b4c5d",
    "deployment_requests_count": 1,
}
CONFLICT = {
    "status": 409,
    "error": "Conflict",
    "message": "an operation is already in progress on job cache-warmup",
}


class SnapshotApp(QJobApp):
    """The dashboard with a frozen clock and frozen log times; it closes its runtime when it ends."""

    FROZEN_LOG_TIME = "12:00:00"

    def __init__(self, runtime: Runtime, *, now: datetime, **ports: Any) -> None:
        super().__init__(runtime, **ports)
        self.frozen_now = now

    def now(self) -> datetime:
        return self.frozen_now

    def seconds_since_refresh(self) -> float | None:
        return None if self.runtime.board.refreshed_at is None else 12.0

    @on(Unmount)
    async def _close_runtime(self) -> None:
        await self.runtime.client.aclose()
        self.runtime.audit.close()


@contextlib.contextmanager
def simulator_in_thread(sim: Simulator) -> Iterator[str]:
    """Serve `sim` on loopback from a thread with its own event loop; yields its base URL."""
    started: queue.Queue[tuple[str, asyncio.AbstractEventLoop, asyncio.Event]] = queue.Queue()

    async def serve() -> None:
        stop = asyncio.Event()
        async with serve_simulator(sim) as url:
            started.put((url, asyncio.get_running_loop(), stop))
            await stop.wait()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    url, loop, stop = started.get(timeout=30)
    try:
        yield url
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)


@contextlib.contextmanager
def snapshot_app(
    tmp_path: Path, *, wall_start: float | None = None, read_only: bool = False, **settings: Any
) -> Iterator[tuple[SnapshotApp, Simulator]]:
    """A SnapshotApp over the demo's jobs (states frozen), and the simulator behind it. `wall_start` fixes
    the simulator's dates and execution ids (a screen that shows them: the job's detail)."""
    sim = Simulator(token=API_TOKEN, clock=ManualClock(), wall_start=wall_start)
    started = time.time() if wall_start is None else wall_start
    now = datetime.fromtimestamp(started + 1, UTC)  # one second after the simulator's start
    with simulator_in_thread(sim) as url:
        base = tui_settings(url, tmp_path, poll_interval_s=3600, **settings)
        config = base.config
        demo = Settings(config, None, url, SecretStr(API_TOKEN), None, demo=True)  # the header says DEMO
        board = JobBoard(config.jobs, config.environments)
        client = QoveryClient(url, API_TOKEN, timeout_s=config.qovery.timeout_s)
        audit = AuditLog(demo.audit_path)
        approvals = ApprovalQueue(config.server.approve, config.server.approve_timeout_s, board)
        pipeline = ActionPipeline(client, board, audit, gate=approvals, read_only=read_only)
        yield SnapshotApp(Runtime(demo, client, board, audit, pipeline, url, approvals), now=now), sim


async def until(pilot: Pilot[None], condition: Any, what: str) -> None:
    for _ in range(500):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError(f"never happened: {what}")


async def loaded(pilot: Pilot[None]) -> None:
    """Wait for every job's state on screen."""
    app = pilot.app
    assert isinstance(app, QJobApp)
    board = app.runtime.board
    await until(
        pilot,
        lambda: (
            board.refreshed_at is not None
            and app.table.row_count == 7
            and all(j.state for j in board.jobs.values())
            and all(j.environment_name for j in board.jobs.values())  # the environments' names
        ),
        "the demo's jobs with their states and their places",
    )
    await pilot.pause()


async def select(pilot: Pilot[None], name: str) -> None:
    app = pilot.app
    assert isinstance(app, QJobApp)
    app.table.move_cursor(row=app.table.get_row_index(job_id(name)), animate=False)
    await pilot.pause()


async def settle(pilot: Pilot[None], log_entries: int = 0) -> None:
    """Wait for the log pane to hold `log_entries`, then drop the toasts (they would cover the table)."""
    app = pilot.app
    assert isinstance(app, QJobApp)
    await until(pilot, lambda: len(app.log_pane.entries) >= log_entries, f"{log_entries} log entries")
    await app.runtime.board.refresh(app.runtime.client)  # the states after the actions, for sure
    await pilot.pause()
    app.clear_notifications()
    await pilot.pause()
