"""What the core tests share: tokens, the demo's jobs by name, a client that records its waits."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qjob_tui.audit import AuditLog
from qjob_tui.config import JobEntry
from qjob_tui.jobs import JobBoard
from qjob_tui.pipeline import ActionPipeline, Gate
from qjob_tui.qovery import AuthScheme, QoveryClient, RetryPolicy
from qjob_tui.simulator import ManualClock, Simulator, demo_dataset, serve_simulator

# A Qovery API token (not JWT-shaped) and a JWT from an OIDC login (three base64url parts).
API_TOKEN = "qov_2bXk7c9Tq1Lm4Np8Rs3Vw6Yz0AbCdEf"


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


JWT = f"{_b64({'alg': 'RS256', 'typ': 'JWT'})}.{_b64({'sub': 'auth0|42', 'exp': 4102444800})}.c2lnbmF0dXJl"

DEMO = demo_dataset()


def demo_job(name: str) -> str:
    """The id of a job of the demo dataset, by name."""
    return DEMO.job_named(name).id


CRON_JOB = demo_job("nightly-backup")  # CRON, DEPLOYED
LIFECYCLE_JOB = demo_job("db-migrate")  # LIFECYCLE with a START hook, DEPLOYED
FAILED_JOB = demo_job("cache-warmup")  # CRON, DEPLOYMENT_ERROR
NEVER_DEPLOYED_JOB = demo_job("table-vacuum")  # CRON, READY: nothing to uninstall
UNKNOWN_JOB = "00000000-0000-4000-8000-000000000000"  # a UUID Qovery does not know


@dataclass
class Waits:
    """A RetryPolicy sleep that records how long it was asked to wait, and does not wait."""

    seconds: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


def client_for(
    url: str,
    token: str = API_TOKEN,
    *,
    waits: Waits | None = None,
    attempts: int = 4,
    auth_scheme: AuthScheme = "auto",
    timeout_s: float = 5.0,
) -> QoveryClient:
    """A client whose retries record their waits instead of sleeping."""
    retry = RetryPolicy(attempts=attempts, sleep=waits or Waits())
    return QoveryClient(url, token, auth_scheme=auth_scheme, timeout_s=timeout_s, retry=retry)


@dataclass
class SimQovery:
    """A simulator served on loopback: `sim` to inspect and inject, `url` to talk to, `clock` to move time."""

    sim: Simulator
    url: str
    clock: ManualClock


@asynccontextmanager
async def simulated_qovery(token: str = API_TOKEN, phase_s: float = 2.0) -> AsyncIterator[SimQovery]:
    clock = ManualClock()
    sim = Simulator(token=token, clock=clock, phase_s=phase_s)
    async with serve_simulator(sim) as url:
        yield SimQovery(sim, url, clock)


@asynccontextmanager
async def pipeline_on(
    url: str,
    audit_path: Path | None,
    *,
    jobs: tuple[str, ...] = (CRON_JOB, LIFECYCLE_JOB, FAILED_JOB, NEVER_DEPLOYED_JOB),
    token: str = API_TOKEN,
    allow_unlisted_jobs: bool = False,
    gate: Gate | None = None,
    timeout_s: float = 5.0,
) -> AsyncIterator[ActionPipeline]:
    """An action pipeline on Qovery at `url`, acting on `jobs`, auditing to `audit_path` (None: no audit)."""
    board = JobBoard([JobEntry(id=job) for job in jobs])
    audit = AuditLog(audit_path) if audit_path is not None else None
    async with client_for(url, token, timeout_s=timeout_s) as client:
        try:
            yield ActionPipeline(client, board, audit, allow_unlisted_jobs=allow_unlisted_jobs, gate=gate)
        finally:
            if audit is not None:
                audit.close()
