"""argparse pieces shared by the command lines: `qjob-tui` and its subcommands, and `python -m qjob_tui.simulator`.

Standard library only, and nothing else of qjob_tui: the simulator imports nothing of the app, yet its command
takes a port the same way (the layers contract in pyproject.toml holds both to it).
"""

from __future__ import annotations

import argparse

EXIT_USAGE = 2  # every qjob-tui command exits 2 for a usage error


class UsageParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line naming the command and pointing at its --help, exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


def port_argument(text: str) -> int:
    """argparse type for a port: 0 to 65535 (0: any free port)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is out of range; a port is 1 to 65535 (0: any free port)")
    return value
