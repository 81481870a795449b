"""The help dialog: every key of the dashboard, with the keys as they are after `ui.keys`."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class HelpScreen(ModalScreen[None]):
    """Lists (key, what it does) rows; Escape, `q` or `?` closes it."""

    BINDINGS = [Binding("escape,q,question_mark", "dismiss(None)", "Close", id="help-close", show=False)]

    def __init__(self, rows: Sequence[tuple[str, str]]) -> None:
        super().__init__()
        self.rows = list(rows)

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        for key, description in self.rows:
            table.add_row(Text(key, style="bold"), Text(description))
        # The dialog scrolls as a whole (at 80x24 the keys are taller than the terminal), and its title is on
        # its border so that it stays in sight however far down the keys are scrolled.
        dialog = VerticalScroll(id="dialog", classes="dialog -help")
        dialog.border_title = "Keys — Escape closes"
        with dialog:
            yield Static(table, id="keys")
