"""FX for the generator: the USD-peg table (``rules/fx/usd-pegs.csv``) and daily rate lookups."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from finintel.atomic import write_text
from finintel.ingest.fx import ecb_rates
from finintel.synth.reference import USD_PEGS

PEG_TABLE_START = date(2015, 1, 1)
PEG_TABLE_COMMENT = (
    "# Currencies pegged to the US dollar, in units per 1 EUR: peg (units per USD: "
    + ", ".join(f"{c} {p:g}" for c, p in USD_PEGS.items())
    + ") x ECB USD reference rate of the day, rounded to 6 significant digits; one row per ECB "
    "business day. Regenerate with finintel.synth.write_peg_rates(path)."
)


def peg_rates(until: date | None = None) -> pl.DataFrame:
    """Rates per EUR of the USD-pegged currencies on every ECB business day since 2015.

    ``until`` cuts the table at that date (default: the last ECB date).
    """
    usd = ecb_rates().filter(pl.col("currency") == "USD", pl.col("date") >= PEG_TABLE_START)
    if until is not None:
        usd = usd.filter(pl.col("date") <= until)
    pegs = pl.DataFrame(
        {"currency": list(USD_PEGS), "peg": list(USD_PEGS.values())},
        schema={"currency": pl.String, "peg": pl.Float64},
    )
    return (
        usd.select("date", pl.col("rate").alias("usd"))
        .join(pegs, how="cross")
        .select("date", "currency", (pl.col("peg") * pl.col("usd")).round_sig_figs(6).alias("rate"))
        .sort("date", "currency")
    )


def peg_rates_csv(until: date | None = None) -> str:
    """The text of ``rules/fx/usd-pegs.csv``: a comment line, then ``date,currency,rate``."""
    return PEG_TABLE_COMMENT + "\n" + peg_rates(until).write_csv(date_format="%Y-%m-%d")


def write_peg_rates(path: str | Path, until: date | None = None) -> None:
    """Write the peg table to ``path`` atomically."""
    write_text(path, peg_rates_csv(until))


class RateBook:
    """Daily rates per EUR (as of the latest publication) for a set of currencies and days."""

    def __init__(self, currencies: list[str], first: date, days: int) -> None:
        self.currencies = currencies
        self.first = first
        self.days = days
        lookback = first - timedelta(days=14)
        table = pl.concat([ecb_rates(), peg_rates()]).filter(
            pl.col("currency").is_in(currencies),
            pl.col("date") >= lookback,
            pl.col("date") < first + timedelta(days=days),
        )
        grid = pl.DataFrame(
            {"day": pl.date_range(first, first + timedelta(days=days - 1), eager=True)}
        )
        self.matrix = np.ones((len(currencies), days), dtype=np.float64)
        for i, ccy in enumerate(currencies):
            if ccy == "EUR":
                continue
            rows = table.filter(pl.col("currency") == ccy).sort("date")
            if rows.is_empty() or rows["date"].min() > first:  # type: ignore[operator]
                raise ValueError(f"no FX rate for {ccy} on or before {first}")
            joined = grid.join_asof(rows, left_on="day", right_on="date", strategy="backward")
            self.matrix[i] = joined["rate"].to_numpy()
        self.mean = self.matrix.mean(axis=1)

    def index(self, ccy: str) -> int:
        """Position of a currency in the book."""
        return self.currencies.index(ccy)

    def rate(
        self, ccy: npt.NDArray[np.int64], day: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.float64]:
        """Units of currency ``ccy`` (book index) per EUR on day index ``day``."""
        return self.matrix[ccy, np.clip(day, 0, self.days - 1)]
