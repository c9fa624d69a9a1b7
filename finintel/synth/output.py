"""Skeletons → the provider layouts of docs/formats.md, written slice by slice.

Rows are written in time order, ``SLICE_ROWS`` at a time (one Parquet row group each), so only
one slice of text columns is ever in memory.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow.parquet as pq

from finintel.synth import ids
from finintel.synth import reference as ref
from finintel.synth import skeleton as sk
from finintel.synth.background import P2P_TEXTS
from finintel.synth.devices import device_columns
from finintel.synth.world import World

IntArray = npt.NDArray[np.int64]

SLICE_ROWS = 200_000
UTC_US = pl.Datetime("us", "UTC")
TS_FORMAT = "%Y-%m-%d %H:%M:%S"

#: The provider layouts (docs/formats.md): column → type.
STATEMENT_COLUMNS: dict[str, pl.DataType] = {
    "booking_id": pl.String(), "account_iban": pl.String(), "account_holder_id": pl.String(),
    "booking_time": pl.String(), "value_date": pl.String(), "amount": pl.Float64(),
    "cdt_dbt": pl.String(), "currency": pl.String(), "counterparty_iban": pl.String(),
    "counterparty_name": pl.String(), "balance": pl.Float64(), "remittance_info": pl.String(),
}  # fmt: skip
TRANSFER_COLUMNS: dict[str, pl.DataType] = {
    "uetr": pl.String(), "end_to_end_id": pl.String(), "settlement_time": UTC_US,
    "debtor_id": pl.String(), "debtor_name": pl.String(), "debtor_iban": pl.String(),
    "debtor_bic": pl.String(), "debtor_country": pl.String(), "ultimate_debtor_name": pl.String(),
    "creditor_id": pl.String(), "creditor_name": pl.String(), "creditor_iban": pl.String(),
    "creditor_bic": pl.String(), "creditor_country": pl.String(),
    "ultimate_creditor_name": pl.String(), "amount": pl.Float64(), "currency": pl.String(),
    "purpose_code": pl.String(), "remittance_info": pl.String(),
}  # fmt: skip
MTO_COLUMNS: dict[str, pl.DataType] = {
    "mtcn": pl.String(), "status": pl.String(), "send_time": pl.String(),
    "payout_time": pl.String(), "sender_customer_id": pl.String(), "sender_name": pl.String(),
    "sender_birth_date": pl.String(), "sender_phone": pl.String(), "sender_id_type": pl.String(),
    "sender_id_number": pl.String(), "sender_id_country": pl.String(),
    "sender_address": pl.String(), "sender_country": pl.String(),
    "receiver_customer_id": pl.String(), "receiver_name": pl.String(),
    "receiver_phone": pl.String(), "receiver_id_type": pl.String(),
    "receiver_id_number": pl.String(), "receiver_id_country": pl.String(),
    "receiver_country": pl.String(), "send_agent_id": pl.String(), "send_agent_city": pl.String(),
    "send_country": pl.String(), "payout_agent_id": pl.String(), "payout_agent_city": pl.String(),
    "payout_country": pl.String(), "principal": pl.Float64(), "fee": pl.Float64(),
    "send_currency": pl.String(), "fx_rate": pl.Float64(), "payout_amount": pl.Float64(),
    "payout_currency": pl.String(), "channel": pl.String(), "sender_device_id": pl.String(),
    "sender_ip": pl.String(),
}  # fmt: skip
PARTY_COLUMNS: dict[str, pl.DataType] = {
    "party_id": pl.String(), "name": pl.String(), "birth_date": pl.Date(),
    "id_type": pl.String(), "id_number": pl.String(), "id_country": pl.String(),
    "phone": pl.String(), "email": pl.String(), "address": pl.String(), "country": pl.String(),
}  # fmt: skip

FAMILY_TEXTS = ("Familienunterstützung", "family support", "für Mama", "Aile yardımı",
                "pomoć porodici", "dla rodziny", "per la famiglia")  # fmt: skip


@dataclass(frozen=True)
class IdMaker:
    """Transaction ids of one drop: bijections of the rows' sequence numbers, salted by seed."""

    salt: int
    device_salt: int = 0  # of the device columns (their own random stream)

    def mtcn(self, seq: IntArray) -> pl.Series:
        """10-digit money transfer control numbers."""
        return ids.format_ids("", ids.permuted(seq, 10**10, self.salt * 3 + 7, self.salt), 10)

    def booking(self, seq: IntArray) -> pl.Series:
        """Booking references of the statement banks."""
        return ids.format_ids(
            "BK", ids.permuted(seq, 10**12, self.salt * 5 + 3, self.salt * 11), 12
        )

    def uetr(self, seq: IntArray) -> pl.Series:
        """UUIDs of credit transfers."""
        return ids.uuids(seq, self.salt * 0x9E3779B1 + 1)

    def by_file(self) -> dict[str, Callable[[IntArray], pl.Series]]:
        """The id function of each provider file (for the truth table)."""
        return {
            "drop/bank_statements.parquet": self.booking,
            "drop/bank_transfers.parquet": self.uetr,
            "drop/mto.parquet": self.mtcn,
        }


def _hash(values: pl.Expr, salt: int) -> pl.Expr:
    """A deterministic pseudo-random unsigned integer per value (presentation choices)."""
    return (values.cast(pl.UInt64) * 0x9E3779B97F4A7C15 + salt).hash(seed=salt)


def _lookup(values: pl.Expr, mapping: dict[str, str]) -> pl.Expr:
    return values.replace_strict(list(mapping), list(mapping.values()), default=None)


def _code(values: pl.Expr, labels: tuple[str, ...]) -> pl.Expr:
    """Skeleton codes → their labels (null stays null)."""
    return values.cast(pl.Int64).replace_strict(
        list(range(len(labels))), list(labels), default=None, return_dtype=pl.String
    )


def _trunk(country: pl.Expr) -> pl.Expr:
    return _lookup(country, {c.code: c.trunk for c in ref.COUNTRIES.values()})


def phone(cc: pl.Expr, nsn: pl.Expr, trunk: pl.Expr, style: pl.Expr) -> pl.Expr:
    """A phone number written in one of the ways people write them (see ``MTO_SCHEMA``)."""
    return (
        pl.when(style == 0)
        .then(
            pl.concat_str(
                pl.lit("+"), cc, pl.lit(" "), nsn.str.slice(0, 3), pl.lit(" "), nsn.str.slice(3)
            )
        )
        .when(style == 1)
        .then(pl.concat_str(pl.lit("00"), cc, nsn))
        .when(style == 2)
        .then(pl.concat_str(trunk, nsn.str.slice(0, 3), pl.lit(" "), nsn.str.slice(3)))
        .when(style == 3)
        .then(pl.concat_str(pl.lit("+"), cc, nsn))
        .otherwise(None)
    )


def name(v0: pl.Expr, v1: pl.Expr, v2: pl.Expr, style: pl.Expr) -> pl.Expr:
    """A name in one of its spellings (style % 3), in capitals for styles 3-5."""
    spelled = pl.when(style % 3 == 0).then(v0).when(style % 3 == 1).then(v1).otherwise(v2)
    return pl.when(style >= 3).then(spelled.str.to_uppercase()).otherwise(spelled)


def _ts(col: str) -> pl.Expr:
    return pl.from_epoch(pl.col(col), "s")


def _month(col: str) -> pl.Expr:
    return _ts(col).dt.strftime("%m/%Y")


def _party_cols(
    world: World, idx: pl.Series, prefix: str, cols: tuple[str, ...]
) -> list[pl.Series]:
    frame = world.parties.frame()
    return [frame[c].gather(idx).alias(prefix + c) for c in cols]


def mto_rows(world: World, s: pl.DataFrame, make: IdMaker) -> pl.DataFrame:
    """MTO orders in the ``mto`` layout."""
    cust = world.customers.frame()["party"]
    ag = world.agents
    sp = cust.gather(s["sender"])
    rp = cust.gather(s["receiver"])
    person = ("name", "name_v1", "name_v2", "birth_date", "phone_cc", "phone_nsn", "id_type",
              "id_number", "id_country", "address", "country")  # fmt: skip
    payout = s["payout_agent"]
    base = s.with_columns(
        *_party_cols(world, sp, "s_", person),
        *_party_cols(world, rp, "r_", person),
        ag["agent_id"].gather(s["send_agent"]).alias("sa_id"),
        ag["city"].gather(s["send_agent"]).alias("sa_city"),
        ag["country"].gather(s["send_agent"]).alias("sa_country"),
        ag["agent_id"].gather(payout).alias("pa_id"),
        ag["city"].gather(payout).alias("pa_city"),
        ag["country"].gather(payout).alias("pa_country"),
        s_cid=world.customers.frame()["customer_id"].gather(s["sender"]),
        r_cid=world.customers.frame()["customer_id"].gather(s["receiver"]),
        mtcn=make.mtcn(s["seq"].to_numpy()),
    )
    paid = pl.col("status") == sk.PAID
    return base.select(
        "mtcn",
        _code(pl.col("status"), sk.STATUSES).alias("status"),
        _ts("t_send").dt.strftime(TS_FORMAT).alias("send_time"),
        _ts("t_payout").dt.strftime(TS_FORMAT).alias("payout_time"),
        pl.col("s_cid").alias("sender_customer_id"),
        name(pl.col("s_name"), pl.col("s_name_v1"), pl.col("s_name_v2"), pl.col("s_style")).alias("sender_name"),
        pl.when(pl.col("s_flags") % 2 == 0).then(pl.col("s_birth_date").dt.strftime("%Y-%m-%d")).alias("sender_birth_date"),
        phone(pl.col("s_phone_cc"), pl.col("s_phone_nsn"), _trunk(pl.col("s_country")), pl.col("s_phone")).alias("sender_phone"),
        pl.col("s_id_type").alias("sender_id_type"),
        pl.col("s_id_number").alias("sender_id_number"),
        pl.col("s_id_country").alias("sender_id_country"),
        pl.when((pl.col("s_flags") // 2) % 2 == 0).then(pl.col("s_address")).alias("sender_address"),
        pl.col("s_country").alias("sender_country"),
        pl.col("r_cid").alias("receiver_customer_id"),
        name(pl.col("r_name"), pl.col("r_name_v1"), pl.col("r_name_v2"), pl.col("r_style")).alias("receiver_name"),
        phone(pl.col("r_phone_cc"), pl.col("r_phone_nsn"), _trunk(pl.col("r_country")), pl.col("r_phone")).alias("receiver_phone"),
        pl.when(paid).then(pl.col("r_id_type")).alias("receiver_id_type"),
        pl.when(paid).then(pl.col("r_id_number")).alias("receiver_id_number"),
        pl.when(paid).then(pl.col("r_id_country")).alias("receiver_id_country"),
        pl.col("r_country").alias("receiver_country"),
        pl.col("sa_id").alias("send_agent_id"),
        pl.col("sa_city").alias("send_agent_city"),
        pl.col("sa_country").alias("send_country"),
        pl.col("pa_id").alias("payout_agent_id"),
        pl.col("pa_city").alias("payout_agent_city"),
        pl.coalesce("pa_country", "r_country").alias("payout_country"),
        "principal",
        "fee",
        _code(pl.col("send_ccy"), sk.CURRENCIES).alias("send_currency"),
        "fx_rate",
        "payout_amount",
        _code(pl.col("payout_ccy"), sk.CURRENCIES).alias("payout_currency"),
        _code(pl.col("channel"), sk.CHANNELS).alias("channel"),
        *device_columns(make.device_salt),
    )  # fmt: skip


def _texts(lang: pl.Expr, which: int) -> pl.Expr:
    return _lookup(lang, {k: v[which] for k, v in ref.TEXTS.items()}).fill_null(
        ref.TEXTS["en"][which]
    )


def _lang(country: pl.Expr) -> pl.Expr:
    return _lookup(country, {c.code: c.lang for c in ref.COUNTRIES.values()})


def statement_rows(world: World, s: pl.DataFrame, make: IdMaker, salt: int) -> pl.DataFrame:
    """Bookings in the ``bank-statement`` layout (``s`` carries the balance)."""
    acc = world.accounts.frame()
    parties = world.parties.frame()
    br = world.branches
    holder = acc["holder"].gather(s["account"])
    cp_party = s["cp_party"]
    base = s.with_columns(
        iban=acc["iban"].gather(s["account"]),
        bank=acc["bank"].gather(s["account"]),
        holder_id=parties["party_id"].gather(holder),
        country=acc["country"].gather(s["account"]),
        cp_iban=acc["iban"].gather(s["cp_account"]),
        cp_name=parties["name"].gather(cp_party),
        cp_city=parties["city"].gather(cp_party),
        br_code=br["branch_code"].gather(s["ref"]),
        br_city=br["city"].gather(s["ref"]),
        booking_id=make.booking(s["seq"].to_numpy()),
    )
    local = _ts("t").dt.replace_time_zone("UTC").dt.convert_time_zone("Europe/Berlin")
    lang = _lang(pl.col("country"))
    k = pl.col("kind")
    h = _hash(pl.col("seq"), salt)
    remit = (
        pl.when(k == sk.K_SALARY).then(pl.concat_str(_texts(lang, 0), pl.lit(" "), _month("t")))
        .when(k == sk.K_RENT).then(pl.concat_str(_texts(lang, 1), pl.lit(" "), _month("t")))
        .when(k == sk.K_CARD).then(pl.concat_str(_texts(lang, 2), pl.lit(" "), pl.col("cp_name").str.to_uppercase(),
                                                 pl.lit(" "), pl.col("cp_city").str.to_uppercase()))
        .when(k == sk.K_UTILITY).then(pl.concat_str(_texts(lang, 3), pl.lit(" "), _month("t")))
        .when(k == sk.K_ATM).then(pl.concat_str(pl.lit("CASH WITHDRAWAL "), "br_code", pl.lit(" "), "br_city"))
        .when(k == sk.K_CASH_DEPOSIT).then(pl.concat_str(pl.lit("CASH DEPOSIT "), "br_code", pl.lit(" "), "br_city"))
        .when(k == sk.K_FAMILY).then(_code(h % len(FAMILY_TEXTS), FAMILY_TEXTS))
        .otherwise(pl.col("text"))
    )  # fmt: skip
    shown = (  # some banks book counterparty names in capitals
        pl.when(_hash(pl.col("bank"), salt) % 10 < 3)
        .then(pl.col("cp_name").str.to_uppercase())
        .otherwise(pl.col("cp_name"))
    )
    return base.select(
        "booking_id",
        pl.col("iban").alias("account_iban"),
        pl.col("holder_id").alias("account_holder_id"),
        local.dt.strftime(TS_FORMAT).alias("booking_time"),
        local.dt.strftime("%Y-%m-%d").alias("value_date"),
        "amount",
        pl.when(pl.col("credit")).then(pl.lit("CRDT")).otherwise(pl.lit("DBIT")).alias("cdt_dbt"),
        _code(pl.col("ccy"), sk.CURRENCIES).alias("currency"),
        pl.col("cp_iban").alias("counterparty_iban"),
        shown.alias("counterparty_name"),
        "balance",
        remit.alias("remittance_info"),
    )


def transfer_rows(world: World, s: pl.DataFrame, make: IdMaker, salt: int) -> pl.DataFrame:
    """Credit transfers in the ``bank-transfer`` layout."""
    acc = world.accounts.frame()
    parties = world.parties.frame()
    side = {}
    for who in ("debtor", "creditor"):
        holder = acc["holder"].gather(s[who])
        side.update(
            {
                f"{who}_id": parties["party_id"].gather(holder),
                f"{who}_n0": parties["name"].gather(holder),
                f"{who}_n1": parties["name_v1"].gather(holder),
                f"{who}_iban": acc["iban"].gather(s[who]),
                f"{who}_bic": acc["bic"].gather(s[who]),
                f"{who}_country": parties["country"].gather(holder),
            }
        )
    base = s.with_columns(
        uetr=make.uetr(s["seq"].to_numpy()), bank=acc["bank"].gather(s["debtor"]), **side
    )
    h = _hash(pl.col("seq"), salt)
    k = pl.col("kind")
    year = _ts("t").dt.strftime("%Y")
    lang = _lang(pl.col("debtor_country"))
    remit = (
        pl.when(k == sk.K_SALARY).then(pl.concat_str(_texts(lang, 0), pl.lit(" "), _month("t")))
        .when(k == sk.K_RENT).then(pl.concat_str(_texts(lang, 1), pl.lit(" "), _month("t")))
        .when(k == sk.K_INVOICE).then(pl.concat_str(pl.lit("INV "), year, pl.lit("-"), pl.col("ref").cast(pl.String).str.zfill(5)))
        .when(k == sk.K_P2P).then(_code(pl.col("ref") % len(P2P_TEXTS), P2P_TEXTS))
        .otherwise(pl.col("text"))
    )  # fmt: skip
    e2e = (
        pl.when(k == sk.K_SALARY).then(pl.concat_str(pl.lit("SAL"), _ts("t").dt.strftime("%Y%m"), pl.lit("-"),
                                                     (h % 1_000_000).cast(pl.String).str.zfill(6)))
        .when(k == sk.K_INVOICE).then(pl.concat_str(pl.lit("INV"), year, pl.col("ref").cast(pl.String).str.zfill(5)))
        .when(h % 5 < 3).then(pl.lit("NOTPROVIDED"))
        .otherwise(pl.concat_str(pl.lit("E2E"), (h % 10**10).cast(pl.String).str.zfill(10)))
    )  # fmt: skip

    def shown(who: str) -> pl.Expr:  # SWIFT-style capitals in some debtor banks' messages
        return (
            pl.when(_hash(pl.col("bank"), salt) % 7 < 3)
            .then(pl.col(f"{who}_n1").str.to_uppercase())
            .otherwise(pl.col(f"{who}_n0"))
        )

    return base.select(
        "uetr",
        e2e.alias("end_to_end_id"),
        pl.from_epoch(pl.col("t") * 1_000_000, "us")
        .dt.replace_time_zone("UTC")
        .alias("settlement_time"),
        "debtor_id",
        shown("debtor").alias("debtor_name"),
        "debtor_iban",
        "debtor_bic",
        "debtor_country",
        pl.lit(None, pl.String).alias("ultimate_debtor_name"),
        "creditor_id",
        shown("creditor").alias("creditor_name"),
        "creditor_iban",
        "creditor_bic",
        "creditor_country",
        pl.lit(None, pl.String).alias("ultimate_creditor_name"),
        "amount",
        _code(pl.col("ccy"), sk.CURRENCIES).alias("currency"),
        _code(pl.col("purpose"), sk.PURPOSES).alias("purpose_code"),
        remit.alias("remittance_info"),
    )


def with_balance(st: pl.DataFrame, salt: int) -> pl.DataFrame:
    """Add the balance after each booking (an opening balance keeps it non-negative); returns
    the bookings in time order."""
    signed = pl.when(pl.col("credit")).then(pl.col("amount")).otherwise(-pl.col("amount"))
    st = st.sort("account", "t", "seq").with_columns(cum=signed.cum_sum().over("account"))
    opening = (
        st.group_by("account")
        .agg(low=pl.col("cum").min())
        .with_columns(
            opening=pl.max_horizontal(
                (_hash(pl.col("account"), salt) % 480_000).cast(pl.Float64) / 100 + 200.0,
                -pl.col("low") + 50.0,
            ).round(2)
        )
    )
    return (
        st.join(
            opening.select("account", "opening"), on="account", how="left", maintain_order="left"
        )
        .with_columns(balance=(pl.col("opening") + pl.col("cum")).round(2))
        .drop("cum", "opening")
        .sort("t", "seq")
    )


def write_slices(
    path: Path,
    skeleton: pl.DataFrame,
    render: Callable[[pl.DataFrame], pl.DataFrame],
    columns: dict[str, pl.DataType],
) -> int:
    """Render ``skeleton`` (in file order) and write it slice by slice; returns rows."""
    schema = pl.DataFrame(schema=columns).to_arrow().schema
    path.parent.mkdir(parents=True, exist_ok=True)
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        for lo in range(0, max(skeleton.height, 1), SLICE_ROWS):
            part = render(skeleton.slice(lo, SLICE_ROWS))
            if list(part.columns) != list(columns):
                raise AssertionError(f"{path.name}: columns {part.columns} != {list(columns)}")
            table = part.to_arrow().cast(schema)
            writer.write_table(table, row_group_size=SLICE_ROWS)
    return skeleton.height


def write_parties(path: Path, world: World) -> int:
    """The banks' customer records (parties with a bank customer id)."""
    p = world.parties.frame().filter(pl.col("party_id").is_not_null())
    out = p.select(
        "party_id",
        "name",
        "birth_date",
        "id_type",
        "id_number",
        "id_country",
        pl.concat_str(pl.lit("+"), "phone_cc", "phone_nsn").alias("phone"),
        "email",
        "address",
        "country",
    ).sort("party_id")
    pq.write_table(out.to_arrow().cast(pl.DataFrame(schema=PARTY_COLUMNS).to_arrow().schema), path,
                   compression="zstd")  # fmt: skip
    return out.height


def write_table(path: Path, frame: pl.DataFrame) -> None:
    """A small table as Parquet (same writer as the drop files)."""
    pq.write_table(frame.to_arrow(), path, compression="zstd")
