"""The runs of one job on the detail screen, newest first: state (coloured as in the jobs table), when, how
long, who started it, from where, and what version. The row under the cursor is the run whose log is shown.

The list never takes the focus (the log keeps it, for its scrolling keys): the screen moves the cursor with
↑↓, and a click on a row picks it (`Picked`). Rows are keyed by execution id; a refresh that brings the
same runs updates their cells, one that brings a new run rebuilds the rows and keeps the cursor on its run.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from rich.text import Text
from textual.coordinate import Coordinate
from textual.events import Click, Resize
from textual.message import Message
from textual.widgets import DataTable

from qjob_tui.lines import printable
from qjob_tui.reads import Run
from qjob_tui.tui.display import STATE_WIDTH, age, parse_date, state_text

WIDE = 110  # from this width on, the list also shows when each run started
_FIXED = {"state": STATE_WIDTH, "when": 8, "started": 11, "took": 7}


def duration_text(seconds: float | None) -> str:
    """`46s`, `1m35s`, `2h03m`: how long a run took."""
    if seconds is None:
        return ""
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def run_key(run: Run, index: int) -> str:
    """A run's row key: its execution id (Qovery gives one to every run; `#n` if it did not)."""
    return run.execution_id or f"#{index}"


def columns_for(width: int, padding: int = 1) -> list[tuple[str, str, int]]:
    """(key, label, width) of the columns that fit `width` cells: the fixed ones, the rest shared out."""
    wide = width >= WIDE
    keys = ["state", "when", *(["started"] if wide else []), "took", "by", "origin", "version"]
    origin = 18 if wide else 10  # TERRAFORM_PROVIDER, or CONSOLE cut
    fixed = sum(_FIXED[key] for key in keys if key in _FIXED) + origin
    rest = max(20, width - 1 - 2 * padding * len(keys) - fixed)  # 1: the vertical scrollbar
    by = min(max(10, rest * 3 // 5), 28)
    widths = {**_FIXED, "origin": origin, "by": by, "version": max(8, rest - by)}
    labels = {
        "state": "STATE",
        "when": "WHEN",
        "started": "STARTED",
        "took": "TOOK",
        "by": "BY",
        "origin": "ORIGIN",
        "version": "VERSION",
    }
    return [(key, labels[key], widths[key]) for key in keys]


class RunList(DataTable[Text]):
    """A job's runs, newest first; the cursor is on the run whose log the screen shows."""

    class Picked(Message):
        """The user clicked a run: show its log."""

        def __init__(self, execution_id: str) -> None:
            super().__init__()
            self.execution_id = execution_id

    def __init__(self, *, now: Callable[[], datetime], id: str | None = None) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, id=id)
        self.can_focus = False
        self.runs: list[Run] = []
        self._now = now
        self._columns: list[tuple[str, str, int]] = []
        self._cells: dict[str, tuple[Text, ...]] = {}
        self._keys: list[str] = []

    # -- what is selected ---------------------------------------------------------------------------

    @property
    def selected_key(self) -> str | None:
        """The key (execution id) of the run under the cursor; None when there is none."""
        if not 0 <= self.cursor_row < self.row_count:
            return None
        return self._keys[self.cursor_row]

    def run_of(self, key: str | None) -> Run | None:
        return next((run for index, run in enumerate(self.runs) if run_key(run, index) == key), None)

    def select(self, key: str | None) -> None:
        """Put the cursor on a run (None: the newest)."""
        if key in self._keys:
            self.move_cursor(row=self._keys.index(key), animate=False)
        elif self._keys:
            self.move_cursor(row=0, animate=False)

    def step(self, by: int) -> str | None:
        """Move the cursor `by` rows (within the list) and say which run it is on."""
        if self._keys:
            self.move_cursor(row=max(0, min(self.cursor_row + by, len(self._keys) - 1)), animate=False)
        return self.selected_key

    # -- building -----------------------------------------------------------------------------------

    def on_mount(self) -> None:
        self._layout(self.size.width or self.app.size.width)

    def on_resize(self, event: Resize) -> None:
        self._layout(event.size.width)

    def on_click(self, event: Click) -> None:
        # Textual's own click handler (which moves the cursor) runs after this one: look once it has.
        self.call_later(self._clicked)

    def _clicked(self) -> None:
        key = self.selected_key
        if key is not None:
            self.post_message(self.Picked(key))

    def _layout(self, width: int) -> None:
        columns = columns_for(width, self.cell_padding)
        if columns == self._columns:
            return
        self._columns = columns
        selected = self.selected_key
        self.clear(columns=True)
        for key, label, size in columns:
            self.add_column(Text(label, style="bold"), key=key, width=size)
        self._cells.clear()
        self._fill(selected)

    def show(self, runs: list[Run]) -> None:
        """Show these runs (newest first), the cursor staying on the run it was on (else the newest)."""
        selected = self.selected_key
        self.runs = list(runs)
        keys = [run_key(run, index) for index, run in enumerate(self.runs)]
        if keys != self._keys:
            self.clear()
            self._cells.clear()
            self._fill(selected)
            return
        for index, run in enumerate(self.runs):
            cells = self._cells_of(run)
            key = keys[index]
            if cells != self._cells.get(key):
                for (column, _, _), before, after in zip(self._columns, self._cells[key], cells, strict=True):
                    if before != after:
                        self.update_cell(key, column, after)
                self._cells[key] = cells

    def refresh_ages(self) -> None:
        """Re-render WHEN and TOOK: ages move with the clock, and so does a running run's time."""
        self.show(self.runs)

    def _fill(self, selected: str | None) -> None:
        self._keys = [run_key(run, index) for index, run in enumerate(self.runs)]
        for key, run in zip(self._keys, self.runs, strict=True):
            cells = self._cells_of(run)
            self._cells[key] = cells
            self.add_row(*cells, key=key)
        self.select(selected)

    def _cells_of(self, run: Run) -> tuple[Text, ...]:
        now = self._now()
        cells: dict[str, Text] = {
            "state": state_text(run.state),
            "when": Text(age(run.created_at, now), style="dim"),
            "took": self._took(run, now),
            "by": _cut(run.triggered_by or "", ""),
            "origin": _cut(run.origin or "", "dim"),
            "version": _cut(_version(run.version), ""),
        }
        if any(key == "started" for key, _, _ in self._columns):
            started = parse_date(run.created_at)
            cells["started"] = Text(
                started.astimezone().strftime("%m-%d %H:%M") if started else "", style="dim"
            )
        return tuple(cells[key] for key, _, _ in self._columns)

    @staticmethod
    def _took(run: Run, now: datetime) -> Text:
        if run.duration_s is not None:
            return Text(duration_text(run.duration_s))
        if run.settled:
            return Text("")
        started = parse_date(run.created_at)
        if started is None:
            return Text("…", style="dim")
        return Text(duration_text(max(0.0, (now - started).total_seconds())) + "…", style="bold dodger_blue1")

    def cell_text(self, row: int, column: str) -> str:
        """The plain text of a cell, as the user reads it."""
        return self.get_cell_at(Coordinate(row, [key for key, _, _ in self._columns].index(column))).plain


def _cut(value: str, style: str) -> Text:
    return Text(printable(value), style=style, no_wrap=True, overflow="ellipsis")


def _version(version: str | None) -> str:
    """An image tag as it is; a git commit (40 hex digits) to its first 12, as the facts show it."""
    if version and len(version) == 40 and all(c in "0123456789abcdef" for c in version.lower()):
        return version[:12]
    return version or ""
