"""The sortable, filterable tables of ``report.html``, formatted a whole column at a time.

Text, integers, times and lists of text are formatted and escaped by polars expressions and
joined into rows in polars; floats and lists of records (identifiers, roles, merges) by one
comprehension per column. Every value from the data is escaped as :func:`html.escape` does
(``&``, ``<``, ``>``, ``"`` and ``'``).

A browser stays usable with some ten thousand rows per table, not with millions: a longer
table keeps :data:`MAX_ROWS` rows (the highest-scoring ones where the table has a score, else
the first in the table's order, shown in the table's order) and says so, naming the files that
hold every row.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import polars as pl
from polars.datatypes import DataTypeClass

from finintel.report._tables import ASSESSMENT_TABLES, is_assessment, jsonable, merge_text

__all__ = ["MAX_ROWS", "e", "fmt_num", "fmt_time", "table"]

#: At most this many rows of one table are written into the page.
MAX_ROWS = 5_000
#: Tables whose rows are also written as ``<name>.parquet``, ``<name>.csv`` and in report.json.
_FILES = ("alerts", "entities", "links", "networks", "persons", "scores", "shared", "transfers")
_RANK = ("score", "contribution")  # a capped table keeps its highest rows by the first of these
_SCORE_COLS = ("score", "contribution", "centrality")
_FOLD = 6  # longer lists in a cell are folded
_NOWRAP = ("typology", "typologies", "family", "kind", "severity", "role", "network_role")
_WIDE = ("explanation", "metrics")
_ESCAPES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("'", "&#x27;"))


def e(value: Any) -> str:
    """Escape any value for HTML text and (double-quoted) attribute values."""
    return html.escape("" if value is None else str(value), quote=True)


def fmt_time(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M:%S")


def fmt_num(column: str, value: float | None) -> str:
    """A score with 3 decimals, any other number with thousands separators and 2 decimals."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if column in _SCORE_COLS:
        return f"{value:.3f}"
    return f"{value:,.2f}"


def _fmt_item(value: Any) -> str:
    if isinstance(value, dict):
        if set(value) == {"type", "value"}:
            text = str(value["value"])
            return text if text.startswith(f"{value['type']}:") else f"{value['type']}: {text}"
        if set(value) == {"account", "role"}:
            return f"{value['account']} ({value['role']})"
        if "party_a" in value and "rule" in value:
            return merge_text(value)
        return json.dumps(jsonable(value), sort_keys=True, ensure_ascii=False)
    return str(value)


# --------------------------------------------------------------------------------------------
# whole columns as <td> cells


def _escape(expr: pl.Expr) -> pl.Expr:
    """:func:`html.escape` (quote=True) of a text expression."""
    for char, entity in _ESCAPES:
        expr = expr.str.replace_all(char, entity, literal=True)
    return expr


def _thousands(expr: pl.Expr) -> pl.Expr:
    """An integer as text with ``,`` between thousands (``f"{n:,}"``)."""
    text = expr.cast(pl.String)
    digits = (
        text.str.strip_prefix("-")
        .str.reverse()
        .str.replace_all(r"(\d{3})", "${1},")
        .str.reverse()
        .str.strip_chars_start(",")
    )
    return pl.when(text.str.starts_with("-")).then(pl.lit("-") + digits).otherwise(digits)


def _td(cls: str, text: pl.Expr, key: pl.Expr | None = None) -> pl.Expr:
    if key is None:
        return pl.concat_str([pl.lit(f"<td{cls}>"), text, pl.lit("</td>")])
    return pl.concat_str(
        [pl.lit(f'<td{cls} data-sort="'), key, pl.lit('">'), text, pl.lit("</td>")]
    )


def _item_expr(inner: pl.DataType | DataTypeClass) -> pl.Expr | None:
    """A list item as text (as :func:`_fmt_item` writes it), or None where Python does it."""
    item = pl.element()
    if inner == pl.String or isinstance(inner, pl.Categorical | pl.Enum):
        return item.cast(pl.String).fill_null("None")
    if not isinstance(inner, pl.Struct) or not all(f.dtype == pl.String for f in inner.fields):
        return None
    names = {f.name for f in inner.fields}

    def field(name: str) -> pl.Expr:
        return item.struct.field(name).fill_null("None")

    if names == {"type", "value"}:
        text = (
            pl.when(field("value").str.starts_with(field("type") + pl.lit(":")))
            .then(field("value"))
            .otherwise(pl.concat_str([field("type"), pl.lit(": "), field("value")]))
        )
    elif names == {"account", "role"}:
        text = pl.concat_str([field("account"), pl.lit(" ("), field("role"), pl.lit(")")])
    else:
        return None
    return pl.when(item.is_null()).then(pl.lit("None")).otherwise(text)


def _cells_expr(name: str, dtype: pl.DataType, cls: str) -> pl.Expr | None:
    """The column's cells as one polars expression, or None where Python formats them."""
    col = pl.col(name)
    empty = pl.lit(f"<td{cls}></td>")
    if dtype == pl.String or isinstance(dtype, pl.Categorical | pl.Enum):
        cell = _td(cls, _escape(col.cast(pl.String)))
    elif dtype.is_integer():
        cell = _td(cls, _thousands(col), col.cast(pl.String))
    elif isinstance(dtype, pl.Datetime):
        zone = "%:z" if dtype.time_zone else ""
        iso = (
            pl.when(col.dt.microsecond() == 0)
            .then(col.dt.to_string(f"%Y-%m-%dT%H:%M:%S{zone}"))
            .otherwise(col.dt.to_string(f"%Y-%m-%dT%H:%M:%S%.6f{zone}"))
        )
        cell = _td(cls, col.dt.to_string("%Y-%m-%d %H:%M:%S"), iso)
    elif isinstance(dtype, pl.List) and (item := _item_expr(dtype.inner)) is not None:
        items = col.list.eval(_escape(item))
        joined = items.list.join("<br>")
        n = col.list.len()
        folded = pl.concat_str(
            [
                pl.lit("<details><summary>"),
                _thousands(n),
                pl.lit(" items</summary>"),
                joined,
                pl.lit("</details>"),
            ]
        )
        return (
            pl.when(col.is_null() | (n == 0))
            .then(empty)
            .when(n > _FOLD)
            .then(_td(cls, folded))
            .otherwise(_td(cls, joined))
        )
    else:
        return None
    return pl.when(col.is_null()).then(empty).otherwise(cell)


def _py_cell(column: str, dtype: pl.DataType, value: Any) -> tuple[str, str | None]:
    """(escaped cell HTML, sort key or None) of a float, a list of records or anything else."""
    if value is None:
        return "", None
    if dtype.is_float():
        return fmt_num(column, value), repr(float(value))
    if isinstance(dtype, pl.List):
        items = [_fmt_item(v) for v in value]
        if not items:
            return "", None
        joined = "<br>".join(e(i) for i in items)
        if len(items) > _FOLD:
            return f"<details><summary>{len(items):,} items</summary>{joined}</details>", None
        return joined, None
    return e(value), None


def _py_cells(name: str, dtype: pl.DataType, values: pl.Series, cls: str) -> pl.Series:
    out = []
    for value in values.to_list():
        text, key = _py_cell(name, dtype, value)
        attrs = cls if key is None else f'{cls} data-sort="{e(key)}"'
        out.append(f"<td{attrs}>{text}</td>")
    return pl.Series(name, out, dtype=pl.String)


def _rows(frame: pl.DataFrame, classes: Sequence[str]) -> str:
    """Every row of ``frame`` as ``<tr><td…>…</td>…</tr>``, in order."""
    if not frame.width:
        return "<tr></tr>" * frame.height
    exprs: dict[str, pl.Expr] = {}
    python: dict[str, pl.Series] = {}
    for (name, dtype), cls in zip(frame.schema.items(), classes, strict=True):
        expr = _cells_expr(name, dtype, cls)
        if expr is None:
            python[name] = _py_cells(name, dtype, frame[name], cls)
        else:
            exprs[name] = expr.alias(name)
    cells = [exprs[c] if c in exprs else pl.lit(python[c]) for c in frame.columns]
    rows = frame.select(pl.concat_str([pl.lit("<tr>"), *cells, pl.lit("</tr>")]))
    return "".join(rows.to_series().to_list())


# --------------------------------------------------------------------------------------------
# the table


def _nowrap(column: str, dtype: pl.DataType) -> bool:
    """Numbers, times and lists of ids are not broken across lines."""
    return (
        dtype.is_numeric()
        or isinstance(dtype, pl.Datetime)
        or column.endswith(("_id", "_ids"))
        or column in _NOWRAP
    )


def _cap(frame: pl.DataFrame, table: str, limit: int) -> tuple[pl.DataFrame, str]:
    """At most ``limit`` rows (the highest ranked, in the table's order) and a note saying so."""
    if frame.height <= limit:
        return frame, ""
    rank = next((c for c in _RANK if c in frame.columns), None)
    if rank is None:
        kept, which = frame.head(limit), "first"
    else:
        kept = (
            frame.with_row_index("_row")
            .sort([rank, "_row"], descending=[True, False], nulls_last=True)
            .head(limit)
            .sort("_row")
            .drop("_row")
        )
        which = "highest-scoring" if rank == "score" else f"highest-{rank}"
    where = (
        f"{table}.parquet, {table}.csv and report.json"
        if table in _FILES
        else "the machine-readable formats"
    )
    note = (
        f'<p class="muted capped">The {limit:,} {which} of {frame.height:,} rows are shown '
        f"here, in the table's order; all rows are in {e(where)}.</p>"
    )
    return kept, note


def table(
    table_id: str,
    name: str,
    frame: pl.DataFrame,
    columns: Sequence[str],
    *,
    caption: str,
    all_assessment: bool = False,
    limit: int | None = None,
) -> str:
    """A sortable, filterable table of ``frame`` (report table ``name``); assessment columns
    are marked and shaded; at most ``limit`` rows (default :data:`MAX_ROWS`)."""
    all_assessment = all_assessment or name in ASSESSMENT_TABLES
    cols = [c for c in columns if c in frame.columns]
    assess = [all_assessment or is_assessment(name, c) for c in cols]
    schema = frame.schema
    head = []
    for c, a in zip(cols, assess, strict=True):
        cls = ' class="assessment"' if a else ""
        label = ("assessment · " if a and not all_assessment else "") + c
        head.append(f'<th scope="col"{cls} title="click to sort">{e(label)}</th>')
    td_class = []
    for c, a in zip(cols, assess, strict=True):
        dtype = schema[c]
        flags = (
            ("assessment", a),
            ("nw", _nowrap(c, dtype)),
            ("num", dtype.is_numeric()),
            ("wide", c in _WIDE),
        )
        classes = " ".join(k for k, on in flags if on)
        td_class.append(f' class="{classes}"' if classes else "")
    shown, note = _cap(frame, name, MAX_ROWS if limit is None else limit)
    count = (
        f"{frame.height:,} row{'' if frame.height == 1 else 's'}"
        if not note
        else f"{shown.height:,} of {frame.height:,} rows"
    )
    return (
        f'<div class="tablebox"><p class="tools"><label>Filter {e(caption)}: '
        f'<input type="search" class="filter" data-table="{e(table_id)}" '
        f'placeholder="text in any column"></label> '
        f'<span class="count" data-count-for="{e(table_id)}">{count}</span></p>{note}'
        f'<div class="scroll"><table id="{e(table_id)}" class="data sortable">'
        f"<caption>{e(caption)}</caption>"
        f"<thead><tr>{''.join(head)}</tr></thead>"
        f"<tbody>{_rows(shown.select(cols), td_class)}</tbody></table></div></div>"
    )
