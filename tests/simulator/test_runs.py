"""A job's runs: `GET /job/{jobId}/deploymentHistoryV2` and the `execution_id` of its `Status`.

Every answer goes through the `api` fixture, so each one is also checked against Qovery's schemas.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from qjob_tui.simulator import JobSpec, ManualClock, Simulator, demo_dataset, serve_simulator
from qjob_tui.simulator.jobs import DEPLOY, RUN_HISTORY

from .conftest import AUTH

DEMO = demo_dataset()
BACKUP = DEMO.job_named("nightly-backup").id  # cron, DEPLOYED, three past runs (one failed, one shared)
MIGRATE = DEMO.job_named("db-migrate").id  # lifecycle, built from git
WARMUP = DEMO.job_named("cache-warmup").id  # DEPLOYMENT_ERROR: its newest run failed
SEED = DEMO.job_named("seed-fixtures").id  # its next deploy fails
REPORT = DEMO.job_named("weekly-report").id  # STOPPED by its newest run
SCHEMA = DEMO.job_named("warehouse-schema").id
VACUUM = DEMO.job_named("table-vacuum").id  # READY: never ran
UNKNOWN = "00000000-0000-4000-8000-000000000007"


async def runs(api: httpx.AsyncClient, job_id: str, **params: Any) -> list[dict[str, Any]]:
    answer = await api.get(f"/job/{job_id}/deploymentHistoryV2", params=params)
    assert answer.status_code == 200
    body = answer.json()
    assert body["page"] == 1
    results: list[dict[str, Any]] = body["results"]
    return results


def summary(run: dict[str, Any]) -> tuple[str, str, str, str]:
    audit = run["auditing_data"]
    return run["status"], run["status_details"]["action"], audit["triggered_by"], audit["origin"]


async def test_the_demo_jobs_have_the_histories_the_dataset_gives(api: httpx.AsyncClient) -> None:
    assert [summary(run) for run in await runs(api, BACKUP)] == [
        ("DEPLOYED", "DEPLOY", "Alice Martin", "CONSOLE"),
        ("DEPLOYED", "DEPLOY", "Bob Chen", "GIT"),
        ("DEPLOYMENT_ERROR", "DEPLOY", "Demo User", "API"),
    ]
    assert [summary(run) for run in await runs(api, WARMUP)] == [
        ("DEPLOYMENT_ERROR", "DEPLOY", "Demo User", "API"),
        ("DEPLOYED", "DEPLOY", "Alice Martin", "CONSOLE"),
    ]
    assert [summary(run)[:2] for run in await runs(api, REPORT)] == [
        ("STOPPED", "STOP"),
        ("DEPLOYED", "DEPLOY"),
    ]
    assert await runs(api, VACUUM) == []
    for spec in DEMO.jobs:
        history = await runs(api, spec.id)
        assert len(history) == len(spec.past_runs)
        assert all(run["identifier"]["service_id"] == spec.id for run in history)
        assert all(run["identifier"]["name"] == spec.name for run in history)
        created = [run["auditing_data"]["created_at"] for run in history]
        assert created == sorted(created, reverse=True), "newest first"


async def test_the_newest_run_is_the_one_the_status_describes(api: httpx.AsyncClient) -> None:
    for env in DEMO.environments:
        statuses = (await api.get(f"/environment/{env.id}/job/status")).json()["results"]
        for status in statuses:
            history = await runs(api, status["id"])
            if not history:
                assert "execution_id" not in status
                continue
            newest = history[0]
            assert status["execution_id"] == newest["identifier"]["execution_id"]
            assert status["execution_id"].startswith(status["deployment_request_id"] + "-")
            assert status["last_deployment_date"] == newest["auditing_data"]["created_at"]
            assert status["state"] == newest["status"]


async def test_one_environment_deployment_is_one_execution_for_each_of_its_jobs(
    api: httpx.AsyncClient,
) -> None:
    backup_release = (await runs(api, BACKUP))[1]
    migrate_release = (await runs(api, MIGRATE))[1]
    assert backup_release["identifier"]["execution_id"] == migrate_release["identifier"]["execution_id"]
    assert backup_release["auditing_data"]["created_at"] == migrate_release["auditing_data"]["created_at"]
    others = [run["identifier"]["execution_id"] for job in (BACKUP, MIGRATE) for run in await runs(api, job)]
    assert len(set(others)) == len(others) - 1, "no other run shares an execution"


async def test_an_action_starts_a_run_that_follows_the_job_through_its_states(
    api: httpx.AsyncClient, clock: ManualClock
) -> None:
    accepted = (await api.post(f"/job/{SCHEMA}/deploy", params={"forceEvent": "STOP"})).json()
    seen = []
    for _ in range(6):
        newest = (await runs(api, SCHEMA))[0]
        status = (await api.get(f"/job/{SCHEMA}/status")).json()
        assert newest["status"] == status["state"]
        assert newest["status_details"] == status["status_details"]
        seen.append((newest["status"], newest["auditing_data"]["updated_at"], newest.get("total_duration")))
        clock.advance(1)
    created = newest["auditing_data"]["created_at"]
    assert [(state, duration) for state, _, duration in seen] == [
        ("DEPLOYMENT_QUEUED", None),
        ("DEPLOYMENT_QUEUED", None),
        ("DEPLOYING", None),
        ("DEPLOYING", None),
        ("DEPLOYED", "PT4S"),
        ("DEPLOYED", "PT4S"),
    ]
    updated = [when for _, when, _ in seen]
    assert updated[0] == created and updated[0] < updated[2] < updated[4] == updated[5]
    assert newest["identifier"]["execution_id"] == accepted["execution_id"]
    assert accepted["execution_id"].startswith(accepted["deployment_request_id"] + "-")
    assert summary(newest)[2:] == ("Demo User", "API")
    assert len(await runs(api, SCHEMA)) == 3


@pytest.mark.parametrize(
    ("action", "job_id", "settled", "qovery_action"),
    [
        ("redeploy", BACKUP, "DEPLOYED", "DEPLOY"),
        ("stop", SCHEMA, "STOPPED", "STOP"),
        ("uninstall", REPORT, "DELETED", "DELETE"),
        ("deploy", SEED, "DEPLOYMENT_ERROR", "DEPLOY"),
    ],
)
async def test_each_action_leaves_its_run_settled_as_its_job(
    api: httpx.AsyncClient, clock: ManualClock, action: str, job_id: str, settled: str, qovery_action: str
) -> None:
    before = await runs(api, job_id)
    answer = await api.post(f"/job/{job_id}/{action}")
    assert answer.status_code == 202
    clock.advance(4)
    after = await runs(api, job_id)
    assert after[1:] == before, "older runs do not change"
    assert (after[0]["status"], after[0]["status_details"]["action"]) == (settled, qovery_action)
    assert after[0]["status_details"]["status"] == ("ERROR" if settled == "DEPLOYMENT_ERROR" else "SUCCESS")
    assert (await api.get(f"/job/{job_id}/status")).json()["execution_id"] == after[0]["identifier"][
        "execution_id"
    ]


async def test_refused_and_empty_actions_start_no_run(api: httpx.AsyncClient, clock: ManualClock) -> None:
    assert (await api.post(f"/job/{VACUUM}/uninstall")).status_code == 204
    assert (await api.post(f"/job/{REPORT}/stop")).status_code == 409
    assert (await api.post(f"/job/{BACKUP}/deploy", params={"forceEvent": "START"})).status_code == 400
    assert (await api.post(f"/job/{WARMUP}/cleanFailedJob")).status_code == 200
    assert await runs(api, VACUUM) == []
    assert len(await runs(api, REPORT)) == 2
    assert len(await runs(api, BACKUP)) == 3
    assert len(await runs(api, WARMUP)) == 2
    assert (await api.post(f"/job/{BACKUP}/deploy")).status_code == 202
    assert (await api.post(f"/job/{BACKUP}/redeploy")).status_code == 409
    assert len(await runs(api, BACKUP)) == 4


async def test_a_run_shows_the_version_it_deployed(api: httpx.AsyncClient, clock: ManualClock) -> None:
    await api.post(f"/job/{BACKUP}/deploy", json={"image_tag": "2.5.0"})
    clock.advance(4)
    history = await runs(api, BACKUP)
    assert [(run["details"]["image_name"], run["details"]["tag"]) for run in history[:2]] == [
        ("acme/pg-backup", "2.5.0"),
        ("acme/pg-backup", "2.4.1"),
    ]
    assert history[0]["details"]["schedule"] == {
        "cron_job": {
            "arguments": ["--bucket", "acme-backups"],
            "scheduled_at": "0 3 * * *",
            "timezone": "Etc/UTC",
        }
    }
    commit = "0123456789abcdef0123456789abcdef01234567"
    await api.post(f"/job/{MIGRATE}/deploy", json={"git_commit_id": commit})
    built = (await runs(api, MIGRATE))[0]["details"]
    assert (built["commit"]["git_commit_id"], built["tag"]) == (commit, commit)
    assert built["build_pod_name"] == f"build-{(await runs(api, MIGRATE))[0]['identifier']['execution_id']}-0"
    assert set(built["schedule"]) == {"lifecycle_type", "on_start"}


@pytest.mark.parametrize(("size", "expected"), [("1", 1), ("2", 2), ("2.0", 2), ("50", 3)])
async def test_page_size_limits_the_runs(api: httpx.AsyncClient, size: str, expected: int) -> None:
    answer = (await api.get(f"/job/{BACKUP}/deploymentHistoryV2", params={"pageSize": size})).json()
    assert (answer["page_size"], len(answer["results"])) == (int(float(size)), expected)
    newest_first = await runs(api, BACKUP)
    assert answer["results"] == newest_first[:expected]


@pytest.mark.parametrize("size", ["0", "-1", "2.5", "abc", "", "inf", "nan", "1e999"])
async def test_a_bad_page_size_is_400(api: httpx.AsyncClient, size: str) -> None:
    answer = await api.get(f"/job/{BACKUP}/deploymentHistoryV2", params={"pageSize": size})
    assert answer.status_code == 400
    assert answer.json()["message"] == f"pageSize {size!r} is not a whole number of at least 1"


async def test_runs_of_an_unknown_job_are_404(api: httpx.AsyncClient) -> None:
    answer = await api.get(f"/job/{UNKNOWN}/deploymentHistoryV2")
    assert (answer.status_code, answer.json()["message"]) == (404, f"job {UNKNOWN} not found")


async def test_twenty_runs_by_default_and_the_job_remembers_a_hundred() -> None:
    sim = Simulator(phase_s=0)
    async with serve_simulator(sim) as url, httpx.AsyncClient(base_url=url, headers=AUTH) as client:
        for _ in range(RUN_HISTORY + 5):
            assert (await client.post(f"/job/{VACUUM}/redeploy")).status_code == 202
        default = (await client.get(f"/job/{VACUUM}/deploymentHistoryV2")).json()
        everything = (
            await client.get(f"/job/{VACUUM}/deploymentHistoryV2", params={"pageSize": 1000})
        ).json()
    assert (default["page_size"], len(default["results"])) == (20, 20)
    assert len(everything["results"]) == RUN_HISTORY
    ids = [run["identifier"]["execution_id"] for run in everything["results"]]
    assert len(set(ids)) == RUN_HISTORY
    assert ids[0] == sim.job(VACUUM).execution_id
    assert default["results"] == everything["results"][:20]


async def test_a_fixed_wall_start_makes_dates_and_ids_repeat() -> None:
    async def history_after_a_deploy() -> list[dict[str, Any]]:
        clock = ManualClock()
        sim = Simulator(clock=clock, wall_start=1_750_000_000.0)
        async with serve_simulator(sim) as url, httpx.AsyncClient(base_url=url, headers=AUTH) as client:
            await client.post(f"/job/{BACKUP}/deploy")
            clock.advance(3)
            body: list[dict[str, Any]] = (await client.get(f"/job/{BACKUP}/deploymentHistoryV2")).json()[
                "results"
            ]
            return body

    first, second = await history_after_a_deploy(), await history_after_a_deploy()
    assert first == second
    assert first[0]["auditing_data"]["created_at"] == "2025-06-15T15:06:40.000000Z"
    assert first[0]["identifier"]["execution_id"].endswith("-1750000000")


def test_without_a_fixed_wall_start_two_simulators_have_their_own_ids() -> None:
    first, second = Simulator(phase_s=0), Simulator(phase_s=0)
    ids = {sim.job(BACKUP).start(DEPLOY).request_id for sim in (first, second)}
    assert len(ids) == 2


async def test_a_job_added_without_history_gets_one_run_for_its_state() -> None:
    sim = Simulator(phase_s=0)
    env_id = DEMO.environments[0].id
    failed = sim.add_job(
        JobSpec(
            id="aaaaaaaa-0000-4000-8000-000000000003",
            environment_id=env_id,
            name="x",
            state="DEPLOYMENT_ERROR",
        )
    )
    fresh = sim.add_job(
        JobSpec(id="aaaaaaaa-0000-4000-8000-000000000004", environment_id=env_id, name="y", state="READY")
    )
    async with serve_simulator(sim) as url, httpx.AsyncClient(base_url=url, headers=AUTH) as client:
        history = (await client.get(f"/job/{failed.id}/deploymentHistoryV2")).json()["results"]
        assert [run["status"] for run in history] == ["DEPLOYMENT_ERROR"]
        assert (await client.get(f"/job/{fresh.id}/deploymentHistoryV2")).json()["results"] == []
        status = (await client.get(f"/job/{failed.id}/status")).json()
    assert status["execution_id"] == history[0]["identifier"]["execution_id"]
