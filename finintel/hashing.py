"""Stable content digests for ids (party ids, alert ids, row hashes).

``polars`` hashes are not stable across versions, so ids that end up in reports use BLAKE2b
over UTF-8 text. Only distinct values are hashed, so a column of repeated keys costs one digest
per distinct key.

>>> import polars as pl
>>> digest(pl.Series(["a", "a", None]), 8).to_list()
['ca234c55', 'ca234c55', None]
"""

from __future__ import annotations

import hashlib

import polars as pl


def digest_text(text: str, length: int = 16) -> str:
    """Hex BLAKE2b digest of ``text`` with ``length`` hex characters."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=(length + 1) // 2).hexdigest()[:length]


def digest(values: pl.Series, length: int = 16) -> pl.Series:
    """Digest every value of a String series (nulls stay null), hashing distinct values once."""
    distinct = values.drop_nulls().unique(maintain_order=True)
    hashed = pl.Series([digest_text(v, length) for v in distinct.to_list()], dtype=pl.String)
    lookup = pl.DataFrame({"k": distinct, "v": hashed})
    return (
        values.to_frame("k")
        .join(lookup, on="k", how="left", maintain_order="left")
        .get_column("v")
        .alias(values.name)
    )


def digest_expr(expr: pl.Expr, length: int = 16) -> pl.Expr:
    """Expression form of :func:`digest` (for ``with_columns``)."""
    return expr.cast(pl.String).map_batches(lambda s: digest(s, length), return_dtype=pl.String)
