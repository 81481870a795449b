"""The jobs table: one row per job on the board, updated cell by cell as the board changes.

Rows are keyed by job id. A change on the board touches only the cells that changed (a thousand jobs
refresh without rebuilding the table); the rows are rebuilt only when the filter or the width changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from rich.text import Text
from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.events import Resize
from textual.widgets import DataTable

from qjob_tui.jobs import JobBoard, JobInfo
from qjob_tui.lines import printable
from qjob_tui.tui.display import age, result_text, state_text, type_text

COLUMNS: tuple[tuple[str, str], ...] = (
    ("name", "JOB"),
    ("type", "TYPE"),
    ("state", "STATE"),
    ("deployed", "DEPLOYED"),
    ("last", "LAST ACTION"),
)
_FIXED = {"type": 9, "state": 17, "deployed": 8}
FIRST_ROWS = 100  # rows added before the first frame
LATER_ROWS = 500  # rows added per frame after it
_MARK = "● "
_NO_MARK = "  "


def column_widths(total: int, padding: int = 1) -> dict[str, int]:
    """Widths that fit `total` cells: fixed type/state/age, the rest shared by name and last action."""
    rest = total - 1 - 2 * padding * len(COLUMNS) - sum(_FIXED.values())  # 1: the vertical scrollbar
    name = min(max(14, rest * 3 // 5), 42)
    return {"name": name, **_FIXED, "last": max(10, rest - name)}


def job_matches(job: JobInfo, text: str) -> bool:
    """The filter: `text` in the job's name, id or state (case-insensitive)."""
    needle = text.strip().lower()
    if not needle:
        return True
    return any(needle in (field or "").lower() for field in (job.name, job.id, job.state))


class JobTable(DataTable[Text]):
    """The jobs on the board with their state, last deployment and last action. Row key = job id."""

    # A row table has no columns to go to: home/end (and k9s' g/G) go to the first and last job.
    BINDINGS = [
        Binding("home,g", "scroll_top", "First job", show=False),
        Binding("end,G", "scroll_bottom", "Last job", show=False),
    ]

    def __init__(self, board: JobBoard, *, now: Callable[[], datetime], id: str | None = None) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, id=id)
        self.board = board
        self.marked: set[str] = set()
        self.filter_text = ""
        self._now = now
        self._widths: dict[str, int] = {}
        self._cells: dict[str, tuple[Text, ...]] = {}  # what each row shows now, to update only what changed
        self._later: list[str] = []  # rows to add once the first screenful is drawn
        self._generation = 0  # counts rebuilds, so that a stale "add the rest" does nothing

    # -- what is selected ---------------------------------------------------------------------------

    @property
    def selected_id(self) -> str | None:
        """The id of the job under the cursor (None when the table is empty)."""
        if not 0 <= self.cursor_row < self.row_count:
            return None
        row_key, _ = self.coordinate_to_cell_key(Coordinate(self.cursor_row, 0))
        return row_key.value

    def visible_ids(self) -> list[str]:
        return [row.key.value for row in self.ordered_rows if row.key.value is not None]

    # -- building -----------------------------------------------------------------------------------

    def on_mount(self) -> None:
        self._layout(self.size.width or self.app.size.width)

    def on_resize(self, event: Resize) -> None:
        self._layout(event.size.width)

    def _layout(self, width: int) -> None:
        widths = column_widths(width, self.cell_padding)
        if widths == self._widths:
            return
        self._widths = widths
        self.clear(columns=True)
        for key, label in COLUMNS:
            self.add_column(Text(label, style="bold"), key=key, width=widths[key])
        self._rebuild_rows()

    def _rebuild_rows(self) -> None:
        selected = self.selected_id
        self.clear()
        self._cells.clear()
        matching = [job.id for job in self.board.jobs.values() if job_matches(job, self.filter_text)]
        # A screenful first, the rest once it is on screen: DataTable measures every cell it is given.
        for job_id in matching[:FIRST_ROWS]:
            self._add(self.board.jobs[job_id])
        self._later = matching[FIRST_ROWS:]
        self._generation += 1
        if self._later:
            self.call_after_refresh(self._add_later, self._generation, selected)
        self._select(selected)

    def _add_later(self, generation: int, selected: str | None) -> None:
        """The rows after the first screenful, LATER_ROWS per frame: 10,000 rows at once would hold the
        screen (and every answer from Qovery) for seconds."""
        if generation != self._generation:
            return  # rebuilt since: that rebuild brings its own rows
        now, self._later = self._later[:LATER_ROWS], self._later[LATER_ROWS:]
        for job_id in now:
            job = self.board.get(job_id)
            if job is not None and job.id not in self._cells:
                self._add(job)
        if self._later:
            self.call_after_refresh(self._add_later, generation, selected)
        if self.selected_id != selected:
            self._select(selected)

    def _select(self, job_id: str | None) -> None:
        if job_id is not None and job_id in self._cells:
            self.move_cursor(row=self.get_row_index(job_id), animate=False)

    @property
    def shown_count(self) -> int:
        """Rows shown, counting those about to be added after the first frame."""
        return self.row_count + len(self._later)

    def _add(self, job: JobInfo) -> None:
        cells = self._cells_of(job)
        self._cells[job.id] = cells
        self.add_row(*cells, key=job.id)

    def _cells_of(self, job: JobInfo) -> tuple[Text, ...]:
        name = Text(_MARK if job.id in self.marked else _NO_MARK, style="bold magenta")
        name.append(printable(job.label))
        name.no_wrap, name.overflow = True, "ellipsis"
        last = result_text(job.last_action, job.last_result, job.last_result_ok)
        last.no_wrap, last.overflow = True, "ellipsis"
        return (
            name,
            type_text(job.job_type),
            state_text(job.state),
            Text(age(job.last_deployment, self._now()), style="dim"),
            last,
        )

    # -- following the board ------------------------------------------------------------------------

    def sync(self, job_ids: Iterable[str]) -> None:
        """Show the board's latest for these jobs: update changed cells, add new jobs, apply the filter."""
        rebuild = False
        added: set[str] = set()
        later = set(self._later)
        for job_id in job_ids:
            job = self.board.get(job_id)
            if job is None or job.id in later:
                continue  # rows about to be added are drawn from the board as it is then
            shown = job.id in self._cells
            matches = job_matches(job, self.filter_text)
            if shown and matches:
                self._update(job)
            elif shown or (matches and self.filter_text):
                rebuild = True  # a job leaving or re-entering the filter: rebuild to keep the board's order
            elif matches:
                added.add(job.id)  # a job the board just learned
        if rebuild:
            self._rebuild_rows()
            return
        for job in self.board.jobs.values():  # new jobs, in the board's order
            if job.id in added:
                if self._later:
                    self._later.append(job.id)  # behind the rows still to come
                else:
                    self._add(job)

    def _update(self, job: JobInfo) -> None:
        new = self._cells_of(job)
        old = self._cells.get(job.id)
        if old == new:
            return
        self._cells[job.id] = new
        for (key, _), before, after in zip(COLUMNS, old or (), new, strict=False):
            if before != after:
                self.update_cell(job.id, key, after)

    def refresh_ages(self) -> None:
        """Re-render the DEPLOYED column: ages move with the clock."""
        for job_id in list(self._cells):
            job = self.board.get(job_id)
            if job is not None:
                self._update(job)

    # -- marks and filter ---------------------------------------------------------------------------

    def toggle_mark(self, job_id: str) -> bool:
        """Mark or unmark a job; True when it is now marked."""
        if job_id in self.marked:
            self.marked.discard(job_id)
        else:
            self.marked.add(job_id)
        job = self.board.get(job_id)
        if job is not None and job.id in self._cells:
            self._update(job)
        return job_id in self.marked

    def clear_marks(self) -> None:
        marked, self.marked = self.marked, set()
        self.sync(marked)

    def set_filter(self, text: str) -> None:
        if text == self.filter_text:
            return
        self.filter_text = text
        self._rebuild_rows()
        if self.row_count:
            self.move_cursor(row=min(self.cursor_row, self.row_count - 1), animate=False)
