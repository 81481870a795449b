"""The picker, driven key by key: organization -> project -> environment -> jobs, filter, multi-select, back."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.pilot import Pilot
from textual.widgets import Static

from qjob_tui.configfile import Selection
from qjob_tui.qovery import QoveryClient
from qjob_tui.simulator import (
    DEMO_ORGANIZATION_ID,
    DEMO_TOKEN,
    Dataset,
    EnvironmentSpec,
    OrganizationSpec,
    ProjectSpec,
    Simulator,
    serve_simulator,
)
from qjob_tui.tui.screens.picker import PickerApp, PickerScreen
from tests.common import DEMO, job_id, screen_text

from .conftest import Served
from .support import PRODUCTION, STAGING, names, press, rows, settle

SIZE = (100, 30)


async def picker_app(client: QoveryClient) -> PickerApp:
    return PickerApp(client, await client.list_organizations(), Path("qjob-tui.yaml"))


@contextlib.asynccontextmanager
async def picker_on(dataset: Dataset) -> AsyncIterator[tuple[PickerApp, Pilot[Selection | None]]]:
    """The picker on a Qovery that holds `dataset`, its first level listed and drawn."""
    async with serve_simulator(Simulator(dataset=dataset)) as url, QoveryClient(url, DEMO_TOKEN) as client:
        app = await picker_app(client)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            yield app, pilot


async def test_one_organization_opens_at_once_on_its_projects(client: QoveryClient) -> None:
    app = await picker_app(client)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert names(app) == ["data-platform", "storefront"]
        text = screen_text(app)
        assert "Organizations > Acme Robotics" in text
        assert "Pick a project" in text
        assert "2 environments · The online shop" in text


async def test_several_organizations_are_listed_first_and_filtered() -> None:
    second = OrganizationSpec(id="5b0a86c5-6a1e-4cf0-8f55-8f0c1d2e3f40", name="Globex")
    dataset = Dataset(
        organizations=(*DEMO.organizations, second),
        projects=(
            *DEMO.projects,
            ProjectSpec(id="9e1f3a57-0c2d-4b6e-8a9f-1b2c3d4e5f60", organization_id=second.id, name="ops"),
        ),
        environments=DEMO.environments,
        jobs=DEMO.jobs,
    )
    async with picker_on(dataset) as (app, pilot):
        assert names(app) == ["Acme Robotics", "Globex"]
        await press(pilot, *"glo")
        assert names(app) == ["Globex"]
        assert "filter: glo" in screen_text(app)
        await press(pilot, "enter")
        assert names(app) == ["ops"]
        assert "Organizations > Globex" in screen_text(app)
        await press(pilot, "escape")  # back to the organizations, the filter gone
        assert names(app) == ["Acme Robotics", "Globex"]


async def test_typing_filters_the_level_and_escape_clears_the_filter(client: QoveryClient) -> None:
    app = await picker_app(client)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, *"STORE")  # case does not matter
        assert names(app) == ["storefront"]
        assert "1 of 2 shown" in screen_text(app)
        await press(pilot, "backspace", "backspace", "backspace", "backspace", "backspace")
        assert names(app) == ["data-platform", "storefront"]
        await press(pilot, *"zzz")
        assert names(app) == []
        await press(pilot, "escape")
        assert names(app) == ["data-platform", "storefront"]
        assert "filter: type to filter" in screen_text(app)


async def test_enter_and_right_go_deeper_escape_backspace_and_left_go_back(client: QoveryClient) -> None:
    app = await picker_app(client)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "down", "enter")  # storefront
        assert names(app) == ["production", "staging"]
        assert "Organizations > Acme Robotics > storefront" in screen_text(app)
        await press(pilot, "right")  # production's jobs
        assert names(app) == ["db-migrate", "nightly-backup"]
        assert "nightly-backup  cron · 0 3 * * *" in rows(app)[1]
        await press(pilot, "backspace")
        assert names(app) == ["production", "staging"]
        await press(pilot, "left")
        assert names(app) == ["data-platform", "storefront"]
        assert app.screen.items_list.highlighted == 1  # the cursor is back on storefront
        await press(pilot, "escape")  # one organization: going up shows it
        assert names(app) == ["Acme Robotics"]
        await press(pilot, "enter")
        assert names(app) == ["data-platform", "storefront"]


async def test_space_selects_several_environments_and_ctrl_s_hands_them_back(client: QoveryClient) -> None:
    app = await picker_app(client)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "down", "enter", "space", "down", "space")
        assert rows(app) == [
            "[x] production  production · demo-cluster",
            "[x] staging  staging · demo-cluster",
        ]
        assert "selected: 2 environments" in screen_text(app)
        await press(pilot, "space")  # unselect staging
        assert rows(app)[1].startswith("[ ] staging")
        await press(pilot, "space", "ctrl+s")
    selection = app.return_value
    assert isinstance(selection, Selection)
    assert [env.id for env in selection.environments] == [PRODUCTION.id, STAGING.id]
    assert selection.environments[0].path == "Acme Robotics / storefront / production"
    assert selection.environments[0].mode == "PRODUCTION"
    assert selection.jobs == ()


async def test_jobs_are_filtered_and_multi_selected_across_environments(client: QoveryClient) -> None:
    app = await picker_app(client)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "down", "enter", "enter")  # storefront > production
        await press(pilot, *"night")
        assert names(app) == ["nightly-backup"]
        await press(pilot, "space", "escape")
        assert rows(app)[1].startswith("[x] nightly-backup")
        await press(pilot, "escape")  # to the environments: production shows that some jobs are picked
        assert rows(app)[0].startswith("[-] production")
        await press(pilot, "down", "enter", "enter", "down", "enter")  # staging: enter selects a job, too
        assert [row[:3] for row in rows(app)] == ["[x]", "[x]"]
        assert "selected: 3 jobs" in screen_text(app)
        await press(pilot, "ctrl+s")
    selection = app.return_value
    assert isinstance(selection, Selection)
    assert selection.environments == ()
    assert [job.name for job in selection.jobs] == ["nightly-backup", "cache-warmup", "seed-fixtures"]
    assert [job.id for job in selection.jobs] == [
        job_id("nightly-backup"),
        job_id("cache-warmup"),
        job_id("seed-fixtures"),
    ]
    assert selection.jobs[1].environment.id == STAGING.id
    assert selection.jobs[1].environment.path == "Acme Robotics / storefront / staging"
    assert selection.jobs[0].job_type == "CRON"


async def test_ctrl_a_selects_every_shown_item_and_again_unselects(client: QoveryClient) -> None:
    app = await picker_app(client)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "enter", "down", "enter")  # data-platform > data-production
        await press(pilot, *"w", "ctrl+a", "escape")  # weekly-report and warehouse-schema, not table-vacuum
        assert [row[:3] for row in rows(app)] == ["[ ]", "[x]", "[x]"]
        await press(pilot, "ctrl+a")
        assert [row[:3] for row in rows(app)] == ["[x]", "[x]", "[x]"]
        await press(pilot, "ctrl+a")
        assert [row[:3] for row in rows(app)] == ["[ ]", "[ ]", "[ ]"]


async def test_a_whole_environment_covers_its_jobs(client: QoveryClient) -> None:
    app = await picker_app(client)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "down", "enter", "enter", "space", "escape")  # pick db-migrate alone first
        await press(pilot, "space", "enter")  # then the whole of production
        assert [row[:3] for row in rows(app)] == ["[x]", "[x]"]
        await press(pilot, "down", "space")
        assert any("unselect the environment" in n.message for n in app._notifications)
        await press(pilot, "ctrl+s")
    selection = app.return_value
    assert isinstance(selection, Selection)
    assert [env.id for env in selection.environments] == [PRODUCTION.id]
    assert selection.jobs == ()  # db-migrate comes with its environment


async def test_only_environments_and_jobs_can_be_selected(client: QoveryClient) -> None:
    app = await picker_app(client)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "space")
        assert "Only environments and jobs can be selected" in screen_text(app)
        await press(pilot, "ctrl+s")
        assert "Nothing selected yet" in screen_text(app)
        assert isinstance(app.screen, PickerScreen)


async def test_escape_at_the_top_leaves_and_asks_first_when_something_is_selected(
    client: QoveryClient,
) -> None:
    app = await picker_app(client)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "enter", "space", "escape", "escape")  # data-platform: pick one, go to the top
        assert names(app) == ["Acme Robotics"]
        await press(pilot, "escape")
        assert "Leave without your 1 environment? Press escape again" in screen_text(app)
        await press(pilot, "escape")
    assert app.return_value is None


async def test_escape_with_nothing_selected_leaves_at_once(client: QoveryClient) -> None:
    app = await picker_app(client)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "escape", "escape")
    assert app.return_value is None


async def test_an_empty_environment_says_so(client: QoveryClient) -> None:
    app = await picker_app(client)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "enter", "enter")  # data-platform > data-development
        assert names(app) == []
        assert "No jobs in data-development." in screen_text(app)


async def test_a_listing_error_is_shown_and_ctrl_r_retries(qovery: Served, client: QoveryClient) -> None:
    app = await picker_app(client)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        qovery.sim.inject(path=r"/project/.*/environment$", status=403, json={"message": "Forbidden"})
        await press(pilot, "enter")
        assert "may not read the environments of data-platform (403)" in screen_text(app)
        await press(pilot, "ctrl+r")
        assert names(app) == ["data-development", "data-production"]


async def test_levels_already_listed_are_not_asked_for_again(qovery: Served, client: QoveryClient) -> None:
    app = await picker_app(client)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "enter", "escape", "enter", "escape", "enter")
    assert qovery.paths().count(f"/organization/{DEMO_ORGANIZATION_ID}/project") == 1
    environment_lists = [p for p in qovery.paths() if p.endswith("/environment")]
    assert len(environment_lists) == 1


class Dashboard(App[None]):
    """A stand-in for the dashboard: one-letter keys that must not fire while the picker has focus."""

    BINDINGS = [Binding("d", "deploy", "Deploy", id="deploy"), Binding("s", "deploy", "Stop", id="stop")]

    def __init__(self, client: QoveryClient) -> None:
        super().__init__()
        self.client = client
        self.deploys = 0
        self.result: Any = "not yet"

    def compose(self) -> ComposeResult:
        yield Static("jobs table")

    def action_deploy(self) -> None:
        self.deploys += 1

    def open_picker(self) -> None:
        self.push_screen(PickerScreen(self.client, done_label="Add"), callback=self._picked)

    def _picked(self, selection: Selection | None) -> None:
        self.result = selection


async def test_typing_a_filter_over_the_dashboard_fires_none_of_its_keys(client: QoveryClient) -> None:
    app = Dashboard(client)
    async with app.run_test(size=SIZE) as pilot:
        app.open_picker()
        await settle(pilot)
        await press(pilot, *"ds")
        assert app.deploys == 0
        assert "filter: ds" in screen_text(app)
        await press(pilot, "escape", "escape", "escape")  # clear the filter, up to the organizations, leave
        assert app.result is None
        await press(pilot, "d")  # back on the dashboard, its keys work again
        assert app.deploys == 1


async def test_environments_of_a_new_dataset_level_show_mode_and_cluster() -> None:
    env = EnvironmentSpec(
        id="2f4e6a8c-1b3d-4f5a-8c7e-9d0b1a2c3e4f",
        project_id=DEMO.projects[0].id,
        name='prod: "eu" # main',
        mode="STAGING",
        cluster_name="k8s-eu",
    )
    dataset = Dataset(DEMO.organizations, DEMO.projects, (*DEMO.environments, env), DEMO.jobs)
    async with picker_on(dataset) as (app, pilot):
        await press(pilot, "down", "enter")
        assert 'prod: "eu" # main  staging · k8s-eu' in rows(app)[0]


async def test_names_with_control_characters_are_shown_escaped() -> None:
    """Qovery's names are outside text: a line break or an escape sequence in one shows as a visible escape,
    never drives the terminal."""
    hostile = "ops\x1b[31m\nevil"
    second = OrganizationSpec(id="5b0a86c5-6a1e-4cf0-8f55-8f0c1d2e3f40", name=hostile)
    dataset = Dataset(
        organizations=(*DEMO.organizations, second),
        projects=DEMO.projects,
        environments=DEMO.environments,
        jobs=DEMO.jobs,
    )
    async with picker_on(dataset) as (app, pilot):
        text = screen_text(app)
        assert "ops\\x1b[31m\\nevil" in text
        assert "\x1b" not in text and "evil\n" not in text
        await press(pilot, *"ops")
        await press(pilot, "enter")
        assert "Organizations > ops\\x1b[31m\\nevil" in screen_text(app)
