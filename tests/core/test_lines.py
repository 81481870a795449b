"""The lines every face prints alike: ISO times, one line per action outcome, the program's notes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from qjob_tui.actions import ACTIONS_BY_NAME, ForceEvent
from qjob_tui.lines import action_line, iso_utc, note_line
from qjob_tui.pipeline import ActionOutcome, ActionRefused, ActionRequest
from tests.common import CRON_JOB

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
