"""What the picker tests share: reading the screen, waiting for the picker's loads, the demo's names."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from textual.app import App
from textual.pilot import Pilot
from textual.worker import WorkerCancelled

from qjob_tui.tui.screens.picker import PickerScreen
from tests.common import DEMO

PRODUCTION = DEMO.environment_named("production")  # storefront: nightly-backup, db-migrate
STAGING = DEMO.environment_named("staging")  # storefront: cache-warmup, seed-fixtures
DATA_PRODUCTION = DEMO.environment_named("data-production")  # weekly-report, warehouse-schema, table-vacuum
EMPTY = DEMO.environment_named("data-development")  # no job at all
UNKNOWN = "00000000-0000-4000-8000-000000000000"


def rows(app: App[object]) -> list[str]:
    """The picker's list as shown, one string per row (checkbox, name and details)."""
    screen = app.screen
    assert isinstance(screen, PickerScreen), f"the picker is not shown (screen: {screen!r})"
    return [str(getattr(option.prompt, "plain", option.prompt)) for option in screen.items_list.options]


def names(app: App[object]) -> list[str]:
    """The names in the picker's list, without checkbox or details."""
    return [
        row.removeprefix("[x] ").removeprefix("[ ] ").removeprefix("[-] ").split("  ")[0] for row in rows(app)
    ]


async def settle(pilot: Pilot[object]) -> None:
    """Wait until every listing the picker asked for has been answered and drawn.

    Only the picker's own loads are awaited: a worker that waits on a screen (the dashboard's browse) would
    never end while the test waits for it."""
    for _ in range(3):
        loads = [worker for worker in pilot.app.workers if worker.group == "picker-load"]
        if loads:  # an empty list would mean "every worker"
            with contextlib.suppress(WorkerCancelled):
                await pilot.app.workers.wait_for_complete(loads)
        await pilot.pause()


async def wait_until(pilot: Pilot[object], condition: Callable[[], bool], what: str) -> None:
    """Let the app run until `condition` holds (a bounded number of turns, no clock involved)."""
    for _ in range(500):
        if condition():
            await pilot.pause()  # and drawn
            return
        await pilot.pause()
    shown = [n.message for n in pilot.app._notifications] + [
        repr(w.error) for w in pilot.app.workers if w.error
    ]
    raise AssertionError(f"never happened: {what} (notifications: {shown})")


async def press(pilot: Pilot[object], *keys: str) -> None:
    await pilot.press(*keys)
    await settle(pilot)
