"""Stop signals, handled on the running loop in one place and put back when the face ends."""

from __future__ import annotations

import asyncio
import os
import signal
import threading

# SIGWINCH: ignored by default, so that a test that goes wrong cannot end the test run.
PROBE = signal.SIGWINCH


async def test_the_handler_runs_on_the_signal_and_the_old_handling_comes_back() -> None:
    from qjob_tui.signals import on_signals

    before = signal.getsignal(PROBE)
    heard = asyncio.Event()
    restore = on_signals([PROBE], heard.set)
    try:
        assert signal.getsignal(PROBE) is not before
        os.kill(os.getpid(), PROBE)
        await asyncio.wait_for(heard.wait(), 10)
    finally:
        restore()
    assert signal.getsignal(PROBE) == signal.SIG_DFL
    restore()  # twice is harmless


def test_outside_the_main_thread_nothing_is_installed_and_nothing_fails() -> None:
    from qjob_tui.signals import on_signals

    before = signal.getsignal(PROBE)
    outcome: list[object] = []

    def run() -> None:
        async def install() -> None:
            on_signals([PROBE], lambda: None)()

        try:
            asyncio.run(install())
            outcome.append("ok")
        except Exception as exc:  # the assertion below names it
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    assert outcome == ["ok"]
    assert signal.getsignal(PROBE) is before
