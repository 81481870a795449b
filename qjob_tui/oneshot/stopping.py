"""SIGINT and SIGTERM for the length of a one-shot command: they interrupt what is guarded, and only that.

A command guards what may be abandoned — finding the job, the question, the watch — and not the action's
request: once sent, its answer is waited for, so that it is reported and audited whatever comes.
"""

from __future__ import annotations

import asyncio
import functools
import signal
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TypeVar

from qjob_tui.signals import STOP_SIGNALS, on_signals

T = TypeVar("T")


class Interrupted(Exception):
    """A stop signal arrived while something guarded was being awaited."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class StopSignals:
    """Catches the stop signals while the block runs; `guard(...)` gives up its awaitable when one arrives."""

    def __init__(self) -> None:
        self.signum: int | None = None  # the first stop signal received
        self._arrived = asyncio.Event()
        self._removers: list[Callable[[], None]] = []

    def __enter__(self) -> StopSignals:
        self._removers = [on_signals([sig], functools.partial(self._received, sig)) for sig in STOP_SIGNALS]
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for remove in self._removers:
            remove()
        self._removers = []

    def _received(self, sig: signal.Signals) -> None:
        if self.signum is None:
            self.signum = int(sig)
        self._arrived.set()

    async def guard(self, awaitable: Awaitable[T]) -> T:
        """Await `awaitable`, or cancel it and raise `Interrupted` as soon as a stop signal arrives."""
        if self.signum is not None:
            if asyncio.iscoroutine(awaitable):
                awaitable.close()  # never started: no "never awaited" warning
            raise Interrupted(self.signum)
        work = asyncio.ensure_future(awaitable)
        arrival = asyncio.ensure_future(self._arrived.wait())
        try:
            await asyncio.wait({work, arrival}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            arrival.cancel()
            if not work.done():
                work.cancel()
                await asyncio.gather(work, return_exceptions=True)
        if work.cancelled() and self.signum is not None:
            raise Interrupted(self.signum)
        return work.result()
