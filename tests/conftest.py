"""Shared fixtures: paths to the committed fixtures and a fixed clock for timestamp bounds."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BAD = ROOT / "fixtures" / "bad"


@pytest.fixture
def bad_dir() -> Path:
    return BAD
