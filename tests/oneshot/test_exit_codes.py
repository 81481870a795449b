"""Every exit code of the one-shot contract, produced by the real `qjob-tui` against the simulator on loopback.

Each case is a real one: a run that settles, a job set to fail, a job another caller made busy (Qovery's own
409), a run longer than `--timeout`, a Qovery nobody listens for, a Qovery that answers 5xx or not JSON,
and the mistakes of a command line. With `--json`, every line of stdout parses and the last is the result.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from qjob_tui.simulator import Simulator, serve_simulator
from tests.common import (
    API_TOKEN,
    CRON_JOB,
    FAILS_NEXT_JOB,
    LIFECYCLE_JOB,
    NEVER_DEPLOYED_JOB,
    UNLISTED_JOB,
    environment_of,
    free_port,
    read_outcomes,
    run_qjob_tui,
    user_env,
)
from tests.support.hostile import echo_authorization, hostile_upstream

from .support import write_config


@contextlib.asynccontextmanager
async def qovery(phase_s: float) -> AsyncIterator[tuple[Simulator, str]]:
    """The simulator on a real clock: each phase of a run lasts `phase_s` seconds."""
    sim = Simulator(token=API_TOKEN, phase_s=phase_s)
    async with serve_simulator(sim) as url:
        yield sim, url


def posts(sim: Simulator) -> list[str]:
    return [request.path for request in sim.requests if request.method == "POST"]


async def test_0_a_deploy_watched_until_deployed(tmp_path: Path) -> None:
    async with qovery(phase_s=0.3) as (sim, url):
        config = write_config(tmp_path, url)
        ran = await run_qjob_tui(
            tmp_path, "deploy", "nightly-backup", "--watch", "--json", "--config", str(config),
            env=user_env(tmp_path),
        )  # fmt: skip
    assert ran.code == 0, ran.stderr
    accepted, *states, result = ran.records
    assert accepted["event"] == "accepted"
    assert (accepted["id"], accepted["state"]) == (CRON_JOB, "DEPLOYMENT_QUEUED")  # Qovery's answer itself
    assert [state["event"] for state in states] == ["state"] * len(states)
    assert states[0]["state"] == "DEPLOYMENT_QUEUED" and states[-1]["state"] == "DEPLOYED"
    assert all(state["at"].endswith("Z") for state in states)
    assert (result["result"], result["state"], result["exit"]) == ("success", "DEPLOYED", 0)
    assert (result["job"], result["name"]) == (CRON_JOB, "nightly-backup")
    assert posts(sim) == [f"/job/{CRON_JOB}/deploy"]
    [audit] = read_outcomes(tmp_path)
    assert (audit["source"], audit["action"], audit["job_id"], audit["status"]) == (
        "cli",
        "deploy",
        CRON_JOB,
        202,
    )
    assert audit["deployment_request_id"] == accepted["deployment_request_id"]
    for text in (ran.stdout, ran.stderr, (tmp_path / "audit.jsonl").read_text()):
        assert API_TOKEN not in text


async def test_0_without_watch_once_qovery_has_answered_in_human_words(tmp_path: Path) -> None:
    async with qovery(phase_s=30) as (sim, url):
        config = write_config(tmp_path, url)
        ran = await run_qjob_tui(
            tmp_path, "stop", LIFECYCLE_JOB, "--config", str(config), env=user_env(tmp_path)
        )
        state = sim.state_of(LIFECYCLE_JOB)
    assert ran.code == 0, ran.stderr
    [line] = ran.stdout.splitlines()
    assert line.endswith("ms") and " cli stop db-migrate 202 " in line  # the house's action line
    assert state == "STOP_QUEUED"  # it did not wait for the run
    assert ran.stderr == ""


async def test_1_a_run_that_ends_in_an_error_state(tmp_path: Path) -> None:
    async with qovery(phase_s=0.3) as (_, url):
        config = write_config(tmp_path, url)
        ran = await run_qjob_tui(
            tmp_path, "deploy", "seed-fixtures", "--watch", "--json", "--config", str(config),
            env=user_env(tmp_path),
        )  # fmt: skip
    assert ran.code == 1
    assert ran.events[0] == "accepted" and ran.events[-1] == "result"
    assert (ran.result["result"], ran.result["state"], ran.result["exit"]) == (
        "failed",
        "DEPLOYMENT_ERROR",
        1,
    )
    assert ran.result["job"] == FAILS_NEXT_JOB
    assert "ended in DEPLOYMENT_ERROR" in ran.stderr


async def test_3_qovery_answers_409_for_a_job_another_caller_made_busy(tmp_path: Path) -> None:
    async with qovery(phase_s=30) as (sim, url):
        async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Token {API_TOKEN}"}) as other:
            assert (await other.post(f"/job/{CRON_JOB}/deploy")).status_code == 202
        config = write_config(tmp_path, url)
        ran = await run_qjob_tui(
            tmp_path, "redeploy", "nightly-backup", "--watch", "--json", "--config", str(config),
            env=user_env(tmp_path),
        )  # fmt: skip
    assert ran.code == 3
    assert ran.events == ["result"]  # nothing was accepted
    assert (ran.result["result"], ran.result["http_status"], ran.result["exit"]) == ("refused", 409, 3)
    assert "in progress" in ran.result["message"]  # Qovery's own words
    assert posts(sim) == [f"/job/{CRON_JOB}/deploy", f"/job/{CRON_JOB}/redeploy"]
    assert [line["status"] for line in read_outcomes(tmp_path)] == [409]


async def test_4_watch_gives_up_after_its_timeout(tmp_path: Path) -> None:
    async with qovery(phase_s=300) as (sim, url):
        config = write_config(tmp_path, url)
        ran = await run_qjob_tui(
            tmp_path, "deploy", CRON_JOB, "--watch", "--timeout", "1", "--json", "--config", str(config),
            env=user_env(tmp_path),
        )  # fmt: skip
        state = sim.state_of(CRON_JOB)
    assert ran.code == 4
    result = ran.result
    assert (result["result"], result["state"], result["exit"]) == ("timeout", "DEPLOYMENT_QUEUED", 4)
    assert "gave up watching after 1 s" in result["message"] and "goes on in Qovery" in result["message"]
    assert state == "DEPLOYMENT_QUEUED"  # the run was left alone


@pytest.mark.parametrize("scheme", ["http", "https"])
async def test_5_qovery_unreachable(tmp_path: Path, scheme: str) -> None:
    port = free_port()
    config = write_config(tmp_path, f"{scheme}://127.0.0.1:{port}")
    ran = await run_qjob_tui(
        tmp_path, "stop", "db-migrate", "--json", "--config", str(config), env=user_env(tmp_path)
    )
    assert ran.code == 5
    assert (ran.result["result"], ran.result["exit"]) == ("unreachable", 5)
    # Where it could not connect, and why, in our words: not the HTTP stack's (it showed an object's repr,
    # "ssl:<ssl.SSLContext object at 0x7f...>", for an https URL).
    assert (
        f"Qovery is unreachable at {scheme}://127.0.0.1:{port} (ConnectError: cannot connect to 127.0.0.1:{port}: "
        in ran.result["message"]
    )
    assert "object at 0x" not in ran.stderr and "ssl:" not in ran.stderr
    assert "Traceback" not in ran.stderr


@pytest.mark.parametrize(
    ("fault", "http_status"),
    [
        ({"status": 503}, 503),
        ({"status": 200, "raw": b"<html>maintenance</html>", "headers": {"content-type": "text/html"}}, 200),
    ],
    ids=["5xx", "not-json"],
)
async def test_5_qovery_answers_5xx_or_not_json(
    tmp_path: Path, fault: dict[str, object], http_status: int
) -> None:
    async with qovery(phase_s=30) as (sim, url):
        sim.inject(method="POST", path="/deploy$", **fault)  # type: ignore[arg-type]
        config = write_config(tmp_path, url)
        ran = await run_qjob_tui(
            tmp_path,
            "deploy",
            "nightly-backup",
            "--watch",
            "--json",
            "--config",
            str(config),
            env=user_env(tmp_path),
        )
    assert ran.code == 5
    assert (ran.result["result"], ran.result["http_status"]) == ("unreachable", http_status)
    assert posts(sim) == [f"/job/{CRON_JOB}/deploy"]  # an action is never retried


@pytest.mark.parametrize(
    ("line", "says"),
    [
        (["deploy"], "the following arguments are required: JOB"),
        (["deploy", "nightly-bakup"], "no job is named 'nightly-bakup'; did you mean nightly-backup?"),
        (["deploy", "nightly-backup", "--image-tag", "a", "--commit-id", "b"], "not allowed with argument"),
        (["stop", "nightly-backup", "--force-event", "CRON"], "unrecognized arguments: --force-event"),
        (["stop", "nightly-backup", "--timeout", "5"], "--timeout needs --watch"),
        (["deploy", "nightly-backup", "--watch", "--timeout", "0"], "must be a number of seconds above 0"),
        (["stop", "nightly-backup", "--read-only"], "read-only: this qjob-tui runs read-only"),
    ],
    ids=[
        "no-job",
        "unknown-name",
        "tag-and-commit",
        "option-of-another",
        "timeout-alone",
        "timeout-0",
        "read-only",
    ],
)
async def test_2_usage(tmp_path: Path, line: list[str], says: str) -> None:
    async with qovery(phase_s=30) as (sim, url):
        config = write_config(tmp_path, url)
        ran = await run_qjob_tui(tmp_path, *line, "--config", str(config), env=user_env(tmp_path))
    assert ran.code == 2
    assert says in ran.stderr
    assert len(ran.stderr.splitlines()) == 1 and "Traceback" not in ran.stderr
    assert sim.requests == []  # the config named every job: nothing was asked of Qovery


@pytest.mark.parametrize("demo", [[], ["--demo"]], ids=["qovery", "demo"])
async def test_2_an_empty_config_path_is_not_the_config_found_elsewhere(
    tmp_path: Path, demo: list[str]
) -> None:
    # `--config "$DEPLOY_CONFIG"` with the variable unset: acting on ./qjob-tui.yaml instead would act on
    # whatever config happens to lie there.
    async with qovery(phase_s=30) as (sim, url):
        write_config(tmp_path, url)  # ./qjob-tui.yaml, where discovery would find it
        ran = await run_qjob_tui(
            tmp_path, "deploy", "nightly-backup", *demo, "--config", "", "--json", env=user_env(tmp_path)
        )
    assert ran.code == 2
    assert ran.result["message"].startswith("--config: the path is empty")
    assert len(ran.stderr.splitlines()) == 1 and "Traceback" not in ran.stderr
    assert sim.requests == []


async def test_2_a_huge_job_argument_is_not_echoed_whole(tmp_path: Path) -> None:
    # A 100 KB JOB (a variable holding a file, a paste gone wrong) made a 100 KB error line.
    ran = await run_qjob_tui(tmp_path, "deploy", "x" * 100_000, "--demo", env=user_env(tmp_path))
    assert ran.code == 2
    (line,) = ran.stderr.splitlines()
    assert line.startswith("qjob-tui: deploy xxx") and "...: no job is named 'xxx" in line
    assert len(line) < 300


async def test_2_when_the_config_says_read_only(tmp_path: Path) -> None:
    async with qovery(phase_s=30) as (sim, url):
        # Named by a configured environment only: finding it would cost a read, which read-only spares too.
        config = write_config(tmp_path, url, jobs=[], environments=[environment_of(CRON_JOB)], read_only=True)
        ran = await run_qjob_tui(
            tmp_path, "deploy", "nightly-backup", "--config", str(config), env=user_env(tmp_path)
        )
    assert ran.code == 2
    assert "read-only" in ran.stderr and "nothing was sent" in ran.stderr
    assert sim.requests == []
    assert read_outcomes(tmp_path) == []


async def test_2_with_json_still_ends_with_a_result_line_once_the_line_was_read(tmp_path: Path) -> None:
    async with qovery(phase_s=30) as (_, url):
        config = write_config(tmp_path, url)
        ran = await run_qjob_tui(
            tmp_path, "deploy", "nightly", "--json", "--config", str(config), env=user_env(tmp_path)
        )
    assert ran.code == 2
    assert (ran.result["result"], ran.result["exit"]) == ("usage", 2)
    assert ran.result["message"].startswith("no job is named 'nightly'")


async def test_2_a_config_variable_naming_a_directory_says_so(tmp_path: Path) -> None:
    (tmp_path / "configs").mkdir()
    ran = await run_qjob_tui(tmp_path, "status", env=user_env(tmp_path, QJOB_TUI_CONFIG="configs"))
    assert ran.code == 2
    assert (
        ran.stderr
        == "qjob-tui: status: configs: is a directory, not a config file (named by $QJOB_TUI_CONFIG)\n"
    )


@pytest.mark.parametrize(
    "line",
    [
        ["deploy", "nightly-backup", "--watch", "--timeout", "0"],
        ["deploy", "--watch"],
        ["stop", "nightly-backup", "--force-event", "CRON"],
        ["status", "--bogus"],
    ],
    ids=["bad-value", "no-job", "unknown-flag", "status"],
)
async def test_2_with_json_a_line_that_cannot_be_read_still_ends_with_a_result(
    tmp_path: Path, line: list[str]
) -> None:
    # A script reads the last line of stdout: with nothing there, `| tail -1 | jq .result` had nothing to read.
    ran = await run_qjob_tui(tmp_path, *line, "--json", "--demo", env=user_env(tmp_path))
    assert ran.code == 2
    assert ran.events == ["result"]
    assert (ran.result["result"], ran.result["exit"], ran.result["command"]) == ("usage", 2, line[0])
    (said,) = ran.stderr.splitlines()  # said once, by the parser
    assert said.startswith(f"qjob-tui {line[0]}: ") and ran.result["message"] in said


@pytest.mark.parametrize("variable", ["QOVERY_API_TOKEN", "QOVERY_CLI_ACCESS_TOKEN"])
async def test_2_a_token_in_another_qovery_variable_is_pointed_at_not_read(
    tmp_path: Path, variable: str
) -> None:
    # Qovery's Terraform provider reads QOVERY_API_TOKEN, its CLI QOVERY_CLI_ACCESS_TOKEN: a CI that has one
    # of them set was told only that QOVERY_API_KEY is not set.
    async with qovery(phase_s=30) as (sim, url):
        config = write_config(tmp_path, url)
        env = user_env(tmp_path, **{variable: API_TOKEN})
        del env["QOVERY_API_KEY"]
        ran = await run_qjob_tui(tmp_path, "status", "--json", "--config", str(config), env=env)
    assert ran.code == 2
    assert ran.result["message"] == (
        f"$QOVERY_API_KEY is not set, but ${variable} is: qjob-tui reads its token from $QOVERY_API_KEY "
        f'(export QOVERY_API_KEY="${variable}"), or from the variable qovery.token_env names '
        f"(qovery.token_env: {variable})"
    )
    assert API_TOKEN not in ran.stdout + ran.stderr
    assert sim.requests == []


async def test_2_a_missing_config_names_where_it_looked(tmp_path: Path) -> None:
    ran = await run_qjob_tui(tmp_path, "status", env=user_env(tmp_path))
    assert ran.code == 2
    assert "no config file found" in ran.stderr and "--demo" in ran.stderr


@pytest.mark.parametrize(
    ("line", "says", "sent"),
    [
        ([UNLISTED_JOB], "not in this qjob-tui's job list", False),
        (
            ["nightly-backup", "--force-event", "cron"],
            "--force-event: 'cron' is not one of START, STOP, DELETE, CRON",
            False,
        ),
        (["nightly-backup", "--image-tag", " "], "refused: --image-tag: must not be empty", False),
        (["db-migrate", "--force-event", "CRON"], "Qovery answered 400", True),  # a hook it does not have
    ],
    ids=["unlisted-job", "bad-force-event", "empty-tag", "event-qovery-refuses"],
)
async def test_3_refused_by_qjob_tui_or_by_qovery(
    tmp_path: Path, line: list[str], says: str, sent: bool
) -> None:
    async with qovery(phase_s=30) as (sim, url):
        config = write_config(tmp_path, url)
        ran = await run_qjob_tui(
            tmp_path, "deploy", *line, "--json", "--config", str(config), env=user_env(tmp_path)
        )
    assert ran.code == 3
    assert ran.result["result"] == "refused"
    assert says in ran.result["message"]
    assert bool(posts(sim)) is sent
    assert len(read_outcomes(tmp_path)) == (
        1 if sent else 0
    )  # a refusal before Qovery sends nothing to audit


async def test_an_unlisted_job_is_acted_on_when_the_config_allows_it(tmp_path: Path) -> None:
    async with qovery(phase_s=30) as (sim, url):
        config = write_config(tmp_path, url, allow_unlisted_jobs=True)
        ran = await run_qjob_tui(
            tmp_path, "redeploy", UNLISTED_JOB, "--config", str(config), env=user_env(tmp_path)
        )
    assert ran.code == 0, ran.stderr
    assert posts(sim) == [f"/job/{UNLISTED_JOB}/redeploy"]


async def test_uninstall_off_a_terminal_without_yes_sends_nothing(tmp_path: Path) -> None:
    async with qovery(phase_s=30) as (sim, url):
        config = write_config(tmp_path, url, named=False, environments=[environment_of(CRON_JOB)])
        ran = await run_qjob_tui(
            tmp_path, "uninstall", "nightly-backup", "--json", "--config", str(config), env=user_env(tmp_path)
        )
        assert sim.requests == []  # not even the reads that would find the job by its name
        with_yes = await run_qjob_tui(
            tmp_path, "uninstall", "nightly-backup", "--yes", "--config", str(config), env=user_env(tmp_path)
        )
    assert ran.code == 2
    assert "pass --yes" in ran.result["message"] and "nothing was sent" in ran.result["message"]
    assert with_yes.code == 0, with_yes.stderr
    assert posts(sim) == [f"/job/{CRON_JOB}/uninstall"]


async def test_uninstall_with_nothing_deployed_is_a_success_that_says_so(tmp_path: Path) -> None:
    async with qovery(phase_s=30) as (_, url):
        config = write_config(tmp_path, url)
        ran = await run_qjob_tui(
            tmp_path,
            "uninstall",
            NEVER_DEPLOYED_JOB,
            "--yes",
            "--watch",
            "--config",
            str(config),
            env=user_env(tmp_path),
        )
    assert ran.code == 0, ran.stderr
    assert "no deployment was triggered (nothing was deployed)" in ran.stdout
    assert " 204 " in ran.stdout.splitlines()[0]


async def test_the_demo_with_its_option_before_the_subcommand(tmp_path: Path) -> None:
    ran = await run_qjob_tui(
        tmp_path, "--demo", "deploy", "nightly-backup", "--watch", env=user_env(tmp_path)
    )
    assert ran.code == 0, ran.stderr
    lines = ran.stdout.splitlines()
    assert " cli deploy nightly-backup 202 " in lines[0]
    assert lines[1].endswith(" nightly-backup DEPLOYMENT_QUEUED") and lines[-2].endswith(
        " nightly-backup DEPLOYED"
    )
    assert lines[-1].startswith("qjob-tui: deploy nightly-backup: DEPLOYED after ")
    audit = tmp_path / "state" / "qjob-tui" / "audit-demo.jsonl"
    assert '"source":"cli"' in audit.read_text()


async def test_a_qovery_that_quotes_the_token_back_shows_it_nowhere(tmp_path: Path) -> None:
    async with hostile_upstream(echo_authorization(403)) as upstream:
        config = write_config(tmp_path, upstream.url)
        ran = await run_qjob_tui(
            tmp_path, "stop", "db-migrate", "--json", "--config", str(config), env=user_env(tmp_path)
        )
        human = await run_qjob_tui(
            tmp_path, "stop", "db-migrate", "--config", str(config), env=user_env(tmp_path)
        )
    assert ran.code == human.code == 3
    assert "bad token Token [redacted]" in ran.result["message"]
    for text in (ran.stdout, ran.stderr, human.stdout, human.stderr, (tmp_path / "audit.jsonl").read_text()):
        assert API_TOKEN not in text
