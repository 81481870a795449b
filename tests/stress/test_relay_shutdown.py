"""SIGTERM to a real `qjob-tui --serve` under load: every request in flight is answered, the audit log is
complete and every line is JSON, the exit code is 0, and the ports are free at once: a second `qjob-tui
--serve` starts on the same ports straight away and serves."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client

from qjob_tui.simulator import DEMO_TOKEN, Simulator, serve_simulator
from tests.common import free_port, read_outcomes, user_env, write_config
from tests.support.served import BOUND_S, serving, until

from .relay_harness import DEMO_JOBS

HEALTHY_JOBS = [job.id for job in Simulator().dataset.jobs if job.name != "weekly-report"]  # not STOPPED


async def mcp_deploy(url: str, job: str) -> Any:
    """A tool call as an agent makes it: list the tools (the client checks results against their output
    schemas), then call. The client's goodbye may find the server already gone after SIGTERM: only the
    answer counts."""
    result = None
    with contextlib.suppress(BaseExceptionGroup):
        async with Client(url) as client:
            await client.list_tools()
            result = await client.call_tool("deploy-job", {"jobId": job})
    return result


async def sigterm_under_load(tmp_path: Path, rest_calls: int, mcp_calls: int) -> None:
    # Qovery holds every answer a moment, so that the requests are in flight when SIGTERM arrives, and
    # answers them within the second a stop gives them (ServerLimits.shutdown_grace_s); what a caller whose
    # answer comes later gets is the shutdown's honest answer.
    sim = Simulator(phase_s=0.0, latency_s=0.3)
    rest_port, mcp_port = free_port(), free_port()
    async with serve_simulator(sim) as api_url, asyncio.timeout(4 * BOUND_S):
        config = write_config(
            tmp_path,
            api_url,
            jobs=DEMO_JOBS,
            timeout_s=20,
            rest_port=rest_port,
            mcp_port=mcp_port,
        )
        env = user_env(tmp_path, QOVERY_API_KEY=DEMO_TOKEN)
        limits = httpx2.Limits(max_connections=rest_calls + 10)
        async with (
            serving(config, env, rest_port, mcp_port) as served,
            httpx2.AsyncClient(base_url=served.rest_url, timeout=BOUND_S, limits=limits) as http,
        ):
            jobs = [HEALTHY_JOBS[i % len(HEALTHY_JOBS)] for i in range(rest_calls + mcp_calls)]
            rest = [asyncio.create_task(http.post(f"/v1/job/{job}/deploy")) for job in jobs[:rest_calls]]
            tools = [asyncio.create_task(mcp_deploy(served.mcp_url, job)) for job in jobs[rest_calls:]]
            await until(lambda: len([r for r in sim.requests if r.method == "POST"]) == len(jobs))
            # Every call has reached Qovery; none is answered yet.
            code, stderr = await served.terminate()
            answers = await asyncio.gather(*rest)
            results = await asyncio.gather(*tools)

        assert code == 0, stderr
        assert "Traceback" not in stderr
        assert [answer.status_code for answer in answers] == [202] * rest_calls
        assert all(result is not None and not result.is_error for result in results), results
        records = read_outcomes(tmp_path)  # every line whole and JSON, every intent with its outcome
        assert len(records) == len(jobs)
        assert sorted(r["source"] for r in records) == ["mcp"] * mcp_calls + ["rest"] * rest_calls
        assert all(r["status"] == 202 and r["action"] == "deploy" for r in records)

        # The ports are free at once: a second relay starts on the same ones and serves.
        async with (
            serving(config, env, rest_port, mcp_port) as again,
            httpx2.AsyncClient(base_url=again.rest_url, timeout=BOUND_S) as http,
        ):
            assert (await http.post(f"/v1/job/{HEALTHY_JOBS[0]}/deploy")).status_code == 202
            result = await mcp_deploy(again.mcp_url, HEALTHY_JOBS[1])
            assert result is not None and not result.is_error
            code, stderr = await again.terminate()
        assert code == 0, stderr
        assert len(read_outcomes(tmp_path)) == len(jobs) + 2


async def test_sigterm_under_load_answers_everything_then_restarts_on_the_same_ports(tmp_path: Path) -> None:
    await sigterm_under_load(tmp_path, rest_calls=60, mcp_calls=12)


@pytest.mark.heavy
async def test_sigterm_under_heavy_load_heavy(tmp_path: Path) -> None:
    await sigterm_under_load(tmp_path, rest_calls=600, mcp_calls=100)
