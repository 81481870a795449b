"""The jobs table: one row per job on the board, updated cell by cell as the board changes.

Rows are keyed by job id. A change on the board touches only the cells that changed (a thousand jobs
refresh without rebuilding the table); the rows are rebuilt only when the filter, the sort, the width, or
(when sorted) a job's place in the order changes. The project and environment columns appear from
`WIDE_FROM` cells; their names are the board's (`JobInfo.project_name`, `environment_name`: learnt once per
environment by discovery), and a job's row follows when they come.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from rich.text import Text
from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.events import Resize
from textual.widgets import DataTable

from qjob_tui.jobs import JobBoard, JobInfo, state_category
from qjob_tui.lines import printable
from qjob_tui.tui.display import STATE_WIDTH, age, last_action_text, parse_date, state_text, type_text

# Every column, in the order shown; `project` and `env` only from WIDE_FROM cells.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("name", "JOB"),
    ("project", "PROJECT"),
    ("env", "ENV"),
    ("type", "TYPE"),
    ("state", "STATE"),
    ("deployed", "DEPLOYED"),
    ("last", "LAST ACTION"),
)
PLACE_COLUMNS = ("project", "env")
WIDE_FROM = 110  # cells of width from which the project and environment columns are shown
_FIXED = {"type": 9, "state": STATE_WIDTH, "deployed": 10}  # "DEPLOYED ▼" when sorted by it
FIRST_ROWS = 20  # rows added before the first frame, at least: a screenful (see `_first_rows`)
# Rows added per frame after it: as many as fit in this many seconds. Each row costs about as much again in the
# next frame (DataTable measures every new cell), so a key typed meanwhile waits at most a few such frames.
LATER_BUDGET_S = 0.004
# The same for the rows of the table's first build, before any key could rebuild it: every slice costs a whole
# repaint of the table besides (after any added row DataTable renders every visible cell again, about 11 ms at
# 120x40), and 1,000 jobs in 4 ms slices took ten repaints before their states could show.
START_BUDGET_S = 0.05
_MARK = "● "
_NO_MARK = "  "


# The orders `o` cycles through: the board's (the config's) first, then each sort with its column.
SORTS: tuple[str | None, ...] = (None, "name", "state", "deployed")
SORT_COLUMN = {"name": "name", "state": "state", "deployed": "deployed"}
SORT_ARROW = {"name": " ▲", "state": " ▲", "deployed": " ▼"}  # deployed: the newest first
_STATE_ORDER = {"error": 0, "progress": 1, "queued": 2, "unknown": 3, "ok": 4}


def sort_key(order: str, job: JobInfo) -> tuple[Any, ...]:
    """How a job sorts: by name; by state (errors first, then what moves, then what settled); by last
    deployment (newest first, never deployed last)."""
    name = (job.name or job.id).lower()
    if order == "state":
        return (_STATE_ORDER[state_category(job.state)], job.state or "", name)
    if order == "deployed":
        when = parse_date(job.last_deployment)
        return (when is None, -(when.timestamp() if when else 0.0), name)
    return (name,)


def column_widths(total: int, padding: int = 1) -> dict[str, int]:
    """Widths that fit `total` cells: fixed type/state/age, the rest shared by name, project, environment (when
    wide enough) and last action."""
    wide = total >= WIDE_FROM
    count = len(COLUMNS) if wide else len(COLUMNS) - len(PLACE_COLUMNS)
    rest = total - 1 - 2 * padding * count - sum(_FIXED.values())  # 1: the vertical scrollbar
    if not wide:
        name = min(max(14, rest * 3 // 5), 42)
        return {"name": name, **_FIXED, "last": max(14, rest - name)}
    name = min(max(16, rest * 3 // 10), 36)
    place = min(max(10, rest // 5), 20)
    return {"name": name, "project": place, "env": place, **_FIXED, "last": max(14, rest - name - 2 * place)}


def job_matches(job: JobInfo, text: str) -> bool:
    """The filter: `text` in the job's name, id, state, project or environment (case-insensitive)."""
    needle = text.strip().lower()
    if not needle:
        return True
    fields = (job.name, job.id, job.state, job.project_name, job.environment_name)
    return any(needle in (field or "").lower() for field in fields)


class JobTable(DataTable[Text]):
    """The jobs on the board with their state, last deployment and last action. Row key = job id."""

    # A row table has no columns to go to: home/end (and k9s' g/G) go to the first and last job.
    BINDINGS = [
        Binding("home,g", "scroll_top", "First job", show=False),
        Binding("end,G", "scroll_bottom", "Last job", show=False),
        # A filter kept with Enter is cleared from the table too, as in k9s (the app owns the filter bar).
        Binding("escape", "app.clear_filter", "Clear filter", show=False),
    ]

    def __init__(self, board: JobBoard, *, now: Callable[[], datetime], id: str | None = None) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, id=id)
        self.board = board
        self.marked: set[str] = set()
        self.filter_text = ""
        self.order: str | None = None  # one of SORTS: None is the board's order
        self._now = now
        self._widths: dict[str, int] = {}
        self._sort_keys: dict[str, tuple[Any, ...]] = {}  # job id -> its key when the rows were ordered
        self._cells: dict[str, tuple[Text, ...]] = {}  # what each row shows now, to update only what changed
        self._later: list[str] = []  # rows to add once the first screenful is drawn
        self._later_budget_s = START_BUDGET_S  # how long each frame may spend adding them
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

    @property
    def column_keys(self) -> list[str]:
        """The columns shown now (the project and environment only when the table is wide)."""
        return [key for key, _ in COLUMNS if key in self._widths]

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
            if key in widths:
                self.add_column(self._label(key, label), key=key, width=widths[key])
        self._rebuild_rows()

    def _label(self, key: str, label: str) -> Text:
        """A column's header; the sorted column says so (`STATE ▲`)."""
        text = Text(label, style="bold")
        if self.order is not None and SORT_COLUMN[self.order] == key:
            text.append(SORT_ARROW[self.order], style="bold cyan")
        return text

    def _matching(self) -> list[str]:
        """The ids of the jobs the filter lets through, in the order shown."""
        jobs = [job for job in self.board.jobs.values() if job_matches(job, self.filter_text)]
        self._sort_keys.clear()
        if self.order is not None:
            order = self.order
            self._sort_keys = {job.id: sort_key(order, job) for job in jobs}
            jobs.sort(key=lambda job: self._sort_keys[job.id])
        return [job.id for job in jobs]

    def _rebuild_rows(self, matching: list[str] | None = None) -> None:
        selected = self.selected_id
        if self._generation:  # not the first build: a key may have asked for it, and another may follow
            self._later_budget_s = LATER_BUDGET_S
        self.clear()
        self._cells.clear()
        matching = self._matching() if matching is None else matching
        # A screenful first, the rest once it is on screen: DataTable measures every cell it is given.
        first = self._first_rows()
        for job_id in matching[:first]:
            self._add(self.board.jobs[job_id])
        self._later = matching[first:]
        self._generation += 1
        if self._later:
            self.call_after_refresh(self._add_later, self._generation, selected)
        self._select(selected)

    def _first_rows(self) -> int:
        """How many rows the first frame needs: the rows the table shows, and a few to scroll into. Each row
        more costs the first frame (and a filter's key) a fifth of a millisecond, twice (added, measured)."""
        return max(FIRST_ROWS, (self.size.height or self.app.size.height) + 10)

    def _add_later(self, generation: int, selected: str | None) -> None:
        """The rows after the first screenful, a few milliseconds' worth per frame: 10,000 rows at once would
        hold the screen (and every answer from Qovery, and the next key) for seconds."""
        if generation != self._generation:
            return  # rebuilt since: that rebuild brings its own rows
        deadline = time.perf_counter() + self._later_budget_s
        done = 0
        for job_id in self._later:
            job = self.board.get(job_id)
            if job is not None and job.id not in self._cells:
                self._add(job)
            done += 1
            if done % 16 == 0 and time.perf_counter() > deadline:
                break
        del self._later[:done]
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
        name = Text(no_wrap=True, overflow="ellipsis")  # the name in the terminal's own colour: neutral
        name.append(_MARK if job.id in self.marked else _NO_MARK, style="bold magenta")
        name.append(printable(job.label))
        last = last_action_text(job.accepted, job.failed, self._widths.get("last", 14))
        last.no_wrap, last.overflow = True, "ellipsis"
        cells = {
            "name": name,
            "type": type_text(job.job_type),
            "state": state_text(job.state),
            "deployed": Text(age(job.last_deployment, self._now()), style="dim"),
            "last": last,
        }
        if "project" in self._widths:
            for key, value in (("project", job.project_name), ("env", job.environment_name)):
                cells[key] = Text(printable(value or ""), no_wrap=True, overflow="ellipsis")
        return tuple(cells[key] for key in self.column_keys)

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
                if self.order is not None and self._sort_keys.get(job.id) != sort_key(self.order, job):
                    rebuild = True  # its place in the order changed
            elif shown or (matches and (self.filter_text or self.order)):
                rebuild = True  # a job leaving or entering the rows: rebuild to keep the order
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
        for key, before, after in zip(self.column_keys, old or (), new, strict=False):
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
        matching = self._matching()
        if matching == [*self.visible_ids(), *self._later]:
            return  # the same rows (`j`, then `jo`, of `job-0042`): nothing to rebuild, nothing to paint
        self._rebuild_rows(matching)
        if self.row_count:
            self.move_cursor(row=min(self.cursor_row, self.row_count - 1), animate=False)

    # -- order -------------------------------------------------------------------------------------------

    def cycle_order(self) -> str | None:
        """The next order of SORTS (the board's, then by name, state, last deployment); returns it."""
        self.order = SORTS[(SORTS.index(self.order) + 1) % len(SORTS)]
        self._widths = {}  # new column headers
        self._layout(self.size.width or self.app.size.width)
        return self.order
