"""The dashboard at 1,000 and 10,000 jobs against the simulator, beside a bare Textual table, in one run.

    python bench/dashboard.py [--rounds 3] [--duration 25] [--poll 5] [--style ids|full|environments]
    python bench/dashboard.py --quick        # one round, short steady runs: a look while developing
    python bench/dashboard.py --imports      # python -X importtime of the start-up: what dominates

This process serves the simulator (`big_dataset`: 1,000 jobs in 10 environments, 10,000 in 100) on
loopback, writes a config, and launches every case in a process of its own, the same way: `python
bench/dashboard.py --child ...`, headless at 120x40, timed from spawning the process (interpreter start and
imports included) to what the case's app paints.

- **bare N**: a bare Textual app with one N-row DataTable (five columns of short strings), its rows added
  before its first frame: the baseline. Its first paint is `rows`.
- **dashboard N/E**: qjob-tui's dashboard, built as the CLI builds it (`qjob_tui.cli` imported, garbage
  collections held, settings loaded from the file, `open_runtime`, `QJobApp`), with the config style given
  (`ids`: every job by its id alone, no name, no environment, the hardest case and what hand-written configs
  do; `full`: id, name and environment, as `qjob-tui init` writes; `environments`: the environments only).
  It reports `rows` (the first frame with job rows), each environment whose jobs all show a state, `states`
  (every job's state on screen) and `discovered` (the discovery worker done).

Start-up cases run `--rounds` times, interleaved (bare 1,000, dashboard 1,000, bare 10,000, dashboard
10,000), and print medians. Then each dashboard size runs once for `--duration` seconds: its resident
memory at the end, and the upstream status reads per refresh once discovery is over (reads less than
0.5 s apart are one refresh). Requests are stamped as they reach the simulator; "requests until every
state is known" counts those that arrived before the last state reached the board. Figures only; nothing is asserted.
The goals (issue 14) are printed beside the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_STATUS_READ = re.compile(r"^/environment/[^/]+/job/status$")
_JOB_READ = re.compile(r"^/job/[^/]+$")
SIZE = (120, 40)

# Issue 14's goals, checked against the figures below.
STATES_GOAL = 2.0  # 1,000 jobs without environment: states on screen / bare 1,000-row table's first paint
ROWS_GOAL = 1.3  # first job rows / bare 1,000-row table
ROWS_10K_GOAL = 2.0  # 10,000 jobs: first rows / bare 10,000-row table
REQUESTS_GOAL = 3  # requests until every state is known, per environment
MEMORY_10K_GOAL_MIB = 250


def report(name: str) -> None:
    """A milestone: its wall-clock time, and the CPU time this process has used so far (steadier on a busy
    machine: other work slows the wall clock, not the CPU a process needs)."""
    print(f"{name} {time.time():.6f} {time.process_time():.6f}", flush=True)


def on_first_frame(
    app: Any, has_rows: Callable[[], object], then: Callable[[], object] = lambda: None
) -> None:
    """Report `name` when the app renders its first frame with job rows: the moment the screen shows them.

    Textual renders every frame through `App._display` (headless too: only the terminal write is skipped);
    the bench wraps it on the instance, from outside, and changes nothing the app does."""
    display = app._display

    def watching(screen: Any, renderable: Any) -> None:
        display(screen, renderable)
        if renderable is not None and app._display is watching and has_rows():
            app._display = display
            report("rows")
            then()

    app._display = watching


async def until(condition: Callable[[], object], every_s: float) -> None:
    # Polls the app from outside, as a user's eyes would: the app is not changed for the bench.
    while not condition():  # noqa: ASYNC110 -- nothing to wait on but what the app shows
        await asyncio.sleep(every_s)


# -- the children ---------------------------------------------------------------------------------------


async def run_bare(rows: int) -> int:
    """A bare Textual app with one `rows`-row DataTable: the baseline a dashboard is compared with."""
    from textual.app import App, ComposeResult
    from textual.widgets import DataTable

    report("imported")

    class Bare(App[None]):
        def compose(self) -> ComposeResult:
            yield DataTable(id="table")

        def on_mount(self) -> None:
            table = self.query_one(DataTable)
            table.add_columns("JOB", "TYPE", "STATE", "DEPLOYED", "LAST ACTION")
            for i in range(rows):
                table.add_row(f"job-{i:05d}", "cron", "DEPLOYED", "3h ago", "")

    app = Bare()
    on_first_frame(app, lambda: app.query("#table") and app.query_one(DataTable).row_count)

    async def watch() -> None:
        await until(
            lambda: app.is_running and app.query("#table") and app.query_one(DataTable).row_count, 0.002
        )
        app.call_after_refresh(app.exit)

    watcher = asyncio.create_task(watch())
    await app.run_async(headless=True, size=SIZE)
    watcher.cancel()
    return 0


async def run_dashboard(
    config: str, jobs: int, environments: int, exit_when_discovered: bool, profile_to: str | None = None
) -> int:
    """The dashboard as the CLI starts it, headless; milestones on stdout as `<name> <time.time()>`."""
    import cProfile

    profiler = cProfile.Profile() if profile_to else None  # from the first frame to every state known
    from qjob_tui import cli  # noqa: F401 -- the entry point's imports, as a user pays them
    from qjob_tui.config import load_settings
    from qjob_tui.startup import hold_collections

    report("imported")
    hold_collections()  # as cli.main does before it loads the settings
    settings = load_settings(config)
    report("configured")
    from qjob_tui.runtime import open_runtime
    from qjob_tui.tui.app import QJobApp

    async with open_runtime(settings) as runtime:
        app = QJobApp(runtime)
        board = runtime.board

        # Which jobs show no state yet, kept from the board's own change notices (scanning 10,000 jobs every
        # few milliseconds would slow the app it measures). big_dataset's environments are equally large and
        # an environment's states arrive in one answer, so k/E of the jobs with a state is k environments.
        pending = {job.id for job in board.jobs.values() if not job.state}

        known: list[bool] = []

        def changed(job_ids: set[str]) -> None:
            for job_id in job_ids:
                job = board.get(job_id)
                if job is not None and job.state:
                    pending.discard(job_id)
                elif job is not None:
                    pending.add(job_id)
            if not pending and len(board.jobs) >= jobs and not known:
                known.append(True)
                report("known")  # the moment the last state reached the board; on screen at the next frame

        board.subscribe(changed)

        on_first_frame(
            app,
            lambda: app.screen_stack and app.query("#jobs") and app.table.row_count,
            then=profiler.enable if profiler is not None else lambda: None,
        )

        async def watch() -> None:
            shown = 0
            while pending or len(board.jobs) < jobs:
                if (now := (len(board.jobs) - len(pending)) * environments // jobs) > shown:
                    shown = now
                    app.call_after_refresh(report, f"environment-{shown}")
                await asyncio.sleep(0.002)
            # After the next frame, and make sure one comes: a board already idle (its last change drawn
            # before this loop saw it) would otherwise wait for whatever repaints next, or for nothing.
            app.call_after_refresh(report, f"environment-{environments}")
            app.call_after_refresh(report, "states")
            app.screen.refresh()
            if profiler is not None and profile_to is not None:
                profiler.disable()
                profiler.dump_stats(profile_to)
            await until(lambda: not any(w.name == "discover" and w.is_running for w in app.workers), 0.02)
            report("discovered")
            if exit_when_discovered:
                app.exit()

        watcher = asyncio.create_task(watch())
        await app.run_async(headless=True, size=SIZE)
        watcher.cancel()
        return app.return_code or 0


# -- the bench's side -----------------------------------------------------------------------------------


def stamped_simulator(**options: Any) -> Any:
    """A simulator that stamps each request with the time it arrived (for 'requests until ...')."""
    from qjob_tui.simulator import Simulator

    class Stamped(Simulator):
        def __init__(self) -> None:
            super().__init__(**options)
            self.arrivals: list[tuple[float, str]] = []
            inner = super().app

            async def stamp(scope: Any, receive: Any, send: Any) -> None:
                if scope["type"] == "http":
                    self.arrivals.append((time.time(), scope["path"]))
                await inner(scope, receive, send)

            self._stamped = stamp

        @property
        def app(self) -> Any:
            return self._stamped

    return Stamped()


def write_config(path: Path, dataset: Any, poll_s: float, style: str) -> None:
    """`ids`: each job by its id alone; `full`: id, name, environment (as `qjob-tui init`); `environments`."""
    lines = ["qovery:", f"  poll_interval_s: {poll_s}"]
    if style == "environments":
        lines += ["environments:", *(f"  - {env.id}" for env in dataset.environments)]
    elif style == "ids":
        lines += ["jobs:", *(f"  - id: {job.id}" for job in dataset.jobs)]
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


@dataclass
class Run:
    """One launch: its milestones (seconds since spawning), and what it cost at the simulator."""

    marks: dict[str, float]
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds the child had used at each mark
    arrivals: list[tuple[float, str]] = field(default_factory=list)  # (seconds since spawning, path)
    rss_mib: float | None = None
    exit_code: int | None = None

    def at(self, name: str) -> float | None:
        return self.marks.get(name)

    def requests_before(self, name: str) -> int | None:
        mark = self.marks.get(name)
        return None if mark is None else sum(1 for when, _ in self.arrivals if when <= mark)

    def paths_before(self, name: str, pattern: re.Pattern[str]) -> int:
        mark = self.marks.get(name, float("inf"))
        return sum(1 for when, path in self.arrivals if when <= mark and pattern.match(path))


async def launch(args: list[str], env: dict[str, str], *, duration_s: float | None, sim: Any = None) -> Run:
    """Spawn `python bench/dashboard.py --child ...`; collect its milestones until it exits (or `duration_s`)."""
    first = len(sim.arrivals) if sim is not None else 0
    launched = time.time()
    child = await asyncio.create_subprocess_exec(
        sys.executable, __file__, *args, env=env, stdout=asyncio.subprocess.PIPE
    )
    marks: dict[str, float] = {}
    cpu: dict[str, float] = {}

    async def read_marks() -> None:
        assert child.stdout is not None
        async for line in child.stdout:
            name, *values = line.decode().split()
            with contextlib.suppress(ValueError, IndexError):
                marks[name] = float(values[0]) - launched
                cpu[name] = float(values[1])

    reader = asyncio.create_task(read_marks())
    rss = None
    if duration_s is None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(child.wait(), 120)
        rss = None
    else:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(child.wait()), duration_s)
        rss = resident_mib(child.pid)
    if child.returncode is None:
        child.send_signal(signal.SIGTERM)
    code = await child.wait()
    await reader
    arrivals = [(when - launched, path) for when, path in sim.arrivals[first:]] if sim is not None else []
    return Run(marks, cpu, arrivals, rss, code)


@dataclass
class Case:
    jobs: int
    environments: int
    config: Path
    sim: Any
    url: str = ""

    @property
    def child(self) -> list[str]:
        """The dashboard child's arguments for this case."""
        return [
            "--child",
            str(self.config),
            "--jobs",
            str(self.jobs),
            "--environments",
            str(self.environments),
        ]


async def bench(args: argparse.Namespace) -> None:
    from qjob_tui.simulator import DEMO_TOKEN, big_dataset, serve_simulator

    sizes = [(1000, 10), (10000, 100)][: 1 if args.small else 2]
    with tempfile.TemporaryDirectory(prefix="qjob-bench-") as tmp:
        async with contextlib.AsyncExitStack() as stack:
            cases: list[Case] = []
            for jobs, environments in sizes:
                dataset = big_dataset(jobs, environments)
                sim = stamped_simulator(dataset=dataset, record=False)
                config = Path(tmp) / f"qjob-tui-{jobs}.yaml"
                write_config(config, dataset, args.poll, args.style)
                case = Case(jobs, environments, config, sim)
                case.url = await stack.enter_async_context(serve_simulator(sim))
                cases.append(case)

            def env_for(case: Case) -> dict[str, str]:
                return {
                    **os.environ,
                    "QOVERY_API_KEY": DEMO_TOKEN,
                    "QOVERY_API_URL": case.url,
                    "XDG_STATE_HOME": str(Path(tmp) / "state"),
                }

            bare: dict[int, list[Run]] = {case.jobs: [] for case in cases}
            ours: dict[int, list[Run]] = {case.jobs: [] for case in cases}
            for round_ in range(args.rounds):
                for case in cases:
                    bare[case.jobs].append(
                        await launch(["--child-bare", str(case.jobs)], env_for(case), duration_s=None)
                    )
                    child = [*case.child, "--exit-when-discovered"]
                    ours[case.jobs].append(await launch(child, env_for(case), duration_s=None, sim=case.sim))
                print(f"round {round_ + 1}/{args.rounds} done", file=sys.stderr, flush=True)
            steady: dict[int, Run] = {}
            for case in cases:
                steady[case.jobs] = await launch(
                    case.child, env_for(case), duration_s=args.duration, sim=case.sim
                )

    print_report(args, cases, bare, ours, steady)


def median(values: list[float | None]) -> float | None:
    known = [value for value in values if value is not None]
    return statistics.median(known) if known else None


def seconds(value: float | None) -> str:
    return f"{value:.2f} s" if value is not None else "never"


def verdict(value: float | None, goal: float) -> str:
    if value is None:
        return "NOT MEASURED"
    return "met" if value <= goal else "NOT MET"


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    return numerator / denominator if numerator is not None and denominator else None


@dataclass
class Figures:
    """The medians of one case's start-up runs."""

    runs: list[Run]

    def wall(self, mark: str) -> float | None:
        return median([run.at(mark) for run in self.runs])

    def cpu(self, mark: str) -> float | None:
        return median([run.cpu.get(mark) for run in self.runs])

    def shown(self, mark: str) -> str:
        wall, cpu = self.wall(mark), self.cpu(mark)
        return f"{seconds(wall)} [{cpu:.2f}]" if wall is not None and cpu is not None else seconds(wall)


def print_report(
    args: argparse.Namespace,
    cases: list[Case],
    bare: dict[int, list[Run]],
    ours: dict[int, list[Run]],
    steady: dict[int, Run],
) -> None:
    print(
        f"dashboard bench: config style {args.style!r}, poll {args.poll:g} s, medians of {args.rounds} round(s); "
        "wall clock from spawning the process [its CPU seconds]"
    )
    print(
        f"{'case':34} {'first rows':>15} {'states shown':>15} {'discovered':>11}  requests until states known"
    )
    for case in cases:
        theirs, mine = Figures(bare[case.jobs]), Figures(ours[case.jobs])
        print(f"{f'bare Textual table, {case.jobs:,} rows':34} {theirs.shown('rows'):>15}")
        requests = median([run.requests_before("known") for run in mine.runs])
        probes = median([run.paths_before("known", _JOB_READ) for run in mine.runs])
        asked = (
            f"{requests:g} ({probes:g} GET /job/{{id}})"
            if requests is not None and probes is not None
            else "n/a"
        )
        print(
            f"{f'dashboard, {case.jobs:,} jobs / {case.environments} envs':34} {mine.shown('rows'):>15} "
            f"{mine.shown('states'):>15} {seconds(mine.wall('discovered')):>11}  {asked}"
        )
        per_env = [mine.wall(f"environment-{k}") for k in range(1, case.environments + 1)]
        shown = [f"{value:.2f}" for value in per_env if value is not None]
        if shown and case.environments <= 10:
            print(f"{'':34} states shown per environment as each answers: {' '.join(shown)} s")
        elif shown:
            print(
                f"{'':34} states of the first / middle / last environment shown: "
                f"{shown[0]} / {shown[len(shown) // 2]} / {shown[-1]} s"
            )
    print()
    small, big = cases[0], cases[-1]
    bare_small, mine_small = Figures(bare[small.jobs]), Figures(ours[small.jobs])
    bare_big, mine_big = Figures(bare[big.jobs]), Figures(ours[big.jobs])
    requests = median([run.requests_before("known") for run in mine_small.runs])
    goals: list[tuple[str, float | None, float | None, float, str]] = [
        (
            f"{small.jobs:,} jobs: states shown / bare table's first paint",
            ratio(mine_small.wall("states"), bare_small.wall("rows")),
            ratio(mine_small.cpu("states"), bare_small.cpu("rows")),
            STATES_GOAL,
            "x",
        ),
        (
            f"{small.jobs:,} jobs: first rows / bare table",
            ratio(mine_small.wall("rows"), bare_small.wall("rows")),
            ratio(mine_small.cpu("rows"), bare_small.cpu("rows")),
            ROWS_GOAL,
            "x",
        ),
        (
            f"{small.jobs:,} jobs: requests until states known / env",
            requests / small.environments if requests is not None else None,
            None,
            REQUESTS_GOAL,
            "",
        ),
    ]
    if big is not small:
        goals.append(
            (
                f"{big.jobs:,} jobs: first rows / bare table",
                ratio(mine_big.wall("rows"), bare_big.wall("rows")),
                ratio(mine_big.cpu("rows"), bare_big.cpu("rows")),
                ROWS_10K_GOAL,
                "x",
            )
        )
        goals.append(
            (
                f"{big.jobs:,} jobs: resident memory after {args.duration:g} s",
                steady[big.jobs].rss_mib,
                None,
                MEMORY_10K_GOAL_MIB,
                " MiB",
            )
        )
    print(f"{'goal (issue 14)':50} {'measured':>10} {'in CPU':>8}  {'target':9}")
    for what, value, by_cpu, goal, unit in goals:
        measured = f"{value:.2f}{unit}" if value is not None else "n/a"
        cpu = f"{by_cpu:.2f}{unit}" if by_cpu is not None else ""
        print(f"{what:50} {measured:>10} {cpu:>8}  <= {goal:<6g} {verdict(value, goal)}")
    for case in cases:
        run = steady[case.jobs]
        settled = run.at("discovered")
        reads = [when for when, path in run.arrivals if _STATUS_READ.match(path)]
        after = refreshes([when for when in reads if settled is not None and when > settled + 0.2])
        what = f"{case.jobs:,} jobs: status reads per refresh, settled"
        if after:
            met = "met" if set(after) == {case.environments} else "NOT MET"
            print(
                f"{what:50} {sum(after) / len(after):>10.1f} {'':8}  == {case.environments:<6} {met} "
                f"(one per environment; {len(after)} refreshes in {args.duration:g} s)"
            )
        else:
            print(f"{what:50} {'none':>10}  (discovery took the whole run: raise --duration)")
        memory = f"{run.rss_mib:.0f} MiB" if run.rss_mib else "n/a"
        print(
            f"{f'{case.jobs:,} jobs: resident memory; exit code on SIGTERM':50} {memory:>10} {'':8}  exit {run.exit_code}"
        )


def profile_imports() -> int:
    """`python -X importtime` of the dashboard's start-up imports (as the bench's child does them): the
    modules with the most self time first."""
    import subprocess

    code = "from qjob_tui import cli; from qjob_tui.runtime import open_runtime; from qjob_tui.tui.app import QJobApp"
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, check=True
    )
    rows = []
    for line in out.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[0].startswith("import time:") and parts[1].strip().isdigit():
            self_us = int(parts[0].removeprefix("import time:").strip())
            rows.append((self_us, int(parts[1]), parts[2].strip()))
    total = sum(self_us for self_us, _, _ in rows)
    print(f"the dashboard's start-up imports: {total / 1000:.0f} ms (self times) in {len(rows)} modules")
    by_package: dict[str, int] = {}
    for self_us, _, name in rows:
        by_package[name.split(".")[0]] = by_package.get(name.split(".")[0], 0) + self_us
    print("by top-level package (self times):")
    for name, self_us in sorted(by_package.items(), key=lambda item: -item[1])[:15]:
        print(f"  {self_us / 1000:7.1f} ms  {100 * self_us / total:4.1f} %  {name}")
    cumulative = {name: cumulative_us for _, cumulative_us, name in rows}
    print("what the big pieces cost, with everything they import first:")
    for name, what in (
        ("textual.app", "Textual (the bare table pays it too)"),
        ("qjob_tui.config", "the config's model (pydantic, yaml)"),
        ("qjob_tui.qovery", "the Qovery client and its HTTP stack (httpx, aiohttp)"),
        ("qjob_tui.tui.app", "the dashboard's own widgets"),
    ):
        if name in cumulative:
            print(f"  {cumulative[name] / 1000:7.1f} ms  {name}: {what}")
    print("the modules with the most self time:")
    for self_us, cumulative_us, name in sorted(rows, reverse=True)[:20]:
        print(f"  {self_us / 1000:7.1f} ms self {cumulative_us / 1000:8.1f} ms with its imports  {name}")
    return 0


async def profile_startup(args: argparse.Namespace) -> None:
    """One dashboard start-up (1,000 jobs, the config style given) under cProfile, from its first frame with
    rows to every state on screen (what comes before the first frame is `--imports`'s); prints the functions
    with the most time, cumulative and own."""
    from qjob_tui.simulator import DEMO_TOKEN, big_dataset, serve_simulator

    dataset = big_dataset(args.jobs, args.environments)
    sim = stamped_simulator(dataset=dataset, record=False)
    with tempfile.TemporaryDirectory(prefix="qjob-bench-") as tmp:
        config, stats = Path(tmp) / "qjob-tui.yaml", Path(tmp) / "startup.prof"
        write_config(config, dataset, args.poll, args.style)
        async with serve_simulator(sim) as url:
            env = {**os.environ, "QOVERY_API_KEY": DEMO_TOKEN, "QOVERY_API_URL": url}
            env["XDG_STATE_HOME"] = str(Path(tmp) / "state")
            child = [
                "--child",
                str(config),
                "--jobs",
                str(args.jobs),
                "--environments",
                str(args.environments),
            ]
            run = await launch(
                ["--profile-to", str(stats), *child, "--exit-when-discovered"], env, duration_s=None
            )
        import pstats

        print(
            f"dashboard start-up under cProfile, {args.jobs:,} jobs ({args.style}): rows {seconds(run.at('rows'))}, "
            f"states {seconds(run.at('states'))} (profiling slows it down; compare shares, not times)"
        )
        for order in ("cumulative", "tottime"):
            pstats.Stats(str(stats)).sort_stats(order).print_stats(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=3, help="start-up rounds, interleaved (default 3)")
    parser.add_argument(
        "--duration", type=float, default=25.0, help="seconds of each steady run (default 25)"
    )
    parser.add_argument("--poll", type=float, default=5.0, help="poll_interval_s of the config (default 5)")
    parser.add_argument(
        "--style", choices=["ids", "full", "environments"], default="ids", help="config style"
    )
    parser.add_argument("--quick", action="store_true", help="one round, 12 s steady runs")
    parser.add_argument("--small", action="store_true", help="the 1,000-job case only (while developing)")
    parser.add_argument(
        "--imports", action="store_true", help="python -X importtime of the start-up, and stop"
    )
    parser.add_argument(
        "--profile", action="store_true", help="cProfile one start-up to every state, and stop"
    )
    parser.add_argument("--profile-to", metavar="FILE", help=argparse.SUPPRESS)
    parser.add_argument("--child", metavar="CONFIG", help=argparse.SUPPRESS)
    parser.add_argument("--child-bare", type=int, metavar="ROWS", help=argparse.SUPPRESS)
    parser.add_argument("--jobs", type=int, default=1000, help=argparse.SUPPRESS)
    parser.add_argument("--environments", type=int, default=10, help=argparse.SUPPRESS)
    parser.add_argument("--exit-when-discovered", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_bare:
        sys.exit(asyncio.run(run_bare(args.child_bare)))
    if args.child:
        child = run_dashboard(
            args.child, args.jobs, args.environments, args.exit_when_discovered, args.profile_to
        )
        sys.exit(asyncio.run(child))
    if args.profile:
        asyncio.run(profile_startup(args))
        return
    if args.imports:
        sys.exit(profile_imports())
    if args.quick:
        args.rounds, args.duration = 1, 12.0
    asyncio.run(bench(args))


if __name__ == "__main__":
    main()
