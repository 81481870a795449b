"""argparse pieces shared by the command lines: `qjob-tui` and its subcommands, and `python -m qjob_tui.simulator`.

Standard library only, and nothing else of qjob_tui: the simulator imports nothing of the app, yet its command
takes a port the same way (the layers contract in pyproject.toml holds both to it).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

EXIT_USAGE = 2  # every qjob-tui command exits 2 for a usage error


class UsageParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line naming the command and pointing at its --help, exit 2.

    It takes the flags as they are spelled, not their prefixes (`--y` for `--yes`): a prefix a script relies on
    would break, or change its meaning, the day a flag sharing it is added."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        self._print_message(f"{self.prog}: {message} (see {self.prog} --help)\n", sys.stderr)
        raise UsageExit(message)


class UsageExit(SystemExit):
    """A usage error, already said on stderr in one line: exit 2, and the reason, for a command that must say
    it in another form too (a one-shot command's `--json` result line)."""

    def __init__(self, reason: str) -> None:
        super().__init__(EXIT_USAGE)
        self.reason = reason


def port_argument(text: str) -> int:
    """argparse type for a port: 0 to 65535 (0: any free port)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is out of range; a port is 1 to 65535 (0: any free port)")
    return value


READ_ONLY_HELP = "act on nothing: show and read only (the same as server.read_only: true)"


def add_read_only_argument(parser: argparse.ArgumentParser, help: str = READ_ONLY_HELP) -> None:
    """`--read-only`, the same on every face's command line (the dashboard, --serve/--server, `mcp`, the one-shot
    commands). Apply it over the config with `cli.with_server_overrides(..., read_only=args.read_only)`; the
    pipeline then refuses every action (`ReadOnlyRefused`)."""
    parser.add_argument("--read-only", action="store_true", help=help)
