"""Movements before they become provider rows: compact numeric frames ("skeletons").

Background behaviour and injected cases both emit skeleton rows that refer to entities by
index; ``output`` turns them into the provider layouts of docs/formats.md slice by slice, which
keeps memory bounded for large drops.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from finintel.synth.reference import PAYOUT_CURRENCY
from finintel.synth.world import World

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

#: Currencies of the drop (index = code in skeletons).
CURRENCIES: tuple[str, ...] = (
    "EUR", "GBP", "SEK", "CHF", "USD", "TRY", "PLN", "NOK", "AED", "SAR", "QAR", "JOD", "ERN",
)  # fmt: skip
CCY: dict[str, int] = {c: i for i, c in enumerate(CURRENCIES)}
PAYOUT_CCY_INDEX: dict[str, int] = {cc: CCY[c] for cc, c in PAYOUT_CURRENCY.items()}

STATUSES: tuple[str, ...] = ("PAID", "CANCELLED", "REFUNDED", "PENDING")
PAID, CANCELLED, REFUNDED, PENDING = range(4)
CHANNELS: tuple[str, ...] = ("agent", "online", "app")
PURPOSES: tuple[str, ...] = ("SALA", "RENT", "GDDS", "SUPP", "SCVE", "CASH")

# statement / transfer kinds (how remittance text is written)
(K_TEXT, K_SALARY, K_RENT, K_CARD, K_UTILITY, K_ATM, K_CASH_DEPOSIT, K_FAMILY, K_INVOICE,
 K_P2P) = range(10)  # fmt: skip

MTO_SCHEMA: dict[str, pl.DataType] = {
    "seq": pl.Int64(),
    "t_send": pl.Int64(),
    "t_payout": pl.Int64(),
    "sender": pl.Int32(),
    "receiver": pl.Int32(),
    "send_agent": pl.Int32(),
    "payout_agent": pl.Int32(),
    "principal": pl.Float64(),
    "fee": pl.Float64(),
    "send_ccy": pl.Int8(),
    "payout_ccy": pl.Int8(),
    "fx_rate": pl.Float64(),
    "payout_amount": pl.Float64(),
    "status": pl.Int8(),
    "channel": pl.Int8(),
    "s_style": pl.Int8(),  # name: 0-2 spelling v0-v2, 3-5 the same in capitals
    "r_style": pl.Int8(),
    "s_phone": pl.Int8(),  # phone: 0 "+CC NNN..", 1 "00CC..", 2 local, 3 "+CC..", 4 missing
    "r_phone": pl.Int8(),
    "s_flags": pl.Int8(),  # bit 0: no birth date, bit 1: no address
    # a facilitator's device and IP pre-staged the order (smuggling networks; null: the
    # sender's own, recorded for online and app orders only; see finintel.synth.devices)
    "s_device": pl.Int32(),
}
STATEMENT_SCHEMA: dict[str, pl.DataType] = {
    "seq": pl.Int64(),
    "t": pl.Int64(),
    "account": pl.Int32(),
    "credit": pl.Boolean(),
    "cp_account": pl.Int32(),
    "cp_party": pl.Int32(),  # whose name the booking shows (depositor for cash deposits)
    "amount": pl.Float64(),
    "ccy": pl.Int8(),
    "kind": pl.Int8(),
    "ref": pl.Int32(),  # branch for cash bookings
    "text": pl.String(),  # remittance text of K_TEXT rows
}
TRANSFER_SCHEMA: dict[str, pl.DataType] = {
    "seq": pl.Int64(),
    "t": pl.Int64(),
    "debtor": pl.Int32(),
    "creditor": pl.Int32(),
    "amount": pl.Float64(),
    "ccy": pl.Int8(),
    "purpose": pl.Int8(),  # index into PURPOSES, null: none
    "kind": pl.Int8(),
    "ref": pl.Int32(),  # invoice / message number
    "text": pl.String(),
}


def frame(schema: dict[str, pl.DataType], columns: dict[str, object]) -> pl.DataFrame:
    """A skeleton frame from numpy columns; absent columns are null."""
    n = max(len(v) for v in columns.values() if isinstance(v, (np.ndarray, list)))
    data = {
        c: (_series(c, columns[c], t) if c in columns else pl.Series(c, [None] * n, t))
        for c, t in schema.items()
    }
    return pl.DataFrame(data)


def _series(name: str, values: Any, dtype: pl.DataType) -> pl.Series:
    if isinstance(values, np.ndarray) and values.dtype == object:  # text with missing values
        return pl.Series(name, values.tolist(), dtype=dtype)
    return pl.Series(name, values).cast(dtype)


def empty(schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """An empty skeleton."""
    return pl.DataFrame(schema=schema)


def round_amounts(rng: np.random.Generator, amount: FloatArray, p_round: float) -> FloatArray:
    """Cents, or for a share ``p_round`` the round figures people choose (10, 50, 100)."""
    r = rng.random(amount.shape[0])
    step = np.where(amount >= 500, np.where(r < p_round * 0.5, 100.0, 50.0), 10.0)
    rounded = np.maximum(step, np.round(amount / step) * step)
    return np.where(r < p_round, rounded, np.round(amount, 2))


@dataclass
class Orders:
    """Columns of MTO orders being built (numpy, one entry per order)."""

    sender: IntArray
    receiver: IntArray
    send_agent: IntArray
    payout_agent: IntArray
    t_send: IntArray
    principal: FloatArray
    send_ccy: IntArray
    status: IntArray | None = None
    delay: IntArray | None = None
    channel: IntArray | None = None
    s_style: IntArray | None = None
    r_style: IntArray | None = None
    s_phone: IntArray | None = None
    s_flags: IntArray | None = None
    s_device: IntArray | None = None  # facilitator code, -1: none


def mto_frame(world: World, rng: np.random.Generator, o: Orders, background: bool) -> pl.DataFrame:
    """Complete MTO orders: fee, FX quote, payout, statuses and how the form was filled in.

    Background orders whose payout would fall after the period stay PENDING; cases choose
    their timing so that this never happens to their evidence.
    """
    n = int(o.sender.shape[0])
    agents = world.agents
    payout_country = agents["country"].to_numpy()[o.payout_agent]
    payout_ccy = (
        pl.Series(payout_country)
        .replace_strict(PAYOUT_CCY_INDEX, default=CCY["USD"], return_dtype=pl.Int64)
        .to_numpy()
    )
    day = (o.t_send - world.start_s) // 86400
    rates = world.rates
    book = np.array([rates.index(c) for c in CURRENCIES])
    r_send = rates.rate(book[o.send_ccy], day)
    r_pay = rates.rate(book[payout_ccy], day)
    same = payout_ccy == o.send_ccy
    margin = np.where(same, 0.0, rng.uniform(0.008, 0.03, n))
    fx = np.where(same, 1.0, np.round(r_pay / r_send * (1 - margin), 6))
    channel = o.channel if o.channel is not None else np.zeros(n, dtype=np.int64)
    eur = o.principal / r_send
    fee_eur = np.where(channel == 0, 3.9 + 0.012 * eur, 2.9 + 0.008 * eur)
    fee = np.round(fee_eur * r_send, 2)
    if o.delay is None:
        delay = np.exp(rng.normal(np.log(7200.0), 1.0, n)).astype(np.int64)
        held = rng.random(n) < 0.05
        delay = np.where(held, rng.integers(86400, 8 * 86400, n), np.clip(delay, 300, 5 * 86400))
    else:
        delay = o.delay
    if o.status is None:
        u = rng.random(n)
        status = np.where(u < 0.015, CANCELLED, np.where(u < 0.021, REFUNDED, PAID))
        status = np.where((u >= 0.021) & (u < 0.027), PENDING, status)
    else:
        status = o.status
    t_payout = o.t_send + delay
    if background:
        status = np.where((status == PAID) & (t_payout >= world.end_s), PENDING, status)
    paid = status == PAID
    s_style = o.s_style if o.s_style is not None else name_styles(rng, n)
    r_style = o.r_style if o.r_style is not None else name_styles(rng, n)
    s_phone = o.s_phone if o.s_phone is not None else phone_styles(rng, n)
    flags = (rng.random(n) < 0.05).astype(np.int64) | ((rng.random(n) < 0.08) * 2)
    if o.s_flags is not None:
        flags = np.where(o.s_flags >= 0, o.s_flags, flags)
    return frame(
        MTO_SCHEMA,
        {
            "t_send": o.t_send,
            "t_payout": np.where(paid, t_payout, -1),
            "sender": o.sender,
            "receiver": o.receiver,
            "send_agent": o.send_agent,
            "payout_agent": np.where(paid, o.payout_agent, -1),
            "principal": o.principal,
            "fee": fee,
            "send_ccy": o.send_ccy,
            "payout_ccy": payout_ccy,
            "fx_rate": fx,
            "payout_amount": np.round(o.principal * fx, 2),
            "status": status,
            "channel": channel,
            "s_style": s_style,
            "r_style": r_style,
            "s_phone": s_phone,
            "r_phone": phone_styles(rng, n),
            "s_flags": flags,
            "s_device": o.s_device if o.s_device is not None else np.full(n, -1),
        },
    ).with_columns(
        pl.when(pl.col(c) >= 0).then(pl.col(c)).otherwise(None).alias(c)
        for c in ("t_payout", "payout_agent", "s_device")
    )


def name_styles(rng: np.random.Generator, n: int) -> IntArray:
    """How the clerk wrote a name: mostly the usual spelling, sometimes another, or capitals."""
    return rng.choice(6, size=n, p=[0.6, 0.12, 0.08, 0.12, 0.05, 0.03]).astype(np.int64)


def phone_styles(rng: np.random.Generator, n: int) -> IntArray:
    """How a phone number was written (see ``MTO_SCHEMA``)."""
    return rng.choice(5, size=n, p=[0.3, 0.1, 0.3, 0.2, 0.1]).astype(np.int64)


def business_time(
    rng: np.random.Generator, day_s: IntArray, utc_offset: IntArray, lo: float, hi: float
) -> IntArray:
    """A moment between local hours ``lo`` and ``hi`` on the given UTC day starts."""
    local = rng.uniform(lo, hi, day_s.shape[0])
    return day_s + ((local - utc_offset) * 3600).astype(np.int64)
