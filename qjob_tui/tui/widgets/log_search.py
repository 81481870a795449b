"""The search line under a run's log: `/` opens it, typing searches as it goes, Enter goes back to the log
with the matches kept (n/N move between them), Escape closes it and the marks go.

It only says what is typed (`Changed`, `Submitted`) and how many matches there are; the log does the finding.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Static


class LogSearchBar(Horizontal):
    """`/ [text typed]   3/12`: hidden until opened."""

    class Changed(Message):
        """The text searched for changed (empty: no search)."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class Submitted(Message):
        """Enter: back to the log, the matches kept."""

    def compose(self) -> ComposeResult:
        yield Static("/", id="search-prompt")
        yield Input(placeholder="search the log — Enter keeps the matches (n/N), Escape closes", id="search")
        yield Static("", id="search-count")

    @property
    def input(self) -> Input:
        return self.query_one("#search", Input)

    @property
    def is_open(self) -> bool:
        return self.has_class("-open")

    @property
    def text(self) -> str:
        return self.input.value

    def open(self) -> None:
        """Show the line and type into it (keys typed right after `/` land here: the app keeps their order)."""
        self.add_class("-open")
        self.input.focus()

    def close(self) -> None:
        """Hide the line and forget the text."""
        self.remove_class("-open")
        self.input.value = ""
        self.show_count(None)

    def show_count(self, current: int | None, total: int = 0) -> None:
        """`3/12`, `no match`, or nothing (no search)."""
        count = self.query_one("#search-count", Static)
        if current is None or not self.text:
            count.update("")
        elif total == 0:
            count.update(Text("no match", style="bold red"))
        else:
            count.update(Text(f"{current}/{total}", style="bold"))

    @on(Input.Changed, "#search")
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(self.Changed(event.value))

    @on(Input.Submitted, "#search")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.Submitted())
