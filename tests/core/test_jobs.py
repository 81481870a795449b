"""The job board: who the jobs are, their last known state, and the poller that keeps it fresh."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml

from qjob_tui.actions import ForceEvent
from qjob_tui.config import JobEntry
from qjob_tui.discovery import discover
from qjob_tui.jobs import JobBoard, events_of, is_settled, state_category
from qjob_tui.simulator import (
    DEMO_ENV_DATA_PRODUCTION_ID,
    DEMO_ENV_STOREFRONT_PRODUCTION_ID,
    DEMO_ENV_STOREFRONT_STAGING_ID,
)
from tests.common import CRON_JOB, FAILED_JOB, LIFECYCLE_JOB, UNKNOWN_JOB, job_id

from .support import SimQovery, client_for

REFERENCE = Path(__file__).resolve().parents[2] / "qjob_tui" / "reference" / "qovery-openapi-jobs.yaml"


def paths(qovery: SimQovery) -> list[str]:
    return [f"{r.method} {r.path}" for r in qovery.sim.requests]


# -- refresh --------------------------------------------------------------------------------------


async def test_refresh_is_one_request_per_environment(qovery: SimQovery) -> None:
    board = JobBoard(
        [JobEntry(id=CRON_JOB), JobEntry(id=LIFECYCLE_JOB), JobEntry(id=FAILED_JOB)],
        environments=[DEMO_ENV_DATA_PRODUCTION_ID],
    )
    async with client_for(qovery.url) as client:
        await discover(board, client)
        qovery.sim.requests.clear()
        await board.refresh(client)

    assert sorted(paths(qovery)) == sorted(
        f"GET /environment/{env}/job/status"
        for env in (
            DEMO_ENV_STOREFRONT_PRODUCTION_ID,
            DEMO_ENV_STOREFRONT_STAGING_ID,
            DEMO_ENV_DATA_PRODUCTION_ID,
        )
    )
    assert board.jobs[CRON_JOB].state == "DEPLOYED"
    assert board.jobs[FAILED_JOB].state == "DEPLOYMENT_ERROR"
    assert board.jobs[job_id("weekly-report")].state == "STOPPED"
    assert board.jobs[CRON_JOB].last_deployment is not None
    assert board.refreshed_at is not None


async def test_refresh_uses_the_environments_of_the_config_without_discovery(qovery: SimQovery) -> None:
    board = JobBoard(
        [
            JobEntry(id=CRON_JOB, environment=DEMO_ENV_STOREFRONT_PRODUCTION_ID),
            JobEntry(id=LIFECYCLE_JOB, environment=DEMO_ENV_STOREFRONT_PRODUCTION_ID),
        ]
    )
    changed: list[set[str]] = []
    board.subscribe(changed.append)
    async with client_for(qovery.url) as client:
        assert await board.refresh(client) == {CRON_JOB, LIFECYCLE_JOB}
        assert await board.refresh(client) == set()  # nothing moved
    assert paths(qovery) == [f"GET /environment/{DEMO_ENV_STOREFRONT_PRODUCTION_ID}/job/status"] * 2
    assert changed == [{CRON_JOB, LIFECYCLE_JOB}]
    # Jobs of the environment that are not on the board stay off it.
    assert set(board.jobs) == {CRON_JOB, LIFECYCLE_JOB}


async def test_unknown_states_are_kept_as_they_are(qovery: SimQovery) -> None:
    qovery.sim.inject(
        method="GET",
        path="/job/status$",
        status=200,
        json={"results": [{"id": CRON_JOB, "state": "HIBERNATING_SOMEWHERE"}, {"id": LIFECYCLE_JOB}]},
    )
    board = JobBoard([JobEntry(id=CRON_JOB, environment=DEMO_ENV_STOREFRONT_PRODUCTION_ID)])
    board.jobs[CRON_JOB].state = "DEPLOYED"
    async with client_for(qovery.url) as client:
        await board.refresh(client)
    job = board.jobs[CRON_JOB]
    assert job.state == "HIBERNATING_SOMEWHERE"
    assert state_category(job.state) == "unknown"
    assert is_settled(job.state)  # an unknown state is shown, not waited on
    assert LIFECYCLE_JOB not in board.jobs


async def test_refresh_after_an_action_follows_the_job_until_it_settles(qovery: SimQovery) -> None:
    board = JobBoard([JobEntry(id=CRON_JOB, environment=DEMO_ENV_STOREFRONT_PRODUCTION_ID)])
    async with client_for(qovery.url) as client:
        await board.refresh(client)
        board.record_action(CRON_JOB, "redeploy", "202", True, {"state": "DEPLOYMENT_QUEUED"})
        assert board.settling() == [board.jobs[CRON_JOB]]
        from qjob_tui.actions import ACTIONS_BY_NAME

        await client.run_action(ACTIONS_BY_NAME["redeploy"], CRON_JOB)
        await board.refresh(client)
        assert state_category(board.jobs[CRON_JOB].state) in {"queued", "progress"}
        assert board.settling()
        qovery.clock.advance(60)
        await board.refresh(client)
    assert board.jobs[CRON_JOB].state == "DEPLOYED"
    assert board.settling() == []


def test_a_broken_board_listener_does_not_stop_the_others() -> None:
    board = JobBoard([JobEntry(id=CRON_JOB)])
    seen: list[set[str]] = []

    def broken(changed: set[str]) -> None:
        raise RuntimeError("listener failed")

    board.subscribe(broken)
    unsubscribe = board.subscribe(seen.append)
    board.apply_statuses([{"id": CRON_JOB, "state": "DEPLOYED"}, {"id": UNKNOWN_JOB, "state": "DEPLOYED"}])
    unsubscribe()
    board.apply_statuses([{"id": CRON_JOB, "state": "STOPPED"}])
    assert seen == [{CRON_JOB}]


# -- states ---------------------------------------------------------------------------------------

# How the dashboard colours each of Qovery's states (README, "The dashboard"): green ok, blue progress, yellow queued, red error.
EXPECTED_CATEGORY = {
    "BUILDING": "progress",
    "BUILD_ERROR": "error",
    "CANCELED": "ok",
    "CANCELING": "progress",
    "DELETED": "ok",
    "DELETE_ERROR": "error",
    "DELETE_QUEUED": "queued",
    "DELETING": "progress",
    "DEPLOYED": "ok",
    "DEPLOYING": "progress",
    "DEPLOYMENT_ERROR": "error",
    "DEPLOYMENT_QUEUED": "queued",
    "EXECUTING": "progress",
    "QUEUED": "queued",
    "READY": "ok",
    "RECAP": "ok",
    "RESTARTED": "ok",
    "RESTARTING": "progress",
    "RESTART_ERROR": "error",
    "RESTART_QUEUED": "queued",
    "STOPPED": "ok",
    "STOPPING": "progress",
    "STOP_ERROR": "error",
    "STOP_QUEUED": "queued",
    "UNAVAILABLE": "error",
    "WAITING_DELETING": "progress",
    "WAITING_RESTARTING": "progress",
    "WAITING_RUNNING": "progress",
    "WAITING_STOPPING": "progress",
}


def test_every_state_of_qoverys_enum_has_a_category() -> None:
    spec = yaml.safe_load(REFERENCE.read_text(encoding="utf-8"))
    states = spec["components"]["schemas"]["StateEnum"]["enum"]
    assert set(states) == set(EXPECTED_CATEGORY), "StateEnum changed: decide how the new states look"
    assert {state: state_category(state) for state in states} == {s: EXPECTED_CATEGORY[s] for s in states}


@pytest.mark.parametrize(
    ("state", "category"),
    [
        (None, "unknown"),
        ("", "unknown"),
        ("ARCHIVED", "unknown"),
        ("SCALE_ERROR", "error"),
        ("PAUSE_QUEUED", "queued"),
    ],
)
def test_states_qovery_may_add_later(state: str | None, category: str) -> None:
    assert state_category(state) == category


def test_events_of_a_job() -> None:
    assert events_of({"job_type": "CRON", "schedule": {"cronjob": {}}}) == (ForceEvent.CRON,)
    lifecycle = {"job_type": "LIFECYCLE", "schedule": {"on_start": {}, "on_delete": {}, "on_stop": None}}
    assert events_of(lifecycle) == (ForceEvent.START, ForceEvent.DELETE)
    assert events_of({"job_type": "LIFECYCLE", "schedule": "garbage"}) == ()
    assert events_of({}) == ()


# -- poll_forever ---------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def polling(board: JobBoard, qovery: SimQovery, interval_s: float) -> AsyncIterator[None]:
    # One attempt per read: the board sees each 429 itself instead of the client retrying it.
    async with client_for(qovery.url, attempts=1) as client:
        task = asyncio.create_task(board.poll_forever(client, interval_s=interval_s))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def test_poll_forever_backs_off_on_429_and_recovers(qovery: SimQovery) -> None:
    status_path = f"/environment/{DEMO_ENV_STOREFRONT_PRODUCTION_ID}/job/status"
    qovery.sim.inject(
        method="GET", path=f"^{status_path}$", status=429, json={"message": "slow down"}, times=3
    )
    board = JobBoard([JobEntry(id=CRON_JOB, environment=DEMO_ENV_STOREFRONT_PRODUCTION_ID)])
    notes: list[tuple[float, str | None, int]] = []  # backoff, error, status requests so far
    recovered = asyncio.Event()

    def note(changed: set[str]) -> None:
        if "*" in changed:
            notes.append((board.backoff_s, board.last_error, len(qovery.sim.requests)))
            if board.last_error is None:
                recovered.set()

    board.subscribe(note)
    async with polling(board, qovery, interval_s=0.05):
        await asyncio.wait_for(recovered.wait(), timeout=30)

    failures = notes[:-1]
    assert [n[2] for n in failures] == [1, 2, 3]
    assert all(error is not None and "429" in error and "slow down" in error for _, error, _ in failures)
    assert [backoff for backoff, _, _ in failures] == [0.05, 0.1, 0.2]  # doubles on each failure
    # Recovered only by a request that succeeded: the fourth one.
    assert notes[-1] == (0.0, None, 4)
    assert board.jobs[CRON_JOB].state == "DEPLOYED"


async def test_poll_forever_waits_as_long_as_retry_after_says(qovery: SimQovery) -> None:
    qovery.sim.inject(method="GET", path="/job/status$", status=429, headers={"Retry-After": "0.3"}, times=1)
    board = JobBoard([JobEntry(id=CRON_JOB, environment=DEMO_ENV_STOREFRONT_PRODUCTION_ID)])
    backoffs: list[float] = []
    recovered = asyncio.Event()

    def note(changed: set[str]) -> None:
        if "*" in changed:
            backoffs.append(board.backoff_s)
            if board.last_error is None:
                recovered.set()

    board.subscribe(note)
    async with polling(board, qovery, interval_s=0.05):
        await asyncio.wait_for(recovered.wait(), timeout=30)
    assert backoffs == [0.3, 0.0]
    assert len(qovery.sim.requests) == 2  # nothing was asked while Qovery said to wait
