"""One local Spark (local[2]) for every Spark test; skipped without pyspark or Java."""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

SHARDS = 4


def tx(i: int, ts: datetime, src: str, dst: str, amount: float, **more: Any) -> dict[str, Any]:
    """A completed EUR bank transfer row ``T{i:04d}`` (canonical columns), with ``more``."""
    return {
        "tx_id": f"T{i:04d}",
        "ts": ts,
        "src_account": src,
        "dst_account": dst,
        "amount": amount,
        "currency": "EUR",
        "amount_base": amount,
        "channel": "bank",
        "source": "bank",
        "status": "completed",
        **more,
    }


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    if importlib.util.find_spec("pyspark") is None:
        pytest.skip("pyspark is not installed (pip install 'finintel[spark]')")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("no Java (Spark needs Java 17+)")
    from finintel.spark import session

    yield session("local[2]", SHARDS)
