"""What the simulator knows at start: organizations, projects, environments, jobs and their past runs.

A `Dataset` is immutable; a `Simulator` copies it into its own mutable job states, so one dataset can
seed any number of simulators. `demo_dataset()` is the sample shown by `qjob-tui --demo`;
`big_dataset()` builds a large, deterministic set for benchmarks.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Literal

JobType = Literal["CRON", "LIFECYCLE"]
LifecycleEvent = Literal["START", "STOP", "DELETE"]
#: the Qovery actions (ServiceActionEnum) a run can be: deploy and redeploy are both DEPLOY
RunAction = Literal["DEPLOY", "STOP", "DELETE"]
#: Qovery's OrganizationEventOrigin: where the request that started a run came from
Origin = Literal["API", "CLI", "CONSOLE", "GIT", "QOVERY_INTERNAL", "SKILL", "TERRAFORM_PROVIDER"]

#: The states a job can be in when a dataset starts it (the settled ones; in-progress states come from actions).
SETTLED_STATES = frozenset({"READY", "DEPLOYED", "DEPLOYMENT_ERROR", "STOPPED", "DELETED"})

# Fixed instants so that every run of the demo shows the same creation dates.
_CREATED_AT = "2025-01-06T09:00:00Z"
_UPDATED_AT = "2025-03-14T16:20:00Z"


@dataclass(frozen=True)
class OrganizationSpec:
    """A Qovery organization: the top of the organization -> project -> environment -> job tree."""

    id: str
    name: str
    plan: str = "TEAM_2025"
    description: str = ""
    owner_id: str = "1d7232ab-357c-4674-bd7c-4e1daf7d3078"
    created_at: str = _CREATED_AT


@dataclass(frozen=True)
class ProjectSpec:
    """A project of an organization."""

    id: str
    organization_id: str
    name: str
    description: str = ""
    created_at: str = _CREATED_AT


@dataclass(frozen=True)
class EnvironmentSpec:
    """An environment of a project; jobs live in environments."""

    id: str
    project_id: str
    name: str
    mode: Literal["DEVELOPMENT", "PREVIEW", "PRODUCTION", "STAGING"] = "PRODUCTION"
    cluster_id: str = "0ed93b8c-b799-4e7f-969f-dc1318c9e50a"
    cluster_name: str = "demo-cluster"
    cloud_provider: str = "aws"
    region: str = "eu-west-3"
    created_at: str = _CREATED_AT


#: Who the runs started through the simulator's API are triggered by (its one user), and past runs by default.
DEMO_USER = "Demo User"

# The settled state each kind of finished run leaves a job in.
_RUN_OUTCOME: dict[tuple[RunAction, bool], str] = {
    ("DEPLOY", False): "DEPLOYED",
    ("DEPLOY", True): "DEPLOYMENT_ERROR",
    ("STOP", False): "STOPPED",
    ("DELETE", False): "DELETED",
}
# The kind of run a job without a history was last put in its state by (READY: none).
_LAST_RUN_OF_STATE: dict[str, tuple[RunAction, bool]] = {state: kind for kind, state in _RUN_OUTCOME.items()}


@dataclass(frozen=True)
class RunSpec:
    """One finished past run of a job (a row of its `deploymentHistoryV2`), as a dataset starts it.

    The run was queued `ago_s` seconds before the simulator starts, waited `queued_s`, then ran for
    `running_s`. `failed` (deploys only) ends it in DEPLOYMENT_ERROR. Runs of jobs of one environment
    with the same `execution` name were one deployment of that environment: they share its deployment
    request and execution id, and its log holds every one of those jobs' lines.
    """

    ago_s: float
    action: RunAction = "DEPLOY"
    failed: bool = False
    triggered_by: str = DEMO_USER
    origin: Origin = "CONSOLE"
    queued_s: float = 4.0
    running_s: float = 38.0
    execution: str | None = None

    def __post_init__(self) -> None:
        if self.failed and self.action != "DEPLOY":
            raise ValueError(f"run {self.ago_s}s ago: only a deploy can fail, not a {self.action}")
        if min(self.queued_s, self.running_s) < 0 or self.ago_s < self.queued_s + self.running_s:
            raise ValueError(f"run {self.ago_s}s ago: must have ended when the simulator starts")

    @property
    def outcome(self) -> str:
        """The state the run left its job in."""
        return _RUN_OUTCOME[(self.action, self.failed)]


@dataclass(frozen=True)
class JobSpec:
    """One job as a dataset starts it.

    `state` is the settled state at start: READY (never deployed), DEPLOYED, DEPLOYMENT_ERROR (its last
    deploy failed), STOPPED or DELETED (uninstalled). `fails` makes every deploy of the job end in
    DEPLOYMENT_ERROR; `fail_next` only the next one.

    `history` is the job's past runs, newest first: the newest one put the job in `state` and was queued
    `deployed_ago_s` ago. Without one, a job that is not READY gets a single past run that explains its
    state (see `past_runs`).
    """

    id: str
    environment_id: str
    name: str
    job_type: JobType = "CRON"
    state: str = "DEPLOYED"
    description: str = ""
    #: cron jobs: when the job runs (cron syntax, no seconds) and in which time zone
    scheduled_at: str = "0 3 * * *"
    timezone: str = "Etc/UTC"
    #: lifecycle jobs: the environment events that have a hook (which `forceEvent` values the job accepts)
    lifecycle_events: tuple[LifecycleEvent, ...] = ("START",)
    arguments: tuple[str, ...] = ()
    entrypoint: str | None = None
    #: source: a container image, unless `git_url` is set (then Qovery builds it from a Dockerfile)
    image_name: str = "acme/job-runner"
    image_tag: str = "1.0.0"
    git_url: str | None = None
    git_branch: str = "main"
    git_commit_id: str = "3f9c2a17e5b04d8c9a61f0e2b7d48c5a1e93b260"
    fails: bool = False
    fail_next: bool = False
    #: how long before the simulator starts the job was last deployed (jobs that are not READY)
    deployed_ago_s: float = 3600.0
    history: tuple[RunSpec, ...] = ()
    created_at: str = _CREATED_AT
    updated_at: str = _UPDATED_AT

    def __post_init__(self) -> None:
        if self.state not in SETTLED_STATES:
            raise ValueError(f"job {self.name}: state {self.state!r} is not one of {sorted(SETTLED_STATES)}")
        if self.job_type == "LIFECYCLE" and not self.lifecycle_events:
            raise ValueError(f"lifecycle job {self.name}: needs at least one of START, STOP, DELETE")
        if not self.history:
            return
        newest = self.history[0]
        if self.state == "READY":
            raise ValueError(f"job {self.name}: a READY job has never run, yet it has a history")
        if (newest.outcome, newest.ago_s) != (self.state, self.deployed_ago_s):
            raise ValueError(
                f"job {self.name}: its newest run must be the one that left it {self.state}, "
                f"{self.deployed_ago_s}s ago (it left it {newest.outcome}, {newest.ago_s}s ago)"
            )
        for newer, older in zip(self.history, self.history[1:], strict=False):
            if older.ago_s - older.queued_s - older.running_s < newer.ago_s:
                raise ValueError(f"job {self.name}: its runs overlap or are not newest first")

    @property
    def force_events(self) -> tuple[str, ...]:
        """The `forceEvent` values this job accepts: CRON for a cron job, its hooks for a lifecycle job."""
        return ("CRON",) if self.job_type == "CRON" else tuple(self.lifecycle_events)

    @property
    def past_runs(self) -> tuple[RunSpec, ...]:
        """The job's runs before the simulator starts, newest first: its `history`, or else the one run
        that left it in its `state` `deployed_ago_s` ago (none for a READY job)."""
        if self.history or self.state == "READY":
            return self.history
        action, failed = _LAST_RUN_OF_STATE[self.state]
        return (RunSpec(ago_s=self.deployed_ago_s, action=action, failed=failed),)


@dataclass(frozen=True)
class Dataset:
    """Everything a simulator serves at start, in display order."""

    organizations: tuple[OrganizationSpec, ...]
    projects: tuple[ProjectSpec, ...]
    environments: tuple[EnvironmentSpec, ...]
    jobs: tuple[JobSpec, ...]
    account_id: str = field(default="22cd3403-1247-42a0-b755-d18951b68462")

    def __post_init__(self) -> None:
        for kind, items in (
            ("organization", self.organizations),
            ("project", self.projects),
            ("environment", self.environments),
            ("job", self.jobs),
        ):
            ids = [item.id for item in items]
            if len(ids) != len(set(ids)):
                raise ValueError(f"dataset: duplicate {kind} id")
        org_ids = {org.id for org in self.organizations}
        project_ids = {project.id for project in self.projects}
        env_ids = {env.id for env in self.environments}
        for project in self.projects:
            if project.organization_id not in org_ids:
                raise ValueError(f"project {project.name}: unknown organization {project.organization_id}")
        for env in self.environments:
            if env.project_id not in project_ids:
                raise ValueError(f"environment {env.name}: unknown project {env.project_id}")
        for job in self.jobs:
            if job.environment_id not in env_ids:
                raise ValueError(f"job {job.name}: unknown environment {job.environment_id}")
        # One deployment of an environment started every run that shares its name, all at one instant.
        started: dict[tuple[str, str], float] = {}
        for job in self.jobs:
            for run in job.history:
                if run.execution is not None:
                    key = (job.environment_id, run.execution)
                    if started.setdefault(key, run.ago_s) != run.ago_s:
                        raise ValueError(
                            f"job {job.name}: execution {run.execution!r} started at another time"
                        )

    def job_named(self, name: str) -> JobSpec:
        """The job called `name` (KeyError if there is none): handy for tests that read like the demo."""
        for job in self.jobs:
            if job.name == name:
                return job
        raise KeyError(name)

    def environment_named(self, name: str) -> EnvironmentSpec:
        """The environment called `name` (KeyError if there is none)."""
        for env in self.environments:
            if env.name == name:
                return env
        raise KeyError(name)


# The demo's fixed ids: stable across runs, so configs, docs and tests can name them.
DEMO_ORGANIZATION_ID = "e116c1db-2e5a-45df-b106-3aa866efaa29"
DEMO_PROJECT_STOREFRONT_ID = "3cf9309e-d19b-41a0-8dd1-868b97f813c8"
DEMO_PROJECT_DATA_ID = "37f285e6-176f-49f9-b191-29b62433a9e1"
DEMO_ENV_STOREFRONT_PRODUCTION_ID = "d1fc7f1e-0f90-43a9-91db-4f6ef8006f41"
DEMO_ENV_STOREFRONT_STAGING_ID = "7a1248dd-d2de-446e-830d-e56ba99efd28"
DEMO_ENV_DATA_PRODUCTION_ID = "f5134787-2fbc-4d83-8c22-e81080bef19a"
DEMO_ENV_DATA_DEVELOPMENT_ID = "ededaa4b-ef74-497d-8e8e-bbe42cb2b44e"

_HOUR = 3600.0
_DAY = 24 * _HOUR

_DEMO = Dataset(
    organizations=(OrganizationSpec(id=DEMO_ORGANIZATION_ID, name="Acme Robotics"),),
    projects=(
        ProjectSpec(
            id=DEMO_PROJECT_STOREFRONT_ID,
            organization_id=DEMO_ORGANIZATION_ID,
            name="storefront",
            description="The online shop",
        ),
        ProjectSpec(
            id=DEMO_PROJECT_DATA_ID,
            organization_id=DEMO_ORGANIZATION_ID,
            name="data-platform",
            description="Reporting and the warehouse",
        ),
    ),
    environments=(
        EnvironmentSpec(
            id=DEMO_ENV_STOREFRONT_PRODUCTION_ID,
            project_id=DEMO_PROJECT_STOREFRONT_ID,
            name="production",
            mode="PRODUCTION",
        ),
        EnvironmentSpec(
            id=DEMO_ENV_STOREFRONT_STAGING_ID,
            project_id=DEMO_PROJECT_STOREFRONT_ID,
            name="staging",
            mode="STAGING",
        ),
        EnvironmentSpec(
            id=DEMO_ENV_DATA_PRODUCTION_ID,
            project_id=DEMO_PROJECT_DATA_ID,
            name="data-production",
            mode="PRODUCTION",
        ),
        EnvironmentSpec(
            id=DEMO_ENV_DATA_DEVELOPMENT_ID,
            project_id=DEMO_PROJECT_DATA_ID,
            name="data-development",
            mode="DEVELOPMENT",
        ),
    ),
    jobs=(
        JobSpec(
            id="cbc600f8-fdbd-4cda-a6e0-9f5ef9412584",
            environment_id=DEMO_ENV_STOREFRONT_PRODUCTION_ID,
            name="nightly-backup",
            job_type="CRON",
            state="DEPLOYED",
            description="Dumps the shop database to object storage every night",
            scheduled_at="0 3 * * *",
            image_name="acme/pg-backup",
            image_tag="2.4.1",
            arguments=("--bucket", "acme-backups"),
            deployed_ago_s=26 * _HOUR,
            history=(
                RunSpec(ago_s=26 * _HOUR, triggered_by="Alice Martin", running_s=46),
                RunSpec(
                    ago_s=3 * _DAY, triggered_by="Bob Chen", origin="GIT", execution="storefront-release"
                ),
                RunSpec(ago_s=6 * _DAY, failed=True, origin="API", running_s=31),
            ),
        ),
        JobSpec(
            id="b6983637-2ca7-4a51-be28-5a0bf84fd6ec",
            environment_id=DEMO_ENV_STOREFRONT_PRODUCTION_ID,
            name="db-migrate",
            job_type="LIFECYCLE",
            state="DEPLOYED",
            description="Runs the schema migrations when the environment starts",
            lifecycle_events=("START",),
            git_url="https://github.com/acme/storefront",
            arguments=("migrate", "--no-input"),
            entrypoint="/app/manage.py",
            deployed_ago_s=5 * _HOUR,
            history=(
                RunSpec(ago_s=5 * _HOUR, triggered_by="Alice Martin", running_s=95),
                RunSpec(
                    ago_s=3 * _DAY,
                    triggered_by="Bob Chen",
                    origin="GIT",
                    running_s=88,
                    execution="storefront-release",
                ),
            ),
        ),
        JobSpec(
            id="cb343927-578e-48b9-9787-7f7ef267151a",
            environment_id=DEMO_ENV_STOREFRONT_STAGING_ID,
            name="cache-warmup",
            job_type="CRON",
            state="DEPLOYMENT_ERROR",
            description="Fills the product cache every quarter of an hour",
            scheduled_at="*/15 * * * *",
            image_name="acme/cache-warmer",
            image_tag="0.9.3",
            deployed_ago_s=40 * 60,
            history=(
                RunSpec(ago_s=40 * 60, failed=True, origin="API", running_s=27),
                RunSpec(ago_s=2 * _DAY, triggered_by="Alice Martin"),
            ),
        ),
        JobSpec(
            id="7b114132-4974-44ae-ad8a-ce695f5fa07f",
            environment_id=DEMO_ENV_STOREFRONT_STAGING_ID,
            name="seed-fixtures",
            job_type="LIFECYCLE",
            state="DEPLOYED",
            description="Loads test fixtures on start, wipes them on delete (its next deploy fails)",
            lifecycle_events=("START", "DELETE"),
            image_name="acme/fixtures",
            image_tag="1.2.0",
            fail_next=True,
            deployed_ago_s=3 * _HOUR,
            history=(RunSpec(ago_s=3 * _HOUR, triggered_by="Bob Chen", origin="GIT"),),
        ),
        JobSpec(
            id="ce2d5b97-8699-4fae-bd53-e4e4f089b9eb",
            environment_id=DEMO_ENV_DATA_PRODUCTION_ID,
            name="weekly-report",
            job_type="CRON",
            state="STOPPED",
            description="Mails the weekly sales report on Monday mornings",
            scheduled_at="0 6 * * 1",
            timezone="Europe/Paris",
            image_name="acme/reports",
            image_tag="3.0.0",
            deployed_ago_s=4 * _DAY,
            history=(
                RunSpec(ago_s=4 * _DAY, action="STOP", triggered_by="Carla Diaz", running_s=12),
                RunSpec(ago_s=9 * _DAY, triggered_by="Carla Diaz", origin="GIT", execution="data-release"),
            ),
        ),
        JobSpec(
            id="555fce29-c8dc-4f64-b734-11471c3800ef",
            environment_id=DEMO_ENV_DATA_PRODUCTION_ID,
            name="warehouse-schema",
            job_type="LIFECYCLE",
            state="DEPLOYED",
            description="Creates, pauses and drops the warehouse schema with the environment",
            lifecycle_events=("START", "STOP", "DELETE"),
            git_url="https://github.com/acme/warehouse",
            git_commit_id="9d1e4b7a2c6f08e35b1a7d9c4e2f60b8a3c5d712",
            deployed_ago_s=2 * _DAY,
            history=(
                RunSpec(
                    ago_s=2 * _DAY, triggered_by="terraform-ci", origin="TERRAFORM_PROVIDER", running_s=71
                ),
                RunSpec(
                    ago_s=9 * _DAY,
                    triggered_by="Carla Diaz",
                    origin="GIT",
                    running_s=64,
                    execution="data-release",
                ),
            ),
        ),
        JobSpec(
            id="c67fb55d-8be2-4a4e-a6e8-9f44c2cb78a5",
            environment_id=DEMO_ENV_DATA_PRODUCTION_ID,
            name="table-vacuum",
            job_type="CRON",
            state="READY",
            description="Vacuums the big tables on Sundays (never deployed yet)",
            scheduled_at="30 2 * * 0",
            image_name="acme/pg-maintenance",
            image_tag="1.0.0",
        ),
    ),
)


def demo_dataset() -> Dataset:
    """The demo's organization, two projects, four environments (one empty) and seven jobs.

    Jobs: nightly-backup (cron, DEPLOYED), db-migrate (lifecycle START, DEPLOYED), cache-warmup (cron,
    DEPLOYMENT_ERROR), seed-fixtures (lifecycle START/DELETE, DEPLOYED, its next deploy fails),
    weekly-report (cron, STOPPED), warehouse-schema (lifecycle START/STOP/DELETE, DEPLOYED),
    table-vacuum (cron, READY: never deployed, so an uninstall answers 204).

    Their histories: every job but table-vacuum has one to three past runs; cache-warmup's newest run is
    the failed one (with its error line and hint in the log), nightly-backup also failed six days ago;
    weekly-report's newest run is a stop. Two environment deployments ran several jobs at once (one
    execution id, one log): "storefront-release" (nightly-backup and db-migrate, 3 days ago) and
    "data-release" (weekly-report and warehouse-schema, 9 days ago).
    """
    return _DEMO


# Namespace for the benchmark dataset's name-based UUIDs (uuid5), so every run yields the same ids.
_BIG_NAMESPACE = uuid.UUID("8a0c6f0e-4b1d-4f43-9d55-6f1f2b7c9e10")


def _big_id(kind: str, index: int) -> str:
    return str(uuid.uuid5(_BIG_NAMESPACE, f"{kind}-{index}"))


def big_dataset(n_jobs: int, n_envs: int) -> Dataset:
    """A deterministic dataset for benchmarks: one organization, one project, `n_envs` environments and
    `n_jobs` jobs spread round-robin over them.

    Job i is called `job-{i:05d}`; even jobs are cron jobs, odd ones lifecycle jobs with all three hooks.
    Every job is DEPLOYED except every 10th (STOPPED) and every 50th (DEPLOYMENT_ERROR). Ids are uuid5
    values of fixed names, identical on every call.
    """
    if n_envs < 1:
        raise ValueError("big_dataset: n_envs must be at least 1")
    if n_jobs < 0:
        raise ValueError("big_dataset: n_jobs must not be negative")
    org_id = _big_id("organization", 0)
    project_id = _big_id("project", 0)
    environments = tuple(
        EnvironmentSpec(id=_big_id("environment", e), project_id=project_id, name=f"env-{e:03d}")
        for e in range(n_envs)
    )
    jobs = []
    for i in range(n_jobs):
        state = "DEPLOYMENT_ERROR" if i % 50 == 49 else "STOPPED" if i % 10 == 9 else "DEPLOYED"
        jobs.append(
            JobSpec(
                id=_big_id("job", i),
                environment_id=environments[i % n_envs].id,
                name=f"job-{i:05d}",
                job_type="CRON" if i % 2 == 0 else "LIFECYCLE",
                state=state,
                lifecycle_events=("START", "STOP", "DELETE"),
                scheduled_at=f"{i % 60} * * * *",
            )
        )
    return Dataset(
        organizations=(OrganizationSpec(id=org_id, name="Bench Org"),),
        projects=(ProjectSpec(id=project_id, organization_id=org_id, name="bench"),),
        environments=environments,
        jobs=tuple(jobs),
    )
