"""``finintel xref``: two hand-made reports, matched exactly on identifiers and by names."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from click.testing import CliRunner

import finintel
from finintel.cli import main
from finintel.errors import FinintelError
from finintel.pseudonym import Pseudonymiser


def _entity(eid: str, kind: str, key: str, names: list[str], ids: list[tuple[str, str]],
            countries: list[str]) -> dict[str, Any]:  # fmt: skip
    return {
        "entity_id": eid, "kind": kind, "key": key, "label": names[0] if names else key,
        "names": names, "identifiers": [{"type": t, "value": v} for t, v in ids],
        "countries": countries, "related": [], "network_id": None,
    }  # fmt: skip


A = [
    _entity("E-a1", "party", "pa1", ["Zainab Darwish"],
            [("phone", "phone:+39 327 9878678"), ("id_number", "id_number:IT:ET0471703")], ["IT"]),
    _entity("E-a2", "account", "DE89 3704 0044 0532 0130 00", ["Hans Weber"],
            [("account", "DE89 3704 0044 0532 0130 00")], ["DE"]),
    _entity("E-a3", "party", "pa3", ["Omar Said"], [("address", "address:Via Roma 1, Milano")], ["IT"]),
    _entity("E-a4", "party", "pa4", ["Li Wei"], [("email", "email:LI@x.org")], ["CN"]),
]  # fmt: skip
B = [
    _entity("E-b1", "party", "pb1", ["Zaynab Darweesh"], [("phone", "phone:327 9878678")], ["IT"]),
    _entity("E-b2", "account", "DE89370400440532013000", ["Weber Hans"],
            [("account", "DE89370400440532013000")], ["DE"]),
    _entity("E-b3", "party", "pb3", ["Amal Said"], [("address", "address:via roma 1  milano")], ["IT"]),
    _entity("E-b4", "party", "pb4", ["Wei Li"], [("email", "email:li@x.org")], ["CN"]),
    _entity("E-b5", "party", "pb5", ["Jean Dupont"], [("id_number", "id_number:FR:ET0471703")], ["FR"]),
]  # fmt: skip


def _report(folder: Path, entities: list[dict[str, Any]], **top: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    doc = {"format": "finintel-link-report", "format_version": 1, "run": {"run_id": folder.name},
           "facts": {"entities": entities}, "pseudonymised": False, "key_id": None, **top}  # fmt: skip
    (folder / "report.json").write_text(json.dumps(doc))
    return folder


def _pseudo(entities: list[dict[str, Any]], p: Pseudonymiser) -> list[dict[str, Any]]:
    out = []
    for e in entities:
        out.append({**e, "key": p.value(e["kind"], e["key"]),
                    "names": [p.value("name", n) for n in e["names"]],
                    "identifiers": [{"type": i["type"], "value": p.value(
                        "account" if i["type"] == "account" else "identifier", i["value"])}
                        for i in e["identifiers"]]})  # fmt: skip
    return out


def test_plain_reports_match_on_normalised_identifiers_and_names(tmp_path: Path) -> None:
    a, b = _report(tmp_path / "a", A), _report(tmp_path / "b", B)
    result = finintel.xref(a, b / "report.json")
    got = {
        (r["entity_a"], r["entity_b"]): (r["score"], [x["reason"] for x in r["reasons"]])
        for r in result.matches.iter_rows(named=True)
    }
    # phone 0.7 (E.164 with the IT region) and the names (one key: 0.9 × 0.8 = 0.72):
    # 1 − 0.3 × 0.28 = 0.916; account 1 and name 1 × 0.8: 1; e-mail 0.9 and swapped name 0.8:
    # 1 − 0.1 × 0.2 = 0.98. The address alone (0.4) is under min_score; the ID number differs
    # in its issuing country.
    assert got == {
        ("E-a1", "E-b1"): (0.916, ["name 0.9", "phone"]),  # reasons by score
        ("E-a2", "E-b2"): (1.0, ["account", "name 1.0"]),
        ("E-a4", "E-b4"): (0.98, ["email", "name 1.0"]),
    }
    first = result.matches.row(0, named=True)
    assert first["label_a"] == "Hans Weber" and first["kind_b"] == "account"
    assert first["reasons"][0] == {"reason": "account", "score": 1.0,
                                   "value_a": "DE89 3704 0044 0532 0130 00",
                                   "value_b": "DE89370400440532013000"}  # fmt: skip
    assert result.meta["counts"] == {"entities_a": 4, "entities_b": 5, "matches": 3,
                                     "entities_a_matched": 3, "entities_b_matched": 3}  # fmt: skip
    low = finintel.xref(a, b, min_score=0.3)
    assert ("E-a3", "E-b3") in set(
        zip(low.matches["entity_a"], low.matches["entity_b"], strict=True)
    )


def test_pseudonymised_reports_match_on_equal_pseudonyms(tmp_path: Path) -> None:
    p = Pseudonymiser(b"0123456789abcdef-shared-secret")
    top = {"pseudonymised": True, "key_id": p.key_id}
    b = [*B, _entity("E-b6", "party", "pb6", ["Zainab Darwish"], [], ["IT"])]
    ra = _report(tmp_path / "a", _pseudo(A, p), **top)
    rb = _report(tmp_path / "b", _pseudo(b, p), **top)
    result = finintel.xref(ra, rb)
    pairs = sorted(zip(result.matches["entity_a"], result.matches["entity_b"], strict=True))
    # only equal pseudonyms: the account written alike, the equal name (0.8); the phone written
    # differently and the e-mail in other case are other values once pseudonymised
    assert pairs == [("E-a1", "E-b6")]
    other = Pseudonymiser(b"another-secret-of-16-bytes")
    rc = _report(tmp_path / "c", _pseudo(B, other), pseudonymised=True, key_id=other.key_id)
    with pytest.raises(FinintelError, match="different keys") as info:
        finintel.xref(ra, rc)
    assert info.value.code == "FI131"


def test_cli_writes_matches_atomically_with_json_summary(tmp_path: Path) -> None:
    a, b = _report(tmp_path / "a", A), _report(tmp_path / "b", B)
    out = tmp_path / "x"
    result = CliRunner().invoke(main, ["xref", str(a), str(b), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["ok"] is True and summary["counts"]["matches"] == 3
    assert [m["entity_a"] for m in summary["top"]] == ["E-a2", "E-a4", "E-a1"]
    assert sorted(p.name for p in out.iterdir()) == ["matches.json", "matches.parquet"]
    assert pl.read_parquet(out / "matches.parquet").height == 3
    doc = json.loads((out / "matches.json").read_text())
    assert doc["format"] == "finintel-xref" and len(doc["matches"]) == 3
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    result = CliRunner().invoke(main, ["xref", str(bad), str(b), "--out", str(out), "--json"])
    assert result.exit_code == 1 and json.loads(result.stdout)["errors"][0]["code"] == "FI130"
