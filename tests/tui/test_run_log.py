"""How the detail screen's log lays a line out: wrapped under its message at word boundaries, by cells."""

from __future__ import annotations

from qjob_tui.tui.widgets.run_log import wrap


def rows(body: str, width: int) -> list[str]:
    return [body[start:end] for start, end in wrap(body, width)]


def test_a_line_that_fits_is_one_row() -> None:
    assert rows("Pulling image acme/pg-backup:2.4.1", 40) == ["Pulling image acme/pg-backup:2.4.1"]


def test_a_long_line_breaks_at_spaces_and_no_row_starts_with_one() -> None:
    assert rows("Waiting for job nightly-backup to complete", 16) == [
        "Waiting for job",
        "nightly-backup",
        "to complete",
    ]


def test_a_word_longer_than_the_row_is_cut() -> None:
    url = "https://hub.qovery.com/docs/using-qovery/troubleshoot/"
    assert rows(url, 20) == [url[:20], url[20:40], url[40:]]


def test_wide_characters_count_two_cells() -> None:
    assert rows("デプロイ完了 ok", 8) == ["デプロイ", "完了 ok"]


def test_an_empty_message_is_one_empty_row() -> None:
    assert wrap("", 10) == [(0, 0)]
