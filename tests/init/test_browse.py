"""Browsing from the dashboard: picked jobs join the running board, and may be saved to the config file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.pilot import Pilot
from textual.widgets import Static

from qjob_tui.config import Config, JobEntry, Settings, read_config
from qjob_tui.discovery import discover
from qjob_tui.runtime import Runtime, open_runtime
from qjob_tui.simulator import DEMO_TOKEN
from qjob_tui.tui.app import QJobApp
from qjob_tui.tui.browse import browse
from qjob_tui.tui.screens.picker import PickerScreen
from qjob_tui.tui.screens.save_offer import SaveOfferScreen
from qjob_tui.tui.widgets.job_table import JobTable
from tests.common import job_id, screen_text

from .conftest import Served
from .support import PRODUCTION, STAGING, press, rows, settle, wait_until

CONFIG = f"""\
# the shop's jobs — my comment
jobs:
  - id: {job_id("db-migrate")}   # migrations
    name: db-migrate
environments: []
"""


class Dashboard(App[None]):
    """The dashboard's part in browsing: one key, one action that calls `browse`."""

    BINDINGS = [Binding("b", "browse", "Browse", id="browse")]

    def __init__(self, runtime: Runtime) -> None:
        super().__init__()
        self.runtime = runtime

    def compose(self) -> ComposeResult:
        yield Static("the jobs table")

    def action_browse(self) -> None:
        browse(self, self.runtime)


def settings_for(qovery: Served, path: Path | None, tmp: Path) -> Settings:
    config = read_config(path) if path else Config()
    config = config.model_copy(
        update={"audit": config.audit.model_copy(update={"path": tmp / "audit.jsonl"})}
    )
    return Settings(config, path, qovery.url, SecretStr(DEMO_TOKEN), None)


@pytest.fixture
async def runtime(qovery: Served, work: Path) -> AsyncIterator[Runtime]:
    """A dashboard's runtime on ./qjob-tui.yaml, which lists db-migrate."""
    (work / "qjob-tui.yaml").write_text(CONFIG)
    async with open_runtime(settings_for(qovery, Path("qjob-tui.yaml"), work.parent)) as runtime:
        yield runtime


def messages(app: App[None]) -> list[str]:
    return [notification.message for notification in app._notifications]


async def pick_staging_and_nightly_backup(pilot: Pilot[None]) -> None:
    """storefront > staging as a whole, then production > nightly-backup alone; done; wait for the offer."""
    for key in ("b", "down", "enter", "down", "space", "up", "enter", "down", "space", "ctrl+s"):
        await press(pilot, key)
    await wait_until(
        pilot,
        lambda: isinstance(pilot.app.screen, SaveOfferScreen) and "Save (y)" in screen_text(pilot.app),
        "the offer to save",
    )


async def test_b_opens_the_picker_with_the_jobs_already_shown_marked(runtime: Runtime) -> None:
    app = Dashboard(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await press(pilot, "b", "down", "enter", "enter")  # storefront > production
        assert isinstance(app.screen, PickerScreen)
        assert rows(app) == [
            "[ ] db-migrate  lifecycle · on the dashboard",
            "[ ] nightly-backup  cron · 0 3 * * *",
        ]
        assert "Browse Qovery: add environments and jobs to the dashboard" in screen_text(app)


async def test_picked_environments_and_jobs_join_the_board_with_their_states(
    runtime: Runtime, qovery: Served, work: Path
) -> None:
    app = Dashboard(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await pick_staging_and_nightly_backup(pilot)
        assert isinstance(app.screen, SaveOfferScreen)
        assert "Save 1 environment and 1 job to the config file qjob-tui.yaml (your" in screen_text(app)
        assert "comments in it are kept)?" in screen_text(app)
        board = runtime.board
        assert STAGING.id in board.environments
        on_board = {job.name: job.state for job in board.jobs.values()}
        assert on_board == {
            "db-migrate": "DEPLOYED",  # production's states came with nightly-backup's
            "nightly-backup": "DEPLOYED",
            "cache-warmup": "DEPLOYMENT_ERROR",
            "seed-fixtures": "DEPLOYED",
        }
        assert board.is_listed(job_id("cache-warmup"))  # the relay may act on them now, too
        # What it changed, counted: three jobs new on the board (staging's two, and nightly-backup).
        assert (
            "Added 3 jobs to the dashboard (1 environment and 1 job picked); it shows 4 jobs now."
            in messages(app)
        )
        status_reads = [p for p in qovery.paths() if p.endswith("/job/status")]
        assert sorted(status_reads) == sorted(
            [f"/environment/{PRODUCTION.id}/job/status", f"/environment/{STAGING.id}/job/status"]
        )

        await press(pilot, "y")
        await wait_until(pilot, lambda: "Saved to qjob-tui.yaml" in messages(app), "the saved notice")
    config = read_config(work / "qjob-tui.yaml")
    assert config.environments == [STAGING.id]
    assert config.jobs == [
        JobEntry(id=job_id("db-migrate"), name="db-migrate"),
        JobEntry(id=job_id("nightly-backup"), name="nightly-backup", environment=PRODUCTION.id),
    ]
    text = (work / "qjob-tui.yaml").read_text()
    assert text.startswith("# the shop's jobs — my comment\n")
    assert "   # migrations\n" in text


async def test_not_saving_leaves_the_file_alone(runtime: Runtime, work: Path) -> None:
    app = Dashboard(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await pick_staging_and_nightly_backup(pilot)
        await press(pilot, "n")
        assert not isinstance(app.screen, SaveOfferScreen)
        assert runtime.board.get(job_id("seed-fixtures")) is not None
    assert (work / "qjob-tui.yaml").read_text() == CONFIG


async def test_leaving_the_picker_changes_nothing(runtime: Runtime, work: Path) -> None:
    app = Dashboard(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await press(pilot, "b", "escape", "escape")
        await settle(pilot)
        assert not isinstance(app.screen, PickerScreen | SaveOfferScreen)
    assert list(runtime.board.jobs) == [job_id("db-migrate")]
    assert (work / "qjob-tui.yaml").read_text() == CONFIG


async def test_without_a_config_file_a_new_one_is_written_never_over_another(
    qovery: Served, work: Path
) -> None:
    (work / "qjob-tui.yaml").write_text("# someone's real config\njobs: []\n")
    async with open_runtime(settings_for(qovery, None, work.parent)) as runtime:
        app = Dashboard(runtime)
        async with app.run_test(size=(100, 30)) as pilot:
            await pick_staging_and_nightly_backup(pilot)
            # The offer names the file it will write, and that it writes beside the one already there.
            assert "to a new config file, qjob-tui.yaml (a copy beside it: that file exists)?" in " ".join(
                line.strip(" █") for line in screen_text(app).splitlines()
            )
            await press(pilot, "y")
            await wait_until(
                pilot,
                lambda: (
                    "Wrote a full copy with the new entries to qjob-tui.browse.yaml: qjob-tui.yaml exists already"
                    in messages(app)
                ),
                "the notice of the copy",
            )
    assert (work / "qjob-tui.yaml").read_text() == "# someone's real config\njobs: []\n"
    copy = read_config(work / "qjob-tui.browse.yaml")
    assert copy.environments == [STAGING.id]
    assert [job.name for job in copy.jobs] == ["nightly-backup"]


async def test_b_on_the_real_dashboard_adds_rows_to_its_table(runtime: Runtime, work: Path) -> None:
    app = QJobApp(runtime)
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.query_one(JobTable)
        await wait_until(pilot, lambda: table.visible_ids() == [job_id("db-migrate")], "the configured job")
        await pick_staging_and_nightly_backup(pilot)
        await press(pilot, "n")
        expected = {
            job_id(name) for name in ("db-migrate", "nightly-backup", "cache-warmup", "seed-fixtures")
        }
        await wait_until(pilot, lambda: set(table.visible_ids()) == expected, "the new rows")
    assert (work / "qjob-tui.yaml").read_text() == CONFIG


async def test_picking_what_the_dashboard_shows_already_says_nothing_is_new(
    qovery: Served, work: Path
) -> None:
    (work / "qjob-tui.yaml").write_text(
        f"jobs:\n  - id: {job_id('nightly-backup')}\nenvironments:\n  - {STAGING.id}\n"
    )
    async with open_runtime(settings_for(qovery, Path("qjob-tui.yaml"), work.parent)) as runtime:
        app = Dashboard(runtime)
        async with app.run_test(size=(100, 30)) as pilot:
            await discover(runtime.board, runtime.client)
            shown = len(runtime.board.jobs)
            await pick_staging_and_nightly_backup(pilot)
            assert len(runtime.board.jobs) == shown
            assert (
                f"Nothing new on the dashboard: the 1 environment and 1 job picked are on it already "
                f"({shown} jobs)." in messages(app)
            )
