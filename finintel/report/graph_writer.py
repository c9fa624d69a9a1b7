"""The link graph as GraphML and GEXF (Gephi, yEd, i2 import), via networkx.

Nodes are the entities (accounts and parties) and the shared infrastructure (phones, e-mails,
addresses, device ids, IP addresses used under different names: ``kind = "identifier"``, with
``type``, ``n_names`` …);
edges are the links (``kind = "transfers"``), party → account holdings (``kind = "holds"``) and
party → shared identifier (``kind = "uses"``, ``identifier`` its type). Resolved persons are nodes of ``kind = "person"``
(with ``names``, ``identifiers`` and ``merges``: each merge as ``party_a = party_b: rule value
(name score)``), joined to each of their parties by a ``kind = "same_person"`` edge. Attributes are typed (text, integer, real);
lists are joined with ``"; "``; an entity's ``key`` is the attribute ``entity_key`` (GraphML
readers reserve ``key``); missing values are left out, as both formats require; assessment
attributes are named ``assessment.<column>``. Nodes and edges are added in sorted order and the
GEXF modification date is removed, so the same report gives the same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import networkx as nx
import polars as pl

from finintel.atomic import write_text
from finintel.link import LinkReport
from finintel.report._tables import ASSESSMENT_PREFIX, is_assessment, merge_text

_RENAME = {"key": "entity_key"}
_SKIP = {
    "entities": ("identifiers",),
    "links": ("src", "dst"),
    "persons": ("identifiers", "merges"),
}


def identifiers_text(values: list[dict[str, Any]] | None) -> str:
    """``type=value; …`` of a list of identifiers."""
    return "; ".join(f"{i['type']}={i['value']}" for i in values or [])


def _join(values: list[Any]) -> str:
    return "; ".join(str(v) for v in values)


def _convert(dtype: pl.DataType) -> Callable[[Any], Any]:
    """How a value of ``dtype`` becomes a typed attribute (text, integer, real, boolean)."""
    if isinstance(dtype, pl.List):
        return _join
    if isinstance(dtype, pl.Datetime):
        return datetime.isoformat
    if dtype.is_integer():
        return int
    if dtype.is_float():
        return float
    if dtype == pl.Boolean:
        return bool
    return str


_Plan = list[tuple[str, str, Callable[[Any], Any]]]


def _plan(table: str, schema: pl.Schema) -> _Plan:
    """(column, attribute name, conversion) of every column of ``table`` written as attribute."""
    return [
        (
            name,
            ASSESSMENT_PREFIX + name if is_assessment(table, name) else _RENAME.get(name, name),
            _convert(dtype),
        )
        for name, dtype in schema.items()
        if name not in _SKIP.get(table, ())
    ]


def _attrs(plan: _Plan, row: dict[str, Any]) -> dict[str, Any]:
    return {key: convert(row[name]) for name, key, convert in plan if row[name] is not None}


def graph(report: LinkReport) -> nx.DiGraph:
    """The link graph with typed node and edge attributes."""
    g = nx.DiGraph()
    ents = report.entities.sort("entity_id")
    ident = {
        r["entity_id"]: identifiers_text(r["identifiers"])
        for r in ents.select("entity_id", "identifiers").iter_rows(named=True)
    }
    plan = _plan("entities", ents.schema)
    for row in ents.iter_rows(named=True):
        attrs = _attrs(plan, row)
        attrs["identifiers"] = ident[row["entity_id"]]
        g.add_node(row["entity_id"], **attrs)
    links = report.links.sort("link_id")
    plan = _plan("links", links.schema)
    for row in links.iter_rows(named=True):
        g.add_edge(row["src"], row["dst"], kind="transfers", **_attrs(plan, row))
    kinds = dict(ents.select("entity_id", "kind").iter_rows())
    holds = sorted(
        (r["entity_id"], rel)
        for r in ents.filter(pl.col("kind") == "party")
        .select("entity_id", "related")
        .iter_rows(named=True)
        for rel in r["related"]
        if kinds.get(rel) == "account"
    )
    for party, account in holds:
        g.add_edge(party, account, kind="holds")
    shared = report.shared.sort("shared_id")
    plan = _plan("shared", shared.schema)
    for row in shared.iter_rows(named=True):
        g.add_node(row["shared_id"], kind="identifier", **_attrs(plan, row))
        for party in row["parties"]:
            # not "type": GEXF reserves it for the edge's direction
            g.add_edge(party, row["shared_id"], kind="uses", identifier=row["type"])
    persons = report.persons.sort("person_id")
    plan = _plan("persons", persons.schema)
    for row in persons.iter_rows(named=True):
        attrs = _attrs(plan, row)
        attrs["identifiers"] = identifiers_text(row["identifiers"])
        attrs["merges"] = "; ".join(merge_text(m) for m in row["merges"] or [])
        g.add_node(row["person_id"], kind="person", **attrs)
        for party in row["parties"]:
            g.add_edge(row["person_id"], party, kind="same_person")
    return g


def write_graphml(report: LinkReport, out_dir: Path) -> list[Path]:
    """Write ``out_dir/graph.graphml``."""
    target = out_dir / "graph.graphml"
    write_text(target, "\n".join(nx.generate_graphml(graph(report), prettyprint=True)) + "\n")
    return [target]


def write_gexf(report: LinkReport, out_dir: Path) -> list[Path]:
    """Write ``out_dir/graph.gexf`` (GEXF 1.2)."""
    target = out_dir / "graph.gexf"
    text = "\n".join(nx.generate_gexf(graph(report), prettyprint=True))
    text = re.sub(r' lastmodifieddate="[^"]*"', "", text, count=1)
    write_text(target, text + "\n")
    return [target]
