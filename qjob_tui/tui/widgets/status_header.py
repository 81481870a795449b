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


class StatusHeader(Horizontal):
    """One line: `qjob-tui │ DEMO │ REST :8080 · MCP :9090` on the left, jobs and refresh trouble on the right."""

    def __init__(
        self, api_label: str, rest_port: int | None, mcp_port: int | None, *, read_only: bool = False
    ) -> None:
        super().__init__()
        self.api_label = api_label
        self.servers = servers_text(rest_port, mcp_port)
        self.read_only = read_only

    def compose(self) -> ComposeResult:
        where = Text("qjob-tui", style="bold")
        where.append(" │ ", style="dim")
        where.append(
            f" {self.api_label} " if self.api_label == "DEMO" else self.api_label,
            style="bold black on yellow" if self.api_label == "DEMO" else "bold",
        )
        if self.read_only:
            where.append(" ")
            where.append(" READ-ONLY ", style="bold white on dark_blue")
        where.append(" │ ", style="dim")
        where.append(self.servers, style="green" if self.servers != "servers off" else "dim")
        yield Static(where, id="where")
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
    ) -> None:
        """Update the right-hand side, most urgent first: requests waiting for approval (and the key that
        opens them), discovery's progress, a refresh error with its backoff, a discovery that could not read
        everything (each a headline until it clears; the full messages are in the log pane), then the counts,
        the filter, the marks and how long ago the states were read.

        Another face's field goes here as a keyword argument with a default (approval: `waiting`; speed:
        `discovery`, its progress)."""
        stats = Text(no_wrap=True, overflow="ellipsis", justify="right")
        if waiting:
            stats.append(f" {waiting} waiting for approval ", style="bold black on yellow")
            stats.append(f" {waiting_key} ", style="bold")
            stats.append(" ")
        if discovery:  # `learning 1,000 jobs: 4/10 environments`
            stats.append(f"{discovery}  ", style="cyan")
        if error:
            stats.append(f"⚠ {printable(error)}", style="bold red")
            if backoff_s:
                stats.append(f" · retry in {backoff_s:.0f}s", style="red")
            stats.append("  ")
        if discovery_error:
            stats.append(f"⚠ {printable(discovery_error)}", style="bold red")
            stats.append("  ")
        stats.append(count_of(jobs, "job") if shown == jobs else f"{shown}/{count_of(jobs, 'job')}")
        if filter_text:
            stats.append(" · filter: ", style="dim")
            stats.append(printable(filter_text), style="bold")
        if marked:
            stats.append(f" · {marked} marked", style="bold magenta")
        stats.append(" · ", style="dim")
        if refreshed_s is None:
            stats.append("not read yet", style="dim")
        else:
            stats.append(f"↻ {ago(refreshed_s)}", style="red" if error else "dim")
        self.query_one("#stats", Static).update(stats)


def ago(seconds: float) -> str:
    """`12s ago`, `5m ago`, `2h ago`: how long since the states were read."""
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s ago"
    if whole < 3600:
        return f"{whole // 60}m ago"
    return f"{whole // 3600}h ago"
