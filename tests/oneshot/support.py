"""What the one-shot tests add to `tests.common`: a config whose jobs have their names (commands name jobs by
name), and the jobs it lists."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests import common
from tests.common import DEMO, LISTED_JOBS

LISTED = [spec for spec in DEMO.jobs if spec.id in LISTED_JOBS]


def write_config(tmp_path: Path, api_url: str, **options: Any) -> Path:
    """`qjob-tui.yaml` in `tmp_path`: the listed jobs with their names, polled every 10 s, the audit beside it."""
    options.setdefault("named", True)
    options.setdefault("poll_interval_s", 10)
    return common.write_config(tmp_path, api_url, **options)
