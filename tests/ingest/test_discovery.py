"""Input discovery: folders, hive partitions, canonical parties files."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

import finintel
from finintel.errors import DataError


def _transfers(n: int, prefix: str) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "tx_id": [f"{prefix}{i}" for i in range(n)],
            "ts": [datetime(2025, 2, 1, i, tzinfo=UTC) for i in range(n)],
            "src_account": ["A"] * n,
            "dst_account": ["B"] * n,
            "amount": [float(i + 1) for i in range(n)],
            "currency": ["EUR"] * n,
        }
    )


def test_folder_with_hive_partitions_and_parties(tmp_path: Path) -> None:
    for region in ("north", "south"):
        part = tmp_path / "drop" / f"region={region}"
        part.mkdir(parents=True)
        _transfers(3, region).write_parquet(part / "part-0.parquet")
    pl.DataFrame(
        {"party_id": ["A", "B", "B"], "name": ["Ann", "Bob", "Bob"], "birth_date": ["1980-02-29", "x", "x"],
         "country": ["DE", "LY", "LY"]}
    ).write_parquet(tmp_path / "drop" / "parties.parquet")  # fmt: skip
    ds = finintel.load(tmp_path / "drop", source="agency-1")
    assert ds.records.height == 6
    kinds = {
        Path(f.file).name if "region" not in f.file else f.file.split("region=")[1][:5]: f.kind
        for f in ds.files
    }
    assert kinds == {"north": "transfers", "south": "transfers", "parties.parquet": "parties"}
    parties_file = next(f for f in ds.files if f.kind == "parties")
    # Bob's birth date is not a date: quarantined (twice), nothing lost
    assert (parties_file.rows_in, parties_file.rows_accepted, parties_file.rows_quarantined) == (
        3,
        1,
        2,
    )
    assert ds.parties["name"].to_list() == ["Ann"]


def test_parties_file_devices_and_ip_addresses(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "drop").mkdir()
    _transfers(1, "t").write_parquet(tmp_path / "drop" / "t.parquet")
    pl.DataFrame(
        {"party_id": ["A", "A", "B"], "name": ["Ann", "Ann", "Bob"],
         "device_id": [" dev-1 ", "dev-2", None], "ip_address": ["192.0.2.1", "2001:DB8::A", "n/a"]}
    ).write_parquet(tmp_path / "drop" / "parties.parquet")  # fmt: skip
    with caplog.at_level("WARNING", logger="finintel.ingest"):
        ds = finintel.load(tmp_path / "drop")
    # a party with two devices keeps both: one row each; a bad IP address is null, not rejected
    assert ds.parties.sort("party_id", "device_id").select(
        "party_id", "device_id", "ip_address"
    ).rows() == [("A", "dev-1", "192.0.2.1"), ("A", "dev-2", "2001:db8::a"), ("B", None, None)]
    assert "1 ip_address value(s) are not IP addresses" in caplog.text
    assert ds.quarantine.height == 0


def test_missing_input_is_named(tmp_path: Path) -> None:
    with pytest.raises(DataError) as info:
        finintel.load(tmp_path / "nope")
    assert info.value.code == "FI001"
    assert str(tmp_path / "nope") in str(info.value)


def test_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError) as info:
        finintel.load(tmp_path)
    assert "no *.parquet files" in str(info.value)
