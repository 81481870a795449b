"""What the tests of every area share: the demo's jobs by name, the tokens, a config file as a user writes it,
the audit log read back, a free port, the text on a Textual screen, and a relay running in front of the
simulator. An area's own `support.py` adds only what that area alone needs.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import httpx2
import yaml
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from textual.app import App

from qjob_tui.cli import with_server_overrides
from qjob_tui.config import Settings, load_settings
from qjob_tui.runtime import Runtime, open_runtime
from qjob_tui.server import RelayServers
from qjob_tui.simulator import ManualClock, RecordedRequest, Simulator, demo_dataset, serve_simulator

# The Qovery API token the simulator expects in the tests (not JWT-shaped: sent as `Token <t>`). It must never
# show up in anything qjob-tui writes, answers or draws; tests look for it by this value.
API_TOKEN = "qov_testTOKEN_5d1f8a2c9b7e4f60a3d2c1b0SECRET"
# The relay's inbound token (QJOB_TUI_SERVER_TOKEN) where a test sets one.
SERVER_TOKEN = "relay-inbound-4f1e9c2ab7d35e80"

DEMO = demo_dataset()
DEMO_ENVIRONMENTS = [env.id for env in DEMO.environments]
DEMO_NAMES = [job.name for job in DEMO.jobs]  # in the dataset's order, the order the dashboard shows them


def job_id(name: str) -> str:
    """The id of a job of the demo dataset, by name."""
    return DEMO.job_named(name).id


def environment_of(job: str) -> str:
    """The id of the demo environment a job (by id) is in."""
    return next(spec.environment_id for spec in DEMO.jobs if spec.id == job)


CRON_JOB = job_id("nightly-backup")  # CRON, DEPLOYED
LIFECYCLE_JOB = job_id("db-migrate")  # LIFECYCLE with a START hook, DEPLOYED
FAILED_JOB = job_id("cache-warmup")  # CRON, DEPLOYMENT_ERROR
FAILS_NEXT_JOB = job_id("seed-fixtures")  # LIFECYCLE, DEPLOYED; its next deploy ends DEPLOYMENT_ERROR
NEVER_DEPLOYED_JOB = job_id("table-vacuum")  # CRON, READY: nothing to uninstall (204)
UNLISTED_JOB = job_id("weekly-report")  # known to Qovery, left out of the tests' configs
LISTED_JOBS = [spec.id for spec in DEMO.jobs if spec.id != UNLISTED_JOB]
UNKNOWN_JOB = "00000000-0000-4000-8000-000000000000"  # a UUID Qovery does not know


def quiet_simulator(clock: ManualClock | None = None, **options: Any) -> Simulator:
    """The simulator with the demo's jobs, expecting API_TOKEN; its clock moves only when a test advances it."""
    options.setdefault("token", API_TOKEN)
    return Simulator(clock=clock or ManualClock(), **options)


def write_config(
    directory: Path,
    api_url: str | None = None,
    *,
    jobs: list[str] | None = None,
    named: bool = False,
    environments: list[str] | None = None,
    allow_unlisted_jobs: bool = False,
    timeout_s: float = 5.0,
    poll_interval_s: float = 60.0,
    **server: Any,
) -> Path:
    """`qjob-tui.yaml` in `directory`, as a user writes it: the listed jobs (ids, and names when `named`), the
    audit log beside it (`audit.jsonl`), the Qovery block, and the server block with `server`'s keys (`approve=`,
    `rest_port=`...). Returns its path."""
    listed = [spec for spec in DEMO.jobs if (spec.id in jobs if jobs is not None else spec.id in LISTED_JOBS)]
    unknown = [job for job in jobs or [] if job not in {spec.id for spec in DEMO.jobs}]
    qovery: dict[str, Any] = {"timeout_s": timeout_s, "poll_interval_s": poll_interval_s}
    if api_url is not None:
        qovery["api_url"] = api_url
    config: dict[str, Any] = {
        "qovery": qovery,
        "jobs": [{"id": spec.id, **({"name": spec.name} if named else {})} for spec in listed]
        + [{"id": job} for job in unknown],
        "environments": environments or [],
        "server": {"allow_unlisted_jobs": allow_unlisted_jobs, **server},
        "audit": {"path": str(directory / "audit.jsonl")},
    }
    path = directory / "qjob-tui.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def read_audit(path: Path) -> list[dict[str, Any]]:
    """Every line of an audit log (a file, or the directory holding `audit.jsonl`), each parsed as JSON: a
    line that is not JSON fails the test."""
    path = path / "audit.jsonl" if path.is_dir() else path
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    return [json.loads(line) for line in text.splitlines()]


def audit_outcomes(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The outcome lines of an audit log (one per action, in the order they ended), its write-ahead shape
    checked: every line an intent or an outcome; every intent followed, later, by exactly one outcome with its
    `id` (none left open: call it once the actions have ended); an outcome without an intent only for an
    attempt that never went to Qovery (no status)."""
    open_intents: dict[str, dict[str, Any]] = {}
    ended: set[str] = set()
    outcomes = []
    for record in records:
        assert record.get("phase") in ("intent", "outcome"), record
        key = record["id"]
        assert key not in ended, f"a line after the outcome of {key}: {record}"
        if record["phase"] == "intent":
            assert key not in open_intents, f"two intents for {key}"
            open_intents[key] = record
            continue
        intent = open_intents.pop(key, None)
        if intent is None:
            assert record["status"] is None, f"an outcome from Qovery without its intent: {record}"
        else:
            asked = {k: v for k, v in intent.items() if k != "phase"}
            assert {k: record.get(k) for k in asked} == asked, (intent, record)  # the same action, told twice
        ended.add(key)
        outcomes.append(record)
    assert not open_intents, f"intents without their outcome: {list(open_intents.values())}"
    return outcomes


def read_outcomes(path: Path) -> list[dict[str, Any]]:
    """The outcome lines of the audit log at `path` (see `audit_outcomes`): one per action."""
    return audit_outcomes(read_audit(path))


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def screen_text(app: App[Any]) -> str:
    """Every line of the terminal, dialogs included: what the user sees."""
    return "\n".join(strip.text.rstrip() for strip in app.screen._compositor.render_strips())


# -- the real command, as a user runs it ---------------------------------------------------------------


def user_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A user's environment in tmp (HOME and the XDG dirs), no qjob-tui or Qovery variable of this machine's,
    API_TOKEN exported as the Qovery token, and `extra` (which may replace it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QJOB_TUI_", "QOVERY_"))}
    for name, sub in (("HOME", "home"), ("XDG_STATE_HOME", "state"), ("XDG_CONFIG_HOME", "config")):
        (tmp_path / sub).mkdir(exist_ok=True)
        env[name] = str(tmp_path / sub)
    env["QOVERY_API_KEY"] = API_TOKEN
    env.update(extra)
    return env


def qjob_tui_command() -> list[str]:
    """The installed console script of this environment (else the module)."""
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
    """Run the real command to its end in `tmp_path` (stdin not a terminal unless given)."""
    process = await asyncio.create_subprocess_exec(
        *qjob_tui_command(), *args, stdin=stdin, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, cwd=tmp_path, env=env,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return Ran(process.returncode, stdout.decode(), stderr.decode())


# -- a relay (REST and MCP) in front of the simulator ----------------------------------------------------


def relay_settings(
    directory: Path,
    api_url: str,
    *,
    server_token: str | None = None,
    host: str | None = None,
    token: str = API_TOKEN,
    **config: Any,
) -> Settings:
    """Settings through the real loader (a config file plus an environment), on free ports."""
    path = write_config(directory, api_url, **config)
    env = {"QOVERY_API_KEY": token}
    if server_token is not None:
        env["QJOB_TUI_SERVER_TOKEN"] = server_token
    settings = load_settings(str(path), env=env)
    return with_server_overrides(settings, host, 0, 0)


@dataclass
class Relay:
    """A running relay (REST and MCP) in front of the simulator."""

    sim: Simulator
    runtime: Runtime
    servers: RelayServers
    audit_path: Path
    server_token: str | None = None

    @property
    def rest_url(self) -> str:
        return self.servers.rest_url

    @property
    def mcp_url(self) -> str:
        return self.servers.mcp_url

    def rest(self, *, token: str | None = None, **kwargs: Any) -> httpx.AsyncClient:
        """An HTTP client for the REST adapter; it sends the relay's token unless told otherwise."""
        token = token if token is not None else self.server_token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        headers.update(kwargs.pop("headers", {}))
        return httpx.AsyncClient(base_url=self.rest_url, headers=headers, timeout=30, **kwargs)

    @asynccontextmanager
    async def mcp(self, mode: str = "auto", *, token: str | None = None) -> AsyncIterator[Client]:
        """The official MCP client; with a token, over an httpx2 client that carries the header."""
        token = token if token is not None else self.server_token
        if not token:
            async with Client(self.mcp_url, mode=mode) as client:  # type: ignore[arg-type]
                yield client
            return
        async with (
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30) as http,
            Client(streamable_http_client(self.mcp_url, http_client=http), mode=mode) as client,  # type: ignore[arg-type]
        ):
            yield client

    @property
    def upstream_actions(self) -> list[RecordedRequest]:
        """What Qovery received for actions (reads by the poller left out)."""
        return [request for request in self.sim.requests if request.method == "POST"]

    def audit_outcomes(self) -> list[dict[str, Any]]:
        """One line per action: the audit log's outcome lines, the intents checked (`audit_outcomes`)."""
        return read_outcomes(self.audit_path)


@asynccontextmanager
async def running_relay(
    directory: Path,
    *,
    sim: Simulator | None = None,
    api_url: str | None = None,
    server_token: str | None = None,
    host: str | None = None,
    **config: Any,
) -> AsyncIterator[Relay]:
    """A relay on free loopback ports in front of `sim` (or of `api_url`), MCP started too; its config file and
    audit log in `directory`. The Qovery token is the simulator's."""
    sim = sim if sim is not None else quiet_simulator()
    async with serve_simulator(sim) as sim_url:
        settings = relay_settings(
            directory, api_url or sim_url, server_token=server_token, host=host, token=sim.token, **config
        )
        async with open_runtime(settings) as runtime, RelayServers(runtime) as servers:
            await servers.wait_started()
            yield Relay(sim, runtime, servers, settings.audit_path, server_token)
