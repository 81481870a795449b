"""What one `qjob-tui deploy JOB --watch` costs Qovery: requests per minute of a run, counted at the simulator.

    python bench/watch.py [--run-s 60] [--poll 10] [--long-minutes 30]

This process serves one simulator per way of following a run (each run lasts `--run-s` seconds: queued half,
deploying half) and writes a config as `qjob-tui init` does (the demo's jobs with their names and
environments, `poll_interval_s: --poll`). Side by side, on the real clock:

- `qjob-tui deploy nightly-backup --watch --json`, a real process: what the one-shot command costs;
- the same with `--logs`: the run's deployment log as well (the core's follower);
- the board's poller (`runtime.lifecycle`, what the dashboard and the relay run) following the same deploy
  until the board shows it settled: what `--watch` would cost had it used the lifecycle instead of
  reading the one job's Status.

Then `RunWatch` alone on a `--long-minutes` run, in the simulator's virtual time (its waits move the clock),
for the cost of a long run. Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import re
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import yaml

from qjob_tui.config import JobEntry, load_settings
from qjob_tui.jobs import JobBoard, is_settled
from qjob_tui.oneshot.watch import RunWatch, Schedule
from qjob_tui.pipeline import ActionPipeline
from qjob_tui.qovery import QoveryClient
from qjob_tui.reads import JobReads, ReadCache
from qjob_tui.runtime import open_runtime
from qjob_tui.simulator import (
    DEMO_TOKEN,
    ManualClock,
    RecordedRequest,
    Simulator,
    demo_dataset,
    serve_simulator,
)

JOB_NAME = "nightly-backup"
KINDS = (
    ("job status", re.compile(r"^/job/[^/]+/status$")),
    ("environment statuses", re.compile(r"^/environment/[^/]+/job/status$")),
    ("runs", re.compile(r"^/job/[^/]+/deploymentHistoryV2$")),
    ("logs", re.compile(r"^/environment/[^/]+/logs$")),
    ("discovery", re.compile(r"^/(job/[^/]+|environment/[^/]+/job)$")),
)


def kind_of(request: RecordedRequest) -> str:
    return next((name for name, path in KINDS if path.match(request.path)), request.path)


def reads(sim: Simulator) -> list[RecordedRequest]:
    return [request for request in sim.requests if request.method == "GET"]


def write_config(directory: Path, api_url: str, poll_s: float) -> Path:
    dataset = demo_dataset()
    config = {
        "qovery": {"api_url": api_url, "poll_interval_s": poll_s},
        "jobs": [{"id": job.id, "name": job.name, "environment": job.environment_id} for job in dataset.jobs],
        "audit": {"path": str(directory / "audit.jsonl")},
    }
    path = directory / "qjob-tui.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@contextlib.asynccontextmanager
async def served(run_s: float) -> AsyncIterator[tuple[Simulator, str]]:
    sim = Simulator(token=DEMO_TOKEN, phase_s=run_s / 2)
    async with serve_simulator(sim) as url:
        yield sim, url


async def one_shot(directory: Path, run_s: float, poll_s: float, *extra: str) -> tuple[Simulator, float]:
    """The real command watching one run; the simulator that counted, and how long the command took."""
    async with served(run_s) as (sim, url):
        workdir = Path(tempfile.mkdtemp(dir=directory))
        config = write_config(workdir, url, poll_s)
        env = {"QOVERY_API_KEY": DEMO_TOKEN, "HOME": str(workdir), "PATH": "/usr/bin:/bin"}
        command = Path(sys.executable).with_name("qjob-tui")
        started = time.perf_counter()
        process = await asyncio.create_subprocess_exec(
            str(command), "deploy", JOB_NAME, "--watch", "--json", "--config", str(config), *extra,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
            cwd=workdir, env=env,
        )  # fmt: skip
        _, stderr = await process.communicate()
        if process.returncode != 0:
            raise SystemExit(
                f"qjob-tui deploy --watch {' '.join(extra)} exited {process.returncode}: {stderr!r}"
            )
        return sim, time.perf_counter() - started


async def board_poller(directory: Path, run_s: float, poll_s: float) -> tuple[Simulator, float]:
    """The lifecycle (discover, then poll: the board's fast refresh of a job acted on) following one deploy."""
    async with served(run_s) as (sim, url):
        workdir = Path(tempfile.mkdtemp(dir=directory))
        config = write_config(workdir, url, poll_s)
        settings = load_settings(str(config), env={"QOVERY_API_KEY": DEMO_TOKEN})
        job = demo_dataset().job_named(JOB_NAME).id
        started = time.perf_counter()
        async with open_runtime(settings) as runtime, runtime.lifecycle:
            await runtime.lifecycle.discovered()
            outcome = await runtime.pipeline.perform("deploy", job, source="cli")
            assert outcome.status == 202, outcome.summary
            info = runtime.board.get(job)
            assert info is not None
            seen_unsettled = False
            while not (seen_unsettled and is_settled(info.state)):
                seen_unsettled = seen_unsettled or not is_settled(info.state)
                await asyncio.sleep(0.05)
        return sim, time.perf_counter() - started


async def long_run(minutes: int, poll_s: float) -> tuple[int, collections.Counter[str]]:
    """RunWatch on a run of `minutes`, in the simulator's virtual time: the looks it takes, by kind."""
    clock = ManualClock()
    sim = Simulator(token=DEMO_TOKEN, clock=clock, phase_s=minutes * 30)
    job = demo_dataset().job_named(JOB_NAME).id

    async def advance(seconds: float) -> None:
        clock.advance(seconds)

    async with serve_simulator(sim) as url, QoveryClient(url, DEMO_TOKEN) as client:
        board = JobBoard([JobEntry(id=job, name=JOB_NAME)])
        pipeline = ActionPipeline(client, board, None)
        outcome = await pipeline.perform("deploy", job, source="cli")
        assert isinstance(outcome.data, dict)
        watch = RunWatch(
            JobReads(client, board, pipeline.allowed_job, cache=ReadCache(clock=clock)),
            job,
            outcome.data,
            schedule=Schedule(every_s=poll_s),
            on_state=lambda state: None,
            on_note=lambda note: None,
            clock=clock,
            sleep=advance,
        )
        ending = await watch.until_settled(timeout_s=minutes * 60 + 600)
        assert ending.ok, ending
    return watch.looks, collections.Counter(kind_of(request) for request in reads(sim))


def row(label: str, sim: Simulator, elapsed_s: float, run_s: float) -> str:
    got = reads(sim)
    kinds = collections.Counter(kind_of(request) for request in got)
    detail = ", ".join(f"{count} {kind}" for kind, count in kinds.most_common())
    return f"{label:<44} {len(got):>5} {len(got) / (run_s / 60):>8.1f}   {elapsed_s:>5.1f} s   {detail}"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-s", type=float, default=60.0, help="how long each run lasts (default 60)")
    parser.add_argument("--poll", type=float, default=10.0, help="poll_interval_s of the config (default 10)")
    parser.add_argument("--long-minutes", type=int, default=30, help="the virtual-time run (default 30)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        base = Path(directory)
        watched, logged, polled = await asyncio.gather(
            one_shot(base, args.run_s, args.poll),
            one_shot(base, args.run_s, args.poll, "--logs"),
            board_poller(base, args.run_s, args.poll),
        )
    looks, kinds = await long_run(args.long_minutes, args.poll)
    print(
        f"one run of {args.run_s:g} s of the demo's {JOB_NAME}; poll_interval_s {args.poll:g}; 4 environments"
    )
    print(f"{'how the run is followed':<44} {'reads':>5} {'per min':>8}   {'took':>7}   of which")
    print(row("qjob-tui deploy --watch (this command)", *watched, args.run_s))
    print(row("qjob-tui deploy --watch --logs", *logged, args.run_s))
    print(row("the board's poller (runtime.lifecycle)", *polled, args.run_s))
    per_minute = looks / args.long_minutes
    print(
        f"RunWatch on a {args.long_minutes}-minute run (virtual time): {sum(kinds.values())} reads "
        f"({per_minute:.1f} a minute), {dict(kinds)}"
    )


if __name__ == "__main__":
    asyncio.run(main())
