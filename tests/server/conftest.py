"""Fixtures of the relay tests: a relay on loopback in front of the simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.common import SERVER_TOKEN, Relay, running_relay


@pytest.fixture
async def relay(tmp_path: Path) -> AsyncIterator[Relay]:
    """REST and MCP on free loopback ports, the demo's jobs (but one) configured, no inbound token."""
    async with running_relay(tmp_path) as running:
        yield running


@pytest.fixture
async def guarded_relay(tmp_path: Path) -> AsyncIterator[Relay]:
    """The same relay with QJOB_TUI_SERVER_TOKEN set: both surfaces want the bearer token."""
    async with running_relay(tmp_path, server_token=SERVER_TOKEN) as running:
        yield running
