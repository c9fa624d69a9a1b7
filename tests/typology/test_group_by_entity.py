"""``group_by: entity``: a fan-in by one collector over several accounts and MTO identities is
one hit; the analyst's decisions file keeps identities apart."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import polars as pl

import finintel
from finintel.schema import PARTIES, TRANSFERS
from finintel.typology.engine import detect
from finintel.typology.loader import load_rules

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


# One collector under two spellings and customer ids (one passport), two accounts; four
# distinct senders, two to each account.
PARTY_ROWS = [
    _party("P1", "Mohammed Ali", "N1234567"),
    _party("P2", "Muhammad Ali", "N1234567"),
    *[_party(f"Q{i}", n) for i, n in enumerate(["Anna Berg", "Omar Said", "Li Wei", "Jan Nowak"])],
]


def _tx(i: int, src: str, dst: str, src_party: str, dst_party: str) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(TRANSFERS)
    row.update(
        tx_id=f"t{i}", ts=T0 + timedelta(days=i), src_account=src, dst_account=dst,
        amount=500.0, amount_base=500.0, currency="EUR", channel="mto", source="mto",
        status="completed", src_party=src_party, dst_party=dst_party,
    )  # fmt: skip
    return row


TX_ROWS = [
    _tx(0, "S0", "C1", "Q0", "P1"),
    _tx(1, "S1", "C1", "Q1", "P1"),
    _tx(2, "S2", "C2", "Q2", "P2"),
    _tx(3, "S3", "C2", "Q3", "P2"),
]


def _data() -> SimpleNamespace:
    return SimpleNamespace(
        transfers=pl.DataFrame(TX_ROWS, schema=TRANSFERS, orient="row").lazy(),
        parties=pl.DataFrame(PARTY_ROWS, schema=PARTIES, orient="row"),
        base_currency="EUR",
    )


def _rules(tmp: Path, group: str) -> Any:
    path = tmp / f"{group}.yaml"
    path.write_text(RULE.format(group=group))
    return load_rules([path])


def test_one_collector_over_accounts_and_identities_is_one_hit(tmp_path: Path) -> None:
    for group in ("account", "party"):  # two senders each: nothing
        assert detect(_data(), _rules(tmp_path, group)).table.height == 0
    alerts = detect(_data(), _rules(tmp_path, "entity")).table
    assert alerts.height == 1
    hit = alerts.row(0, named=True)
    entities = finintel.resolve(_data().parties)
    collector = entities.members.filter(pl.col("party_id") == "P1")["entity_id"][0]
    assert hit["focus"] == collector and hit["focus_kind"] == "entity"
    assert hit["tx_ids"] == ["t0", "t1", "t2", "t3"] and hit["amount_base"] == 2000.0
    assert {"C1", "C2"} <= set(hit["accounts"])
    assert hit["explanation"].startswith("4 distinct senders (≥ 4)")


def test_decisions_keep_identities_apart(tmp_path: Path) -> None:
    rules = _rules(tmp_path, "entity")
    apart = finintel.resolve(_data().parties, [{"not_same": ["P1", "P2"]}])
    assert detect(_data(), rules, entities=apart).table.height == 0


def test_run_resolves_once_with_the_decisions_file(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    pl.DataFrame(TX_ROWS, schema=TRANSFERS, orient="row").write_parquet(drop / "transfers.parquet")
    pl.DataFrame(PARTY_ROWS, schema=PARTIES, orient="row").drop("source").write_parquet(
        drop / "parties.parquet"
    )
    rules = tmp_path / "rules"
    (rules / "typologies").mkdir(parents=True)
    (rules / "typologies" / "r.yaml").write_text(RULE.format(group="entity"))
    together = finintel.run(drop, rules, tmp_path / "o1")
    assert together.alerts == 1 and "resolve" in together.timings
    # the report's persons come from the run's resolution, with the variants and the reason
    doc = json.loads((tmp_path / "o1" / "report.json").read_text())
    assert doc["resolution"]["scope"] == "run"
    [person] = doc["facts"]["persons"]
    assert person["names"] == ["Mohammed Ali", "Muhammad Ali"] and person["n_parties"] == 2
    assert [(m["rule"], m["value"], m["decision"]) for m in person["merges"]] == [
        ("id_document", "SY:N1234567", False)
    ]
    decisions = tmp_path / "decisions.yaml"
    decisions.write_text("decisions:\n  - not_same: [P1, P2]\n")
    apart = finintel.run(drop, rules, tmp_path / "o2", decisions=decisions)
    assert apart.alerts == 0
