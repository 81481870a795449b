"""The reads every face offers on one job, in one place: checked as an action is, answered by Qovery.

A read names a job the same way an action does, so it passes the same check (a UUID this qjob-tui may touch,
`ActionPipeline.allowed_job`) before any URL is built; what Qovery answers also updates the board, so that
every face shows the fresher state. Today a job's Status (MCP `get-job-status`); REST `GET /v1/job/{id}`,
the dashboard's detail screen and `qjob-tui status` read through here too, and so will a job's facts, runs
and deployment logs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from qjob_tui.jobs import JobBoard
from qjob_tui.qovery import QoveryClient


class JobReads:
    """Reads of one job from Qovery, for any face. Raise `ActionRefused` (400, 403) or `QoveryError`."""

    def __init__(self, client: QoveryClient, board: JobBoard, allowed_job: Callable[[object], str]) -> None:
        self.client = client
        self.board = board
        self.allowed_job = allowed_job

    async def status(self, job_id: object) -> dict[str, Any]:
        """Qovery's current Status of the job (`GET /job/{id}/status`), which the board takes on as well."""
        job = self.allowed_job(job_id)
        status = await self.client.get_job_status(job)
        self.board.apply_statuses([status])
        return status
