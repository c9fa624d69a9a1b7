"""Each shipped profile on its hand-made fixture, and profile validation errors."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

import finintel
from finintel.errors import ConfigError, ErrorList, FinintelError
from finintel.ingest.fx import ecb_rates
from finintel.ingest.profile import load_profiles, parse_profile

ROOT = Path(__file__).resolve().parents[2]
PROFILES = ROOT / "fixtures" / "profiles"


def _rate(currency: str, day: date) -> float:
    r = ecb_rates().filter((pl.col("currency") == currency) & (pl.col("date") <= day)).sort("date")
    return float(r["rate"][-1])


def test_shipped_profiles_are_valid() -> None:
    profiles = load_profiles(ROOT / "rules" / "sources")
    assert {"mto", "bank-transfer", "bank-statement", "bank-statement-signed"} <= set(profiles)


def test_bank_statement_directions_zones_and_parties() -> None:
    ds = finintel.load(PROFILES / "bank_statement.parquet")
    (f,) = ds.files
    assert f.profile == "bank-statement"
    assert f.source == "bank-statement:bank_statement"
    r = {row["tx_id"]: row for row in ds.records.iter_rows(named=True)}
    own = "DE89370400440532013000"
    # debit: own → counterparty; credit: counterparty → own
    assert (r["B1"]["src_account"], r["B1"]["dst_account"]) == (own, "FR1420041010050500013M02606")
    assert (r["B2"]["src_account"], r["B2"]["dst_account"]) == ("GB29NWBK60161331926819", own)
    # Berlin local time: 01:30 CET (UTC+1) and 03:30 CEST (UTC+2) on the DST switch day
    assert r["B1"]["ts"] == datetime(2025, 3, 30, 0, 30, tzinfo=UTC)
    assert r["B2"]["ts"] == datetime(2025, 3, 30, 1, 30, tzinfo=UTC)
    # countries from the IBANs, holder party on the own side
    assert (r["B2"]["src_country"], r["B2"]["dst_country"]) == ("GB", "DE")
    assert r["B1"]["src_party"] == "C-100" and r["B2"]["dst_party"] == "C-100"
    assert r["B3"]["dst_party"] is None  # no counterparty name
    # GBP converted with the ECB rate of the UTC date (2025-06-30)
    assert r["B3"]["amount_base"] == pytest.approx(80.0 / _rate("GBP", date(2025, 6, 30)))
    assert sorted(ds.parties["name"]) == ["Jane Roe", "Rent SARL"]


def test_bank_statement_signed_amounts() -> None:
    ds = finintel.load(PROFILES / "bank_statement_signed.parquet")
    r = {row["tx_id"]: row for row in ds.records.iter_rows(named=True)}
    assert r["S1"]["amount"] == 40.0 and r["S1"]["src_account"] == "DE89370400440532013000"
    assert r["S2"]["amount"] == 60.0 and r["S2"]["dst_account"] == "DE89370400440532013000"


def test_bank_transfer_profile() -> None:
    ds = finintel.load(PROFILES / "bank_transfer.parquet")
    r = ds.records.sort("ts")
    assert r["tx_id"].to_list() == [
        "eb6305c9-1f7f-49de-aed0-16487c27b42d",
        "7a562c67-ca16-48ba-b074-65581be6f001",
    ]
    assert r["src_party"][0] == "C-100"  # the bank's customer id when present
    assert r["src_party"][1].startswith("p-")  # else derived from the identity
    assert r["dst_party"][0] == r["dst_party"][1]  # same creditor details → same party
    assert r["reference"].to_list() == ["invoice 17", "invoice 18"]
    assert r["amount_base"][1] == pytest.approx(20000.0 / _rate("SEK", date(2025, 5, 3)))


def test_mto_parties_from_order_details() -> None:
    ds = finintel.load(ROOT / "fixtures" / "bad" / "mto_status.parquet")
    p = ds.parties.filter(pl.col("name") == "Mohamed Ali").row(0, named=True)
    assert p["birth_date"] == date(1990, 1, 1)
    assert (p["id_type"], p["id_number"], p["id_country"]) == ("PASSPORT", "P123", "SY")
    assert p["phone"] == "+49 151 0000001"


def test_mto_sender_device_and_ip_are_optional_and_normalised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    orders = pl.read_parquet(ROOT / "fixtures" / "bad" / "mto_status.parquet")
    # an export without the optional columns (nor payout_time) loads, with nulls
    orders.drop("payout_time").write_parquet(tmp_path / "mto.parquet")
    ds = finintel.load(tmp_path / "mto.parquet")
    assert ds.parties.height > 0
    assert ds.parties["device_id"].is_null().all() and ds.parties["ip_address"].is_null().all()
    assert ds.transfers.collect()["payout_ts"].is_null().all()
    # with them: IP addresses in their normal text, a bad one null with a warning
    orders.with_columns(
        pl.lit("PAID").alias("status"),
        pl.Series("sender_device_id", ["AB12-CD34", None, " ab12-cd34 "]),
        pl.Series("sender_ip", ["2001:DB8:0:0:0:0:0:1", "::ffff:10.0.0.1", "300.1.1.1"]),
    ).write_parquet(tmp_path / "mto.parquet")
    with caplog.at_level("WARNING", logger="finintel.ingest"):
        ds = finintel.load(tmp_path / "mto.parquet")
    senders = ds.parties.join(
        ds.transfers.collect().select(pl.col("src_party").alias("party_id"), "tx_id"),
        on="party_id",
    )
    by_tx = {r["tx_id"]: (r["device_id"], r["ip_address"]) for r in senders.iter_rows(named=True)}
    got = [by_tx[t] for t in orders["mtcn"].cast(pl.String)]
    assert got == [("AB12-CD34", "2001:db8::1"), (None, "10.0.0.1"), ("ab12-cd34", None)]
    assert "1 ip_address value(s) are not IP addresses, kept as null (e.g. '300.1.1.1')" in (
        caplog.text
    )
    # receivers have no device: their rows are null
    receivers = ds.transfers.collect()["dst_party"].drop_nulls().unique()
    assert (
        ds.parties.filter(pl.col("party_id").is_in(receivers.implode()))["device_id"]
        .is_null()
        .all()
    )


def test_source_override_and_forced_profile() -> None:
    ds = finintel.load(
        PROFILES / "bank_transfer.parquet", profile="bank-transfer", source="Bank A / drop 7"
    )
    assert set(ds.records["source"]) == {"Bank A / drop 7"}


def test_forced_profile_that_does_not_fit() -> None:
    with pytest.raises(FinintelError) as info:
        finintel.load(PROFILES / "bank_transfer.parquet", profile="mto")
    assert "required by profile 'mto'" in str(info.value)


def test_unknown_profile_name_is_a_usage_error() -> None:
    with pytest.raises(FinintelError) as info:
        finintel.load(PROFILES / "bank_transfer.parquet", profile="bank-transfr")
    assert info.value.exit_code == 2
    assert "did you mean 'bank-transfer'?" in str(info.value)


BAD_PROFILE = """\
profile: broken
layout: statement
timezone: Mars/Olympus
columns:
  tx_id: id
  ts: when
  amount: amt
  currency: ccy
  src_account: from
statement:
  account: acc
  counterparty: cp
  direction: {column: dc}
parties:
  sender: {name: n}
colour: blue
"""


def test_profile_errors_have_positions_and_come_all_at_once() -> None:
    with pytest.raises((ConfigError, ErrorList)) as info:
        parse_profile(BAD_PROFILE, "broken.yaml")
    lines = str(info.value).splitlines()
    assert lines == [
        "broken.yaml:3:11: FI018 unknown time zone 'Mars/Olympus' (use an IANA name like 'Europe/Berlin')",
        "broken.yaml:9:16: FI019 'src_account' is not a canonical column a profile can map "
        "(statements take accounts and countries from 'statement:')",
        "broken.yaml:13:14: FI013 'direction' with 'column' needs 'debit' and 'credit' value lists",
        "broken.yaml:15:11: FI016 unknown party side 'sender' for layout statement; use account or counterparty",
        "broken.yaml:16:1: FI016 unknown key 'colour' (did you mean 'columns'?)",
    ]


def test_duplicate_key_in_profile() -> None:
    with pytest.raises(ConfigError) as info:
        parse_profile("profile: a\nprofile: b\n", "dup.yaml")
    assert str(info.value) == "dup.yaml:2:1: FI011 duplicate key 'profile'"
