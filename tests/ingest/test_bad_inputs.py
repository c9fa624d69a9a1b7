"""Every hand-made bad fixture gives its reason code, and no row is ever lost."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

import finintel
from finintel.errors import DataError

BAD = Path(__file__).resolve().parents[2] / "fixtures" / "bad"


def _load(name: str, **kw: object) -> finintel.Dataset:
    return finintel.load(BAD / name, **kw)  # type: ignore[arg-type]


def _balanced(ds: finintel.Dataset) -> None:
    for f in ds.files:
        assert f.rows_in == f.rows_accepted + f.rows_duplicate + f.rows_quarantined, f
    assert ds.quarantine.height == sum(f.rows_quarantined for f in ds.files)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "amount_as_text.parquet",
            {
                1: ("bad_type", "amount 'twelve' is not a number"),
                2: ("missing", "amount is missing"),
            },
        ),
        (
            "bad_amounts.parquet",
            {
                1: ("bad_amount", "amount -5.0 is not positive"),
                2: ("bad_amount", "amount 0.0 is not positive"),
                3: ("bad_amount", "amount NaN is not a finite number"),
                4: ("bad_amount", "amount inf is not a finite number"),
            },
        ),
        (
            "bad_timestamps.parquet",
            {
                1: ("bad_timestamp", "timestamp 'yesterday' cannot be read as a time in zone UTC"),
                2: (
                    "timestamp_out_of_range",
                    "timestamp 1899-12-31T00:00:00Z is outside 1990-01-01 .. ",
                ),
                3: (
                    "timestamp_out_of_range",
                    "timestamp 2999-01-01T00:00:00Z is outside 1990-01-01 .. ",
                ),
                4: ("bad_timestamp", "timestamp '2025-13-01T00:00:00Z' cannot be read"),
            },
        ),
        (
            "bad_codes.parquet",
            {
                1: (
                    "unknown_currency",
                    "currency 'EURO' is not an ISO 4217 code; dst_country 'XX' is not an ISO 3166-1 alpha-2 code",
                ),
                2: ("no_fx_rate", "no EUR rate for XAU on or up to 10 days before 2025-03-01"),
            },
        ),
        (
            "missing_values.parquet",
            {1: ("missing", "src_account is missing"), 2: ("missing", "tx_id is missing")},
        ),
        (
            "mto_status.parquet",
            {2: ("bad_status", "status 'LOST' is not one of CANCELLED, PAID, PENDING, REFUNDED")},
        ),
    ],
)
def test_bad_rows_are_quarantined_with_reason(
    name: str, expected: dict[int, tuple[str, str]]
) -> None:
    ds = _load(name)
    _balanced(ds)
    got = {r["row"]: (r["reason"], r["message"]) for r in ds.quarantine.iter_rows(named=True)}
    assert set(got) == set(expected)
    for row, (reason, message) in expected.items():
        assert got[row][0] == reason
        assert got[row][1].startswith(message), got[row][1]
    # every quarantined row keeps its original values as text
    for raw in ds.quarantine["raw"]:
        assert isinstance(json.loads(raw), dict)
    assert set(ds.quarantine["file"]) == {str(BAD / name)}


def test_original_values_kept_as_text() -> None:
    ds = _load("amount_as_text.parquet")
    raw = json.loads(ds.quarantine.filter(pl.col("row") == 1)["raw"][0])
    assert raw["amount"] == "twelve"
    assert raw["tx_id"] == "t1"


@pytest.mark.parametrize(
    ("name", "code", "text"),
    [
        (
            "corrupt.parquet",
            "FI002",
            "cannot read Parquet file (corrupt, truncated or not Parquet)",
        ),
        (
            "truncated.parquet",
            "FI002",
            "cannot read Parquet file (corrupt, truncated or not Parquet)",
        ),
        (
            "wrong_column_type.parquet",
            "FI004",
            "column 'ts' has type Boolean, expected a Datetime, Date or text timestamp",
        ),
        ("naive_timestamps.parquet", "FI006", "2 timestamp(s) have no time zone"),
    ],
)
def test_unreadable_files_are_named_in_the_error(name: str, code: str, text: str) -> None:
    with pytest.raises(DataError) as info:
        _load(name)
    err = info.value
    assert err.code == code
    assert text in err.message
    assert err.location is not None and err.location.file == str(BAD / name)


def test_misspelt_columns_report_every_mismatch_with_suggestions() -> None:
    with pytest.raises(DataError) as info:
        _load("misspelt_columns.parquet")
    msg = str(info.value)
    assert info.value.code == "FI005"
    assert "missing 'amount' (did you mean 'amout'?)" in msg
    assert "missing 'src_account' (did you mean 'src_acount'?)" in msg
    assert "missing 'currency'" in msg


def test_naive_timestamps_accepted_with_declared_zone() -> None:
    ds = _load("naive_timestamps.parquet", timezone="Europe/Berlin")
    ts = ds.records.sort("tx_id")["ts"].to_list()
    assert [t.hour for t in ts] == [8, 9]  # 09:00 and 10:00 CET are 08:00 and 09:00 UTC


def test_duplicates_within_a_file() -> None:
    ds = _load("duplicates.parquet")
    _balanced(ds)
    (f,) = ds.files
    assert (f.rows_in, f.rows_accepted, f.rows_duplicate, f.rows_quarantined) == (5, 2, 1, 2)
    assert sorted(ds.records["tx_id"]) == ["t0", "t1"]
    q = ds.quarantine
    assert q["reason"].to_list() == ["conflicting_duplicate", "conflicting_duplicate"]
    assert q["row"].to_list() == [2, 4]
    assert "amount 102.0 vs 999.0" in q["message"][0]


def test_duplicates_across_files_of_one_source() -> None:
    ds = finintel.load(
        [BAD / "duplicates.parquet", BAD / "duplicates_again.parquet"], source="bank-x"
    )
    _balanced(ds)
    second = ds.files[1]
    # t0 is an exact copy of a stored row; t1 has other content than the stored t1
    assert (
        second.rows_in,
        second.rows_accepted,
        second.rows_duplicate,
        second.rows_quarantined,
    ) == (2, 0, 1, 1)
    conflict = ds.quarantine.filter(pl.col("file") == str(BAD / "duplicates_again.parquet"))
    assert conflict["reason"].to_list() == ["conflicting_duplicate"]
    assert "555.0" in conflict["message"][0]


def test_strict_fails_after_recording() -> None:
    with pytest.raises(DataError) as info:
        _load("bad_amounts.parquet", strict=True)
    assert info.value.code == "FI009"
    assert "4 row(s) quarantined" in info.value.message


def test_mto_cancelled_orders_kept_but_not_moved() -> None:
    ds = _load("mto_status.parquet")
    assert ds.records.sort("tx_id")["status"].to_list() == ["completed", "cancelled"]
    moved = ds.transfers.collect()
    assert moved["tx_id"].to_list() == ["1000000001"]
    assert moved["dst_agent"].to_list() == ["P9"]
    assert moved["payout_ts"][0].isoformat() == "2025-03-02T10:00:00+00:00"


def test_no_rows_lost_over_all_bad_fixtures() -> None:
    readable = [
        p
        for p in sorted(BAD.glob("*.parquet"))
        if p.name not in {"corrupt.parquet", "truncated.parquet", "wrong_column_type.parquet",
                          "naive_timestamps.parquet", "misspelt_columns.parquet"}
    ]  # fmt: skip
    ds = finintel.load(readable)
    _balanced(ds)
    totals = ds.totals()
    in_files = sum(pl.scan_parquet(p).select(pl.len()).collect().item() for p in readable)
    assert totals["rows_in"] == in_files
    assert totals["rows_accepted"] == ds.records.height


def test_a_corrupt_file_among_good_ones_fails_the_load_and_is_named() -> None:
    with pytest.raises(DataError) as info:
        finintel.load([BAD / "good.parquet", BAD / "corrupt.parquet"])
    assert info.value.code == "FI002"
    assert info.value.location is not None and info.value.location.file == str(
        BAD / "corrupt.parquet"
    )


def test_blank_text_is_missing(tmp_path: Path) -> None:
    frame = pl.read_parquet(BAD / "good.parquet").head(3)
    frame = frame.with_columns(
        pl.Series("src_account", ["DE00", "  ", "DE02"]), pl.Series("currency", ["EUR", "EUR", ""])
    )
    frame.write_parquet(tmp_path / "blanks.parquet")
    ds = finintel.load(tmp_path / "blanks.parquet")
    _balanced(ds)
    got = {r["row"]: (r["reason"], r["column"]) for r in ds.quarantine.iter_rows(named=True)}
    assert got == {1: ("missing", "src_account"), 2: ("missing", "currency")}
