"""What the one-shot tests share: the demo's jobs by name, a config as a user writes it, and the real command."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from qjob_tui.simulator import demo_dataset

# The Qovery token the simulator expects; it must never show up in anything the command writes.
API_TOKEN = "qov_oneshotTEST_7c2e9d41b5a8f306SECRET"

DEMO = demo_dataset()


def demo_job(name: str) -> str:
    """The id of a job of the demo dataset, by name."""
    return DEMO.job_named(name).id


CRON_JOB = demo_job("nightly-backup")  # CRON, DEPLOYED
LIFECYCLE_JOB = demo_job("db-migrate")  # LIFECYCLE with a START hook, DEPLOYED
FAILS_NEXT_JOB = demo_job("seed-fixtures")  # LIFECYCLE, DEPLOYED; its next deploy ends DEPLOYMENT_ERROR
NEVER_DEPLOYED_JOB = demo_job("table-vacuum")  # CRON, READY: an uninstall answers 204
UNLISTED_JOB = demo_job("weekly-report")  # known to Qovery, left out of the config
LISTED = [job for job in DEMO.jobs if job.id != UNLISTED_JOB]


def environment_of(job_id: str) -> str:
    """The id of the demo environment a job is in."""
    return next(job.environment_id for job in DEMO.jobs if job.id == job_id)


def write_config(
    tmp_path: Path,
    api_url: str,
    *,
    named: bool = True,
    jobs: list[str] | None = None,
    environments: list[str] | None = None,
    allow_unlisted_jobs: bool = False,
    poll_interval_s: float = 10,
    timeout_s: float = 5,
) -> Path:
    """`qjob-tui.yaml` in `tmp_path`: the listed jobs (with their names unless told), the audit file beside it."""
    listed = [job for job in LISTED if jobs is None or job.id in jobs]
    config: dict[str, Any] = {
        "qovery": {"api_url": api_url, "timeout_s": timeout_s, "poll_interval_s": poll_interval_s},
        "jobs": [{"id": job.id, **({"name": job.name} if named else {})} for job in listed],
        "environments": environments or [],
        "server": {"allow_unlisted_jobs": allow_unlisted_jobs},
        "audit": {"path": str(tmp_path / "audit.jsonl")},
    }
    path = tmp_path / "qjob-tui.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def audit_lines(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def user_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A user's environment in tmp (HOME, the XDG dirs), the simulator's token, and `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QJOB_TUI_", "QOVERY_"))}
    for name in ("HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME"):
        (tmp_path / name.lower()).mkdir(exist_ok=True)
        env[name] = str(tmp_path / name.lower())
    env["QOVERY_API_KEY"] = API_TOKEN
    env.update(extra)
    return env


def qjob_tui() -> list[str]:
    """The installed console script (else the module) of this environment."""
    script = Path(sys.executable).with_name("qjob-tui")
    return [str(script)] if script.exists() else [sys.executable, "-m", "qjob_tui"]


@dataclass
class Ran:
    """A finished `qjob-tui` process: its exit code and what it wrote."""

    code: int
    stdout: str
    stderr: str

    @property
    def records(self) -> list[dict[str, Any]]:
        """Every line of stdout as JSON (a line that is not JSON fails the test)."""
        return [json.loads(line) for line in self.stdout.splitlines()]

    @property
    def result(self) -> dict[str, Any]:
        """The last JSON line, which must be the result."""
        last = self.records[-1]
        assert last["event"] == "result", self.stdout
        return last

    @property
    def events(self) -> list[str]:
        return [record["event"] for record in self.records]


async def run_qjob_tui(
    tmp_path: Path, *args: str, env: dict[str, str], stdin: int | None = asyncio.subprocess.DEVNULL
) -> Ran:
    """Run the real command to its end (stdin not a terminal unless given) in `tmp_path`."""
    process = await asyncio.create_subprocess_exec(
        *qjob_tui(), *args, stdin=stdin, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        cwd=tmp_path, env=env,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return Ran(process.returncode, stdout.decode(), stderr.decode())
