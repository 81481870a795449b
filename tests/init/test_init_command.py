"""`qjob-tui init`: the file it writes, where, when it refuses, and every error with exit 2 and nothing written."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from qjob_tui.config import JobEntry, Settings, load_settings, read_config
from qjob_tui.configfile import Selection, credential_of
from qjob_tui.init import main_async
from qjob_tui.qovery import QoveryClient
from qjob_tui.simulator import DEMO_TOKEN, Dataset, Simulator, serve_simulator
from qjob_tui.tui.screens.picker import PickerApp
from tests.common import job_id

from .conftest import Served
from .support import DATA_PRODUCTION, EMPTY, PRODUCTION, STAGING, UNKNOWN, press, settle


class Driver:
    """Stands in for the user at the terminal: opens the real picker and presses the given keys."""

    def __init__(self, *keys: str) -> None:
        self.keys = keys
        self.opened = False
        self.settings: Settings | None = None

    async def __call__(
        self, client: QoveryClient, organizations: list[dict[str, Any]], path: Path, settings: Settings
    ) -> Selection | None:
        self.opened, self.settings = True, settings
        app = PickerApp(client, organizations, path, demo=settings.demo, credential=credential_of(settings))
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot)
            for key in self.keys:
                await press(pilot, key)
        return app.return_value


# storefront > production as a whole; staging > cache-warmup alone; done.
EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.yaml"
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


async def test_the_written_file_explains_its_settings_in_the_words_of_config_example(
    work: Path, qovery: Served
) -> None:
    await main_async(["--environment", PRODUCTION.id], qovery.env(), None)

    def paragraphs(text: str) -> list[str]:
        """The file but its header, by paragraph; the API's URL left out (init writes the one it picked from)."""
        text = re.sub(r"^  api_url: \S+ +#", "  api_url: URL #", text, flags=re.MULTILINE)
        return [p for p in text.split("\n\n") if not p.startswith("# qjob-tui configuration")]

    written = paragraphs((work / "qjob-tui.yaml").read_text())
    example = paragraphs(EXAMPLE.read_text())
    assert f"  api_url: {qovery.url} " in (work / "qjob-tui.yaml").read_text()
    settings = [p for p in written if "\njobs:" not in p]
    assert len(settings) == 5 and settings == [p for p in example if "\njobs:" not in p]
    assert written[1].split("\njobs:")[0] == example[1].split("\njobs:")[0]  # what each key of a job means


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


async def test_a_file_replaced_with_force_keeps_its_settings_and_its_token_variable(
    work: Path, qovery: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    (work / "qjob-tui.yaml").write_text(
        "qovery:\n  token_env: ACME_QOVERY_TOKEN\n  auth_scheme: bearer\n  timeout_s: 12\n"
        "server:\n  rest_port: 18080\n"
        f"jobs:\n  - id: {UNKNOWN}\n"
    )
    env = {"ACME_QOVERY_TOKEN": DEMO_TOKEN, "QOVERY_API_URL": qovery.url}

    assert await main_async(["--environment", STAGING.id, "--force"], env, None) == 0

    # Qovery was asked with the file's variable and scheme, as the dashboard will ask on this file.
    assert {r.headers["authorization"] for r in qovery.sim.requests} == {f"Bearer {DEMO_TOKEN}"}
    config = read_config(work / "qjob-tui.yaml")
    assert (config.qovery.token_env, config.qovery.auth_scheme, config.qovery.timeout_s) == (
        "ACME_QOVERY_TOKEN",
        "bearer",
        12,
    )
    assert config.server.rest_port == 18080
    assert [job.name for job in config.jobs] == ["cache-warmup", "seed-fixtures"]  # the old job is replaced
    assert load_settings(None, env=env).qovery_token.get_secret_value() == DEMO_TOKEN
    assert "Wrote qjob-tui.yaml: 2 jobs." in capsys.readouterr().out


async def test_the_token_variable_of_the_file_being_replaced_is_named_when_unset(
    work: Path, qovery: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    (work / "qjob-tui.yaml").write_text("qovery:\n  token_env: ACME_QOVERY_TOKEN\n")
    code = await main_async(["--force"], qovery.env(), Driver())

    err = capsys.readouterr().err
    assert code == 2 and qovery.paths() == []
    assert err == (
        "qjob-tui init: $ACME_QOVERY_TOKEN is not set (named by qovery.token_env in qjob-tui.yaml): export "
        "your Qovery API token in it (Qovery console > Organization settings > API tokens), or try "
        "`qjob-tui init --demo`; nothing written\n"
    )
    assert (work / "qjob-tui.yaml").read_text() == "qovery:\n  token_env: ACME_QOVERY_TOKEN\n"


async def test_a_broken_file_replaced_with_force_gets_the_defaults_and_a_note(
    work: Path, qovery: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    (work / "qjob-tui.yaml").write_text("qovery:\n  timout_s: 5\n")

    assert await main_async(["--environment", STAGING.id, "--force"], qovery.env(), None) == 0

    config = read_config(work / "qjob-tui.yaml")
    assert config.qovery.timeout_s == 30 and len(config.jobs) == 2
    assert (
        "Note: the settings of the file it replaced were not kept (qjob-tui.yaml: qovery.timout_s: unknown key"
        in capsys.readouterr().out
    )


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


def test_the_command_line_asks_for_a_terminal_before_the_picker(work: Path) -> None:
    done = run_cli("init", "--demo", cwd=work)  # stdin is no terminal here
    assert done.returncode == 2
    assert done.stderr == (
        "qjob-tui init: the picker needs a terminal; in a script name the environments instead: "
        "qjob-tui init --environment ID [--environment ID ...]; nothing written\n"
    )
    assert files_in(work) == []


def test_the_init_face_loads_no_terminal_ui() -> None:
    # The entry hands init its picker; init itself must not reach into the dashboard's face (no cycle).
    code = "import sys, qjob_tui.init; print(sorted(m for m in sys.modules if m.startswith(('qjob_tui.tui', 'textual'))))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


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


@pytest.mark.parametrize("stdout", ["a closed pipe", "/dev/full"])
def test_a_stdout_nobody_can_read_costs_init_its_lines_not_its_file(work: Path, stdout: str) -> None:
    # `qjob-tui init ... | head -0`, or a full disk: the file is written all the same, and the exit code says so.
    if stdout == "/dev/full":
        out = os.open("/dev/full", os.O_WRONLY)
    else:
        reader, out = os.pipe()
        os.close(reader)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QOVERY_", "QJOB_TUI_"))}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "qjob_tui", "init", "--demo", "--environment", PRODUCTION.id],
            cwd=work, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.PIPE, text=True, timeout=60,
        )  # fmt: skip
    finally:
        os.close(out)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    lost = ["qjob-tui: stdout cannot be written (No space left on device); the rest of its lines are lost"]
    assert done.stderr.splitlines() == (lost if stdout == "/dev/full" else [])
    assert [job.name for job in read_config(work / "qjob-tui.yaml").jobs] == ["nightly-backup", "db-migrate"]


def test_an_empty_config_path_is_refused_not_replaced_by_the_default(work: Path) -> None:
    done = run_cli("init", "--demo", "--environment", PRODUCTION.id, "--config", "", cwd=work)
    assert done.returncode == 2
    assert (
        done.stderr.startswith("qjob-tui init: --config: the path is empty") and done.stderr.count("\n") == 1
    )
    assert files_in(work) == []


def test_a_closed_stdin_is_no_terminal_and_no_traceback(work: Path) -> None:
    # A daemon or CI step that closed fd 0: Python's sys.stdin is None then, and init's terminal check broke.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QOVERY_", "QJOB_TUI_"))}
    done = subprocess.run(
        ["sh", "-c", 'exec "$@" <&-', "sh", sys.executable, "-m", "qjob_tui", "init", "--demo"],
        cwd=work, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert (
        done.stderr.startswith("qjob-tui init: the picker needs a terminal")
        and "Traceback" not in done.stderr
    )
    assert files_in(work) == []
