"""Fixtures for the simulator's tests: a simulator on a fake clock, served on a real loopback socket,
and clients whose every answer is checked against Qovery's OpenAPI description."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from qjob_tui.simulator import DEMO_TOKEN, ManualClock, Simulator, serve_simulator

from .openapi_check import OpenAPI, openapi

AUTH = {"Authorization": f"Token {DEMO_TOKEN}"}


@pytest.fixture
def spec() -> OpenAPI:
    """Qovery's OpenAPI description, parsed once."""
    return openapi()


@pytest.fixture
def clock() -> ManualClock:
    """The clock the simulator's states follow; tests advance it by hand."""
    return ManualClock()


@pytest.fixture
def sim(clock: ManualClock) -> Simulator:
    """A demo simulator whose action phases last 2 seconds of the fake clock."""
    return Simulator(clock=clock, phase_s=2.0)


@pytest.fixture
async def base_url(sim: Simulator) -> AsyncIterator[str]:
    """The simulator served on loopback."""
    async with serve_simulator(sim) as url:
        yield url


@pytest.fixture
async def api(base_url: str, spec: OpenAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client with the demo token whose every answer must be one the OpenAPI description allows."""

    async def check(response: httpx.Response) -> None:
        await response.aread()
        spec.check(response)

    async with httpx.AsyncClient(
        base_url=base_url, headers=AUTH, timeout=10, event_hooks={"response": [check]}
    ) as client:
        yield client


@pytest.fixture
async def raw(base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client with no token and no checks, for faults and broken requests."""
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        yield client
