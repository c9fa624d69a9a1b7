"""Where the shipped rule library lives (typologies, lists, source profiles, FX tables)."""

from __future__ import annotations

import os
from pathlib import Path


def default_rules_dir() -> Path:
    """``$FININTEL_RULES``, else the ``rules/`` folder of a source checkout, else the packaged copy."""
    env = os.environ.get("FININTEL_RULES")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent
    checkout = here.parent / "rules"
    if checkout.is_dir():
        return checkout
    return here / "_rules"


def default_profiles_dir() -> Path:
    return default_rules_dir() / "sources"


def default_fx_tables() -> list[Path]:
    return sorted((default_rules_dir() / "fx").glob("*.csv"))
