"""The command line: arguments -> which faces run. Nothing else lives here.

    qjob-tui [--config PATH] [--demo] [--read-only] [--serve | --server] [--host HOST] [--rest-port N] [--mcp-port N]
    qjob-tui init [--demo] [--config PATH] [--force] [--environment ID ...]
    qjob-tui deploy|redeploy|stop|uninstall|clean-failed|status ...   (the one-shot commands: `oneshot`)
    qjob-tui mcp [--config PATH] [--demo]                               (MCP over stdio: `server/mcp_stdio.py`)

A subcommand is a row of `SUBCOMMANDS`: its name and the function that runs it on the rest of the line.
The options every subcommand takes (`--config PATH`, `--demo`, `--read-only`) may come before its name too.
Exit codes: 0 after a normal quit or a signal; 2 for usage, config or start-up errors, with one line that
names what is at fault (the one-shot commands have more: README "Scripts and CI"). A user's mistake never
prints a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import functools
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qjob_tui import __version__, oneshot
from qjob_tui.actions import quoted_excerpt
from qjob_tui.argtypes import UsageParser, add_read_only_argument, port_argument
from qjob_tui.audit import AuditError
from qjob_tui.config import ConfigError, Settings, check_server_exposure, load_settings
from qjob_tui.lines import is_terminal, note_line
from qjob_tui.startup import hold_collections, resume_collections, started

if TYPE_CHECKING:
    from qjob_tui.configfile import Selection
    from qjob_tui.qovery import QoveryClient

EXIT_OK = 0
EXIT_USAGE = 2

Subcommand = Callable[[list[str]], int]  # the rest of the line after the subcommand's name -> the exit code


def _init(argv: list[str]) -> int:
    from qjob_tui.init import main as init_main

    return init_main(argv, picker=_init_picker)


def _mcp(argv: list[str]) -> int:
    """`qjob-tui mcp [--config PATH] [--demo] [--read-only]`: the MCP tools over stdio."""
    parser = UsageParser(
        prog="qjob-tui mcp",
        description="The MCP tools over stdio (newline-delimited JSON-RPC), for clients that start their "
        "servers as a command. Logs go to stderr; stdout carries nothing but JSON-RPC.",
    )
    parser.add_argument("--config", metavar="PATH", help="config file (found as for the dashboard)")
    parser.add_argument("--demo", action="store_true", help="run against the embedded Qovery simulator")
    add_read_only_argument(parser)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        settings = load_settings(args.config, demo=args.demo)
        settings = with_server_overrides(settings, None, None, None, read_only=args.read_only)
        return asyncio.run(_mcp_stdio(settings))
    except (ConfigError, AuditError) as exc:
        print(note_line(str(exc)), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_OK


async def _mcp_stdio(settings: Settings) -> int:
    from qjob_tui.runtime import open_runtime
    from qjob_tui.server.mcp_stdio import serve_stdio

    async with open_runtime(settings) as runtime:
        return await serve_stdio(runtime)


SUBCOMMANDS: dict[str, Subcommand] = {
    "init": _init,
    "mcp": _mcp,
    **{name: functools.partial(oneshot.main, name) for name in oneshot.COMMANDS},
}

# The options a subcommand takes that may also stand before its name (`qjob-tui --demo deploy JOB`).
_LEADING_FLAGS = frozenset({"--demo", "--read-only"})
_LEADING_WITH_VALUE = frozenset({"--config"})


def find_subcommand(argv: Sequence[str]) -> tuple[str, list[str]] | None:
    """The subcommand a line names and the rest of its arguments (the leading options moved after it)."""
    index = 0
    while index < len(argv):
        token = argv[index]
        name, equals, _ = token.partition("=")
        if token in _LEADING_FLAGS or (equals and name in _LEADING_WITH_VALUE):
            index += 1
        elif token in _LEADING_WITH_VALUE:
            index += 2
        else:
            break
    if index < len(argv) and argv[index] in SUBCOMMANDS:
        return argv[index], [*argv[:index], *argv[index + 1 :]]
    return None


def build_parser() -> argparse.ArgumentParser:
    parser = UsageParser(
        prog="qjob-tui",
        description="A terminal dashboard and REST/MCP relay for the Qovery job actions.",
        epilog="First run: `qjob-tui --demo` (no account needed), or `qjob-tui init` to pick your jobs. "
        f"Subcommands: {', '.join(SUBCOMMANDS)} (`qjob-tui <subcommand> --help`).",
    )
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="config file (else $QJOB_TUI_CONFIG, ./qjob-tui.yaml, ~/.config/qjob-tui/config.yaml)",
    )
    parser.add_argument("--demo", action="store_true", help="run against the embedded Qovery simulator")
    add_read_only_argument(parser)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--serve", action="store_true", help="headless: the REST and MCP servers only")
    mode.add_argument("--server", action="store_true", help="the dashboard and the REST and MCP servers")
    parser.add_argument("--host", help="address the servers listen on (default 127.0.0.1)")
    parser.add_argument("--rest-port", type=port_argument, metavar="N", help="REST port (default 8080)")
    parser.add_argument("--mcp-port", type=port_argument, metavar="N", help="MCP port (default 9090)")
    parser.add_argument("--version", action="version", version=f"qjob-tui {__version__}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if (found := find_subcommand(args_list)) is not None:
        name, rest = found
        return SUBCOMMANDS[name](rest)
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(args_list)
        if extra:
            parser.error(_unrecognized(extra))
    except SystemExit as exc:
        return int(exc.code or 0)
    hold_collections()  # until the face is up (qjob_tui.startup); whatever happens, resumed on the way out
    try:
        return _run_faces(args)
    finally:
        resume_collections()


def _unrecognized(extra: list[str]) -> str:
    """What is wrong with a line the dashboard's parser does not take. The dashboard takes no word, so a first
    word that is no subcommand is one mistyped (`qjob-tui deply JOB`): named as such, not as options."""
    word = next((token for token in extra if not token.startswith("-")), None)
    if word is None or word in SUBCOMMANDS or extra[0] != word:
        return f"unrecognized arguments: {' '.join(extra)}"
    close = difflib.get_close_matches(word, list(SUBCOMMANDS), n=1, cutoff=0.6)
    commands = ", ".join(SUBCOMMANDS)
    if close:
        return (
            f"unknown command {quoted_excerpt(word)}; did you mean {close[0]}? The commands are: {commands}"
        )
    return f"unknown command {quoted_excerpt(word)}; the commands are: {commands}"


def _run_faces(args: argparse.Namespace) -> int:
    """The dashboard (with the servers for --server) or the headless relay: the exit code."""
    try:
        settings = load_settings(args.config, demo=args.demo)
        settings = with_server_overrides(
            settings, args.host, args.rest_port, args.mcp_port, read_only=args.read_only
        )
        if args.serve or args.server:
            check_server_exposure(settings.config.server.host, settings.server_token)
    except ConfigError as exc:
        print(note_line(str(exc)), file=sys.stderr)
        return EXIT_USAGE
    try:
        if args.serve:
            return asyncio.run(_serve(settings))
        return asyncio.run(_dashboard(settings, with_servers=args.server))
    except (ConfigError, AuditError) as exc:
        print(note_line(str(exc)), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_OK


async def _init_picker(
    client: QoveryClient, organizations: list[dict[str, Any]], path: Path, settings: Settings
) -> Selection | None:
    """`init`'s terminal picker, a screen of the dashboard's face: loaded only when the picker is asked for."""
    from qjob_tui.tui.screens.picker import run_picker

    return await run_picker(client, organizations, path, settings)


def with_server_overrides(
    settings: Settings, host: str | None, rest: int | None, mcp: int | None, *, read_only: bool = False
) -> Settings:
    """Apply --host/--rest-port/--mcp-port over `server.*` of the config, and --read-only (which can only
    turn read-only on: a config that says read-only stays so)."""
    update: dict[str, object] = {
        k: v for k, v in {"host": host, "rest_port": rest, "mcp_port": mcp}.items() if v is not None
    }
    if read_only:
        update["read_only"] = True
    if not update:
        return settings
    server = settings.config.server.model_copy(update=update)
    config = settings.config.model_copy(update={"server": server})
    return Settings(
        config, settings.path, settings.api_url, settings.qovery_token, settings.server_token, settings.demo
    )


async def _serve(settings: Settings) -> int:
    from qjob_tui.runtime import open_runtime
    from qjob_tui.server import serve_headless

    async with open_runtime(settings) as runtime:
        started()  # the relay is up once it serves: from here on, collections as usual
        return await serve_headless(runtime)


def _on_a_terminal() -> bool:
    """Whether the dashboard can run: Textual reads keys from stdin and draws on stderr. Without a terminal
    (a script, CI, `qjob-tui $EMPTY`) it would draw into a pipe or a log until killed. Checked once the
    runtime is open, so that a config or audit problem is the one said."""
    return is_terminal(sys.stdin) and is_terminal(sys.stderr)


async def _dashboard(settings: Settings, with_servers: bool) -> int:
    from qjob_tui.runtime import open_runtime
    from qjob_tui.tui.app import QJobApp

    async with open_runtime(settings) as runtime:
        if not _on_a_terminal():
            print(
                note_line(
                    "the dashboard needs a terminal (stdin and stderr are not one): from a script, use the "
                    "one-shot commands (qjob-tui status, qjob-tui deploy JOB ...), or use --serve for the REST "
                    "and MCP servers alone"
                ),
                file=sys.stderr,
            )
            return EXIT_USAGE
        if not with_servers:
            app = QJobApp(runtime)
            await app.run_async()
            return app.return_code or EXIT_OK
        from qjob_tui.server import RelayServers

        server_log: list[str] = []  # the servers append, the app drains into its log pane
        async with RelayServers(runtime, log=server_log.append) as servers:
            app = QJobApp(
                runtime, rest_port=servers.rest_port, mcp_port=servers.mcp_port, server_log=server_log
            )
            await app.run_async()
            return app.return_code or EXIT_OK
