"""Canonical schemas (DESIGN §3) and the check that compares a file's schema to them.

The check runs on ``LazyFrame.collect_schema()`` before any row is read and reports every
mismatch at once: missing columns (with "did you mean") and columns whose type cannot be
coerced to the canonical one (expected vs found).

>>> import polars as pl
>>> lf = pl.LazyFrame({"tx_id": ["a"], "ts": ["2025-01-01"], "src_acount": ["x"]})
>>> print(check_schema(lf.collect_schema(), TRANSFERS_INPUT, "f.parquet")[0].message)
missing column 'src_account' (did you mean 'src_acount'?); transfers need tx_id, ts, src_account, dst_account, amount, currency (found: tx_id, ts, src_acount)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from finintel.errors import DataError, FinintelError, Location, did_you_mean

UTC_TS = pl.Datetime("us", "UTC")

#: One row per movement of money (DESIGN §3), as stored and as returned by ``Dataset``.
TRANSFERS: dict[str, pl.DataType] = {
    "tx_id": pl.String(),
    "ts": UTC_TS,
    "src_account": pl.String(),
    "dst_account": pl.String(),
    "amount": pl.Float64(),
    "currency": pl.String(),
    "amount_base": pl.Float64(),
    "channel": pl.String(),
    "src_party": pl.String(),
    "dst_party": pl.String(),
    "src_country": pl.String(),
    "dst_country": pl.String(),
    "src_agent": pl.String(),
    "dst_agent": pl.String(),
    "reference": pl.String(),
    "source": pl.String(),
    # Added to DESIGN §3: MTO records carry a payout time (payout delay typologies) and a
    # status; only status == "completed" moved money (cancelled/refunded are kept, not moved).
    "payout_ts": UTC_TS,
    "status": pl.String(),
}

#: Columns a Parquet file must have to be taken as canonical transfers without a profile.
TRANSFERS_REQUIRED: tuple[str, ...] = (
    "tx_id",
    "ts",
    "src_account",
    "dst_account",
    "amount",
    "currency",
)

#: Canonical statuses; a record moved money only when its status is ``completed``.
STATUSES: tuple[str, ...] = ("completed", "pending", "cancelled", "refunded", "rejected")
MOVED_STATUS = "completed"

CHANNELS: tuple[str, ...] = ("bank", "mto", "cash", "card", "mobile", "crypto")

#: Parties (holders, senders, receivers). ``id_type`` and ``id_country`` (issuing country of
#: the ID document) extend DESIGN §3 for entity resolution; ``device_id`` and ``ip_address``
#: (the device and IP address an order was initiated from: online and app channels) extend it
#: for shared infrastructure. A party with several devices or addresses has one row per
#: distinct combination (rows are distinct, ``party_id`` repeats), as with several addresses.
PARTIES: dict[str, pl.DataType] = {
    "party_id": pl.String(),
    "name": pl.String(),
    "birth_date": pl.Date(),
    "id_type": pl.String(),
    "id_number": pl.String(),
    "id_country": pl.String(),
    "phone": pl.String(),
    "email": pl.String(),
    "address": pl.String(),
    "country": pl.String(),
    "device_id": pl.String(),
    "ip_address": pl.String(),
    "source": pl.String(),
}

PARTIES_REQUIRED: tuple[str, ...] = ("party_id", "name")

#: ``id_type`` values that identify an organisation rather than a person.
ORGANISATION_ID_TYPES: tuple[str, ...] = ("COMPANY_REGISTER", "COMPANY_REGISTRATION", "LEI", "VAT")

#: What a rule's expressions may use: the canonical transfer columns plus the kind of each side's
#: party (``person`` / ``organisation``, null when unknown) taken from the parties' ``id_type``,
#: so that rules can segment customers as analysts do (a shop's fan-in is commerce).
RULE_COLUMNS: dict[str, pl.DataType] = {
    **TRANSFERS,
    "src_party_kind": pl.String(),
    "dst_party_kind": pl.String(),
}

#: A rejected row: where it came from, why, and its original values as text (JSON object).
QUARANTINE: dict[str, pl.DataType] = {
    "source": pl.String(),
    "file": pl.String(),
    "row": pl.Int64(),
    "column": pl.String(),
    "reason": pl.String(),
    "message": pl.String(),
    "raw": pl.String(),
}

#: What kinds of input type can be coerced to each canonical type.
_STRING_LIKE = (pl.String, pl.Categorical, pl.Enum)
_INTEGER = (pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64)
_NUMERIC = (*_INTEGER, pl.Float32, pl.Float64, pl.Decimal)
_TEMPORAL = (pl.Datetime, pl.Date)


def _accepts(canonical: pl.DataType, found: pl.DataType) -> bool:
    if found == pl.Null:
        return True
    if canonical == pl.String:
        return isinstance(found, (*_STRING_LIKE, *_INTEGER))
    if canonical == pl.Float64:
        return isinstance(found, (*_NUMERIC, *_STRING_LIKE))
    if isinstance(canonical, pl.Datetime) or canonical == pl.Date:
        return isinstance(found, (*_TEMPORAL, *_STRING_LIKE))
    return bool(found == canonical)


def _describe(canonical: pl.DataType) -> str:
    if canonical == pl.String:
        return "text (String) or integer"
    if canonical == pl.Float64:
        return "a number (or text holding one)"
    if isinstance(canonical, pl.Datetime) or canonical == pl.Date:
        return "a Datetime, Date or text timestamp"
    return str(canonical)


@dataclass(frozen=True)
class SchemaSpec:
    """The canonical columns of a table and which of them an input must have."""

    name: str
    columns: Mapping[str, pl.DataType]
    required: tuple[str, ...]


TRANSFERS_INPUT = SchemaSpec("transfers", TRANSFERS, TRANSFERS_REQUIRED)
PARTIES_INPUT = SchemaSpec("parties", PARTIES, PARTIES_REQUIRED)


def check_schema(
    found: Mapping[str, pl.DataType], spec: SchemaSpec, file: str
) -> list[FinintelError]:
    """Every mismatch between ``found`` and ``spec``: missing required columns, bad types.

    Extra columns are fine (ignored); optional canonical columns may be absent.
    """
    errors: list[FinintelError] = []
    present = list(found)
    for col in spec.required:
        if col not in found:
            hint = did_you_mean(col, [c for c in present if c not in spec.columns])
            errors.append(
                DataError(
                    "FI003",
                    f"missing column {col!r}{hint}; {spec.name} need "
                    f"{', '.join(spec.required)} (found: {', '.join(present) or 'no columns'})",
                    Location(file, column=col),
                )
            )
    for col, dtype in found.items():
        canonical = spec.columns.get(col)
        if canonical is None or col == "source":
            continue
        if not _accepts(canonical, dtype):
            errors.append(
                DataError(
                    "FI004",
                    f"column {col!r} has type {dtype}, expected {_describe(canonical)}",
                    Location(file, column=col),
                )
            )
    return errors


def conform(frame: pl.LazyFrame, columns: Mapping[str, pl.DataType]) -> pl.LazyFrame:
    """Select ``columns`` in order, casting each and filling absent ones with nulls."""
    have = frame.collect_schema()
    if not have:
        return pl.LazyFrame(schema=dict(columns))
    exprs = [
        (pl.col(c).cast(t) if c in have else pl.lit(None, dtype=t)).alias(c)
        for c, t in columns.items()
    ]
    return frame.select(exprs)


#: One row per alert (DESIGN §7). ``roles`` pairs each involved account with its role;
#: ``metrics`` is the JSON text of the peak window's metrics; ``params`` the rule's parameters.
ALERTS: dict[str, pl.DataType] = {
    "alert_id": pl.String(),
    "typology": pl.String(),
    "rule_version": pl.Int64(),
    "family": pl.String(),
    "kind": pl.String(),
    "severity": pl.String(),
    "score": pl.Float64(),
    "focus": pl.String(),
    "focus_kind": pl.String(),
    "focus_role": pl.String(),
    "accounts": pl.List(pl.String()),
    "roles": pl.List(pl.Struct({"account": pl.String(), "role": pl.String()})),
    "tx_ids": pl.List(pl.String()),
    "sources": pl.List(pl.String()),
    "n_transfers": pl.Int64(),
    "first_ts": UTC_TS,
    "last_ts": UTC_TS,
    "amount_base": pl.Float64(),
    "metrics": pl.String(),
    "explanation": pl.String(),
}
