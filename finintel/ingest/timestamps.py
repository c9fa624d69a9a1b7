"""Timestamp coercion to ``Datetime(us, UTC)``.

Zone-aware values are converted to UTC. Naive values (text without an offset, naive
``Datetime``, ``Date``) are read in the declared zone; with no zone they are flagged so the
caller can refuse the file with a clear message rather than guess.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from finintel.schema import UTC_TS

_AWARE_FORMATS = ("%Y-%m-%d %H:%M:%S%.f%#z",)
_NAIVE_FORMATS = ("%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M")
_DATE_FORMAT = "%Y-%m-%d"


@dataclass(frozen=True)
class ParsedTimestamp:
    """``value``: UTC timestamp or null; ``naive``: true where the input had no zone."""

    value: pl.Expr
    naive: pl.Expr


def _localise(naive: pl.Expr, zone: str | None) -> pl.Expr:
    if zone is None:
        return pl.lit(None, dtype=UTC_TS)
    return naive.dt.replace_time_zone(
        zone, ambiguous="earliest", non_existent="null"
    ).dt.convert_time_zone("UTC")


def parse_timestamp(
    column: pl.Expr, dtype: pl.DataType, zone: str | None, fmt: str | None = None
) -> ParsedTimestamp:
    """Expressions that turn ``column`` (of input type ``dtype``) into UTC timestamps."""
    if isinstance(dtype, pl.Datetime):
        col = column.dt.cast_time_unit("us")
        if dtype.time_zone is not None:
            return ParsedTimestamp(col.dt.convert_time_zone("UTC"), pl.lit(False))
        return ParsedTimestamp(_localise(col, zone), column.is_not_null())
    if dtype == pl.Date:
        col = column.cast(pl.Datetime("us"))
        return ParsedTimestamp(_localise(col, zone), column.is_not_null())
    if dtype == pl.Null:
        return ParsedTimestamp(pl.lit(None, dtype=UTC_TS), pl.lit(False))
    text = column.cast(pl.String).str.strip_chars()
    if fmt is not None:
        parsed = text.str.to_datetime(fmt, strict=False, time_unit="us")
        if "%z" in fmt or "%#z" in fmt or "%:z" in fmt:
            return ParsedTimestamp(parsed.dt.convert_time_zone("UTC"), pl.lit(False))
        return ParsedTimestamp(_localise(parsed, zone), parsed.is_not_null())
    text = text.str.replace(r"^(\d{4}-\d{2}-\d{2})T", "${1} ")
    aware = pl.coalesce(
        [
            text.str.to_datetime(f, strict=False, time_unit="us", time_zone="UTC")
            for f in _AWARE_FORMATS
        ]
    )
    naive = pl.coalesce(
        [text.str.to_datetime(f, strict=False, time_unit="us") for f in _NAIVE_FORMATS]
        + [text.str.to_date(_DATE_FORMAT, strict=False).cast(pl.Datetime("us"))]
    )
    value = pl.when(aware.is_not_null()).then(aware).otherwise(_localise(naive, zone))
    return ParsedTimestamp(value, aware.is_null() & naive.is_not_null())
