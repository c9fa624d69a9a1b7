"""``group_by: entity`` on Spark: the driver resolves the parties, Spark replaces each party by
its entity before sharding; the alerts equal the local engine's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import finintel
from finintel.schema import PARTIES, TRANSFERS

from .conftest import SHARDS

pytestmark = pytest.mark.spark

T0 = datetime(2025, 5, 1, 9, tzinfo=UTC)
RULE = """\
id: fan-in-by-{group}
family: fan_in
description: four senders to one collector
group_by: {group}
pattern:
  kind: fan_in
  window: 30d
  min_counterparties: 4
"""


def _party(pid: str, name: str, id_number: str | None = None) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(PARTIES)
    row.update(party_id=pid, name=name, id_number=id_number, id_country="SY", source="mto")
    return row


def _tx(i: int, src: str, dst: str, src_party: str, dst_party: str) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(TRANSFERS)
    row.update(
        tx_id=f"t{i}", ts=T0 + timedelta(days=i), src_account=src, dst_account=dst,
        amount=500.0, amount_base=500.0, currency="EUR", channel="mto", source="mto",
        status="completed", src_party=src_party, dst_party=dst_party,
    )  # fmt: skip
    return row


def _drop(tmp: Path) -> tuple[Path, Path]:
    """One collector under two spellings with one passport (P1, P2) and two accounts; four
    senders, two to each account (and the senders' accounts in different shards)."""
    drop = tmp / "drop"
    drop.mkdir()
    parties = [_party("P1", "Mohammed Ali", "N1234567"), _party("P2", "Muhammad Ali", "N1234567")]
    parties += [
        _party(f"Q{i}", n) for i, n in enumerate(["Anna Berg", "Omar Said", "Li Wei", "Jo"])
    ]
    rows = [
        _tx(0, "S0", "C1", "Q0", "P1"),
        _tx(1, "S1", "C1", "Q1", "P1"),
        _tx(2, "S2", "C2", "Q2", "P2"),
        _tx(3, "S3", "C2", "Q3", "P2"),
    ]
    pl.DataFrame(rows, schema=TRANSFERS, orient="row").write_parquet(drop / "transfers.parquet")
    pl.DataFrame(parties, schema=PARTIES, orient="row").drop("source").write_parquet(
        drop / "parties.parquet"
    )
    rules = tmp / "rules"
    (rules / "typologies").mkdir(parents=True)
    for group in ("entity", "party"):
        (rules / "typologies" / f"{group}.yaml").write_text(RULE.format(group=group))
    return drop, rules


def test_group_by_entity_on_spark_equals_local(spark: Any, tmp_path: Path) -> None:
    drop, rules = _drop(tmp_path)
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
