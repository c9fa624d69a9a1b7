"""``report.json``: run metadata, provenance, then facts and assessments in separate sections.

The layout is published as a JSON Schema in ``docs/report.schema.json``. The metadata block
(``meta`` of the report: run id, inputs, rules, parameters, counts…) is written at the top
level; the keys ``format``, ``format_version``, ``provenance``, ``facts`` and ``assessments``
are the report's own. Keys are sorted, the text is compact and floats are written as Python's
shortest repr, so the same report gives the same bytes. The file is written a few thousand rows
at a time (the same bytes as encoding the whole :func:`document` at once), so a large report
never exists as Python objects all at once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import polars as pl

from finintel.atomic import atomic_path
from finintel.link import (
    ASSESSMENT_COLUMNS,
    ENTITIES,
    EVIDENCE,
    LINKS,
    NETWORKS,
    PERSONS,
    SCORES,
    SHARED,
    LinkReport,
)
from finintel.provenance import HANDLING_CODES, SOURCES
from finintel.report._tables import (
    ID_OF,
    assessment_columns,
    fact_columns,
    jsonable,
    rows,
    subject_tables,
)
from finintel.schema import ALERTS

FORMAT = "finintel-link-report"
FORMAT_VERSION = 1
RESERVED = ("format", "format_version", "provenance", "facts", "assessments")
_CHUNK = 5_000  # rows turned into Python objects at a time while writing


def _outline(report: LinkReport) -> dict[str, Any]:
    """The document with each table still a DataFrame (its rows come later)."""
    facts: dict[str, Any] = {}
    assessments: dict[str, Any] = {"alerts": report.alerts, "scores": report.scores}
    for name, frame in subject_tables(report).items():
        facts[name] = frame.select(fact_columns(name, frame))
        cols = assessment_columns(name, frame)
        if cols:
            assessments[name] = frame.select(ID_OF[name], *cols)
    doc: dict[str, Any] = {k: jsonable(v) for k, v in report.meta.items() if k not in RESERVED}
    doc.update(
        {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "provenance": {
                "handling_order": list(HANDLING_CODES),
                "handling": report.meta.get("handling"),
                "sources": report.sources,
            },
            "facts": facts,
            "assessments": assessments,
        }
    )
    return doc


def _filled(value: Any) -> Any:
    if isinstance(value, pl.DataFrame):
        return rows(value)
    if isinstance(value, dict):
        return {k: _filled(v) for k, v in value.items()}
    return value


def document(report: LinkReport) -> dict[str, Any]:
    """The report as one JSON-ready dict."""
    return dict(_filled(_outline(report)))


def _dumps(value: Any) -> str:
    # compact: with an indent the json module falls back to its slow pure-Python encoder
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def _has_frame(value: Any) -> bool:
    if isinstance(value, pl.DataFrame):
        return True
    return isinstance(value, dict) and any(_has_frame(v) for v in value.values())


def _encode(value: Any) -> Iterator[str]:
    """The text of ``json.dumps(_filled(value), …)`` in pieces, a table a chunk of rows at a time."""
    if isinstance(value, pl.DataFrame):
        yield "["
        first = True
        for chunk in value.iter_slices(_CHUNK):
            if chunk.height:
                yield ("" if first else ",") + _dumps(rows(chunk))[1:-1]
                first = False
        yield "]"
    elif isinstance(value, dict) and _has_frame(value):
        yield "{"
        for i, key in enumerate(sorted(value)):
            yield ("," if i else "") + _dumps(key) + ":"
            yield from _encode(value[key])
        yield "}"
    else:
        yield _dumps(value)


def write(report: LinkReport, out_dir: Path) -> list[Path]:
    """Write ``out_dir/report.json``."""
    target = out_dir / "report.json"
    with atomic_path(target) as tmp, tmp.open("w", encoding="utf-8") as out:
        for piece in _encode(_outline(report)):
            out.write(piece)
        out.write("\n")
    return [target]


# --- the published JSON Schema (docs/report.schema.json is this, written by `schema_text`) ---

_HANDLING: dict[str, Any] = {"enum": [*HANDLING_CODES, None]}


def _js(dtype: Any) -> dict[str, Any]:
    if isinstance(dtype, pl.List):
        return {"type": "array", "items": _js(dtype.inner)}
    if isinstance(dtype, pl.Struct):
        return {
            "type": "object",
            "properties": {f.name: _js(f.dtype) for f in dtype.fields},
            "required": [f.name for f in dtype.fields],
        }
    if isinstance(dtype, pl.Datetime):
        return {"type": ["string", "null"], "format": "date-time"}
    if dtype == pl.Boolean:
        return {"type": ["boolean", "null"]}
    kind = "integer" if dtype.is_integer() else "number" if dtype.is_float() else "string"
    return {"type": [kind, "null"]}


def _table(cols: Mapping[str, pl.DataType], key: str) -> dict[str, Any]:
    props = {c: _js(t) for c, t in cols.items()}
    props[key] = {"type": "string"}
    for c in ("score", "contribution"):
        if c in props:
            props[c] = {"type": "number", "minimum": 0, "maximum": 1}
    if "handling" in props:
        props["handling"] = _HANDLING
    return {
        "type": "array",
        "items": {
            "type": "object",
            "properties": props,
            "required": list(cols),
            "additionalProperties": False,
        },
    }


def schema() -> dict[str, Any]:
    """The JSON Schema of ``report.json`` (draft 2020-12), derived from the table schemas."""
    subjects = {
        "entities": ENTITIES,
        "links": LINKS,
        "networks": NETWORKS,
        "transfers": EVIDENCE,
        "shared": SHARED,
        "persons": PERSONS,
    }
    facts = {
        n: _table({c: t for c, t in s.items() if c not in ASSESSMENT_COLUMNS[n]}, ID_OF[n])
        for n, s in subjects.items()
    }
    assessments = {"alerts": _table(ALERTS, "alert_id"), "scores": _table(SCORES, "subject_id")}
    # alerts may carry extra columns of the run (an incremental run's ``status``)
    assessments["alerts"]["items"]["additionalProperties"] = True
    for n, s in subjects.items():
        if ASSESSMENT_COLUMNS[n]:
            cols = {ID_OF[n]: s[ID_OF[n]], **{c: s[c] for c in ASSESSMENT_COLUMNS[n]}}
            assessments[n] = _table(cols, ID_OF[n])

    def section(tables: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": sorted(tables),
            "additionalProperties": False,
            "properties": tables,
        }

    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://github.com/finintel/finintel/docs/report.schema.json",
        "title": "finintel link report (report.json)",
        "description": (
            "Run metadata at the top level; provenance; facts (evidence transfers, shared "
            "infrastructure and the fact columns of entities, links, networks, persons) and "
            "assessments (alerts, score breakdowns and the assessment columns of entities, "
            "links, networks, persons) in separate sections."
        ),
        "type": "object",
        "required": list(RESERVED),
        "properties": {
            "format": {"const": FORMAT},
            "format_version": {"const": FORMAT_VERSION},
            "provenance": {
                "type": "object",
                "required": ["handling_order", "handling", "sources"],
                "additionalProperties": False,
                "properties": {
                    "handling_order": {"const": list(HANDLING_CODES)},
                    "handling": _HANDLING,
                    "sources": _table(SOURCES, "source"),
                },
            },
            "facts": section(facts),
            "assessments": section(assessments),
            "pseudonymised": {"type": "boolean"},
            "key_id": {"type": ["string", "null"]},
            "exclude_handling": {"type": "array", "items": {"enum": list(HANDLING_CODES)}},
        },
        "additionalProperties": True,
    }


def schema_text() -> str:
    """The schema as the text of ``docs/report.schema.json``."""
    return json.dumps(schema(), indent=2, ensure_ascii=False) + "\n"
