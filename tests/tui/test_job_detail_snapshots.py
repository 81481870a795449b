"""Snapshots of the job's detail screen at 80x24 (the smallest supported) and 140x45.

Plain `def` tests: `snap_compare` runs the app in its own loop. The simulator's `wall_start` fixes every date
and execution id, the app's clock is frozen one second after it, and times are shown in UTC. Update the
baselines with `pytest tests/tui/test_job_detail_snapshots.py --snapshot-update` and look at them first.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from qjob_tui.tui.screens.job_detail import JobDetailScreen

from .snapshot_support import SnapshotApp, loaded, select, snapshot_app, until

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((140, 45), id="140x45")]
WALL_START = 1_780_000_000.0  # 2026-05-28T20:26:40Z
SnapCompare = Callable[..., bool]


@pytest.fixture(autouse=True)
def steady(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No blinking cursor, and the log's times in UTC whatever the machine's time zone."""
    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def app(tmp_path: Path) -> Iterator[SnapshotApp]:
    with snapshot_app(tmp_path, wall_start=WALL_START) as (snapshot, _):
        yield snapshot


async def open_detail(pilot: Pilot[None], name: str) -> JobDetailScreen:
    await loaded(pilot)
    await select(pilot, name)
    await pilot.press("enter")
    detail = pilot.app.screen
    assert isinstance(detail, JobDetailScreen)
    await until(pilot, lambda: detail.log_settled and detail.facts is not None, f"{name}'s detail")
    await pilot.pause()
    return detail


@pytest.mark.parametrize("size", SIZES)
def test_a_failed_run_with_its_error_and_hint(
    snap_compare: SnapCompare, app: SnapshotApp, size: tuple[int, int]
) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await open_detail(pilot, "cache-warmup")

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_a_search_in_an_older_run(snap_compare: SnapCompare, app: SnapshotApp, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        detail = await open_detail(pilot, "db-migrate")
        await pilot.press("down")  # the storefront release, three days ago
        await until(pilot, lambda: detail.log_settled and detail.log_view.lines, "the older run's log")
        await pilot.press("slash", *"job db-migrate", "enter", "n")
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)
