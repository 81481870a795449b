"""The one-shot commands' arguments: one subcommand per row of the action table, then `status` and `logs`.

An action's options come from its row: `--force-event E` where it takes a forceEvent, `--image-tag T |
--commit-id C` where its body is a deploy's, `--yes` where it is destructive (the one that asks first, and
the only one a script must confirm). Every subcommand takes `--config PATH`, `--demo`, `--read-only` and
`--json`, anywhere on its line. What the values must be (a known forceEvent, a non-empty tag) is checked by
the pipeline, as for every face; here only the shape of the line.
"""

from __future__ import annotations

import argparse
import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from qjob_tui.actions import ACTIONS, FORCE_EVENTS, JOB, BodyKind, JobAction
from qjob_tui.argtypes import UsageParser, add_read_only_argument
from qjob_tui.lines import PROGRAM

STATUS = "status"
LOGS = "logs"
DEFAULT_TIMEOUT_S = 1800.0

EXIT_CODES_HELP = """\
exit codes:
  0  accepted (with --watch: settled in a good state)
  1  the run ended in an error state (*_ERROR) or was CANCELED
  2  usage or config error, an unknown or ambiguous JOB name, read-only,
     or a destructive action without --yes off a terminal
  3  refused: by qjob-tui (bad input, a job not configured) or by Qovery
     (4xx: 409 busy, 403, 404)
  4  --watch gave up after --timeout
  5  Qovery unreachable, 5xx, or an answer that is not JSON
  130, 143  stopped by SIGINT, SIGTERM (the action, if sent, goes on in Qovery)"""


def job_actions(actions: Sequence[JobAction] = ACTIONS) -> tuple[JobAction, ...]:
    """The actions on a job: each a subcommand `<name> JOB` (an environment action would want its own noun)."""
    return tuple(action for action in actions if action.target is JOB)


def command_names(actions: Sequence[JobAction] = ACTIONS) -> tuple[str, ...]:
    """Every one-shot subcommand: the job actions', then the reads'."""
    return (*(action.name for action in job_actions(actions)), STATUS, LOGS)


COMMANDS: tuple[str, ...] = command_names()


@dataclass(frozen=True, kw_only=True)
class CommonArgs:
    """What every one-shot subcommand takes."""

    command: str
    config: str | None
    demo: bool
    read_only: bool
    json: bool


@dataclass(frozen=True, kw_only=True)
class ActionArgs(CommonArgs):
    """An action on one job, and how far to follow it."""

    action: JobAction
    job: str  # as typed: a UUID or a name
    force_event: str | None
    body: dict[str, Any] | None
    yes: bool
    watch: bool
    logs: bool
    timeout_s: float


@dataclass(frozen=True, kw_only=True)
class StatusArgs(CommonArgs):
    jobs: tuple[str, ...]  # none: every job of the config


@dataclass(frozen=True, kw_only=True)
class LogsArgs(CommonArgs):
    job: str
    run: str | None  # an execution id; None: the latest run
    follow: bool


Args = ActionArgs | StatusArgs | LogsArgs

# The inputs the pipeline names when it refuses one (`ActionRefused.field`), as this command line spells them.
OPTION_OF_FIELD = {
    "forceEvent": "--force-event",
    "body": "--image-tag/--commit-id",
    "body.image_tag": "--image-tag",
    "body.git_commit_id": "--commit-id",
    "run": "--run",
}


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"{text} must be a number of seconds above 0")
    return value


def _add_common(parser: argparse.ArgumentParser, *, json_help: str) -> None:
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="config file (else $QJOB_TUI_CONFIG, ./qjob-tui.yaml, ~/.config/qjob-tui/config.yaml)",
    )
    parser.add_argument("--demo", action="store_true", help="against the embedded Qovery simulator")
    add_read_only_argument(parser, help="act on nothing (an action exits 2)")
    parser.add_argument("--json", action="store_true", help=json_help)


def _job_argument(parser: argparse.ArgumentParser, **options: Any) -> None:
    parser.add_argument(
        "job", metavar="JOB", help="the job's UUID, or its name in the config (exact)", **options
    )


def action_parser(action: JobAction) -> argparse.ArgumentParser:
    """The subcommand of one row of the action table."""
    about = f"{action.summary} (Qovery: POST {action.upstream_path})."
    if action.warning:
        about += f" {action.warning}"
    about = textwrap.fill(about, width=78)  # the raw formatter (for the exit codes' table) wraps nothing
    parser = UsageParser(
        prog=f"{PROGRAM} {action.name}",
        description=about,
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _job_argument(parser)
    if action.force_event:
        parser.add_argument(
            "--force-event",
            metavar="E",
            help=f"force one of the job's events: {', '.join(FORCE_EVENTS)} (CRON runs a cron job now; START, "
            "STOP or DELETE a lifecycle job's hook)",
        )
    if action.body is BodyKind.DEPLOY:
        version = parser.add_mutually_exclusive_group()
        version.add_argument("--image-tag", metavar="T", help="deploy this image tag (image-based jobs)")
        version.add_argument("--commit-id", metavar="C", help="deploy this git commit (git-based jobs)")
    if action.destructive:
        parser.add_argument(
            "--yes",
            action="store_true",
            help="do not ask first (needed when stdin is not a terminal: nothing is sent without it)",
        )
    parser.add_argument(
        "--watch", action="store_true", help="follow the job's state until it settles, printing each new one"
    )
    parser.add_argument(
        "--logs", action="store_true", help="the run's deployment log lines as they appear (implies --watch)"
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
        metavar="S",
        help=f"with --watch: give up after S seconds (exit 4; default {DEFAULT_TIMEOUT_S:g})",
    )
    _add_common(parser, json_help="one JSON object per line on stdout, the last one the result")
    return parser


def status_parser() -> argparse.ArgumentParser:
    parser = UsageParser(
        prog=f"{PROGRAM} {STATUS}",
        description="The jobs with their states: the ones named, or every job of the config.",
    )
    _job_argument(parser, nargs="*")
    _add_common(parser, json_help="one JSON object per job and line on stdout")
    return parser


def logs_parser() -> argparse.ArgumentParser:
    parser = UsageParser(
        prog=f"{PROGRAM} {LOGS}",
        description="The deployment log of a job's latest run, or of the run named; with --follow, until it settles.",
    )
    _job_argument(parser)
    parser.add_argument("--run", metavar="EXECUTION_ID", help="the run's execution id (default: the latest)")
    parser.add_argument(
        "--follow", action="store_true", help="print new lines as they come until the run settles"
    )
    _add_common(parser, json_help="one JSON object per log line on stdout, the last one the result")
    return parser


def parse(command: str, argv: Sequence[str], actions: Sequence[JobAction] = ACTIONS) -> Args:
    """The arguments of `qjob-tui <command> ...`. Raises SystemExit (2 and one line for a usage error)."""
    by_name = {action.name: action for action in job_actions(actions)}
    if command in by_name:
        action = by_name[command]
        parser = action_parser(action)
        ns = parser.parse_intermixed_args(argv)
        if ns.timeout is not None and not (ns.watch or ns.logs):
            parser.error("--timeout needs --watch")
        return ActionArgs(
            **_common(command, ns),
            action=action,
            job=ns.job,
            force_event=getattr(ns, "force_event", None),
            body=_body(ns),
            yes=getattr(ns, "yes", False),
            watch=ns.watch or ns.logs,  # following a run's log is following the run
            logs=ns.logs,
            timeout_s=ns.timeout if ns.timeout is not None else DEFAULT_TIMEOUT_S,
        )
    if command == STATUS:
        ns = status_parser().parse_intermixed_args(argv)
        return StatusArgs(**_common(command, ns), jobs=tuple(ns.job))
    if command == LOGS:
        ns = logs_parser().parse_intermixed_args(argv)
        return LogsArgs(**_common(command, ns), job=ns.job, run=ns.run, follow=ns.follow)
    raise ValueError(f"{command!r} is not a one-shot command")  # the entry dispatches only ours


def _common(command: str, ns: argparse.Namespace) -> dict[str, Any]:
    return {
        "command": command,
        "config": ns.config,
        "demo": ns.demo,
        "read_only": ns.read_only,
        "json": ns.json,
    }


def _body(ns: argparse.Namespace) -> dict[str, Any] | None:
    """A deploy's JSON body from its options (None: no body at all, as Qovery's default)."""
    if getattr(ns, "image_tag", None) is not None:
        return {"image_tag": ns.image_tag}
    if getattr(ns, "commit_id", None) is not None:
        return {"git_commit_id": ns.commit_id}
    return None
