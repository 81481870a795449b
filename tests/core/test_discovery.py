"""Discovery: the board's jobs learnt in about two requests per environment, states per environment as each
answers, and a rate limit that slows it down without losing anything. Counted at the simulator."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from qjob_tui.config import JobEntry
from qjob_tui.discovery import discover, learn_places
from qjob_tui.jobs import DiscoveryProgress, JobBoard, JobInfo
from qjob_tui.lifecycle import Lifecycle
from qjob_tui.simulator import (
    DEMO_ENV_DATA_PRODUCTION_ID,
    DEMO_ENV_STOREFRONT_PRODUCTION_ID,
    DEMO_ENV_STOREFRONT_STAGING_ID,
    ManualClock,
    Simulator,
    big_dataset,
    serve_simulator,
)
from qjob_tui.simulator.dataset import Dataset
from tests.common import API_TOKEN, CRON_JOB, DEMO, FAILED_JOB, LIFECYCLE_JOB, UNKNOWN_JOB

from .support import SimQovery, client_for, until

ORGANIZATION = DEMO.organizations[0].id
NAMES_WALK = [  # Qovery's organization tree, walked once for the environments' names
    "GET /organization",
    f"GET /organization/{ORGANIZATION}/project",
    *(f"GET /project/{project.id}/environment" for project in DEMO.projects),
]


def paths(sim: Simulator) -> list[str]:
    return [f"{r.method} {r.path}" for r in sim.requests]


def kinds(sim: Simulator) -> collections.Counter[str]:
    """The requests the simulator received, by what they ask for."""
    counted: collections.Counter[str] = collections.Counter()
    for request in sim.requests:
        path = request.path
        if path.startswith("/job/"):
            counted["job"] += 1  # a probe: GET /job/{id}
        elif path.endswith("/job/status"):
            counted["states"] += 1
        elif path.endswith("/job"):
            counted["jobs"] += 1
        else:
            counted["names"] += 1
    return counted


@asynccontextmanager
async def serving(dataset: Dataset) -> AsyncIterator[tuple[Simulator, str]]:
    sim = Simulator(token=API_TOKEN, clock=ManualClock(), dataset=dataset)
    async with serve_simulator(sim) as url:
        yield sim, url


def progress_of(board: JobBoard) -> list[DiscoveryProgress | None]:
    """Every progress the board shows, in order."""
    seen: list[DiscoveryProgress | None] = []
    board.subscribe(lambda changed: seen.append(board.discovery) if "*" in changed else None)
    return seen


# -- how many requests ---------------------------------------------------------------------------------


async def test_two_jobs_of_one_environment_cost_one_probe_and_its_states(qovery: SimQovery) -> None:
    board = JobBoard([JobEntry(id=CRON_JOB), JobEntry(id=LIFECYCLE_JOB, name="migrations")])
    async with client_for(qovery.url) as client:
        errors = await discover(board, client)
        again = await discover(board, client)

    assert errors == again == []
    [probe] = [path for path in paths(qovery.sim) if path.startswith("GET /job/")]
    env = DEMO_ENV_STOREFRONT_PRODUCTION_ID
    # The probe names the environment; its states place the other job, whose type its job list gives.
    assert sorted(paths(qovery.sim)) == sorted(
        [probe, f"GET /environment/{env}/job/status", f"GET /environment/{env}/job"]
    )
    cron, lifecycle = board.jobs[CRON_JOB], board.jobs[LIFECYCLE_JOB]
    assert (cron.name, cron.job_type, cron.environment, cron.state) == (
        "nightly-backup",
        "CRON",
        env,
        "DEPLOYED",
    )
    assert (lifecycle.name, lifecycle.job_type, lifecycle.state) == ("migrations", "LIFECYCLE", "DEPLOYED")
    assert board.discovery is None  # over


async def test_a_job_alone_in_its_environment_needs_no_job_list(qovery: SimQovery) -> None:
    board = JobBoard([JobEntry(id=CRON_JOB), JobEntry(id=FAILED_JOB)])  # production and staging
    async with client_for(qovery.url) as client:
        assert await discover(board, client) == []
    assert sorted(paths(qovery.sim)) == sorted(
        [
            f"GET /job/{CRON_JOB}",
            f"GET /job/{FAILED_JOB}",
            f"GET /environment/{DEMO_ENV_STOREFRONT_PRODUCTION_ID}/job/status",
            f"GET /environment/{DEMO_ENV_STOREFRONT_STAGING_ID}/job/status",
        ]
    )
    assert board.jobs[FAILED_JOB].state == "DEPLOYMENT_ERROR"


@pytest.mark.parametrize("order", ["interleaved", "grouped by environment"])
async def test_n_jobs_in_e_environments_cost_about_two_requests_per_environment(order: str) -> None:
    """1,000 configured jobs without their environment in 10 environments: not 1,000 GET /job/{id}, but one
    per environment (and a few more), one status list and one job list each."""
    dataset = big_dataset(1000, 10)
    jobs = list(dataset.jobs)  # big_dataset deals its jobs round-robin: interleaved
    if order == "grouped by environment":
        jobs.sort(key=lambda job: job.environment_id)
    board = JobBoard([JobEntry(id=job.id) for job in jobs])
    async with serving(dataset) as (sim, url), client_for(url) as client:
        assert await discover(board, client) == []
        assert await learn_places(board, client) == []

    counted = kinds(sim)
    environments = len(dataset.environments)
    assert counted["jobs"] == environments and counted["states"] == environments
    assert environments <= counted["job"] <= environments + 3  # a probe an answer on its way made useless
    assert counted["job"] + counted["jobs"] <= 2 * environments + 3
    assert counted["names"] == 3  # one organization, one project
    assert all(
        job.name and job.job_type and job.state and job.environment_name for job in board.jobs.values()
    )
    assert list(board.jobs) == [job.id for job in jobs]  # the config's order
    assert {job.name for job in board.jobs.values()} == {job.name for job in jobs}


async def test_jobs_the_config_places_cost_one_list_each_and_states_read_once(qovery: SimQovery) -> None:
    """The config gives the environment: no probe at all; the poller's states are not read a second time."""
    board = JobBoard(
        [
            JobEntry(id=CRON_JOB, environment=DEMO_ENV_STOREFRONT_PRODUCTION_ID),
            JobEntry(id=LIFECYCLE_JOB, environment=DEMO_ENV_STOREFRONT_PRODUCTION_ID),
            JobEntry(id=FAILED_JOB),
        ]
    )
    async with client_for(qovery.url) as client, Lifecycle(board, client, 3600) as lifecycle:
        await asyncio.wait_for(lifecycle.discovered(), 30)

    production, staging = DEMO_ENV_STOREFRONT_PRODUCTION_ID, DEMO_ENV_STOREFRONT_STAGING_ID
    assert sorted(paths(qovery.sim)) == sorted(
        [
            f"GET /environment/{production}/job/status",  # the poller's, shared with discovery
            f"GET /environment/{production}/job",
            f"GET /job/{FAILED_JOB}",
            f"GET /environment/{staging}/job/status",
        ]
    )
    assert list(board.jobs) == [CRON_JOB, LIFECYCLE_JOB, FAILED_JOB]  # the environment's other jobs stay out
    assert all(job.job_type and job.state for job in board.jobs.values())


async def test_configured_environments_join_in_the_configs_order_with_their_states(qovery: SimQovery) -> None:
    # The first environment answers last: its jobs still come first, and nobody asks for states twice.
    qovery.sim.inject(method="GET", path=f"^/environment/{DEMO_ENV_DATA_PRODUCTION_ID}/job$", delay_s=0.3)
    envs = [DEMO_ENV_DATA_PRODUCTION_ID, DEMO_ENV_STOREFRONT_STAGING_ID]
    board = JobBoard([JobEntry(id=CRON_JOB)], environments=envs)
    async with client_for(qovery.url) as client, Lifecycle(board, client, 3600) as lifecycle:
        await asyncio.wait_for(lifecycle.discovered(), 30)

    def env_of(job_id: str) -> str:
        return next(job.environment_id for job in DEMO.jobs if job.id == job_id)

    joined = [env_of(job_id) for job_id in list(board.jobs)[1:]]
    assert joined == sorted(joined, key=envs.index)  # data-production's jobs, then staging's
    assert set(joined) == set(envs)
    assert all(job.name and job.job_type and job.state for job in board.jobs.values())
    counted = collections.Counter(paths(qovery.sim))
    assert all(counted[f"GET /environment/{env}/job/status"] == 1 for env in envs)
    assert counted[f"GET /job/{CRON_JOB}"] == 1


async def test_what_discovery_cannot_read_is_reported_and_the_rest_kept(qovery: SimQovery) -> None:
    board = JobBoard([JobEntry(id=CRON_JOB), JobEntry(id=UNKNOWN_JOB)], environments=[UNKNOWN_JOB])
    async with client_for(qovery.url, attempts=1) as client:
        errors = await discover(board, client)
    assert sorted(error.split(":")[0] for error in errors) == [
        f"environment {UNKNOWN_JOB}",
        f"job {UNKNOWN_JOB}",
        f"states of environment {UNKNOWN_JOB}",
    ]
    assert all("404" in error for error in errors)
    assert (board.jobs[CRON_JOB].name, board.jobs[CRON_JOB].state) == ("nightly-backup", "DEPLOYED")
    assert board.jobs[UNKNOWN_JOB].job_type is None
    assert paths(qovery.sim).count(f"GET /job/{UNKNOWN_JOB}") == 1  # not asked again at the end


async def test_a_job_its_environment_does_not_list_is_asked_for_itself(qovery: SimQovery) -> None:
    """The config names the wrong environment for a job: one GET /job/{id}, then its real environment's states."""
    board = JobBoard([JobEntry(id=FAILED_JOB, environment=DEMO_ENV_STOREFRONT_PRODUCTION_ID)])
    async with client_for(qovery.url) as client:
        assert await discover(board, client) == [
            f"job {FAILED_JOB}: it is in environment {DEMO_ENV_STOREFRONT_STAGING_ID}, "
            f"not {DEMO_ENV_STOREFRONT_PRODUCTION_ID} as the config says"
        ]
    job = board.jobs[FAILED_JOB]
    assert (job.name, job.job_type, job.state) == ("cache-warmup", "CRON", "DEPLOYMENT_ERROR")
    assert job.environment == DEMO_ENV_STOREFRONT_STAGING_ID  # Qovery's word wins
    assert f"GET /job/{FAILED_JOB}" in paths(qovery.sim)


async def test_environments_are_named_from_the_organization_tree_once(qovery: SimQovery) -> None:
    board = JobBoard([JobEntry(id=CRON_JOB), JobEntry(id=FAILED_JOB), JobEntry(id=UNKNOWN_JOB)])
    async with client_for(qovery.url) as client:
        await discover(board, client)
        qovery.sim.requests.clear()
        assert await learn_places(board, client) == []
        assert await learn_places(board, client) == []  # nothing left to name: nothing asked
    # Both environments are in the first project: the second project is not asked.
    assert paths(qovery.sim) == NAMES_WALK[:3]
    cron, failed = board.jobs[CRON_JOB], board.jobs[FAILED_JOB]
    assert (cron.environment_name, cron.project_name) == ("production", "storefront")
    assert (failed.environment_name, failed.project_name) == ("staging", "storefront")
    assert board.places[DEMO_ENV_STOREFRONT_STAGING_ID].project_id == DEMO.projects[0].id
    assert board.jobs[UNKNOWN_JOB].environment_name is None


async def test_environment_names_that_cannot_be_read_are_said_once(qovery: SimQovery) -> None:
    qovery.sim.inject(method="GET", path="^/organization$", status=403, json={"message": "not allowed"})
    board = JobBoard([JobEntry(id=CRON_JOB, environment=DEMO_ENV_STOREFRONT_PRODUCTION_ID)])
    async with client_for(qovery.url) as client:
        assert await learn_places(board, client) == ["environment names: Qovery answered 403: not allowed"]
    assert board.jobs[CRON_JOB].environment_name is None


# -- states per environment, progress ------------------------------------------------------------------


async def test_states_of_one_environment_are_on_the_board_before_a_slow_second_one_answers() -> None:
    dataset = big_dataset(40, 2)
    fast, slow = dataset.environments[0].id, dataset.environments[1].id
    board = JobBoard([JobEntry(id=job.id) for job in dataset.jobs])
    progress = progress_of(board)

    def in_fast() -> list[JobInfo]:
        return [job for job in board.jobs.values() if job.environment == fast]

    async with serving(dataset) as (sim, url):
        sim.inject(method="GET", path=f"^/environment/{slow}/", delay_s=60, times=None)  # not in this test
        async with client_for(url) as client, Lifecycle(board, client, 3600) as lifecycle:
            discovered = asyncio.create_task(lifecycle.discovered())
            await until(
                lambda: (
                    len(in_fast()) == 20
                    and all(job.state for job in in_fast())
                    and board.discovery is not None
                    and board.discovery.environments_found == 2
                ),
                "the fast environment's states, with the slow one found",
            )
            waiting = [job for job in board.jobs.values() if job.environment != fast]
            assert len(waiting) == 20 and all(job.state is None for job in waiting)
            assert not discovered.done()
            assert board.discovery.headline == "learning 40 jobs: 1/2 environments"
    assert progress[0] == DiscoveryProgress(jobs=40)
    assert progress[0].headline == "learning 40 jobs…"


# -- rate limits ---------------------------------------------------------------------------------------


async def test_a_rate_limit_holds_discovery_back_and_loses_nothing(qovery: SimQovery) -> None:
    # Qovery says 429 to a probe, then to a status list; the client does not retry (attempts=1), so
    # discovery itself waits out Retry-After and asks again.
    qovery.sim.inject(
        method="GET", path="^/job/", status=429, json={"message": "slow down"}, headers={"Retry-After": "0.4"}
    )
    qovery.sim.inject(method="GET", path="/job/status$", status=429, headers={"Retry-After": "0.3"}, times=2)
    jobs = [job for job in DEMO.jobs if job.environment_id != DEMO_ENV_DATA_PRODUCTION_ID]
    board = JobBoard([JobEntry(id=job.id) for job in jobs])
    progress = progress_of(board)
    async with client_for(qovery.url, attempts=1) as client:
        assert await discover(board, client) == []

    assert all(job.name and job.job_type and job.state for job in board.jobs.values())
    limited = [p.rate_limited_s for p in progress if p is not None and p.rate_limited_s is not None]
    # The probe's hold, then the status lists' (shown again only when an answer came between the two).
    assert limited[0] == 0.4 and set(limited[1:]) == {0.3}
    assert "Qovery rate limit, again in 0s" in next(
        p.headline for p in progress if p is not None and p.rate_limited_s == 0.4
    )
    # Each refused request was asked again after its wait: two environments' states, read once each.
    requested = collections.Counter(paths(qovery.sim))
    first_probe = paths(qovery.sim)[0]
    assert requested[first_probe] == 2
    states = [path for path in requested if path.endswith("/job/status")]
    assert sum(requested[path] for path in states) == len(states) + 2
    assert all(p is None or p.rate_limited_s is None for p in progress[-2:])  # held no more at the end


async def test_a_rate_limit_with_the_clients_own_retries_spent_is_waited_out_too(qovery: SimQovery) -> None:
    # Retry-After longer than the client waits on its own (60 s would be; here its attempts run out).
    qovery.sim.inject(method="GET", path="^/job/", status=429, headers={"Retry-After": "0.1"}, times=5)
    board = JobBoard([JobEntry(id=CRON_JOB)])
    async with client_for(qovery.url) as client:  # 4 attempts, waits recorded, not slept
        assert await discover(board, client) == []
    assert board.jobs[CRON_JOB].state == "DEPLOYED"
    assert paths(qovery.sim).count(f"GET /job/{CRON_JOB}") == 6  # 4 by the client, 2 by discovery
