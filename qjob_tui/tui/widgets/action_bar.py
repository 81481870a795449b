"""The action bar: one button per job action of the table the dashboard was given.

Buttons run the same app action as their key, so a click and a key press take the same path. They do
not take focus: the jobs table keeps it, and with it the selected job.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import Button

from qjob_tui.actions import JobAction


def button_label(title: str, key: str) -> Content:
    """`Deploy d`: the title and the key, as Content so that no `[` is read as markup."""
    return Content.assemble((title, "bold"), " ", (key, "$accent"))


class ActionBar(Horizontal):
    """The actions as buttons; each shows the key that runs it (after any remapping)."""

    def __init__(self, key_for: Callable[[str], str], actions: Sequence[JobAction]) -> None:
        super().__init__()
        self._key_for = key_for
        self._actions = actions

    def compose(self) -> ComposeResult:
        for action in self._actions:
            button = Button(
                button_label(action.title, self._key_for(action.name)),
                id=f"action-{action.name}",
                variant="error" if action.destructive else "default",
                compact=True,
                action=f"app.job('{action.name}')",
                tooltip=action.summary,
            )
            button.can_focus = False
            yield button

    def relabel(self) -> None:
        """Show the current keys (after `ui.keys` remapped some)."""
        for action in self._actions:
            self.query_one(f"#action-{action.name}", Button).label = button_label(
                action.title, self._key_for(action.name)
            )
