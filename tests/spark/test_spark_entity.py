"""``group_by: entity`` on Spark: the driver resolves the parties, Spark replaces each party by
its entity before sharding; the alerts equal the local engine's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest

import finintel
from tests.typology import entity_case as case

from .conftest import SHARDS

pytestmark = pytest.mark.spark


def test_group_by_entity_on_spark_equals_local(spark: Any, tmp_path: Path) -> None:
    drop, rules = case.write_drop(tmp_path, ("entity", "party"))
    decisions = tmp_path / "decisions.yaml"
    decisions.write_text("decisions:\n  - not_same: [P1, P2]\n")
    members = finintel.resolve(finintel.load(drop).parties).members
    collector = members.filter(pl.col("party_id") == "P1")["entity_id"][0]
    for name, extra, hits in (("together", {}, 1), ("apart", {"decisions": decisions}, 0)):
        out: dict[str, pl.DataFrame] = {}
        for engine in ("polars", "spark"):
            opts = {"spark_master": "local[2]", "spark_shards": SHARDS} if engine == "spark" else {}
            target = tmp_path / f"{name}-{engine}"
            summary = finintel.run(
                drop, rules, target, engine=engine, deterministic=True, **opts, **extra
            )
            assert summary.alerts == hits
            out[engine] = pl.read_parquet(target / "alerts.parquet")
        assert out["spark"].equals(out["polars"])
        if hits:
            hit = out["spark"].row(0, named=True)
            assert hit["typology"] == "fan-in-by-entity" and hit["focus_kind"] == "entity"
            assert hit["focus"] == collector and hit["tx_ids"] == ["t0", "t1", "t2", "t3"]
