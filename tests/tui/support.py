"""What the dashboard tests share: settings over the simulator, a running dashboard, and how to read it."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from textual import events
from textual.keys import _character_to_key
from textual.pilot import Pilot

from qjob_tui.actions import ACTIONS, JobAction
from qjob_tui.cli import with_server_overrides
from qjob_tui.config import Config, Settings
from qjob_tui.runtime import Runtime, open_runtime
from qjob_tui.server import RelayServers
from qjob_tui.simulator import ManualClock, RecordedRequest, Simulator, serve_simulator
from qjob_tui.tui.app import QJobApp
from qjob_tui.tui.key_order import OrderedKeysApp
from tests.common import API_TOKEN, DEMO_ENVIRONMENTS, job_id, quiet_simulator, screen_text


def tui_settings(
    api_url: str,
    tmp_path: Path,
    *,
    jobs: list[dict[str, str]] | None = None,
    environments: list[str] | None = None,
    confirm: list[str] | None = None,
    keys: dict[str, str] | None = None,
    timeout_s: float = 5.0,
    poll_interval_s: float = 1.0,
    approve: list[str] | None = None,
    approve_timeout_s: float = 120.0,
    read_only: bool = False,
    server_token: str | None = None,
) -> Settings:
    """Settings as the loader builds them: by default every job of the demo's environments."""
    raw: dict[str, Any] = {
        "qovery": {"timeout_s": timeout_s, "poll_interval_s": poll_interval_s},
        "jobs": jobs or [],
        "environments": DEMO_ENVIRONMENTS if environments is None else environments,
        "server": {"approve": approve or [], "approve_timeout_s": approve_timeout_s},
        "ui": {"keys": keys or {}},
        "audit": {"path": str(tmp_path / "audit.jsonl")},
    }
    if confirm is not None:
        raw["ui"]["confirm"] = confirm
    inbound = SecretStr(server_token) if server_token else None
    settings = Settings(Config.model_validate(raw), None, api_url, SecretStr(API_TOKEN), inbound)
    # free ports, as --rest-port 0 --mcp-port 0 give; read-only as --read-only gives
    return with_server_overrides(settings, None, 0, 0, read_only=read_only)


async def no_wait(seconds: float) -> None:
    await asyncio.sleep(0)


BURST_KEYS = {"\t": "tab", "\r": "enter", "\x1b": "escape", " ": "space"}


def send_burst(app: QJobApp | OrderedKeysApp[Any], typed: str) -> int:
    """Queue the keys of `typed` on the app in one go, as the terminal's parser does for one read
    (tab, enter and escape as the characters \\t, \\r, \\x1b). Returns the `keys_handled` count that
    says they are all handled."""
    done = app.keys_handled + len(typed)
    for character in typed:
        key = BURST_KEYS.get(character) or (
            character if character.isalnum() else _character_to_key(character)
        )
        event = events.Key(key, character)
        event.set_sender(app)
        app.post_message(event)
    return done


@dataclass
class Dashboard:
    """A dashboard running in `run_test` against the simulator, and ways to read what the user sees."""

    app: QJobApp
    pilot: Pilot[None]
    sim: Simulator
    runtime: Runtime
    clock: ManualClock | None = None
    servers: RelayServers | None = None

    async def until(self, condition: Callable[[], object], what: str, attempts: int = 500) -> None:
        """Let the app work until `condition()` holds (a guard against hanging, not a timing assertion)."""
        for _ in range(attempts):
            if condition():
                return
            await self.pilot.pause(0.02)
        raise AssertionError(f"never happened: {what}\n--- screen ---\n{self.screen_text()}")

    def advance(self, seconds: float) -> None:
        """Move the simulator's clock: queued jobs start, running ones settle."""
        assert self.clock is not None, "this simulator runs on the real clock"
        self.clock.advance(seconds)

    async def refresh_now(self) -> None:
        """One refresh of every environment, as the poller does on its interval."""
        await self.runtime.board.refresh(self.runtime.client)
        await self.pilot.pause()

    async def press(self, *keys: str) -> None:
        await self.pilot.press(*keys)
        await self.pilot.pause()

    async def burst(self, typed: str) -> None:
        """Keys in one write, as a terminal delivers a paste or batched keystrokes: all queued at once,
        none waiting for the one before (Pilot's `press` waits for the app between keys)."""
        done = send_burst(self.app, typed)
        await self.until(lambda: self.app.keys_handled >= done, f"the keys of {typed!r} handled")
        await self.pilot.pause()

    def screen_text(self) -> str:
        """Every line of the terminal, dialogs included."""
        return screen_text(self.app)

    def log_text(self) -> str:
        return self.app.log_pane.plain_text()

    def rows(self) -> list[dict[str, str]]:
        """The jobs table as shown: one dict per row, column key -> plain text (the columns shown now)."""
        table = self.app.table
        keys = table.column_keys
        return [
            dict(
                zip(
                    keys,
                    (str(getattr(cell, "plain", cell)).strip() for cell in table.get_row(row.key)),
                    strict=True,
                )
            )
            for row in table.ordered_rows
        ]

    def row(self, name: str) -> dict[str, str]:
        for row in self.rows():
            if row["name"].lstrip("● ") == name:
                return row
        raise AssertionError(f"no row for {name}; rows: {[r['name'] for r in self.rows()]}")

    def names(self) -> list[str]:
        return [row["name"].lstrip("● ").strip() for row in self.rows()]

    async def select(self, name: str) -> None:
        """Put the table's cursor on a job, as the arrow keys would."""
        self.app.table.move_cursor(row=self.app.table.get_row_index(job_id(name)), animate=False)
        await self.pilot.pause()

    def actions_sent(self) -> list[RecordedRequest]:
        """What Qovery received for actions (the poller's reads left out)."""
        return [request for request in self.sim.requests if request.method == "POST"]

    def notifications(self) -> list[str]:
        return [n.message for n in self.app._notifications]

    async def states_loaded(self) -> None:
        board = self.runtime.board
        await self.until(
            lambda: (
                board.refreshed_at is not None
                and not any(worker.name == "discover" and worker.is_running for worker in self.app.workers)
                and self.app.table.row_count == len(board.jobs)
                and all(row["state"] != "…" for row in self.rows())
            ),
            "the jobs and their states on screen",
        )


@asynccontextmanager
async def running_dashboard(
    tmp_path: Path,
    *,
    sim: Simulator | None = None,
    clock: ManualClock | None = None,
    size: tuple[int, int] = (120, 40),
    app_factory: Callable[..., QJobApp] = QJobApp,
    wait: bool = True,
    with_servers: bool = False,
    actions: tuple[JobAction, ...] = ACTIONS,
    **settings: Any,
) -> AsyncIterator[Dashboard]:
    """The simulator on loopback, a runtime over it (built from `actions`), and the dashboard in `run_test`,
    jobs loaded."""
    if sim is None:
        clock = clock or ManualClock()
        sim = quiet_simulator(clock)
    async with (
        serve_simulator(sim) as url,
        open_runtime(tui_settings(url, tmp_path, **settings), actions=actions) as runtime,
    ):
        runtime.client.retry.sleep = no_wait  # reads retry at once: the tests need not wait out backoffs
        async with contextlib.AsyncExitStack() as stack:
            ports: dict[str, object] = {}
            servers = None
            if with_servers:
                server_log: list[str] = []
                servers = await stack.enter_async_context(RelayServers(runtime, log=server_log.append))
                ports = {
                    "rest_port": servers.rest_port,
                    "mcp_port": servers.mcp_port,
                    "server_log": server_log,
                }
            app = app_factory(runtime, **ports)
            async with app.run_test(size=size) as pilot:
                dashboard = Dashboard(app, pilot, sim, runtime, clock, servers)
                if wait:
                    await dashboard.states_loaded()
                yield dashboard


@contextlib.contextmanager
def in_a_terminal(
    tmp_path: Path, *args: str, size: tuple[int, int] = (80, 24)
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """`python -m qjob_tui *args` in a pseudo-terminal of `size` (columns, rows), as a user starts it: its own
    HOME and state directory in `tmp_path`, a 256-colour TERM. Yields the process and the terminal's end to
    read; on the way out a process still running is killed."""
    master, slave = pty.openpty()
    columns, rows = size
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    env = {
        **os.environ,
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "TERM": "xterm-256color",
        "HOME": str(tmp_path),
    }
    env.pop("QJOB_TUI_CONFIG", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "qjob_tui", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        cwd=tmp_path,
        start_new_session=True,
    )
    os.close(slave)
    try:
        yield process, master
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)


LEAVE_ALTERNATE_SCREEN = b"\x1b[?1049l"  # the terminal back to the shell's screen: a dashboard's last write


def read_until(fd: int, wanted: bytes, seconds: float) -> bytes:
    """Read a pseudo-terminal until `wanted` shows up, the other side closes, or `seconds` pass."""
    seen = b""
    deadline = time.monotonic() + seconds
    while wanted not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the process is gone and the terminal closed
                break
            if not chunk:
                break
            seen += chunk
    return seen
