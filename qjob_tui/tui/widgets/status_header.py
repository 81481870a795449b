"""The header line: where the dashboard talks to (the API or DEMO), whether the servers run, the jobs.

No clock: the header changes only when something the operator cares about changes.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from qjob_tui.lines import printable


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
    ) -> None:
        """Update the right-hand side: requests waiting for approval (and the key that opens them), discovery's
        progress, counts, the filter, and the refresh error with its backoff."""
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
        count = f"{jobs} jobs" if shown == jobs else f"{shown}/{jobs} jobs"
        stats.append(count)
        if filter_text:
            stats.append(" · filter: ", style="dim")
            stats.append(filter_text, style="bold")
        if marked:
            stats.append(f" · {marked} marked", style="bold magenta")
        self.query_one("#stats", Static).update(stats)
