"""What the read-only routes and tools show, the same on REST and MCP: the job list and the health summary."""

from __future__ import annotations

from typing import Any

from qjob_tui import __version__
from qjob_tui.lines import iso_utc
from qjob_tui.runtime import Runtime


def jobs_view(runtime: Runtime) -> dict[str, Any]:
    """The jobs the relay acts on, with their last known state, and whether the last refresh worked."""
    board = runtime.board
    refreshed = board.refreshed_at
    return {
        "jobs": [job.as_dict() for job in board.jobs.values() if job.listed],
        "refreshed_at": iso_utc(refreshed, "seconds") if refreshed else None,
        "error": board.last_error,
    }


def health_view(runtime: Runtime, started_at: float, now: float) -> dict[str, Any]:
    return {
        "status": "ok",
        "version": __version__,
        "api": runtime.api_label,
        "jobs": len(runtime.board.jobs),
        "uptime_s": round(now - started_at, 1),
    }
