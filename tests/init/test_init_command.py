"""`qjob-tui init`: the file it writes, where, when it refuses, and every error with exit 2 and nothing written."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from qjob_tui.config import JobEntry, load_settings, read_config
from qjob_tui.init import main_async
from qjob_tui.qovery import QoveryClient
from qjob_tui.simulator import DEMO_TOKEN, Dataset, Simulator, serve_simulator
from qjob_tui.tui.picker import PickerApp

from .conftest import Served
from .support import DATA_PRODUCTION, EMPTY, PRODUCTION, STAGING, UNKNOWN, job_id, press, settle

Picker = Callable[[QoveryClient, list[dict[str, Any]], Path, bool], Awaitable[Any]]


class Driver:
    """Stands in for the user at the terminal: opens the real picker and presses the given keys."""

    def __init__(self, *keys: str) -> None:
        self.keys = keys
        self.opened = False

    async def __call__(
        self, client: QoveryClient, organizations: list[dict[str, Any]], path: Path, demo: bool
    ) -> Any:
        self.opened = True
        app = PickerApp(client, organizations, path, demo)
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot)
            for key in self.keys:
                await press(pilot, key)
        return app.return_value


# storefront > production as a whole; staging > cache-warmup alone; done.
PICK_PRODUCTION_AND_CACHE_WARMUP = ("down", "enter", "space", "down", "enter", "enter", "ctrl+s")


async def test_picked_environments_and_jobs_are_written_to_qjob_tui_yaml(
    work: Path, qovery: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    code = await main_async([], qovery.env(), Driver(*PICK_PRODUCTION_AND_CACHE_WARMUP))

    assert code == 0
    config = read_config(work / "qjob-tui.yaml")
    assert config.environments == [PRODUCTION.id]
    assert config.jobs == [JobEntry(id=job_id("cache-warmup"), name="cache-warmup", environment=STAGING.id)]
    out = capsys.readouterr().out
    assert "Wrote qjob-tui.yaml: 1 environment and 1 job." in out
    assert "Start the dashboard with: qjob-tui\n" in out  # ./qjob-tui.yaml is where qjob-tui looks first
    assert load_settings(None, env=qovery.env()).path == Path("qjob-tui.yaml")


async def test_the_written_file_names_what_each_id_is(work: Path, qovery: Served) -> None:
    await main_async([], qovery.env(), Driver(*PICK_PRODUCTION_AND_CACHE_WARMUP))

    text = (work / "qjob-tui.yaml").read_text()
    assert f"  - {PRODUCTION.id}  # Acme Robotics / storefront / production\n" in text
    assert (
        f"  - id: {job_id('cache-warmup')}  # cron job (*/15 * * * *) in Acme Robotics / storefront / staging\n"
        '    name: "cache-warmup"\n'
        f"    environment: {STAGING.id}  # staging\n"
    ) in text


async def test_every_key_of_the_written_file_is_explained(work: Path, qovery: Served) -> None:
    await main_async(["--environment", PRODUCTION.id], qovery.env(), None)

    lines = (work / "qjob-tui.yaml").read_text().splitlines()
    top_keys = [line.split(":")[0] for line in lines if line[:1].isalpha()]
    assert top_keys == ["qovery", "jobs", "environments", "server", "ui", "audit"]
    for index, line in enumerate(lines):
        if line[:1].isalpha():
            assert lines[index - 1].startswith("# "), f"no comment before {line!r}"
    settings = [line for line in lines if line.startswith("  ") and not line.startswith(("  -", "    "))]
    assert len(settings) >= 12
    for line in settings:
        assert "  # " in line, f"{line!r} is not explained"
    assert lines[0].startswith("# qjob-tui configuration, written by `qjob-tui init`")
    assert "token_env: QOVERY_API_KEY" in "\n".join(lines)
    assert DEMO_TOKEN not in "\n".join(lines)  # the token itself is never written


async def test_config_flag_writes_elsewhere_making_directories_and_says_how_to_start(
    work: Path, qovery: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    code = await main_async(
        ["--environment", STAGING.id, "--config", "deep/er/my jobs.yaml"], qovery.env(), None
    )

    assert code == 0
    written = work / "deep" / "er" / "my jobs.yaml"
    assert [job.name for job in read_config(written).jobs] == ["cache-warmup", "seed-fixtures"]
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert "Start the dashboard with: qjob-tui --config 'deep/er/my jobs.yaml'" in capsys.readouterr().out
    assert [p.name for p in written.parent.iterdir()] == ["my jobs.yaml"]  # no temporary file left behind


async def test_qjob_tui_config_variable_is_where_init_writes_by_default(
    work: Path, qovery: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {**qovery.env(), "QJOB_TUI_CONFIG": str(work / "from-env.yaml")}
    assert await main_async(["--environment", STAGING.id], env, None) == 0
    assert read_config(work / "from-env.yaml").jobs
    assert "Start the dashboard with: qjob-tui\n" in capsys.readouterr().out


async def test_environment_flag_writes_every_job_of_those_environments_without_a_picker(
    work: Path, qovery: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    code = await main_async(
        ["--environment", DATA_PRODUCTION.id, "-e", STAGING.id, "-e", STAGING.id.upper()], qovery.env(), None
    )

    assert code == 0
    jobs = read_config(work / "qjob-tui.yaml").jobs
    assert [(job.name, job.environment) for job in jobs] == [
        ("weekly-report", DATA_PRODUCTION.id),
        ("warehouse-schema", DATA_PRODUCTION.id),
        ("table-vacuum", DATA_PRODUCTION.id),
        ("cache-warmup", STAGING.id),
        ("seed-fixtures", STAGING.id),
    ]
    assert [job.id for job in jobs] == [job_id(job.name or "") for job in jobs]
    assert qovery.paths() == [f"/environment/{DATA_PRODUCTION.id}/job", f"/environment/{STAGING.id}/job"]
    assert "Wrote qjob-tui.yaml: 5 jobs." in capsys.readouterr().out


async def test_an_existing_file_is_kept_unless_force_is_given(
    work: Path, qovery: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    existing = work / "qjob-tui.yaml"
    existing.write_text("# mine\njobs: []\n")
    driver = Driver(*PICK_PRODUCTION_AND_CACHE_WARMUP)

    assert await main_async([], qovery.env(), driver) == 2
    assert await main_async(["--environment", STAGING.id], qovery.env(), None) == 2

    assert existing.read_text() == "# mine\njobs: []\n"
    assert not driver.opened and qovery.paths() == []  # refused before any question or request
    err = capsys.readouterr().err
    assert "qjob-tui init: qjob-tui.yaml already exists: pass --force to replace it" in err
    assert "Traceback" not in err

    assert await main_async(["--environment", STAGING.id, "--force"], qovery.env(), None) == 0
    assert [job.name for job in read_config(existing).jobs] == ["cache-warmup", "seed-fixtures"]


async def test_picking_an_environment_without_jobs_is_written_with_a_note(
    work: Path, qovery: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await main_async([], qovery.env(), Driver("enter", "space", "ctrl+s")) == 0  # data-development

    assert read_config(work / "qjob-tui.yaml").environments == [EMPTY.id]
    out = capsys.readouterr().out
    assert "Note: data-development has no jobs yet; they will join the dashboard once created." in out


async def test_leaving_the_picker_writes_nothing(
    work: Path, qovery: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await main_async([], qovery.env(), Driver("escape", "escape")) == 1
    assert files_in(work) == []
    assert "cancelled; nothing written" in capsys.readouterr().err


def files_in(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


# -- every error: exit 2, one line, nothing written ------------------------------------------------------

BOTH_FORMS = pytest.mark.parametrize(
    "argv", [[], ["--environment", PRODUCTION.id]], ids=["picker", "environment"]
)


def assert_refused(code: int, work: Path, capsys: pytest.CaptureFixture[str], *expected: str) -> str:
    err = capsys.readouterr().err
    assert code == 2
    assert files_in(work) == [], "nothing may be written"
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("qjob-tui init: "), err
    for part in expected:
        assert part in err
    assert "nothing written" in err and "Traceback" not in err
    return err


@BOTH_FORMS
async def test_a_wrong_token_is_refused_by_qovery(
    argv: list[str], work: Path, qovery: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    driver = Driver("ctrl+s")
    code = await main_async(argv, qovery.env(token="qov_wrong_token_123"), driver)

    err = assert_refused(
        code, work, capsys, "Qovery refused the token in $QOVERY_API_KEY (401)", "API tokens"
    )
    assert "qov_wrong_token_123" not in err
    assert [r.headers["authorization"] for r in qovery.sim.requests] == ["Token qov_wrong_token_123"]
    assert not driver.opened


async def test_a_missing_token_says_which_variable(
    work: Path, qovery: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    code = await main_async([], {"QOVERY_API_URL": qovery.url}, Driver())
    assert_refused(code, work, capsys, "$QOVERY_API_KEY is not set", "qjob-tui init --demo")
    assert qovery.paths() == []


async def test_no_organization_is_an_error(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = Dataset(organizations=(), projects=(), environments=(), jobs=())
    async with serve_simulator(Simulator(dataset=empty)) as url:
        driver = Driver()
        code = await main_async([], {"QOVERY_API_KEY": DEMO_TOKEN, "QOVERY_API_URL": url}, driver)
    assert_refused(code, work, capsys, "sees no organization")
    assert not driver.opened


async def test_an_empty_environment_is_an_error(
    work: Path, qovery: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    code = await main_async(["--environment", PRODUCTION.id, "--environment", EMPTY.id], qovery.env(), None)
    assert_refused(code, work, capsys, f"environment {EMPTY.id} has no jobs")


@pytest.mark.parametrize("bad", ["production", "d1fc7f1e-0f90-43a9-91db", "../../organization", ""])
async def test_an_environment_id_that_is_not_a_uuid_is_refused_before_any_request(
    bad: str, work: Path, qovery: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    code = await main_async(["--environment", PRODUCTION.id, "--environment", bad], qovery.env(), None)
    assert_refused(code, work, capsys, f"--environment {bad!r} is not an environment UUID")
    assert qovery.paths() == []


async def test_an_unknown_environment_is_an_error(
    work: Path, qovery: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    code = await main_async(["--environment", UNKNOWN], qovery.env(), None)
    assert_refused(code, work, capsys, f"environment {UNKNOWN}: not found (404)")


async def test_the_picker_needs_a_terminal(
    work: Path, qovery: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    code = await main_async([], qovery.env(), None)  # pytest's stdin is no terminal
    assert_refused(code, work, capsys, "the picker needs a terminal", "--environment ID")


async def test_a_usage_mistake_exits_2(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert await main_async(["--environmnet", PRODUCTION.id], {}, None) == 2
    assert "qjob-tui init: unrecognized arguments" in capsys.readouterr().err


# -- the real command line --------------------------------------------------------------------------------


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QOVERY_", "QJOB_TUI_"))}
    return subprocess.run(
        [sys.executable, "-m", "qjob_tui", *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_qjob_tui_init_demo_runs_from_the_command_line(work: Path) -> None:
    done = run_cli("init", "--demo", "--environment", PRODUCTION.id, "--config", "demo.yaml", cwd=work)
    assert done.returncode == 0, done.stderr
    assert "Start the dashboard with: qjob-tui --demo --config demo.yaml" in done.stdout
    assert [job.name for job in read_config(work / "demo.yaml").jobs] == ["nightly-backup", "db-migrate"]

    again = run_cli("init", "--demo", "--environment", PRODUCTION.id, "--config", "demo.yaml", cwd=work)
    assert again.returncode == 2
    assert (
        again.stderr
        == "qjob-tui init: demo.yaml already exists: pass --force to replace it, or --config PATH to write another file; nothing written\n"
    )
