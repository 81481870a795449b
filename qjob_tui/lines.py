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
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal, TextIO

from qjob_tui.redaction import Redactor

if TYPE_CHECKING:  # for the annotations only: the pipeline imports this module
    from qjob_tui.pipeline import ActionOutcome

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


def note_line(text: str) -> str:
    """`qjob-tui: <text>`: what the program itself says (an error, a warning, a stop)."""
    return printable(f"{PROGRAM}: {text}")


class LinePrinter:
    """Where a face that reports in lines prints (stderr): each text without secrets, terminal-safe, one line,
    flushed at once. A stream that went away (a closed pipe) costs the line, never the face."""

    def __init__(self, out: TextIO, redactor: Redactor) -> None:
        self.out = out
        self.redactor = redactor

    def __call__(self, text: str) -> None:
        with contextlib.suppress(OSError, ValueError):
            print(printable(self.redactor.text(text)), file=self.out, flush=True)
