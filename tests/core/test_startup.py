"""The start-up's garbage collections: held by the entry, resumed (and what exists frozen) once the face is up;
a process that did not hold them is left alone."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from qjob_tui.cli import main
from qjob_tui.startup import hold_collections, resume_collections, started


@pytest.fixture(autouse=True)
def collector_restored() -> Iterator[None]:
    yield
    resume_collections()
    gc.enable()
    gc.unfreeze()  # what a test froze is collectable again in the rest of the session


def test_held_until_started_then_what_exists_is_frozen() -> None:
    hold_collections()
    assert not gc.isenabled()
    started()
    assert gc.isenabled()
    assert gc.get_freeze_count() > 0


def test_started_without_a_hold_changes_nothing() -> None:
    frozen = gc.get_freeze_count()
    started()
    assert gc.isenabled()
    assert gc.get_freeze_count() == frozen


def test_a_start_that_fails_resumes_collections_without_freezing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    frozen = gc.get_freeze_count()
    assert (
        main(["--config", str(tmp_path / "nowhere.yaml")]) == 2
    )  # the dashboard's path, stopped by its config
    assert "nowhere.yaml" in capsys.readouterr().err
    assert gc.isenabled()
    assert gc.get_freeze_count() == frozen
