"""Fixtures of the core tests: a clean user environment, and a scripted Qovery stand-in on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .support import SimQovery, simulated_qovery
from .upstream import ScriptedUpstream, serve_scripted

# Every variable qjob-tui reads; a test starts without any of them.
QJOB_VARIABLES = ("QOVERY_API_KEY", "QOVERY_API_URL", "QJOB_TUI_SERVER_TOKEN", "QJOB_TUI_CONFIG")


@dataclass
class UserEnv:
    """Where a user's files live during a test: a working directory, a home and the XDG dirs."""

    work: Path
    home: Path
    config_home: Path
    state_home: Path

    @property
    def user_config(self) -> Path:
        return self.config_home / "qjob-tui" / "config.yaml"


@pytest.fixture
def user_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> UserEnv:
    """No qjob-tui variable set, HOME and the XDG dirs in tmp, and the working directory empty."""
    env = UserEnv(tmp_path / "work", tmp_path / "home", tmp_path / "xdg-config", tmp_path / "xdg-state")
    for path in (env.work, env.home, env.config_home, env.state_home):
        path.mkdir()
    for name in QJOB_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(env.home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(env.config_home))
    monkeypatch.setenv("XDG_STATE_HOME", str(env.state_home))
    monkeypatch.chdir(env.work)
    return env


@pytest.fixture
async def scripted() -> AsyncIterator[tuple[ScriptedUpstream, str]]:
    """A scripted upstream on a loopback port, and its base URL."""
    upstream = ScriptedUpstream()
    async with serve_scripted(upstream) as url:
        yield upstream, url


@pytest.fixture
async def qovery() -> AsyncIterator[SimQovery]:
    """The simulator with the demo jobs on a loopback port; its clock moves only when told."""
    async with simulated_qovery() as served:
        yield served
