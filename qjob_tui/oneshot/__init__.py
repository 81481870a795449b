"""The one-shot commands, for scripts and CI: one action on one job (or a look at jobs), and an exit code.

    qjob-tui deploy|redeploy|stop|uninstall|clean-failed JOB [options] [--watch] [--logs] [--timeout S] [--json]
    qjob-tui status [JOB ...] [--json]
    qjob-tui logs JOB [--run EXECUTION_ID] [--follow] [--json]

The action subcommands are generated from the action table (`arguments.py`); the action goes through the
pipeline like every face's, with audit source `cli` (`act.py`); `--watch` follows the run and `--logs` its log (`watch.py`); `status.py` and `logs.py` are the reads;
the exit codes and the last line are `results.py`'s; what is printed where, `report.py`'s. README "Scripts
and CI" is the user's side of it.
"""

from __future__ import annotations

from collections.abc import Sequence

from qjob_tui.oneshot.arguments import COMMANDS

__all__ = ["COMMANDS", "main"]


def main(command: str, argv: Sequence[str]) -> int:
    """`qjob-tui <command> <argv...>` for one of `COMMANDS`: the exit code."""
    from qjob_tui.oneshot.run import run_command  # the runtime and its client, only when a command runs

    return run_command(command, argv)
