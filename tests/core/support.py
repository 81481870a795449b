"""What the core tests add to `tests.common`: a JWT, a client that records its waits, a simulated Qovery with its
clock, and a pipeline on it."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qjob_tui.audit import AuditLog
from qjob_tui.config import JobEntry
from qjob_tui.jobs import JobBoard
from qjob_tui.pipeline import ActionPipeline, Gate
from qjob_tui.qovery import AuthScheme, QoveryClient, RetryPolicy
from qjob_tui.simulator import ManualClock, Simulator, serve_simulator
from tests.common import API_TOKEN, CRON_JOB, FAILED_JOB, LIFECYCLE_JOB, NEVER_DEPLOYED_JOB


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


# A JWT from an OIDC login (three base64url parts): sent as `Bearer <jwt>`, where API_TOKEN goes as `Token <t>`.
JWT = f"{_b64({'alg': 'RS256', 'typ': 'JWT'})}.{_b64({'sub': 'auth0|42', 'exp': 4102444800})}.c2lnbmF0dXJl"


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
    read_only: bool = False,
) -> AsyncIterator[ActionPipeline]:
    """An action pipeline on Qovery at `url`, acting on `jobs`, auditing to `audit_path` (None: no audit)."""
    board = JobBoard([JobEntry(id=job) for job in jobs])
    audit = AuditLog(audit_path) if audit_path is not None else None
    async with client_for(url, token, timeout_s=timeout_s) as client:
        try:
            yield ActionPipeline(
                client, board, audit, allow_unlisted_jobs=allow_unlisted_jobs, gate=gate, read_only=read_only
            )
        finally:
            if audit is not None:
                audit.close()


async def until(condition: Callable[[], object], what: str) -> None:
    """Wait for a condition of a background task's doing (a guard against hanging, not a timing assertion)."""
    try:
        async with asyncio.timeout(30):
            while not condition():  # noqa: ASYNC110 (the condition is the background task's doing)
                await asyncio.sleep(0.01)
    except TimeoutError:
        raise AssertionError(f"never happened: {what}") from None
