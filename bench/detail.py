"""The job's detail screen against the simulator: from `Enter` to the first log line on screen.

    python bench/detail.py [--iterations 15] [--latency-ms 0 20] [--job nightly-backup]

This process serves the simulator (the demo's jobs; every answer waits `--latency-ms`, as a real API's round
trip would) on loopback, builds the dashboard as the CLI does (settings from a config file, `open_runtime`,
`QJobApp`), runs it headless in the same loop, and measures, alternately and with the read cache emptied
before each:

- baseline: the core read on its own, `runtime.reads.logs(job)` (the job's runs, then the newest run's log:
  the two requests any face needs before it can show a line);
- detail: from the `Enter` key reaching the app to the frame that first shows a line of that log on the
  detail screen (its reads, its layout and the paint included); then Escape, back to the jobs.

It prints the medians and the 90th percentiles, and two ratios of the medians: the first line against the
reads it cannot do without, and against the screen's own first frame (Enter to any frame of the screen: what
Textual takes to build and paint it, before any answer). Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qjob_tui.tui.app import QJobApp


async def until(condition: Callable[[], object], every_s: float = 0.001, timeout_s: float = 30.0) -> None:
    deadline = time.perf_counter() + timeout_s
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("the app never got there")
        await asyncio.sleep(every_s)


async def measure(
    latency_s: float, iterations: int, job_name: str
) -> tuple[list[float], list[float], list[float]]:
    from qjob_tui.config import load_settings
    from qjob_tui.runtime import open_runtime
    from qjob_tui.simulator import DEMO_TOKEN, Simulator, demo_dataset, serve_simulator
    from qjob_tui.tui.app import QJobApp

    dataset = demo_dataset()
    job = dataset.job_named(job_name).id
    sim = Simulator(dataset=dataset, latency_s=latency_s, record=False)
    baseline: list[float] = []
    frame: list[float] = []
    detail: list[float] = []
    with tempfile.TemporaryDirectory(prefix="qjob-bench-") as tmp:
        config = Path(tmp) / "qjob-tui.yaml"
        lines = ["qovery:", "  poll_interval_s: 3600", "environments:"]
        config.write_text("\n".join(lines + [f"  - {env.id}" for env in dataset.environments]) + "\n")
        async with serve_simulator(sim) as url:
            env = {
                "QOVERY_API_KEY": DEMO_TOKEN,
                "QOVERY_API_URL": url,
                "XDG_STATE_HOME": str(Path(tmp) / "state"),
            }
            async with open_runtime(load_settings(str(config), env=env)) as runtime:
                app = QJobApp(runtime)
                running = asyncio.create_task(app.run_async(headless=True, size=(120, 40)))
                board = runtime.board
                await until(lambda: app.is_running and app.screen_stack and app.query("#jobs"), 0.005)
                await until(lambda: job in board.jobs and app.table.row_count == len(board.jobs), 0.005)
                app.table.move_cursor(row=app.table.get_row_index(job), animate=False)
                reads = runtime.reads

                def forget() -> None:
                    reads.cache.forget(lambda key: True)

                for _ in range(iterations):
                    forget()
                    started = time.perf_counter()
                    await reads.logs(job)
                    baseline.append(time.perf_counter() - started)

                    forget()
                    first_frame, first_line = await enter_to_first_line(app)
                    frame.append(first_frame)
                    detail.append(first_line)
                    app.screen.dismiss()
                    await until(lambda: len(app.screen_stack) == 1)
                    await asyncio.sleep(0.1)  # what the screen had in flight ends before the next round
                app.exit()
                await running
    return baseline, frame, detail


async def enter_to_first_line(app: QJobApp) -> tuple[float, float]:
    """Seconds from Enter reaching the app to the screen's first frame, and to the first frame that shows a
    line of the log."""
    from textual import events

    from qjob_tui.tui.screens.job_detail import JobDetailScreen

    painted: dict[str, float] = {}
    key = events.Key("enter", "\r")
    key.set_sender(app)
    started = time.perf_counter()
    app.post_message(key)

    def detail() -> JobDetailScreen | None:
        screen = app.screen
        return screen if isinstance(screen, JobDetailScreen) and screen.query("#run-log") else None

    def paint(name: str) -> Callable[[], None]:
        return lambda: painted.setdefault(name, time.perf_counter())

    await until(lambda: detail() is not None)
    app.call_after_refresh(paint("frame"))
    await until(lambda: (screen := detail()) is not None and bool(screen.log_view.lines))
    app.call_after_refresh(paint("line"))
    await until(lambda: "line" in painted and "frame" in painted)
    return painted["frame"] - started, painted["line"] - started


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=15)
    parser.add_argument("--latency-ms", type=float, nargs="+", default=[0.0, 20.0])
    parser.add_argument("--job", default="nightly-backup")
    args = parser.parse_args()
    print(
        f"detail screen: Enter to the first log line of {args.job}, {args.iterations} times each (medians, p90)"
    )
    print(
        "  latency   reads.logs alone    Enter to the screen's frame   Enter to the first line   line/reads  line/frame"
    )
    for latency_ms in args.latency_ms:
        baseline, frame, detail = asyncio.run(measure(latency_ms / 1000, args.iterations, args.job))
        base, first_frame, line = (statistics.median(values) * 1000 for values in (baseline, frame, detail))

        def shown(median: float, values: list[float]) -> str:
            return f"{median:6.1f} ms (p90 {p90(values) * 1000:5.1f})"

        print(
            f"  {latency_ms:5.0f} ms   {shown(base, baseline)}   {shown(first_frame, frame)}"
            f"       {shown(line, detail)}   {line / base:7.2f}  {line / first_frame:7.2f}"
        )


if __name__ == "__main__":
    main()
