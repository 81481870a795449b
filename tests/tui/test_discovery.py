"""Discovery on screen: each environment's states as it answers, and the header's progress meanwhile."""

from __future__ import annotations

from pathlib import Path

from qjob_tui.simulator import (
    DEMO_ENV_STOREFRONT_PRODUCTION_ID,
    DEMO_ENV_STOREFRONT_STAGING_ID,
    ManualClock,
    Simulator,
    big_dataset,
)
from qjob_tui.tui.display import ERROR_MARK
from tests.common import API_TOKEN, DEMO, quiet_simulator

from .support import Dashboard, running_dashboard


def in_environment(env: str) -> list[str]:
    return [job.id for job in DEMO.jobs if job.environment_id == env]


def state_on_screen(dash: Dashboard, job_id: str) -> str:
    return str(dash.app.table.get_cell(job_id, "state")).strip().removeprefix(ERROR_MARK)


async def test_one_environments_states_show_while_a_slow_one_has_not_answered(tmp_path: Path) -> None:
    production = in_environment(DEMO_ENV_STOREFRONT_PRODUCTION_ID)
    staging = in_environment(DEMO_ENV_STOREFRONT_STAGING_ID)
    sim = quiet_simulator()
    # Staging's states and job list take a minute (the simulator cuts the wait short when the test ends).
    sim.inject(method="GET", path=f"^/environment/{DEMO_ENV_STOREFRONT_STAGING_ID}/", delay_s=60, times=None)
    jobs = [{"id": job_id} for job_id in production + staging]  # no environment, no name: discovery's work
    async with running_dashboard(tmp_path, sim=sim, jobs=jobs, environments=[], wait=False) as dash:
        await dash.until(
            lambda: (
                all(state_on_screen(dash, job_id) == "DEPLOYED" for job_id in production)
                and "learning 4 jobs: 1/2 environments" in dash.screen_text()
            ),
            "production's states on screen, staging found and still being read",
        )
        assert [state_on_screen(dash, job_id) for job_id in staging] == ["…", "…"]
        assert {dash.app.table.get_cell(job_id, "name").plain.strip() for job_id in production} == {
            "nightly-backup",
            "db-migrate",
        }


async def test_the_header_says_nothing_of_discovery_once_it_is_over(tmp_path: Path) -> None:
    jobs = [{"id": job.id} for job in DEMO.jobs]
    async with running_dashboard(tmp_path, jobs=jobs, environments=[]) as dash:
        assert "learning" not in dash.screen_text()
        # As shown: an error state carries its mark (tui.display.ERROR_MARK).
        assert [row["state"].removeprefix(ERROR_MARK) for row in dash.rows()] == [
            job.state for job in DEMO.jobs
        ]
        assert dash.names() == [job.name for job in DEMO.jobs]


async def test_twelve_hundred_jobs_all_show_in_the_configs_order_with_their_states(tmp_path: Path) -> None:
    """More rows than the first screenful and one later batch: every one arrives, in the board's order."""
    dataset = big_dataset(1200, 3)
    sim = Simulator(token=API_TOKEN, clock=ManualClock(), dataset=dataset)
    jobs = [{"id": job.id} for job in dataset.jobs]
    async with running_dashboard(tmp_path, sim=sim, jobs=jobs, environments=[], wait=False) as dash:
        table = dash.app.table
        expected = [job.state for job in dataset.jobs]
        await dash.until(
            lambda: (
                table.row_count == 1200
                and [state_on_screen(dash, job.id) for job in dataset.jobs] == expected
            ),
            "every row with its state",
            attempts=1500,
        )
        assert table.visible_ids() == [job.id for job in dataset.jobs]
