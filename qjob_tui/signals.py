"""The signals a face stops on, handled in one place: on the running event loop, removed when the face ends.

The headless relay stops on SIGINT and SIGTERM; the dashboard on SIGTERM and SIGHUP (in the terminal's raw
mode Ctrl+C is a key, not a signal). uvicorn's own handling stays off: the face owns the signals.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Iterable

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def on_signals(signals: Iterable[signal.Signals], handler: Callable[[], None]) -> Callable[[], None]:
    """Call `handler` in the running loop when one of `signals` arrives; returns the function that puts the
    previous handling back. Where the loop cannot take a handler (not the main thread, or a platform without
    support), that signal is left as it was."""
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for sig in signals:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, handler)
            installed.append(sig)

    def remove() -> None:
        while installed:
            with contextlib.suppress(Exception):  # the loop may be closing already
                loop.remove_signal_handler(installed.pop())

    return remove
