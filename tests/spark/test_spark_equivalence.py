"""``run --engine spark`` (reading the Delta store) equals the local engine on a generated drop."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from click.testing import CliRunner

import finintel
from finintel.cli import main
from finintel.spark import placement

from .conftest import SHARDS

pytestmark = pytest.mark.spark

FLOATS = ("amount_base", "total_base", "score")


def _same(local: pl.DataFrame, spark: pl.DataFrame, key: str) -> None:
    """Equal rows by ``key``; float columns within 1e-9 relative."""
    assert local.height == spark.height
    assert set(local[key]) == set(spark[key])
    a, b = local.sort(key), spark.sort(key)
    for col in local.columns:
        if col in FLOATS:
            x, y = a[col].to_numpy(), b[col].to_numpy()
            assert x == pytest.approx(y, rel=1e-9, nan_ok=True), col
        else:
            assert a[col].to_list() == b[col].to_list(), col


def test_spark_run_equals_local_run(spark: Any, tmp_path: Path) -> None:
    finintel.generate(tmp_path / "g", transfers=20_000, seed=11)
    drop, fx = str(tmp_path / "g" / "drop"), str(tmp_path / "g" / "fx.csv")
    local = finintel.run(
        drop, "rules", tmp_path / "local", fx=[fx], deterministic=True, formats="json"
    )
    args = [
        "run", drop, "--rules", "rules", "--out", str(tmp_path / "spark"), "--fx", fx,
        "--store", str(tmp_path / "store"), "--deterministic", "--json", "--format", "json",
        "--engine", "spark", "--spark-master", "local[2]", "--spark-shards", str(SHARDS),
        "--spark-chunk-windows", "3", "--spark-time-buckets", "3",
    ]  # fmt: skip
    jobs = len(spark.sparkContext.statusTracker().getJobIdsForGroup(None))
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert len(spark.sparkContext.statusTracker().getJobIdsForGroup(None)) > jobs  # ran on Spark
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["alerts_by_typology"] == local.alerts_by_typology
    # every way a rule runs on Spark is exercised and finds alerts
    rules = finintel.load_rules("rules").rules
    found = {placement(r.kind) for r in rules if local.alerts_by_typology[r.id]}
    assert found == {"focus", "time", "blocks", "driver"}
    assert local.alerts > 100

    for name, key in (("alerts", "alert_id"), ("links", "link_id")):
        _same(
            pl.read_parquet(tmp_path / "local" / f"{name}.parquet"),
            pl.read_parquet(tmp_path / "spark" / f"{name}.parquet"),
            key,
        )
    rules_local = json.loads((tmp_path / "local" / "report.json").read_text())["rules"]
    rules_spark = json.loads((tmp_path / "spark" / "report.json").read_text())["rules"]
    assert rules_spark == rules_local  # skipped hub accounts counted over all data
