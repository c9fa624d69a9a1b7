"""What ingesting one file yields: canonical rows, parties, quarantined rows and the counts."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import polars as pl

#: Canonical columns that identify a movement's content: two rows with the same
#: ``(source, tx_id)`` and equal values here are exact duplicates; otherwise they conflict.
CONTENT_COLUMNS: tuple[str, ...] = (
    "ts",
    "src_account",
    "dst_account",
    "amount",
    "currency",
    "channel",
    "src_party",
    "dst_party",
    "src_country",
    "dst_country",
    "src_agent",
    "dst_agent",
    "reference",
    "payout_ts",
    "status",
)


@dataclass
class FileCounts:
    """Row accounting for one input file: ``rows_in == accepted + duplicate + quarantined``."""

    file: str
    source: str
    profile: str
    drop_id: str  # sha256 of the file's bytes
    size_bytes: int
    rows_in: int
    rows_accepted: int = 0
    rows_duplicate: int = 0
    rows_quarantined: int = 0
    parties: int = 0
    kind: str = "transfers"  # or "parties"

    @property
    def balanced(self) -> bool:
        return self.rows_in == self.rows_accepted + self.rows_duplicate + self.rows_quarantined

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class FileBatch:
    """One file, canonicalised and validated, before de-duplication against other files.

    ``transfers`` has the canonical TRANSFERS columns plus ``row_hash`` (hex digest of the
    CONTENT_COLUMNS) and ``row`` (0-based row in the file); ``quarantine`` the QUARANTINE
    columns; ``parties`` the PARTIES columns (distinct).
    """

    counts: FileCounts
    transfers: pl.DataFrame
    parties: pl.DataFrame
    quarantine: pl.DataFrame
