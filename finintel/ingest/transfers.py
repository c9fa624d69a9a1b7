"""Canonicalise and validate one file of transfers (canonical columns or a source profile).

The plan maps raw columns to canonical ones, coerces types, converts amounts to the base
currency and evaluates every row check. :func:`split` then separates accepted rows from the
quarantine, each bad row once, with the reason of its first failed check, all its problems in
the message and its original values as JSON text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import polars as pl

from finintel.errors import DataError, Location
from finintel.ingest.codes import countries, currencies
from finintel.ingest.fx import to_base
from finintel.ingest.profile import ColumnSource, SourceProfile
from finintel.ingest.timestamps import parse_timestamp
from finintel.schema import MOVED_STATUS, STATUSES, TRANSFERS, UTC_TS

REQUIRED = ("tx_id", "ts", "src_account", "dst_account", "amount", "currency")
TEXT_COLUMNS = tuple(c for c, t in TRANSFERS.items() if t == pl.String and c != "source")
COUNTRY_COLUMNS = ("src_country", "dst_country")


@dataclass(frozen=True)
class Options:
    """How rows are checked and converted (shared by every file of a load)."""

    fx: pl.DataFrame
    base_currency: str = "EUR"
    max_fx_staleness: timedelta = timedelta(days=10)
    ts_min: datetime = datetime(1990, 1, 1)
    ts_max: datetime = field(default_factory=lambda: datetime.now() + timedelta(days=1))
    timezone: str | None = None  # overrides the profile's zone for naive timestamps
    source: str | None = None  # overrides every row's source


@dataclass(frozen=True)
class Check:
    reason: str
    column: str | None
    failed: pl.Expr
    message: pl.Expr


def _text(col: str) -> pl.Expr:
    return pl.col(col).cast(pl.String)


def clean_text(e: pl.Expr) -> pl.Expr:
    """Text, trimmed; blank → null."""
    s = e.cast(pl.String).str.strip_chars()
    return pl.when(s == "").then(None).otherwise(s)


def _number(e: pl.Expr, dtype: pl.DataType, decimal_comma: bool) -> pl.Expr:
    if dtype.is_numeric():
        return e.cast(pl.Float64)
    s = e.cast(pl.String).str.strip_chars().str.replace_all(r"[\s_']", "")
    if decimal_comma:
        s = s.str.replace_all(r"\.", "").str.replace(",", ".", literal=True)
    return s.cast(pl.Float64, strict=False)


@dataclass
class Plan:
    """A lazy plan of canonical columns plus the checks to run on them."""

    frame: pl.LazyFrame
    checks: list[Check]
    raw_columns: list[str]
    naive_ts_unzoned: pl.Expr  # true where a naive timestamp met no declared zone


def _sources_for(
    profile: SourceProfile | None, schema: Mapping[str, pl.DataType]
) -> dict[str, ColumnSource]:
    if profile is None:
        return {
            c: ColumnSource(columns=(c,)) for c in TRANSFERS if c in schema and c != "amount_base"
        }
    return dict(profile.columns)


def _dtype_of(src: ColumnSource | None, schema: Mapping[str, pl.DataType]) -> pl.DataType:
    if src is None or src.value is not None or src.transform is not None or len(src.columns) != 1:
        return pl.String()
    return schema.get(src.columns[0], pl.String())


def plan_transfers(
    raw: pl.LazyFrame,
    profile: SourceProfile | None,
    source: str,
    opts: Options,
    file: str,
) -> Plan:
    """Build the canonical plan for one file; ``raw`` must carry a ``_row`` index column.

    A profile's optional columns that the file lacks read as null.
    """
    schema = raw.collect_schema()
    present = set(schema)
    if profile is not None:
        absent = sorted(profile.referenced_columns() - present)
        if absent:
            raw = raw.with_columns(pl.lit(None, dtype=pl.String).alias(c) for c in absent)
            schema = raw.collect_schema()
    sources = _sources_for(profile, schema)
    zone = opts.timezone or (profile.timezone if profile else None)
    fmt = profile.timestamp_format if profile else None
    decimal_comma = bool(profile and profile.decimal_comma)

    def mapped(c: str) -> pl.Expr:
        src = sources.get(c)
        return src.expr() if src is not None else pl.lit(None, dtype=pl.String)

    cols: dict[str, pl.Expr] = {}
    for c in TEXT_COLUMNS:
        if c in ("src_account", "dst_account", "src_country", "dst_country"):
            continue
        cols[c] = clean_text(mapped(c))
    if profile is not None and profile.channel is not None:
        cols["channel"] = clean_text(profile.channel.expr()).str.to_lowercase()
    elif "channel" in cols:
        cols["channel"] = cols["channel"].str.to_lowercase()
    cols["currency"] = cols["currency"].str.to_uppercase()
    amount = _number(mapped("amount"), _dtype_of(sources.get("amount"), schema), decimal_comma)

    ts = parse_timestamp(mapped("ts"), _dtype_of(sources.get("ts"), schema), zone, fmt)
    payout = parse_timestamp(
        mapped("payout_ts"), _dtype_of(sources.get("payout_ts"), schema), zone, fmt
    )
    cols["ts"] = ts.value
    cols["payout_ts"] = payout.value

    status_raw: pl.Expr | None = None
    if profile is not None and profile.status is not None:
        status_raw = clean_text(pl.col(profile.status.column))
        mapping = pl.DataFrame(
            {"k": list(profile.status.values), "v": list(profile.status.values.values())},
            schema={"k": pl.String, "v": pl.String},
        )
        cols["status"] = status_raw.replace_strict(
            mapping["k"], mapping["v"], default=None, return_dtype=pl.String
        )
    elif "status" in schema and profile is None:
        status_raw = clean_text(pl.col("status")).str.to_lowercase()
        cols["status"] = status_raw
    else:
        cols["status"] = pl.lit(MOVED_STATUS)

    debit: pl.Expr | None = None
    if profile is not None and profile.layout == "statement" and profile.statement is not None:
        st = profile.statement
        own, other = clean_text(st.account.expr()), clean_text(st.counterparty.expr())
        d = st.direction
        if d.column is not None:
            flag = clean_text(pl.col(d.column)).str.to_uppercase()
            debit = (
                pl.when(flag.is_in([v.upper() for v in d.debit]))
                .then(True)
                .when(flag.is_in([v.upper() for v in d.credit]))
                .then(False)
                .otherwise(None)
            )
            direction_raw = _text(d.column)
        else:
            debit = pl.when(amount < 0).then(True).when(amount > 0).then(False).otherwise(None)
            direction_raw = amount.cast(pl.String)
            amount = amount.abs()
        cols["src_account"] = pl.when(debit).then(own).otherwise(other)
        cols["dst_account"] = pl.when(debit).then(other).otherwise(own)
        own_c = (
            clean_text(st.account_country.expr()) if st.account_country else pl.lit(None, pl.String)
        )
        other_c = (
            clean_text(st.counterparty_country.expr())
            if st.counterparty_country
            else pl.lit(None, pl.String)
        )
        cols["src_country"] = pl.when(debit).then(own_c).otherwise(other_c).str.to_uppercase()
        cols["dst_country"] = pl.when(debit).then(other_c).otherwise(own_c).str.to_uppercase()
    else:
        for c in ("src_account", "dst_account"):
            cols[c] = clean_text(mapped(c))
        for c in COUNTRY_COLUMNS:
            cols[c] = clean_text(mapped(c)).str.to_uppercase()
    cols["amount"] = amount
    if opts.source is not None:
        cols["source"] = pl.lit(opts.source)
    elif profile is None and "source" in schema:
        cols["source"] = pl.coalesce(clean_text(pl.col("source")), pl.lit(source))
    else:
        cols["source"] = pl.lit(source)

    raw_columns = sorted(
        (profile.referenced_columns() & present)
        if profile is not None
        else {c for c in schema if c in TRANSFERS}
    )
    frame = raw.with_columns(
        [e.alias(f"_c_{c}") for c, e in cols.items()]
        + [ts.naive.alias("_ts_naive"), payout.naive.alias("_payout_naive")]
        + ([debit.alias("_debit")] if debit is not None else [])
        + ([status_raw.alias("_status_raw")] if status_raw is not None else [])
    )
    # parties of each side travel with the row until the split
    if profile is not None:
        party_cols = []
        for side, fields in profile.parties.items():
            for f, src in fields.items():
                party_cols.append(src.expr().cast(pl.String).alias(f"_p_{side}_{f}"))
        if party_cols:
            frame = frame.with_columns(party_cols)

    canon = {c: pl.col(f"_c_{c}") for c in cols}
    frame = to_base(
        frame,
        opts.fx,
        opts.base_currency,
        opts.max_fx_staleness,
        ts_col="_c_ts",
        amount_col="_c_amount",
        currency_col="_c_currency",
    )

    def raw_of(c: str) -> pl.Expr:
        src = sources.get(c)
        if src is not None and src.columns:
            return pl.coalesce([_text(x) for x in src.columns])
        return canon[c].cast(pl.String)

    tz_min = pl.lit(opts.ts_min).dt.replace_time_zone("UTC").cast(UTC_TS)
    tz_max = pl.lit(opts.ts_max).dt.replace_time_zone("UTC").cast(UTC_TS)
    amount_c, ts_c, cur_c = canon["amount"], canon["ts"], canon["currency"]
    checks: list[Check] = []
    for c in REQUIRED:
        # amount and ts: no value at all (an unreadable one is bad_type / bad_timestamp);
        # text columns: nothing but blanks
        missing = (
            raw_of(c).is_null() | (raw_of(c).str.strip_chars() == "")
            if c in ("amount", "ts")
            else canon[c].is_null()
        )
        checks.append(Check("missing", c, missing, pl.lit(f"{c} is missing")))
    if debit is not None:
        checks.append(
            Check(
                "bad_direction",
                profile.statement.direction.column if profile and profile.statement else None,
                debit.is_null() & direction_raw.is_not_null(),
                pl.format("debit/credit indicator '{}' is neither debit nor credit", direction_raw),
            )
        )
    checks += [
        Check(
            "bad_type",
            "amount",
            raw_of("amount").is_not_null()
            & (raw_of("amount").str.strip_chars() != "")
            & amount_c.is_null(),
            pl.format("amount '{}' is not a number", raw_of("amount")),
        ),
        Check(
            "bad_amount",
            "amount",
            amount_c.is_not_null() & (amount_c.is_nan() | amount_c.is_infinite()),
            pl.format("amount {} is not a finite number", amount_c),
        ),
        Check(
            "bad_amount",
            "amount",
            amount_c.is_not_null() & amount_c.is_finite() & (amount_c <= 0),
            pl.format("amount {} is not positive", amount_c),
        ),
        Check(
            "bad_timestamp",
            "ts",
            raw_of("ts").is_not_null() & (raw_of("ts").str.strip_chars() != "") & ts_c.is_null(),
            pl.format(
                "timestamp '{}' cannot be read as a time in zone {}",
                raw_of("ts"),
                pl.lit(zone or "UTC"),
            ),
        ),
        Check(
            "timestamp_out_of_range",
            "ts",
            ts_c.is_not_null() & ((ts_c < tz_min) | (ts_c > tz_max)),
            pl.format(
                "timestamp {} is outside {} .. {}",
                ts_c.dt.to_string("%Y-%m-%dT%H:%M:%SZ"),
                pl.lit(opts.ts_min.date().isoformat()),
                pl.lit(opts.ts_max.date().isoformat()),
            ),
        ),
        Check(
            "bad_timestamp",
            "payout_ts",
            raw_of("payout_ts").is_not_null()
            & (raw_of("payout_ts").str.strip_chars() != "")
            & canon["payout_ts"].is_null(),
            pl.format("payout time '{}' cannot be read", raw_of("payout_ts")),
        ),
        Check(
            "unknown_currency",
            "currency",
            cur_c.is_not_null() & ~cur_c.is_in(sorted(currencies())),
            pl.format("currency '{}' is not an ISO 4217 code", raw_of("currency")),
        ),
    ]
    for c in COUNTRY_COLUMNS:
        checks.append(
            Check(
                "unknown_country",
                c,
                canon[c].is_not_null() & ~canon[c].is_in(sorted(countries())),
                pl.format("{} '{}' is not an ISO 3166-1 alpha-2 code", pl.lit(c), canon[c]),
            )
        )
    if status_raw is not None:
        known = sorted(profile.status.values) if profile and profile.status else []
        checks.append(
            Check(
                "bad_status",
                profile.status.column if profile and profile.status else "status",
                status_raw.is_not_null() & canon["status"].is_null()
                if profile is not None
                else status_raw.is_not_null() & ~status_raw.is_in(list(STATUSES)),
                pl.format(
                    "status '{}' is not one of {}",
                    status_raw,
                    pl.lit(", ".join(known) if profile is not None else ", ".join(STATUSES)),
                ),
            )
        )
    valid_so_far = ~pl.any_horizontal([ch.failed.fill_null(False) for ch in checks])
    checks.append(
        Check(
            "no_fx_rate",
            "currency",
            valid_so_far & pl.col("amount_base").is_null(),
            pl.format(
                "no {} rate for {} on or up to {} days before {}",
                pl.lit(opts.base_currency),
                cur_c,
                pl.lit(opts.max_fx_staleness.days),
                ts_c.dt.date().cast(pl.String),
            ),
        )
    )
    naive_unzoned = (
        (pl.col("_ts_naive") | pl.col("_payout_naive")) if zone is None else pl.lit(False)
    )
    return Plan(frame, checks, raw_columns, naive_unzoned)


@dataclass
class Split:
    accepted: pl.DataFrame  # canonical TRANSFERS + row + party helper columns
    quarantine: pl.DataFrame  # QUARANTINE columns
    rows_in: int
    unzoned: int = 0  # naive timestamps with no zone declared
    first_unzoned: int | None = None  # the file row of the first one


def raise_unzoned(splits: Sequence[Split], file: str, zone_hint: str) -> None:
    """FI006 when any row of the file's ``splits`` has a naive timestamp and no zone."""
    count = sum(s.unzoned for s in splits)
    first = next((s.first_unzoned for s in splits if s.first_unzoned is not None), None)
    if count and first is not None:
        raise DataError(
            "FI006",
            f"{count} timestamp(s) have no time zone (e.g. row {first}); "
            f"declare 'timezone:' in the source profile or pass --timezone ZONE ({zone_hint})",
            Location(file, row=first, column="ts"),
        )


def split(plan: Plan, file: str) -> Split:
    """Evaluate the plan: accepted rows and quarantined rows (each bad row once).

    Naive timestamps without a zone are not judged here: they are counted in the result, and
    :func:`raise_unzoned` refuses the file.
    """
    checks = plan.checks
    failed = [ch.failed.fill_null(False) for ch in checks]
    frame = plan.frame.with_columns(
        pl.coalesce(
            [pl.when(f).then(pl.lit(ch.reason)) for f, ch in zip(failed, checks, strict=True)]
        ).alias("_reason"),
        pl.coalesce(
            [
                pl.when(f).then(pl.lit(ch.column, dtype=pl.String))
                for f, ch in zip(failed, checks, strict=True)
            ]
        ).alias("_column"),
        plan.naive_ts_unzoned.alias("_unzoned"),
    ).collect()
    unzoned = frame.get_column("_row").filter(frame.get_column("_unzoned"))
    # messages are written for the bad rows only
    bad = frame.filter(pl.col("_reason").is_not_null()).with_columns(
        pl.concat_list([pl.when(f).then(ch.message) for f, ch in zip(failed, checks, strict=True)])
        .list.drop_nulls()
        .alias("_problems")
    )
    good = frame.filter(pl.col("_reason").is_null())
    raw_struct = (
        pl.struct([_text(c) for c in plan.raw_columns]).struct.json_encode()
        if plan.raw_columns
        else pl.lit("{}")
    )
    quarantine = bad.select(
        pl.col("_c_source").alias("source"),
        pl.lit(file).alias("file"),
        pl.col("_row").cast(pl.Int64).alias("row"),
        pl.col("_column").alias("column"),
        pl.col("_reason").alias("reason"),
        pl.col("_problems").list.join("; ").alias("message"),
        raw_struct.alias("raw"),
    )
    keep = [pl.col("_row").cast(pl.Int64).alias("row")]
    for c, t in TRANSFERS.items():
        name = "amount_base" if c == "amount_base" else f"_c_{c}"
        keep.append(pl.col(name).cast(t).alias(c))
    keep += [pl.col(c) for c in good.columns if c.startswith("_p_") or c == "_debit"]
    first = int(unzoned[0]) if unzoned.len() else None
    return Split(good.select(keep), quarantine, frame.height, unzoned.len(), first)
