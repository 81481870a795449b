"""The dashboard's `b`: pick environments and jobs in Qovery, add them to the board, offer to save them.

The picking is `screens.picker`, the board's part `JobBoard.add_selection`, the file's part
`configfile.save_selection`; this is only the order in which the user meets them.
"""

from __future__ import annotations

import os
from typing import Any

from textual.app import App

from qjob_tui.config import ConfigError
from qjob_tui.configfile import Selection, credential_of, save_selection
from qjob_tui.runtime import Runtime
from qjob_tui.tui.screens.picker import PickerScreen
from qjob_tui.tui.screens.save_offer import SaveOfferScreen


def browse(app: App[Any], runtime: Runtime) -> None:
    """Open the picker now, so that keys typed right after `b` go to its filter; once picked, add the jobs
    to the board and offer to save them, in a worker (those steps wait on Qovery and on a dialog)."""
    present = {*runtime.board.jobs, *runtime.board.environments}

    def picked(selection: Selection | None) -> None:
        if selection:
            app.run_worker(
                add_and_offer(app, runtime, selection),
                name="browse",
                group="browse",
                exclusive=True,
                exit_on_error=False,
            )

    app.push_screen(
        PickerScreen(
            runtime.client,
            title="Browse Qovery: add environments and jobs to the dashboard",
            done_label="Add",
            present=present,
            credential=credential_of(runtime.settings),
        ),
        picked,
    )


async def add_and_offer(app: App[Any], runtime: Runtime, selection: Selection) -> None:
    """Add the picked environments and jobs to the board, then offer to save them to the config file."""
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
