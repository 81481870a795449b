"""The life of a face's job board, the same for every face: discover once, poll until the face ends, stop quietly.

`discover()` learns the jobs (names, types, the jobs of the configured environments) with their states, per
environment as each answers (`qjob_tui.discovery`); `poll()` keeps the states fresh (`JobBoard.poll_forever`) and survives a
bug by starting again one interval later. Neither raises: what they could not do is a `LifecycleNote` to the
subscribers, and the board keeps what it has (the poller's Qovery errors stay on `board.last_error`, as the
board's own subscription tells).

A face that runs workers of its own (the dashboard: Textual workers) runs `poll()` and `discover()` in them.
Any other face (the headless relay; the one-shot command and MCP over stdio next) calls `start()`, awaits
`discovered()` when it must know the jobs before it answers, and `stop()`s at the end. Polling does not wait
for discovery: the environments of configured jobs are known from the config, so their states come at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

from qjob_tui.discovery import discover, learn_places
from qjob_tui.jobs import JobBoard
from qjob_tui.qovery import QoveryClient


@dataclass(frozen=True)
class LifecycleNote:
    """Something the lifecycle could not do: a job, an environment or its states that discovery could not
    read, or a bug in qjob-tui (`unexpected`: not Qovery's answer)."""

    topic: str  # what was being done: "discover" or "refresh"
    message: str
    unexpected: bool = False


NoteListener = Callable[[LifecycleNote], None]


class Lifecycle:
    """Discovers a board's jobs once and keeps their states fresh, for as long as a face runs."""

    def __init__(self, board: JobBoard, client: QoveryClient, poll_interval_s: float) -> None:
        self.board = board
        self.client = client
        self.poll_interval_s = poll_interval_s
        self.discovery_errors: list[str] = []  # what the last discovery could not read, as readable lines
        self._discovered = asyncio.Event()
        self._listeners: list[NoteListener] = []
        self._task: asyncio.Task[None] | None = None

    def subscribe(self, listener: NoteListener) -> Callable[[], None]:
        """Call `listener` with every note; returns the function that unsubscribes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _note(self, topic: str, message: str, *, unexpected: bool = False) -> None:
        note = LifecycleNote(topic, message, unexpected)
        for listener in list(self._listeners):
            with contextlib.suppress(Exception):  # a face's listener must not stop the lifecycle
                listener(note)

    # -- the two halves, for a face that runs its own workers ------------------------------------------

    async def discover(self) -> None:
        """Learn the jobs once, with the states of every environment discovery reads (not at the next interval).

        What discovery could not read is a note each; the board shows its progress meanwhile."""
        try:
            self.discovery_errors = await discover(self.board, self.client)
            for error in self.discovery_errors:
                self._note("discover", error)
        except Exception as exc:  # a bug: the board keeps what it learnt, the face says what happened
            self._note("discover", f"{type(exc).__name__}: {exc}", unexpected=True)
        finally:
            self._discovered.set()

    async def name_environments(self) -> None:
        """Learn the names of the board's environments and projects (`JobInfo.environment_name`), for a face
        that shows them; after discovery, so that nobody waits for names. Notes what it could not read."""
        try:
            for error in await learn_places(self.board, self.client):
                self._note("discover", error)
        except Exception as exc:  # a bug: the names stay unknown, the face says what happened
            self._note("discover", f"{type(exc).__name__}: {exc}", unexpected=True)

    async def poll(self) -> None:
        """Keep the states fresh until cancelled; after a bug, poll again one interval later."""
        while True:
            try:
                await self.board.poll_forever(self.client, self.poll_interval_s)
            except Exception as exc:  # the states must not freeze for good
                self._note("refresh", f"{type(exc).__name__}: {exc}", unexpected=True)
                await asyncio.sleep(self.poll_interval_s)

    async def discovered(self) -> None:
        """Return once the first discovery has ended (whatever it could read)."""
        await self._discovered.wait()

    # -- the whole, for any other face -------------------------------------------------------------------

    def start(self) -> None:
        """Poll and discover in a background task of the running loop (once; again after `stop()`)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="qjob-tui lifecycle")

    async def _run(self) -> None:
        await asyncio.gather(self.poll(), self.discover())

    async def stop(self) -> None:
        """Stop polling and discovering, whatever they were doing; quiet: nothing raised, nothing printed."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def __aenter__(self) -> Lifecycle:
        self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
