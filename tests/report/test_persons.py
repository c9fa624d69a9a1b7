"""Resolved persons in the link report: variants and merge reasons, the same-person tie of
networks, scores, every writer, analyst decisions and pseudonymisation.

The case of ``tests/report/case.py`` plus one party: ``PA2`` ("Aly Hasan", passport
``p-123`` issued in SY, source mto) sends t5 from X. ``PA1`` ("Ali Hassan" / "Ali Hasan") holds
passport ``P123`` of SY: the same document once normalised, so PA1 and PA2 are one person.
"""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import polars as pl

import finintel
from finintel.ingest.load import Dataset
from finintel.link import LinkReport, link
from finintel.pseudonym import Pseudonymiser
from finintel.schema import PARTIES
from tests.report import case

EVIL = '=HYPERLINK("http://x","<b>x</b>")'


def _parties(name: str = "Aly Hasan", id_number: str | None = "p-123") -> pl.DataFrame:
    extra = pl.DataFrame(
        [{"party_id": "PA2", "name": name, "id_type": "PASSPORT", "id_number": id_number,
          "id_country": "SY", "country": "DE", "source": "mto"}],
        schema={c: PARTIES[c] for c in ("party_id", "name", "id_type", "id_number",
                                         "id_country", "country", "source")},
    )  # fmt: skip
    return pl.concat([case.parties(), extra], how="diagonal_relaxed").select(list(PARTIES))


def _dataset(parties: pl.DataFrame) -> Dataset:
    recs = case.records().with_columns(
        pl.when(pl.col("tx_id") == "t5")
        .then(pl.lit("PA2"))
        .otherwise(pl.col("src_party"))
        .alias("src_party")
    )
    return Dataset(recs, parties, case.dataset().quarantine)


def _report(parties: pl.DataFrame | None = None, **kw) -> LinkReport:  # type: ignore[no-untyped-def]
    return link(case.alerts(), dataset=_dataset(_parties() if parties is None else parties), **kw)


def _eid(kind: str, key: str) -> str:
    frame = pl.DataFrame({"k": [key]})
    from finintel.link import _entity_id

    return str(frame.select(_entity_id(kind, pl.col("k")).alias("e"))["e"][0])


def test_two_spellings_with_one_passport_are_one_person_with_every_variant_and_the_reason() -> None:
    r = _report()
    assert r.persons.height == 1
    p = r.persons.row(0, named=True)
    pa1, pa2 = _eid("party", "PA1"), _eid("party", "PA2")
    assert p["parties"] == sorted([pa1, pa2]) and p["n_parties"] == 2
    assert p["resolved_parties"] == 2
    assert p["names"] == ["Ali Hasan", "Ali Hassan", "Aly Hasan"]
    assert {"type": "id_number", "value": "id_number:SY:P123"} in p["identifiers"]
    assert {"type": "id_number", "value": "id_number:SY:p-123"} in p["identifiers"]
    assert p["accounts"] == sorted([_eid("account", "A1"), _eid("account", "X")])
    assert p["merges"] == [
        {"party_a": pa1, "party_b": pa2, "rule": "id_document", "value": "SY:P123",
         "name_a": None, "name_b": None, "name_score": None, "decision": False}
    ]  # fmt: skip
    assert p["decision"] is False
    assert p["sources"] == ["bank", "mto"]
    # assessed: PA1 via A1 (fan-in a1 0.5, a3 0.8), PA2 via X (corridor a4 0.3):
    # fan-in contributes 0.8, corridor 0.3 → 1 − 0.2 × 0.7 = 0.86
    assert p["typologies"] == ["corridor", "fan-in"] and p["score"] == 0.86
    assert p["alert_ids"] == ["a1", "a3", "a4"] and p["n_alerts"] == 3
    rows = r.scores.filter(pl.col("subject_kind") == "person").select("typology", "contribution")
    assert rows.rows() == [("corridor", 0.3), ("fan-in", 0.8)]
    ents = dict(r.entities.filter(kind="party").select("key", "person_id").iter_rows())
    assert ents == {"PA1": p["person_id"], "PA2": p["person_id"], "PC": None}
    assert r.meta["resolution"] == {"scope": "report", "parties": 3, "persons": 1}
    assert r.meta["report_counts"]["persons"] == 1


def test_accounts_of_one_person_tie_their_networks_and_totals_stay_transfer_sums() -> None:
    # without PA2's passport the two networks stay apart (A1, A2, C, D and X, Y)
    apart = _report(_parties(id_number=None))
    assert apart.persons.height == 0 and apart.networks.height == 2
    r = _report()
    assert r.networks.height == 1
    net = r.networks.row(0, named=True)
    assert net["n_members"] == 6 and net["n_links"] == 4  # ties are not links
    assert net["total_base"] == 100 + 200 + 50 + 100 + 1000
    assert net["persons"] == [r.persons["person_id"][0]]
    assert r.persons["network_ids"].to_list() == [[net["network_id"]]]
    shares = sum(kp["centrality"] for kp in net["key_players"])
    assert 0 < shares <= 1


def test_an_analyst_decision_is_shown_as_the_reason(tmp_path: Path) -> None:
    parties = _parties(name="Zed Unrelated", id_number=None)
    resolved = finintel.resolve(parties, [{"same": ["PA1", "PA2"]}])
    r = _report(parties, resolved=resolved)
    p = r.persons.row(0, named=True)
    assert p["decision"] is True
    assert [(m["rule"], m["decision"]) for m in p["merges"]] == [("decision:same", True)]
    assert "Zed Unrelated" in p["names"]
    assert r.meta["resolution"]["scope"] == "run"
    # excluded sources: the run's resolution is not used, the report's parties are resolved anew
    excl = _report(parties, resolved=resolved, sources=case.manifest(), exclude_handling=["H2"])
    assert excl.meta["resolution"]["scope"] == "report" and excl.persons.height == 0


def test_every_writer_shows_the_person(tmp_path: Path) -> None:
    r = _report(_parties(name=EVIL))
    r.write(tmp_path, ("json", "parquet", "csv", "graphml", "gexf", "ftm", "goaml", "html"))
    pid = r.persons["person_id"][0]
    doc = json.loads((tmp_path / "report.json").read_text())
    assert [p["person_id"] for p in doc["facts"]["persons"]] == [pid]
    assert "score" not in doc["facts"]["persons"][0]
    assert doc["assessments"]["persons"] == [
        {"person_id": pid, "typologies": ["corridor", "fan-in"], "alert_ids": ["a1", "a3", "a4"],
         "n_alerts": 3, "score": 0.86}
    ]  # fmt: skip
    back = pl.read_parquet(tmp_path / "persons.parquet")
    assert back["names"].to_list() == [sorted(["Ali Hasan", "Ali Hassan", EVIL])]
    csv = (tmp_path / "persons.csv").read_text()
    assert "'=HYPERLINK" in csv and "\n=" not in csv and ",=" not in csv
    g = nx.read_graphml(tmp_path / "graph.graphml")
    assert g.nodes[pid]["kind"] == "person"
    assert sorted(v for _, v, d in g.out_edges(pid, data=True) if d["kind"] == "same_person") == (
        r.persons["parties"][0].to_list()
    )
    assert "id_document SY:P123" in g.nodes[pid]["merges"]
    assert nx.read_gexf(tmp_path / "graph.gexf").number_of_nodes() == g.number_of_nodes()
    page = (tmp_path / "report.html").read_text()
    assert 'id="t-persons"' in page and "<b>x</b>" not in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page and "id_document SY:P123" in page
    ftm = [json.loads(line) for line in (tmp_path / "entities.ftm.json").read_text().splitlines()]
    person = [e for e in ftm if e["schema"] == "Person"]
    props = person[0]["properties"]
    assert len(person) == 1 and props["name"] == [EVIL]  # the first variant, as recorded
    assert sorted(props["alias"]) == ["Ali Hasan", "Ali Hassan"]
    assert len([e for e in ftm if e["schema"] == "UnknownLink"]) == 2
    similar = [e for e in ftm if e["schema"] == "Similar"]
    assert len(similar) == 1 and similar[0]["properties"]["matcher"] == ["finintel.resolve"]
    goaml = (tmp_path / "goaml.xml").read_text()
    assert f"person {pid}: 2 records" in goaml


def test_pseudonymised_persons_carry_no_name_or_identifier(tmp_path: Path) -> None:
    key = Pseudonymiser(b"0123456789abcdef-shared-secret")
    r = _report(pseudonymise=key)
    r.write(tmp_path, ("json", "parquet", "csv", "graphml", "gexf", "ftm", "goaml", "html"))
    p = r.persons.row(0, named=True)
    assert p["names"] == sorted(
        key.value("name", n) for n in ("Ali Hasan", "Ali Hassan", "Aly Hasan")
    )
    assert {"type": "id_number", "value": key.value("identifier", "id_number:SY:P123")} in (
        p["identifiers"]
    )
    assert [m["value"] for m in p["merges"]] == [key.value("identifier", "id_document:SY:P123")]
    pa1 = _eid("party", key.value("party", "PA1"))
    assert pa1 in p["parties"]
    for f in tmp_path.iterdir():
        text = f.read_text() if f.suffix != ".parquet" else str(pl.read_parquet(f).to_dicts())
        for raw in ("Ali Hasan", "Aly Hasan", "P123", "p-123", "PA1", "PA2"):
            assert raw not in text, (f.name, raw)
