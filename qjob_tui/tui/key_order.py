"""Keys in the order typed: each key reaches the focus that the keys before it left, however fast they come.

Textual forwards a key to the focused widget the moment the key reaches the app, but the key's binding runs
only once the key has bubbled back up to the app, and what the binding does to the focus takes effect later
still (`widget.focus()` is a callback on the app's queue; a pushed screen composes in its own task). Keys
that arrive in one burst (a paste, keystrokes batched over SSH, a fast typist) were therefore all forwarded
to the old focus before `/` had opened the filter: `/dev` in one write deployed the selected job, and in
`D` the keys typed before the dialog had composed were lost or landed in the wrong field.

`OrderedKeysApp` dispatches one key at a time. The next key waits until the previous one has been handled:

1. it came back up to the app and its binding ran, or a widget consumed it (a marker message posted right
   behind it follows it up the DOM, and arrives when the key has gone as far as it goes);
2. the callbacks its handling scheduled have run (a focus change), found by one more trip through the queue;
3. a screen it opened (or uncovered) has composed and focused its input: a second marker goes through that
   screen's queue, which runs only after its compose and mount.

A burst then behaves exactly as the same keys typed slowly: whatever follows `/` goes to the filter, and
whatever follows `D` to the dialog's fields. It holds for every input of every screen of an app built on
this class, the detail screen's search included, without anything to declare per input.

A key whose handling never comes back (its widget was removed on the way) does not hold the keyboard:
after `STUCK_AFTER_S` the keys behind it go on.
"""

from __future__ import annotations

from collections import deque
from time import monotonic
from typing import TypeVar

from textual import events, on
from textual.app import App
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer

ReturnType = TypeVar("ReturnType")

STUCK_AFTER_S = 1.0  # a key not back by then was lost with its widget; the keys behind it go on


class KeyHandled(Message):
    """Posted behind a key to the widget the key went to: reaching the app, it says the key is handled."""

    def __init__(self, seq: int, screen: Screen[object]) -> None:
        super().__init__()
        self.seq = seq
        self.screen = screen  # the screen when the key was dispatched


class ScreenReady(Message):
    """Posted to a screen the key opened: the screen handles it only once composed, mounted and focused."""

    def __init__(self, seq: int, screen: Screen[object]) -> None:
        super().__init__()
        self.seq = seq
        self.screen = screen


class OrderedKeysApp(App[ReturnType]):
    """An App whose keys (and pastes) are dispatched one at a time, each after the previous took effect."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._held: deque[events.Key | events.Paste] = deque()
        self._in_flight: events.Key | events.Paste | None = None
        self._in_flight_seq = 0
        self._in_flight_since = 0.0
        self._in_flight_screen: Screen[object] | None = None  # the screen when it was dispatched
        self._stuck_timer: Timer | None = None
        self.keys_handled = 0  # keys (and pastes) whose handling is over: tests wait on it
        self.last_key_at: float | None = None  # monotonic() when the last key (or paste) arrived

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key | events.Paste):
            if not event.is_forwarded:  # a key from the terminal, not one bubbling back up
                await self._arrived(event)
                return
            await super().on_event(event)  # its bindings run here
            if event is self._in_flight and self._in_flight_screen is not None:
                self.call_later(self._settle, self._in_flight_seq, self._in_flight_screen)
            return
        await super().on_event(event)

    async def _arrived(self, event: events.Key | events.Paste) -> None:
        self.last_key_at = monotonic()
        if self._in_flight is not None:
            if monotonic() - self._in_flight_since < STUCK_AFTER_S:
                self._held.append(event)
                self._watch_stuck()
                return
            self._in_flight = None  # lost on its way: do not hold the keyboard for it
            self.keys_handled += 1
        if self._held:
            self._held.append(event)
            await self._next()
        else:
            await self._dispatch(event)

    async def _dispatch(self, event: events.Key | events.Paste) -> None:
        self._in_flight_seq += 1
        self._in_flight = event
        self._in_flight_since = monotonic()
        seq, screen = self._in_flight_seq, self.screen
        self._in_flight_screen = screen
        target = self.focused or screen  # where Textual sends it, unless a priority binding takes it
        await super().on_event(event)
        if not target.post_message(KeyHandled(seq, screen)):
            self.call_later(self._settle, seq, screen)  # the target is closing: nothing will come back

    async def _next(self) -> None:
        while self._held and self._in_flight is None:
            await self._dispatch(self._held.popleft())

    @on(KeyHandled)
    def _key_handled(self, message: KeyHandled) -> None:
        message.stop()
        if message.seq == self._in_flight_seq:
            self.call_later(self._settle, message.seq, message.screen)

    def _settle(self, seq: int, screen: Screen[object]) -> None:
        """The key and the callbacks it scheduled are done; wait for a screen it opened to be ready."""
        if seq != self._in_flight_seq or self._in_flight is None:
            return
        if self.screen is not screen and self.screen.post_message(ScreenReady(seq, self.screen)):
            return
        self.call_later(self._release, seq)

    @on(ScreenReady)
    def _screen_ready(self, message: ScreenReady) -> None:
        message.stop()
        self._settle(message.seq, message.screen)

    async def _release(self, seq: int) -> None:
        if seq != self._in_flight_seq or self._in_flight is None:
            return
        self._in_flight = None
        self.keys_handled += 1
        await self._next()
        if self._held:
            self._watch_stuck()

    def _watch_stuck(self) -> None:
        if self._stuck_timer is None:
            self._stuck_timer = self.set_timer(STUCK_AFTER_S, self._unstick)

    async def _unstick(self) -> None:
        self._stuck_timer = None
        if self._in_flight is not None and monotonic() - self._in_flight_since >= STUCK_AFTER_S:
            self._in_flight = None
            self.keys_handled += 1
            await self._next()
        if self._held:
            self._watch_stuck()
