"""Fixtures of the dashboard tests: the dashboard over the demo's jobs, served by the simulator on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from .support import Dashboard, running_dashboard


@pytest.fixture
async def dash(tmp_path: Path) -> AsyncIterator[Dashboard]:
    """The dashboard at 120x40 with the seven demo jobs and their states on screen (default config)."""
    async with running_dashboard(tmp_path) as running:
        yield running
