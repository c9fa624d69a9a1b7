"""``group_by: entity``: a fan-in by one collector over several accounts and MTO identities is
one hit; the analyst's decisions file keeps identities apart."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import polars as pl

import finintel
from finintel.typology.engine import detect
from finintel.typology.loader import load_rules
from tests.typology import entity_case as case


def _data() -> SimpleNamespace:
    return SimpleNamespace(
        transfers=case.transfers().lazy(), parties=case.parties(), base_currency="EUR"
    )


def _rules(tmp: Path, group: str) -> Any:
    path = tmp / f"{group}.yaml"
    path.write_text(case.RULE.format(group=group))
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
    drop, rules = case.write_drop(tmp_path)
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
