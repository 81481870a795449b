"""A real `qjob-tui --serve` subprocess, started as a user starts it (a config file from `tests.common`'s
`write_config`, its `user_env`, free ports). Its stderr is read all along (`Served.stderr`), so that a test can
wait for a line, send signals (SIGTERM, twice, SIGKILL) and read everything the process printed, tracebacks
included."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.common import qjob_tui_command

BOUND_S = 60  # every wait below; only a hang reaches it


@dataclass
class Served:
    """A running `qjob-tui --serve`: its URLs, and every line it wrote on stderr so far."""

    process: asyncio.subprocess.Process
    rest_url: str
    mcp_url: str
    lines: list[str] = field(default_factory=list)
    _reader: asyncio.Task[None] | None = None
    _new_line: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def stderr(self) -> str:
        return "".join(self.lines)

    async def _read(self) -> None:
        assert self.process.stderr is not None
        while line := await self.process.stderr.readline():
            self.lines.append(line.decode("utf-8", "backslashreplace"))
            self._new_line.set()
        self._new_line.set()

    async def until_line(self, condition: Callable[[str], bool]) -> str:
        """The first stderr line for which `condition` holds (bounded by the caller's timeout)."""
        seen = 0
        while True:
            for line in self.lines[seen:]:
                if condition(line):
                    return line
            seen = len(self.lines)
            if self._reader is not None and self._reader.done():
                raise AssertionError(f"qjob-tui --serve ended without that line:\n{self.stderr}")
            self._new_line.clear()
            await self._new_line.wait()

    def send(self, sig: signal.Signals) -> None:
        self.process.send_signal(sig)

    async def exited(self) -> int:
        """The exit code, once the process has ended and its stderr is read to the end."""
        code = await asyncio.wait_for(self.process.wait(), BOUND_S)
        if self._reader is not None:
            await asyncio.wait_for(self._reader, BOUND_S)
        return code

    async def terminate(self) -> tuple[int, str]:
        """SIGTERM, then the exit code and everything it wrote on stderr."""
        self.send(signal.SIGTERM)
        return await self.exited(), self.stderr


@contextlib.asynccontextmanager
async def serving(
    config: Path, env: dict[str, str], rest_port: int, mcp_port: int, *args: str, **options: Any
) -> AsyncIterator[Served]:
    """`qjob-tui --serve` as a user starts it, until its start line says both servers serve."""
    process = await asyncio.create_subprocess_exec(
        *qjob_tui_command(), "--serve", "--config", str(config), *args,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        cwd=config.parent, env=env, **options,
    )  # fmt: skip
    served = Served(process, f"http://127.0.0.1:{rest_port}", f"http://127.0.0.1:{mcp_port}/mcp")
    served._reader = asyncio.create_task(served._read())
    try:
        await asyncio.wait_for(served.until_line(lambda line: "serving REST" in line), BOUND_S)
        yield served
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(served._reader, BOUND_S)


async def until(condition: Callable[[], bool]) -> None:
    """Poll `condition` (bounded by the caller's timeout)."""
    while not condition():  # noqa: ASYNC110 - another process's doings have no event to wait on
        await asyncio.sleep(0.02)
