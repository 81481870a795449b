"""The files qjob-tui keeps: directories it makes are 0700 and the audit file 0600 whatever the umask, a wider
audit file is tightened (and the operator told), and a symbolic link at the audit path is refused."""

from __future__ import annotations

import asyncio
import io
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from qjob_tui.audit import AuditError, AuditLog
from qjob_tui.cli import main
from qjob_tui.configfile import write_file_atomically
from qjob_tui.files import make_private_dirs
from qjob_tui.runtime import open_runtime
from qjob_tui.server import serve_headless
from qjob_tui.simulator import serve_simulator
from tests.common import API_TOKEN, quiet_simulator, relay_settings

from .conftest import UserEnv


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def no_umask() -> Iterator[None]:
    """The process's umask at 000 for the test (the worst a user's shell can give)."""
    before = os.umask(0)
    try:
        yield
    finally:
        os.umask(before)


def test_the_state_dirs_and_the_audit_file_are_private_even_under_umask_000(
    tmp_path: Path, no_umask: None
) -> None:
    path = tmp_path / "home" / ".local" / "state" / "qjob-tui" / "audit.jsonl"
    AuditLog(path).close()
    made = [tmp_path / "home", *(tmp_path / "home").glob("**/*")]
    assert {str(p.relative_to(tmp_path)): mode(p) for p in made if p.is_dir()} == {
        "home": 0o700,
        "home/.local": 0o700,
        "home/.local/state": 0o700,
        "home/.local/state/qjob-tui": 0o700,
    }
    assert mode(path) == 0o600


def test_a_directory_that_exists_is_left_as_it_is(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o755)
    make_private_dirs(shared / "qjob-tui")
    assert (mode(shared), mode(shared / "qjob-tui")) == (0o755, 0o700)


def test_a_config_file_written_by_init_sits_in_a_private_directory(tmp_path: Path, no_umask: None) -> None:
    path = tmp_path / "config" / "qjob-tui" / "config.yaml"
    write_file_atomically(path, "jobs: []\n", overwrite=False)
    assert (mode(tmp_path / "config"), mode(path.parent), mode(path)) == (0o700, 0o700, 0o600)


def test_an_audit_file_readable_by_others_is_tightened_and_the_operator_told(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    path.write_text('{"earlier":true}\n')
    path.chmod(0o644)
    log = AuditLog(path)
    log.append({"later": True})
    log.close()
    assert mode(path) == 0o600
    assert log.notes == [
        f"audit.path: {path} was readable by others (mode 644); it is 600 now, the owner's alone"
    ]
    assert path.read_text() == '{"earlier":true}\n{"later":true}\n'  # appended to, nothing lost
    assert AuditLog(path).notes == []  # private now: nothing more to say


async def test_serve_says_that_it_tightened_the_audit_file(tmp_path: Path) -> None:
    audit = tmp_path / "audit.jsonl"
    audit.write_text("")
    audit.chmod(0o664)
    stderr, stop = io.StringIO(), asyncio.Event()
    async with (
        serve_simulator(quiet_simulator()) as url,
        open_runtime(relay_settings(tmp_path, url)) as runtime,
    ):
        serving = asyncio.create_task(serve_headless(runtime, stop=stop, stderr=stderr))
        async with asyncio.timeout(30):
            while "was readable by others" not in stderr.getvalue():  # noqa: ASYNC110 - its own pace
                await asyncio.sleep(0.02)
        stop.set()
        assert await serving == 0
    [line] = [line for line in stderr.getvalue().splitlines() if "readable by others" in line]
    assert (
        line
        == f"qjob-tui: audit.path: {audit} was readable by others (mode 664); it is 600 now, the owner's alone"
    )


def test_a_symbolic_link_at_the_audit_path_is_refused(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("someone else's file\n")
    elsewhere.chmod(0o644)
    link = tmp_path / "audit.jsonl"
    link.symlink_to(elsewhere)
    with pytest.raises(AuditError) as caught:
        AuditLog(link)
    assert str(caught.value).startswith(f"audit.path: {link} is a symbolic link, and qjob-tui follows none")
    assert elsewhere.read_text() == "someone else's file\n"  # neither written nor chmod-ed through the link
    assert mode(elsewhere) == 0o644


def test_a_symbolic_link_at_the_audit_path_stops_the_start_with_one_line(
    user_env: UserEnv, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("QOVERY_API_KEY", API_TOKEN)
    target = user_env.work / "target.jsonl"
    target.write_text("")
    link = user_env.work / "audit.jsonl"
    link.symlink_to(target)
    (user_env.work / "qjob-tui.yaml").write_text(f"audit:\n  path: {link}\n")
    code = main(["--serve"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    [line] = err.strip().splitlines()
    assert line.startswith(f"qjob-tui: audit.path: {link} is a symbolic link")
    assert target.read_text() == ""  # nothing written through the link
