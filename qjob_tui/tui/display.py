"""How job fields and Qovery's answers are shown: state colours, ages, job types, compact pretty JSON.

Everything returns `rich.text.Text` built from plain strings, never markup: job names and Qovery's
messages are outside input, and a `[` in them must show as a `[`; their control characters and escape
sequences show as visible escapes (`printable`), never reach the terminal.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from rich.text import Text

from qjob_tui.jobs import state_category
from qjob_tui.lines import printable

# Colours per state category (README, "The dashboard"): green settled fine, blue in progress, yellow queued, red errors.
STATE_STYLES: dict[str, str] = {
    "ok": "green",
    "progress": "bold dodger_blue1",
    "queued": "yellow",
    "error": "bold red",
    "unknown": "",
}

SOURCE_STYLES: dict[str, str] = {"tui": "cyan", "rest": "magenta", "mcp": "bright_magenta"}


def state_text(state: str | None) -> Text:
    """The state as Qovery names it, coloured by category; an unknown state is shown as it is."""
    if not state:
        return Text("…", style="dim")
    return Text(
        printable(state), style=STATE_STYLES[state_category(state)], no_wrap=True, overflow="ellipsis"
    )


def type_text(job_type: str | None) -> Text:
    """`cron` or `lifecycle` (or whatever Qovery says, lower-cased); `?` until known."""
    if not job_type:
        return Text("?", style="dim")
    return Text(printable(job_type.lower()))


def parse_date(value: str | None) -> datetime | None:
    """An ISO 8601 date from Qovery, or None when absent or unreadable."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def age(value: str | None, now: datetime) -> str:
    """How long ago a date was, k9s style: `<1m ago`, `12m ago`, `5h ago`, `3d ago`; the raw text if not a date."""
    when = parse_date(value)
    if when is None:
        return printable(value or "")
    seconds = max(0, int((now - when).total_seconds()))
    if seconds < 60:
        return "<1m ago"  # minutes are enough for an age, and ages re-render every AGE_REFRESH_S
    if seconds < 3600:
        return f"{seconds // 60}m ago"
    if seconds < 48 * 3600:
        return f"{seconds // 3600}h ago"
    return f"{seconds // 86400}d ago"


def result_text(action: str | None, result: str | None, ok: bool | None) -> Text:
    """`deploy 202` in green, `stop 409 Operation in progress` in red; empty before any action."""
    if not action:
        return Text("")
    text = Text(printable(action))
    if result:
        text.append(" ")
        text.append(printable(result), style="green" if ok else "red")
    return text


def pretty_json(data: Any, width: int = 100) -> list[str]:
    """Qovery's JSON, indented, with every object or array that fits on one line kept on one line.

    A Status object reads in ten lines instead of twenty, which matters in a log pane of eight.
    """
    lines: list[str] = []
    _pretty(data, 0, "", "", width, lines)
    return lines


def _pretty(value: Any, indent: int, prefix: str, suffix: str, width: int, out: list[str]) -> None:
    pad = " " * indent
    flat = json.dumps(value, ensure_ascii=False)
    if not isinstance(value, dict | list) or not value or indent + len(prefix) + len(flat) <= width:
        out.append(f"{pad}{prefix}{flat}{suffix}")
        return
    opening, closing = ("{", "}") if isinstance(value, dict) else ("[", "]")
    out.append(f"{pad}{prefix}{opening}")
    items = list(value.items()) if isinstance(value, dict) else [(None, v) for v in value]
    for index, (key, item) in enumerate(items):
        comma = "," if index < len(items) - 1 else ""
        key_prefix = f"{json.dumps(key, ensure_ascii=False)}: " if key is not None else ""
        _pretty(item, indent + 2, key_prefix, comma, width, out)
    out.append(f"{pad}{closing}{suffix}")
