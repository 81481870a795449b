"""The one-line texts faces print about what the core did, written the same by every face.

A face that reports in lines (the headless relay on stderr today; the one-shot command and MCP over stdio
next) prints these rather than its own: times in ISO 8601 UTC (the audit log's format too), one line per
action outcome, and the program's own notes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # for the annotations only: the pipeline imports this module
    from qjob_tui.pipeline import ActionOutcome

PROGRAM = "qjob-tui"


def iso_utc(moment: datetime | float, timespec: Literal["seconds", "milliseconds"] = "milliseconds") -> str:
    """`2026-05-19T10:00:00.123Z`: an aware datetime or a `time.time()` stamp, in UTC."""
    when = datetime.fromtimestamp(moment, UTC) if isinstance(moment, int | float) else moment.astimezone(UTC)
    return when.isoformat(timespec=timespec).replace("+00:00", "Z")


def action_line(outcome: ActionOutcome) -> str:
    """`2026-05-19T10:00:00.123Z rest deploy nightly-backup 202 45ms`."""
    request = outcome.request
    job = outcome.job_name or request.job_id
    event = f" {request.force_event.value}" if request.force_event else ""
    return (
        f"{iso_utc(outcome.started_at)} {request.source} {request.action.name}{event} {job} "
        f"{outcome.summary} {outcome.elapsed_s * 1000:.0f}ms"
    )


def note_line(text: str) -> str:
    """`qjob-tui: <text>`: what the program itself says (an error, a warning, a stop)."""
    return f"{PROGRAM}: {text}"
