"""Saving picked entries into an existing config: the user's comments stay, or a copy says why not."""

from __future__ import annotations

import stat
import uuid
from pathlib import Path

import pytest

from qjob_tui.config import Config, JobEntry, read_config
from qjob_tui.configfile import EnvironmentChoice, JobChoice, Selection, append_to_config
from tests.common import job_id

from .support import DATA_PRODUCTION, PRODUCTION, STAGING

OLD_JOB = "0d6e3c5a-1f0b-4c55-9d7e-2b1a4f9c8e11"
STAGING_CHOICE = EnvironmentChoice(STAGING.id, "staging", "storefront", "Acme Robotics", "STAGING")
PRODUCTION_CHOICE = EnvironmentChoice(
    PRODUCTION.id, "production", "storefront", "Acme Robotics", "PRODUCTION"
)
DATA_CHOICE = EnvironmentChoice(DATA_PRODUCTION.id, "data-production", "data-platform", "Acme Robotics")


def backup_job() -> JobChoice:
    job = JobChoice.from_response(
        {"id": job_id("nightly-backup"), "name": 'nightly "backup": db', "job_type": "CRON"},
        PRODUCTION_CHOICE,
    )
    assert job is not None
    return job


SELECTION = Selection(environments=(DATA_CHOICE,), jobs=(backup_job(),))
NEW_JOB = JobEntry(id=job_id("nightly-backup"), name='nightly "backup": db', environment=PRODUCTION.id)

HAND_WRITTEN = f"""\
# My qjob-tui config. Do not lose this comment.
qovery:
  poll_interval_s: 5   # we are impatient

jobs:
  # the old one
  - id: {OLD_JOB}
    name: legacy   # keep me
  #- id: 11111111-1111-4111-8111-111111111111   (disabled)

# environments we watch
environments:
  - {STAGING.id}  # staging

ui:
  confirm: [uninstall]
"""


def lines_in_order(needles: list[str], text: str) -> bool:
    """Every needle is a line of `text`, in this order."""
    lines = iter(text.splitlines())
    return all(any(line == needle for line in lines) for needle in needles)


def test_new_entries_join_the_lists_and_every_comment_stays(tmp_path: Path) -> None:
    path = tmp_path / "qjob-tui.yaml"
    path.write_text(HAND_WRITTEN)

    result = append_to_config(path, SELECTION)

    assert not result.copy and result.path == path
    assert result.message == f"Saved to {path}"
    config = read_config(path)
    assert config.jobs == [JobEntry(id=OLD_JOB, name="legacy"), NEW_JOB]
    assert config.environments == [STAGING.id, DATA_PRODUCTION.id]
    assert config.qovery.poll_interval_s == 5 and config.ui.confirm == ["uninstall"]
    text = path.read_text()
    assert lines_in_order(HAND_WRITTEN.splitlines(), text)  # nothing of the user's is lost or moved
    assert lines_in_order(
        [
            "    name: legacy   # keep me",
            f"  - id: {NEW_JOB.id}  # cron job in Acme Robotics / storefront / production",
            '    name: "nightly \\"backup\\": db"',
            "  #- id: 11111111-1111-4111-8111-111111111111   (disabled)",
            f"  - {STAGING.id}  # staging",
            f"  - {DATA_PRODUCTION.id}  # Acme Robotics / data-platform / data-production",
            "ui:",
        ],
        text,
    )


def test_empty_flow_lists_become_block_lists_keeping_their_comment(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("jobs: []   # none yet\nenvironments: []\nserver:\n  rest_port: 8081\n")

    assert not append_to_config(path, SELECTION).copy

    text = path.read_text()
    assert text.startswith(f"jobs:  # none yet\n  - id: {NEW_JOB.id}")
    config = read_config(path)
    assert config.jobs == [NEW_JOB] and config.environments == [DATA_PRODUCTION.id]
    assert config.server.rest_port == 8081


def test_a_missing_list_is_added_at_the_end(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(f"jobs:\n- id: {OLD_JOB}\n  name: flush-left\n# end of my file")

    assert not append_to_config(path, SELECTION).copy

    text = path.read_text()
    assert f"- id: {OLD_JOB}\n  name: flush-left\n- id: {NEW_JOB.id}" in text  # lined up with the items there
    assert "# end of my file\n" in text
    assert text.rstrip().endswith(
        f"environments:\n  - {DATA_PRODUCTION.id}  # Acme Robotics / data-platform / data-production"
    )
    config = read_config(path)
    assert config.jobs == [JobEntry(id=OLD_JOB, name="flush-left"), NEW_JOB]
    assert config.environments == [DATA_PRODUCTION.id]


def test_entries_already_there_change_nothing(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    text = f"jobs:\n  - id: {NEW_JOB.id}\nenvironments:\n  - {DATA_PRODUCTION.id}\n"
    path.write_text(text)
    covered = JobChoice.from_response({"id": job_id("weekly-report"), "name": "weekly-report"}, DATA_CHOICE)
    assert covered is not None

    result = append_to_config(path, Selection(environments=(DATA_CHOICE,), jobs=(backup_job(), covered)))

    assert not result.copy
    assert path.read_text() == text


def test_a_list_written_in_flow_style_is_left_alone_and_a_copy_is_written(tmp_path: Path) -> None:
    path = tmp_path / "qjob-tui.yaml"
    original = f"# flow style\njobs: [{{id: {OLD_JOB}, name: legacy}}]\nui: {{confirm: [stop]}}\n"
    path.write_text(original)

    result = append_to_config(path, SELECTION)

    assert result.copy and result.path == tmp_path / "qjob-tui.browse.yaml"
    assert path.read_text() == original
    assert result.message.startswith(
        f"Wrote a full copy with the new entries to {result.path}: {path} could not be edited safely "
        "(jobs: is not a block list"
    )
    copy = read_config(result.path)
    assert copy.jobs == [JobEntry(id=OLD_JOB, name="legacy"), NEW_JOB]
    assert copy.ui.confirm == ["stop"]

    again = append_to_config(path, SELECTION)  # a second copy never replaces the first
    assert again.path == tmp_path / "qjob-tui.browse-2.yaml"


def test_a_file_that_no_longer_reads_gets_a_copy_from_the_running_config(tmp_path: Path) -> None:
    path = tmp_path / "qjob-tui.yaml"
    path.write_text("jobs:\n  - id: [broken\n")
    running = Config.model_validate({"jobs": [{"id": OLD_JOB}], "server": {"mcp_port": 9999}})

    result = append_to_config(path, SELECTION, fallback=running)

    assert result.copy and "does not read as a config now" in result.message
    assert path.read_text() == "jobs:\n  - id: [broken\n"
    copy = read_config(result.path)
    assert copy.jobs == [JobEntry(id=OLD_JOB), NEW_JOB] and copy.server.mcp_port == 9999


@pytest.mark.parametrize("mode", [0o644, 0o600])
def test_the_file_keeps_its_permissions(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("jobs: []\n")
    path.chmod(mode)
    append_to_config(path, SELECTION)
    assert stat.S_IMODE(path.stat().st_mode) == mode


def test_an_edit_that_would_not_read_back_the_same_is_never_written(tmp_path: Path) -> None:
    # A second document hidden behind a marker: lines inserted here would land in the wrong place.
    path = tmp_path / "c.yaml"
    original = f"jobs:\n  - id: {uuid.uuid4()!s}\n...\n"
    path.write_text(original)

    result = append_to_config(path, SELECTION)

    assert result.copy and path.read_text() == original
