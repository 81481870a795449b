"""Where the lines go: JSON alone on stdout with --json, the human lines on stderr only when a person looks."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

from qjob_tui.actions import ACTIONS_BY_NAME
from qjob_tui.jobs import JobInfo
from qjob_tui.oneshot.report import Reporter, Subject
from qjob_tui.oneshot.results import Ending, Exit
from qjob_tui.pipeline import ActionOutcome, ActionRequest
from qjob_tui.redaction import Redactor
from tests.common import CRON_JOB


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def a_watch(reporter: Reporter) -> None:
    request = ActionRequest(ACTIONS_BY_NAME["deploy"], CRON_JOB, source="cli")
    data = {"id": CRON_JOB, "state": "DEPLOYMENT_QUEUED", "event": "Qovery's own key"}
    outcome = ActionOutcome(request, datetime.now(UTC), status=202, data=data, job_name="nightly-backup")
    reporter.accepted(outcome)
    reporter.state("DEPLOYING")
    reporter.end(Ending(Exit.FAILED, "the run ended in DEPLOYMENT_ERROR", "DEPLOYMENT_ERROR"))


def test_with_json_stdout_holds_only_json_and_a_terminal_on_stderr_sees_the_progress() -> None:
    stdout, stderr = io.StringIO(), Terminal()
    a_watch(
        Reporter(
            json_lines=True,
            stdout=stdout,
            stderr=stderr,
            subject=Subject("deploy", CRON_JOB, "nightly-backup"),
        )
    )
    records = [json.loads(line) for line in stdout.getvalue().splitlines()]
    assert [record["event"] for record in records] == ["accepted", "state", "result"]
    assert records[0]["state"] == "DEPLOYMENT_QUEUED"  # Qovery's answer, its keys beside ours
    shown = stderr.getvalue().splitlines()
    assert " cli deploy nightly-backup 202 " in shown[0] and shown[1].endswith(" nightly-backup DEPLOYING")
    assert shown[-1] == "qjob-tui: deploy nightly-backup: the run ended in DEPLOYMENT_ERROR"


def test_with_json_and_no_terminal_stderr_has_only_the_reason_it_failed() -> None:
    stdout, stderr = io.StringIO(), io.StringIO()
    a_watch(
        Reporter(
            json_lines=True,
            stdout=stdout,
            stderr=stderr,
            subject=Subject("deploy", CRON_JOB, "nightly-backup"),
        )
    )
    assert len(stdout.getvalue().splitlines()) == 3
    assert stderr.getvalue() == "qjob-tui: deploy nightly-backup: the run ended in DEPLOYMENT_ERROR\n"


def test_without_json_the_human_lines_are_on_stdout_and_the_failure_on_stderr() -> None:
    stdout, stderr = io.StringIO(), Terminal()
    a_watch(
        Reporter(
            json_lines=False,
            stdout=stdout,
            stderr=stderr,
            subject=Subject("deploy", CRON_JOB, "nightly-backup"),
        )
    )
    assert len(stdout.getvalue().splitlines()) == 2 and "{" not in stdout.getvalue()
    assert stderr.getvalue().splitlines() == [
        "qjob-tui: deploy nightly-backup: the run ended in DEPLOYMENT_ERROR"
    ]


def test_outside_text_cannot_drive_the_terminal_nor_forge_a_line_nor_show_a_secret() -> None:
    stdout, stderr = Terminal(), Terminal()
    reporter = Reporter(
        json_lines=False, stdout=stdout, stderr=stderr, subject=Subject("deploy", CRON_JOB, "nightly\x1b[2J")
    )
    reporter.redactor = Redactor(["qov-secret-token-4711"])
    reporter.state("DEPLOYED\nqjob-tui: deploy nightly-backup: forged")
    reporter.note("Qovery said: bad token qov-secret-token-4711")
    reporter.jobs([JobInfo(id=CRON_JOB, name="evil\x1b]0;title\x07", state="DEPLOYED")])
    out, err = stdout.getvalue(), stderr.getvalue()
    assert "\x1b" not in out + err and "\x07" not in out
    assert len(out.splitlines()) == 3  # the state line stayed one line; the table's header and row
    assert "nightly\\x1b[2J DEPLOYED\\nqjob-tui: deploy nightly-backup: forged" in out
    assert err == "qjob-tui: Qovery said: bad token [redacted]\n"
    header, row = out.splitlines()[1:]
    assert row.index(CRON_JOB) == header.index("ID")  # the columns hold the escaped name
