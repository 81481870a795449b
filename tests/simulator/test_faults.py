"""Injected faults: replaced answers, non-JSON, delays, resets and truncated bodies, over a real socket."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest

from qjob_tui.simulator import (
    ManualClock,
    SimulatedConnectionError,
    Simulator,
    demo_dataset,
    serve_simulator,
)

from .conftest import AUTH

BACKUP = demo_dataset().job_named("nightly-backup").id
DEPLOY = f"/job/{BACKUP}/deploy"
STATUS = f"/job/{BACKUP}/status"


async def test_a_fault_replaces_the_answer_once(raw: httpx.AsyncClient, sim: Simulator) -> None:
    sim.inject(path=r"/deploy$", status=503, json={"message": "maintenance"}, headers={"Retry-After": "7"})
    faulty = await raw.post(DEPLOY, headers=AUTH)
    assert (faulty.status_code, faulty.json(), faulty.headers["retry-after"]) == (
        503,
        {"message": "maintenance"},
        "7",
    )
    assert not sim.job(BACKUP).in_progress
    normal = await raw.post(DEPLOY, headers=AUTH)
    assert normal.status_code == 202


async def test_a_bare_fault_is_a_json_500(raw: httpx.AsyncClient, sim: Simulator) -> None:
    sim.inject()
    answer = await raw.get(STATUS, headers=AUTH)
    assert answer.status_code == 500
    assert answer.json()["status"] == 500
    assert answer.headers["content-type"] == "application/json"


async def test_a_raw_fault_sends_bytes_as_they_are(raw: httpx.AsyncClient, sim: Simulator) -> None:
    sim.inject(status=502, raw=b"<html>oops", headers={"Content-Type": "text/html"})
    answer = await raw.get(STATUS, headers=AUTH)
    assert (answer.status_code, answer.content, answer.headers["content-type"]) == (
        502,
        b"<html>oops",
        "text/html",
    )
    sim.inject(status=200, raw=b"not json")
    answer = await raw.get(STATUS, headers=AUTH)
    assert answer.status_code == 200
    with pytest.raises(ValueError):
        answer.json()


async def test_faults_match_method_and_path(raw: httpx.AsyncClient, sim: Simulator) -> None:
    sim.inject(method="post", path=r"/job/[^/]+/stop$", status=418, times=None)
    assert (await raw.get(STATUS, headers=AUTH)).status_code == 200
    assert (await raw.get(f"/job/{BACKUP}/stop", headers=AUTH)).status_code == 405
    assert (await raw.post(DEPLOY, headers=AUTH)).status_code == 202
    assert [(await raw.post(f"/job/{BACKUP}/stop", headers=AUTH)).status_code for _ in range(3)] == [418] * 3


async def test_times_counts_and_clear_faults_forgets(raw: httpx.AsyncClient, sim: Simulator) -> None:
    sim.inject(path="status", status=500, times=2)
    codes = [(await raw.get(STATUS, headers=AUTH)).status_code for _ in range(3)]
    assert codes == [500, 500, 200]
    sim.inject(status=500, times=None)
    assert (await raw.get(STATUS, headers=AUTH)).status_code == 500
    sim.clear_faults()
    assert (await raw.get(STATUS, headers=AUTH)).status_code == 200


async def test_the_first_matching_fault_wins(raw: httpx.AsyncClient, sim: Simulator) -> None:
    sim.inject(path="status", status=501)
    sim.inject(status=502)
    assert (await raw.get(STATUS, headers=AUTH)).status_code == 501
    assert (await raw.get(STATUS, headers=AUTH)).status_code == 502


async def test_a_fault_answers_before_the_token_is_checked(raw: httpx.AsyncClient, sim: Simulator) -> None:
    sim.inject(status=503)
    answer = await raw.get(STATUS)
    assert answer.status_code == 503
    assert sim.requests[-1].path == STATUS


async def test_a_delay_only_fault_then_answers_normally(raw: httpx.AsyncClient, sim: Simulator) -> None:
    sim.inject(path="deploy", delay_s=0.05)
    assert (await raw.post(DEPLOY, headers=AUTH)).status_code == 202
    sim.inject(path="status", delay_s=0.05, status=None)
    assert (await raw.get(STATUS, headers=AUTH)).status_code == 200


async def test_a_long_delay_makes_the_client_time_out_and_does_not_hold_the_server(sim: Simulator) -> None:
    sim.inject(path="status", delay_s=60)
    # The server still sleeps on the abandoned request when the block ends: stopping must cut that short
    # rather than wait out the delay or its shutdown grace period (10 s).
    async with (
        asyncio.timeout(5),
        serve_simulator(sim) as url,
        httpx.AsyncClient(base_url=url, headers=AUTH, timeout=0.2) as client,
    ):
        with pytest.raises(httpx.ReadTimeout):
            await client.get(STATUS)


async def test_a_reset_drops_the_connection_without_an_answer(raw: httpx.AsyncClient, sim: Simulator) -> None:
    sim.inject(path="deploy", reset=True)
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        await raw.post(DEPLOY, headers=AUTH)
    assert not sim.job(BACKUP).in_progress
    assert (await raw.post(DEPLOY, headers=AUTH)).status_code == 202


async def test_a_truncated_answer_breaks_off_mid_body(raw: httpx.AsyncClient, sim: Simulator) -> None:
    sim.inject(path="status", truncate=True)
    with pytest.raises(httpx.RemoteProtocolError):
        await raw.get(STATUS, headers=AUTH)
    sim.inject(path="status", truncate=True, status=500, json={"message": "x" * 100})
    with pytest.raises(httpx.RemoteProtocolError):
        await raw.get(STATUS, headers=AUTH)
    assert (await raw.get(STATUS, headers=AUTH)).status_code == 200


async def test_a_truncated_stream_shows_the_declared_length(base_url: str, sim: Simulator) -> None:
    sim.inject(path="status", truncate=True)
    async with (
        httpx.AsyncClient(base_url=base_url, headers=AUTH) as client,
        client.stream("GET", STATUS) as answer,
    ):
        assert answer.status_code == 200
        declared = int(answer.headers["content-length"])
        received = b""
        with pytest.raises(httpx.RemoteProtocolError):
            async for chunk in answer.aiter_raw():
                received += chunk
    assert 0 < len(received) < declared


async def test_a_truncated_204_is_still_cut(raw: httpx.AsyncClient, sim: Simulator) -> None:
    vacuum = demo_dataset().job_named("table-vacuum").id
    sim.inject(path="uninstall", truncate=True)
    with pytest.raises(httpx.RemoteProtocolError):
        await raw.post(f"/job/{vacuum}/uninstall", headers=AUTH)


async def test_reset_and_truncate_need_a_real_socket() -> None:
    sim = Simulator(clock=ManualClock())
    transport = httpx.ASGITransport(app=sim.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim", headers=AUTH) as client:
        sim.inject(reset=True)
        with pytest.raises(SimulatedConnectionError):
            await client.get(STATUS)
        sim.inject(truncate=True)
        with pytest.raises(SimulatedConnectionError):
            await client.get(STATUS)
        sim.inject(status=429, headers={"Retry-After": "1"})
        assert (await client.get(STATUS)).status_code == 429


@pytest.mark.parametrize(
    "kwargs",
    [
        {"json": {}, "raw": b"x"},
        {"reset": True, "truncate": True},
        {"times": 0},
        {"delay_s": -1},
        {"status": 42},
        {"path": "("},
    ],
)
def test_impossible_faults_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises((ValueError, re.error)):
        Simulator().inject(**kwargs)  # type: ignore[arg-type]
