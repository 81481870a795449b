"""The header line: where the dashboard talks to (the API or DEMO), whether the servers run, the jobs.

No clock: the header changes only when something the operator cares about changes.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from qjob_tui.lines import count_of, printable


def servers_text(rest_port: int | None, mcp_port: int | None) -> str:
    """`REST :8080 · MCP :9090` when the relay runs beside the dashboard, else `servers off`."""
    if rest_port is None and mcp_port is None:
        return "servers off"
    parts = []
    if rest_port is not None:
        parts.append(f"REST :{rest_port}")
    if mcp_port is not None:
        parts.append(f"MCP :{mcp_port}")
    return " · ".join(parts)


# The right-hand side's room the left side yields to (leaving out the name and the URL's scheme), at most.
STATS_ROOM = 40


class StatusHeader(Horizontal):
    """One line: `qjob-tui │ DEMO │ REST :8080 · MCP :9090` on the left, jobs and refresh trouble on the right."""

    def __init__(
        self, api_label: str, rest_port: int | None, mcp_port: int | None, *, read_only: bool = False
    ) -> None:
        super().__init__()
        self.api_label = api_label
        self.servers = servers_text(rest_port, mcp_port)
        self.read_only = read_only
        self._parts: list[tuple[int, Text]] = []
        self._compact = False

    def where_text(self, *, compact: bool = False) -> Text:
        """`qjob-tui │ https://api.qovery.com │ REST :8080 · MCP :9090`; `compact` leaves out the name and the
        URL's scheme (`api.qovery.com │ REST :8080 · MCP :9090`), so that a narrow header has room on the right
        for what is wrong."""
        where = Text(style="bold")  # the whole left side bold, its separators dim
        if not compact:
            where.append("qjob-tui")
            where.append(" │ ", style="dim")
        label = self.api_label.split("://", 1)[-1] if compact else self.api_label
        where.append(
            f" {label} " if label == "DEMO" else label,
            style="bold black on yellow" if label == "DEMO" else "bold",
        )
        if self.read_only:
            where.append(" ")
            where.append(" READ-ONLY ", style="bold white on dark_blue")
        where.append(" │ ", style="dim")
        where.append(self.servers, style="green" if self.servers != "servers off" else "dim")
        return where

    def compose(self) -> ComposeResult:
        yield Static(self.where_text(), id="where")
        yield Static("", id="stats")

    def show(
        self,
        *,
        jobs: int,
        shown: int,
        marked: int,
        error: str | None,
        backoff_s: float,
        filter_text: str,
        waiting: int = 0,
        waiting_key: str = "a",
        discovery: str = "",
        refreshed_s: float | None = None,
        discovery_error: str | None = None,
        browse_key: str = "b",
    ) -> None:
        """Update the right-hand side, most urgent first: requests waiting for approval (and the key that
        opens them), discovery's progress, a refresh error with its backoff, a discovery that could not read
        everything (each a headline until it clears; the full messages are in the log pane), then the counts,
        the filter, the marks and how long ago the states were read.

        Another face's field goes here as a keyword argument with a default (approval: `waiting`; speed:
        `discovery`, its progress)."""
        # Each part with its urgency (0 first): a header too narrow for all of them drops whole parts, the
        # least urgent first, instead of cutting the line wherever its end falls (`· 2` for `· 2 marked`).
        parts: list[tuple[int, Text]] = []
        if waiting:
            part = Text(f" {waiting} waiting for approval ", style="bold black on yellow")
            part.append(f" {waiting_key} ", style="bold")
            parts.append((0, part))
        if discovery:  # `learning 1,000 jobs: 4/10 environments`
            parts.append((5, Text(discovery, style="cyan")))
        if error:
            part = Text(f"⚠ {printable(error)}", style="bold red")
            if backoff_s:
                part.append(f" · retry in {backoff_s:.0f}s", style="red")
            parts.append((1, part))
        if discovery_error:
            parts.append((1, Text(f"⚠ {printable(discovery_error)}", style="bold red")))
        counts = count_of(jobs, "job") if shown == jobs else f"{shown}/{count_of(jobs, 'job')}"
        if not jobs and refreshed_s is not None and not (error or discovery_error or discovery):
            # Read, and nothing there: an empty table alone does not say that, nor what to do.
            counts = f"no jobs in the configured environments · {browse_key} adds some"
        parts.append((3, Text(counts)))
        if filter_text:
            part = Text("filter: ", style="dim")
            part.append(printable(filter_text), style="bold")
            parts.append((4, part))
        if marked:
            parts.append((2, Text(f"{marked} marked", style="bold magenta")))
        if refreshed_s is None:
            parts.append((6, Text("not read yet", style="dim")))
        else:
            parts.append((6, Text(f"↻ {ago(refreshed_s)}", style="red" if error else "dim")))
        stats_widget = self.query_one("#stats", Static)
        self._parts = parts
        stats_widget.update(fitted(parts, stats_widget.size.width))
        if self._fit_where():  # the right side's width changes with the left's: fit it again once laid out
            self.call_after_refresh(lambda: stats_widget.update(fitted(self._parts, stats_widget.size.width)))

    def on_resize(self) -> None:
        self._fit_where()
        if self._parts:
            stats = self.query_one("#stats", Static)
            self.call_after_refresh(lambda: stats.update(fitted(self._parts, stats.size.width)))

    def _fit_where(self) -> bool:
        """The compact left side while the full one leaves the right side less room than it needs (up to
        STATS_ROOM cells: a warning and its retry). Says whether the left side changed."""
        if not self.size.width:
            return False
        wanted = min(fitted(self._parts, 0).cell_len, STATS_ROOM)
        room = self.size.width - self.where_text().cell_len - 4  # the padding and the margin between
        compact = room < wanted
        if compact == self._compact:
            return False
        self._compact = compact
        self.query_one("#where", Static).update(self.where_text(compact=compact))
        return True


def fitted(parts: list[tuple[int, Text]], width: int) -> Text:
    """The parts in their order, joined (` · ` after a count or a filter, two spaces after a warning), the least
    urgent dropped while they do not fit in `width` cells (0: not laid out yet, all of them); what still does
    not fit is cut with an ellipsis."""
    kept = list(parts)

    def joined() -> Text:
        line = Text(no_wrap=True, overflow="ellipsis", justify="right")
        for index, (_, part) in enumerate(kept):
            if index:
                plain = kept[index - 1][1].plain
                line.append("  " if plain.startswith(("⚠", " ")) else " · ", style="dim")
            line.append_text(part)
        return line

    line = joined()
    while width and line.cell_len > width and len(kept) > 1:
        kept.remove(max(kept, key=lambda item: item[0]))
        line = joined()
    return line


def ago(seconds: float) -> str:
    """`12s ago`, `5m ago`, `2h ago`: how long since the states were read."""
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s ago"
    if whole < 3600:
        return f"{whole // 60}m ago"
    return f"{whole // 3600}h ago"
