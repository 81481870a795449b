"""The lifecycle every face runs: discover once, poll until the face ends, stop quietly; notes, not raises."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from qjob_tui.config import JobEntry
from qjob_tui.jobs import JobBoard
from qjob_tui.lifecycle import Lifecycle, LifecycleNote
from qjob_tui.simulator import DEMO_ENV_STOREFRONT_PRODUCTION_ID
from tests.common import CRON_JOB, DEMO, LIFECYCLE_JOB, UNKNOWN_JOB

from .support import SimQovery, client_for, until


async def test_discovered_means_every_job_is_known_with_its_state(qovery: SimQovery) -> None:
    board = JobBoard([JobEntry(id=CRON_JOB)], [DEMO_ENV_STOREFRONT_PRODUCTION_ID])
    async with client_for(qovery.url) as client, Lifecycle(board, client, 3600) as lifecycle:
        await asyncio.wait_for(lifecycle.discovered(), 30)
        jobs = [job for job in DEMO.jobs if job.environment_id == DEMO_ENV_STOREFRONT_PRODUCTION_ID]
        assert {job.id for job in jobs} <= set(board.jobs)
        assert all(job.name and job.job_type and job.state for job in board.jobs.values())
        assert lifecycle.discovery_errors == []


async def test_what_discovery_cannot_read_is_noted_and_the_rest_is_kept(qovery: SimQovery) -> None:
    board = JobBoard([JobEntry(id=CRON_JOB), JobEntry(id=UNKNOWN_JOB)])
    notes: list[LifecycleNote] = []
    async with client_for(qovery.url, attempts=1) as client:
        lifecycle = Lifecycle(board, client, 3600)
        lifecycle.subscribe(notes.append)
        lifecycle.subscribe(lambda note: 1 / 0)  # a broken listener breaks nothing
        await lifecycle.discover()
    [note] = notes
    assert (note.topic, note.unexpected) == ("discover", False)
    assert UNKNOWN_JOB in note.message and "404" in note.message
    assert lifecycle.discovery_errors == [note.message]
    cron = board.jobs[CRON_JOB]
    assert (cron.name, cron.state) == ("nightly-backup", "DEPLOYED")  # read right after discovery


async def test_a_bug_in_the_poller_is_noted_and_polling_starts_again(
    qovery: SimQovery, monkeypatch: pytest.MonkeyPatch
) -> None:
    board = JobBoard([JobEntry(id=LIFECYCLE_JOB, environment=DEMO_ENV_STOREFRONT_PRODUCTION_ID)])
    real_refresh = board.refresh
    calls = 0

    async def refresh_with_a_bug(*args: Any, **kwargs: Any) -> set[str]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise KeyError("state")
        return await real_refresh(*args, **kwargs)

    monkeypatch.setattr(board, "refresh", refresh_with_a_bug)
    notes: list[LifecycleNote] = []
    async with client_for(qovery.url) as client:
        lifecycle = Lifecycle(board, client, 0.05)
        lifecycle.subscribe(notes.append)
        polling = asyncio.create_task(lifecycle.poll())
        await until(lambda: board.jobs[LIFECYCLE_JOB].state == "DEPLOYED", "a refresh after the bug")
        polling.cancel()
        await asyncio.gather(polling, return_exceptions=True)
    assert notes[0] == LifecycleNote("refresh", "KeyError: 'state'", unexpected=True)


async def test_stop_is_quiet_whatever_the_lifecycle_was_doing(qovery: SimQovery) -> None:
    qovery.sim.inject(method="GET", path="/job/", delay_s=30, status=None)  # discovery hangs on Qovery
    board = JobBoard([JobEntry(id=CRON_JOB)])
    notes: list[LifecycleNote] = []
    async with client_for(qovery.url) as client:
        lifecycle = Lifecycle(board, client, 3600)
        lifecycle.subscribe(notes.append)
        lifecycle.start()
        await until(lambda: qovery.sim.requests, "discovery asking Qovery")
        await lifecycle.stop()
        await asyncio.wait_for(lifecycle.discovered(), 1)  # whoever waited for discovery goes on
        await lifecycle.stop()  # twice is harmless
    assert notes == []
    assert board.jobs[CRON_JOB].job_type is None  # nothing learnt, nothing raised
