"""The reads of one job every face offers: checked as an action is, answered by Qovery, kept on the board,
and shared between faces that ask at once. Against the simulator on a loopback port."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from qjob_tui.config import load_settings
from qjob_tui.pipeline import ActionPipeline, ActionRefused
from qjob_tui.qovery import QoveryHTTPError
from qjob_tui.reads import JobReads, LogLine, ReadCache, RunNotFound, iso_duration_s
from qjob_tui.runtime import open_runtime
from qjob_tui.simulator import (
    DEMO_ENV_STOREFRONT_PRODUCTION_ID,
    DEMO_ENV_STOREFRONT_STAGING_ID,
    DEMO_ORGANIZATION_ID,
    DEMO_PROJECT_STOREFRONT_ID,
)
from qjob_tui.simulator.logs import TROUBLESHOOT_LINK
from tests.common import (
    API_TOKEN,
    CRON_JOB,
    FAILED_JOB,
    LIFECYCLE_JOB,
    NEVER_DEPLOYED_JOB,
    UNKNOWN_JOB,
    job_id,
)

from .conftest import UserEnv
from .support import SimQovery, pipeline_on, simulated_qovery

SEED_JOB = job_id("seed-fixtures")  # LIFECYCLE, its next deploy fails
JOBS = (CRON_JOB, LIFECYCLE_JOB, FAILED_JOB, NEVER_DEPLOYED_JOB, SEED_JOB)


class FakeClock:
    """The cache's clock, moved by the test: answers expire when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@asynccontextmanager
async def reads_on(
    qovery: SimQovery, *, cache: ReadCache | None = None, allow_unlisted_jobs: bool = False
) -> AsyncIterator[tuple[JobReads, ActionPipeline]]:
    async with pipeline_on(qovery.url, None, jobs=JOBS, allow_unlisted_jobs=allow_unlisted_jobs) as pipeline:
        yield JobReads(pipeline.client, pipeline.board, pipeline.allowed_job, cache=cache), pipeline


def paths(qovery: SimQovery) -> list[str]:
    return [request.path for request in qovery.sim.requests]


async def until(condition: Callable[[], bool], what: str) -> None:
    """Wait for a condition (generously); never a fixed sleep that hopes."""
    async with asyncio.timeout(20):
        while not condition():  # noqa: ASYNC110 - the condition is another task's progress over the network
            await asyncio.sleep(0.01)
    assert condition(), what


# -- status ------------------------------------------------------------------------------------------------


async def test_the_status_read_answers_qoverys_status_and_the_board_takes_it(qovery: SimQovery) -> None:
    async with reads_on(qovery) as (reads, pipeline):
        status = await reads.status(FAILED_JOB.upper())
        job = pipeline.board.get(FAILED_JOB)
    assert (status["id"], status["state"]) == (FAILED_JOB, "DEPLOYMENT_ERROR")
    assert job is not None and job.state == "DEPLOYMENT_ERROR"
    assert paths(qovery) == [f"/job/{FAILED_JOB}/status"]


# -- facts -------------------------------------------------------------------------------------------------


async def test_the_facts_of_a_cron_job_built_from_an_image(qovery: SimQovery) -> None:
    async with reads_on(qovery) as (reads, _):
        facts = await reads.facts(CRON_JOB)
    assert (facts.id, facts.name, facts.job_type) == (CRON_JOB, "nightly-backup", "CRON")
    assert (facts.schedule, facts.timezone, facts.hooks) == ("0 3 * * *", "Etc/UTC", ())
    assert (facts.environment_id, facts.environment_name) == (DEMO_ENV_STOREFRONT_PRODUCTION_ID, "production")
    assert (facts.project_id, facts.project_name) == (DEMO_PROJECT_STOREFRONT_ID, "storefront")
    assert (facts.organization_id, facts.organization_name) == (DEMO_ORGANIZATION_ID, "Acme Robotics")
    assert facts.source.summary == "acme/pg-backup:2.4.1 (Docker Hub)"
    assert facts.raw["id"] == CRON_JOB and facts.raw["schedule"]["cronjob"]["scheduled_at"] == "0 3 * * *"
    shown = facts.as_dict()
    assert shown["environment"] == {"id": DEMO_ENV_STOREFRONT_PRODUCTION_ID, "name": "production"}
    assert shown["schedule"] == {"cron": "0 3 * * *", "timezone": "Etc/UTC"}
    assert shown["qovery"] is facts.raw
    # The job, then the names: organizations, their projects, the projects' environments.
    assert paths(qovery)[:3] == [
        f"/job/{CRON_JOB}",
        "/organization",
        f"/organization/{DEMO_ORGANIZATION_ID}/project",
    ]
    assert sorted(path for path in paths(qovery) if path.startswith("/project/")) == sorted(
        f"/project/{project.id}/environment" for project in qovery.sim.dataset.projects
    )


async def test_the_facts_of_a_lifecycle_job_built_from_git(qovery: SimQovery) -> None:
    async with reads_on(qovery) as (reads, _):
        facts = await reads.facts(LIFECYCLE_JOB)
    assert (facts.job_type, facts.schedule, facts.hooks) == ("LIFECYCLE", None, ("on_start",))
    assert facts.source.kind == "git"
    assert facts.source.summary == "https://github.com/acme/storefront @ main (3f9c2a17e5b0)"
    assert facts.as_dict()["schedule"] is None


async def test_the_names_are_learnt_once_for_every_environment(qovery: SimQovery) -> None:
    async with reads_on(qovery, cache=ReadCache(ttl_s=0.0)) as (reads, pipeline):
        first = await reads.facts(CRON_JOB)
        other = await reads.facts(FAILED_JOB)  # another environment of another project's walk
        again = await reads.facts(CRON_JOB)
        job = pipeline.board.get(CRON_JOB)
    assert (other.environment_id, other.environment_name) == (DEMO_ENV_STOREFRONT_STAGING_ID, "staging")
    assert first.environment_name == again.environment_name == "production"
    assert paths(qovery).count("/organization") == 1
    assert paths(qovery).count(f"/job/{CRON_JOB}") == 2  # the job itself is asked afresh, not its names
    assert job is not None and (job.name, job.job_type) == ("nightly-backup", "CRON")  # the board learnt it


async def test_the_facts_stand_without_names_when_qovery_will_not_list_organizations(
    qovery: SimQovery,
) -> None:
    qovery.sim.inject(method="GET", path="^/organization$", status=403, times=None)
    async with reads_on(qovery) as (reads, _):
        facts = await reads.facts(CRON_JOB)
        later = await reads.facts(LIFECYCLE_JOB)  # no second walk so soon after one that failed
    assert (facts.name, facts.environment_id) == ("nightly-backup", DEMO_ENV_STOREFRONT_PRODUCTION_ID)
    assert (facts.environment_name, facts.project_name, facts.organization_name) == (None, None, None)
    assert later.environment_name is None
    assert paths(qovery).count("/organization") == 1


# -- runs --------------------------------------------------------------------------------------------------


async def test_the_runs_newest_first_with_who_when_and_how_long(qovery: SimQovery) -> None:
    async with reads_on(qovery) as (reads, _):
        runs = await reads.runs(CRON_JOB)
    assert [run.state for run in runs] == ["DEPLOYED", "DEPLOYED", "DEPLOYMENT_ERROR"]
    assert [run.triggered_by for run in runs] == ["Alice Martin", "Bob Chen", "Demo User"]
    assert [run.origin for run in runs] == ["CONSOLE", "GIT", "API"]
    assert [run.duration_s for run in runs] == [50.0, 42.0, 35.0]  # queued 4 s, then ran 46, 38, 31 s
    assert all(run.settled and run.version == "2.4.1" for run in runs)
    assert runs[0].created_at is not None and runs[0].created_at > runs[1].created_at  # type: ignore[operator]
    assert runs[0].execution_id == runs[0].raw["identifier"]["execution_id"]
    assert runs[0].as_dict()["qovery"] is runs[0].raw
    [request] = qovery.sim.requests
    assert (request.path, request.query) == (f"/job/{CRON_JOB}/deploymentHistoryV2", {"pageSize": "20"})


async def test_a_run_in_progress_has_no_duration_until_it_settles(qovery: SimQovery) -> None:
    async with reads_on(qovery, cache=ReadCache(ttl_s=0.0)) as (reads, pipeline):
        await pipeline.perform("deploy", CRON_JOB, source="tui")
        queued = (await reads.runs(CRON_JOB))[0]
        qovery.clock.advance(4)
        done = (await reads.runs(CRON_JOB))[0]
    assert (queued.state, queued.settled, queued.duration_s) == ("DEPLOYMENT_QUEUED", False, None)
    assert (done.state, done.settled, done.duration_s) == ("DEPLOYED", True, 4.0)
    assert done.execution_id == queued.execution_id


@pytest.mark.parametrize("limit", [0, 101, True, "5", 2.0])
async def test_a_runs_limit_outside_1_to_100_is_refused_before_qovery(qovery: SimQovery, limit: Any) -> None:
    async with reads_on(qovery) as (reads, _):
        with pytest.raises(ActionRefused) as refused:
            await reads.runs(CRON_JOB, limit=limit)
    assert (refused.value.status, refused.value.field) == (400, "limit")
    assert qovery.sim.requests == []


def test_iso_durations() -> None:
    assert [iso_duration_s(text) for text in ("PT4S", "PT1M12.5S", "P1DT2H", "PT", "4s", None)] == [
        4.0,
        72.5,
        93600.0,
        None,
        None,
        None,
    ]


# -- logs --------------------------------------------------------------------------------------------------


async def test_the_log_of_a_run_holds_the_jobs_own_lines_and_no_other_services(qovery: SimQovery) -> None:
    async with reads_on(qovery) as (reads, _):
        release = (await reads.runs(CRON_JOB))[1]  # one deployment with db-migrate and the environment
        assert release.execution_id is not None
        log = await reads.logs(CRON_JOB, release.execution_id)
    everything = qovery.sim.environment_log(DEMO_ENV_STOREFRONT_PRODUCTION_ID, release.execution_id)
    writers = {line.transmitter.id for line in everything}
    assert writers == {CRON_JOB, LIFECYCLE_JOB, DEMO_ENV_STOREFRONT_PRODUCTION_ID}  # the log holds them all
    assert (log.execution_id, log.settled) == (release.execution_id, True)
    assert [line.message for line in log.lines] == [
        line.message for line in everything if line.transmitter.id == CRON_JOB
    ]
    assert all(line.raw["details"]["transmitter"]["id"] == CRON_JOB for line in log.lines)
    assert all(line.execution_id == release.execution_id for line in log.lines)
    assert [line.step for line in log.lines] == [
        "LoadConfiguration",
        "Deploy",
        "Deploy",
        "Executing",
        "Executing",
        "Deployed",
    ]
    assert log.lines[-1].message == "Job nightly-backup completed successfully (exit code 0)"
    assert {line.kind for line in log.lines} == {"info"}
    [logs_request] = [r for r in qovery.sim.requests if r.path.endswith("/logs")]
    assert logs_request.query == {"version": release.execution_id}


async def test_a_run_that_failed_shows_its_error_line_and_hint(qovery: SimQovery) -> None:
    async with reads_on(qovery) as (reads, _):
        log = await reads.logs(FAILED_JOB)  # the newest run
        runs = await reads.runs(FAILED_JOB)
    assert log.execution_id == runs[0].execution_id and runs[0].state == "DEPLOYMENT_ERROR"
    last = log.lines[-1]
    assert (last.kind, last.step) == ("error", "DeployedError")
    assert last.message == "Job cache-warmup failed: its container exited with code 1"
    assert last.hint is not None and last.hint.startswith("Read the output of job cache-warmup")
    assert last.link == TROUBLESHOOT_LINK
    assert last.as_dict()["hint"] == last.hint
    assert [line.kind for line in log.lines[:-1]] == ["info"] * (len(log.lines) - 1)


async def test_a_job_that_never_ran_has_an_empty_settled_log(qovery: SimQovery) -> None:
    async with reads_on(qovery) as (reads, _):
        log = await reads.logs(NEVER_DEPLOYED_JOB)
        followed = [line async for line in reads.follow(NEVER_DEPLOYED_JOB, interval_s=0.01)]
    assert (log.execution_id, log.lines, log.settled) == (None, [], True)
    assert followed == []
    assert not any(request.path.endswith("/logs") for request in qovery.sim.requests)


async def test_a_run_the_job_does_not_have_is_a_404_and_its_log_is_not_asked_for(qovery: SimQovery) -> None:
    async with reads_on(qovery) as (reads, _):
        with pytest.raises(RunNotFound) as missing:
            await reads.logs(CRON_JOB, "0b7e5b8e-1111-4d9b-9c7a-5a1f6a2e1b00-1700000000")
    assert (missing.value.status, missing.value.field) == (404, "run")
    assert (
        "has no run 0b7e5b8e-1111-4d9b-9c7a-5a1f6a2e1b00-1700000000 among its last 20" in missing.value.detail
    )
    assert paths(qovery) == [f"/job/{CRON_JOB}/deploymentHistoryV2"]


@pytest.mark.parametrize("run", ["", "../logs", "a b", "x&version=y", "a" * 129, 42, "-1"])
async def test_an_execution_id_that_is_not_one_is_refused_before_qovery(qovery: SimQovery, run: Any) -> None:
    async with reads_on(qovery) as (reads, _):
        with pytest.raises(ActionRefused) as refused:
            await reads.logs(CRON_JOB, run)
        with pytest.raises(ActionRefused):
            await anext(reads.follow(CRON_JOB, run))
    assert (refused.value.status, refused.value.field) == (400, "run")
    assert "is not an execution id" in refused.value.detail
    assert qovery.sim.requests == []


async def test_a_settled_run_is_never_shown_with_lines_from_before_it_settled(qovery: SimQovery) -> None:
    """The run's state and its lines are two requests: when the state says settled, the lines must have been
    asked for after that, or the last line could be missing from a log that claims to be complete."""
    clock = FakeClock()
    async with reads_on(qovery, cache=ReadCache(clock=clock)) as (reads, pipeline):
        await pipeline.perform("deploy", CRON_JOB, source="tui")
        qovery.clock.advance(3)  # in progress
        running = await reads.logs(CRON_JOB)
        qovery.clock.advance(1)  # settled
        reads.cache.forget(lambda key: key[0] == "runs")  # a fresher state (say, another face asked for it)
        done = await reads.logs(CRON_JOB)
    assert not running.settled and running.lines[-1].step != "Deployed"
    assert (
        done.settled and done.lines[-1].message == "Job nightly-backup completed successfully (exit code 0)"
    )


# -- follow ------------------------------------------------------------------------------------------------


async def follow_into(reads: JobReads, job: str, execution_id: str | None, into: list[LogLine]) -> None:
    async for line in reads.follow(job, execution_id, interval_s=0.01):
        into.append(line)


async def test_follow_yields_each_line_once_as_it_appears_and_ends_when_the_run_settles(
    qovery: SimQovery,
) -> None:
    async with reads_on(qovery, cache=ReadCache(ttl_s=0.0)) as (reads, pipeline):
        outcome = await pipeline.perform("deploy", CRON_JOB, source="tui")
        execution_id = outcome.data["execution_id"]
        lines: list[LogLine] = []
        follower = asyncio.create_task(follow_into(reads, CRON_JOB, execution_id, lines))
        await until(lambda: len(lines) == 1, "the queued line")
        qovery.clock.advance(1.5)  # still queued (2 s): nothing new
        # The run's 4 progress lines, written over its 2 s in progress, each seen as it is written.
        for seen in (2, 3, 4, 5):
            qovery.clock.advance(0.5)
            await until(lambda seen=seen: len(lines) == seen, f"{seen} lines")
        assert not follower.done()
        qovery.clock.advance(0.5)
        await asyncio.wait_for(follower, 20)
    expected = qovery.sim.environment_log(DEMO_ENV_STOREFRONT_PRODUCTION_ID, execution_id)
    assert [line.message for line in lines] == [
        line.message for line in expected if line.transmitter.id == CRON_JOB
    ]
    assert lines[-1].step == "Deployed" and len(lines) == 6


async def test_follow_of_the_newest_run_of_a_deploy_that_fails_ends_on_its_error(qovery: SimQovery) -> None:
    async with reads_on(qovery, cache=ReadCache(ttl_s=0.0)) as (reads, pipeline):
        await pipeline.perform("deploy", SEED_JOB, source="tui")
        lines: list[LogLine] = []
        follower = asyncio.create_task(follow_into(reads, SEED_JOB, None, lines))
        await until(lambda: len(lines) == 1, "the queued line")
        qovery.clock.advance(10)
        await asyncio.wait_for(follower, 20)
        await pipeline.perform("deploy", SEED_JOB, source="tui")  # a newer run does not change a past follow
    assert lines[-1].kind == "error" and lines[-1].hint
    assert lines[-1].message == "Job seed-fixtures failed: its container exited with code 1"
    assert len({(line.step, line.message) for line in lines}) == len(lines)


async def test_a_follow_of_a_settled_run_yields_its_lines_and_ends(qovery: SimQovery) -> None:
    async with reads_on(qovery) as (reads, _):
        log = await reads.logs(FAILED_JOB)
        followed = [line async for line in reads.follow(FAILED_JOB, log.execution_id, interval_s=0.01)]
    assert followed == log.lines


# -- the cache ---------------------------------------------------------------------------------------------


READS: dict[str, Callable[[JobReads], Any]] = {
    "status": lambda reads: reads.status(CRON_JOB),
    "facts": lambda reads: reads.facts(CRON_JOB),
    "runs": lambda reads: reads.runs(CRON_JOB),
    "logs": lambda reads: reads.logs(CRON_JOB),
}


@pytest.mark.parametrize("read", READS.values(), ids=READS.keys())
async def test_three_faces_asking_at_once_cost_qovery_one_request(
    qovery: SimQovery, read: Callable[[JobReads], Any]
) -> None:
    qovery.sim.inject(method="GET", delay_s=0.2, status=None, times=None)  # every answer takes a while
    async with reads_on(qovery) as (reads, _):
        first = asyncio.ensure_future(read(reads))
        await until(lambda: bool(qovery.sim.requests), "the first request is in flight")
        answers = await asyncio.gather(first, read(reads), read(reads))
    assert answers[0] == answers[1] == answers[2]
    asked = paths(qovery)
    assert len(asked) == len(set(asked)), f"a read was sent twice: {asked}"


async def test_a_finished_answer_is_reused_briefly_then_asked_afresh(qovery: SimQovery) -> None:
    clock = FakeClock()
    async with reads_on(qovery, cache=ReadCache(ttl_s=1.0, clock=clock)) as (reads, _):
        await reads.runs(CRON_JOB)
        clock.now += 0.9
        await reads.runs(CRON_JOB)
        clock.now += 1.1
        await reads.runs(CRON_JOB)
    assert paths(qovery) == [f"/job/{CRON_JOB}/deploymentHistoryV2"] * 2


async def test_a_failed_read_is_not_kept(qovery: SimQovery) -> None:
    qovery.sim.inject(method="GET", path="/deploymentHistoryV2$", status=404, times=1)
    async with reads_on(qovery) as (reads, _):
        with pytest.raises(QoveryHTTPError):
            await reads.runs(CRON_JOB)
        runs = await reads.runs(CRON_JOB)
    assert len(runs) == 3
    assert len(qovery.sim.requests) == 2


async def test_a_caller_that_gives_up_does_not_cancel_the_request_others_wait_for(qovery: SimQovery) -> None:
    qovery.sim.inject(method="GET", delay_s=0.3, status=None)
    async with reads_on(qovery) as (reads, _):
        impatient = asyncio.ensure_future(reads.status(CRON_JOB))
        await until(lambda: bool(qovery.sim.requests), "the request is in flight")
        patient = asyncio.ensure_future(reads.status(CRON_JOB))
        await asyncio.sleep(0)
        impatient.cancel()
        status = await patient
    assert status["id"] == CRON_JOB and impatient.cancelled()
    assert len(qovery.sim.requests) == 1


async def test_a_read_after_an_action_sees_the_action_not_an_answer_from_before_it(
    user_env: UserEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with simulated_qovery() as served:
        (user_env.work / "qjob-tui.yaml").write_text(
            f"jobs:\n  - id: {CRON_JOB}\naudit:\n  path: {user_env.work / 'audit.jsonl'}\n"
        )
        monkeypatch.setenv("QOVERY_API_KEY", API_TOKEN)
        monkeypatch.setenv("QOVERY_API_URL", served.url)
        async with open_runtime(load_settings()) as runtime:
            before = await runtime.reads.status(CRON_JOB)
            runs_before = await runtime.reads.runs(CRON_JOB)
            await runtime.pipeline.perform("deploy", CRON_JOB, source="cli")
            after = await runtime.reads.status(CRON_JOB)  # within the cache's second, yet fresh
            runs_after = await runtime.reads.runs(CRON_JOB)
    assert (before["state"], after["state"]) == ("DEPLOYED", "DEPLOYMENT_QUEUED")
    assert len(runs_after) == len(runs_before) + 1


# -- every read is checked like an action ------------------------------------------------------------------


async def _follow_first(reads: JobReads, job: object) -> Any:
    return await anext(reads.follow(job))


CHECKED_READS: dict[str, Callable[[JobReads, object], Any]] = {
    "status": lambda reads, job: reads.status(job),
    "facts": lambda reads, job: reads.facts(job),
    "runs": lambda reads, job: reads.runs(job),
    "logs": lambda reads, job: reads.logs(job),
    "follow": _follow_first,
}


@pytest.mark.parametrize("read", CHECKED_READS.values(), ids=CHECKED_READS.keys())
@pytest.mark.parametrize(
    ("job", "status"), [("../etc", 400), (f"{CRON_JOB}\n", 400), (None, 400), (UNKNOWN_JOB, 403)]
)
async def test_a_bad_or_unlisted_job_is_refused_before_qovery(
    qovery: SimQovery, read: Callable[[JobReads, object], Any], job: object, status: int
) -> None:
    async with reads_on(qovery) as (reads, _):
        with pytest.raises(ActionRefused) as refused:
            await read(reads, job)
    assert (refused.value.status, refused.value.field) == (status, "jobId")
    assert qovery.sim.requests == []


async def test_an_unlisted_job_is_read_when_the_config_allows_it(qovery: SimQovery, tmp_path: Path) -> None:
    async with reads_on(qovery, allow_unlisted_jobs=True) as (reads, pipeline):
        with pytest.raises(QoveryHTTPError) as error:  # Qovery was asked, and does not know it
            await reads.status(UNKNOWN_JOB)
        other = job_id("weekly-report")
        facts = await reads.facts(other)
    assert error.value.status == 404
    assert facts.name == "weekly-report"
    assert pipeline.board.get(other) is None  # read, not put on the board: it is not one of ours
