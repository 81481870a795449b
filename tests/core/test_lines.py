"""The lines every face prints alike: ISO times, one line per action outcome, the program's notes."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta, timezone

from qjob_tui.actions import ACTIONS_BY_NAME, ForceEvent
from qjob_tui.lines import LinePrinter, action_line, iso_utc, note_line, printable
from qjob_tui.pipeline import ActionOutcome, ActionRefused, ActionRequest
from qjob_tui.redaction import Redactor
from tests.common import API_TOKEN, CRON_JOB

NOON = datetime(2026, 5, 19, 10, 0, 0, 123456, UTC)


def test_iso_utc_of_a_datetime_and_of_a_timestamp() -> None:
    assert iso_utc(NOON) == "2026-05-19T10:00:00.123Z"
    assert iso_utc(NOON, "seconds") == "2026-05-19T10:00:00Z"
    assert iso_utc(NOON.timestamp(), "seconds") == "2026-05-19T10:00:00Z"
    paris = NOON.astimezone(timezone(timedelta(hours=2)))
    assert iso_utc(paris) == "2026-05-19T10:00:00.123Z"  # another zone is written in UTC


def test_an_action_line_names_time_source_action_event_job_result_and_duration() -> None:
    request = ActionRequest(ACTIONS_BY_NAME["deploy"], CRON_JOB, ForceEvent.CRON, None, "rest")
    outcome = ActionOutcome(request, NOON, elapsed_s=0.0451, status=202, job_name="nightly-backup")
    assert action_line(outcome) == "2026-05-19T10:00:00.123Z rest deploy CRON nightly-backup 202 45ms"


def test_an_action_line_of_a_refusal_from_a_new_face_names_the_job_id() -> None:
    request = ActionRequest(ACTIONS_BY_NAME["stop"], CRON_JOB, source="cli")  # the source is open
    refused = ActionRefused(403, "Refused", "the operator said no")
    outcome = ActionOutcome(request, NOON, refused=refused)
    assert (
        action_line(outcome)
        == f"2026-05-19T10:00:00.123Z cli stop {CRON_JOB} refused: the operator said no 0ms"
    )


def test_a_note_line_names_the_program() -> None:
    assert note_line("stopped") == "qjob-tui: stopped"


def test_printable_writes_control_characters_and_escapes_as_visible_escapes() -> None:
    assert printable("ok") == "ok"
    assert printable("a\nb\r\tc") == "a\\nb\\r\\tc"
    assert (
        printable("\x1b[31mred\x1b[0m \x9b2J \u2028 \u202e \ud800")
        == "\\x1b[31mred\\x1b[0m \\x9b2J \\u2028 \\u202e \\ud800"
    )
    assert printable("déjà vu 😀 [bold]") == "déjà vu 😀 [bold]"  # printable text stays as it is


def test_a_qovery_message_with_a_line_break_cannot_forge_a_second_line() -> None:
    request = ActionRequest(ACTIONS_BY_NAME["stop"], CRON_JOB, source="rest")
    forged = "no\n2026-05-19T10:00:01.000Z rest deploy nightly-backup 202 1ms\x1b]0;owned\x07"
    outcome = ActionOutcome(request, NOON, refused=ActionRefused(409, "Conflict", forged))
    line = action_line(outcome)
    assert len(line.splitlines()) == 1 and "\x1b" not in line and "\x07" not in line
    assert "no\\n2026-05-19T10:00:01.000Z rest deploy" in line
    assert note_line("bad\nline") == "qjob-tui: bad\\nline"


def test_the_line_printer_prints_one_safe_line_without_secrets() -> None:
    out = io.StringIO()
    say = LinePrinter(out, Redactor.for_qovery(API_TOKEN))
    say(f"Qovery answered 400: bad token Token {API_TOKEN}\n\x1b[2J")
    assert out.getvalue() == "Qovery answered 400: bad token Token [redacted]\\n\\x1b[2J\n"


def test_the_line_printer_survives_a_closed_stream() -> None:
    out = io.StringIO()
    out.close()
    LinePrinter(out, Redactor())("nobody reads this")  # no exception: the face goes on
