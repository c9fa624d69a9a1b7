"""FX: the ECB table, user tables, the as-of join and its staleness bound."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from finintel.errors import ConfigError
from finintel.ingest.fx import ecb_rates, fx_table, read_fx_table, to_base

ROOT = Path(__file__).resolve().parents[2]


def _frame(rows: list[tuple[datetime, float, str]]) -> pl.LazyFrame:
    return pl.LazyFrame(
        {
            "i": list(range(len(rows))),
            "ts": [r[0] for r in rows],
            "amount": [r[1] for r in rows],
            "currency": [r[2] for r in rows],
        }
    )


def test_ecb_history_is_read_whole() -> None:
    r = ecb_rates()
    assert r["date"].min() == date(1999, 1, 4)
    assert {"USD", "GBP", "SEK", "TRY"} <= set(r["currency"])
    # a known published value: USD on 2024-01-02 was 1.0956 per EUR
    usd = r.filter((pl.col("currency") == "USD") & (pl.col("date") == date(2024, 1, 2)))
    assert usd["rate"].item() == 1.0956


def test_as_of_join_uses_latest_rate_on_or_before_the_day() -> None:
    # 2024-01-06 is a Saturday: Friday's rate (2024-01-05: 1.0921) applies
    out = to_base(
        _frame([(datetime(2024, 1, 6, 12, tzinfo=UTC), 1092.1, "USD")]), fx_table()
    ).collect()
    assert out["fx_date"].item() == date(2024, 1, 5)
    assert out["amount_base"].item() == pytest.approx(1000.0)


def test_stale_or_missing_rates_give_null_never_a_guess() -> None:
    rows = [
        (datetime(2024, 1, 6, tzinfo=UTC), 10.0, "USD"),
        (datetime(2024, 1, 6, tzinfo=UTC), 10.0, "LYD"),  # not published by the ECB
        (datetime(1998, 6, 1, tzinfo=UTC), 10.0, "USD"),  # before the history starts
    ]
    out = to_base(_frame(rows), fx_table(), max_staleness=timedelta(days=0)).sort("i").collect()
    assert out["amount_base"].to_list() == [None, None, None]
    out = to_base(_frame(rows), fx_table()).sort("i").collect()
    assert out["amount_base"].null_count() == 2


def test_user_table_adds_and_overrides(tmp_path: Path) -> None:
    table = tmp_path / "fx.csv"
    table.write_text(
        "# central bank of Libya, illustrative\ndate,currency,rate\n2024-01-01,LYD,5.30\n2024-01-05,USD,2.0\n"
    )
    rates = fx_table([table])
    out = (
        to_base(
            _frame(
                [
                    (datetime(2024, 1, 3, tzinfo=UTC), 53.0, "LYD"),
                    (datetime(2024, 1, 5, tzinfo=UTC), 10.0, "USD"),
                ]
            ),
            rates,
        )
        .sort("i")
        .collect()
    )
    assert out["amount_base"].to_list() == pytest.approx([10.0, 5.0])


def test_base_currency_other_than_eur() -> None:
    out = to_base(
        _frame([(datetime(2024, 1, 2, tzinfo=UTC), 100.0, "EUR")]), fx_table(), "USD"
    ).collect()
    assert out["amount_base"].item() == pytest.approx(109.56)


def test_bad_fx_table_names_the_line(tmp_path: Path) -> None:
    table = tmp_path / "fx.csv"
    table.write_text("date,currency,rate\n2024-01-01,LYD,5.3\n2024-13-01,LYD,abc\n")
    with pytest.raises(ConfigError) as info:
        read_fx_table(table)
    assert info.value.code == "FI032"
    assert info.value.location is not None and info.value.location.line == 3


def test_shipped_peg_table_loads() -> None:
    for path in sorted((ROOT / "rules" / "fx").glob("*.csv")):
        assert read_fx_table(path).height > 0
