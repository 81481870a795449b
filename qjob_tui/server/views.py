"""What the read-only routes and tools show, the same on REST and MCP: the job list, one job, its runs and a run's
log (their schemas: `schemas.read_schemas`), and the health summary."""

from __future__ import annotations

import asyncio
from typing import Any

from qjob_tui import __version__
from qjob_tui.lines import iso_utc
from qjob_tui.reads import Run, RunLog
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


async def job_view(runtime: Runtime, job_id: str) -> dict[str, Any]:
    """One job (a `JobDetail`): its facts, Qovery's Status now (both asked at once), our last action on it."""
    facts, status = await asyncio.gather(runtime.reads.facts(job_id), runtime.reads.status(job_id))
    view = facts.as_dict()
    known = runtime.board.get(facts.id)
    last = None
    if known is not None and known.last_action is not None:
        last = {"action": known.last_action, "result": known.last_result, "ok": known.last_result_ok}
    qovery = view.pop("qovery")
    return {**view, "status": status, "last_action": last, "qovery": qovery}


def runs_view(job_id: str, runs: list[Run]) -> dict[str, Any]:
    """A job's runs (a `JobRuns`), newest first."""
    return {"job_id": job_id, "runs": [run.as_dict() for run in runs]}


def logs_view(job_id: str, log: RunLog) -> dict[str, Any]:
    """One run's deployment log (a `JobLog`)."""
    return {"job_id": job_id, **log.as_dict()}


def health_view(runtime: Runtime, started_at: float, now: float) -> dict[str, Any]:
    return {
        "status": "ok",
        "version": __version__,
        "api": runtime.api_label,
        "read_only": runtime.read_only,
        "jobs": len(runtime.board.jobs),
        "uptime_s": round(now - started_at, 1),
    }
