"""Fixtures of the `init` and browse tests: a clean user environment and the simulator on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from qjob_tui.qovery import QoveryClient, RetryPolicy
from qjob_tui.simulator import DEMO_TOKEN, Simulator, demo_dataset, serve_simulator

# Every variable qjob-tui reads; a test starts without any of them.
QJOB_VARIABLES = ("QOVERY_API_KEY", "QOVERY_API_URL", "QJOB_TUI_SERVER_TOKEN", "QJOB_TUI_CONFIG")


async def no_wait(seconds: float) -> None:
    """Read retries in tests: no sleeping."""


@dataclass
class Served:
    """A simulator on a loopback port: `sim` to inspect and inject faults, `url` to talk to."""

    sim: Simulator
    url: str

    def env(self, token: str = DEMO_TOKEN) -> dict[str, str]:
        """The environment a user would have to point qjob-tui at this Qovery."""
        return {"QOVERY_API_KEY": token, "QOVERY_API_URL": self.url}

    def client(self, token: str = DEMO_TOKEN) -> QoveryClient:
        return QoveryClient(self.url, token, timeout_s=10, retry=RetryPolicy(attempts=2, sleep=no_wait))

    def paths(self) -> list[str]:
        return [request.path for request in self.sim.requests]


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory, no qjob-tui variable set, HOME and the XDG dirs in tmp."""
    for name in QJOB_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name in ("HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME"):
        (tmp_path / name.lower()).mkdir()
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    return tmp_path / "work"


@pytest.fixture
async def qovery() -> AsyncIterator[Served]:
    """The demo dataset served on loopback (one organization, two projects, four environments, one empty)."""
    sim = Simulator(dataset=demo_dataset(), phase_s=0.0)
    async with serve_simulator(sim) as url:
        yield Served(sim, url)


@pytest.fixture
async def client(qovery: Served) -> AsyncIterator[QoveryClient]:
    async with qovery.client() as client:
        yield client
