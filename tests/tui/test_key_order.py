"""OrderedKeysApp on its own: a burst is dispatched key by key, each after the focus the previous one left."""

from __future__ import annotations

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.pilot import Pilot
from textual.widgets import Input, Static

from qjob_tui.tui.key_order import KeyHandled, OrderedKeysApp

from .support import send_burst


class Vanishing(Static, can_focus=True):
    """Removes itself on `x` before the key can come back up: what it leaves behind must not hold the keys."""

    async def on_key(self, event: events.Key) -> None:
        if event.key == "x":
            event.stop()
            self.app.query_one("#second", Input).focus()
            await self.remove()


class Swallowing(Static, can_focus=True):
    """Stops the marker that follows each key: as if the key's way up had been cut (a widget removed)."""

    @on(KeyHandled)
    def _swallow(self, message: KeyHandled) -> None:
        message.stop()

    def on_key(self, event: events.Key) -> None:
        if event.key == "x":
            event.stop()
            self.app.query_one("#second", Input).focus()


class TwoInputs(OrderedKeysApp[None]):
    BINDINGS = [Binding("o", "open", "Open the first input")]

    def compose(self) -> ComposeResult:
        yield Vanishing("vanishing", id="vanishing")
        yield Swallowing("swallowing", id="swallowing")
        yield Input(id="first")
        yield Input(id="second")

    def on_mount(self) -> None:
        self.query_one("#vanishing").focus()

    def action_open(self) -> None:
        self.query_one("#first", Input).focus()  # takes effect later: a callback on the app's queue


async def burst(app: TwoInputs, pilot: Pilot[None], typed: str) -> None:
    done = send_burst(app, typed)
    for _ in range(500):
        if app.keys_handled >= done:
            return
        await pilot.pause(0.02)
    raise AssertionError(f"the keys of {typed!r} were never all handled")


async def test_the_keys_after_a_binding_that_moves_the_focus_follow_the_focus() -> None:
    app = TwoInputs()
    async with app.run_test() as pilot:
        await pilot.pause()
        await burst(app, pilot, "oabc")
        assert app.query_one("#first", Input).value == "abc"


async def test_a_key_lost_with_its_widget_does_not_hold_the_keys_behind_it() -> None:
    app = TwoInputs()
    async with app.run_test() as pilot:
        await pilot.pause()
        await burst(app, pilot, "xab")
        assert app.query_one("#second", Input).value == "ab"


async def test_a_key_whose_handling_never_comes_back_does_not_hold_the_keys_behind_it_for_ever() -> None:
    app = TwoInputs()
    async with app.run_test() as pilot:
        await pilot.pause()
        app.query_one("#swallowing").focus()
        await pilot.pause()
        await burst(app, pilot, "xab")  # held behind the lost x for STUCK_AFTER_S, then on their way
        assert app.query_one("#second", Input).value == "ab"
