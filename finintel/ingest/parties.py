"""Parties: taken from the sender/receiver details in profiled rows, or read from a parties file.

A party row is one recorded identity (name, birth date, ID document, phone…). When an export
gives no party id, the id is a digest of the identity fields, so the same details always give the
same id; spelling variants give different parties, which entity resolution merges later.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import polars as pl
import pyarrow.compute as pc

from finintel.hashing import digest_expr
from finintel.identifiers import ip_addresses
from finintel.ingest.codes import countries
from finintel.ingest.profile import PARTY_FIELDS, SourceProfile
from finintel.ingest.transfers import clean_text
from finintel.schema import PARTIES

IDENTITY_FIELDS = ("name", "birth_date", "id_number", "id_country", "phone", "email")

log = logging.getLogger("finintel.ingest")


def normalise_ips(parties: pl.DataFrame, where: str) -> pl.DataFrame:
    """``ip_address`` in its normal text (:func:`finintel.identifiers.ip_text`).

    A value that is no IP address becomes null and is counted in a warning, as an unreadable
    phone number never links anything: the row itself is kept.
    """
    raw = parties.get_column("ip_address")
    ips = ip_addresses(raw)
    bad = int((raw.is_not_null() & ips.is_null()).sum())
    if bad:
        examples = raw.filter(raw.is_not_null() & ips.is_null()).unique().sort().head(3)
        log.warning(
            "%s: %d ip_address value(s) are not IP addresses, kept as null (e.g. %s)",
            where,
            bad,
            ", ".join(repr(v) for v in examples.to_list()),
        )
    return parties.with_columns(ips.alias("ip_address"))


def _birth_date(e: pl.Expr, dtype: pl.DataType | None = None) -> pl.Expr:
    if dtype == pl.Date:
        return e
    if isinstance(dtype, pl.Datetime):
        return e.dt.date()
    return clean_text(e).str.to_date("%Y-%m-%d", strict=False)


def _country(e: pl.Expr) -> pl.Expr:
    c = clean_text(e).str.to_uppercase()
    return pl.when(c.is_in(sorted(countries()))).then(c).otherwise(None)


def derived_party_id(fields: dict[str, pl.Expr]) -> pl.Expr:
    """``p-`` + digest of the identity fields (null when there is no name)."""
    parts = [
        fields.get(f, pl.lit(None, pl.String)).cast(pl.String).fill_null("")
        for f in IDENTITY_FIELDS
    ]
    key = pl.concat_str(parts, separator="|")
    return pl.when(fields.get("name", pl.lit(None, pl.String)).is_not_null()).then(
        pl.lit("p-") + digest_expr(key)
    )


def _side_frame(frame: pl.DataFrame, side: str) -> pl.DataFrame:
    """The canonical party columns of one side, one row per transfer row (nulls where absent)."""
    exprs: dict[str, pl.Expr] = {}
    for f in PARTY_FIELDS:
        name = f"_p_{side}_{f}"
        if name not in frame.columns:
            exprs[f] = pl.lit(None, dtype=PARTIES[f])
        elif f == "birth_date":
            exprs[f] = _birth_date(pl.col(name))
        elif f in ("country", "id_country"):
            exprs[f] = _country(pl.col(name))
        else:
            exprs[f] = clean_text(pl.col(name))
    out = frame.select([e.alias(f) for f, e in exprs.items()] + [pl.col("source")])
    derived = derived_party_id({f: pl.col(f) for f in IDENTITY_FIELDS})
    return out.with_columns(pl.coalesce(pl.col("party_id"), derived).alias("party_id")).select(
        list(PARTIES)
    )


def attach_parties(
    accepted: pl.DataFrame, profile: SourceProfile | None
) -> tuple[pl.DataFrame, list[pl.DataFrame]]:
    """Set ``src_party``/``dst_party`` from the profile's party sides.

    Returns the transfers and, per side of the profile, the distinct identities that side met
    (in order of first appearance): :func:`merge_parties` turns these parts of one file's
    batches into its party table.
    """
    helper_cols = [c for c in accepted.columns if c.startswith("_p_") or c == "_debit"]
    if profile is None or not profile.parties:
        return accepted.drop(helper_cols), []
    sides = list(profile.parties)
    frames = {side: _side_frame(accepted, side) for side in sides}
    ids = {side: f.get_column("party_id") for side, f in frames.items()}
    out = accepted
    if profile.layout == "statement":
        debit = accepted.get_column("_debit")
        acc = ids.get("account", pl.Series([None] * accepted.height, dtype=pl.String))
        cp = ids.get("counterparty", pl.Series([None] * accepted.height, dtype=pl.String))
        tmp = pl.DataFrame({"d": debit, "a": acc, "c": cp})
        src = tmp.select(pl.when(pl.col("d")).then(pl.col("a")).otherwise(pl.col("c"))).to_series()
        dst = tmp.select(pl.when(pl.col("d")).then(pl.col("c")).otherwise(pl.col("a"))).to_series()
    else:
        none = pl.Series([None] * accepted.height, dtype=pl.String)
        src, dst = ids.get("src", none), ids.get("dst", none)
    out = out.with_columns(src.alias("src_party"), dst.alias("dst_party")).drop(helper_cols)
    where = f"source {profile.name!r}"
    parties = [
        normalise_ips(f.filter(pl.col("name").is_not_null()), where).unique(maintain_order=True)
        for f in frames.values()
    ]
    return out, parties


def merge_parties(parts: Sequence[Sequence[pl.DataFrame]]) -> pl.DataFrame:
    """One file's party table from the per-side parts :func:`attach_parties` gave its batches.

    Distinct identities sorted by (source, party_id, name); ties in the order the file first
    gave them (the first side's rows, then the second's, each in row order), whatever the
    batches were.
    """
    ordered = [part[side] for side in range(len(parts[0]) if parts else 0) for part in parts]
    if not ordered:
        return pl.DataFrame(schema=PARTIES)
    rows = pl.concat(ordered)
    # indices of the first occurrences, sorted by key, then one gather: no distinct copy first
    first = rows.select(pl.struct(pl.all()).is_first_distinct()).to_series().arg_true()
    # pyarrow's stable multi-key sort is several times faster than polars' on text keys (the
    # keys are never null: a party has a name, hence an id)
    keys = ["source", "party_id", "name"]
    order = pc.sort_indices(
        rows.select(keys)[first].to_arrow(), sort_keys=[(c, "ascending") for c in keys]
    )
    return rows[first.gather(pl.Series(order))]


def read_parties_file(
    raw: pl.LazyFrame, source: str, file: str, source_override: str | None = None
) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """Validate a canonical parties file; returns (parties, quarantine, exact duplicates).

    ``raw`` must carry a ``_row`` column. Required: party_id and name; birth_date must be a
    date (or ``YYYY-MM-DD`` text); countries ISO 3166-1; an ``ip_address`` that is no IP
    address is kept as null (a warning). Exact duplicate rows count once.
    """
    schema = raw.collect_schema()

    def col(c: str) -> pl.Expr:
        return pl.col(c) if c in schema else pl.lit(None, dtype=pl.String)

    src_expr = (
        pl.lit(source_override)
        if source_override
        else pl.coalesce(clean_text(col("source")), pl.lit(source))
        if "source" in schema
        else pl.lit(source)
    )
    birth_raw = col("birth_date").cast(pl.String)
    values = {
        "party_id": clean_text(col("party_id")),
        "name": clean_text(col("name")),
        "birth_date": _birth_date(col("birth_date"), schema.get("birth_date")),
        "id_type": clean_text(col("id_type")),
        "id_number": clean_text(col("id_number")),
        "id_country": clean_text(col("id_country")).str.to_uppercase(),
        "phone": clean_text(col("phone")),
        "email": clean_text(col("email")),
        "address": clean_text(col("address")),
        "country": clean_text(col("country")).str.to_uppercase(),
        "device_id": clean_text(col("device_id")),
        "ip_address": clean_text(col("ip_address")),
        "source": src_expr,
    }
    known = sorted(countries())
    checks = [
        ("missing", "party_id", pl.col("party_id").is_null(), pl.lit("party_id is missing")),
        ("missing", "name", pl.col("name").is_null(), pl.lit("name is missing")),
        (
            "bad_type",
            "birth_date",
            pl.col("birth_date").is_null() & (clean_text(pl.col("_birth_raw")).is_not_null()),
            pl.format("birth_date '{}' is not a date (YYYY-MM-DD)", pl.col("_birth_raw")),
        ),
        (
            "unknown_country",
            "country",
            pl.col("country").is_not_null() & ~pl.col("country").is_in(known),
            pl.format("country '{}' is not an ISO 3166-1 alpha-2 code", pl.col("country")),
        ),
        (
            "unknown_country",
            "id_country",
            pl.col("id_country").is_not_null() & ~pl.col("id_country").is_in(known),
            pl.format("id_country '{}' is not an ISO 3166-1 alpha-2 code", pl.col("id_country")),
        ),
    ]
    raw_cols = [c for c in schema if c in PARTIES]
    raw_json = (
        pl.struct([pl.col(c).cast(pl.String) for c in raw_cols]).struct.json_encode()
        if raw_cols
        else pl.lit("{}")
    )
    frame = raw.select(
        pl.col("_row"),
        raw_json.alias("_raw"),
        birth_raw.alias("_birth_raw"),
        *[e.alias(c) for c, e in values.items()],
    )
    failed = [c[2].fill_null(False) for c in checks]
    checked = frame.with_columns(
        pl.coalesce(
            [pl.when(f).then(pl.lit(c[0])) for f, c in zip(failed, checks, strict=True)]
        ).alias("_reason"),
        pl.coalesce(
            [pl.when(f).then(pl.lit(c[1])) for f, c in zip(failed, checks, strict=True)]
        ).alias("_column"),
        pl.concat_list([pl.when(f).then(c[3]) for f, c in zip(failed, checks, strict=True)])
        .list.drop_nulls()
        .list.join("; ")
        .alias("_message"),
    ).collect()
    bad = checked.filter(pl.col("_reason").is_not_null())
    good = checked.filter(pl.col("_reason").is_null())
    quarantine = bad.select(
        pl.col("source"),
        pl.lit(file).alias("file"),
        pl.col("_row").cast(pl.Int64).alias("row"),
        pl.col("_column").alias("column"),
        pl.col("_reason").alias("reason"),
        pl.col("_message").alias("message"),
        pl.col("_raw").alias("raw"),
    )
    parties = normalise_ips(good.select([pl.col(c).cast(t) for c, t in PARTIES.items()]), file)
    distinct = parties.unique(maintain_order=True)
    return distinct, quarantine, parties.height - distinct.height
