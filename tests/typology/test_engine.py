"""The detection engine: merging windows into periods, evidence, ids, scores, explanations."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, ClassVar

import polars as pl
import pytest

from finintel.typology import engine
from finintel.typology.engine import alert_id, detect, merge_periods, score
from finintel.typology.primitives.base import REGISTRY, Plan, RunContext, Threshold


def _ts(day: int, hour: int = 0) -> datetime:
    return datetime(2025, 1, day, hour, tzinfo=UTC)


class CountIn:
    """A tiny test primitive: inflows per receiver in a rolling window; trigger at min_count."""

    kind: ClassVar[str] = "test_count_in"
    doc: ClassVar[str] = ""
    params: ClassVar[Mapping[str, Any]] = {}
    group_by: ClassVar[tuple[str, ...]] = ("account",)
    focus_role: ClassVar[str] = "collector"

    def metrics(self, params: Mapping[str, Any]) -> Mapping[str, pl.DataType]:
        return {"count": pl.Int64()}

    def lookback(self, params: Mapping[str, Any]) -> timedelta:
        return params["window"]

    def plan(self, transfers: pl.LazyFrame, params: Mapping[str, Any], ctx: RunContext) -> Plan:
        t = transfers.sort("dst_account", "ts", "tx_id")
        windows = (
            t.rolling("ts", period=params["window"], group_by="dst_account")
            .agg(pl.len().cast(pl.Int64).alias("count"), pl.col("ts").min().alias("start"))
            .select(
                pl.col("dst_account").alias("focus"), "start", pl.col("ts").alias("end"), "count"
            )
        )
        evidence = t.select(
            pl.col("dst_account").alias("focus"), "ts", "tx_id", "source",
            pl.col("src_account").alias("account"), pl.lit("sender").alias("role"), "amount_base",
        )  # fmt: skip
        return Plan(windows, evidence)

    def condition(self, params: Mapping[str, Any]) -> pl.Expr:
        return pl.col("count") >= params["min_count"]

    def thresholds(self, params: Mapping[str, Any]) -> list[Threshold]:
        return [Threshold("count", ">=", params["min_count"], "transfers")]

    def explain(
        self,
        metrics: Mapping[str, Any],
        params: Mapping[str, Any],
        span: timedelta,
        amount: float,
        currency: str,
    ) -> str:
        return f"{metrics['count']} transfers (≥ {params['min_count']}) within {span}, {amount:.0f} {currency}"


@pytest.fixture
def ruleset(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    monkeypatch.setitem(REGISTRY, CountIn.kind, CountIn())
    rule = SimpleNamespace(
        id="t-count", version=2, family="fan_in", kind=CountIn.kind, severity="high", channels=(),
        where=None, where_pos=(1, 1), having=None, having_pos=(1, 1), group_by="account", file="t.yaml",
        params={"window": timedelta(days=2), "min_count": 3}, fingerprint="abc",
    )  # fmt: skip
    return SimpleNamespace(rules=(rule,), lists={})


def _transfers(rows: list[tuple[str, datetime, str, str, float]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "tx_id": [r[0] for r in rows],
            "ts": [r[1] for r in rows],
            "src_account": [r[2] for r in rows],
            "dst_account": [r[3] for r in rows],
            "amount_base": [r[4] for r in rows],
            "source": ["s"] * len(rows),
            "channel": ["mto"] * len(rows),
            "status": ["completed"] * len(rows),
        }
    )


def test_overlapping_hits_merge_into_one_alert_per_period(ruleset: SimpleNamespace) -> None:
    rows = [
        # burst 1: four inflows to C over 2 days (windows of 3 and 4 transfers overlap)
        ("a", _ts(1, 10), "S1", "C", 100.0), ("b", _ts(2, 9), "S2", "C", 200.0),
        ("c", _ts(2, 23), "S3", "C", 300.0), ("d", _ts(3, 1), "S4", "C", 400.0),
        # a lone inflow later, then burst 2 of three on the same day
        ("e", _ts(10), "S5", "C", 1.0),
        ("f", _ts(20, 1), "S6", "C", 10.0), ("g", _ts(20, 2), "S7", "C", 20.0), ("h", _ts(20, 2), "S8", "C", 30.0),
        # another receiver below threshold
        ("i", _ts(1), "S1", "D", 5.0), ("j", _ts(1), "S2", "D", 5.0),
    ]  # fmt: skip
    alerts = detect(_transfers(rows), ruleset).table
    assert alerts.height == 2
    first, second = alerts.sort("first_ts").iter_rows(named=True)
    assert first["tx_ids"] == ["a", "b", "c", "d"]
    assert first["amount_base"] == 1000.0
    assert (first["first_ts"], first["last_ts"]) == (_ts(1, 10), _ts(3, 1))
    assert json.loads(first["metrics"]) == {"count": 4}
    assert first["accounts"] == ["C", "S1", "S2", "S3", "S4"]
    assert {"account": "C", "role": "collector"} in first["roles"]
    assert first["explanation"] == "4 transfers (≥ 3) within 1 day, 15:00:00, 1000 EUR"
    assert second["tx_ids"] == ["f", "g", "h"]
    assert first["alert_id"] == alert_id("t-count", "C", _ts(1, 10))
    assert (
        first["typology"] == "t-count"
        and first["rule_version"] == 2
        and first["family"] == "fan_in"
    )
    # score: high severity base 0.7, peak 4 vs threshold 3 → +0.3 × 1/3
    assert first["score"] == pytest.approx(0.8)
    assert second["score"] == pytest.approx(0.7)


def test_alert_id_is_stable_when_a_period_grows(ruleset: SimpleNamespace) -> None:
    rows = [
        ("a", _ts(1), "S1", "C", 1.0),
        ("b", _ts(1, 5), "S2", "C", 1.0),
        ("c", _ts(1, 6), "S3", "C", 1.0),
    ]
    before = detect(_transfers(rows), ruleset).table
    more = [*rows, ("d", _ts(2), "S4", "C", 1.0)]
    after = detect(_transfers(more), ruleset).table
    assert before["alert_id"].to_list() == after["alert_id"].to_list()
    assert after["tx_ids"].to_list()[0] == ["a", "b", "c", "d"]


def test_cancelled_records_are_not_evidence(ruleset: SimpleNamespace) -> None:
    rows = [
        ("a", _ts(1), "S1", "C", 1.0),
        ("b", _ts(1), "S2", "C", 1.0),
        ("c", _ts(1), "S3", "C", 1.0),
    ]
    frame = _transfers(rows).with_columns(
        pl.Series("status", ["completed", "completed", "cancelled"])
    )
    assert detect(frame, ruleset).table.height == 0


def test_merge_periods_touching_windows() -> None:
    w = pl.DataFrame(
        {
            "focus": ["x", "x", "x"],
            "start": [_ts(1), _ts(2), _ts(5)],
            "end": [_ts(2), _ts(3), _ts(6)],
            "m": [1, 5, 2],
        }
    )
    p = merge_periods(w, "m")
    assert p.select("start", "end", "m").rows() == [(_ts(1), _ts(3), 5), (_ts(5), _ts(6), 2)]


def test_score_bounds() -> None:
    th = [Threshold("n", ">=", 5)]
    assert score(0.5, th, {"n": 5}) == 0.5
    assert score(0.5, th, {"n": 10}) == 1.0
    assert score(0.5, th, {"n": 100}) == 1.0
    assert score(0.5, [Threshold("gap", "<=", 10)], {"gap": 5}) == 1.0
    assert engine.SEVERITY_BASE["critical"] > engine.SEVERITY_BASE["high"]


def test_graph_kinds_report_the_hubs_they_skip(tmp_path: Any) -> None:
    from finintel.typology.loader import load_rules

    rule = tmp_path / "c.yaml"
    rule.write_text(
        "id: c\ntitle: t\nfamily: cycle\ndescription: d\n"
        "pattern:\n  kind: cycle\n  window: 30d\n  max_degree: 3\n"
    )
    rows = [("a", _ts(1), "A", "B", 100.0), ("b", _ts(2), "B", "A", 95.0)]
    rows += [(f"h{i}", _ts(3), "H", f"X{i}", 10.0) for i in range(5)]  # a hub with 5 transfers
    alerts = detect(_transfers(rows), load_rules(rule))
    assert alerts.table.height == 1  # the A-B round trip is still found
    (meta,) = alerts.rules
    assert meta["skipped_accounts"] == [{"account": "H", "degree": 5}]
