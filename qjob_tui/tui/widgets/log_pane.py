"""The log pane: every action's outcome from every face, with Qovery's JSON, newest last.

An entry is one header line (time, source, action, job, HTTP status) and Qovery's JSON below it, errors in
red. Every text of an entry is shown without secrets and terminal-safe (control characters and escape
sequences written as visible escapes, `qjob_tui.lines.printable`): outside text can neither forge an entry
nor drive the terminal. The pane keeps the last `max_entries` entries. It is a line-API widget: only the visible lines are
rendered, and lines are not wrapped (long ones scroll sideways), so a resize costs nothing.

One entry is selected (the newest, unless the user moves up in the pane): that is what "copy" copies.

The pane follows the newest entry, its header line always in view (a long JSON body is cut at the bottom,
never its header at the top), until the user scrolls or selects up; then new entries wait below, counted on
the pane's last line, until End (or scrolling to the bottom) follows again. An entry that repeats one of the
last window (`lines.Repeats`: the same source, action, job, result and text) is counted on it, `x12 in 10 s`,
instead of added: a flood of refused requests cannot drown the pane.
"""

from __future__ import annotations

import itertools
import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from rich.cells import cell_len
from rich.highlighter import JSONHighlighter
from rich.text import Text
from textual.binding import Binding
from textual.cache import LRUCache
from textual.events import Click
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from qjob_tui.lines import Repeats, printable, repeats_text
from qjob_tui.pipeline import ActionOutcome, ActionRequest, Refusal
from qjob_tui.tui.display import SOURCE_STYLES, pretty_json

_seq = itertools.count()
_highlight_json = JSONHighlighter()


@dataclass
class LogEntry:
    """One line of history: an action's outcome, or a note from the dashboard itself (source `app`)."""

    time: datetime
    source: str  # tui, rest, mcp, or app for the dashboard's own notes
    action: str  # `deploy`, `deploy forceEvent=CRON`, `discover`, ...
    job: str
    result: str  # `202`, `409 Operation in progress`, `timeout`, `refused: ...`
    ok: bool
    data: Any = None  # Qovery's JSON (None: no body)
    detail: str | None = None  # what went wrong when Qovery's JSON does not say it
    status: int | None = None
    audit_error: str | None = None  # the action ran but its audit line could not be written
    seq: int = field(default_factory=lambda: next(_seq))
    body: list[str] = field(init=False)
    repeats: int = field(default=1, init=False)  # how often it came within the window (`x12 in 10 s`)
    repeat_span_s: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        self.layout()

    def layout(self, width: int = 100, redact: Callable[[str], str] = str) -> None:
        """Prepare the texts for the screen: `redact`ed, terminal-safe, Qovery's JSON fitted to `width`."""

        def shown(text: str) -> str:
            return printable(redact(text))

        self.action, self.job, self.result = shown(self.action), shown(self.job), shown(self.result)
        if self.data is not None:
            body = [shown(line) for line in pretty_json(self.data, width)]
        elif self.detail:
            body = [shown(self.detail)]  # one line: a line break in outside text must not look like an entry
        elif self.status == 204:
            body = ["(no content)"]
        else:
            body = []
        if self.audit_error:
            body.append(f"AUDIT: {shown(self.audit_error)}")
            self.ok = False
        self.body = body

    @property
    def height(self) -> int:
        return 1 + len(self.body)

    @property
    def repeat_key(self) -> tuple[object, ...]:
        """What makes two entries the same for counting repeats (not their time)."""
        return (self.source, self.action, self.job, self.result, self.ok, tuple(self.body))

    @staticmethod
    def action_text(request: ActionRequest) -> str:
        """`deploy`, `deploy forceEvent=CRON`, `deploy {"image_tag":"2.5.0"}`: an action as the pane names it."""
        action = request.action.name
        if request.force_event is not None:
            action += f" forceEvent={request.force_event.value}"
        if request.body:
            action += " " + json.dumps(request.body, ensure_ascii=False, separators=(",", ":"))
        return action

    @classmethod
    def from_outcome(cls, outcome: ActionOutcome) -> LogEntry:
        request = outcome.request
        return cls(
            # When it went on to Qovery (or was refused): after the operator's answer, for a gated request.
            time=outcome.started_at + timedelta(seconds=outcome.waited_s),
            source=request.source,
            action=cls.action_text(request),
            job=outcome.job_name or request.job_id,
            result=outcome.summary,
            ok=outcome.ok,
            data=outcome.data,
            detail=None if outcome.data is not None else outcome.error_message,
            status=outcome.status,
            audit_error=outcome.audit_error,
        )

    @classmethod
    def from_refusal(cls, refusal: Refusal) -> LogEntry:
        refused = refusal.refused
        return cls(
            time=refusal.at,
            source=refusal.source,
            action=refusal.action,
            job=refusal.job_id,
            result=f"{refused.status} refused" + (f" · {refused.slug}" if refused.slug else ""),
            ok=False,
            detail=refused.explained,  # the input at fault first, as the caller was told
            status=refused.status,
        )

    @classmethod
    def note(cls, action: str, message: str, *, job: str = "-", ok: bool = False) -> LogEntry:
        """A line from the dashboard itself: a discovery error, a refresh error, a keymap problem."""
        return cls(
            time=datetime.now(UTC),
            source="app",
            action=action,
            job=job,
            result="ok" if ok else "error",
            ok=ok,
            detail=message,
        )

    def json_text(self) -> str:
        """What "copy" puts on the clipboard: Qovery's JSON, or the error as JSON when there is none."""
        if self.data is not None:
            return json.dumps(self.data, indent=2, ensure_ascii=False)
        return json.dumps(
            {
                "action": self.action,
                "job": self.job,
                "status": self.status,
                "result": self.result,
                "detail": self.detail,
            },
            indent=2,
            ensure_ascii=False,
        )


class LogPane(ScrollView, can_focus=True):
    """The outcomes of the actions, newest last; up/down select an entry when the pane has focus."""

    COMPONENT_CLASSES = {"log-pane--cursor"}

    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Previous entry", show=False),
        Binding("down,j", "cursor(1)", "Next entry", show=False),
        Binding("home", "first", "First entry", show=False),
        Binding("end", "last", "Newest entry", show=False),
    ]

    def __init__(
        self,
        max_entries: int = 5000,
        *,
        frozen_time: str | None = None,
        redact: Callable[[str], str] = str,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.max_entries = max_entries
        self.redact = redact  # the process's secrets out of every text shown (Runtime.redactor.text)
        self.frozen_time = frozen_time  # shown instead of each entry's time (snapshots)
        self.entries: deque[LogEntry] = deque()
        self.cursor = -1  # index in `entries` of the selected entry
        self.follow = True  # the view and the selection follow the newest entry
        self.unseen = 0  # entries added while not following: the "new entries below" marker counts them
        self._repeats = Repeats()
        self._repeated: dict[object, LogEntry] = {}  # repeat key -> the entry its repeats are counted on
        self._user_scrolls = False  # the user scrolled (wheel, scrollbar) since the pane last scrolled itself
        self._lines: list[tuple[LogEntry, int]] = []  # every line: (entry, line number in the entry)
        self._dropped_lines = 0  # lines of the entries dropped at the top (entry.start is absolute)
        self._starts: dict[int, int] = {}  # entry seq -> absolute line number of its header
        self._width = 0
        self._follow_scheduled = False
        self._strips: LRUCache[tuple[int, int, bool, int], Strip] = LRUCache(1024)

    # -- adding ------------------------------------------------------------------------------------

    def add(self, entry: LogEntry) -> None:
        """Append an entry (or count it on the same one of the last window), dropping the oldest beyond
        `max_entries`; the view follows the newest, unless the user scrolled up."""
        width = self.scrollable_content_region.width
        # Fit the pane as it is now (2 of indent, 1 spare).
        entry.layout(width - 3 if width > 20 else 100, self.redact)
        if self._counted(entry):
            return
        while len(self.entries) >= self.max_entries:
            dropped = self.entries.popleft()
            del self._lines[: dropped.height]
            del self._starts[dropped.seq]
            self._dropped_lines += dropped.height
            self.cursor = max(0, self.cursor - 1)
            if not self.follow:
                self._scroll(max(0, self.scroll_y - dropped.height))
        self._starts[entry.seq] = self._dropped_lines + len(self._lines)
        self.entries.append(entry)
        self._lines.extend((entry, n) for n in range(entry.height))
        self._width = max(
            self._width, self._header(entry).cell_len, *(2 + cell_len(line) for line in entry.body)
        )
        self.virtual_size = Size(self._width, len(self._lines))
        if self.follow:
            self.cursor = len(self.entries) - 1
            self._scroll(self._newest_y())
            # Again once laid out: a horizontal scrollbar that just appeared takes a line from the view.
            if not self._follow_scheduled:
                self._follow_scheduled = True
                self.call_after_refresh(self._keep_following)
        else:
            self.unseen += 1
        self.refresh()

    def _counted(self, entry: LogEntry) -> bool:
        """True when `entry` repeats one of the last window still in the pane: counted on it instead."""
        for key, _ in self._repeats.ended():
            self._repeated.pop(key, None)
        key = entry.repeat_key
        repeat = self._repeats.seen(key)
        known = self._repeated.get(key)
        if repeat is None or known is None or known.seq not in self._starts:
            self._repeated[key] = entry
            return False
        known.repeats, known.repeat_span_s = repeat.count, repeat.last_at - repeat.first_at
        self._width = max(self._width, self._header(known).cell_len)
        self.virtual_size = Size(self._width, len(self._lines))
        self.refresh()
        return True

    def _newest_y(self) -> int:
        """Where the view follows to: the bottom, or the newest entry's header when that entry is taller
        than the view (its header line is what says what it is)."""
        bottom = max(0, len(self._lines) - self.scrollable_content_region.height)
        if not self.entries:
            return bottom
        newest = self.entries[-1]
        return min(bottom, self._starts[newest.seq] - self._dropped_lines)

    def _scroll(self, y: float) -> None:
        self._user_scrolls = False
        # force: until a layout has shown the scrollbar, Textual ignores a scroll (allow_vertical_scroll).
        self.scroll_to(y=y, animate=False, immediate=True, force=True)

    # What the user does to the view (not a layout's clamp of scroll_y): it decides whether the pane follows.
    def on_mouse_scroll_up(self) -> None:
        self._user_scrolls = True

    def on_mouse_scroll_down(self) -> None:
        self._user_scrolls = True

    def on_scroll_up(self) -> None:
        self._user_scrolls = True

    def on_scroll_down(self) -> None:
        self._user_scrolls = True

    def on_scroll_to(self) -> None:
        self._user_scrolls = True

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if not self._user_scrolls or not self.entries:
            return
        # The user scrolled: up from the newest stops following; back down to it follows again.
        at_newest = new_value >= self._newest_y()
        if at_newest != self.follow:
            self.follow = at_newest
            if at_newest:
                self.cursor = len(self.entries) - 1
                self.unseen = 0
            self.refresh()

    def on_resize(self) -> None:
        if self.follow and not self._follow_scheduled:  # a taller or shorter view: the newest still in it
            self._follow_scheduled = True
            self.call_after_refresh(self._keep_following)

    def _keep_following(self) -> None:
        self._follow_scheduled = False
        if self.follow:
            self._scroll(self._newest_y())

    @property
    def selected(self) -> LogEntry | None:
        return self.entries[self.cursor] if 0 <= self.cursor < len(self.entries) else None

    def plain_lines(self) -> list[str]:
        """Every line as plain text (what a reader sees, without colours)."""
        return [self.line_text(index).plain for index in range(len(self._lines))]

    def plain_text(self) -> str:
        return "\n".join(self.plain_lines())

    def line_text(self, index: int) -> Text:
        """Line `index` of the pane (0: the oldest line kept), with its colours."""
        entry, n = self._lines[index]
        return self._text(entry, n)

    # -- moving the selection ----------------------------------------------------------------------

    def action_cursor(self, step: int) -> None:
        self._select(self.cursor + step)

    def action_first(self) -> None:
        self._select(0)

    def action_last(self) -> None:
        self._select(len(self.entries) - 1)

    def on_click(self, event: Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        index = self.scroll_offset.y + offset.y
        if 0 <= index < len(self._lines):
            entry = self._lines[index][0]
            self._select(entry.seq - self.entries[0].seq)

    def _select(self, index: int) -> None:
        if not self.entries:
            return
        self.cursor = max(0, min(index, len(self.entries) - 1))
        self.follow = self.cursor == len(self.entries) - 1
        if self.follow:
            self.unseen = 0
            self._scroll(self._newest_y())
            self.refresh()
            return
        entry = self.entries[self.cursor]
        top = self._starts[entry.seq] - self._dropped_lines
        height = self.scrollable_content_region.height
        if top < self.scroll_y:
            self._scroll(top)
        elif top + entry.height > self.scroll_y + height:
            self._scroll(min(top, top + entry.height - height))
        self.refresh()

    # -- rendering ---------------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        self._strips.clear()
        super().notify_style_update()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        index = scroll_y + y
        base = self.rich_style
        if self.unseen and not self.follow and y == self.scrollable_content_region.height - 1:
            return self._marker(width)
        if index >= len(self._lines):
            return Strip.blank(width, base)
        entry, n = self._lines[index]
        selected = self.has_focus and entry is self.selected
        style = base + self.get_component_rich_style("log-pane--cursor") if selected else base
        key = (entry.seq, n, selected, entry.repeats if n == 0 else 1)
        strip = self._strips.get(key)
        if strip is None:
            text = self._text(entry, n)
            text.style = style
            strip = Strip(list(text.render(self.app.console)), text.cell_len)
            self._strips[key] = strip
        return strip.crop_extend(scroll_x, scroll_x + width, style)

    def _marker(self, width: int) -> Strip:
        """The pane's last line while it does not follow: how many entries wait below, and how to see them."""
        count = f"{self.unseen} new entr{'y' if self.unseen == 1 else 'ies'} below"
        text = Text(f" ▼ {count} · end: follow the newest ", style="bold reverse")
        text.truncate(width)
        return Strip(list(text.render(self.app.console)), text.cell_len).extend_cell_length(width)

    def _text(self, entry: LogEntry, n: int) -> Text:
        if n == 0:
            return self._header(entry)
        line = Text("  " + entry.body[n - 1], no_wrap=True)
        if not entry.ok:
            line.stylize("red")
        elif entry.data is not None:
            line = _highlight_json(line)
        else:
            line.stylize("dim")
        return line

    def _header(self, entry: LogEntry) -> Text:
        when = self.frozen_time or entry.time.astimezone().strftime("%H:%M:%S")
        text = Text(no_wrap=True)
        text.append(when, style="dim")
        if entry.repeats > 1:  # up front: a long result must not push the count out of view
            text.append(" " + repeats_text(entry.repeats, entry.repeat_span_s), style="bold yellow")
        text.append(f"  {entry.source:<4} ", style=SOURCE_STYLES.get(entry.source, "dim"))
        text.append(entry.action, style="bold")
        text.append("  ")
        text.append(entry.job)
        text.append("  ")
        text.append(entry.result, style="bold green" if entry.ok else "bold red")
        return text
