"""The config text `init` writes: any name Qovery may hold reads back the same, and the file stays commented."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from qjob_tui.config import Config, JobEntry, read_config
from qjob_tui.configfile import (
    EnvironmentChoice,
    JobChoice,
    Selection,
    comment_text,
    render_config,
    yaml_scalar,
)
from qjob_tui.init import main_async
from qjob_tui.simulator import Dataset, JobSpec, Simulator, demo_dataset, serve_simulator

from .support import PRODUCTION

TRICKY_NAMES = [
    'backup: "daily" # 02:00',
    "it's - [a] {b} & *c !d |e >f %g @h `i",
    "line one\nline two\r\n",
    "  leading and trailing  ",
    "null",
    "123",
    "yes",
    "~",
    "-",
    "---",
    "#",
    "名前 — ünïcødé 🚀",
    "tab\there\x00nul\x85nel\u2028ls\ufeffbom",
    "\\ backslash \\n not a newline",
    "",
]


def env_choice(name: str | None = "production") -> EnvironmentChoice:
    return EnvironmentChoice(
        id=PRODUCTION.id, name=name, project="storefront", organization="Acme Robotics", mode="PRODUCTION"
    )


def job_choice(name: str | None, environment: EnvironmentChoice | None = None) -> JobChoice:
    job = {"id": str(uuid.uuid4()), "name": name, "job_type": "CRON"}
    choice = JobChoice.from_response(job, environment or env_choice())
    assert choice is not None
    return choice


@pytest.mark.parametrize("name", TRICKY_NAMES)
def test_a_tricky_job_name_is_written_safely_and_reads_back(name: str, tmp_path: Path) -> None:
    job = job_choice(name, env_choice(name))
    path = tmp_path / "qjob-tui.yaml"
    path.write_text(render_config(Config(), Selection(jobs=(job,))))

    assert read_config(path).jobs == [JobEntry(id=job.id, name=name, environment=PRODUCTION.id)]


@settings(max_examples=150, deadline=None)
@given(
    job_name=st.text(max_size=40),
    env_name=st.text(max_size=40),
    project=st.text(max_size=20),
    schedule=st.text(max_size=20),
)
def test_any_name_qovery_may_hold_reads_back_the_same(
    job_name: str, env_name: str, project: str, schedule: str
) -> None:
    environment = EnvironmentChoice(id=PRODUCTION.id, name=env_name, project=project, organization=project)
    job = JobChoice.from_response(
        {
            "id": str(uuid.uuid4()),
            "name": job_name,
            "job_type": "CRON",
            "schedule": {"cronjob": {"scheduled_at": schedule}},
        },
        environment,
    )
    assert job is not None
    other = EnvironmentChoice(id=str(uuid.uuid4()), name=env_name, project=project, organization=project)

    text = render_config(Config(), Selection(environments=(other,), jobs=(job,)))

    loaded = Config.model_validate(yaml.safe_load(text))
    assert loaded.jobs == [JobEntry(id=job.id, name=job_name, environment=PRODUCTION.id)]
    assert loaded.environments == [other.id]


@pytest.mark.parametrize("value", TRICKY_NAMES)
def test_a_quoted_scalar_is_one_line_and_loads_back(value: str) -> None:
    text = yaml_scalar(value)
    assert "\n" not in text and text.startswith('"')
    assert yaml.safe_load(f"key: {text}  # a comment after it") == {"key": value}


@pytest.mark.parametrize("value", TRICKY_NAMES)
def test_a_comment_is_one_printable_line(value: str) -> None:
    text = comment_text(value * 20)
    assert text.isprintable() and len(text) <= 100
    assert yaml.safe_load(f"key: 1  # {text}") == {"key": 1}


def test_a_job_without_a_name_is_written_without_one(tmp_path: Path) -> None:
    job = job_choice(None)
    path = tmp_path / "c.yaml"
    path.write_text(render_config(Config(), Selection(jobs=(job,))))
    assert read_config(path).jobs == [JobEntry(id=job.id, environment=PRODUCTION.id)]
    assert "name:" not in path.read_text().split("jobs:")[1].split("environments")[0]


def test_the_settings_of_a_config_are_kept_when_it_is_rewritten() -> None:
    base = Config.model_validate(
        {
            "qovery": {"api_url": "https://qovery.example.test", "timeout_s": 12.5, "auth_scheme": "bearer"},
            "server": {"host": "::1", "rest_port": 18080, "allow_unlisted_jobs": True},
            "ui": {"confirm": ["uninstall"], "keys": {"deploy": "x", "stop": "ctrl+s"}},
            "audit": {"path": "/var/log/qjob: audit.jsonl"},
            "jobs": [{"id": str(uuid.uuid4())}],
        }
    )
    job = job_choice("new")
    loaded = Config.model_validate(yaml.safe_load(render_config(base, Selection(jobs=(job,)))))
    assert loaded == base.model_copy(update={"jobs": [*base.jobs, job.entry()]})


async def test_tricky_names_from_qovery_go_through_init_unharmed(tmp_path: Path) -> None:
    demo = demo_dataset()
    jobs = tuple(
        JobSpec(id=str(uuid.UUID(int=index + 1, version=4)), environment_id=PRODUCTION.id, name=name)
        for index, name in enumerate(TRICKY_NAMES)
    )
    dataset = Dataset(demo.organizations, demo.projects, demo.environments, jobs)
    sim = Simulator(dataset=dataset)
    path = tmp_path / "tricky.yaml"
    async with serve_simulator(sim) as url:
        env = {"QOVERY_API_KEY": sim.token, "QOVERY_API_URL": url}
        assert await main_async(["--environment", PRODUCTION.id, "--config", str(path)], env, None) == 0
    assert [job.name for job in read_config(path).jobs] == TRICKY_NAMES
