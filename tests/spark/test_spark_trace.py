"""``trace(engine="spark")``: Spark reduces the transfers hop by hop, the local code traces the
reduction; the result equals the local trace (flows, endpoints, every policy, report)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from click.testing import CliRunner

import finintel
import finintel.spark.trace as spark_trace
from finintel.cli import main
from finintel.graph.trace import Flows, trace

pytestmark = pytest.mark.spark


def _same(local: Flows, spark: Flows) -> None:
    """Equal flows and endpoints (amounts within 1e-9 relative) and equal summaries."""
    for name in ("flows", "endpoints"):
        a, b = getattr(local, name), getattr(spark, name)
        assert a.columns == b.columns and a.height == b.height, name
        for col in a.columns:
            if a[col].dtype == pl.Float64:
                assert a[col].to_list() == pytest.approx(b[col].to_list(), rel=1e-9), (name, col)
            else:
                assert a[col].to_list() == b[col].to_list(), (name, col)
    assert spark.summary() == local.summary()  # totals are rounded to 1e-6


@pytest.fixture
def sizes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of transfers each Spark reduction handed to the local trace."""
    seen: list[int] = []
    real = spark_trace.reduce

    def spy(*args: Any) -> spark_trace.Reduced:
        part = real(*args)
        seen.append(part.edges.height)
        return part

    monkeypatch.setattr(spark_trace, "reduce", spy)
    return seen


# S pays A and the hub H (62 transfers) on day 1; the chain runs on to B, C, D on whole days,
# with ties at midnight (date-only timestamps), money arriving exactly max_hop_delay late, an
# older unknown-origin deposit on A and a later unrelated movement on B outside the window.
DAY = datetime(2024, 3, 1, tzinfo=UTC)
HAND = (
    [("U", "A", -5, 70.0), ("S", "A", 1, 100.0), ("S", "H", 1, 50.0), ("H", "C", 2, 50.0)]
    + [("A", "B", 1, 60.0), ("A", "C", 3, 90.0), ("B", "D", 3, 60.0), ("C", "D", 10, 40.0)]
    + [("C", "E", 3, 30.0), ("D", "S", 4, 10.0), ("B", "F", 40, 5.0), ("V", "B", -30, 8.0)]
    + [(f"x{i}", "H", i % 3, 10.0) for i in range(30)]
    + [("H", f"y{i}", 1 + i % 3, 10.0) for i in range(30)]
)


def _hand() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "tx_id": [f"t{i:02d}" for i in range(len(HAND))],
            "src_account": [r[0] for r in HAND],
            "dst_account": [r[1] for r in HAND],
            "ts": [DAY + timedelta(days=r[2]) for r in HAND],
            "amount_base": [r[3] for r in HAND],
            "src_party": [f"p{r[0]}" for r in HAND],
            "dst_party": [f"p{r[1]}" for r in HAND],
        },
        schema_overrides={"ts": pl.Datetime("us", "UTC")},
    )


@pytest.mark.parametrize(
    "params",
    [
        {"seeds": "S", "max_degree": 61, "max_hop_delay": "7d", "window": "30d"},
        {"seeds": ["S", "Q"], "max_degree": None, "max_hops": 2, "exclude": ["C"]},
        {"seeds": "pS", "seed_kind": "party", "max_degree": 61, "min_amount": 45.0},
        {"seeds": "D", "direction": "backward", "max_degree": 61, "lookback": "2d"},
        {"seeds": "D", "direction": "backward", "max_degree": None, "start": "2024-03-05"},
    ],
)
def test_hand_built_hub_and_date_only_times(
    spark: Any, sizes: list[int], params: dict[str, Any]
) -> None:
    data = _hand()
    _same(trace(data, **params), trace(data, engine="spark", **params))
    assert sizes[-1] < data.height  # the reduction left transfers out


def test_hand_built_reduction_keeps_the_ledgers(spark: Any, sizes: list[int]) -> None:
    local = trace(_hand(), "S", max_degree=61, policy="fifo")
    on_spark = trace(_hand(), "S", max_degree=61, policy="fifo", engine="spark")
    _same(local, on_spark)
    # A's older unknown-origin 70 queues ahead (fifo): of A's 60 (same day as S's 100) and 90,
    # the 60 carries nothing (not a flow) and the 90 carries 10 unknown + 80 traced
    fifo = dict(on_spark.flows.select("tx_id", "traced_amount").rows())
    assert "t04" not in fifo and fifo["t05"] == pytest.approx(80.0)
    assert fifo["t07"] > 0  # C → D arrives exactly max_hop_delay after C's arrival: followed
    assert on_spark.skipped_accounts == [{"account": "H", "degree": 62, "reason": "max_degree"}]
    # kept: t00..t09 (seed transfers, the ledgers of A, B, C, D, E); not B's day-40 payment,
    # V's day -30 one (before B's lookback) nor the hub's 60 other transfers
    assert sizes == [10]


def test_generated_drop_forward_and_backward(spark: Any, sizes: list[int], tmp_path: Path) -> None:
    finintel.generate(tmp_path / "g", transfers=20_000, seed=3)
    ds = finintel.load(tmp_path / "g" / "drop")
    truth = pl.read_parquet(tmp_path / "g" / "truth.parquet")
    sources = truth.filter(pl.col("family") == "stack", pl.col("role") == "source")
    seeds = sorted(sources["entity"].unique().to_list())
    sinks = truth.filter(pl.col("family") == "stack", pl.col("role") == "sink")
    for params in (
        {"seeds": seeds, "max_hops": 4, "window": "60d"},
        {"seeds": sorted(sinks["entity"].unique().to_list()), "direction": "backward"},
    ):
        local = trace(ds, **params)
        assert local.flows.height > 20
        _same(local, trace(ds, engine="spark", **params))
    total = ds.transfers.collect().height
    assert max(sizes) < total / 5  # Spark handed the driver a small part of the data


def test_cli_trace_on_spark(spark: Any, tmp_path: Path) -> None:
    finintel.generate(tmp_path / "g", transfers=5_000, seed=5)
    drop = str(tmp_path / "g" / "drop")
    truth = pl.read_parquet(tmp_path / "g" / "truth.parquet")
    seed = truth.filter(pl.col("family") == "pass_through", pl.col("role") == "mule")["entity"][0]
    outs = {}
    for engine in ("polars", "spark"):
        out = tmp_path / engine
        args = ["trace", drop, "--seed", seed, "--out", str(out), "--json", "--engine", engine]
        args += ["--spark-master", "local[2]"] if engine == "spark" else []
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
        outs[engine] = out
    for name in ("flows.parquet", "endpoints.parquet", "report.json"):
        assert (outs["polars"] / name).read_bytes() == (outs["spark"] / name).read_bytes(), name
