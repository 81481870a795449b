"""The one-shot command lines: generated from the action table, dispatched by the entry from its table."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from qjob_tui import cli
from qjob_tui.actions import ACTIONS, ACTIONS_BY_NAME, ENVIRONMENT, BodyKind, JobAction
from qjob_tui.oneshot.arguments import (
    COMMANDS,
    DEFAULT_TIMEOUT_S,
    ActionArgs,
    StatusArgs,
    command_names,
    parse,
)

# A throwaway row, as a sixth action would be: it must get its subcommand and the options its facts call for.
RESTART = dataclasses.replace(
    ACTIONS_BY_NAME["deploy"], name="restart", upstream_path="/job/{jobId}/restart", destructive=True
)


def test_every_row_of_the_table_is_a_subcommand_and_every_subcommand_is_dispatched() -> None:
    assert (*(action.name for action in ACTIONS), "status", "logs") == COMMANDS
    for name in COMMANDS:
        assert name in cli.SUBCOMMANDS


@pytest.mark.parametrize("action", ACTIONS, ids=[a.name for a in ACTIONS])
def test_each_action_takes_the_options_its_row_calls_for(action: JobAction) -> None:
    options = {
        "--force-event": ["--force-event", "CRON"],
        "--image-tag": ["--image-tag", "v2"],
        "--yes": ["--yes"],
    }
    expected = {
        "--force-event": action.force_event,
        "--image-tag": action.body is BodyKind.DEPLOY,
        "--yes": action.destructive,
    }
    for option, argv in options.items():
        if expected[option]:
            assert isinstance(parse(action.name, ["job", *argv]), ActionArgs)
        else:
            with pytest.raises(SystemExit) as refused:
                parse(action.name, ["job", *argv])
            assert refused.value.code == 2


def test_a_new_row_gets_its_subcommand_with_no_edit_of_the_face() -> None:
    args = parse(
        "restart",
        ["--yes", "my-job", "--force-event", "START", "--commit-id", "abc", "--watch", "--json"],
        actions=(*ACTIONS, RESTART),
    )
    assert isinstance(args, ActionArgs)
    assert (args.action, args.job, args.force_event, args.body) == (
        RESTART,
        "my-job",
        "START",
        {"git_commit_id": "abc"},
    )
    assert (args.yes, args.watch, args.json, args.timeout_s) == (True, True, True, DEFAULT_TIMEOUT_S)


def test_an_environment_action_is_no_subcommand_of_a_job() -> None:
    cancel = dataclasses.replace(RESTART, name="cancel-deployment", target=ENVIRONMENT)
    assert "cancel-deployment" not in command_names((*ACTIONS, cancel))


def test_the_deploy_body_and_the_common_options_anywhere_on_the_line() -> None:
    args = parse(
        "deploy", ["--json", "nightly-backup", "--image-tag", "2.5.0", "--demo", "--config", "x.yaml"]
    )
    assert isinstance(args, ActionArgs)
    assert (args.body, args.json, args.demo, args.config) == ({"image_tag": "2.5.0"}, True, True, "x.yaml")
    assert parse("status", ["a", "--json", "b"]) == StatusArgs(
        command="status", config=None, demo=False, read_only=False, json=True, jobs=("a", "b")
    )


@pytest.mark.parametrize(
    ("line", "found"),
    [
        (["deploy", "x"], ("deploy", ["x"])),
        (["--demo", "deploy", "x", "--watch"], ("deploy", ["--demo", "x", "--watch"])),
        (["--config", "c.yaml", "--read-only", "status"], ("status", ["--config", "c.yaml", "--read-only"])),
        (["--config=c.yaml", "stop", "x"], ("stop", ["--config=c.yaml", "x"])),
        (["--config", "status"], None),  # `status` is the config's path here: the dashboard's line
        (["--demo"], None),
        (
            ["--serve", "deploy"],
            None,
        ),  # not an option a subcommand takes: the dashboard's line, refused there
    ],
)
def test_the_entry_finds_the_subcommand_after_the_options_every_subcommand_takes(
    line: list[str], found: tuple[str, list[str]] | None
) -> None:
    assert cli.find_subcommand(line) == found


def test_the_table_rows_facts_decide_who_asks_first() -> None:
    # `confirm` is the dashboard's default question; a script is asked for --yes only where the row destroys.
    askers = [action.name for action in ACTIONS if action.destructive]
    assert askers == ["uninstall"]
    stop = ACTIONS_BY_NAME["stop"]
    assert stop.confirm and not stop.destructive
    with pytest.raises(SystemExit):
        parse("stop", ["job", "--yes"])


@pytest.mark.parametrize(
    ("line", "says"),
    [
        (
            ["deply", "nightly-backup"],
            "qjob-tui: unknown command 'deply'; did you mean deploy? The commands are: ",
        ),
        (["--demo", "stauts"], "qjob-tui: unknown command 'stauts'; did you mean status? The commands are: "),
        (["nightly-backup"], "qjob-tui: unknown command 'nightly-backup'; the commands are: "),
        (["--bogus"], "qjob-tui: unrecognized arguments: --bogus (see qjob-tui --help)"),
    ],
)
def test_a_mistyped_command_is_named_with_what_was_meant(
    line: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Without this, `qjob-tui deply JOB` said "unrecognized arguments: deply JOB": the dashboard's options.
    assert cli.main(line) == 2
    err = capsys.readouterr().err
    assert err.startswith(says) and err.count("\n") == 1
    if "commands are" in says:
        assert ", ".join(cli.SUBCOMMANDS) in err


@pytest.mark.parametrize("command", COMMANDS)
def test_every_help_fits_a_terminal_and_its_exit_codes_say_where_a_wrong_job_name_goes(
    command: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    with pytest.raises(SystemExit) as done:
        parse(command, ["--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    too_wide = [line for line in text.splitlines() if len(line) > 80]
    assert too_wide == []  # uninstall's description was one line of 140 characters
    if command in {action.name for action in ACTIONS}:
        assert (
            "2  usage or config error, an unknown or ambiguous JOB name," in text
        )  # README: an unknown name exits 2


@pytest.mark.parametrize(
    ("command", "line"),
    [
        ("uninstall", ["nightly-backup", "--y"]),  # --yes, for the one action that must be confirmed
        ("deploy", ["nightly-backup", "--wat"]),
        ("deploy", ["nightly-backup", "--image", "2.5.0"]),
        ("status", ["--js"]),
    ],
)
def test_only_the_flags_of_the_contract_are_taken_not_their_prefixes(
    command: str, line: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # A prefix that works today breaks the day a flag sharing it is added; and `--y` must not pass for --yes.
    with pytest.raises(SystemExit) as done:
        parse(command, line)
    assert done.value.code == 2
    assert "unrecognized arguments: " + line[-1] in capsys.readouterr().err or "--image" in line


def test_the_dashboards_line_takes_no_prefix_either(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # (A config that is not there: taken as --read-only, the prefix would end on it, not start a dashboard.)
    assert cli.main(["--read-onl", "--config", str(tmp_path / "none.yaml")]) == 2
    assert "unrecognized arguments: --read-onl" in capsys.readouterr().err
