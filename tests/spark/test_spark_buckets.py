"""Time buckets of focus shards (``time_buckets``): windows and periods over bucket boundaries
are found exactly once, as the local engine finds them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import polars as pl
import pytest

from finintel.errors import UsageError
from finintel.schema import PARTIES, TRANSFERS
from finintel.typology.engine import detect
from finintel.typology.loader import load_rules

from .test_spark_boundaries import _tx

pytestmark = pytest.mark.spark

RULES = [
    "rules/typologies/general/fan-in.yaml",
    "rules/typologies/migrant-smuggling/rapid-pass-through.yaml",
    "rules/typologies/general/dormant-then-active.yaml",
]
T0 = datetime(2025, 1, 1, tzinfo=UTC)
BUCKETS = 4
# from the first transfer (T0) to the last (T0 + 200d): buckets of 50d + 1µs
B1, B2 = T0 + timedelta(days=50, microseconds=1), T0 + timedelta(days=100, microseconds=2)


def _data() -> SimpleNamespace:
    rows = [
        _tx(1, T0, "EDGE-A", "EDGE-B", 10.0),
        _tx(2, T0 + timedelta(days=200), "EDGE-B", "EDGE-A", 10.0),
        # one fan-in window across the first bucket boundary
        *[_tx(10 + i, B1 - timedelta(days=2, hours=-12 * i), f"SEND{i}", "COLLECT", 500.0,
              "FR" if i % 2 else "DE") for i in range(6)],
        # a new sender every 5 days for 130 days: one period over three buckets
        *[_tx(100 + i, T0 + timedelta(days=10 + 5 * i), f"FEED{i}", "COLLECT2", 300.0,
              "FR" if i % 2 else "DE") for i in range(27)],
        # money in an hour before the second boundary, out two hours after it
        _tx(200, B2 - timedelta(hours=1), "PAYER", "MULE", 5000.0),
        _tx(201, B2 + timedelta(hours=2), "MULE", "OUT", 4800.0),
        # quiet since the first day, then a burst in the last bucket (whole-history kind)
        _tx(300, T0 + timedelta(hours=1), "DORM", "X", 100.0),
        *[_tx(301 + i, T0 + timedelta(days=180, hours=i), "DORM", "Y", 2000.0) for i in range(3)],
    ]  # fmt: skip
    return SimpleNamespace(
        transfers=pl.DataFrame(rows, schema=TRANSFERS).lazy(),
        parties=pl.DataFrame(schema=PARTIES),
        base_currency="EUR",
    )


def test_windows_and_periods_over_bucket_boundaries_are_found_once(spark: Any) -> None:
    from finintel.spark import detect as spark_detect

    rules = load_rules(RULES)
    data = _data()
    local = detect(data, rules).table
    got = spark_detect(data, rules, spark, time_buckets=BUCKETS).table
    cols = ["alert_id", "focus", "tx_ids", "roles", "metrics", "first_ts", "last_ts"]
    assert got.select(cols).to_dicts() == local.select(cols).to_dicts()
    assert got["amount_base"].to_list() == pytest.approx(local["amount_base"].to_list())
    by_focus = {r["focus"]: r for r in got.iter_rows(named=True)}
    assert sorted(by_focus) == ["COLLECT", "COLLECT2", "DORM", "MULE"]
    assert by_focus["COLLECT"]["first_ts"] < B1 < by_focus["COLLECT"]["last_ts"]
    long = by_focus["COLLECT2"]  # windows of three buckets merged into one period
    assert long["first_ts"] < B1 and long["last_ts"] > B2
    assert long["n_transfers"] == 27
    assert by_focus["MULE"]["tx_ids"] == ["T0200", "T0201"]
    assert by_focus["MULE"]["first_ts"] < B2 < by_focus["MULE"]["last_ts"]
    assert by_focus["DORM"]["n_transfers"] == 3


def test_time_buckets_must_be_positive(spark: Any) -> None:
    from finintel.spark import detect as spark_detect

    with pytest.raises(UsageError) as err:
        spark_detect(_data(), load_rules(RULES), spark, time_buckets=0)
    assert err.value.code == "FI182"
