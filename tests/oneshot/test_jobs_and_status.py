"""JOB by id or name, what finding it costs Qovery, and `qjob-tui status` — in this process, against the simulator.

`run_args` is the command after its line is parsed: the same settings loader, runtime, pipeline and output as
the real process, on streams the test reads.
"""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from qjob_tui.oneshot.arguments import parse
from qjob_tui.oneshot.results import Ending, Exit
from qjob_tui.oneshot.run import reporter_for, run_args
from qjob_tui.simulator import ManualClock, Simulator, serve_simulator
from tests.common import API_TOKEN, CRON_JOB, DEMO, LIFECYCLE_JOB, UNLISTED_JOB, environment_of, user_env

from .support import write_config


@dataclass
class Done:
    ending: Ending
    stdout: str
    stderr: str

    @property
    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stdout.splitlines()]


@pytest.fixture
async def sim() -> AsyncIterator[tuple[Simulator, str]]:
    simulator = Simulator(token=API_TOKEN, clock=ManualClock())
    async with serve_simulator(simulator) as url:
        yield simulator, url


async def command(tmp_path: Path, config: Path, *line: str, **env: str) -> Done:
    args = parse(line[0], [*line[1:], "--config", str(config)])
    stdout, stderr = io.StringIO(), io.StringIO()
    reporter = reporter_for(args, stdout, stderr)
    ending = await run_args(args, reporter, user_env(tmp_path, **env), io.StringIO())
    reporter.end(ending)
    return Done(ending, stdout.getvalue(), stderr.getvalue())


def paths(simulator: Simulator) -> list[str]:
    return [f"{r.method} {r.path}" for r in simulator.requests]


async def test_a_named_job_of_the_config_costs_qovery_nothing_but_the_action(
    tmp_path: Path, sim: tuple[Simulator, str]
) -> None:
    simulator, url = sim
    done = await command(tmp_path, write_config(tmp_path, url), "redeploy", "db-migrate")
    assert done.ending.exit is Exit.SUCCESS
    assert paths(simulator) == [f"POST /job/{LIFECYCLE_JOB}/redeploy"]


async def test_a_name_among_the_configured_environments_costs_one_list_each(
    tmp_path: Path, sim: tuple[Simulator, str]
) -> None:
    simulator, url = sim
    environments = sorted({environment_of(CRON_JOB), environment_of(UNLISTED_JOB)})
    config = write_config(tmp_path, url, jobs=[], environments=environments)
    done = await command(tmp_path, config, "stop", "weekly-report")  # a job only its environment lists
    assert done.ending.exit is Exit.REFUSED  # Qovery's 409: it is stopped already; it was found and sent
    assert sorted(paths(simulator)) == sorted(
        [*(f"GET /environment/{env}/job" for env in environments), f"POST /job/{UNLISTED_JOB}/stop"]
    )


async def test_unnamed_jobs_are_named_by_qovery_once(tmp_path: Path, sim: tuple[Simulator, str]) -> None:
    simulator, url = sim
    config = write_config(tmp_path, url, named=False, jobs=[CRON_JOB, LIFECYCLE_JOB])
    done = await command(tmp_path, config, "deploy", "nightly-backup", "--force-event", "CRON")
    assert done.ending.exit is Exit.SUCCESS, done.stderr
    # One job's GET /job/{id} names their environment, whose job list names the other (discovery).
    [probe] = [path for path in paths(simulator) if path.startswith("GET /job/")]
    assert probe in {f"GET /job/{CRON_JOB}", f"GET /job/{LIFECYCLE_JOB}"}
    assert sorted(paths(simulator)) == sorted(
        [probe, f"GET /environment/{environment_of(CRON_JOB)}/job", f"POST /job/{CRON_JOB}/deploy"]
    )
    assert simulator.requests[-1].query == {"forceEvent": "CRON"}


async def test_a_name_two_jobs_share_names_both_and_sends_nothing(
    tmp_path: Path, sim: tuple[Simulator, str]
) -> None:
    simulator, url = sim
    config = tmp_path / "qjob-tui.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "qovery": {"api_url": url},
                "jobs": [{"id": LIFECYCLE_JOB, "name": "nightly-backup"}],  # a label that is another's name
                "environments": [environment_of(CRON_JOB)],
                "audit": {"path": str(tmp_path / "audit.jsonl")},
            }
        )
    )
    done = await command(tmp_path, config, "deploy", "nightly-backup", "--json")
    assert done.ending.exit is Exit.USAGE
    message = done.records[-1]["message"]
    assert message.startswith("2 jobs are named 'nightly-backup': ") and message.endswith(
        "give the job's id instead"
    )
    assert CRON_JOB in message and LIFECYCLE_JOB in message
    assert not [r for r in simulator.requests if r.method == "POST"]


async def test_when_qovery_cannot_list_the_jobs_a_name_is_not_called_unknown(
    tmp_path: Path, sim: tuple[Simulator, str]
) -> None:
    simulator, url = sim
    simulator.inject(method="GET", path="/job$", status=503, times=None)
    config = write_config(tmp_path, url, jobs=[], environments=[environment_of(CRON_JOB)])
    done = await command(tmp_path, config, "deploy", "nightly-backup")
    assert done.ending.exit is Exit.UNREACHABLE
    assert "could not be found: Qovery did not list the jobs" in (done.ending.message or "")
    assert "503" in done.stderr


@pytest.mark.parametrize("command_line", [["deploy", "nightly-backup"], ["logs", "nightly-backup"]])
async def test_when_qovery_refuses_to_list_the_jobs_a_name_is_refused_not_unreachable(
    tmp_path: Path, sim: tuple[Simulator, str], command_line: list[str]
) -> None:
    # A wrong token while a name is looked up: Qovery answered 401 to every read, which is exit 3, not 5.
    simulator, url = sim
    config = write_config(tmp_path, url, jobs=[], environments=[environment_of(CRON_JOB)])
    done = await command(tmp_path, config, *command_line, QOVERY_API_KEY="qov_not_the_right_token")
    assert (done.ending.exit, done.ending.http_status) == (Exit.REFUSED, 401)
    assert "could not be found: Qovery did not list the jobs" in (done.ending.message or "")
    assert [request.method for request in simulator.requests] == ["GET"]  # nothing acted on


async def test_status_of_every_job_as_a_table(tmp_path: Path, sim: tuple[Simulator, str]) -> None:
    _, url = sim
    done = await command(tmp_path, write_config(tmp_path, url), "status")
    assert done.ending.exit is Exit.SUCCESS
    header, *rows = done.stdout.splitlines()
    assert header.split() == ["NAME", "STATE", "TYPE", "LAST", "DEPLOYMENT", "ID"]
    by_name = {row.split()[0]: row.split() for row in rows}
    assert set(by_name) == {job.name for job in DEMO.jobs} - {"weekly-report"}  # the config's, only
    assert by_name["cache-warmup"][1:3] == ["DEPLOYMENT_ERROR", "CRON"]
    assert by_name["table-vacuum"][1:4] == ["READY", "CRON", "-"]
    assert done.stderr == ""


@pytest.mark.parametrize("named", [False, True], ids=["every-job", "named"])
async def test_status_that_qovery_refuses_is_refused_not_unreachable(
    tmp_path: Path, sim: tuple[Simulator, str], named: bool
) -> None:
    # A wrong token: `status JOB` said 3 (Qovery answered 401), but `status` said 5, "unreachable", for the
    # same answers, because discovery's failures lost their status on the way.
    _, url = sim
    config = write_config(tmp_path, url, environments=[environment_of(CRON_JOB)])
    line = ["status", "nightly-backup"] if named else ["status"]
    done = await command(tmp_path, config, *line, "--json", QOVERY_API_KEY="qov_not_the_right_token")
    result = done.records[-1]
    assert (result["result"], result["exit"], result.get("http_status")) == ("refused", 3, 401)


async def test_status_of_named_jobs_as_json_lines_one_read_each(
    tmp_path: Path, sim: tuple[Simulator, str]
) -> None:
    simulator, url = sim
    config = write_config(tmp_path, url)
    done = await command(tmp_path, config, "status", "cache-warmup", CRON_JOB, "--json", "cache-warmup")
    *jobs, result = done.records
    assert [(job["event"], job["name"], job["state"]) for job in jobs] == [
        ("job", "cache-warmup", "DEPLOYMENT_ERROR"),
        ("job", "nightly-backup", "DEPLOYED"),
    ]
    assert (result["event"], result["result"], result["exit"]) == ("result", "success", 0)
    assert len(simulator.requests) == 2  # the config gives no environment: one Status read per job


@pytest.mark.parametrize(
    ("job", "code"),
    [(UNLISTED_JOB, Exit.REFUSED), ("weekly", Exit.USAGE)],
    ids=["unlisted", "unknown"],
)
async def test_status_of_a_job_it_may_not_read(
    tmp_path: Path, sim: tuple[Simulator, str], job: str, code: Exit
) -> None:
    simulator, url = sim
    done = await command(tmp_path, write_config(tmp_path, url), "status", job)
    assert done.ending.exit is code
    assert simulator.requests == []


async def test_clean_failed_has_no_run_to_watch_and_says_so(
    tmp_path: Path, sim: tuple[Simulator, str]
) -> None:
    simulator, url = sim
    done = await command(
        tmp_path, write_config(tmp_path, url), "clean-failed", "cache-warmup", "--watch", "--json"
    )
    accepted, result = done.records
    assert accepted["event"] == "accepted" and accepted["clean_kubernetes_jobs"]  # Qovery's 200 answer
    assert (result["result"], result["http_status"], result["message"]) == (
        "success",
        200,
        "done: Qovery started no run to follow",
    )
    assert [r.method for r in simulator.requests] == ["POST"]
