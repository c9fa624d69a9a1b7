"""Helpers shared by the writers: which columns are assessments, JSON-ready rows."""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

import polars as pl

from finintel.link import ASSESSMENT_COLUMNS, LinkReport

ID_OF: dict[str, str] = {
    "entities": "entity_id",
    "links": "link_id",
    "networks": "network_id",
    "transfers": "tx_id",
    "shared": "shared_id",
    "persons": "person_id",
}
ASSESSMENT_TABLES: tuple[str, ...] = ("alerts", "scores")
ASSESSMENT_PREFIX = "assessment."


def fact_columns(name: str, frame: pl.DataFrame) -> list[str]:
    """The columns of a subject table that are facts."""
    return [c for c in frame.columns if c not in ASSESSMENT_COLUMNS.get(name, ())]


def assessment_columns(name: str, frame: pl.DataFrame) -> list[str]:
    """The columns of a subject table that are assessments."""
    return [c for c in frame.columns if c in ASSESSMENT_COLUMNS.get(name, ())]


def is_assessment(table: str, column: str) -> bool:
    """Whether ``column`` of ``table`` is an assessment (whole tables included)."""
    return table in ASSESSMENT_TABLES or column in ASSESSMENT_COLUMNS.get(table, ())


def jsonable(value: Any) -> Any:
    """Plain JSON values: datetimes as ISO 8601 text, NaN as null, nested values recursed."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


#: How times are written as text (RFC 3339, microseconds, UTC offset).
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S%.6f%:z"


def rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """The frame's rows as JSON-ready dicts (times as text, NaN as null; done in polars)."""
    exprs = []
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.Datetime):
            exprs.append(pl.col(name).dt.to_string(TIME_FORMAT))
        elif dtype.is_float():
            exprs.append(pl.col(name).fill_nan(None))
    return frame.with_columns(exprs).to_dicts() if exprs else frame.to_dicts()


def merge_text(merge: dict[str, Any]) -> str:
    """One merge of a person as text: ``party_a = party_b: rule value (name score …)``."""
    text = f"{merge['party_a']} = {merge['party_b']}: {merge['rule']}"
    if merge.get("value") is not None:
        text += f" {merge['value']}"
    if merge.get("name_score") is not None:
        text += f" (name score {merge['name_score']:.3g}: {merge['name_a']} / {merge['name_b']})"
    if merge.get("decision"):
        text += " [analyst decision]"
    return text


def subject_tables(report: LinkReport) -> dict[str, pl.DataFrame]:
    return {
        "entities": report.entities,
        "links": report.links,
        "networks": report.networks,
        "transfers": report.transfers,
        "shared": report.shared,
        "persons": report.persons,
    }
