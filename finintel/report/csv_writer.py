"""CSV tables for spreadsheets and link-chart tools, with formula injection neutralised.

Lists of text are joined with ``"; "``; structs and lists of structs are JSON text; times are
ISO 8601. Assessment columns of the subject tables are headed ``assessment.<column>``. Any text
cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading
apostrophe, so a spreadsheet shows it as text instead of running it as a formula.

>>> import polars as pl
>>> neutralise(pl.DataFrame({"a": ["=1+1", "ok", "-2", None]}))["a"].to_list()
["'=1+1", 'ok', "'-2", None]
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from finintel.atomic import atomic_path
from finintel.link import LinkReport
from finintel.report._tables import (
    ASSESSMENT_PREFIX,
    ASSESSMENT_TABLES,
    TIME_FORMAT,
    is_assessment,
    jsonable,
)

#: Leading characters a spreadsheet would take as the start of a formula.
FORMULA_START = r"^[=+\-@\t\r]"


def _json(values: pl.Series) -> pl.Series:
    return pl.Series(
        [
            None if v is None else json.dumps(jsonable(v), sort_keys=True, ensure_ascii=False)
            for v in values.to_list()
        ],
        dtype=pl.String,
    )


def flatten(frame: pl.DataFrame) -> pl.DataFrame:
    """Every column as text-friendly scalars (lists joined, structs as JSON, times ISO)."""
    exprs: list[pl.Expr] = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if isinstance(dtype, pl.List) and dtype.inner == pl.String:
            exprs.append(col.list.join("; ").alias(name))
        elif isinstance(dtype, pl.List | pl.Struct | pl.Array):
            exprs.append(col.map_batches(_json, return_dtype=pl.String).alias(name))
        elif isinstance(dtype, pl.Datetime):
            exprs.append(col.dt.to_string(TIME_FORMAT).alias(name))
        else:
            exprs.append(col)
    return frame.select(exprs)


def neutralise(frame: pl.DataFrame) -> pl.DataFrame:
    """Prefix an apostrophe to every text cell that a spreadsheet would run as a formula."""
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(FORMULA_START))
        .then(pl.lit("'") + pl.col(c))
        .otherwise(pl.col(c))
        .alias(c)
        for c, t in frame.schema.items()
        if t == pl.String
    )


def write(report: LinkReport, out_dir: Path) -> list[Path]:
    """Write one ``<table>.csv`` per table of the report."""
    written = []
    for name, frame in report.tables().items():
        flat = neutralise(flatten(frame))
        if name not in ASSESSMENT_TABLES:
            flat = flat.rename(
                {c: ASSESSMENT_PREFIX + c for c in flat.columns if is_assessment(name, c)}
            )
        target = out_dir / f"{name}.csv"
        with atomic_path(target) as tmp:
            flat.write_csv(tmp)
        written.append(target)
    return written
