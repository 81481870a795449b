"""What the relay tests share: the demo's jobs by name, tokens, and a relay running against the simulator."""

from __future__ import annotations

import socket
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

from qjob_tui.cli import with_server_overrides
from qjob_tui.config import Settings, load_settings
from qjob_tui.runtime import Runtime, open_runtime
from qjob_tui.server import RelayServers
from qjob_tui.simulator import ManualClock, RecordedRequest, Simulator, demo_dataset, serve_simulator

# The Qovery API token the simulator expects; it must never show up in anything the relay writes or answers.
API_TOKEN = "qov_relayTEST_5d1f8a2c9b7e4f60a3d2c1b0SECRET"
SERVER_TOKEN = "relay-inbound-4f1e9c2ab7d35e80"

DEMO = demo_dataset()


def demo_job(name: str) -> str:
    """The id of a job of the demo dataset, by name."""
    return DEMO.job_named(name).id


CRON_JOB = demo_job("nightly-backup")  # CRON, DEPLOYED
LIFECYCLE_JOB = demo_job("db-migrate")  # LIFECYCLE with a START hook, DEPLOYED
FAILED_JOB = demo_job("cache-warmup")  # CRON, DEPLOYMENT_ERROR
NEVER_DEPLOYED_JOB = demo_job("table-vacuum")  # CRON, READY: an uninstall answers 204
UNLISTED_JOB = demo_job("weekly-report")  # known to Qovery, left out of the relay's config
LISTED_JOBS = [job.id for job in DEMO.jobs if job.id != UNLISTED_JOB]


def write_config(
    path: Path,
    audit_path: Path,
    *,
    timeout_s: float = 5.0,
    allow_unlisted_jobs: bool = False,
    jobs: list[str] | None = None,
    api_url: str | None = None,
    approve: list[str] | None = None,
    approve_timeout_s: float | None = None,
) -> Path:
    """A config file as a user writes it: the listed jobs, the audit file, the server block."""
    server: dict[str, Any] = {"allow_unlisted_jobs": allow_unlisted_jobs}
    if approve is not None:
        server["approve"] = approve
    if approve_timeout_s is not None:
        server["approve_timeout_s"] = approve_timeout_s
    config: dict[str, Any] = {
        "qovery": {"timeout_s": timeout_s, "poll_interval_s": 60},
        "jobs": [{"id": job} for job in (LISTED_JOBS if jobs is None else jobs)],
        "server": server,
        "audit": {"path": str(audit_path)},
    }
    if api_url is not None:
        config["qovery"]["api_url"] = api_url
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def relay_settings(
    tmp_path: Path,
    api_url: str,
    *,
    server_token: str | None = None,
    host: str | None = None,
    **config: Any,
) -> Settings:
    """Settings through the real loader (a config file plus an environment), on free ports."""
    config_path = write_config(tmp_path / "qjob-tui.yaml", tmp_path / "audit.jsonl", **config)
    env = {"QOVERY_API_KEY": API_TOKEN, "QOVERY_API_URL": api_url}
    if server_token is not None:
        env["QJOB_TUI_SERVER_TOKEN"] = server_token
    settings = load_settings(str(config_path), env=env)
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

    def audit_lines(self) -> list[dict[str, Any]]:
        import json

        text = self.audit_path.read_text(encoding="utf-8") if self.audit_path.exists() else ""
        return [json.loads(line) for line in text.splitlines()]


def quiet_simulator(**options: Any) -> Simulator:
    """The simulator with the demo jobs, expecting API_TOKEN; its clock moves only when told."""
    options.setdefault("clock", ManualClock())
    return Simulator(token=API_TOKEN, **options)


@asynccontextmanager
async def running_relay(
    tmp_path: Path,
    *,
    sim: Simulator | None = None,
    api_url: str | None = None,
    server_token: str | None = None,
    host: str | None = None,
    **config: Any,
) -> AsyncIterator[Relay]:
    """A relay on free loopback ports in front of `sim` (or of `api_url`), MCP started too."""
    sim = sim if sim is not None else quiet_simulator()
    async with serve_simulator(sim) as sim_url:
        settings = relay_settings(
            tmp_path, api_url or sim_url, server_token=server_token, host=host, **config
        )
        async with open_runtime(settings) as runtime, RelayServers(runtime) as servers:
            await servers.wait_started()
            yield Relay(sim, runtime, servers, settings.audit_path, server_token)


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
