"""Keyed pseudonyms (HMAC-SHA256) for account, party, identifier and name values.

Two agencies holding the same key file get the same pseudonym for the same value, so they can
cross-match reports without revealing identifiers; without the key a pseudonym cannot be
reversed or recomputed by guessing (unlike a plain hash of an IBAN). The kind is part of the
MAC input, so an account and a phone number with the same text get different pseudonyms.

>>> p = Pseudonymiser(b"0123456789abcdef-shared-secret")
>>> p.value("account", "DE89370400440532013000")[:8]
'account:'
>>> p.value("account", "X") == Pseudonymiser(b"0123456789abcdef-shared-secret").value("account", "X")
True
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from finintel.errors import ConfigError, Location

__all__ = ["KINDS", "MIN_KEY_BYTES", "Pseudonymiser", "load_key"]

KINDS: tuple[str, ...] = ("account", "party", "identifier", "name", "alert")
MIN_KEY_BYTES = 16
_HEX = 32  # 128 bits of the MAC: collisions are out of reach for any report size


@dataclass(frozen=True)
class Pseudonymiser:
    """Replaces values by ``kind:`` + the first 128 bits of HMAC-SHA256(key, kind ␟ value)."""

    key: bytes

    def __post_init__(self) -> None:
        if len(self.key) < MIN_KEY_BYTES:
            raise ConfigError(
                "FI094", f"pseudonymisation key has {len(self.key)} bytes, needs {MIN_KEY_BYTES}+"
            )

    @property
    def key_id(self) -> str:
        """A fingerprint of the key (not the key): equal across agencies sharing one key."""
        return hmac.new(self.key, b"finintel key id", hashlib.sha256).hexdigest()[:16]

    def value(self, kind: str, value: str) -> str:
        """The pseudonym of one value."""
        mac = hmac.new(self.key, f"{kind}\x1f{value}".encode(), hashlib.sha256)
        return f"{kind}:{mac.hexdigest()[:_HEX]}"

    def series(self, kind: str, values: pl.Series) -> pl.Series:
        """Pseudonymise a String series (nulls stay null; each distinct value is hashed once)."""
        distinct = values.drop_nulls().unique().sort()
        lookup = dict(zip(distinct.to_list(), [self.value(kind, v) for v in distinct], strict=True))
        return values.replace_strict(lookup, default=None, return_dtype=pl.String)

    def expr(self, kind: str, column: str | pl.Expr) -> pl.Expr:
        """Expression form of :meth:`series`."""
        col = pl.col(column) if isinstance(column, str) else column
        return col.cast(pl.String).map_batches(
            lambda s: self.series(kind, s), return_dtype=pl.String
        )

    def list_expr(self, kind: str, column: str) -> pl.Expr:
        """Pseudonymise every element of a list-of-String column."""
        return pl.col(column).list.eval(self.expr(kind, pl.element()))


def load_key(path: str | Path) -> Pseudonymiser:
    """Read a key file (its bytes, without a trailing newline) into a :class:`Pseudonymiser`."""
    p = Path(path)
    try:
        key = p.read_bytes().rstrip(b"\r\n")
    except OSError as exc:
        raise ConfigError(
            "FI094", f"cannot read key file: {exc.strerror}", Location(str(p))
        ) from None
    try:
        return Pseudonymiser(key)
    except ConfigError as exc:
        raise ConfigError(exc.code, exc.message, Location(str(p))) from None
