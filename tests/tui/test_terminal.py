"""The dashboard in a real terminal (tmux): keys sent in one write go where they would go typed slowly.

This is the path the bug took in the field: the terminal's bytes, read at once by Textual's driver and
parsed into a burst of keys. `tmux send-keys -l` writes its text to the pane in one write. The audit log is
what shows that nothing reached Qovery: every action from the dashboard writes a line there.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")


class Terminal:
    """One tmux pane on a private tmux server, running a command."""

    def __init__(self, socket: str, session: str) -> None:
        self.socket, self.session = socket, session

    def tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, *args], check=True, capture_output=True, text=True, timeout=10
        )
        return done.stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.session)

    def type(self, text: str) -> None:
        """`text` in one write, as a paste or a batch of keystrokes over SSH arrives."""
        self.tmux("send-keys", "-t", self.session, "-l", text)

    def key(self, name: str) -> None:
        self.tmux("send-keys", "-t", self.session, name)

    def until(self, condition: Callable[[str], bool], what: str, timeout_s: float = 30.0) -> str:
        """Poll the screen until `condition` holds (a guard against hanging, not a timing assertion)."""
        deadline = time.monotonic() + timeout_s
        while True:
            screen = self.screen()
            if condition(screen):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"never happened: {what}\n--- screen ---\n{screen}")
            time.sleep(0.1)


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[Terminal, Path]]:
    """`qjob-tui --demo` at 100x30 in tmux, with its audit log in tmp_path."""
    audit = tmp_path / "audit.jsonl"
    config = tmp_path / "qjob-tui.yaml"
    config.write_text(f"audit:\n  path: {audit}\n")
    terminal = Terminal(f"qjob-test-{uuid.uuid4().hex[:8]}", "dash")
    command = f"{sys.executable} -m qjob_tui --demo --config {config}; echo EXIT=$?; sleep 30"
    terminal.tmux("new-session", "-d", "-s", "dash", "-x", "100", "-y", "30", command)
    try:
        terminal.until(lambda s: "nightly-backup" in s and "DEPLOYMENT_ERROR" in s, "the demo's jobs")
        yield terminal, audit
    finally:
        terminal.tmux("kill-server")


def actions_sent(audit: Path) -> list[str]:
    return audit.read_text().splitlines() if audit.exists() else []


def test_a_filter_typed_in_one_write_filters_and_sends_nothing(demo: tuple[Terminal, Path]) -> None:
    terminal, audit = demo
    terminal.type("/dev")
    terminal.until(lambda s: "filter: dev" in s.splitlines()[0], "the filter in the header")
    terminal.type("ucsrD")  # every action key, in the open filter
    terminal.until(lambda s: "filter: devucsrD" in s.splitlines()[0], "the rest of the filter")
    terminal.key("Escape")
    terminal.until(lambda s: "filter:" not in s.splitlines()[0], "the filter cleared")
    terminal.type("/db")
    terminal.until(lambda s: "filter: db" in s.splitlines()[0], "the second filter")
    screen = terminal.screen()
    assert "Browse" not in screen.splitlines()[1]  # the picker did not open
    assert actions_sent(audit) == []


def test_deploy_options_typed_in_one_write_fill_both_fields_and_send_nothing(
    demo: tuple[Terminal, Path],
) -> None:
    terminal, audit = demo
    terminal.type("Dv2.1\tabc123")
    screen = terminal.until(lambda s: "abc123" in s, "the commit id in its field")
    lines = screen.splitlines()
    tag_line = next(n for n, line in enumerate(lines) if "Image tag" in line)
    commit_line = next(n for n, line in enumerate(lines) if "git commit id" in line)
    assert "v2.1" in "".join(lines[tag_line : tag_line + 4])
    assert "abc123" in "".join(lines[commit_line : commit_line + 4])
    assert "v2.1abc123" not in screen
    terminal.key("Enter")  # both fields: the dialog refuses, as it would typed slowly
    terminal.until(lambda s: "not both" in s, "the refusal in the dialog")
    terminal.key("Escape")
    terminal.until(lambda s: "Image tag" not in s, "the dialog closed")
    assert actions_sent(audit) == []
