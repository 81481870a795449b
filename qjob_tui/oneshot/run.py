"""A one-shot command from its arguments to its exit code: settings, runtime, the command, the last line.

Whatever happens, the command ends in one `Ending` (the exit code, the `result` line, the human line); no
traceback reaches a user. The runtime is the one every face opens (`open_runtime`): `--demo` starts the
embedded simulator, the audit log is the config's.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Mapping, Sequence
from typing import TextIO

from qjob_tui.actions import ACTIONS, JobAction
from qjob_tui.argtypes import UsageExit
from qjob_tui.audit import AuditError
from qjob_tui.config import ConfigError, load_settings
from qjob_tui.oneshot.act import refusal_before_start, run_action
from qjob_tui.oneshot.arguments import ActionArgs, Args, LogsArgs, StatusArgs, parse
from qjob_tui.oneshot.logs import run_logs
from qjob_tui.oneshot.report import Reporter, Subject
from qjob_tui.oneshot.results import Ending, Exit
from qjob_tui.oneshot.status import run_status
from qjob_tui.oneshot.stopping import StopSignals
from qjob_tui.runtime import open_runtime


def run_command(command: str, argv: Sequence[str], actions: Sequence[JobAction] = ACTIONS) -> int:
    """`qjob-tui <command> ...` in a process of its own: the exit code."""
    try:
        args = parse(command, argv, actions)
    except UsageExit as exc:  # already said in one line; with --json, stdout still ends with the result
        if "--json" in argv:
            Reporter(
                json_lines=True, stdout=sys.stdout, stderr=sys.stderr, subject=Subject(command, None)
            ).end(Ending(Exit.USAGE, exc.reason), said=True)
        return int(Exit.USAGE)
    except SystemExit as exc:  # --help (0)
        return exc.code if isinstance(exc.code, int) else int(Exit.USAGE)
    reporter = reporter_for(args, sys.stdout, sys.stderr)
    try:
        ending = asyncio.run(run_args(args, reporter, os.environ, sys.stdin))
    except KeyboardInterrupt:  # only before the command's own handlers are in place
        ending = Ending(Exit.SIGINT, "interrupted; nothing was sent")
    reporter.end(ending)
    return int(ending.exit)


def reporter_for(args: Args, stdout: TextIO, stderr: TextIO) -> Reporter:
    job = args.job if isinstance(args, ActionArgs | LogsArgs) else None
    return Reporter(json_lines=args.json, stdout=stdout, stderr=stderr, subject=Subject(args.command, job))


async def run_args(args: Args, reporter: Reporter, env: Mapping[str, str], stdin: TextIO) -> Ending:
    """The command inside a running event loop (the tests call it in theirs); the caller prints the end."""
    try:
        settings = load_settings(args.config, demo=args.demo, env=env)
    except ConfigError as exc:
        return Ending(Exit.USAGE, str(exc))
    if isinstance(args, ActionArgs) and (refusal := refusal_before_start(args, settings, stdin)) is not None:
        return refusal
    with StopSignals() as stop:
        try:
            async with open_runtime(settings) as runtime:
                reporter.redactor = runtime.redactor
                for note in runtime.audit.notes:  # e.g. an audit file that had to be made private
                    reporter.note(note)
                if isinstance(args, StatusArgs):
                    return await run_status(runtime, args, reporter, stop)
                if isinstance(args, LogsArgs):
                    return await run_logs(runtime, args, reporter, stop)
                return await run_action(runtime, args, reporter, stop, stdin)
        except (ConfigError, AuditError) as exc:
            return Ending(Exit.USAGE, str(exc))
