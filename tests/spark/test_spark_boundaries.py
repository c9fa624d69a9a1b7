"""Shard and chunk boundaries: each pattern is found exactly once, as the local engine finds it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import polars as pl
import pytest

from finintel.errors import DataError
from finintel.schema import PARTIES, TRANSFERS
from finintel.typology.engine import detect
from finintel.typology.loader import load_rules

from .conftest import SHARDS, tx

pytestmark = pytest.mark.spark

RULES = [
    "rules/typologies/general/fan-in.yaml",
    "rules/typologies/graph/circular-payments.yaml",
    "rules/typologies/graph/gather-scatter.yaml",
    "rules/typologies/graph/bipartite.yaml",
]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CHUNK_WINDOWS = 2
# A boundary of both chunk grids: 2 × 30d (cycle) and 2 × 14d (gather-scatter) from 1970-01-01.
GRID = timedelta(days=420)
BOUNDARY = EPOCH + GRID * ((datetime(2025, 3, 1, tzinfo=UTC) - EPOCH) // GRID + 1)


def _tx(i: int, ts: datetime, src: str, dst: str, amount: float, country: str = "DE") -> dict:
    return tx(i, ts, src, dst, amount, src_country=country, dst_country="DE")


def _data() -> SimpleNamespace:
    b = BOUNDARY
    rows = [
        # fan-in: six senders from two countries pay COLLECT within four days
        *[
            _tx(i, b - timedelta(days=100, hours=-i), f"SEND{i}", "COLLECT", 500.0 + i,
                "FR" if i % 2 else "DE")
            for i in range(6)
        ],
        # a ring whose first hop is in one time chunk and the rest in the next
        _tx(10, b - timedelta(days=2), "RING-A", "RING-B", 6000.0),
        _tx(11, b + timedelta(hours=1), "RING-B", "RING-C", 5900.0),
        _tx(12, b + timedelta(days=1), "RING-C", "RING-A", 5800.0),
        # gather before the boundary, scatter after it: one window over two chunks
        *[_tx(20 + i, b - timedelta(days=3 - i), f"SRC{i}", "HUB", 1000.0) for i in range(3)],
        *[_tx(30 + i, b + timedelta(days=1 + i), "HUB", f"SINK{i}", 990.0) for i in range(3)],
        # a clearing pair over the graph kinds' degree cap (2000): left out, and reported
        *[
            _tx(100 + i, b - timedelta(days=200, seconds=-30 * i), "PAYER", "CLEARING", 10.0)
            for i in range(2001)
        ],
    ]  # fmt: skip
    frame = pl.DataFrame(rows, schema=TRANSFERS)
    return SimpleNamespace(
        transfers=frame.lazy(), parties=pl.DataFrame(schema=PARTIES), base_currency="EUR"
    )


def _spark_detect(spark: Any, data: Any, **kw: Any) -> Any:
    from finintel.spark import detect as spark_detect

    return spark_detect(data, load_rules(RULES), spark, chunk_windows=CHUNK_WINDOWS, **kw)


def test_each_boundary_pattern_is_found_once(spark: Any) -> None:
    from pyspark.sql import functions as sf

    data = _data()
    local = detect(data, load_rules(RULES))
    alerts = _spark_detect(spark, data)
    got = alerts.table
    assert sorted(got["alert_id"]) == sorted(local.table["alert_id"])
    assert alerts.rules == local.rules
    capped = {r["id"]: [a["account"] for a in r["skipped_accounts"]] for r in alerts.rules}
    assert capped == {
        "gen-fan-in": [],
        "gen-circular-payments": ["CLEARING", "PAYER"],
        "gen-gather-scatter": ["CLEARING", "PAYER"],
        "gen-bipartite": ["CLEARING", "PAYER"],
    }
    by_rule = dict(got.group_by("typology").len().iter_rows())
    assert by_rule == {"gen-fan-in": 1, "gen-circular-payments": 1, "gen-gather-scatter": 1}

    fan_in = got.filter(pl.col("typology") == "gen-fan-in").row(0, named=True)
    assert fan_in["focus"] == "COLLECT"
    assert fan_in["tx_ids"] == [f"T{i:04d}" for i in range(6)]
    senders = spark.createDataFrame([(f"SEND{i}",) for i in range(6)], "a string")
    shards = senders.select(sf.pmod(sf.xxhash64("a"), sf.lit(SHARDS)).alias("s")).distinct()
    assert shards.count() >= 2  # the senders really fall in different shards

    ring = got.filter(pl.col("typology") == "gen-circular-payments").row(0, named=True)
    assert sorted(ring["tx_ids"]) == ["T0010", "T0011", "T0012"]
    assert ring["first_ts"] < BOUNDARY < ring["last_ts"]

    hub = got.filter(pl.col("typology") == "gen-gather-scatter").row(0, named=True)
    assert hub["focus"] == "HUB"
    assert hub["n_transfers"] == 6
    assert hub["amount_base"] == pytest.approx(5970.0, rel=1e-9)
    assert hub["first_ts"] < BOUNDARY < hub["last_ts"]


def test_a_chunk_over_the_memory_bound_fails_clearly(spark: Any) -> None:
    with pytest.raises(DataError) as err:
        _spark_detect(spark, _data(), max_chunk_rows=4)
    assert err.value.code == "FI181"
    assert "over the limit of 4" in err.value.message


def _bipartite_data() -> SimpleNamespace:
    b = BOUNDARY
    cells = [(s, r) for s in range(3) for r in range(3)]
    rows = [
        # group A: every sender pays every receiver 5 days before the boundary and again 3 days
        # after it (14d window, 28d chunks): windows from the first round cross the boundary
        *[_tx(200 + k, b - timedelta(days=5, hours=-k), f"BA-S{s}", f"BA-R{r}", 100.0 + k)
          for k, (s, r) in enumerate(cells)],
        *[_tx(210 + k, b + timedelta(days=3, hours=k), f"BA-S{s}", f"BA-R{r}", 200.0 + k)
          for k, (s, r) in enumerate(cells)],
        # group B: the same shape in one week, but a fourth sender paid the same receivers a
        # year earlier: the block of all the data has four senders and no window holds it
        *[_tx(300 + k, b + timedelta(days=40, hours=k), f"BB-S{s}", f"BB-R{r}", 50.0)
          for k, (s, r) in enumerate(cells)],
        *[_tx(320 + r, b - timedelta(days=330, hours=r), "BB-S3", f"BB-R{r}", 50.0)
          for r in range(3)],
    ]  # fmt: skip
    return SimpleNamespace(
        transfers=pl.DataFrame(rows, schema=TRANSFERS).lazy(),
        parties=pl.DataFrame(schema=PARTIES),
        base_currency="EUR",
    )


def test_a_bipartite_block_crossing_a_chunk_boundary_is_found_once(spark: Any) -> None:
    from finintel.spark import detect as spark_detect

    rules = load_rules(["rules/typologies/graph/bipartite.yaml"])
    data = _bipartite_data()
    local = detect(data, rules).table
    got = spark_detect(data, rules, spark, chunk_windows=CHUNK_WINDOWS).table
    assert got.height == local.height == 1
    assert (
        got.select("alert_id", "tx_ids", "roles", "metrics").to_dicts()
        == local.select("alert_id", "tx_ids", "roles", "metrics").to_dicts()
    )
    alert = got.row(0, named=True)
    assert alert["focus"] == "bip:BA-S0,BA-S1,BA-S2>BA-R0,BA-R1,BA-R2"
    assert alert["tx_ids"] == [f"T{i:04d}" for i in (*range(200, 209), *range(210, 219))]
    assert alert["amount_base"] == pytest.approx(sum(300.0 + 2 * k for k in range(9)))
    assert alert["first_ts"] < BOUNDARY < alert["last_ts"]


def test_a_bipartite_chunk_over_the_memory_bound_fails_clearly(spark: Any) -> None:
    from finintel.spark import detect as spark_detect

    rules = load_rules(["rules/typologies/graph/bipartite.yaml"])
    with pytest.raises(DataError) as err:
        spark_detect(_bipartite_data(), rules, spark, chunk_windows=CHUNK_WINDOWS, max_chunk_rows=8)
    assert err.value.code == "FI181"
    assert re.search(
        r"\(rule gen-bipartite\) holds [0-9]+ transfers .* limit of 8", err.value.message
    )


def test_a_chain_extended_after_a_chunk_boundary_is_found_once(spark: Any) -> None:
    """A chain's last hop lies after the boundary: the chunk before it must see that hop (its
    five hops are not maximal), or it reports them besides the six-hop chain."""
    from finintel.spark import detect as spark_detect

    b = BOUNDARY
    hops = [
        _tx(300 + k, b + timedelta(hours=24 * k - 108), f"CHAIN{k}", f"CHAIN{k + 1}",
            10_000.0 - 100 * k)
        for k in range(6)
    ]  # fmt: skip
    assert hops[4]["ts"] < b < hops[5]["ts"]
    # a transfer a year before: the chunks do not all read the whole history (not one task)
    hops.append(_tx(299, b - timedelta(days=365), "OLD-A", "OLD-B", 50.0))
    data = SimpleNamespace(
        transfers=pl.DataFrame(hops, schema=TRANSFERS).lazy(),
        parties=pl.DataFrame(schema=PARTIES),
        base_currency="EUR",
    )
    rules = load_rules(["rules/typologies/graph/layering-chain.yaml"])
    local = detect(data, rules).table
    got = spark_detect(data, rules, spark, chunk_windows=CHUNK_WINDOWS).table
    assert local.height == 1 and local["n_transfers"].to_list() == [6]
    assert sorted(got["alert_id"]) == sorted(local["alert_id"])
