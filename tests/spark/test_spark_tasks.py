"""What each Spark task is sent: only its rules' columns and rows, one task for a time-chunked
rule whose last chunk reads the whole history, no task for a chunk where no window ends."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import polars as pl
import pytest

from finintel.schema import PARTIES, RULE_COLUMNS, TRANSFERS
from finintel.spark.needs import rule_columns
from finintel.typology.engine import detect
from finintel.typology.loader import load_rules

from .conftest import tx

pytestmark = pytest.mark.spark

CYCLE = "rules/typologies/graph/circular-payments.yaml"
AGENT = "rules/typologies/migrant-smuggling/complicit-agent.yaml"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# the 30-day ring's chunks with two lookbacks per chunk: 60 days from 1970-01-01
CHUNK = timedelta(days=60)
BOUNDARY = EPOCH + CHUNK * ((datetime(2025, 3, 1, tzinfo=UTC) - EPOCH) // CHUNK)
EDGES = ("tx_id", "ts", "src_account", "dst_account", "amount_base", "source")


def _tx(i: int, ts: datetime, src: str, dst: str, amount: float) -> dict[str, Any]:
    return tx(i, ts, src, dst, amount, reference=f"invoice {i}")


def _ring(first: int, at: datetime, name: str) -> list[dict[str, Any]]:
    """Three accounts paying each other 6000, 5900, 5800 within four days from ``at``."""
    a, b, c = (f"{name}-{x}" for x in "ABC")
    return [
        _tx(first, at, a, b, 6000.0),
        _tx(first + 1, at + timedelta(days=2), b, c, 5900.0),
        _tx(first + 2, at + timedelta(days=4), c, a, 5800.0),
    ]


def _data(rows: list[dict[str, Any]]) -> SimpleNamespace:
    return SimpleNamespace(
        transfers=pl.DataFrame(rows, schema=TRANSFERS).lazy(),
        parties=pl.DataFrame(schema=PARTIES),
        base_currency="EUR",
    )


def _owners(spark: Any, data: SimpleNamespace) -> dict[int, tuple[list[int], bool]]:
    """The 30-day group's chunks holding a transfer and whether it is one whole task."""
    from pyspark.sql import functions as sf

    from finintel.spark.shards import _owners as owners

    times = data.transfers.select("ts").collect().to_arrow()
    lookback = timedelta(days=30) // timedelta(microseconds=1)
    return owners(spark.createDataFrame(times), [lookback], {0: sf.lit(True)}, 2)


def _same_as_local(spark: Any, data: SimpleNamespace) -> pl.DataFrame:
    from finintel.spark import detect as spark_detect

    rules = load_rules([CYCLE])
    local = detect(data, rules)
    got = spark_detect(data, rules, spark, chunk_windows=2)
    assert sorted(got.table["alert_id"]) == sorted(local.table["alert_id"])
    assert (
        got.table.sort("alert_id").drop("score").equals(local.table.sort("alert_id").drop("score"))
    )
    assert got.rules == local.rules
    return got.table


def test_a_rule_whose_last_chunk_reads_the_history_is_one_task(spark: Any) -> None:
    # a ring across a chunk boundary, the history 4 days long: the chunk after the boundary
    # reads the two lookbacks before it, hence everything; the one before owns a window too
    data = _data(_ring(1, BOUNDARY - timedelta(days=1), "R"))
    last = (BOUNDARY - EPOCH) // CHUNK
    assert _owners(spark, data) == {0: ([last - 1, last], True)}
    alerts = _same_as_local(spark, data)
    assert alerts.height == 1
    assert alerts.row(0, named=True)["first_ts"] < BOUNDARY < alerts.row(0, named=True)["last_ts"]


def test_chunks_without_a_transfer_get_no_task(spark: Any) -> None:
    # two rings half a year apart: only their two chunks can own a window
    later = BOUNDARY + CHUNK * 3
    data = _data(
        _ring(1, BOUNDARY + timedelta(days=10), "R") + _ring(10, later + timedelta(days=10), "S")
    )
    first = (BOUNDARY - EPOCH) // CHUNK
    assert _owners(spark, data) == {0: ([first, first + 3], False)}
    alerts = _same_as_local(spark, data)
    assert sorted(sorted(ids) for ids in alerts["tx_ids"]) == [
        ["T0001", "T0002", "T0003"],
        ["T0010", "T0011", "T0012"],
    ]


def test_a_task_is_sent_the_columns_its_rules_read() -> None:
    rules = load_rules([CYCLE, AGENT])
    cycle, agent = rules.rules
    assert rule_columns(cycle, cycle.params, "EUR", rules.lists) == set(EDGES)
    # the agent, the flag (currency, amounts) and the scope's channel; no name or country
    assert rule_columns(agent, agent.params, "EUR", rules.lists) == {
        *EDGES, "src_agent", "currency", "amount", "channel"
    }  # fmt: skip


def test_an_entity_rule_is_sent_the_entities_for_the_parties() -> None:
    rules = load_rules(["rules/typologies/migrant-smuggling/funnel-account.yaml"])
    rule = rules.rules[0]
    as_party = rule_columns(replace(rule, group_by="party"), rule.params, "EUR", rules.lists)
    by_entity = rule_columns(replace(rule, group_by="entity"), rule.params, "EUR", rules.lists)
    assert {"src_party", "dst_party"} <= as_party  # the sender parties and the focus
    assert by_entity == {c.replace("party", "entity") for c in as_party}


def test_columns_not_sent_are_null() -> None:
    from finintel.spark.shards import canonical

    sent = pl.DataFrame(
        {"ts": [datetime(2025, 1, 1, tzinfo=UTC)], "src_entity": ["E1"], "src_party": ["P1"]}
    )
    frame = canonical(sent, entity=True)
    assert frame.schema == pl.Schema(RULE_COLUMNS)
    assert frame.row(0, named=True)["src_party"] == "E1"
    assert frame.row(0, named=True)["dst_party"] is None
    assert frame.row(0, named=True)["amount_base"] is None
