"""The dashboard's `b`: pick environments and jobs in Qovery, add them to the board, offer to save them.

The picking is `screens.picker`, the board's part `JobBoard.add_selection`, the file's part
`configfile.save_selection`; this is only the order in which the user meets them.
"""

from __future__ import annotations

import os
from typing import Any

from textual.app import App

from qjob_tui.config import ConfigError
from qjob_tui.configfile import Selection, credential_of, save_selection, target_path
from qjob_tui.lines import count_of
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
    """Add the picked environments and jobs to the board, say what that changed, then offer to save them to
    the config file (naming it)."""
    board = runtime.board
    before = len(board.jobs)
    errors = await board.add_selection(runtime.client, selection)
    added = len(board.jobs) - before
    if added:
        app.notify(
            f"Added {count_of(added, 'job')} to the dashboard ({selection.describe()} picked); it shows "
            f"{count_of(len(board.jobs), 'job')} now."
        )
    else:
        app.notify(
            f"Nothing new on the dashboard: the {selection.describe()} picked "
            f"{'is' if len(selection.environments) + len(selection.jobs) == 1 else 'are'} on it already "
            f"({count_of(len(board.jobs), 'job')})."
        )
    for error in errors:
        app.notify(error, severity="error", markup=False)
    if not await app.push_screen_wait(
        SaveOfferScreen(f"Save {selection.describe()} to {save_target(runtime)}?")
    ):
        return
    try:
        result = save_selection(runtime.settings, selection, os.environ)
    except (OSError, ValueError, ConfigError) as exc:
        app.notify(f"Not saved: {exc}", severity="error", markup=False)
        return
    app.notify(result.message, severity="warning" if result.copy else "information", markup=False)


def save_target(runtime: Runtime) -> str:
    """Where saving goes, named: the config file in use, or the new one `save_selection` would write."""
    path = runtime.settings.path
    if path is not None:
        return f"the config file {path} (your comments in it are kept)"
    new = target_path(None, os.environ)
    beside = " (a copy beside it: that file exists)" if new.exists() else ""
    return f"a new config file, {new}{beside}"
