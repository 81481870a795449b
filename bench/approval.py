"""What the operator's approval costs: the time from the operator's `y` to the request reaching Qovery, and
the memory of requests that wait.

    python bench/approval.py [--rounds 50] [--waiting 100]

This process serves the relay (REST and MCP on loopback, `server.approve: [stop]`) in front of the simulator,
which runs in a process of its own, as Qovery would: in this one it would read the request only once the
dashboard had repainted. The simulator stamps each POST on arrival with `time.perf_counter` (the system's
monotonic clock on Linux, the same in both processes) and tells this process, so that "the operator's answer"
and "reached Qovery" are read on one clock.

- `y` to Qovery, queue: a REST caller's stop waits; the operator's answer is `ApprovalQueue.answer` (what the
  dialog's `y` calls); measured to the simulator's receipt of the POST. Goal: under 5 ms.
- `y` to Qovery, dashboard: the same through the dashboard in Textual's headless run (`run_test`): the key
  `y` is posted to the app as the terminal driver posts it, and goes through the dialog's binding. The dialog's half-second guard is switched off
  here (its clock always says "armed"); nothing else is changed.
- memory: `--waiting` REST callers, then as many MCP callers (a client process of their own, so that only
  the relay's side is counted), wait at once; what Python allocated for them (tracemalloc, against the same
  relay idle) and what the process's resident size grew by. The relay lets 50 wait (the 51st gets 429); the
  bench raises that limit to `--waiting`.

Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from qjob_tui.cli import with_server_overrides
from qjob_tui.config import load_settings
from qjob_tui.runtime import Runtime, open_runtime
from qjob_tui.server import RelayServers
from qjob_tui.simulator import DEMO_TOKEN, Simulator, demo_dataset, serve_simulator

JOB = demo_dataset().job_named("nightly-backup").id
SETTLE_S = 0.3


class Arrivals:
    """The simulator's process, and the POSTs it reports (perf_counter on arrival), as they come."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.posts: list[float] = []
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            self.posts.append(float(line))


@dataclass
class Served:
    runtime: Runtime
    servers: RelayServers
    arrivals: Arrivals

    def posts(self) -> int:
        return len(self.arrivals.posts)

    def last_post_at(self) -> float:
        return self.arrivals.posts[-1]


@contextlib.asynccontextmanager
async def simulator_process() -> AsyncIterator[tuple[str, Arrivals]]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--simulator", stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    assert process.stdout is not None
    url = (await process.stdout.readline()).decode().strip()
    try:
        yield url, Arrivals(process)
    finally:
        process.terminate()
        await process.wait()


async def run_simulator() -> None:
    """The simulator with the demo jobs; prints its URL, then the perf_counter of each POST's arrival."""

    class Stamped(list[Any]):
        def append(self, item: Any) -> None:
            if item.method == "POST":
                print(time.perf_counter(), flush=True)
            super().append(item)

    sim = Simulator(token=DEMO_TOKEN)
    sim.requests = Stamped()
    async with serve_simulator(sim) as url:
        print(url, flush=True)
        await asyncio.Event().wait()


@contextlib.asynccontextmanager
async def served(directory: Path, timeout_s: float = 600) -> AsyncIterator[Served]:
    async with simulator_process() as (url, arrivals):
        config = {
            "qovery": {"api_url": url, "poll_interval_s": 3600},
            "jobs": [{"id": job.id, "name": job.name} for job in demo_dataset().jobs],
            "server": {"approve": ["stop"], "approve_timeout_s": timeout_s},
            "audit": {"path": str(directory / "audit.jsonl")},
        }
        path = directory / "qjob-tui.yaml"
        path.write_text(yaml.safe_dump(config), encoding="utf-8")
        settings = with_server_overrides(
            load_settings(str(path), env={"QOVERY_API_KEY": DEMO_TOKEN}), None, 0, 0
        )
        async with open_runtime(settings) as runtime, RelayServers(runtime) as servers:
            await servers.wait_started()
            yield Served(runtime, servers, arrivals)


async def until(condition: Callable[[], object]) -> None:
    async with asyncio.timeout(60):
        while not condition():  # noqa: ASYNC110 (other tasks' doings)
            await asyncio.sleep(0.001)


async def queue_latency(directory: Path, rounds: int) -> list[float]:
    """ms from `ApprovalQueue.answer` to the simulator's receipt of the stop."""
    async with served(directory) as s, httpx.AsyncClient(base_url=s.servers.rest_url, timeout=60) as http:
        queue = s.runtime.approvals
        queue.open()
        delays = []
        for _ in range(rounds + 3):  # the first three warm the paths up
            before = s.posts()
            call = asyncio.ensure_future(http.post(f"/v1/job/{JOB}/stop"))
            await until(lambda: queue.waiting)
            await asyncio.sleep(0.005)  # let the waiting request settle, as it would while a human reads
            answered_at = time.perf_counter()
            queue.answer(queue.waiting[0], approve=True)
            await until(lambda b=before: s.posts() > b)  # type: ignore[misc]
            delays.append((s.last_post_at() - answered_at) * 1000)
            await call
        return delays[3:]


async def dashboard_latency(directory: Path, rounds: int) -> list[float]:
    """ms from the key `y` posted to the dashboard to the simulator's receipt of the stop."""
    from textual import events

    from qjob_tui.tui.app import QJobApp
    from qjob_tui.tui.screens.approval import ApprovalScreen

    ApprovalScreen.clock = staticmethod(lambda: float("inf"))  # type: ignore[assignment]  # always armed
    async with served(directory) as s, httpx.AsyncClient(base_url=s.servers.rest_url, timeout=60) as http:
        app = QJobApp(s.runtime, rest_port=s.servers.rest_port, mcp_port=s.servers.mcp_port)
        async with app.run_test(size=(120, 40)) as pilot:
            delays = []
            for _ in range(rounds + 3):
                before = s.posts()
                call = asyncio.ensure_future(http.post(f"/v1/job/{JOB}/stop"))
                await until(lambda: isinstance(app.screen, ApprovalScreen) and app.screen.is_mounted)
                await pilot.pause(SETTLE_S)  # the operator reads the dialog before answering
                # As the terminal driver does: the key event posted to the app (Pilot.press would first wait
                # for the process to be idle, which is not the operator's time).
                pressed_at = time.perf_counter()
                app.post_message(events.Key("y", "y"))
                await until(lambda b=before: s.posts() > b)  # type: ignore[misc]
                delays.append((s.last_post_at() - pressed_at) * 1000)
                await call
                await until(lambda: not isinstance(app.screen, ApprovalScreen))
        return delays[3:]


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def memory(directory: Path, waiting: int) -> list[tuple[str, float, float]]:
    """(who waits, KiB allocated per waiting request, KiB of RSS per waiting request)."""
    rows = []
    async with served(directory) as s:
        queue = s.runtime.approvals
        queue.limit = max(queue.limit, waiting)  # the relay lets 50 wait; the bench looks at more
        queue.open()
        for kind in ("rest", "mcp"):
            url = s.servers.rest_url if kind == "rest" else s.servers.mcp_url
            await callers(url, kind, 2)  # warm: the code paths and the SDK's pools exist
            await until(lambda: len(queue.waiting) == 2)
            queue.close("bench")
            queue.open()
            await asyncio.sleep(0.2)
            tracemalloc.start()
            rss_before = rss_kib()
            base, _ = tracemalloc.get_traced_memory()
            process = await callers(url, kind, waiting)
            await until(lambda: len(queue.waiting) == waiting)
            await asyncio.sleep(0.2)
            used, _ = tracemalloc.get_traced_memory()
            rss_after = rss_kib()
            tracemalloc.stop()
            rows.append((kind, (used - base) / 1024 / waiting, (rss_after - rss_before) / waiting))
            queue.close("bench")
            queue.open()
            await process.wait()
    return rows


async def callers(url: str, kind: str, count: int) -> asyncio.subprocess.Process:
    """`count` callers of a gated stop, at once, from a process of their own."""
    return await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--callers", kind, url, str(count),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


async def run_callers(kind: str, url: str, count: int) -> None:
    if kind == "rest":
        limits = httpx.Limits(max_connections=count + 10)
        async with httpx.AsyncClient(base_url=url, timeout=600, limits=limits) as http:
            await asyncio.gather(
                *(http.post(f"/v1/job/{JOB}/stop") for _ in range(count)), return_exceptions=True
            )
        return
    from mcp import Client

    async with Client(url) as client:
        await asyncio.gather(
            *(client.call_tool("stop-job", {"jobId": JOB}) for _ in range(count)), return_exceptions=True
        )


def summary(delays: list[float]) -> str:
    ordered = sorted(delays)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return (
        f"median {statistics.median(ordered):.2f} ms, p95 {p95:.2f} ms, max {ordered[-1]:.2f} ms "
        f"({len(ordered)} rounds)"
    )


async def main(rounds: int, waiting: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        for name in ("queue", "dashboard", "memory"):
            (directory / name).mkdir()
        queue = await queue_latency(directory / "queue", rounds)
        print(f"y to Qovery, queue.answer:      {summary(queue)}")
        dash = await dashboard_latency(directory / "dashboard", rounds)
        print(f"y to Qovery, dashboard key y:   {summary(dash)}")
        for kind, allocated, resident in await memory(directory / "memory", waiting):
            print(
                f"{waiting} waiting {kind.upper():4}: {allocated:6.1f} KiB allocated each (tracemalloc), "
                f"{resident:6.1f} KiB of RSS each; {allocated * waiting / 1024:.2f} MiB in all"
            )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--simulator"]:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run_simulator())
        raise SystemExit(0)
    if sys.argv[1:2] == ["--callers"]:
        asyncio.run(run_callers(sys.argv[2], sys.argv[3], int(sys.argv[4])))
        raise SystemExit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--waiting", type=int, default=100)
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.waiting))
