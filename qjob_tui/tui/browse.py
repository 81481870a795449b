"""The dashboard's `b`: pick environments and jobs in Qovery, add them to the board, offer to save them.

The picking is `screens.picker`, the board's part `JobBoard.add_selection`, the file's part
`configfile.save_selection`; this is only the order in which the user meets them.
"""

from __future__ import annotations

import os
from typing import Any

from textual.app import App

from qjob_tui.config import ConfigError
from qjob_tui.configfile import credential_of, save_selection
from qjob_tui.runtime import Runtime
from qjob_tui.tui.screens.picker import PickerScreen
from qjob_tui.tui.screens.save_offer import SaveOfferScreen


async def browse_into(app: App[Any], runtime: Runtime) -> None:
    """Pick, add to the board, offer to save. Run it in a worker: it waits on screens."""
    present = {*runtime.board.jobs, *runtime.board.environments}
    selection = await app.push_screen_wait(
        PickerScreen(
            runtime.client,
            title="Browse Qovery: add environments and jobs to the dashboard",
            done_label="Add",
            present=present,
            credential=credential_of(runtime.settings),
        )
    )
    if not selection:
        return
    errors = await runtime.board.add_selection(runtime.client, selection)
    app.notify(f"Added {selection.describe()} to the dashboard.")
    for error in errors:
        app.notify(error, severity="error", markup=False)
    path = runtime.settings.path
    where = f"the config file {path} (your comments in it are kept)" if path else "a new config file"
    if not await app.push_screen_wait(SaveOfferScreen(f"Save {selection.describe()} to {where}?")):
        return
    try:
        result = save_selection(runtime.settings, selection, os.environ)
    except (OSError, ValueError, ConfigError) as exc:
        app.notify(f"Not saved: {exc}", severity="error", markup=False)
        return
    app.notify(result.message, severity="warning" if result.copy else "information", markup=False)
