"""The confirmation dialog: names the action and the job(s); `y`/Enter confirms, `n`/Escape cancels."""

from __future__ import annotations

from collections.abc import Sequence

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Label

MAX_NAMES = 8  # jobs named one by one; the rest are counted


def job_list(names: Sequence[str]) -> str:
    """The jobs a dialog names: all of them up to MAX_NAMES, then `and N more`."""
    shown = list(names[:MAX_NAMES])
    lines = [f"• {name}" for name in shown]
    if len(names) > MAX_NAMES:
        lines.append(f"  and {len(names) - MAX_NAMES} more")
    return "\n".join(lines)


class ConfirmScreen(ModalScreen[bool]):
    """Asks before an action runs. Dismisses with True (confirmed) or False (cancelled)."""

    BINDINGS = [
        Binding("y,enter", "answer(True)", "Yes", id="confirm-yes", show=False),
        Binding("n,escape", "answer(False)", "No", id="confirm-no", show=False),
    ]

    def __init__(self, question: str, job_names: Sequence[str], warning: str | None = None) -> None:
        super().__init__()
        self.question = question
        self.job_names = list(job_names)
        self.warning = warning

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog -confirm"):
            yield Label(Content(self.question), id="question", classes="dialog-title")
            yield Label(Content(job_list(self.job_names)), id="confirm-jobs")
            if self.warning:
                yield Label(Content(self.warning), id="warning")
            with Horizontal(classes="dialog-buttons"):
                yes = Button(
                    Content.assemble("Yes ", ("y", "$accent")), id="yes", variant="error", compact=True
                )
                no = Button(Content.assemble("No ", ("n", "$accent")), id="no", compact=True)
                # Enter must mean "yes" whatever is focused, so the buttons take clicks only.
                yes.can_focus = no.can_focus = False
                yield yes
                yield no

    def action_answer(self, confirmed: bool) -> None:
        self.dismiss(confirmed)

    @on(Button.Pressed, "#yes")
    def _yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#no")
    def _no(self) -> None:
        self.dismiss(False)
