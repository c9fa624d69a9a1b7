"""Writers: JSON against its schema and a golden file, Parquet, CSV formula neutralising,
GraphML/GEXF read back with networkx, byte-identical rewrites, and the demo end to end."""

from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import networkx as nx
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import finintel
from finintel.errors import UsageError
from finintel.link import LinkReport, link
from finintel.report import parse_formats
from finintel.report.csv_writer import neutralise
from finintel.report.graph_writer import graph
from finintel.report.json_writer import schema_text
from tests.report import case

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "docs" / "report.schema.json"
GOLDEN = Path(__file__).parent / "golden" / "report.json"
ALL = ("json", "parquet", "csv", "graphml", "gexf")
EVIL = '=HYPERLINK("http://x","<img src=x onerror=alert(1)>")'


def _report(**kw) -> LinkReport:  # type: ignore[no-untyped-def]
    return link(
        case.alerts(),
        dataset=case.dataset(kw.pop("evil", None)),
        sources=case.manifest(),
        meta={"run_id": "R-test"},
        **kw,
    )


def _validate(path: Path) -> dict:  # type: ignore[type-arg]
    doc = json.loads(path.read_text())
    jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text())).validate(doc)
    return doc


def test_published_schema_is_current() -> None:
    assert SCHEMA.read_text() == schema_text(), "regenerate docs/report.schema.json"
    jsonschema.Draft202012Validator.check_schema(json.loads(SCHEMA.read_text()))


def test_json_is_valid_golden_and_keeps_facts_apart(tmp_path: Path) -> None:
    _report().write(tmp_path, ("json",))
    doc = _validate(tmp_path / "report.json")
    pretty = json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if os.environ.get("FININTEL_REGOLDEN"):  # rewrite the golden file on purpose
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(pretty)
    assert pretty == GOLDEN.read_text()
    assert doc["run_id"] == "R-test" and doc["provenance"]["handling"] == "H2"
    for name in ("entities", "links", "networks"):
        assert all("score" not in row and "typologies" not in row for row in doc["facts"][name])
        assert all(set(row) >= {"score", "alert_ids"} for row in doc["assessments"][name])
    assert [t["tx_id"] for t in doc["facts"]["transfers"]] == ["t1", "t2", "t3", "t4", "t5"]


def test_a_broken_document_fails_the_schema(tmp_path: Path) -> None:
    _report().write(tmp_path, ("json",))
    doc = json.loads((tmp_path / "report.json").read_text())
    doc["facts"]["links"][0]["handling"] = "H9"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, json.loads(SCHEMA.read_text()))


def test_parquet_round_trips_with_sections(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    r = _report()
    r.write(tmp_path, ("parquet",))
    for name, frame in r.tables().items():
        assert_frame_equal(pl.read_parquet(tmp_path / f"{name}.parquet"), frame)
    meta = pq.read_metadata(tmp_path / "links.parquet").metadata
    assert meta[b"finintel.section"] == b"facts"
    assert json.loads(meta[b"finintel.assessment_columns"]) == [
        "typologies",
        "alert_ids",
        "n_alerts",
        "score",
    ]
    assert (
        pq.read_metadata(tmp_path / "scores.parquet").metadata[b"finintel.section"]
        == b"assessments"
    )


def test_csv_neutralises_formula_cells() -> None:
    cells = ["=1+1", "+31 6", "-2", "@SUM(A1)", "\tx", "\rx", "a=b", "", None, "ok"]
    out = neutralise(pl.DataFrame({"c": cells}))["c"].to_list()
    assert out == ["'=1+1", "'+31 6", "'-2", "'@SUM(A1)", "'\tx", "'\rx", "a=b", "", None, "ok"]


def test_csv_tables(tmp_path: Path) -> None:
    r = _report(evil=EVIL)
    r.write(tmp_path, ("csv",))
    ents = pl.read_csv(tmp_path / "entities.csv", infer_schema=False)
    pc = ents.filter(pl.col("key") == "PC").row(0, named=True)
    assert pc["label"] == "'" + EVIL and pc["names"] == "'" + EVIL
    assert "assessment.score" in ents.columns and "score" not in ents.columns
    assert "handling" in ents.columns
    links = pl.read_csv(tmp_path / "links.csv", infer_schema=False)
    assert links.filter(pl.col("src_key") == "A1")["tx_ids"].to_list() == ["t1; t3"]
    nets = pl.read_csv(tmp_path / "networks.csv", infer_schema=False)
    assert json.loads(nets["assessment.key_players"][0])[0]["role"] == "collector"
    # nothing written anywhere starts a formula
    for f in tmp_path.glob("*.csv"):
        for col in pl.read_csv(f, infer_schema=False).iter_columns():
            assert not col.drop_nulls().str.contains(r"^[=+\-@\t\r]").any(), (f.name, col.name)


@pytest.mark.parametrize("fmt", ["graphml", "gexf"])
def test_graph_files_read_back(tmp_path: Path, fmt: str) -> None:
    r = _report(evil=EVIL)
    r.write(tmp_path, (fmt,))
    g = graph(r)
    back = (
        nx.read_graphml(tmp_path / "graph.graphml")
        if fmt == "graphml"
        else nx.read_gexf(tmp_path / "graph.gexf")
    )
    # entities and the shared infrastructure (the case's device and IP address)
    assert r.shared["type"].sort().to_list() == ["device_id", "ip_address"]
    assert set(back.nodes) == set(g.nodes) == {*r.entities["entity_id"], *r.shared["shared_id"]}
    uses = {(u, v, g.edges[u, v]["identifier"]) for u, v, k in g.edges(data="kind") if k == "uses"}
    assert {t for *_, t in uses} == {"device_id", "ip_address"} and len(uses) == 4
    assert set(back.edges) == set(g.edges)
    assert sum(1 for *_, k in g.edges(data="kind") if k == "transfers") == r.links.height
    for n, attrs in g.nodes(data=True):
        got = dict(back.nodes[n])
        want = dict(attrs)
        if fmt == "gexf":  # GEXF keeps the label as the node's label, not an attribute
            got.pop("label", None)
            want.pop("label", None)
        assert got == want, n
    for u, v, attrs in g.edges(data=True):
        got = dict(back.edges[u, v])
        got.pop("id", None)
        assert got == attrs, (u, v)
    c = next(n for n, k in g.nodes(data="entity_key") if k == "C")
    assert (
        isinstance(back.nodes[c]["assessment.score"], float)
        and back.nodes[c]["assessment.score"] == 0.92
    )
    assert isinstance(back.nodes[c]["in_degree"], int) and back.nodes[c]["in_degree"] == 2


def test_rewrites_are_byte_identical(tmp_path: Path) -> None:
    a = _report().write(tmp_path / "a", ALL)
    b = _report().write(tmp_path / "b", ALL)
    assert [p.name for p in a] == [p.name for p in b]
    assert len(a) == 21  # 9 tables × (parquet, csv) + json + 2 graphs
    for x, y in zip(a, b, strict=True):
        assert x.read_bytes() == y.read_bytes(), x.name


def test_format_names() -> None:
    assert parse_formats("json, csv,json") == ("json", "csv")
    with pytest.raises(UsageError, match="unknown format 'jsno' \\(did you mean 'json'\\?\\)"):
        parse_formats("jsno")
    assert parse_formats("html,ftm,goaml") == ("html", "ftm", "goaml")


def test_demo_end_to_end(tmp_path: Path) -> None:
    demo = ROOT / "fixtures" / "demo" / "drop"
    finintel.run(demo, ROOT / "rules", tmp_path / "run")
    alerts = pl.read_parquet(tmp_path / "run" / "alerts.parquet")
    report = link(alerts, dataset=finintel.load(demo))
    files = report.write(tmp_path / "report", ALL)
    assert {p.name for p in files} >= {
        "report.json",
        "alerts.parquet",
        "links.parquet",
        "entities.parquet",
        "networks.parquet",
        "graph.graphml",
        "graph.gexf",
        "links.csv",
    }
    doc = _validate(tmp_path / "report" / "report.json")
    assert len(doc["assessments"]["alerts"]) == alerts.height
    assert report.networks.height > 0 and report.links.height > 0
    # every evidence transfer of an alert is found, and every link rests on them
    assert report.transfers.height == report.links["n_transfers"].sum()
    # every account an alert names is scored; counterparties on evidence transfers are not
    named = alerts.select(pl.col("roles").explode().struct.field("account")).to_series()
    scored = report.entities.filter(
        pl.col("kind") == "account", pl.col("key").is_in(named.implode())
    )
    assert scored.height == named.n_unique() and (scored["score"] > 0).all()


def test_an_empty_report_writes_every_format(tmp_path: Path) -> None:
    from finintel.schema import ALERTS

    r = link(pl.DataFrame(schema=ALERTS), dataset=case.dataset())
    assert len(r.write(tmp_path, ALL)) == 21
    doc = _validate(tmp_path / "report.json")
    assert doc["facts"]["links"] == [] and doc["assessments"]["alerts"] == []
    assert nx.read_graphml(tmp_path / "graph.graphml").number_of_nodes() == 0
