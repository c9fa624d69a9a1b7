"""De-duplication of canonical transfers on ``(source, tx_id)`` and the stable row hash.

Two rows with the same ``(source, tx_id)`` are the same movement of money. When their content
(the :data:`~finintel.ingest.result.CONTENT_COLUMNS`, compared through ``row_hash``) is equal,
the later one is an exact *duplicate*: counted, not stored. When it differs, nobody can tell
which version is right, so the row is *quarantined* with reason ``conflicting_duplicate``:

* within one file, every version of a conflicting key is quarantined (none is stored);
* against rows already stored, the new row is quarantined and the stored one stays.

All classification is done with polars joins and window expressions; only the (few) conflict
rows are visited in Python, to write their messages and raw JSON.

The row hash
------------
``row_hash`` is the SHA-256 hex digest (64 lowercase hex digits) of the row's *canonical text*,
which is the same on every run, platform and polars version:

* one field per CONTENT_COLUMNS entry, in that order, joined with ``|``;
* a null is ``~``; any other value is ``<n>:<text>`` where ``n`` is the number of characters
  (code points) of ``text`` -- the length prefix keeps any ``|`` or ``~`` inside a value from
  being ambiguous;
* text of a String is the string itself; of a Float64, Python's ``repr`` (the shortest string
  that reads back to the same double, e.g. ``100.0``, ``0.1``, ``1e-07``; ``-0.0`` is written
  as ``0.0``); of a Datetime, the UTC instant as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``.

The text is UTF-8 encoded before hashing. :func:`canonical_text` is the plain-Python
reference of the same rule. polars' own ``Expr.hash`` is deliberately not used: it is seeded
and changes between polars versions.

Both steps are vectorised: the digest is the standard SHA-256 computed in Rust by the
``polars-hash`` plugin (bit-identical to :mod:`hashlib`, so stores written before keep
matching), and a float's text is polars' own shortest round-trip form wherever that equals
Python's ``repr`` (``1e-4 <= |x| < 1e16`` and zero, where both write plain digits); only the
rare other values (exponent forms, NaN, infinities) go through ``repr``.

>>> from datetime import datetime, timezone
>>> canonical_text({"ts": datetime(2025, 1, 2, tzinfo=timezone.utc), "amount": 100.0,
...                 "currency": "EUR"})[:60]
'27:2025-01-02T00:00:00.000000Z|~|~|5:100.0|3:EUR|~|~|~|~|~|~'
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

import polars as pl
from polars_hash import CryptographicHashingNameSpace

from finintel.ingest.result import CONTENT_COLUMNS, FileBatch
from finintel.schema import QUARANTINE, TRANSFERS, UTC_TS, conform

__all__ = [
    "CONFLICT_REASON",
    "KEY",
    "canonical_text",
    "canonical_text_expr",
    "dedupe",
    "row_hash_expr",
]

#: The identity of a movement of money.
KEY: tuple[str, str] = ("source", "tx_id")
#: Quarantine reason of a row whose ``(source, tx_id)`` exists with other content.
CONFLICT_REASON = "conflicting_duplicate"

_NULL = "~"
_SEP = "|"
_TS_FORMAT = "%Y-%m-%dT%H:%M:%S%.6fZ"
_MAX_SHOWN = 60  # characters of a value shown in a message (raw keeps everything)

# Helper columns used while classifying; removed before returning.
_STATUS = "_dedupe_status"
_KEEP, _DUP, _CONFLICT_FILE, _CONFLICT_STORED = "keep", "duplicate", "conflict_file", "stored"


# --------------------------------------------------------------------------------------------
# the row hash


#: Between these magnitudes (and at zero) Python's ``repr`` and polars write a float the same
#: way: the shortest round-trip digits, positional, with ``.0`` for whole numbers.
_PLAIN_MIN, _PLAIN_MAX = 1e-4, 1e16


def _float_text(s: pl.Series) -> pl.Series:
    """Python's ``repr`` of each float (``-0.0`` as ``0.0``), vectorised where both agree."""
    x = s.cast(pl.Float64)
    a = x.abs()
    text = pl.select(pl.when(a == 0.0).then(pl.lit("0.0")).otherwise(x.cast(pl.String))).to_series()
    plain = x.is_finite() & (((a >= _PLAIN_MIN) & (a < _PLAIN_MAX)) | (a == 0.0))
    other = (x.is_not_null() & ~plain).arg_true()
    if other.len():
        text = text.scatter(other, [repr(v) for v in x.gather(other).to_list()])
    return text.alias(s.name)


def _field_expr(column: str) -> pl.Expr:
    dtype = TRANSFERS[column]
    col = pl.col(column)
    if dtype == pl.String:
        text = col.cast(pl.String)
    elif dtype == pl.Float64:
        text = col.cast(pl.Float64).map_batches(
            _float_text, return_dtype=pl.String, is_elementwise=True
        )
    elif isinstance(dtype, pl.Datetime):
        text = col.cast(UTC_TS).dt.strftime(_TS_FORMAT)
    else:  # pragma: no cover - CONTENT_COLUMNS only holds the types above
        raise TypeError(f"no canonical text for column {column!r} of type {dtype}")
    return pl.concat_str(text.str.len_chars().cast(pl.String), pl.lit(":"), text).fill_null(_NULL)


def canonical_text_expr(columns: Sequence[str] = CONTENT_COLUMNS) -> pl.Expr:
    """The canonical text of each row (see the module docs), named ``canonical_text``.

    Every column of ``columns`` must be present, with (or castable to) its canonical type.
    """
    return pl.concat_str([_field_expr(c) for c in columns], separator=_SEP).alias("canonical_text")


def row_hash_expr(columns: Sequence[str] = CONTENT_COLUMNS) -> pl.Expr:
    """``row_hash``: SHA-256 hex of the canonical text of ``columns`` (default CONTENT_COLUMNS).

    For the readers: ``frame.with_columns(row_hash_expr())``. Works on DataFrames and
    LazyFrames (also streaming: the digest is computed per batch of rows).

    >>> import polars as pl
    >>> from finintel.schema import conform, TRANSFERS
    >>> lf = conform(pl.LazyFrame({"tx_id": ["t1"], "amount": [100.0]}), TRANSFERS)
    >>> lf.select(row_hash_expr()).collect().item()[:16]
    '1ac79ea8faf957dd'
    """
    return CryptographicHashingNameSpace(canonical_text_expr(columns)).sha2_256().alias("row_hash")


def _text(value: object) -> str:
    if isinstance(value, float):
        return repr(value + 0.0)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return str(value)


def canonical_text(row: Mapping[str, object], columns: Sequence[str] = CONTENT_COLUMNS) -> str:
    """Plain-Python reference of :func:`canonical_text_expr` for one row (missing = null)."""
    fields = []
    for c in columns:
        v = row.get(c)
        if v is None:
            fields.append(_NULL)
        else:
            t = _text(v)
            fields.append(f"{len(t)}:{t}")
    return _SEP.join(fields)


# --------------------------------------------------------------------------------------------
# de-duplication


def dedupe(batch: FileBatch, existing: pl.DataFrame | pl.LazyFrame | None) -> FileBatch:
    """Drop exact duplicates and quarantine conflicting ones; return the new batch.

    Parameters
    ----------
    batch
        One file's canonical rows: TRANSFERS columns, ``row`` (0-based row in the file) and
        ``row_hash`` (computed with :func:`row_hash_expr` when absent). ``source`` and
        ``tx_id`` must not be null (the reader quarantines such rows).
    existing
        Rows already stored or accepted from earlier files, or ``None``. It needs ``source``,
        ``tx_id`` and ``row_hash``; canonical columns (and ``drop_id``) it also has are used
        in the messages of conflicts. A LazyFrame is read twice at most, each time only for
        the keys of this batch: first ``(source, tx_id, row_hash)``, then the full rows of
        conflicting keys, if any.

    Returns
    -------
    FileBatch
        ``transfers``: the rows to store (first occurrence of each key, no stored key), ordered
        by ``row``; ``quarantine``: the batch's rejects plus the conflicts, ordered by ``row``;
        ``counts`` moved from ``rows_accepted`` to ``rows_duplicate``/``rows_quarantined``, so
        ``rows_in == rows_accepted + rows_duplicate + rows_quarantined`` still holds.
        ``parties`` is unchanged.

    A conflict's quarantine row has ``column`` ``"tx_id"``, reason ``conflicting_duplicate``,
    a message naming the rows (or the stored row) and the differing content columns, and
    ``raw``: a JSON object of the row's canonical values (instants as ISO 8601 UTC text) with
    ``"conflicts_with"``, the list of the other versions: ``{"rows": [17], ...values}`` for
    another version in this file, ``{"stored": true, "drop_id": ..., ...values}`` for a
    stored one. Exact copies of a row that conflicts are quarantined with it, copies of a
    stored row are all duplicates.
    """
    if batch.transfers.is_empty():  # a parties file, or nothing valid
        return dataclasses.replace(
            batch, quarantine=_by_row(_conformed(batch.quarantine, QUARANTINE))
        )
    t = _prepared(batch.transfers)
    # classified on the key columns only; the wide rows are filtered once at the end
    keys = t.select(*KEY, "row_hash").with_columns(
        (pl.col("row_hash").n_unique().over(KEY) > 1).alias("_conflict_file")
    )
    stored = _stored_hashes(keys.filter(~pl.col("_conflict_file")), existing)
    same = stored.unique().with_columns(pl.lit(True).alias("_stored_same"))
    known = stored.select(KEY).unique().with_columns(pl.lit(True).alias("_stored_key"))
    status = (
        keys.join(same, on=[*KEY, "row_hash"], how="left", maintain_order="left")
        .join(known, on=list(KEY), how="left", maintain_order="left")
        .with_columns(
            pl.when(pl.col("_conflict_file"))
            .then(pl.lit(_CONFLICT_FILE))
            .when(pl.col("_stored_same").fill_null(False))
            .then(pl.lit(_DUP))
            .when(pl.col("_stored_key").fill_null(False))
            .then(pl.lit(_CONFLICT_STORED))
            .otherwise(pl.lit(_KEEP))
            .alias(_STATUS)
        )
        # Exact copies inside the file: the first (lowest row) of a new key is kept.
        .select(
            pl.when((pl.col(_STATUS) == _KEEP) & ~pl.struct(KEY).is_first_distinct())
            .then(pl.lit(_DUP))
            .otherwise(pl.col(_STATUS))
            .alias(_STATUS)
        )
        .get_column(_STATUS)
    )

    n_dup = int((status == _DUP).sum())
    conflicting = status.is_in([_CONFLICT_FILE, _CONFLICT_STORED])
    conflicts = _conflict_quarantine(
        t.filter(conflicting).with_columns(status.filter(conflicting)),
        existing,
        batch.counts.file,
    )
    out_columns = [*batch.transfers.columns]
    if "row_hash" not in out_columns:
        out_columns.append("row_hash")
    keep = status == _KEEP
    # no copy of the rows when every row is kept (the usual case)
    kept = (t if keep.all() else t.filter(keep)).select(out_columns)

    quarantine = _by_row(pl.concat([_conformed(batch.quarantine, QUARANTINE), conflicts]))
    c = batch.counts
    counts = dataclasses.replace(
        c,
        rows_accepted=c.rows_accepted - n_dup - conflicts.height,
        rows_duplicate=c.rows_duplicate + n_dup,
        rows_quarantined=c.rows_quarantined + conflicts.height,
    )
    return dataclasses.replace(batch, counts=counts, transfers=kept, quarantine=quarantine)


def _by_row(quarantine: pl.DataFrame) -> pl.DataFrame:
    """Ordered by ``row`` (stable: rows without a number last, in their order)."""
    return quarantine.sort("row", nulls_last=True, maintain_order=True)


def _conformed(frame: pl.DataFrame, columns: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """``frame`` with exactly ``columns``; a frame of no rows (maybe no columns) gives none."""
    if frame.is_empty():
        return pl.DataFrame(schema=dict(columns))
    return conform(frame.lazy(), columns).collect()


def _prepared(transfers: pl.DataFrame) -> pl.DataFrame:
    missing = [c for c in (*KEY, "row") if c not in transfers.columns]
    if missing:
        raise ValueError(f"dedupe needs the columns {', '.join(missing)} in batch.transfers")
    nulls = transfers.select(pl.col(*KEY).null_count()).row(0)
    if any(nulls):
        raise ValueError("dedupe needs non-null source and tx_id (the reader quarantines them)")
    t = transfers
    if "row_hash" not in t.columns:
        t = t.with_columns(row_hash_expr())
    return t if t.get_column("row").is_sorted() else t.sort("row", maintain_order=True)


def _stored_hashes(
    rows: pl.DataFrame, existing: pl.DataFrame | pl.LazyFrame | None
) -> pl.DataFrame:
    """``(source, tx_id, row_hash)`` of ``existing`` for the keys of ``rows``."""
    schema = {"source": pl.String(), "tx_id": pl.String(), "row_hash": pl.String()}
    if existing is None or rows.is_empty():
        return pl.DataFrame(schema=schema)
    keys = rows.select(KEY).unique()
    return (
        existing.lazy()
        .select([pl.col(c).cast(t) for c, t in schema.items()])
        .join(keys.lazy(), on=list(KEY), how="semi")
        .unique()
        .collect()
    )


def _conflict_quarantine(
    t: pl.DataFrame, existing: pl.DataFrame | pl.LazyFrame | None, file: str
) -> pl.DataFrame:
    """QUARANTINE rows (with messages and raw JSON) for every conflicting row of ``t``."""
    in_file = t.filter(pl.col(_STATUS) == _CONFLICT_FILE)
    vs_stored = t.filter(pl.col(_STATUS) == _CONFLICT_STORED)
    records: list[dict[str, object]] = []
    shown = [c for c in TRANSFERS if c in t.columns]

    for group in in_file.partition_by(KEY, maintain_order=True):
        rows = group.to_dicts()
        versions = _versions(rows)
        message = _in_file_message(rows, versions)
        for r in rows:
            others = [
                {"rows": [o["row"] for o in v], **_values(v[0], shown)}
                for v in versions
                if v[0]["row_hash"] != r["row_hash"]
            ]
            records.append(
                _record(r, file, message, {**_values(r, shown), "conflicts_with": others})
            )

    if not vs_stored.is_empty():
        assert existing is not None  # a stored conflict needs stored rows
        have = existing.lazy().collect_schema()
        wanted = [c for c in (*TRANSFERS, "row_hash", "drop_id") if c in have]
        stored_rows = (
            existing.lazy()
            .select(wanted)
            .join(vs_stored.select(KEY).unique().lazy(), on=list(KEY), how="semi")
            .unique(maintain_order=True)
            .collect()
        )
        by_key: dict[tuple[object, ...], list[dict[str, Any]]] = {}
        for s in stored_rows.sort(*KEY, "row_hash").to_dicts():
            by_key.setdefault((s["source"], s["tx_id"]), []).append(s)
        for r in vs_stored.to_dicts():
            olds = by_key.get((r["source"], r["tx_id"]), [])
            message = _stored_message(r, olds)
            others = [
                {
                    "stored": True,
                    **({"drop_id": o["drop_id"]} if "drop_id" in o else {}),
                    **_values(o, shown),
                }
                for o in olds
            ]
            records.append(
                _record(r, file, message, {**_values(r, shown), "conflicts_with": others})
            )

    return pl.DataFrame(records, schema=QUARANTINE)


def _versions(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Rows grouped by row_hash, in order of first appearance."""
    by_hash: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_hash.setdefault(r["row_hash"], []).append(r)
    return list(by_hash.values())


def _record(row: Mapping[str, Any], file: str, message: str, raw: object) -> dict[str, object]:
    return {
        "source": row["source"],
        "file": file,
        "row": row["row"],
        "column": "tx_id",
        "reason": CONFLICT_REASON,
        "message": message,
        "raw": json.dumps(raw, ensure_ascii=False, default=_json_default),
    }


def _values(row: Mapping[str, Any], columns: Sequence[str]) -> dict[str, object]:
    return {c: _json_value(row.get(c)) for c in columns}


def _json_value(v: object) -> object:
    if isinstance(v, float) and not math.isfinite(v):
        return repr(v)
    if isinstance(v, datetime | date):
        return _show(v)
    return v


def _json_default(v: object) -> object:  # pragma: no cover - values are converted beforehand
    return str(v)


def _show(v: object) -> str:
    """A value as written in a message: quoted text, shortest floats, ISO UTC instants."""
    if v is None:
        return "null"
    if isinstance(v, str):
        return repr(v if len(v) <= _MAX_SHOWN else v[: _MAX_SHOWN - 1] + "…")
    if isinstance(v, float):
        return repr(v + 0.0)
    if isinstance(v, datetime):
        aware = v if v.tzinfo is not None else v.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(v, date):
        return v.isoformat()
    return str(v)


def _rows_text(rows: Sequence[object]) -> str:
    items = [str(r) for r in rows]
    if len(items) == 1:
        return f"row {items[0]}"
    return f"rows {', '.join(items[:-1])} and {items[-1]}"


def _differences(versions: Sequence[Mapping[str, Any]]) -> list[str]:
    """Content columns (known to every version) whose values differ between ``versions``."""
    return [
        c
        for c in CONTENT_COLUMNS
        if all(c in v for v in versions)
        and len({canonical_text({c: v[c]}, (c,)) for v in versions}) > 1
    ]


def _joined(parts: Sequence[str], versions: Sequence[Mapping[str, Any]]) -> str:
    if parts:
        return "; ".join(parts)
    # Content not at hand (``existing`` without the canonical columns): show the hashes.
    return "row_hash " + " vs ".join(str(v.get("row_hash"))[:12] for v in versions)


def _in_file_message(rows: list[dict[str, Any]], versions: list[list[dict[str, Any]]]) -> str:
    tx_id = rows[0]["tx_id"]
    heads = [v[0] for v in versions]
    labelled = any(len(v) > 1 for v in versions)
    parts = []
    for c in _differences(heads):
        shown = [
            _show(v[0].get(c)) + (f" ({_rows_text([r['row'] for r in v])})" if labelled else "")
            for v in versions
        ]
        parts.append(f"{c} {' vs '.join(shown)}")
    return (
        f"tx_id {tx_id!r} appears at {_rows_text([r['row'] for r in rows])} of this file "
        f"with different content: {_joined(parts, heads)}"
    )


def _stored_message(row: Mapping[str, Any], stored: Sequence[Mapping[str, Any]]) -> str:
    parts = []
    for c in _differences([row, *stored]):
        olds = " / ".join(_show(s.get(c)) for s in stored)
        parts.append(f"{c} {olds} (stored) vs {_show(row.get(c))} (this file)")
    return (
        f"tx_id {row['tx_id']!r} is already stored with different content: "
        f"{_joined(parts, [*stored, row])}"
    )
