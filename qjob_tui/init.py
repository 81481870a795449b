"""`qjob-tui init`: pick your jobs once and write them into a commented config file.

    qjob-tui init [--demo] [--config PATH] [--force]
        the picker: organization -> project -> environment -> jobs, then the file
    qjob-tui init --environment ID [--environment ID ...] [--demo] [--config PATH] [--force]
        for scripts: every job of those environments, no questions asked

The file goes to `--config PATH`, else `$QJOB_TUI_CONFIG`, else `./qjob-tui.yaml` (where `qjob-tui` looks
first), and an existing file is only replaced with `--force` (its settings are kept, its jobs replaced).
Qovery is reached as every command reaches it (`config.apply_environment`, `runtime.open_qovery`): the
variable `qovery.token_env` names, its `auth_scheme`, `QOVERY_API_URL`, the simulator with `--demo`.
The text is `configfile`'s. This face knows no terminal UI: the entry hands it the picker (`PickerRunner`).
Exit codes: 0 written, 1 cancelled in the picker, 2 for any error (nothing written).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from qjob_tui.actions import is_uuid, quoted_excerpt
from qjob_tui.argtypes import UsageParser
from qjob_tui.config import (
    API_URL_ENV,
    CONFIG_ENV,
    LOCAL_CONFIG,
    Config,
    ConfigError,
    Settings,
    apply_environment,
    read_config,
)
from qjob_tui.configfile import (
    EnvironmentChoice,
    FileExists,
    JobChoice,
    Selection,
    credential_of,
    explain,
    render_config,
    start_command,
    target_path,
    write_file_atomically,
)
from qjob_tui.lines import OutputLines, is_terminal
from qjob_tui.qovery import QoveryClient, QoveryError
from qjob_tui.runtime import open_qovery

EXIT_WRITTEN = 0
EXIT_CANCELLED = 1
EXIT_ERROR = 2

#: The terminal picker, handed in by the entry (`cli`): it lists from `client`, starting at the organizations
#: already listed, for the file at the path, and returns what was picked (None: the user left).
PickerRunner = Callable[[QoveryClient, list[dict[str, Any]], Path, Settings], Awaitable[Selection | None]]


class InitError(Exception):
    """Something that stops `init` before a file is written: one line for the user, exit code 2."""


# -- the settings it runs on ----------------------------------------------------------------------------


def settings_for(path: Path, demo: bool, env: Mapping[str, str]) -> tuple[Settings, list[str]]:
    """The settings `init` reaches Qovery with and writes into the file, and notes for the user.

    A file being replaced (`--force`) keeps its settings: its token variable and auth scheme are the ones the
    dashboard will use on it. Otherwise, the model's defaults."""
    base, source, notes = Config(), None, []
    if path.is_file():
        try:
            base, source = read_config(path).model_copy(update={"jobs": [], "environments": []}), path
        except ConfigError as exc:
            notes.append(f"Note: the settings of the file it replaced were not kept ({exc}).")
    if not demo and env.get(API_URL_ENV):  # the URL the jobs are picked from is the one they live on
        qovery = base.qovery.model_copy(update={"api_url": env[API_URL_ENV].rstrip("/")})
        base = base.model_copy(update={"qovery": qovery})
    try:
        settings = apply_environment(base, source, env, demo=demo, demo_command="qjob-tui init --demo")
    except ConfigError as exc:
        raise InitError(f"{exc}; nothing written") from None
    return settings, notes


# -- talking to Qovery ----------------------------------------------------------------------------------


async def jobs_of_environments(
    client: QoveryClient, environment_ids: Sequence[str], credential: str
) -> Selection:
    """Every job of the environments, for the non-interactive form. An empty environment is an error."""
    jobs: list[JobChoice] = []
    for env_id in environment_ids:
        environment = EnvironmentChoice(id=env_id)
        try:
            listed = await client.list_environment_jobs(env_id)
        except QoveryError as exc:
            raise InitError(f"{explain(exc, f'environment {env_id}', credential)}; nothing written") from None
        found = [job for data in listed if (job := JobChoice.from_response(data, environment))]
        if not found:
            raise InitError(
                f"environment {env_id} has no jobs: create a job in it first, or name another "
                "environment; nothing written"
            )
        jobs += [job for job in found if job.id not in {j.id for j in jobs}]
    return Selection(jobs=tuple(jobs))


async def empty_environments(client: QoveryClient, selection: Selection) -> list[EnvironmentChoice]:
    """The picked whole environments that have no job yet (worth a note: the dashboard would show none)."""
    empty = []
    for environment in selection.environments:
        with contextlib.suppress(QoveryError):  # only a note: a failure here must not stop the file
            if not await client.list_environment_jobs(environment.id):
                empty.append(environment)
    return empty


async def first_organizations(client: QoveryClient, credential: str) -> list[dict[str, Any]]:
    """The organizations the token sees, before any screen opens: a wrong token fails here, as a line."""
    try:
        organizations = await client.list_organizations()
    except QoveryError as exc:
        raise InitError(f"{explain(exc, 'organizations', credential)}; nothing written") from None
    organizations = [org for org in organizations if is_uuid(org.get("id"))]
    if not organizations:
        raise InitError(
            f"{credential} sees no organization: create one in the Qovery console, or use a token of an "
            "organization that has projects; nothing written"
        )
    return organizations


# -- the command ----------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = UsageParser(
        prog="qjob-tui init",
        description=(
            "Pick organization, project, environments and jobs, and write them into a commented config file. "
            "With --environment, no questions: every job of those environments is written (for scripts)."
        ),
    )
    parser.add_argument(
        "--config",
        metavar="PATH",
        help=f"file to write (default: ${CONFIG_ENV}, else ./{LOCAL_CONFIG})",
    )
    parser.add_argument("--force", action="store_true", help="replace the file if it exists")
    parser.add_argument("--demo", action="store_true", help="pick from the embedded Qovery simulator")
    parser.add_argument(
        "--environment",
        "-e",
        action="append",
        metavar="ID",
        default=[],
        help="an environment UUID; repeat it for more (no picker: every job of them is written)",
    )
    return parser


def main(argv: list[str], picker: PickerRunner | None = None) -> int:
    """`qjob-tui init ...`: 0 written, 1 cancelled, 2 for any error; nothing is written unless 0.

    `picker` is the terminal picker; it is used only when stdin and stdout are a terminal."""
    on_terminal = is_terminal(sys.stdin) and is_terminal(sys.stdout)
    try:
        return asyncio.run(main_async(argv, os.environ, picker if on_terminal else None))
    except KeyboardInterrupt:
        print("qjob-tui init: interrupted; nothing written", file=sys.stderr)
        return EXIT_CANCELLED


async def main_async(argv: list[str], env: Mapping[str, str], picker: PickerRunner | None = None) -> int:
    """`main` inside a running event loop; without `picker`, only the `--environment` form can run."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        return await run_init(args, env, picker)
    except InitError as exc:
        print(f"qjob-tui init: {exc}", file=sys.stderr)
        return EXIT_ERROR


async def run_init(
    args: argparse.Namespace, env: Mapping[str, str], picker: PickerRunner | None = None
) -> int:
    """The command after parsing: check, list or pick, write, say how to start the dashboard."""
    try:
        path = target_path(args.config, env)
    except ConfigError as exc:  # an empty --config
        raise InitError(f"{exc}; nothing written") from None
    environment_ids = check_environment_ids(args.environment)
    check_target(path, args.force)
    if not environment_ids and picker is None:
        raise InitError(
            "the picker needs a terminal; in a script name the environments instead: "
            "qjob-tui init --environment ID [--environment ID ...]; nothing written"
        )
    settings, notes = settings_for(path, args.demo, env)
    credential = credential_of(settings)
    async with open_qovery(settings) as client:
        if environment_ids:
            selection = await jobs_of_environments(client, environment_ids, credential)
        else:
            assert picker is not None
            organizations = await first_organizations(client, credential)
            picked = await picker(client, organizations, path, settings)
            if not picked:
                print("qjob-tui init: cancelled; nothing written", file=sys.stderr)
                return EXIT_CANCELLED
            selection = picked
            notes += [
                f"Note: {environment.name or environment.id} has no jobs yet; they will join the dashboard "
                "once created."
                for environment in await empty_environments(client, selection)
            ]
    command = start_command(path, args.demo, env)
    text = render_config(settings.config, selection, start_hint=command)
    try:
        write_file_atomically(path, text, overwrite=args.force)
    except FileExists:
        raise InitError(f"{path} already exists: pass --force to replace it; nothing written") from None
    except OSError as exc:
        raise InitError(f"{path}: cannot be written ({exc.strerror or exc}); nothing written") from None
    try:
        read_config(path)  # belt and braces: what is on disk is what was checked
    except ConfigError as exc:
        raise InitError(f"{path} was written but does not read back: {exc}") from None
    say = OutputLines(sys.stdout, sys.stderr)  # a reader gone or a full disk costs these lines, not the file
    say(f"Wrote {path}: {selection.describe()}.")
    for note in notes:
        say(note)
    say(f"Start the dashboard with: {command}")
    return EXIT_WRITTEN


def check_environment_ids(values: Sequence[str]) -> list[str]:
    out: list[str] = []
    for value in values:
        if not is_uuid(value):
            raise InitError(
                f"--environment {quoted_excerpt(value)} is not an environment UUID (like "
                "7a1f0c2e-5b3d-4e8f-9a6b-1c2d3e4f5a6b); copy it from the Qovery console's URL, or run "
                "`qjob-tui init` to pick; nothing written"
            )
        if value.lower() not in out:
            out.append(value.lower())
    return out


def check_target(path: Path, force: bool) -> None:
    """Fail before any question is asked when the file cannot be written."""
    if path.is_dir():
        raise InitError(f"{path} is a directory; name a file with --config; nothing written")
    if path.exists() and not force:
        raise InitError(
            f"{path} already exists: pass --force to replace it, or --config PATH to write another "
            "file; nothing written"
        )
