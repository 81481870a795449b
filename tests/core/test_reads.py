"""The reads of one job every face offers: checked as an action is, answered by Qovery, kept on the board."""

from __future__ import annotations

from pathlib import Path

import pytest

from qjob_tui.pipeline import ActionRefused
from qjob_tui.qovery import QoveryHTTPError
from qjob_tui.reads import JobReads

from .support import CRON_JOB, FAILED_JOB, UNKNOWN_JOB, SimQovery, pipeline_on


async def test_the_status_read_answers_qoverys_status_and_the_board_takes_it(
    qovery: SimQovery, tmp_path: Path
) -> None:
    async with pipeline_on(qovery.url, None) as pipeline:
        reads = JobReads(pipeline.client, pipeline.board, pipeline.allowed_job)
        status = await reads.status(FAILED_JOB.upper())
        job = pipeline.board.get(FAILED_JOB)
    assert (status["id"], status["state"]) == (FAILED_JOB, "DEPLOYMENT_ERROR")
    assert job is not None and job.state == "DEPLOYMENT_ERROR"
    assert [r.path for r in qovery.sim.requests] == [f"/job/{FAILED_JOB}/status"]


@pytest.mark.parametrize(
    ("job", "status"), [("../etc", 400), (f"{CRON_JOB}\n", 400), (None, 400), (UNKNOWN_JOB, 403)]
)
async def test_a_bad_or_unlisted_job_is_refused_before_qovery(
    qovery: SimQovery, job: object, status: int
) -> None:
    async with pipeline_on(qovery.url, None) as pipeline:
        reads = JobReads(pipeline.client, pipeline.board, pipeline.allowed_job)
        with pytest.raises(ActionRefused) as refused:
            await reads.status(job)
    assert (refused.value.status, refused.value.field) == (status, "jobId")
    assert qovery.sim.requests == []


async def test_an_unlisted_job_is_read_when_the_config_allows_it(qovery: SimQovery) -> None:
    async with pipeline_on(qovery.url, None, allow_unlisted_jobs=True) as pipeline:
        reads = JobReads(pipeline.client, pipeline.board, pipeline.allowed_job)
        with pytest.raises(QoveryHTTPError) as error:  # Qovery was asked, and does not know it
            await reads.status(UNKNOWN_JOB)
    assert error.value.status == 404
