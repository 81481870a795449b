"""The deployment log of one run, as the detail screen shows it: wrapped, searchable, followed at the bottom.

Each of Qovery's lines is one row or more (wrapped under its message, never sideways): its time, its step and
its message; an error line is red and brings its hint and link on rows of their own. Below the lines, a note
of ours may say what the log cannot (empty, still queued, could not be read).

The view follows the newest line while it is scrolled to the bottom. Scrolled up (by the user, or by a search
that jumps to a match), it stays where it is and counts the lines that arrived below; `Following` tells the
screen, which shows the marker. Scrolling back to the bottom (End) follows again.

Search marks every match of a text (case-insensitive) and moves between them; the current one stands out.
Everything shown is outside text: it is escaped for the terminal and never read as markup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rich.cells import get_character_cell_size
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.cache import LRUCache
from textual.events import Resize
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from qjob_tui.lines import printable
from qjob_tui.reads import LogLine
from qjob_tui.tui.display import parse_date

STEP_WIDTH = 11  # `LoadConfiguration` is cut, `Executing` and `Deploy` are whole
MIN_BODY = 24  # narrower than this, rows are not indented under the message
KIND_STYLES = {"info": "", "warning": "yellow", "error": "bold red"}
MATCH_STYLE = Style(bgcolor="#6b5900", color="#ffffff")  # every match: dim gold
CURRENT_MATCH_STYLE = Style(bgcolor="#ffd700", color="#000000", bold=True)  # the one n/N is on: bright


@dataclass(frozen=True)
class _Part:
    """One thing shown on a row or more: a log line's message, an error's hint or link, or our note."""

    line: int  # index of its LogLine; -1 for the note
    label: str  # what the prefix says (the step; `hint`, `link`)
    time: str  # the line's time, on its first part only
    body: str  # terminal-safe: what wraps, and what search looks in
    style: str
    label_style: str = "cyan"


def wrap(body: str, width: int) -> list[tuple[int, int]]:
    """Where each screen row of `body` starts and ends at `width` cells: at a space when one is on the row,
    else cut (a long URL). An empty body is one empty row."""
    rows: list[tuple[int, int]] = []
    start, size = 0, len(body)
    width = max(1, width)
    narrow = body.isascii()  # one cell a character: the common case, counted without looking
    while start < size:
        if narrow:
            end = min(size, start + width)
        else:
            end, cells = start, 0
            while end < size and cells + get_character_cell_size(body[end]) <= width:
                cells += get_character_cell_size(body[end])
                end += 1
        if end == start:
            end += 1  # a character wider than the row still takes one
        elif end < size:
            space = body.rfind(" ", start + 1, end + 1)
            if space > start:
                end = space
        rows.append((start, end))
        start = end
        while start < size and body[start] == " ":
            start += 1  # no row begins with the space it was broken at
    return rows or [(0, 0)]


def line_time(timestamp: str | None) -> str:
    """`18:26:40`: a line's time, in the operator's time zone (as the dashboard's log shows times)."""
    when = parse_date(timestamp)
    return when.astimezone().strftime("%H:%M:%S") if when is not None else " " * 8


def parts_of(index: int, line: LogLine) -> list[_Part]:
    """What a log line shows: its message, then for an error its hint and its link."""
    style = KIND_STYLES.get(line.kind, "")
    message = printable(line.message) or "(no message)"
    if line.kind == "error":
        message = "✖ " + message
    parts = [_Part(index, printable(line.step or ""), line_time(line.timestamp), message, style)]
    if line.hint:
        parts.append(_Part(index, "hint", "", printable(line.hint), "yellow", "yellow"))
    if line.link:
        parts.append(_Part(index, "link", "", printable(line.link), "underline dodger_blue1", "dim"))
    return parts


class RunLogView(ScrollView, can_focus=True, inherit_bindings=False):
    """The lines of one run, newest last; PageUp/PageDown/Home/End (and the wheel) scroll, End follows again."""

    BINDINGS = [
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("shift+up", "line(-1)", "Line up", show=False),
        Binding("shift+down", "line(1)", "Line down", show=False),
        Binding("home", "top", "Oldest line", show=False),
        Binding("end", "bottom", "Newest line, and follow", show=False),
    ]

    class Following(Message):
        """Whether the view follows the newest line, and how many arrived below while it did not."""

        def __init__(self, view: RunLogView, following: bool, waiting: int) -> None:
            super().__init__()
            self.view = view
            self.following = following
            self.waiting = waiting

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lines: list[LogLine] = []
        self.following = True
        self.waiting = 0  # lines that arrived below while not following
        self.query_text = ""
        self.matches: list[tuple[int, int, int]] = []  # (part, start, end) of each match, in order
        self.current = -1  # index in `matches` of the current one
        self._parts: list[_Part] = []
        self._note: _Part | None = None
        self._rows: list[tuple[int, int, int]] = []  # (part, start, end) of each screen row of the lines
        self._note_rows: list[tuple[int, int]] = []  # (start, end) of each row of the note, below them
        self._first_row: list[int] = []  # part -> its first row
        self._by_part: dict[int, list[int]] = {}  # part -> the numbers of its matches
        self._width = -1  # the content width the rows were wrapped at
        self._pattern: re.Pattern[str] | None = None
        self._strips: LRUCache[tuple[int, int], Strip] = LRUCache(1024)
        self._generation = 0  # bumped whenever rows or highlights change: cached strips are stale then
        self._told: tuple[bool, int] = (True, 0)

    # -- what it shows ------------------------------------------------------------------------------

    def clear(self) -> None:
        """No lines, no note, following: another run is about to be shown."""
        self.lines, self._parts, self._note = [], [], None
        self.following, self.waiting = True, 0
        self._reindex_matches()
        self._rewrap()
        self.scroll_to(y=0, animate=False, immediate=True)
        self._tell()

    def append(self, lines: list[LogLine]) -> None:
        """Add lines at the bottom: the view follows them, or counts them when scrolled up."""
        if not lines:
            return
        first = len(self._parts)
        for line in lines:
            self._parts.extend(parts_of(len(self.lines), line))
            self.lines.append(line)
        if self._pattern is not None:
            for index in range(first, len(self._parts)):
                self._add_matches(index)
        if self._width == self.scrollable_content_region.width:
            self._wrap_parts(first)
            self._laid_out()
        else:
            self._rewrap()
        if not self.following:
            self.waiting += len(lines)
            self._tell()

    def set_note(self, text: str | None, style: str = "dim italic") -> None:
        """Our own words below the lines (the log is empty, it could not be read), or none."""
        note = _Part(-1, "", "", printable(text), style) if text else None
        if note != self._note:
            self._note = note
            self._wrap_note()
            self._laid_out()

    @property
    def note(self) -> str | None:
        return self._note.body if self._note is not None else None

    @property
    def row_count(self) -> int:
        return len(self._rows) + len(self._note_rows)

    def plain_lines(self) -> list[str]:
        """Every row as the user reads it, without colours."""
        return [self.row_text(index).plain.rstrip() for index in range(self.row_count)]

    def plain_text(self) -> str:
        return "\n".join(self.plain_lines())

    def log_text(self) -> str:
        """The run's lines as text, one a line (what `copy` puts on the clipboard)."""
        out = []
        for line in self.lines:
            out.append(
                printable(f"{line.timestamp or '-'} {line.kind:<7} {line.step or '-'}  {line.message}")
            )
            if line.hint:
                out.append("    hint: " + printable(line.hint))
            if line.link:
                out.append("    link: " + printable(line.link))
        return "\n".join(out)

    # -- search -------------------------------------------------------------------------------------

    def search(self, text: str) -> int:
        """Mark every match of `text` (empty: no search); the first at or below the view's top becomes the
        current one, scrolled into view. Returns how many there are."""
        self.query_text = text
        self._pattern = re.compile(re.escape(text), re.IGNORECASE) if text else None
        self._reindex_matches()
        if self.matches:
            top = int(self.scroll_y)
            self.current = next((n for n, match in enumerate(self.matches) if self._row_of(match) >= top), 0)
            self._show_current()
        self._changed()
        return len(self.matches)

    def next_match(self, step: int) -> None:
        """The next (1) or previous (-1) match becomes the current one, round the ends."""
        if not self.matches:
            return
        self.current = (self.current + step) % len(self.matches)
        self._show_current()
        self._changed()

    def _reindex_matches(self) -> None:
        self.matches, self._by_part, self.current = [], {}, -1
        if self._pattern is not None:
            for index in range(len(self._parts)):
                self._add_matches(index)

    def _add_matches(self, index: int) -> None:
        assert self._pattern is not None
        for found in self._pattern.finditer(self._parts[index].body):
            self._by_part.setdefault(index, []).append(len(self.matches))
            self.matches.append((index, found.start(), found.end()))

    def _row_of(self, match: tuple[int, int, int]) -> int:
        part, start, _ = match
        row = self._first_row[part]
        while (
            row + 1 < len(self._rows) and self._rows[row + 1][0] == part and self._rows[row + 1][1] <= start
        ):
            row += 1
        return row

    def _show_current(self) -> None:
        row = self._row_of(self.matches[self.current])
        height = max(1, self.scrollable_content_region.height)
        if not self.scroll_y <= row < self.scroll_y + height:
            self.scroll_to(y=max(0, row - height // 3), animate=False, immediate=True, force=True)

    # -- scrolling ----------------------------------------------------------------------------------

    def action_page(self, step: int) -> None:
        height = max(1, self.scrollable_content_region.height - 1)
        self.scroll_to(y=self.scroll_y + step * height, animate=False, immediate=True)

    def action_line(self, step: int) -> None:
        self.scroll_to(y=self.scroll_y + step, animate=False, immediate=True)

    def action_top(self) -> None:
        self.scroll_to(y=0, animate=False, immediate=True)

    def action_bottom(self) -> None:
        self.scroll_end(animate=False, immediate=True, x_axis=False, force=True)
        self.following, self.waiting = True, 0
        self._tell()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        at_bottom = new_value >= self.max_scroll_y
        if at_bottom != self.following:
            self.following = at_bottom
            if at_bottom:
                self.waiting = 0
            self._tell()

    def on_resize(self, event: Resize) -> None:
        if self.scrollable_content_region.width != self._width:
            self._rewrap()
        elif self.following:
            self.scroll_end(animate=False, immediate=True, x_axis=False, force=True)

    def _tell(self) -> None:
        state = (self.following, self.waiting)
        if state != self._told:
            self._told = state
            self.post_message(self.Following(self, *state))

    # -- layout -------------------------------------------------------------------------------------

    def _rewrap(self) -> None:
        """Every row again, for the current width; the line at the top stays at the top."""
        top_part = self._rows[int(self.scroll_y)][0] if not self.following and self._rows else None
        self._width = self.scrollable_content_region.width
        self._rows, self._first_row = [], []
        self._wrap_parts(0)
        self._wrap_note()
        self._laid_out(top_part)

    def _wrap_parts(self, first: int) -> None:
        width = self._width
        for index in range(first, len(self._parts)):
            self._first_row.append(len(self._rows))
            body = self._parts[index].body
            self._rows.extend((index, start, end) for start, end in wrap(body, width - self._indent(width)))

    def _wrap_note(self) -> None:
        self._note_rows = wrap(self._note.body, self._width) if self._note is not None else []

    def _laid_out(self, top_part: int | None = None) -> None:
        """The new rows are in: size the view, then follow the bottom, or keep a line at the top."""
        self._changed()
        self.virtual_size = Size(max(0, self._width), self.row_count)
        if self.following:
            self.scroll_end(animate=False, immediate=True, x_axis=False, force=True)
        elif top_part is not None and top_part < len(self._first_row):
            self.scroll_to(y=self._first_row[top_part], animate=False, immediate=True, force=True)

    @staticmethod
    def _indent(width: int) -> int:
        """Where messages start (`18:26:40 Deploy      `), or 0 when the view is too narrow for it."""
        indent = 9 + STEP_WIDTH + 1
        return indent if width - indent >= MIN_BODY else 0

    def _changed(self) -> None:
        self._generation += 1
        self._strips.clear()
        self.refresh()

    # -- rendering ----------------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        self._strips.clear()
        super().notify_style_update()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        index = scroll_y + y
        base = self.rich_style
        if index >= self.row_count:
            return Strip.blank(width, base)
        key = (self._generation, index)
        strip = self._strips.get(key)
        if strip is None:
            text = self.row_text(index)
            # The widget's style under the row's (a Text's own base style is not rendered without spans).
            strip = Strip(list(text.render(self.app.console)), text.cell_len).apply_style(base)
            self._strips[key] = strip
        return strip.crop_extend(scroll_x, scroll_x + width, base)

    def row_text(self, index: int) -> Text:
        """Screen row `index` (0: the top of the log) with its colours and search marks."""
        text = Text(no_wrap=True)
        if index >= len(self._rows):
            assert self._note is not None
            start, end = self._note_rows[index - len(self._rows)]
            text.append(self._note.body[start:end], style=self._note.style)
            return text
        part_index, start, end = self._rows[index]
        part = self._parts[part_index]
        indent = self._indent(self._width)
        if indent and self._first_row[part_index] == index:
            text.append(part.time.ljust(9), style="dim")
            label = part.label if len(part.label) <= STEP_WIDTH else part.label[: STEP_WIDTH - 1] + "…"
            text.append(label.ljust(STEP_WIDTH + 1), style=part.label_style)
        elif indent:
            text.append(" " * indent)
        offset = len(text)
        text.append(part.body[start:end], style=part.style)
        for number in self._by_part.get(part_index, ()):
            _, match_start, match_end = self.matches[number]
            if match_end <= start or match_start >= end:
                continue
            style = CURRENT_MATCH_STYLE if number == self.current else MATCH_STYLE
            text.stylize(
                style, offset + max(match_start, start) - start, offset + min(match_end, end) - start
            )
        return text
