"""The dashboard with 1,000 configured jobs in 10 environments, against the simulator: start-up, memory, reads.

    python bench/dashboard.py [--jobs 1000] [--environments 10] [--duration 30] [--poll 10] [--by-environment]

This process serves the simulator (`big_dataset`) on loopback and writes a config as `qjob-tui init` does
(every job with its id, name and environment). It launches the dashboard in a process of its own, headless,
the way the CLI builds it (settings from the file, `open_runtime`, `QJobApp`), and prints:

- launch to the first screen with job rows: from spawning the process to the first frame the app paints
  with rows in the table (interpreter start and imports included); then to every job's state on screen;
- resident memory of the dashboard's process after `--duration` seconds;
- upstream requests per refresh once settled: the status reads the simulator receives, grouped into
  refreshes (a burst of reads is one refresh), after discovery is over.

Figures only; nothing is asserted. Target on a 2-core machine: <= 1.0 s, <= 150 MiB, one read per environment.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

_STATUS_READ = re.compile(r"^/environment/[^/]+/job/status$")
_JOB_READ = re.compile(r"^/job/[^/]+$")


# -- the dashboard's side (run with --child) --------------------------------------------------------


async def run_dashboard(config: str, jobs: int, size: tuple[int, int]) -> int:
    """Start the dashboard as the CLI does, headless; report milestones on stdout as `<name> <time.time()>`."""

    def report(name: str) -> None:
        print(f"{name} {time.time():.6f}", flush=True)

    from qjob_tui.config import load_settings
    from qjob_tui.runtime import open_runtime
    from qjob_tui.tui.app import QJobApp

    report("imported")
    settings = load_settings(config)
    report("configured")
    async with open_runtime(settings) as runtime:
        app = QJobApp(runtime)

        async def until(condition: Callable[[], object], every_s: float) -> None:
            # Polls the app from outside, as a user's eyes would: the app is not changed for the bench.
            while not condition():  # noqa: ASYNC110 -- nothing to wait on but what the app shows
                await asyncio.sleep(every_s)

        async def watch() -> None:
            await until(
                lambda: app.is_running and app.screen_stack and app.query("#jobs") and app.table.row_count,
                0.002,
            )
            app.call_after_refresh(report, "rows")
            board = runtime.board
            await until(
                lambda: len(board.jobs) >= jobs and all(job.state for job in board.jobs.values()), 0.01
            )
            app.call_after_refresh(report, "states")
            await until(lambda: not any(w.name == "discover" and w.is_running for w in app.workers), 0.05)
            report("discovered")

        watcher = asyncio.create_task(watch())
        await app.run_async(headless=True, size=size)
        watcher.cancel()
        return app.return_code or 0


# -- the bench's side ------------------------------------------------------------------------------


class RequestClock:
    """When each request reached the simulator (by path), from sampling `sim.requests` every few ms."""

    def __init__(self, sim: Any) -> None:
        self.sim = sim
        self.seen: list[tuple[float, str]] = []

    async def run(self) -> None:
        while True:
            now, known = time.time(), len(self.seen)
            self.seen.extend((now, request.path) for request in self.sim.requests[known:])
            await asyncio.sleep(0.01)


def write_config(path: Path, dataset: Any, poll_s: float, by_environment: bool = False) -> None:
    """Every job with its id, name and environment (as `qjob-tui init` writes it), or only the environments."""
    lines = ["qovery:", f"  poll_interval_s: {poll_s}"]
    if by_environment:
        lines += ["environments:", *(f"  - {env.id}" for env in dataset.environments)]
    else:
        lines.append("jobs:")
        for job in dataset.jobs:
            lines += [f"  - id: {job.id}", f"    name: {job.name}", f"    environment: {job.environment_id}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def resident_mib(pid: int) -> float | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
    return int(match.group(1)) / 1024 if match else None


def refreshes(reads: list[float], gap_s: float = 0.5) -> list[int]:
    """Group status reads into refreshes: reads less than `gap_s` apart belong to the same one."""
    groups: list[int] = []
    last = None
    for when in sorted(reads):
        if last is None or when - last > gap_s:
            groups.append(0)
        groups[-1] += 1
        last = when
    return groups


async def bench(args: argparse.Namespace) -> None:
    from qjob_tui.simulator import DEMO_TOKEN, Simulator, big_dataset, serve_simulator

    dataset = big_dataset(args.jobs, args.environments)
    sim = Simulator(dataset=dataset)
    clock = RequestClock(sim)
    sampler = asyncio.create_task(clock.run())
    with tempfile.TemporaryDirectory(prefix="qjob-bench-") as tmp:
        config = Path(tmp) / "qjob-tui.yaml"
        write_config(config, dataset, args.poll, args.by_environment)
        async with serve_simulator(sim) as url:
            env = {
                **os.environ,
                "QOVERY_API_KEY": DEMO_TOKEN,
                "QOVERY_API_URL": url,
                "XDG_STATE_HOME": str(Path(tmp) / "state"),
            }
            launched = time.time()
            child = await asyncio.create_subprocess_exec(
                sys.executable,
                __file__,
                "--child",
                str(config),
                "--jobs",
                str(args.jobs),
                env=env,
                stdout=asyncio.subprocess.PIPE,
            )
            marks: dict[str, float] = {}

            async def read_marks() -> None:
                assert child.stdout is not None
                async for line in child.stdout:
                    name, _, value = line.decode().strip().partition(" ")
                    with contextlib.suppress(ValueError):
                        marks[name] = float(value)

            reader = asyncio.create_task(read_marks())
            await asyncio.sleep(args.duration)
            rss = resident_mib(child.pid)
            child.send_signal(signal.SIGTERM)
            code = await child.wait()
            await reader
            sampler.cancel()

    settled = marks.get("discovered", launched)
    status_reads = [when for when, path in clock.seen if _STATUS_READ.match(path)]
    after = refreshes([when for when in status_reads if when > settled + 0.2])
    job_reads = sum(1 for _, path in clock.seen if _JOB_READ.match(path))

    def since_launch(name: str) -> str:
        return f"{marks[name] - launched:.2f} s" if name in marks else "never"

    how = "environments configured" if args.by_environment else "every job configured"
    print(f"dashboard: {args.jobs} jobs in {args.environments} environments ({how}), poll {args.poll} s")
    print(f"  launch -> imports done                 {since_launch('imported')}")
    print(f"  launch -> config read                  {since_launch('configured')}")
    print(f"  launch -> first screen with job rows   {since_launch('rows')}")
    print(f"  launch -> every job's state on screen  {since_launch('states')}")
    print(
        f"  launch -> discovery done               {since_launch('discovered')}  ({job_reads} GET /job/{{id}})"
    )
    print(
        f"  resident memory after {args.duration:g} s           {rss:.0f} MiB"
        if rss
        else "  resident memory: n/a"
    )
    if after:
        per = sorted(set(after))
        print(
            f"  upstream reads per refresh, settled    {sum(after) / len(after):.1f} "
            f"(over {len(after)} refreshes; sizes {per}; environments: {args.environments})"
        )
    else:
        print("  upstream reads per refresh, settled    no refresh after discovery (raise --duration)")
    print(f"  exit code after SIGTERM                {code}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--environments", type=int, default=10)
    parser.add_argument(
        "--duration", type=float, default=30.0, help="seconds the dashboard runs (default 30)"
    )
    parser.add_argument("--poll", type=float, default=10.0, help="poll_interval_s of the config (default 10)")
    parser.add_argument(
        "--by-environment",
        action="store_true",
        help="configure the environments instead of listing every job (the jobs come from discovery)",
    )
    parser.add_argument("--child", metavar="CONFIG", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        sys.exit(asyncio.run(run_dashboard(args.child, args.jobs, (120, 40))))
    asyncio.run(bench(args))


if __name__ == "__main__":
    main()
