"""The embedded Qovery simulator: a stand-in for Qovery's API, for `qjob-tui --demo`, tests and benchmarks.

    sim = Simulator(clock=ManualClock(), phase_s=2.0)
    async with serve_simulator(sim) as base_url:
        ...  # talk to base_url with "Authorization: Token qov-demo-token"

`python -m qjob_tui.simulator --port N` runs it on its own.
"""

from qjob_tui.simulator.app import DEMO_TOKEN, FORCE_EVENTS, RecordedRequest, Simulator
from qjob_tui.simulator.dataset import (
    DEMO_ENV_DATA_DEVELOPMENT_ID,
    DEMO_ENV_DATA_PRODUCTION_ID,
    DEMO_ENV_STOREFRONT_PRODUCTION_ID,
    DEMO_ENV_STOREFRONT_STAGING_ID,
    DEMO_ORGANIZATION_ID,
    DEMO_PROJECT_DATA_ID,
    DEMO_PROJECT_STOREFRONT_ID,
    Dataset,
    EnvironmentSpec,
    JobSpec,
    OrganizationSpec,
    ProjectSpec,
    RunSpec,
    big_dataset,
    demo_dataset,
)
from qjob_tui.simulator.faults import SimulatedConnectionError
from qjob_tui.simulator.jobs import ManualClock, SimJob
from qjob_tui.simulator.serve import serve_simulator

__all__ = [
    "DEMO_ENV_DATA_DEVELOPMENT_ID",
    "DEMO_ENV_DATA_PRODUCTION_ID",
    "DEMO_ENV_STOREFRONT_PRODUCTION_ID",
    "DEMO_ENV_STOREFRONT_STAGING_ID",
    "DEMO_ORGANIZATION_ID",
    "DEMO_PROJECT_DATA_ID",
    "DEMO_PROJECT_STOREFRONT_ID",
    "DEMO_TOKEN",
    "FORCE_EVENTS",
    "Dataset",
    "EnvironmentSpec",
    "JobSpec",
    "ManualClock",
    "OrganizationSpec",
    "ProjectSpec",
    "RecordedRequest",
    "RunSpec",
    "SimJob",
    "SimulatedConnectionError",
    "Simulator",
    "big_dataset",
    "demo_dataset",
    "serve_simulator",
]
