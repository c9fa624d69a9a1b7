"""The synthetic generator: layouts, determinism, ground truth that holds on the raw files."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from finintel.errors import UsageError
from finintel.schema import PARTIES
from finintel.synth import DEFAULT_THRESHOLDS, FAMILIES, generate, peg_rates_csv
from finintel.synth.ids import iban_valid
from finintel.synth.reference import CORRIDOR_CASE_COUNTRIES, COUNTRIES, USD_PEGS

ROOT = Path(__file__).resolve().parents[1]
N = 20_000
SEED = 7
START = date(2025, 1, 1)
DAYS = 182
ST, BT, MTO = "drop/bank_statements.parquet", "drop/bank_transfers.parquet", "drop/mto.parquet"
TX_ID = {ST: "booking_id", BT: "uetr", MTO: "mtcn"}
DROP_FILES = (ST, BT, MTO, "drop/parties.parquet", "fx.csv", "truth.parquet", "manifest.json")


@pytest.fixture(scope="module")
def drop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "drop7"
    generate(out, transfers=N, seed=SEED, start=START, days=DAYS)
    return out


@pytest.fixture(scope="module")
def truth(drop: Path) -> pl.DataFrame:
    return pl.read_parquet(drop / "truth.parquet")


def read(drop: Path, name: str) -> pl.DataFrame:
    return pl.read_parquet(drop / name)


def members(truth: pl.DataFrame, family: str, role: str) -> pl.DataFrame:
    return truth.filter(pl.col("family") == family, pl.col("role") == role)


def max_distinct_in_window(
    events: pl.DataFrame, by: str, t: str, window: timedelta, *keys: str
) -> pl.DataFrame:
    """Per ``by``: the most distinct values of each key in any window [t0, t0 + window]
    starting at an event (a plain self-join: obviously correct, fine for a few entities)."""
    e = events.select(by, t, *keys)
    pairs = e.join(e, on=by, suffix="_2").filter(
        pl.col(f"{t}_2") >= pl.col(t), pl.col(f"{t}_2") <= pl.col(t) + window
    )
    return pairs.group_by(by, t).agg(pl.col(f"{k}_2").n_unique().alias(k) for k in keys)


# -- layouts -------------------------------------------------------------------------------------


def _formats_md() -> dict[str, dict[str, pl.DataType]]:
    """Column types per layout, parsed from docs/formats.md (the contract)."""
    text = (ROOT / "docs" / "formats.md").read_text()
    layouts: dict[str, dict[str, pl.DataType]] = {}
    current = None
    for line in text.splitlines():
        head = re.match(r"## `([a-z-]+)`", line)
        if head:
            current = head.group(1)
            layouts[current] = {}
            continue
        row = re.match(r"\| ([a-z_, ]+) \| ([^|]+) \|", line)
        if current and row and row.group(1).strip() != "column":
            kind = row.group(2).strip()
            if kind.startswith("String"):
                dtype: pl.DataType = pl.String()
            elif kind.startswith("Float64"):
                dtype = pl.Float64()
            elif kind.startswith("Datetime(us, UTC)"):
                dtype = pl.Datetime("us", "UTC")
            else:
                raise AssertionError(f"unknown type in docs/formats.md: {kind}")
            for col in row.group(1).split(","):
                layouts[current][col.strip()] = dtype
    return layouts


def test_layouts_match_formats_md(drop: Path) -> None:
    layouts = _formats_md()
    for file, layout in ((ST, "bank-statement"), (BT, "bank-transfer"), (MTO, "mto")):
        schema = pl.read_parquet_schema(drop / file)
        assert dict(schema) == layouts[layout], file
    parties = pl.read_parquet_schema(drop / "drop" / "parties.parquet")
    listed = re.search(
        r"canonical parties columns \(`([^`]+)`", (ROOT / "docs" / "formats.md").read_text()
    )
    assert listed is not None
    names = [c.strip() for c in listed.group(1).split(",")]
    assert list(parties) == names
    assert all(parties[c] == PARTIES[c] for c in names)


def test_all_files_written(drop: Path) -> None:
    for name in DROP_FILES:
        assert (drop / name).is_file(), name
    assert not [p for p in drop.parent.iterdir() if p.name.startswith(".")]  # no temporaries


def test_row_count_close_to_request(drop: Path) -> None:
    rows = sum(read(drop, f).height for f in (ST, BT, MTO))
    assert abs(rows - N) <= 0.03 * N
    manifest = json.loads((drop / "manifest.json").read_text())
    assert manifest["transfers_written"] == rows
    assert manifest["thresholds"] == DEFAULT_THRESHOLDS


def test_tx_ids_unique_and_well_formed(drop: Path) -> None:
    for file, col in TX_ID.items():
        ids = read(drop, file)[col]
        assert ids.n_unique() == ids.len(), file
    assert read(drop, MTO)["mtcn"].str.contains(r"^\d{10}$").all()
    uuid = r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
    assert read(drop, BT)["uetr"].str.contains(uuid).all()


def test_timestamps_inside_period(drop: Path) -> None:
    lo, hi = f"{START} 00:00:00", f"{START + timedelta(days=DAYS)} 00:00:00"
    st = read(drop, ST)["booking_time"]
    mto = read(drop, MTO)
    for s in (st, mto["send_time"], mto["payout_time"].drop_nulls()):
        assert s.min() >= lo and s.max() < hi  # type: ignore[operator]
    bt = read(drop, BT)["settlement_time"].dt.date()
    assert bt.min() >= START and bt.max() < START + timedelta(days=DAYS)  # type: ignore[operator]
    paid = mto.filter(pl.col("status") == "PAID")
    assert (paid["payout_time"] >= paid["send_time"]).all()
    assert mto.filter(pl.col("status") != "PAID")["payout_time"].is_null().all()
    share = mto.filter(pl.col("status") != "PAID").height / mto.height
    assert 0.01 < share < 0.08  # a few percent cancelled / refunded / pending


def test_ibans_valid(drop: Path) -> None:
    st, bt = read(drop, ST), read(drop, BT)
    ibans = pl.concat(
        [st["account_iban"], st["counterparty_iban"], bt["debtor_iban"], bt["creditor_iban"]]
    ).unique()
    assert ibans.len() > 100
    for iban in ibans.to_list():
        assert iban_valid(iban), iban
        assert len(iban) == 4 + len(COUNTRIES[iban[:2]].bban), iban
    for side in ("debtor", "creditor"):
        assert (bt[f"{side}_iban"].str.slice(0, 2) == bt[f"{side}_country"]).all()


def test_party_ids_resolve(drop: Path, truth: pl.DataFrame) -> None:
    parties = read(drop, "drop/parties.parquet")
    known = set(parties["party_id"].to_list())
    assert parties["party_id"].n_unique() == parties.height
    st, bt = read(drop, ST), read(drop, BT)
    assert st["account_holder_id"].null_count() == 0
    referenced = set(st["account_holder_id"].to_list())
    referenced |= set(bt["debtor_id"].drop_nulls().to_list()) | set(
        bt["creditor_id"].drop_nulls().to_list()
    )
    referenced |= set(truth.filter(pl.col("entity_kind") == "party")["entity"].to_list())
    assert referenced <= known
    assert bt["debtor_id"].null_count() + bt["creditor_id"].null_count() > 0  # foreign banks


def test_statement_balances_follow_the_bookings(drop: Path) -> None:
    st = read(drop, ST).with_columns(
        signed=pl.when(pl.col("cdt_dbt") == "CRDT").then("amount").otherwise(-pl.col("amount"))
    )
    steps = st.with_columns(prev=pl.col("balance").shift(1).over("account_iban")).drop_nulls("prev")
    assert ((steps["balance"] - steps["prev"] - steps["signed"]).abs() < 0.015).all()
    assert (st["balance"] >= 0).all()
    assert st["cdt_dbt"].is_in(["CRDT", "DBIT"]).all() and (st["amount"] > 0).all()


def test_currencies_and_fx(drop: Path) -> None:
    mto = read(drop, MTO)
    used = set(mto["send_currency"].to_list()) | set(mto["payout_currency"].to_list())
    assert {"EUR", "GBP", "SEK", "CHF", "USD", "TRY", "PLN", "NOK", "AED", "SAR", "QAR"} <= used
    fx = pl.read_csv(drop / "fx.csv", comment_prefix="#")
    assert fx.columns == ["date", "currency", "rate"]
    assert set(fx["currency"].to_list()) == used & set(USD_PEGS)
    assert fx["date"].min() <= str(START)  # type: ignore[operator]
    for col in ("principal", "fee", "payout_amount"):
        assert ((mto[col] * 100).round(6) % 1 == 0).all(), col  # cents


# -- determinism ---------------------------------------------------------------------------------


def test_same_seed_same_bytes(drop: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    generate(again, transfers=N, seed=SEED, start=START, days=DAYS)
    for name in DROP_FILES:
        assert (again / name).read_bytes() == (drop / name).read_bytes(), name


def test_other_seed_other_data_replacing_the_folder(drop: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "stale.txt").write_text("from an earlier run")
    generate(other, transfers=N, seed=SEED + 1, start=START, days=DAYS)
    assert not (other / "stale.txt").exists()  # the folder is replaced as a whole
    assert (other / MTO).read_bytes() != (drop / MTO).read_bytes()
    assert read(other, MTO)["mtcn"].to_list()[:50] != read(drop, MTO)["mtcn"].to_list()[:50]


# -- ground truth --------------------------------------------------------------------------------


def test_every_family_has_hits_and_near_misses(truth: pl.DataFrame) -> None:
    cases = truth.group_by("family", "case_id").agg(pl.col("near_miss").first())
    for family in FAMILIES:
        fam = cases.filter(pl.col("family") == family)
        assert fam.height >= 4, family
        assert fam["near_miss"].any() and not fam["near_miss"].all(), family
    assert truth.select(pl.col("entity_kind").is_in(["account", "party", "agent"]).all()).item()
    assert truth["entity"].null_count() == 0


def test_truth_tx_ids_exist_in_source(drop: Path, truth: pl.DataFrame) -> None:
    for file, col in TX_ID.items():
        ids = set(read(drop, file)[col].to_list())
        mine = truth.filter(pl.col("source_file") == file)["tx_ids"].explode().drop_nulls()
        assert mine.len() > 0, file
        assert set(mine.to_list()) <= ids, file
    paid = set(read(drop, MTO).filter(pl.col("status") == "PAID")["mtcn"].to_list())
    mto_ids = truth.filter(pl.col("source_file") == MTO)["tx_ids"].explode().drop_nulls()
    assert set(mto_ids.to_list()) <= paid  # only money movements are evidence


def _hit_and_near(result: pl.DataFrame, truth_rows: pl.DataFrame, key: str, holds: pl.Expr) -> None:
    judged = truth_rows.select("entity", "near_miss").join(
        result.group_by(key).agg(holds.any().alias("holds")),
        left_on="entity",
        right_on=key,
        how="left",
    )
    judged = judged.with_columns(pl.col("holds").fill_null(False))
    assert judged.filter(~pl.col("near_miss"))["holds"].all(), judged
    assert not judged.filter(pl.col("near_miss"))["holds"].any(), judged
    assert judged["near_miss"].any() and not judged["near_miss"].all()


def test_fan_in_property_on_raw_transfers(drop: Path, truth: pl.DataFrame) -> None:
    th = DEFAULT_THRESHOLDS["fan_in"]
    collectors = members(truth, "fan_in", "collector")
    bt = read(drop, BT).filter(pl.col("creditor_iban").is_in(collectors["entity"].to_list()))
    windows = max_distinct_in_window(
        bt, "creditor_iban", "settlement_time", timedelta(days=30), "debtor_iban", "debtor_country"
    )
    holds = (pl.col("debtor_iban") >= th["min_senders"]) & (
        pl.col("debtor_country") >= th["min_countries"]
    )
    _hit_and_near(windows, collectors, "creditor_iban", holds)


def test_fan_out_property_on_raw_transfers(drop: Path, truth: pl.DataFrame) -> None:
    th = DEFAULT_THRESHOLDS["fan_out"]
    dist = members(truth, "fan_out", "distributor")
    bt = read(drop, BT).filter(pl.col("debtor_iban").is_in(dist["entity"].to_list()))
    e = bt.select("debtor_iban", "settlement_time", "creditor_iban", "amount")
    windows = (
        e.join(e, on="debtor_iban", suffix="_2")
        .filter(
            pl.col("settlement_time_2") >= pl.col("settlement_time"),
            pl.col("settlement_time_2") <= pl.col("settlement_time") + timedelta(days=7),
        )
        .group_by("debtor_iban", "settlement_time")
        .agg(
            pl.col("creditor_iban_2").n_unique().alias("receivers"),
            pl.col("amount_2").sum().alias("total"),
        )
    )
    holds = (pl.col("receivers") >= th["min_receivers"]) & (pl.col("total") >= th["min_total_eur"])
    _hit_and_near(windows, dist, "debtor_iban", holds)
    assert not bt["remittance_info"].str.to_lowercase().str.contains("salary|payroll").any()


def test_pass_through_property_on_raw_statements(drop: Path, truth: pl.DataFrame) -> None:
    th = DEFAULT_THRESHOLDS["pass_through"]
    mules = members(truth, "pass_through", "mule")
    st = read(drop, ST).filter(pl.col("account_iban").is_in(mules["entity"].to_list()))
    st = st.with_columns(
        ts=pl.col("booking_time").str.to_datetime().dt.replace_time_zone("Europe/Berlin")
    )
    inflow = st.filter(pl.col("cdt_dbt") == "CRDT", pl.col("amount") >= th["min_inflow_eur"])
    out = st.filter(pl.col("cdt_dbt") == "DBIT").select(
        "account_iban", pl.col("ts").alias("t_out"), pl.col("amount").alias("out")
    )
    ratio = (
        inflow.join(out, on="account_iban")
        .filter(
            pl.col("t_out") > pl.col("ts"), pl.col("t_out") <= pl.col("ts") + timedelta(hours=24)
        )
        .group_by("account_iban", "ts", "amount")
        .agg(pl.col("out").sum())
        .with_columns(ratio=pl.col("out") / pl.col("amount"))
    )
    _hit_and_near(ratio, mules, "account_iban", pl.col("ratio") >= th["min_ratio"])
    # the late near misses do pass the money on, only after more than 24 hours
    assert st.filter(pl.col("cdt_dbt") == "DBIT").height >= mules.height


def test_structuring_property_on_raw_mto(drop: Path, truth: pl.DataFrame) -> None:
    th = DEFAULT_THRESHOLDS["structuring"]
    senders = members(truth, "structuring", "structurer")
    (eur_lo, eur_hi), (usd_lo, usd_hi) = th["bands"]["EUR"], th["bands"]["USD"]
    band = (
        (pl.col("send_currency") == "EUR")
        & pl.col("principal").is_between(eur_lo, eur_hi, closed="left")
    ) | (
        (pl.col("send_currency") == "USD")
        & pl.col("principal").is_between(usd_lo, usd_hi, closed="left")
    )
    mto = (
        read(drop, MTO)
        .filter(
            pl.col("sender_customer_id").is_in(senders["entity"].to_list()),
            pl.col("status") == "PAID",
            band,
        )
        .with_columns(ts=pl.col("send_time").str.to_datetime())
    )
    windows = max_distinct_in_window(mto, "sender_customer_id", "ts", timedelta(days=7), "mtcn")
    _hit_and_near(windows, senders, "sender_customer_id", pl.col("mtcn") >= th["min_transfers"])


def test_funnel_property_on_raw_statements(drop: Path, truth: pl.DataFrame) -> None:
    th = DEFAULT_THRESHOLDS["funnel_account"]
    funnels = members(truth, "funnel_account", "funnel")
    st = (
        read(drop, ST)
        .filter(
            pl.col("account_iban").is_in(funnels["entity"].to_list()),
            pl.col("remittance_info").str.starts_with("CASH DEPOSIT "),
        )
        .with_columns(
            ts=pl.col("booking_time").str.to_datetime(),
            city=pl.col("remittance_info").str.extract(r"^CASH DEPOSIT \S+ (.+)$"),
            depositor=pl.col("counterparty_name").str.to_uppercase(),
        )
    )
    assert st["city"].null_count() == 0
    windows = max_distinct_in_window(
        st, "account_iban", "ts", timedelta(days=14), "depositor", "city"
    )
    holds = (pl.col("depositor") >= th["min_depositors"]) & (pl.col("city") >= th["min_branches"])
    _hit_and_near(windows, funnels, "account_iban", holds)


def test_agent_hopping_property_on_raw_mto(drop: Path, truth: pl.DataFrame) -> None:
    senders = members(truth, "agent_hopping", "sender")
    mto = (
        read(drop, MTO)
        .filter(
            pl.col("sender_customer_id").is_in(senders["entity"].to_list()),
            pl.col("status") == "PAID",
        )
        .with_columns(ts=pl.col("send_time").str.to_datetime())
    )
    windows = max_distinct_in_window(
        mto, "sender_customer_id", "ts", timedelta(days=2), "send_agent_id"
    )
    n = DEFAULT_THRESHOLDS["agent_hopping"]["min_send_agents"]
    _hit_and_near(windows, senders, "sender_customer_id", pl.col("send_agent_id") >= n)


def test_shared_identifier_cases(drop: Path, truth: pl.DataFrame) -> None:
    holders = members(truth, "shared_identifier", "holder")
    mto = read(drop, MTO).join(
        holders.select(pl.col("entity").alias("sender_customer_id"), "case_id", "near_miss"),
        on="sender_customer_id",
    )
    per_case = mto.group_by("case_id").agg(
        pl.col("near_miss").first(),
        pl.col("sender_customer_id").n_unique().alias("customers"),
        pl.concat_str("sender_id_number", "sender_id_country").n_unique().alias("documents"),
        pl.col("sender_phone")
        .str.replace_all(r"\D", "")
        .str.slice(-7)
        .drop_nulls()
        .n_unique()
        .alias("phones"),
        pl.col("sender_address").n_unique().alias("addresses"),
        pl.col("sender_birth_date").drop_nulls().n_unique().alias("births"),
        pl.col("sender_name").str.to_uppercase().n_unique().alias("names"),
    )
    assert (per_case["customers"] >= 2).all()
    hits = per_case.filter(~pl.col("near_miss"))
    assert hits.select(((pl.col("documents") == 1) | (pl.col("phones") == 1)).all()).item()
    assert (hits["names"] >= 2).all()
    near = per_case.filter(pl.col("near_miss"))
    same_person = (pl.col("documents") == 1) & (pl.col("births") <= 1)  # spelling variants
    one_address = (pl.col("addresses") == 1) & (pl.col("documents") == pl.col("customers"))
    assert near.select((same_person | one_address).all()).item()
    assert near.select(same_person.any() & one_address.any()).item()


def test_many_payout_agents_property_on_raw_mto(drop: Path, truth: pl.DataFrame) -> None:
    receivers = members(truth, "many_payout_agents", "receiver")
    mto = (
        read(drop, MTO)
        .filter(
            pl.col("receiver_customer_id").is_in(receivers["entity"].to_list()),
            pl.col("status") == "PAID",
        )
        .with_columns(ts=pl.col("payout_time").str.to_datetime())
    )
    windows = max_distinct_in_window(
        mto, "receiver_customer_id", "ts", timedelta(days=14), "payout_agent_id"
    )
    n = DEFAULT_THRESHOLDS["many_payout_agents"]["min_payout_agents"]
    _hit_and_near(windows, receivers, "receiver_customer_id", pl.col("payout_agent_id") >= n)


def test_non_paid_orders_exist_but_are_no_evidence(drop: Path, truth: pl.DataFrame) -> None:
    mto = read(drop, MTO)
    not_paid = set(mto.filter(pl.col("status") != "PAID")["mtcn"].to_list())
    assert not_paid
    assert not not_paid & set(truth["tx_ids"].explode().drop_nulls().to_list())


def test_corridor_cases_pay_into_listed_countries(drop: Path, truth: pl.DataFrame) -> None:
    listed = DEFAULT_THRESHOLDS["corridor"]["countries"]
    assert set(CORRIDOR_CASE_COUNTRIES) <= set(listed)
    receivers = members(truth, "corridor", "receiver")["entity"].to_list()
    mto = read(drop, MTO).filter(pl.col("receiver_customer_id").is_in(receivers))
    assert mto["payout_country"].is_in(listed).all()


@pytest.mark.parametrize(
    ("transfers", "start", "days"),
    [(10, START, DAYS), (N, START, 20), (N, date(2040, 1, 1), DAYS), (N, date(2010, 1, 1), DAYS)],
)
def test_bad_parameters_are_usage_errors(
    tmp_path: Path, transfers: int, start: date, days: int
) -> None:
    with pytest.raises(UsageError) as err:
        generate(tmp_path / "x", transfers=transfers, start=start, days=days)
    assert err.value.code == "FI070"
    assert not (tmp_path / "x").exists()


def test_peg_table_is_what_the_function_computes() -> None:
    path = ROOT / "rules" / "fx" / "usd-pegs.csv"
    text = path.read_text()
    table = pl.read_csv(path, comment_prefix="#", try_parse_dates=True)
    assert table.columns == ["date", "currency", "rate"]
    assert set(table["currency"].to_list()) == set(USD_PEGS)
    assert text.startswith("# ")
    assert text == peg_rates_csv(until=table["date"].max())  # type: ignore[arg-type]
