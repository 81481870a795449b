"""Snapshots of the main screen and every dialog, at 80x24 (the smallest supported) and 140x45.

These are plain `def` tests: `snap_compare` runs the app in its own event loop. Update the baselines with
`pytest tests/tui/test_snapshots.py --snapshot-update` and look at them before committing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from .snapshot_support import ACCEPTED, CONFLICT, SnapshotApp, loaded, select, settle, snapshot_app

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((140, 45), id="140x45")]
SnapCompare = Callable[..., bool]


@pytest.fixture(autouse=True)
def steady_cursor(monkeypatch: pytest.MonkeyPatch) -> None:
    """Input cursors do not blink in snapshots."""
    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[SnapshotApp]:
    with snapshot_app(tmp_path) as (snapshot, sim):
        sim.inject(method="POST", path="/deploy$", status=202, json=ACCEPTED, times=None)
        sim.inject(method="POST", path="/redeploy$", status=409, json=CONFLICT, times=None)
        yield snapshot


@pytest.mark.parametrize("size", SIZES)
def test_main_screen(snap_compare: SnapCompare, app: SnapshotApp, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await loaded(pilot)
        await pilot.press("d")  # nightly-backup: 202
        await select(pilot, "cache-warmup")
        await pilot.press("r")  # 409
        await settle(pilot, 2)
        await select(pilot, "weekly-report")
        await pilot.press("space")  # marked, and the cursor moves on
        await settle(pilot, 2)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_uninstall_confirmation(snap_compare: SnapCompare, app: SnapshotApp, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await loaded(pilot)
        await select(pilot, "weekly-report")
        await pilot.press("u")

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_bulk_confirmation(snap_compare: SnapCompare, app: SnapshotApp, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await loaded(pilot)
        await pilot.press("space", "space", "down", "space")
        await pilot.press("s")

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_force_run_of_a_lifecycle_job(
    snap_compare: SnapCompare, app: SnapshotApp, size: tuple[int, int]
) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await loaded(pilot)
        await select(pilot, "warehouse-schema")
        await pilot.press("f")

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_force_run_of_a_cron_job(snap_compare: SnapCompare, app: SnapshotApp, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await loaded(pilot)
        await pilot.press("f")

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_deploy_options_refusing_both_fields(
    snap_compare: SnapCompare, app: SnapshotApp, size: tuple[int, int]
) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await loaded(pilot)
        await pilot.press("D")
        pilot.app.screen.query_one("#image-tag", Input).value = "2.5.0"
        pilot.app.screen.query_one("#commit-id", Input).value = "9d1e4b7a2c6f"
        await pilot.press("enter")

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_help(snap_compare: SnapCompare, app: SnapshotApp, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await loaded(pilot)
        await pilot.press("question_mark")

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_filter(snap_compare: SnapCompare, app: SnapshotApp, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await loaded(pilot)
        await pilot.press("slash", *"dep")

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_read_only_main_screen(snap_compare: SnapCompare, tmp_path: Path, size: tuple[int, int]) -> None:
    """READ-ONLY in the header, no action bar, no acting key in the footer."""
    with snapshot_app(tmp_path, read_only=True) as (app, _):

        async def run_before(pilot: Pilot[None]) -> None:
            await loaded(pilot)

        assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_sorted_by_state_with_a_failed_attempt_beside_an_accepted_one(
    snap_compare: SnapCompare, app: SnapshotApp, size: tuple[int, int]
) -> None:
    """STATE ▲ on its column, errors first; LAST ACTION keeps the accepted deploy and marks the 409 after it."""

    async def run_before(pilot: Pilot[None]) -> None:
        await loaded(pilot)
        await pilot.press("d")  # 202
        await settle(pilot, 1)
        app.runtime.pipeline.board.record_action(
            app.runtime.board.jobs[next(iter(app.runtime.board.jobs))].id,
            "redeploy",
            "409 an operation is already in progress",
            False,
            source="mcp",
        )
        await pilot.press("o", "o")
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)
