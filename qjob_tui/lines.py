"""The one-line texts faces print about what the core did, written the same by every face.

A face that reports in lines (the headless relay on stderr today; the one-shot command and MCP over stdio
next) prints these rather than its own: times in ISO 8601 UTC (the audit log's format too), one line per
action outcome, and the program's own notes, through a `LinePrinter`.

Text from outside (Qovery's messages, job names, a caller's input) may hold line breaks, terminal escape
sequences and other control characters: `printable()` writes them as visible escapes (`\\n`, `\\x1b`), so that
a message can neither forge a second log line nor drive the operator's terminal. Every face that shows text on
a terminal (these lines, the dashboard's log pane, dialogs and notifications) goes through it.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal, TextIO

from qjob_tui.redaction import Redactor

if TYPE_CHECKING:  # for the annotations only: the pipeline imports this module
    from qjob_tui.pipeline import ActionOutcome, Refusal

PROGRAM = "qjob-tui"

_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str) -> str:
    """`text` safe for a terminal: every character that is not printable (C0 and C1 controls, ESC, line and
    paragraph separators, bidi controls, lone surrogates...) written as a visible escape, on one line."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else _escape(char) for char in text)


def _escape(char: str) -> str:
    code = ord(char)
    if char in _ESCAPES:
        return _ESCAPES[char]
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def iso_utc(moment: datetime | float, timespec: Literal["seconds", "milliseconds"] = "milliseconds") -> str:
    """`2026-05-19T10:00:00.123Z`: an aware datetime or a `time.time()` stamp, in UTC."""
    when = datetime.fromtimestamp(moment, UTC) if isinstance(moment, int | float) else moment.astimezone(UTC)
    return when.isoformat(timespec=timespec).replace("+00:00", "Z")


def action_line(outcome: ActionOutcome) -> str:
    """`2026-05-19T10:00:00.123Z rest deploy nightly-backup 202 45ms`."""
    request = outcome.request
    job = outcome.job_name or request.job_id
    event = f" {request.force_event.value}" if request.force_event else ""
    return printable(
        f"{iso_utc(outcome.started_at)} {request.source} {request.action.name}{event} {job} "
        f"{outcome.summary} {outcome.elapsed_s * 1000:.0f}ms"
    )


def refusal_line(refusal: Refusal) -> str:
    """`2026-05-19T10:00:00.123Z rest refused POST /v1/job/x/deploy 401 unauthorized: send Authorization…`:
    a request refused before Qovery, whoever refused it (the relay's guard and routes, the pipeline)."""
    refused = refusal.refused
    kind = f" {refused.slug}" if refused.slug else ""
    return printable(
        f"{iso_utc(refusal.at)} {refusal.source} refused {refusal.action} {refusal.job_id} "
        f"{refused.status}{kind}: {refused.explained}"
    )


REPEAT_WINDOW_S = 10.0  # identical lines within this long of the first are counted, not repeated


def repeats_text(count: int, span_s: float) -> str:
    """`\N{MULTIPLICATION SIGN}12 in 10 s`: how often a line came within its window."""
    return f"\N{MULTIPLICATION SIGN}{count} in {max(1, round(span_s))} s"


@dataclass
class Repeat:
    """A line said once that came again: how often, over how long (from its first to its last time)."""

    first_at: float
    last_at: float
    count: int = 1


class Repeats:
    """Collapses what repeats, so that a flood (an agent retrying a refused call) cannot drown what it is shown
    in: the first of a kind within `window_s` is shown, the next ones only counted; `ended()` gives the
    counts of the windows that have passed, for a face to say `x12 in 10 s` once."""

    def __init__(
        self, window_s: float = REPEAT_WINDOW_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.window_s = window_s
        self.clock = clock
        self._open: dict[Hashable, Repeat] = {}

    def seen(self, key: Hashable) -> Repeat | None:
        """None for the first of its kind in its window (show it); else its `Repeat`, counted once more."""
        now = self.clock()
        repeat = self._open.get(key)
        if repeat is not None and now - repeat.first_at < self.window_s:
            repeat.count += 1
            repeat.last_at = now
            return repeat
        self._open[key] = Repeat(now, now)
        return None

    def ended(self) -> list[tuple[Hashable, Repeat]]:
        """The kinds whose window has passed, each given once (then forgotten); those with a `count` above 1
        came again."""
        now = self.clock()
        done = [(key, repeat) for key, repeat in self._open.items() if now - repeat.first_at >= self.window_s]
        for key, _ in done:
            del self._open[key]
        return done

    def flush(self) -> list[tuple[Hashable, Repeat]]:
        """Every kind still counted, whether or not its window has passed (at the end)."""
        done, self._open = self._open, {}
        return list(done.items())


def count_of(n: int, noun: str, plural: str | None = None) -> str:
    """`1 job`, `2 jobs` (`plural` when adding an s will not do): every face counts the same way."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def note_line(text: str) -> str:
    """`qjob-tui: <text>`: what the program itself says (an error, a warning, a stop)."""
    return printable(f"{PROGRAM}: {text}")


def is_terminal(stream: TextIO | None) -> bool:
    """Whether `stream` is a terminal, a person at it; a closed or missing one (`sys.stdin` is None when fd 0
    was closed) is not."""
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False


def write_line(stream: TextIO | None, text: str) -> OSError | ValueError | None:
    """Print one line to `stream`, flushed; the error when the stream cannot take it (a reader that has gone,
    `| head -1`; a full disk; a closed stream). Such a stream is then pointed at the null device, so that its
    later lines and the interpreter's last flush are dropped quietly: what the program does goes on, only its
    lines are lost. Whether to say so is the caller's call (a gone reader asked for nothing more).

    A missing stream (`sys.stderr` is None when the process started with fd 2 closed) takes nothing:
    `print(file=None)` would write to stdout, among a command's JSON lines."""
    if stream is None:
        return ValueError("the stream is closed")
    try:
        print(text, file=stream, flush=True)
    except (OSError, ValueError) as exc:
        with contextlib.suppress(OSError, ValueError):
            null = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(null, stream.fileno())
            finally:
                os.close(null)
        return exc
    return None


class OutputLines:
    """A command's lines on stdout (`write_line`), with the one remark a lost stdout deserves: a reader that has
    gone (`| head -1`) asked for no more, but a stdout that failed otherwise (a full disk) is said once on
    `stderr`, so that a script learns that the file it wrote is short."""

    def __init__(self, stdout: TextIO, stderr: TextIO) -> None:
        self.stdout = stdout
        self.stderr = stderr
        self.lost = False

    def __call__(self, text: str) -> None:
        error = write_line(self.stdout, text)
        if error is None or isinstance(error, BrokenPipeError) or self.lost:
            return
        self.lost = True
        why = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        write_line(
            self.stderr, note_line(f"stdout cannot be written ({why}); the rest of its lines are lost")
        )


class LinePrinter:
    """Where a face that reports in lines prints (stderr): each text without secrets, terminal-safe, one line,
    flushed at once. A stream that went away (a closed pipe) costs the line, never the face."""

    def __init__(self, out: TextIO, redactor: Redactor) -> None:
        self.out = out
        self.redactor = redactor

    def __call__(self, text: str) -> None:
        with contextlib.suppress(OSError, ValueError):
            print(printable(self.redactor.text(text)), file=self.out, flush=True)
