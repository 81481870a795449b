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

from qjob_tui.jobs import ActionMark, state_category
from qjob_tui.lines import printable

# Colours per state category (README, "The dashboard"): red errors, blue in progress, yellow queued, green
# settled, dim for a job that is gone. Errors are bold with a mark, so that they stand out without colour too
# (NO_COLOR, a monochrome terminal).
STATE_STYLES: dict[str, str] = {
    "ok": "green",
    "progress": "bold dodger_blue1",
    "queued": "yellow",
    "error": "bold red",
    "gone": "dim",
    "unknown": "",
}
GONE_STATES = frozenset({"DELETED"})  # settled, but nothing is left to look at
ERROR_MARK = "✗ "
# The cells a state column needs for the longest state Qovery names with its mark: `✗ DEPLOYMENT_ERROR`.
STATE_WIDTH = len(ERROR_MARK) + len("DEPLOYMENT_ERROR")

SOURCE_STYLES: dict[str, str] = {"tui": "cyan", "rest": "magenta", "mcp": "bright_magenta", "cli": "blue"}


def state_style(state: str | None) -> str:
    """The colour of a state: its category's (STATE_STYLES), dim for a job that is gone."""
    if state in GONE_STATES:
        return STATE_STYLES["gone"]
    return STATE_STYLES[state_category(state)]


def state_text(state: str | None) -> Text:
    """The state as Qovery names it, coloured by category, an error marked `✗`; an unknown state is shown as
    it is."""
    if not state:
        return Text("…", style="dim")
    mark = ERROR_MARK if state_category(state) == "error" else ""
    return Text(mark + printable(state), style=state_style(state), no_wrap=True, overflow="ellipsis")


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


def mark_text(mark: ActionMark) -> Text:
    """`deploy CRON 202 mcp`: the action, what it was asked with, Qovery's answer (green, or red with `✗`) and
    the face that asked."""
    text = Text(printable(mark.action))
    if mark.options:
        text.append(" " + printable(mark.options), style="bold")
    text.append(" ")
    if mark.ok:
        text.append(printable(mark.result), style="green")
    else:
        text.append(ERROR_MARK + printable(mark.result), style="red")
    text.append(" " + mark.source, style=SOURCE_STYLES.get(mark.source, "dim"))
    return text


def last_action_text(accepted: ActionMark | None, failed: ActionMark | None, width: int) -> Text:
    """The LAST ACTION cell in `width` cells: the last action Qovery accepted, and a later attempt that failed
    beside it (`deploy CRON 202 tui  ✗ redeploy 409 …`). When both do not fit, the failure keeps its mark and
    status at the end, with its action when it is another one and there is room (`✗stop 409`, else `✗409`),
    and the accepted action is cut: neither hides the other."""
    if accepted is None and failed is None:
        return Text("")
    if accepted is None or failed is None:
        text = mark_text(accepted or failed)  # type: ignore[arg-type]
        text.truncate(width, overflow="ellipsis")
        return text
    text = mark_text(accepted)
    later = Text("  ")
    later.append_text(mark_text(failed))
    if text.cell_len + later.cell_len <= width:
        return text + later
    room = width - text.cell_len
    if room >= len(failed.action) + 2 * len(ERROR_MARK) + 8:  # the failure's message cut, all else whole
        later.truncate(room, overflow="ellipsis")
        return text + later
    status = failed.result.split(" ", 1)[0]
    short = Text(" " + ERROR_MARK.strip() + printable(status), style="bold red")
    if failed.action != accepted.action:  # which action failed, when another one did (`✗stop 409`)
        named = Text(" " + ERROR_MARK.strip() + printable(f"{failed.action} {status}"), style="bold red")
        if width - named.cell_len >= _LEAST_OF_ACCEPTED:
            short = named
    text.truncate(max(1, width - short.cell_len), overflow="ellipsis")
    return text + short


_LEAST_OF_ACCEPTED = (
    6  # cells left for the accepted action beside a named failure ("deplo…"), else only its status
)


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
