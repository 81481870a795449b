"""Deployment logs: `GET /environment/{environmentId}/logs?version=<execution_id>`.

What a client must do with them (keep its job's lines of its run) is tested here from the client's side:
the answers hold other services' and other runs' lines on purpose. Every answer is checked against
Qovery's schemas by the `api` fixture.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from qjob_tui.simulator import (
    DEMO_ENV_DATA_DEVELOPMENT_ID,
    DEMO_ENV_STOREFRONT_PRODUCTION_ID,
    ManualClock,
    Simulator,
    big_dataset,
    demo_dataset,
    serve_simulator,
)
from qjob_tui.simulator.logs import LOG_LIMIT, TROUBLESHOOT_LINK

from .conftest import AUTH

DEMO = demo_dataset()
BACKUP = DEMO.job_named("nightly-backup")  # image, cron
MIGRATE = DEMO.job_named("db-migrate")  # git, lifecycle; same environment as nightly-backup
WARMUP = DEMO.job_named("cache-warmup")  # its newest run failed
SEED = DEMO.job_named("seed-fixtures")  # its next deploy fails
SCHEMA = DEMO.job_named("warehouse-schema")
UNKNOWN = "00000000-0000-4000-8000-000000000007"

Line = dict[str, Any]


async def log(api: httpx.AsyncClient, environment_id: str, version: str | None = None) -> list[Line]:
    params = {} if version is None else {"version": version}
    answer = await api.get(f"/environment/{environment_id}/logs", params=params)
    assert answer.status_code == 200
    lines: list[Line] = answer.json()
    return lines


def of(lines: list[Line], job_id: str, execution_id: str) -> list[Line]:
    """What a client keeps: its job's lines of its run."""
    return [
        line
        for line in lines
        if line["details"]["transmitter"]["id"] == job_id and line["details"]["execution_id"] == execution_id
    ]


def text(line: Line) -> str:
    """What a reader shows: the safe message, or the error's message."""
    shown: str = line["error"]["user_log_message"] if line.get("error") else line["message"]["safe_message"]
    return shown


async def execution_of(api: httpx.AsyncClient, job_id: str, index: int = 0) -> str:
    runs = (await api.get(f"/job/{job_id}/deploymentHistoryV2")).json()["results"]
    execution_id: str = runs[index]["identifier"]["execution_id"]
    return execution_id


async def test_a_run_writes_its_lines_while_it_runs_and_its_last_line_when_it_settles(
    api: httpx.AsyncClient, clock: ManualClock
) -> None:
    accepted = (await api.post(f"/job/{BACKUP.id}/deploy")).json()
    execution_id = accepted["execution_id"]
    seen = []
    for _ in range(21):
        lines = of(await log(api, BACKUP.environment_id, execution_id), BACKUP.id, execution_id)
        state = (await api.get(f"/job/{BACKUP.id}/status")).json()["state"]
        seen.append((clock.now, state, [line["details"]["stage"]["step"] for line in lines]))
        clock.advance(0.25)
    by_time = {now: (state, steps) for now, state, steps in seen}
    queued = ["LoadConfiguration"]
    progress = ["LoadConfiguration", "Deploy", "Deploy", "Executing", "Executing"]
    assert by_time[0.0] == ("DEPLOYMENT_QUEUED", queued)
    assert by_time[1.75] == ("DEPLOYMENT_QUEUED", queued)
    assert by_time[2.0] == ("DEPLOYING", progress[:2])
    assert by_time[2.5] == ("DEPLOYING", progress[:3])
    assert by_time[3.75] == ("DEPLOYING", progress)
    assert by_time[4.0] == ("DEPLOYED", [*progress, "Deployed"])
    assert by_time[5.0] == by_time[4.0], "nothing after it settles"
    counts = [len(steps) for _, _, steps in seen]
    assert counts == sorted(counts), "lines never go away"
    final = of(await log(api, BACKUP.environment_id, execution_id), BACKUP.id, execution_id)
    assert [text(line) for line in final] == [
        f"Deployment of job nightly-backup queued (deployment request {accepted['deployment_request_id']})",
        "Pulling image acme/pg-backup:2.4.1 for job nightly-backup",
        "Installing CronJob qjob-nightly-backup-"
        f"{accepted['deployment_request_id'][:8]}: schedule '0 3 * * *' (Etc/UTC)",
        "Job nightly-backup is running: (image entrypoint) --bucket acme-backups",
        "Waiting for job nightly-backup to complete (at most 300s)",
        "Job nightly-backup completed successfully (exit code 0)",
    ]
    assert all(line["type"] == "info" and "error" not in line for line in final)
    stamps = [line["timestamp"] for line in final]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)


async def test_every_state_of_every_action_agrees_with_the_log(
    api: httpx.AsyncClient, clock: ManualClock
) -> None:
    last_step = {
        "DEPLOYMENT_QUEUED": {"LoadConfiguration"},
        "STOP_QUEUED": {"LoadConfiguration"},
        "DELETE_QUEUED": {"LoadConfiguration"},
        "DEPLOYING": {"Build", "Built", "Deploy", "Executing"},
        "STOPPING": {"Pause"},
        "DELETING": {"Delete"},
        "DEPLOYED": {"Deployed"},
        "DEPLOYMENT_ERROR": {"DeployedError"},
        "STOPPED": {"Paused"},
        "DELETED": {"Deleted"},
    }
    for action in ("deploy", "stop", "uninstall", "redeploy"):
        for spec in (BACKUP, MIGRATE, SEED, SCHEMA):
            answer = await api.post(f"/job/{spec.id}/{action}")
            if answer.status_code != 202:
                continue
            execution_id = answer.json()["execution_id"]
            for _ in range(9):
                state = (await api.get(f"/job/{spec.id}/status")).json()["state"]
                lines = of(await log(api, spec.environment_id, execution_id), spec.id, execution_id)
                assert lines[-1]["details"]["stage"]["step"] in last_step[state], (spec.name, action, state)
                clock.advance(0.5)


async def test_a_failed_run_ends_with_an_error_line_and_its_hint(
    api: httpx.AsyncClient, clock: ManualClock
) -> None:
    execution_id = (await api.post(f"/job/{SEED.id}/deploy")).json()["execution_id"]
    clock.advance(3.9)
    lines = of(await log(api, SEED.environment_id, execution_id), SEED.id, execution_id)
    assert all(line["type"] == "info" for line in lines)
    clock.advance(0.1)
    assert (await api.get(f"/job/{SEED.id}/status")).json()["state"] == "DEPLOYMENT_ERROR"
    last = of(await log(api, SEED.environment_id, execution_id), SEED.id, execution_id)[-1]
    assert (last["type"], last["message"], last["details"]["stage"]["step"]) == (
        "error",
        None,
        "DeployedError",
    )
    error = last["error"]
    assert error["user_log_message"] == "Job seed-fixtures failed: its container exited with code 1"
    assert "deploy it again" in error["hint_message"] and "clean the failed job" in error["hint_message"]
    assert error["link"] == TROUBLESHOOT_LINK
    assert error["underlying_error"]["message"] == "Job has reached the specified backoff limit"


async def test_the_demo_failed_run_has_its_error_and_hint(api: httpx.AsyncClient) -> None:
    execution_id = await execution_of(api, WARMUP.id)
    lines = of(await log(api, WARMUP.environment_id, execution_id), WARMUP.id, execution_id)
    errors = [line for line in lines if line["type"] == "error"]
    assert [line["error"]["user_log_message"] for line in errors] == [
        "Job cache-warmup failed: its container exited with code 1"
    ]
    assert errors[0]["error"]["hint_message"]
    assert lines[-1] is errors[0]
    older = await execution_of(api, WARMUP.id, 1)
    assert [line["type"] for line in of(await log(api, WARMUP.environment_id, older), WARMUP.id, older)] == [
        "info"
    ] * 6


async def test_an_environment_deployment_log_holds_every_job_it_ran(api: httpx.AsyncClient) -> None:
    execution_id = await execution_of(api, BACKUP.id, 1)
    lines = await log(api, BACKUP.environment_id, execution_id)
    transmitters = {
        (line["details"]["transmitter"]["type"], line["details"]["transmitter"]["name"]) for line in lines
    }
    assert transmitters == {("Environment", "production"), ("Job", "nightly-backup"), ("Job", "db-migrate")}
    assert {line["details"]["execution_id"] for line in lines} == {execution_id}
    backup, migrate = of(lines, BACKUP.id, execution_id), of(lines, MIGRATE.id, execution_id)
    assert all("nightly-backup" in text(line) for line in backup)
    assert all("db-migrate" in text(line) for line in migrate)
    assert len(backup) == 6 and len(migrate) == 8  # pulled image vs cloned and built from git
    environment = [line for line in lines if line["details"]["transmitter"]["type"] == "Environment"]
    assert [line["details"]["stage"]["step"] for line in environment] == [
        "LoadConfiguration",
        "Deploy",
        "Deployed",
    ]
    assert environment[0]["details"]["transmitter"]["id"] == DEMO_ENV_STOREFRONT_PRODUCTION_ID
    assert all(line["details"]["stage"]["name"] == "JOB DEFAULT" for line in backup + migrate)


async def test_runs_at_the_same_time_share_the_log_and_filtering_keeps_one(
    api: httpx.AsyncClient, clock: ManualClock
) -> None:
    backup = (await api.post(f"/job/{BACKUP.id}/deploy")).json()["execution_id"]
    clock.advance(1)
    migrate = (await api.post(f"/job/{MIGRATE.id}/redeploy")).json()["execution_id"]
    clock.advance(10)
    lines = await log(api, BACKUP.environment_id, backup)
    assert {line["details"]["execution_id"] for line in lines} == {backup, migrate}
    assert {line["details"]["transmitter"]["id"] for line in lines} == {
        BACKUP.id,
        MIGRATE.id,
        DEMO_ENV_STOREFRONT_PRODUCTION_ID,
    }
    mine = of(lines, BACKUP.id, backup)
    assert [line["details"]["stage"]["step"] for line in mine] == [
        "LoadConfiguration",
        "Deploy",
        "Deploy",
        "Executing",
        "Executing",
        "Deployed",
    ]
    # The other run is cut to the window of the one asked for: its lines after that run ended are not there.
    theirs = of(lines, MIGRATE.id, migrate)
    assert 0 < len(theirs) < len(of(await log(api, MIGRATE.environment_id, migrate), MIGRATE.id, migrate))
    stamps = [line["timestamp"] for line in lines]
    assert stamps == sorted(stamps)


async def test_without_a_version_the_latest_deployment_of_the_environment(
    api: httpx.AsyncClient, clock: ManualClock
) -> None:
    latest = await execution_of(api, MIGRATE.id)  # 5 hours ago, after nightly-backup's 26 hours ago
    assert {line["details"]["execution_id"] for line in await log(api, MIGRATE.environment_id)} == {latest}
    execution_id = (await api.post(f"/job/{BACKUP.id}/deploy")).json()["execution_id"]
    assert await log(api, BACKUP.environment_id) == await log(api, BACKUP.environment_id, execution_id)
    assert await log(api, BACKUP.environment_id, "") == await log(api, BACKUP.environment_id)


async def test_an_unknown_version_or_an_environment_that_never_ran_has_no_lines(
    api: httpx.AsyncClient,
) -> None:
    assert await log(api, BACKUP.environment_id, "no-such-execution") == []
    assert await log(api, WARMUP.environment_id, await execution_of(api, BACKUP.id)) == [], (
        "another environment's"
    )
    assert await log(api, DEMO_ENV_DATA_DEVELOPMENT_ID) == []


async def test_the_logs_of_an_unknown_environment_are_404(api: httpx.AsyncClient) -> None:
    answer = await api.get(f"/environment/{UNKNOWN}/logs")
    assert (answer.status_code, answer.json()["message"]) == (404, f"environment {UNKNOWN} not found")


@pytest.mark.parametrize(
    ("action", "steps"),
    [
        ("stop", ["LoadConfiguration", "Pause", "Pause", "Paused"]),
        ("uninstall", ["LoadConfiguration", "Delete", "Delete", "Deleted"]),
    ],
)
async def test_stop_and_uninstall_write_their_own_lines(
    api: httpx.AsyncClient, clock: ManualClock, action: str, steps: list[str]
) -> None:
    execution_id = (await api.post(f"/job/{SCHEMA.id}/{action}")).json()["execution_id"]
    clock.advance(4)
    lines = of(await log(api, SCHEMA.environment_id, execution_id), SCHEMA.id, execution_id)
    assert [line["details"]["stage"]["step"] for line in lines] == steps
    hook = "STOP" if action == "stop" else "DELETE"
    assert text(lines[1]) == f"Running the {hook} hook of job warehouse-schema"


async def test_an_answer_holds_the_last_thousand_lines() -> None:
    clock = ManualClock()
    sim = Simulator(clock=clock, phase_s=2.0, dataset=big_dataset(200, 1))
    env_id = sim.dataset.environments[0].id
    async with serve_simulator(sim) as url, httpx.AsyncClient(base_url=url, headers=AUTH) as client:
        first = None
        for spec in sim.dataset.jobs:
            answer = await client.post(f"/job/{spec.id}/redeploy")
            first = first or answer.json()["execution_id"]
        queued = (await client.get(f"/environment/{env_id}/logs", params={"version": first})).json()
        clock.advance(4)
        lines = (await client.get(f"/environment/{env_id}/logs", params={"version": first})).json()
    # 200 runs of 6 lines and 3 of their environment's each, all within the first run's time: 1,800 lines.
    assert len(sim.environment_log(env_id, first)) == len(lines) == LOG_LIMIT
    # The oldest are left out: nothing from the moment the runs were queued (400 lines) survives.
    assert len(queued) == 400 and lines[0]["timestamp"] > queued[-1]["timestamp"]
    assert sum(line["details"]["stage"]["step"] == "LoadConfiguration" for line in lines) < 400
    assert lines[-1]["details"]["stage"]["step"] == "Deployed"
    assert lines[-1]["details"]["transmitter"]["type"] == "Environment"
    stamps = [line["timestamp"] for line in lines]
    assert stamps == sorted(stamps)
