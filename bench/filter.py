"""The filter's input-to-screen latency on 1,000 jobs, beside a bare Textual filter, in one run.

    python bench/filter.py [--rounds 3] [--jobs 1000] [--text job-0042]

This process serves the simulator (`big_dataset`: `--jobs` jobs in 10 environments) on loopback, builds the
dashboard as the CLI does (settings from a config file, `open_runtime`, `QJobApp`), runs it headless at
120x40 in the same loop, opens the filter with `/` and types `--text` one key at a time, then deletes it
with as many backspaces (the costly direction: the rows come back). Each key is posted as the terminal's
driver posts it; its latency runs from there to the end of the first frame that shows the table filtered
by the text so far (the key through the key-ordering, the input, the table's rebuild of its first
screenful, the layout and the paint).

The baseline, measured the same way in the same run: a bare Textual app with an `Input` and a `DataTable` of
the same rows (five short columns), which filters by clearing the table and adding the matching rows on
each `Input.Changed`: what the simplest filter costs in this Textual on this machine. Rounds alternate the
two. It prints the medians, the 90th percentiles and the worst key, and the ratio of the medians. The goal
(issue 13): under 50 ms a key. Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

GOAL_MS = 50.0
SIZE = (120, 40)


async def until(condition: Callable[[], object], every_s: float = 0.0005, timeout_s: float = 30.0) -> None:
    deadline = time.perf_counter() + timeout_s
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("the app never got there")
        await asyncio.sleep(every_s)


def key_event(app: Any, character: str) -> Any:
    """The Key event the terminal's driver would post for `character` (backspace as \\x7f)."""
    from textual import events

    if character == "\x7f":
        event = events.Key("backspace", "\x7f")
    elif character == "/":
        event = events.Key("slash", "/")
    elif character == "-":
        event = events.Key("minus", "-")
    else:
        event = events.Key(character, character)
    event.set_sender(app)
    return event


CPU: list[
    float
] = []  # this process's CPU seconds per key, beside the wall clock (steadier on a shared machine)


async def typed(app: Any, keys: Sequence[str], shown: Callable[[str], bool]) -> list[float]:
    """Post each key; its latency ends with the first frame Textual paints once `shown(text so far)` holds
    (Textual paints every frame through `App._display`, headless too: the bench wraps it on the instance),
    or, when the key changes nothing on screen (`j` then `o` of `job-0042`: the same rows), once it holds."""
    latencies = []
    text = ""
    display = app._display
    painted: list[float] = []
    expected = ""

    def watching(screen: Any, renderable: Any) -> None:
        display(screen, renderable)
        if renderable is not None and not painted and shown(expected):
            painted.append(time.perf_counter())

    app._display = watching
    try:
        for character in keys:
            text = text[:-1] if character == "\x7f" else text + character
            painted.clear()
            expected = text
            started, cpu = time.perf_counter(), time.process_time()
            app.post_message(key_event(app, character))

            def applied(expected: str = expected) -> bool:
                return shown(expected)

            await until(applied, every_s=0.002)
            held = time.perf_counter()

            def drawn(held: float = held) -> bool:  # or no frame comes: nothing on screen changed
                return bool(painted) or time.perf_counter() - held > 0.25

            await until(drawn, every_s=0.002)
            latencies.append((painted[0] if painted else held) - started)
            CPU.append(time.process_time() - cpu if painted else 0.0)
    finally:
        app._display = display
    return latencies


def the_keys(text: str) -> list[str]:
    return list(text) + ["\x7f"] * len(text)


# -- the dashboard ----------------------------------------------------------------------------------------


async def dashboard_round(jobs: int, text: str) -> list[float]:
    from qjob_tui.config import load_settings
    from qjob_tui.runtime import open_runtime
    from qjob_tui.simulator import DEMO_TOKEN, Simulator, big_dataset, serve_simulator
    from qjob_tui.tui.app import QJobApp

    dataset = big_dataset(jobs, 10)
    sim = Simulator(dataset=dataset, record=False)
    with tempfile.TemporaryDirectory(prefix="qjob-bench-") as tmp:
        config = Path(tmp) / "qjob-tui.yaml"
        lines = ["qovery:", "  poll_interval_s: 3600", "environments:"]
        config.write_text("\n".join(lines + [f"  - {env.id}" for env in dataset.environments]) + "\n")
        async with serve_simulator(sim) as url:
            env = {"QOVERY_API_KEY": DEMO_TOKEN, "QOVERY_API_URL": url, "XDG_STATE_HOME": str(Path(tmp))}
            async with open_runtime(load_settings(str(config), env=env)) as runtime:
                app = QJobApp(runtime)
                running = asyncio.create_task(app.run_async(headless=True, size=SIZE))
                board = runtime.board
                await until(lambda: app.is_running and app.screen_stack and app.query("#jobs"), 0.005)
                await until(
                    lambda: (
                        len(board.jobs) == jobs
                        and app.table.row_count == jobs
                        and all(job.state for job in board.jobs.values())
                    ),
                    0.01,
                )
                await asyncio.sleep(0.5)  # discovery's last notices drawn
                table = app.table
                app.post_message(key_event(app, "/"))
                await until(lambda: app.focused is not None and app.focused.id == "filter")
                await asyncio.sleep(0.3)  # the filter line drawn (the table one line shorter) before the keys

                def shown(expected: str) -> bool:
                    return table.filter_text == expected

                latencies = await typed(app, the_keys(text), shown)
                app.exit()
                await running
    return latencies


# -- the baseline: the simplest filter over a DataTable -----------------------------------------------------


def bare_app(rows: Sequence[tuple[str, ...]]) -> Any:
    from textual.app import App, ComposeResult
    from textual.widgets import DataTable, Input

    class BareFilter(App[None]):
        def compose(self) -> ComposeResult:
            yield DataTable(id="table", cursor_type="row")
            yield Input(id="filter")

        def on_mount(self) -> None:
            table = self.query_one(DataTable)
            table.add_columns("JOB", "TYPE", "STATE", "DEPLOYED", "LAST ACTION")
            table.add_rows(rows)
            self.filter_text = ""
            self.query_one(Input).focus()

        def on_input_changed(self, event: Input.Changed) -> None:
            table = self.query_one(DataTable)
            table.clear()
            needle = event.value.lower()
            table.add_rows([row for row in rows if needle in row[0].lower() or needle in row[2].lower()])
            self.filter_text = event.value

    return BareFilter()


async def bare_round(jobs: int, text: str) -> list[float]:
    from qjob_tui.simulator import big_dataset

    rows = [
        (job.name, "cron" if i % 2 == 0 else "lifecycle", job.state or "", "2h ago", "")
        for i, job in enumerate(big_dataset(jobs, 10).jobs)
    ]
    app = bare_app(rows)
    running = asyncio.create_task(app.run_async(headless=True, size=SIZE))
    await until(lambda: app.is_running and app.focused is not None, 0.005)
    latencies = await typed(app, the_keys(text), lambda expected: app.filter_text == expected)
    app.exit()
    await running
    return latencies


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--text", default="job-0042")
    args = parser.parse_args()
    ours: list[float] = []
    bare: list[float] = []
    ours_cpu: list[float] = []
    bare_cpu: list[float] = []
    for _ in range(args.rounds):
        CPU.clear()
        bare += asyncio.run(bare_round(args.jobs, args.text))
        bare_cpu += CPU
        CPU.clear()
        ours += asyncio.run(dashboard_round(args.jobs, args.text))
        ours_cpu += CPU
    print(
        f"filter on {args.jobs:,} jobs: {args.text!r} typed then deleted, key by key, {args.rounds} rounds "
        f"({len(ours)} keys each side); from the key to the frame that shows it"
    )

    def line(name: str, values: list[float]) -> str:
        ms = [value * 1000 for value in values]
        return (
            f"  {name:<28} median {statistics.median(ms):6.1f} ms   p90 {p90(ms):6.1f} ms   "
            f"worst {max(ms):6.1f} ms"
        )

    print(line("bare Textual filter", bare))
    print(line("qjob-tui dashboard", ours))
    print(line("bare, CPU per key", [cpu for cpu in bare_cpu if cpu]))
    print(line("dashboard, CPU per key", [cpu for cpu in ours_cpu if cpu]))
    print(f"  (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    ratio = statistics.median(ours) / statistics.median(bare)
    worst = max(ours) * 1000
    print(
        f"  dashboard/bare (medians) {ratio:.2f}; goal under {GOAL_MS:.0f} ms a key: "
        f"{'met' if p90(ours) * 1000 < GOAL_MS else 'NOT met'} at the p90, "
        f"{'met' if worst < GOAL_MS else 'not met'} for the worst key"
    )


if __name__ == "__main__":
    main()
