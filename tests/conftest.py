"""Shared test settings.

Hypothesis runs derandomized by default, so a CI run explores the same examples every time and lands or
fails on the code, not on the draw. `HYPOTHESIS_PROFILE=explore pytest tests/stress tests/init` searches
afresh with many more examples: run it after touching input validation.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("repeatable", derandomize=True)
settings.register_profile("explore", derandomize=False, max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))
