"""A run's deployment log from the real command: `deploy --watch --logs`, and `qjob-tui logs [--follow]`."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from qjob_tui.simulator import Simulator, serve_simulator
from tests.common import API_TOKEN, CRON_JOB, FAILS_NEXT_JOB, NEVER_DEPLOYED_JOB, run_qjob_tui, user_env

from .support import write_config


@contextlib.asynccontextmanager
async def qovery(phase_s: float) -> AsyncIterator[tuple[Simulator, str]]:
    sim = Simulator(token=API_TOKEN, phase_s=phase_s)
    async with serve_simulator(sim) as url:
        yield sim, url


async def test_watch_with_logs_tells_the_runs_own_lines_and_its_error_before_the_result(
    tmp_path: Path,
) -> None:
    async with qovery(phase_s=0.5) as (_, url):
        config = write_config(tmp_path, url)
        ran = await run_qjob_tui(
            tmp_path,
            "deploy",
            "seed-fixtures",
            "--logs",
            "--json",
            "--config",
            str(config),
            env=user_env(tmp_path),
        )
    assert ran.code == 1
    accepted, *events, result = ran.records
    logs = [event for event in events if event["event"] == "log"]
    assert {event["event"] for event in events} == {"state", "log"}
    assert {line["execution_id"] for line in logs} == {accepted["execution_id"]}  # this job's run only
    assert not any("environment" in line["message"].lower() for line in logs)  # no other service's lines
    error = logs[-1]
    assert (error["kind"], error["step"]) == ("error", "DeployedError")
    assert "clean the failed job" in error["hint"] and error["link"].startswith("https://")
    assert (result["result"], result["state"], result["job"]) == (
        "failed",
        "DEPLOYMENT_ERROR",
        FAILS_NEXT_JOB,
    )


async def test_logs_of_the_latest_run_in_human_lines_with_the_hint(tmp_path: Path) -> None:
    async with qovery(phase_s=30) as (_, url):
        config = write_config(tmp_path, url)
        ran = await run_qjob_tui(
            tmp_path, "logs", "cache-warmup", "--config", str(config), env=user_env(tmp_path)
        )
    assert ran.code == 0, ran.stderr
    lines = ran.stdout.splitlines()
    assert all(line.split(" ", 2)[1] == "cache-warmup" for line in lines if not line.startswith("    "))
    assert "DeployedError: ERROR Job cache-warmup failed" in lines[-3]
    assert lines[-2].startswith("    hint: ") and lines[-1].startswith("    see: https://")


async def test_logs_follow_until_the_run_settles(tmp_path: Path) -> None:
    async with qovery(phase_s=0.5) as (_, url):
        async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Token {API_TOKEN}"}) as other:
            started = (await other.post(f"/job/{CRON_JOB}/deploy")).json()
        config = write_config(tmp_path, url)
        ran = await run_qjob_tui(
            tmp_path,
            "logs",
            "nightly-backup",
            "--follow",
            "--json",
            "--config",
            str(config),
            env=user_env(tmp_path),
        )
    assert ran.code == 0, ran.stderr
    *lines, result = ran.records
    assert {line["execution_id"] for line in lines} == {started["execution_id"]}
    assert lines[0]["step"] == "LoadConfiguration" and lines[-1]["step"] == "Deployed"
    assert (result["event"], result["result"]) == ("result", "success")


@pytest.mark.parametrize(
    ("line", "code", "says"),
    [
        (["logs", "nightly-backup", "--run", "not an id!"], 3, "refused: --run: "),
        (
            ["logs", "nightly-backup", "--run", "0d6e3c5a-1f0b-4c55-9d7e-2b1a4f9c8e11-1700000000"],
            3,
            "refused: ",
        ),
        (["logs", NEVER_DEPLOYED_JOB], 0, "the job has never run: there is no deployment log"),
        (["logs", "nightly-backup", "--follow", "--run"], 2, "expected one argument"),
    ],
    ids=["bad-run-id", "unknown-run", "never-ran", "run-without-id"],
)
async def test_logs_of_a_run_that_is_not_there(tmp_path: Path, line: list[str], code: int, says: str) -> None:
    async with qovery(phase_s=30) as (_, url):
        config = write_config(tmp_path, url)
        ran = await run_qjob_tui(tmp_path, *line, "--config", str(config), env=user_env(tmp_path))
    assert ran.code == code
    assert says in ran.stdout + ran.stderr
    assert "Traceback" not in ran.stderr
