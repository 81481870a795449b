"""Where the one-shot commands' lines go when nobody can take them: a reader that has gone (`| head -1`, a
closed pipe) or a stdout that cannot be written (a full disk, /dev/full). The command still does what it
does and exits with its own code; no traceback, and a stdout that failed for another reason than a gone
reader is said once on stderr (a script writing to a file must learn that its file is short).
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from tests.common import qjob_tui_command, read_outcomes, user_env

from .support import write_config


async def run_with_stdout(tmp_path: Path, stdout: int, *args: str) -> tuple[int, str]:
    """The real command with `stdout` as its standard output: its exit code and its stderr."""
    process = await asyncio.create_subprocess_exec(
        *qjob_tui_command(), *args, stdin=asyncio.subprocess.DEVNULL, stdout=stdout,
        stderr=asyncio.subprocess.PIPE, cwd=tmp_path, env=user_env(tmp_path),
    )  # fmt: skip
    _, stderr = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, stderr.decode()


async def run_with_closed_pipe(tmp_path: Path, *args: str) -> tuple[int, str]:
    """The real command writing into a pipe whose reader has already gone."""
    reader, writer = os.pipe()
    os.close(reader)
    try:
        return await run_with_stdout(tmp_path, writer, *args)
    finally:
        os.close(writer)


@pytest.mark.parametrize("json_lines", [False, True])
async def test_a_reader_that_has_gone_costs_the_lines_and_nothing_else(
    tmp_path: Path, json_lines: bool
) -> None:
    config = write_config(tmp_path, "http://127.0.0.1:9")  # --demo: the config only names the audit log
    code, stderr = await run_with_closed_pipe(
        tmp_path,
        "deploy",
        "nightly-backup",
        "--demo",
        "--config",
        str(config),
        *(["--json"] if json_lines else []),
    )
    assert code == 0, stderr
    assert "Traceback" not in stderr and stderr == ""
    assert [record["status"] for record in read_outcomes(tmp_path / "audit.jsonl")] == [
        202
    ]  # it acted all the same


@pytest.mark.parametrize(
    "command", [["status"], ["logs", "cache-warmup"], ["deploy", "nightly-backup", "--json"]]
)
async def test_a_stdout_that_cannot_be_written_is_said_once_on_stderr(
    tmp_path: Path, command: list[str]
) -> None:
    full = os.open("/dev/full", os.O_WRONLY)
    try:
        code, stderr = await run_with_stdout(tmp_path, full, *command, "--demo")
    finally:
        os.close(full)
    assert code == 0, stderr
    assert "Traceback" not in stderr
    assert stderr.splitlines() == [
        "qjob-tui: stdout cannot be written (No space left on device); the rest of its lines are lost"
    ]


async def test_with_stderr_closed_stdout_still_holds_only_the_json_lines(tmp_path: Path) -> None:
    # A supervisor that starts the command with fd 2 closed: Python's sys.stderr is None, and print(file=None)
    # writes to stdout, so the human line of a failure came after the result line.
    process = await asyncio.create_subprocess_exec(
        "sh", "-c", 'exec "$@" 2>&-', "sh", *qjob_tui_command(), "deploy", "nope", "--demo", "--json",
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, cwd=tmp_path, env=user_env(tmp_path),
    )  # fmt: skip
    stdout, _ = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 2
    (result,) = [json.loads(line) for line in stdout.decode().splitlines()]
    assert (result["event"], result["result"]) == ("result", "usage")
