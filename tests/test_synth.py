"""The synthetic generator: layouts, determinism, ground truth that holds on the raw files."""

from __future__ import annotations

import ipaddress
import itertools
import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from finintel.errors import UsageError
from finintel.schema import PARTIES
from finintel.synth import DEFAULT_THRESHOLDS, FAMILIES, cases_graph, generate, peg_rates_csv
from finintel.synth.devices import PUBLIC_IPS
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


def test_sender_devices_and_ip_addresses(drop: Path, truth: pl.DataFrame) -> None:
    mto = read(drop, MTO)
    online = pl.col("channel").is_in(["online", "app"])
    has = pl.col("sender_device_id").is_not_null()
    assert mto.filter(online).select(has.all() & pl.col("sender_ip").is_not_null().all()).item()
    # every IP address is one (the full upper-case IPv6 form included)
    ips = mto["sender_ip"].drop_nulls().unique().to_list()
    assert all(ipaddress.ip_address(ip) for ip in ips) and any(":" in ip for ip in ips)
    # the smuggling networks' senders: one device and one IP address per network but the near
    # misses (agent orders pre-staged by a facilitator); no other agent order has a device
    senders = members(truth, "smuggling_network", "sender").select(
        pl.col("entity").alias("sender_customer_id"), "case_id", "near_miss", "tx_ids"
    )
    rows = mto.join(
        senders.explode("tx_ids").rename({"tx_ids": "mtcn"}), on=["mtcn", "sender_customer_id"]
    )
    per_case = rows.group_by("case_id").agg(
        pl.col("near_miss").first(),
        pl.col("sender_customer_id").n_unique().alias("senders"),
        pl.col("sender_device_id").n_unique().alias("devices"),
        pl.col("sender_ip").n_unique().alias("ips"),
        pl.col("sender_device_id").first().alias("device"),
    )
    hits = per_case.filter(~pl.col("near_miss"))
    assert hits.height >= 3 and (hits["devices"] == 1).all() and (hits["ips"] == 1).all()
    assert hits["device"].null_count() == 0 and hits["device"].n_unique() == hits.height
    assert (
        per_case.filter(pl.col("near_miss"))["device"].null_count() == per_case["near_miss"].sum()
    )
    staged = mto.filter(~online & has)
    assert set(staged["mtcn"]) == set(rows.filter(~pl.col("near_miss"))["mtcn"])
    # a background sender has one device of its own; the public networks are used by many
    # more senders than any network has
    own = (
        mto.filter(online).group_by("sender_device_id").agg(pl.col("sender_customer_id").n_unique())
    )
    assert (own["sender_customer_id"] == 1).all()
    public = mto.filter(pl.col("sender_ip").is_in(list(PUBLIC_IPS)))
    users = public.group_by("sender_ip").agg(pl.col("sender_customer_id").n_unique().alias("n"))
    assert users.height == len(PUBLIC_IPS) and users["n"].min() > hits["senders"].max()  # type: ignore[operator]


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


# -- graph (layering) families: properties recomputed from the raw credit transfers ------------

GRAPH_FAMILIES = ("cycle", "ring", "scatter_gather", "gather_scatter", "bipartite", "stack",
                  "layering_chain")  # fmt: skip


@dataclass(frozen=True)
class Edge:
    ts: datetime
    src: str
    dst: str
    amount: float


@dataclass
class GraphCase:
    near_miss: bool
    note: str
    roles: dict[str, str]  # account → role
    edges: list[Edge]

    def having(self, role: str) -> list[str]:
        return sorted(a for a, r in self.roles.items() if r == role)


def graph_cases(drop: Path, truth: pl.DataFrame, family: str) -> dict[str, GraphCase]:
    """A family's cases: roles from the truth, payments from the raw transfers (by uetr)."""
    rows = truth.filter(pl.col("family") == family)
    assert rows["source_file"].unique().to_list() == [BT]
    assert rows["entity_kind"].unique().to_list() == ["account"]
    evidence = (
        rows.select("case_id", "tx_ids").explode("tx_ids").unique()
        .join(read(drop, BT), left_on="tx_ids", right_on="uetr")
        .sort("case_id", "settlement_time", "tx_ids")
    )  # fmt: skip
    cases: dict[str, GraphCase] = {}
    for r in rows.iter_rows(named=True):
        case = cases.setdefault(r["case_id"], GraphCase(r["near_miss"], r["note"], {}, []))
        case.roles[r["entity"]] = r["role"]
    for e in evidence.iter_rows(named=True):
        cases[e["case_id"]].edges.append(
            Edge(e["settlement_time"], e["debtor_iban"], e["creditor_iban"], e["amount"])
        )
    for case in cases.values():  # every payment is between the case's own accounts
        assert {x for e in case.edges for x in (e.src, e.dst)} == set(case.roles)
    return cases


def window_of(family: str) -> timedelta:
    spec = DEFAULT_THRESHOLDS[family]["window"]
    return timedelta(days=int(spec.removesuffix("d")))


def span(edges: list[Edge]) -> timedelta:
    return max(e.ts for e in edges) - min(e.ts for e in edges)


def ring_order(case: GraphCase, start: str) -> list[Edge]:
    """The payments going round from ``start`` (each account pays exactly one other)."""
    out = {e.src: e for e in case.edges}
    assert len(out) == len(case.edges) == len(case.roles)
    path, at = [], start
    while True:
        path.append(out[at])
        at = out[at].dst
        if at == start or len(path) > len(case.roles):
            break
    assert at == start and len(path) == len(case.roles)  # closes through every account
    return path


def descents(path: list[Edge]) -> int:
    """Hops earlier than the hop before them, going round once: ≤ 1 ⇔ some rotation of the
    ring is in time order (a time-respecting cycle); equal timestamps count as in order."""
    k = len(path)
    return sum(path[(j + 1) % k].ts < path[j].ts for j in range(k))


def failed(conditions: dict[str, bool]) -> set[str]:
    return {name for name, ok in conditions.items() if not ok}


def judge(cases: dict[str, GraphCase], conditions: dict[str, dict[str, bool]],
          near_kinds: set[str]) -> None:  # fmt: skip
    """Hits meet every condition; each near miss fails exactly one, of the expected kinds."""
    seen: set[str] = set()
    for cid, case in cases.items():
        miss = failed(conditions[cid])
        if case.near_miss:
            assert len(miss) == 1, (cid, conditions[cid], case.note)
            seen |= miss
        else:
            assert not miss, (cid, conditions[cid], case.note)
    assert seen == near_kinds, seen
    assert any(c.near_miss for c in cases.values()) and not all(c.near_miss for c in cases.values())


def test_cycle_property_on_raw_transfers(drop: Path, truth: pl.DataFrame) -> None:
    th = DEFAULT_THRESHOLDS["cycle"]
    cases = graph_cases(drop, truth, "cycle")
    conditions = {}
    for cid, case in cases.items():
        (source,) = case.having("source")
        path = ring_order(case, source)
        ratios = [path[j + 1].amount / path[j].amount for j in range(len(path) - 1)]
        if not case.near_miss:  # the hits go round in time order starting at the source
            assert all(path[j + 1].ts >= path[j].ts for j in range(len(path) - 1)), cid
        conditions[cid] = {
            "length": th["min_length"] <= len(path) <= th["max_length"],
            "order": descents(path) <= 1,
            "window": span(path) <= window_of("cycle"),
            "fees": all(th["min_ratio"] <= r <= th["max_ratio"] for r in ratios),
        }
    judge(cases, conditions, {"order", "window"})


def test_ring_property_on_raw_transfers(drop: Path, truth: pl.DataFrame) -> None:
    th = DEFAULT_THRESHOLDS["ring"]
    cases = graph_cases(drop, truth, "ring")
    conditions = {}
    for cid, case in cases.items():
        path = ring_order(case, case.having("member")[0])
        conditions[cid] = {
            "length": th["min_length"] <= len(path) <= th["max_length"],
            "window": span(path) <= window_of("ring"),
        }
        # no ring is a round trip in disguise: no rotation of its hops is in time order
        assert descents(path) >= 2, cid
        if case.near_miss:  # all but the last payment within the window: not closed in time
            assert span(sorted(path, key=lambda e: e.ts)[:-1]) <= window_of("ring"), cid
    judge(cases, conditions, {"window"})


def test_scatter_gather_property_on_raw_transfers(drop: Path, truth: pl.DataFrame) -> None:
    th = DEFAULT_THRESHOLDS["scatter_gather"]
    cases = graph_cases(drop, truth, "scatter_gather")
    conditions = {}
    for cid, case in cases.items():
        (src,), (sink,) = case.having("source"), case.having("sink")
        legs = []  # (scatter time, gather time) of each intermediary passing the money on
        for mid in case.having("intermediary"):
            (e_in,) = [e for e in case.edges if e.src == src and e.dst == mid]
            (e_out,) = [e for e in case.edges if e.src == mid and e.dst == sink]
            ratio = e_out.amount / e_in.amount
            assert e_out.ts >= e_in.ts and th["min_ratio"] <= ratio <= th["max_ratio"], cid
            legs.append((e_in.ts, e_out.ts))
        best = max(  # the most intermediaries within one rolling window
            sum(s >= start and g <= start + window_of("scatter_gather") for s, g in legs)
            for start, _ in legs
        )
        conditions[cid] = {
            "intermediaries": len(legs) >= th["min_intermediaries"],
            "window": best >= th["min_intermediaries"] or len(legs) < th["min_intermediaries"],
        }
        if case.near_miss and len(legs) >= th["min_intermediaries"]:  # one gather too late
            first = min(s for s, _ in legs)
            assert sum(g > first + window_of("scatter_gather") for _, g in legs) == 1, cid
    judge(cases, conditions, {"intermediaries", "window"})


def test_gather_scatter_property_on_raw_transfers(drop: Path, truth: pl.DataFrame) -> None:
    th = DEFAULT_THRESHOLDS["gather_scatter"]
    cases = graph_cases(drop, truth, "gather_scatter")
    conditions = {}
    for cid, case in cases.items():
        (hub,) = case.having("hub")
        ins = [e for e in case.edges if e.dst == hub]
        outs = [e for e in case.edges if e.src == hub]
        assert len(ins) + len(outs) == len(case.edges)
        ratio = sum(e.amount for e in outs) / sum(e.amount for e in ins)
        conditions[cid] = {
            "sources": len({e.src for e in ins}) >= th["min_sources"],
            "sinks": len({e.dst for e in outs}) >= th["min_sinks"],
            "order": min(e.ts for e in outs) >= max(e.ts for e in ins),
            "window": span(case.edges) <= window_of("gather_scatter"),
            "ratio": th["min_ratio"] <= ratio <= th["max_ratio"],
        }
    # the near misses take turns: an outflow before the last inflow, the last outflow too late,
    # two sources (from the third near miss on: larger drops)
    judge(cases, conditions, {"order", "window"})


def test_bipartite_property_on_raw_transfers(drop: Path, truth: pl.DataFrame) -> None:
    th = DEFAULT_THRESHOLDS["bipartite"]
    cases = graph_cases(drop, truth, "bipartite")
    conditions = {}
    for cid, case in cases.items():
        senders, receivers = case.having("source"), case.having("sink")
        pairs = {(e.src, e.dst) for e in case.edges}
        assert pairs <= {(s, r) for s in senders for r in receivers}
        conditions[cid] = {
            "sizes": len(senders) >= th["min_senders"] and len(receivers) >= th["min_receivers"],
            "complete": len(pairs) == len(senders) * len(receivers),
            "window": span(case.edges) <= window_of("bipartite"),
        }
    judge(cases, conditions, {"complete", "window"})


def test_stack_property_on_raw_transfers(drop: Path, truth: pl.DataFrame) -> None:
    th = DEFAULT_THRESHOLDS["stack"]
    max_dwell = timedelta(days=int(th["max_dwell"].removesuffix("d")))
    cases = graph_cases(drop, truth, "stack")
    conditions = {}
    for cid, case in cases.items():
        layers = [case.having(f"layer-{n}") for n in range(1, th["layers"] + 1)]
        (src,), (sink,) = case.having("source"), case.having("sink")
        level = {src: 0, sink: th["layers"] + 1} | {
            a: n + 1 for n, ly in enumerate(layers) for a in ly
        }
        assert len(level) == len(case.roles)
        assert all(level[e.dst] == level[e.src] + 1 for e in case.edges), cid
        similar, dwell = True, True
        for acc in (a for layer in layers for a in layer):
            ins = [e for e in case.edges if e.dst == acc]
            outs = [e for e in case.edges if e.src == acc]
            assert len(ins) == len(outs), cid  # one payment on per payment in (a leg)
            ratio = sum(e.amount for e in outs) / sum(e.amount for e in ins)
            similar &= th["min_ratio"] <= ratio <= th["max_ratio"]
            dwell &= min(e.ts for e in outs) >= max(e.ts for e in ins)
            dwell &= max(e.ts for e in outs) - min(e.ts for e in ins) <= max_dwell
            if not case.near_miss:  # a leg or two per account: no scatter-gather inside
                assert len(outs) <= 2, cid
        conditions[cid] = {
            "width": all(len(layer) >= th["min_layer_size"] for layer in layers),
            "similar": similar,
            "dwell": dwell,
            "window": span(case.edges) <= window_of("stack"),
        }
    # the near misses take turns: a layer of one account, a layer passing on 40-70 %, a layer
    # holding the money too long (from the third near miss on: larger drops)
    judge(cases, conditions, {"width", "similar"})


def test_layering_chain_property_on_raw_transfers(drop: Path, truth: pl.DataFrame) -> None:
    th = DEFAULT_THRESHOLDS["layering_chain"]
    max_dwell = timedelta(days=int(th["max_dwell"].removesuffix("d")))
    cases = graph_cases(drop, truth, "layering_chain")
    conditions = {}
    for cid, case in cases.items():
        (src,), (sink,) = case.having("source"), case.having("sink")
        out = {e.src: e for e in case.edges}
        assert len(out) == len(case.edges) == len(case.roles) - 1, cid  # one payment each
        path = [out[src]]
        while path[-1].dst in out:
            path.append(out[path[-1].dst])
        assert path[-1].dst == sink and len(path) == len(case.edges), cid  # a line, no branch
        good = [  # each hop after the previous one, soon, carrying most of it
            b.ts >= a.ts
            and b.ts - a.ts <= max_dwell
            and th["min_ratio"] <= b.amount / a.amount <= th["max_ratio"]
            for a, b in itertools.pairwise(path)
        ]
        longest = max((len(list(g)) for k, g in itertools.groupby(good) if k), default=0) + 1
        conditions[cid] = {
            "hops": len(path) >= th["min_hops"],
            "order": all(b.ts >= a.ts for a, b in itertools.pairwise(path)),
            "dwell": all(b.ts - a.ts <= max_dwell for a, b in itertools.pairwise(path)),
            "similar": all(
                th["min_ratio"] <= b.amount / a.amount <= th["max_ratio"]
                for a, b in itertools.pairwise(path)
            ),
            "window": span(path) <= window_of("layering_chain"),
        }
        # a near miss is broken at one hop into two pieces shorter than min_hops
        assert (longest < th["min_hops"]) == case.near_miss, (cid, case.note)
    # the near misses take turns: a hop out of time order, an account holding the money too
    # long, a hop carrying much less (from the third near miss on: larger drops)
    judge(cases, conditions, {"order", "dwell"})


def test_layering_chains_come_on_top_of_an_unchanged_background(
    drop: Path, truth: pl.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the ON_TOP families the credit transfers are the same but for the chains' rows:
    adding the family left the background, and every other family's score, as it was."""
    monkeypatch.setattr(cases_graph, "ON_TOP", ())
    generate(tmp_path / "without", transfers=N, seed=SEED, start=START, days=DAYS)
    cols = ["settlement_time", "debtor_iban", "creditor_iban", "amount", "remittance_info"]
    without = read(tmp_path / "without", BT).select(cols).sort(cols)
    chains = truth.filter(pl.col("family") == "layering_chain")["tx_ids"].explode()
    bt = read(drop, BT)
    assert bt.height == without.height + chains.n_unique() > without.height
    assert (
        bt.filter(~pl.col("uetr").is_in(chains.implode())).select(cols).sort(cols).equals(without)
    )


def test_graph_cases_stay_out_of_the_windowed_families(drop: Path, truth: pl.DataFrame) -> None:
    """No graph-case account has five counterparties on a side (fan-in / fan-out) or pays
    anything on within 24 hours of an inflow (pass-through); none pays a corridor country."""
    accounts = truth.filter(pl.col("family").is_in(GRAPH_FAMILIES))["entity"].unique().to_list()
    bt = read(drop, BT).select("settlement_time", "debtor_iban", "creditor_iban", "amount",
                               "creditor_country")  # fmt: skip
    mine = bt.filter(
        pl.col("debtor_iban").is_in(accounts) | pl.col("creditor_iban").is_in(accounts)
    )
    assert (
        mine.height
        == truth.filter(pl.col("family").is_in(GRAPH_FAMILIES))["tx_ids"].explode().n_unique()
    )  # the accounts see nothing but their case's payments
    for side, other in (("debtor_iban", "creditor_iban"), ("creditor_iban", "debtor_iban")):
        assert mine.group_by(side).agg(pl.col(other).n_unique())[other].max() <= 4  # type: ignore[operator]
    inflow = mine.select(
        pl.col("creditor_iban").alias("acc"), pl.col("settlement_time").alias("t_in")
    )
    outflow = mine.select(
        pl.col("debtor_iban").alias("acc"), pl.col("settlement_time").alias("t_out")
    )
    quick = inflow.join(outflow, on="acc").filter(
        pl.col("t_out") >= pl.col("t_in"), pl.col("t_out") <= pl.col("t_in") + timedelta(hours=24)
    )
    assert quick.is_empty(), quick
    assert not mine["creditor_country"].is_in(DEFAULT_THRESHOLDS["corridor"]["countries"]).any()


def test_nobody_pays_their_own_account(drop: Path) -> None:
    """A payment from an account to itself would be a one-hop cycle in every graph rule."""
    bt, st = read(drop, BT), read(drop, ST)
    assert bt.filter(pl.col("debtor_iban") == pl.col("creditor_iban")).is_empty()
    assert st.filter(pl.col("account_iban") == pl.col("counterparty_iban")).is_empty()
