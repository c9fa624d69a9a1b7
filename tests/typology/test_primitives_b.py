"""Primitives set B: pass_through, payout_delay, agent_concentration, shared_identifier.

Hand-computed cases first (ties, date-only data, currencies, month ends, both sides of every
threshold, a hub), then hypothesis properties against the plain-Python references of
``reference_b.py``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from finintel.errors import ConfigError
from finintel.schema import PARTIES, TRANSFERS
from finintel.typology.engine import detect
from finintel.typology.expr import ExprError
from finintel.typology.primitives.agent_concentration import AgentConcentration
from finintel.typology.primitives.base import REGISTRY, Plan, RunContext
from finintel.typology.primitives.pass_through import PassThrough
from finintel.typology.primitives.payout_delay import PayoutDelay
from finintel.typology.primitives.shared_identifier import SharedIdentifier
from finintel.typology.primitives.windows import as_duration
from tests.typology import reference_b as ref

PT = PassThrough()
PD = PayoutDelay()
AC = AgentConcentration()
SI = SharedIdentifier()

T0 = datetime(2025, 1, 31, 8, tzinfo=UTC)
H = timedelta(hours=1)
D = timedelta(days=1)
US = timedelta(microseconds=1)


def tx(
    tx_id: str, ts: datetime, src: str | None, dst: str | None, amount: float, **kw: Any
) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(TRANSFERS)
    row.update(
        tx_id=tx_id, ts=ts, src_account=src, dst_account=dst, amount=amount, amount_base=amount,
        currency="EUR", channel="mto", source="s", status="completed",
    )  # fmt: skip
    row.update(kw)
    return row


def lf(rows: list[dict[str, Any]]) -> pl.LazyFrame:
    return (
        pl.DataFrame(rows, schema=TRANSFERS, orient="row").lazy()
        if rows
        else pl.LazyFrame(schema=TRANSFERS)
    )


def run(
    prim: Any, rows: list[dict[str, Any]], params: Mapping[str, Any] | None = None, **ctx: Any
) -> tuple[pl.DataFrame, pl.DataFrame]:
    plan: Plan = prim.plan(lf(rows), params or {}, RunContext(**ctx))
    windows, evidence = pl.collect_all([plan.windows, plan.evidence])
    assert list(windows.columns[:3]) == ["focus", "start", "end"]
    assert dict(windows.schema) == {
        "focus": pl.String(),
        "start": pl.Datetime("us", "UTC"),
        "end": pl.Datetime("us", "UTC"),
        **prim.metrics(params or {}),
    }
    assert evidence.columns == ["focus", "ts", "tx_id", "source", "account", "role", "amount_base"]
    return windows, evidence


def hits(prim: Any, windows: pl.DataFrame, params: Mapping[str, Any] | None = None) -> pl.DataFrame:
    return windows.filter(prim.condition(params or {}).fill_null(False))


def ev(evidence: pl.DataFrame) -> list[tuple[Any, ...]]:
    return sorted(evidence.select("focus", "tx_id", "account", "role").rows(), key=repr)


def r6(x: Any) -> Any:
    return round(x, 6) if isinstance(x, float) else x


def rows6(df: pl.DataFrame) -> list[tuple[Any, ...]]:
    return sorted((tuple(r6(v) for v in row) for row in df.rows()), key=repr)


# pass_through -------------------------------------------------------------------------------


def test_pass_through_basic_metrics_evidence_and_explanation() -> None:
    rows = [
        tx("i1", T0, "X", "M", 1000.0),
        tx("o1", T0 + 2 * H, "M", "Y", 500.0),
        tx("o2", T0 + 5 * H, "M", "Z", 450.0),  # completes 90%: delay 5h
        tx("o3", T0 + 9 * H, "M", "W", 40.0),  # after the completing outflow: not evidence
    ]
    w, e = run(PT, rows)
    one = w.row(0, named=True)
    assert w.rows(named=True) == [
        {
            "focus": "M", "start": T0, "end": T0 + 5 * H, "in_amount": 1000.0,
            "out_amount": 950.0, "ratio": 0.95, "delay": 5 * 3600.0, "count": 1,
            "inflows": 1, "pass_share": 1.0,
        }
    ]  # fmt: skip
    assert ev(e) == [
        ("M", "i1", "X", "source"),
        ("M", "o1", "Y", "destination"),
        ("M", "o2", "Z", "destination"),
    ]
    assert PT.explain(one, {}, timedelta(hours=5), 1950.0, "EUR") == (
        "95% of 1,000 EUR passed on within 5h (≥ 90% within 1d), 1 time (≥ 1) in 30d"
    )
    # A 10 EUR inflow an hour earlier passes through too (o1 carries it on, capped at 10): the
    # window ending at i1 holds both inflows.
    w, e = run(PT, [*rows, tx("i0", T0 - H, "Q", "M", 10.0)])
    assert w.select("start", "end", "in_amount", "out_amount", "delay", "count").rows() == [
        (T0 - H, T0 + 2 * H, 10.0, 10.0, 3 * 3600.0, 1),
        (T0 - H, T0 + 5 * H, 1010.0, 960.0, 5 * 3600.0, 2),
    ]
    assert ("M", "i0", "Q", "source") in ev(e) and len(ev(e)) == 4
    peak = w.row(1, named=True)
    assert PT.explain(peak, {"max_delay": "6h", "min_count": 2}, timedelta(0), 0.0, "EUR") == (
        "95% of 1,010 EUR passed on within 5h (≥ 90% within 6h), 2 times (≥ 2) in 30d"
    )


def test_pass_through_max_ratio_skips_accounts_paying_out_far_more() -> None:
    # a busy account: 1,000 in, then one 5,000 payment out an hour later
    rows = [tx("i", T0, "X", "B", 1000.0), tx("o", T0 + H, "B", "Y", 5000.0)]
    w, _ = run(PT, rows)
    assert w.select("ratio").rows() == [(1.0,)]  # capped: counts without max_ratio
    w, _ = run(PT, rows, {"max_ratio": 1.1})
    assert w.height == 0
    # 1,050 out of 1,000 in (a fee paid on top) stays within max_ratio 1.1
    w, _ = run(
        PT, [tx("i", T0, "X", "M", 1000.0), tx("o", T0 + H, "M", "Y", 1050.0)], {"max_ratio": 1.1}
    )
    assert w.select("out_amount", "count").rows() == [(1050.0, 1)]


def test_pass_through_equal_timestamps_count_as_in_order() -> None:
    rows = [tx("i", T0, "X", "M", 100.0), tx("o", T0, "M", "Y", 100.0)]
    w, _ = run(PT, rows)
    assert w.select("start", "end", "delay", "ratio").rows() == [(T0, T0, 0.0, 1.0)]
    # an outflow one microsecond before the inflow is not passing it on
    w, _ = run(PT, [tx("i", T0, "X", "M", 100.0), tx("o", T0 - US, "M", "Y", 100.0)])
    assert w.height == 0


def test_pass_through_date_only_data_finds_same_day_and_next_midnight() -> None:
    day = datetime(2025, 3, 10, tzinfo=UTC)
    rows = [
        tx("a-in", day, "X", "A", 800.0), tx("a-out", day, "A", "Y", 780.0),  # same day
        tx("b-in", day, "X", "B", 800.0), tx("b-out", day + D, "B", "Y", 780.0),  # next day
    ]  # fmt: skip
    w, _ = run(PT, rows)
    assert w.select("focus", "delay").rows() == [("A", 0.0), ("B", 86400.0)]
    w, _ = run(PT, rows, {"max_delay": "23h"})
    assert w["focus"].to_list() == ["A"]


def test_pass_through_compares_base_amounts_across_currencies() -> None:
    rows = [
        tx("i", T0, "X", "M", 1100.0, currency="USD", amount_base=1000.0),
        tx("o1", T0 + H, "M", "Y", 600.0, currency="GBP", amount_base=705.0),
        tx("o2", T0 + 2 * H, "M", "Z", 20000.0, currency="TRY", amount_base=200.0),
    ]
    w, _ = run(PT, rows)
    assert w.select("in_amount", "out_amount", "ratio", "delay").rows() == [
        (1000.0, 905.0, 0.905, 7200.0)
    ]
    # in native amounts, 600 GBP + 20,000 TRY is no 90% of 1,100 USD; base amounts decide
    w, _ = run(PT, rows, {"min_ratio": 0.91})
    assert w.height == 0


def test_pass_through_across_midnight_and_month_end() -> None:
    jan31 = datetime(2025, 1, 31, 23, tzinfo=UTC)
    rows = [
        tx("i1", jan31, "X", "M", 500.0), tx("o1", jan31 + 2 * H, "M", "Y", 500.0),
        tx("i2", jan31 + 3 * H, "X", "M", 300.0), tx("o2", jan31 + 4 * H, "M", "Y", 290.0),
    ]  # fmt: skip
    w, _ = run(PT, rows, {"min_count": 2})
    last = w.sort("end").row(-1, named=True)
    assert (last["start"], last["end"], last["count"]) == (
        jan31,
        datetime(2025, 2, 1, 3, tzinfo=UTC),
        2,
    )
    assert hits(PT, w, {"min_count": 2}).height == 1


@pytest.mark.parametrize(
    ("params", "rows", "expected"),
    [
        # ratio: 900.00 of 1,000.00 is 90%, 899.99 is not
        ({}, [tx("i", T0, "X", "M", 1000.0), tx("o", T0 + H, "M", "Y", 900.0)], 1),
        ({}, [tx("i", T0, "X", "M", 1000.0), tx("o", T0 + H, "M", "Y", 899.99)], 0),
        # a float-unfriendly product: 0.9 × 4,800.00 is still 4,320.00 exactly
        ({}, [tx("i", T0, "X", "M", 4800.0), tx("o", T0 + H, "M", "Y", 4320.0)], 1),
        ({"min_ratio": 0.7}, [tx("i", T0, "X", "M", 0.3), tx("o", T0 + H, "M", "Y", 0.21)], 1),
        # max_delay: exactly 24h is inside, a microsecond more is not
        ({}, [tx("i", T0, "X", "M", 1000.0), tx("o", T0 + D, "M", "Y", 1000.0)], 1),
        ({}, [tx("i", T0, "X", "M", 1000.0), tx("o", T0 + D + US, "M", "Y", 1000.0)], 0),
        # min_amount: an inflow of exactly min_amount counts, a cent less does not
        ({"min_amount": 500}, [tx("i", T0, "X", "M", 500.0), tx("o", T0, "M", "Y", 500.0)], 1),
        ({"min_amount": 500}, [tx("i", T0, "X", "M", 499.99), tx("o", T0, "M", "Y", 499.99)], 0),
        # min_ratio 0 still needs one outflow
        ({"min_ratio": 0}, [tx("i", T0, "X", "M", 1000.0)], 0),
        ({"min_ratio": 0}, [tx("i", T0, "X", "M", 1000.0), tx("o", T0, "M", "Y", 0.01)], 1),
        # money paid back to the focus itself is not passed on
        ({}, [tx("i", T0, "X", "M", 1000.0), tx("o", T0, "M", "M", 1000.0)], 0),
    ],
)
def test_pass_through_threshold_edges(
    params: dict[str, Any], rows: list[dict[str, Any]], expected: int
) -> None:
    w, _ = run(PT, rows, params)
    assert hits(PT, w, params).height == expected


def test_pass_through_min_count_window_is_open_at_its_start() -> None:
    def pair(i: int, at: datetime) -> list[dict[str, Any]]:
        return [tx(f"i{i}", at, "X", "M", 100.0), tx(f"o{i}", at + H, "M", "Y", 100.0)]

    params = {"min_count": 2, "window": "30d"}
    w, _ = run(PT, pair(1, T0) + pair(2, T0 + 30 * D), params)
    assert hits(PT, w, params).height == 0  # (t - 30d, t] leaves out the first
    w, _ = run(PT, pair(1, T0) + pair(2, T0 + 30 * D - US), params)
    assert hits(PT, w, params).select("count", "start").rows() == [(2, T0)]


def test_pass_through_fee_tolerance_caps_larger_outflows() -> None:
    def out(amount: float, tol: float = 0.1) -> dict[str, Any]:
        w, _ = run(
            PT,
            [tx("i", T0, "X", "M", 1000.0), tx("o", T0 + H, "M", "Y", amount)],
            {"fee_tolerance": tol},
        )
        return dict(w.select("out_amount", "ratio").row(0, named=True))

    assert out(1100.0) == {"out_amount": 1100.0, "ratio": 1.1}
    assert out(1100.01) == {"out_amount": 1000.0, "ratio": 1.0}
    assert out(1000.01, tol=0.0) == {"out_amount": 1000.0, "ratio": 1.0}


def test_pass_through_outflow_may_serve_several_inflows() -> None:
    rows = [
        tx("i1", T0, "X", "M", 1000.0),
        tx("i2", T0 + H, "Z", "M", 1000.0),
        tx("o", T0 + 2 * H, "M", "Y", 1000.0),
    ]
    w, e = run(PT, rows)
    assert w.sort("end", "count")["count"].to_list() == [1, 2]
    assert ev(e) == [
        ("M", "i1", "X", "source"),
        ("M", "i2", "Z", "source"),
        ("M", "o", "Y", "destination"),
    ]


def test_pass_through_by_party_ignores_moves_between_own_accounts() -> None:
    p = {"P1": "P", "P2": "P"}

    def ptx(tx_id: str, ts: datetime, src: str, dst: str, amount: float) -> dict[str, Any]:
        return tx(tx_id, ts, src, dst, amount, src_party=p.get(src), dst_party=p.get(dst))

    rows = [
        ptx("in", T0, "X", "P1", 1000.0),
        ptx("move", T0 + H, "P1", "P2", 1000.0),  # inside the party: neither in nor out
        ptx("out", T0 + 2 * H, "P2", "Y", 950.0),
    ]
    w, e = run(PT, rows, group_by="party")
    assert w.select("focus", "delay", "ratio").rows() == [("P", 7200.0, 0.95)]
    assert ev(e) == [
        ("P", "in", "P1", "mule"), ("P", "in", "X", "source"),
        ("P", "out", "P2", "mule"), ("P", "out", "Y", "destination"),
    ]  # fmt: skip
    assert run(PT, rows)[0]["focus"].to_list() == ["P1", "P2"]  # by account both are mules


def test_pass_through_hub_with_many_transfers() -> None:
    # A hub: an inflow of 100 every hour, 95 out half an hour later, plus unrelated noise
    # outflows (1 cent) just before each inflow; 1,000 inflows, 3,000 rows.
    n = 1000
    rows = []
    for i in range(n):
        t = T0 + i * H
        rows += [
            tx(f"i{i}", t, f"S{i % 7}", "HUB", 100.0),
            tx(f"o{i}", t + 30 * timedelta(minutes=1), "HUB", f"R{i % 5}", 95.0),
            tx(f"n{i}", t - US, "HUB", "NOISE", 0.01),
        ]
    w, e = run(PT, rows, {"window": "30d"})
    w = w.sort("end")
    assert w.height == n
    assert w["delay"].unique().to_list() == [1800.0]
    assert w["count"].to_list() == [min(i + 1, 720) for i in range(n)]
    assert w["ratio"].unique().round(6).to_list() == [0.95]
    assert e.filter(pl.col("role") == "destination")["tx_id"].str.starts_with("o").all()
    assert e.height == 2 * n


def test_pass_through_lookback_and_thresholds() -> None:
    assert PT.lookback({}) == timedelta(days=31)
    assert PT.lookback({"window": "7d", "max_delay": "2h"}) == timedelta(days=7, hours=2)
    assert [t.metric for t in PT.thresholds({})] == ["count", "ratio", "delay"]
    assert [t.metric for t in PT.thresholds({"min_amount": 100})][-1] == "in_amount"
    assert REGISTRY["pass_through"].focus_role == "mule"  # type: ignore[attr-defined]


def test_pass_through_through_the_engine() -> None:
    rule = SimpleNamespace(
        id="pt", version=1, family="mule", kind="pass_through", severity="high", channels=(),
        where=None, where_pos=(1, 1), having=None, having_pos=(1, 1), group_by="account",
        file="pt.yaml", params={"max_delay": as_duration("24h")}, fingerprint="x",
    )  # fmt: skip
    rows = [
        tx("i", T0, "X", "M", 1000.0),
        tx("o", T0 + 6 * H, "M", "Y", 920.0),
        tx("z", T0, "Q", "Z", 5.0),
    ]
    alerts = detect(
        pl.DataFrame(rows, schema=TRANSFERS, orient="row"), SimpleNamespace(rules=(rule,), lists={})
    ).table
    assert alerts.height == 1
    a = alerts.row(0, named=True)
    assert a["focus"] == "M" and a["tx_ids"] == ["i", "o"]
    assert {"account": "M", "role": "mule"} in a["roles"]
    assert (
        a["explanation"]
        == "92% of 1,000 EUR passed on within 6h (≥ 90% within 1d), 1 time (≥ 1) in 30d"
    )


# payout_delay -------------------------------------------------------------------------------


def held(
    tx_id: str, ts: datetime, src: str, dst: str, amount: float, after: timedelta | None
) -> dict[str, Any]:
    return tx(tx_id, ts, src, dst, amount, payout_ts=None if after is None else ts + after)


def test_payout_delay_counts_held_transfers_per_receiver() -> None:
    rows = [
        held("a", T0, "S1", "R", 500.0, 7 * D),  # exactly min_delay: held
        held("b", T0 + D, "S2", "R", 700.0, 12 * D),
        held("c", T0 + 2 * D, "S3", "R", 300.0, 7 * D - US),  # a microsecond short
        held("d", T0 + 3 * D, "S4", "R", 900.0, None),  # never paid out
        held("e", T0 + 29 * D, "S5", "R", 400.0, 8 * D),
        held("f", T0, "S1", "Q", 100.0, 20 * D),
    ]
    w, e = run(PD, rows)
    last = w.filter(pl.col("focus") == "R").sort("end").row(-1, named=True)
    assert last == {
        "focus": "R", "start": T0, "end": T0 + 29 * D, "held_count": 3,
        "max_delay": 12 * 86400.0, "mean_delay": 9 * 86400.0, "total": 1600.0,
    }  # fmt: skip
    assert hits(PD, w)["focus"].to_list() == ["R"]
    assert ev(e) == [
        ("Q", "f", "S1", "sender"), ("R", "a", "S1", "sender"),
        ("R", "b", "S2", "sender"), ("R", "e", "S5", "sender"),
    ]  # fmt: skip
    assert PD.explain(last, {}, 29 * D, 1600.0, "EUR") == (
        "3 transfers (≥ 3) paid out 9d after sending on average (longest 12d; ≥ 7d) within 30d, 1,600 EUR"
    )


def test_payout_delay_window_edges_and_sender_side() -> None:
    rows = [
        held(str(i), T0 + i * 15 * D, "S", "R", 100.0, 10 * D) for i in range(3)
    ]  # 0, 15, 30 days
    w, _ = run(PD, rows)
    assert hits(PD, w).height == 0  # the window (t - 30d, t] holds two of them at most
    rows[-1]["ts"] -= US
    rows[-1]["payout_ts"] -= US
    w, _ = run(PD, rows)
    assert hits(PD, w).select("focus", "held_count").rows() == [("R", 3)]
    w, e = run(PD, rows, {"side": "sender"})
    assert hits(PD, w, {"side": "sender"})["focus"].to_list() == ["S"]
    assert {r[3] for r in ev(e)} == {"receiver"}


def test_payout_delay_date_only_and_missing_payout_column() -> None:
    day = datetime(2025, 2, 28, tzinfo=UTC)
    rows = [held(str(i), day, f"S{i}", "R", 100.0, 7 * D) for i in range(3)]  # three ties
    w, _ = run(PD, rows)
    assert w.select("start", "end", "held_count").rows() == [(day, day, 3)]
    bare = lf(rows).drop("payout_ts")
    plan = PD.plan(bare, {}, RunContext())
    assert plan.windows.collect().height == 0


def test_payout_delay_bad_side() -> None:
    with pytest.raises(ConfigError, match="side"):
        PD.plan(lf([]), {"side": "payout"}, RunContext())


# agent_concentration ------------------------------------------------------------------------


def network(
    flagged_at_g: int,
    *,
    total_g: int = 20,
    others: int = 5,
    flagged_other: int = 1,
    day: datetime = T0,
) -> list[dict[str, Any]]:
    """Agents N0..N4 with 20 transfers (``flagged_other`` of them at 950 EUR), agent G with
    ``total_g`` transfers of which the last ``flagged_at_g`` are flagged, all within one day (so
    the last window of G holds all its transfers and earlier ones fewer flagged)."""
    rows = []
    for a in range(others):
        for i in range(20):
            amount = 950.0 if i < flagged_other else 100.0
            rows.append(
                tx(
                    f"N{a}-{i}",
                    day + i * timedelta(minutes=10),
                    f"C{i}",
                    f"B{i}",
                    amount,
                    src_agent=f"N{a}",
                    dst_agent="PAY",
                )
            )
    for i in range(total_g):
        amount = 950.0 if i >= total_g - flagged_at_g else 100.0
        rows.append(
            tx(
                f"G-{i}",
                day + i * timedelta(minutes=10),
                f"C{i}",
                f"B{i}",
                amount,
                src_agent="G",
                dst_agent="PAY",
            )
        )
    return rows


def test_agent_concentration_hit_metrics_and_explanation() -> None:
    w, e = run(AC, network(6))
    top = hits(AC, w)
    assert top["focus"].unique().to_list() == ["G"]
    peak = top.sort("end").row(-1, named=True)
    assert (peak["flagged"], peak["transfers"], peak["share"]) == (6, 20, 0.3)
    assert peak["median_share"] == 0.05 and peak["factor"] == pytest.approx(6.0)
    assert AC.explain(peak, {}, timedelta(hours=3), 5700.0, "EUR") == (
        "6 of 20 transfers flagged (30%), 6× the network median of 5% (≥ 5×), 6 flagged (≥ 5) in 30d"
    )
    g = [r for r in ev(e) if r[0] == "G"]
    assert len(g) == 12 and {r[3] for r in g} == {"sender", "receiver"}


@pytest.mark.parametrize(
    ("flagged", "total", "expected"),
    [
        (5, 20, True),  # share 0.25 = 5 × 0.05 exactly, and 5 flagged
        (5, 21, False),  # share 0.238 < 0.25
        (4, 16, False),  # share 0.25 but only 4 flagged (G has < 20 transfers: not in the median)
    ],
)
def test_agent_concentration_threshold_edges(flagged: int, total: int, expected: bool) -> None:
    w, _ = run(AC, network(flagged, total_g=total))
    assert (hits(AC, w).filter(pl.col("focus") == "G").height > 0) is expected


def test_agent_concentration_zero_and_missing_median() -> None:
    w, _ = run(AC, network(5, flagged_other=0))
    top = hits(AC, w)
    assert top["focus"].unique().to_list() == ["G"]
    peak = top.sort("end").row(-1, named=True)
    assert peak["median_share"] == 0.0 and peak["factor"] is None
    assert "∞× the network median of 0%" in AC.explain(peak, {}, D, 0.0, "EUR")
    # no agent with min_transfers in the period: no median, no hit
    w, _ = run(AC, network(6), {"min_transfers": 21})
    assert w["median_share"].null_count() == w.height
    assert hits(AC, w, {"min_transfers": 21}).height == 0


def test_agent_concentration_payout_side_flag_lists_and_periods() -> None:
    rows = network(6)
    for r in rows:  # swap sides: the payout agents are now N*/G
        r["src_agent"], r["dst_agent"] = "SEND", r["src_agent"]
    params = {"side": "payout", "flag": "dst_country in $hot", "window": "30d"}
    for r in rows:
        r["dst_country"] = "LY" if r["amount_base"] == 950.0 else "DE"
    w, _ = run(AC, rows, params, lists={"hot": ("LY",)})
    assert hits(AC, w, params)["focus"].unique().to_list() == ["G"]
    with pytest.raises(ExprError):
        AC.plan(lf(rows), {"flag": "dst_countri = 'LY'"}, RunContext())
    # Periods are 30d long from the epoch: one runs from 2025-01-12 to 2025-02-11, the next to
    # 2025-03-13. A window ending in the next period uses that period's median (here G's own
    # share, 2 of 20: the only agent there), even when it reaches back into the previous one.
    nxt = datetime(2025, 2, 11, tzinfo=UTC)
    late = [
        tx(f"late{i}", nxt + i * H, "C", "B", 950.0 if i < 2 else 100.0, src_agent="G")
        for i in range(20)
    ]
    w, _ = run(AC, network(6) + late)
    assert w.filter(pl.col("end") < nxt)["median_share"].unique().to_list() == [0.05]
    assert w.filter(pl.col("end") >= nxt)["median_share"].unique().to_list() == [0.1]
    first_late = w.filter((pl.col("focus") == "G") & (pl.col("end") == nxt)).row(0, named=True)
    assert (first_late["transfers"], first_late["flagged"]) == (21, 7)  # G's January day is in


# shared_identifier --------------------------------------------------------------------------


def party(pid: str, name: str | None, **kw: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(PARTIES)
    row.update(party_id=pid, name=name, source="s", **kw)
    return row


def parties_lf(rows: list[dict[str, Any]]) -> pl.LazyFrame:
    return pl.DataFrame(rows, schema=PARTIES, orient="row").lazy()


def ptx(
    tx_id: str, ts: datetime, src: str, dst: str, sp: str | None, dp: str | None
) -> dict[str, Any]:
    return tx(tx_id, ts, src, dst, 100.0, src_party=sp, dst_party=dp)


def test_shared_identifier_phone_under_two_names() -> None:
    parties = [
        party("p1", "Ali Hassan", phone="+49 151 0000001", address="Main St 1"),
        party("p2", "Omar  Said", phone="+491510000001", address="main  st 1"),
        party("p3", "ALI  HASSAN", phone="0049 151-0000002"),
        party("p4", "Ali Hassan", phone="0049151 0000002"),  # same name: not a hit
    ]
    rows = [
        ptx("t1", T0, "A1", "B", "p1", None), ptx("t2", T0 + D, "X", "A2", None, "p2"),
        ptx("t3", T0 + 2 * D, "A3", "A4", "p3", "p4"),
    ]  # fmt: skip
    w, e = run(SI, rows, parties=parties_lf(parties))
    assert w.rows(named=True) == [
        {
            "focus": "phone:+491510000001",
            "start": T0,
            "end": T0 + D,
            "identifier": "phone",
            "distinct_names": 2,
            "distinct_parties": 2,
            "weight": 0.6,
        }
    ]
    assert ev(e) == [
        ("phone:+491510000001", "t1", "A1", "holder"),
        ("phone:+491510000001", "t2", "A2", "holder"),
    ]
    assert SI.explain(w.row(0, named=True), {}, D, 200.0, "EUR") == (
        "one phone used under 2 names (≥ 2) by 2 parties, weight 0.6 (≥ 0.6)"
    )
    # the shared address weighs 0.3: only with a lower min_weight
    w, _ = run(SI, rows, {"min_weight": 0.3}, parties=parties_lf(parties))
    assert sorted(w["focus"]) == ["address:main st 1", "phone:+491510000001"]


def test_shared_identifier_devices_and_ip_addresses() -> None:
    # one device (written in two cases) and one IPv6 address (two spellings) under three
    # names; a public Wi-Fi address under five names; devices and IPs only when named
    parties = [
        party("p1", "Ali Hassan", device_id="AB-12", ip_address="2001:DB8:0:0:0:0:0:1"),
        party("p2", "Omar Said", device_id=" ab-12", ip_address="2001:db8::1"),
        party("p3", "Yonas Tesfay", device_id="ab-12", ip_address="not an ip"),
        *[
            party(f"w{i}", n, ip_address="100.64.0.9")
            for i, n in enumerate(
                ("Zara Khan", "Lena Vogel", "Ivan Petrov", "Mia Rossi", "Jun Sato")
            )
        ],
    ]
    rows = [ptx(f"t{p['party_id']}", T0, "A" + p["party_id"], "B", p["party_id"], None)
            for p in parties]  # fmt: skip
    w, _ = run(SI, rows, parties=parties_lf(parties))
    assert w.height == 0  # the default identifiers: ID document, phone, e-mail, address
    params = {"identifiers": ["device_id", "ip_address"], "min_weight": 0.3}
    w, e = run(SI, rows, params, parties=parties_lf(parties))
    got = w.select("focus", "identifier", "distinct_names", "weight").rows()
    assert got == [
        ("device_id:ab-12", "device_id", 3, 0.6),
        ("ip_address:100.64.0.9", "ip_address", 5, 0.3),
        ("ip_address:2001:db8::1", "ip_address", 2, 0.3),
    ]
    assert sorted(e.filter(pl.col("focus") == "device_id:ab-12")["account"]) == [
        "Ap1", "Ap2", "Ap3"
    ]  # fmt: skip
    # more than max_names names: public infrastructure, left out
    w, _ = run(SI, rows, {**params, "max_names": 4}, parties=parties_lf(parties))
    assert sorted(w["focus"]) == ["device_id:ab-12", "ip_address:2001:db8::1"]
    assert SI.explain(w.row(0, named=True), params, D, 1.0, "EUR") == (
        "one device id used under 3 names (≥ 2) by 3 parties, weight 0.6 (≥ 0.3)"
    )


def test_shared_identifier_names_grouped_or_by_key() -> None:
    # three migrants whose names share parts: one group, three name keys
    names = ("Ahmed Nur", "Hassan Ahmed", "Nur Hassan", "NUR HASAN")
    parties = [party(f"p{i}", n, device_id="d1") for i, n in enumerate(names)]
    rows = [ptx(f"t{i}", T0, f"A{i}", "B", f"p{i}", None) for i in range(len(names))]
    params = {"identifiers": ["device_id"], "min_names": 2}
    w, _ = run(SI, rows, params, parties=parties_lf(parties))
    assert w.height == 0  # grouped: relatives or short forms, one name
    w, _ = run(SI, rows, {**params, "names": "keys"}, parties=parties_lf(parties))
    assert w.select("distinct_names", "distinct_parties").rows() == [(3, 4)]  # Hasan = Hassan
    assert [p.message for p in SI.validate({"names": "all"})] == [
        "shared_identifier: parameter 'names' expects one of grouped, keys, got 'all'"
    ]


def test_shared_identifier_ids_need_the_same_issuing_country() -> None:
    parties = [
        party("p1", "Yonas Tesfay", id_number="ab-123 456", id_country="ER"),
        party("p2", "Dawit Haile", id_number="AB123456", id_country="er"),
        party("p3", "Mariam Kidane", id_number="AB123456", id_country="ET"),
        party("p4", "Straße Eins", email=" X@Mail.org"),
        party("p5", "STRASSE  eins", email="x@mail.org"),  # ß → ss: the same name
        party("p6", "Nobody", phone="+491510000009"),  # shares with p7, which has no transfer
        party("p7", "Someone", phone="+491510000009"),
    ]
    rows = [ptx(f"t{i}", T0 + i * H, f"A{i}", "Z", f"p{i}", None) for i in range(1, 6)]
    w, _ = run(SI, rows, parties=parties_lf(parties))
    assert w.select("focus", "distinct_names", "weight").rows() == [
        ("id_number:ER:AB123456", 2, 1.0)
    ]
    w, _ = run(
        SI,
        [*rows, ptx("t7", T0, "A7", "Z", "p7", None)],
        {"identifiers": ["phone"]},
        parties=parties_lf(parties),
    )
    assert w.select("focus", "start", "end").rows() == [("phone:+491510000009", T0, T0)]


def test_shared_identifier_params_and_no_parties() -> None:
    w, e = run(SI, [ptx("t", T0, "A", "B", "p1", None)])
    assert w.height == 0 and e.height == 0
    assert SI.weights({"weights": {"address": 0.7}}) == {
        "id_number": 1.0, "phone": 0.6, "email": 0.6, "address": 0.7, "device_id": 0.6,
        "ip_address": 0.3,
    }  # fmt: skip
    ctx = RunContext(parties=parties_lf([party("p", "x")]))
    with pytest.raises(ConfigError, match="unknown identifier 'iban'"):
        SI.plan(lf([]), {"identifiers": ["iban"]}, ctx)
    problems = SI.validate({"identifiers": ("phone", "$ids"), "weights": {"phone": -1}})
    assert [p.message for p in problems] == [
        "shared_identifier: parameter 'weights' expects a number ≥ 0 for 'phone', got -1"
    ]
    lists = {"ids": ("email", "phone")}
    assert SI.identifiers({"identifiers": ("$ids", "phone")}, lists) == ["email", "phone"]


def test_shared_identifier_matches_reference() -> None:
    parties = [
        party(
            "p1",
            "A B",
            phone="+1 555",
            email="a@x",
            address="Road 1",
            id_number="z-1",
            id_country="DE",
        ),
        party(
            "p2",
            "a  b",
            phone="+1555",
            email="A@X ",
            address="road  1",
            id_number="Z1",
            id_country="DE",
        ),
        party("p3", "C D", phone="+1-555", email="a@x", address="ROAD 1", id_number="z1"),
        party("p4", "E F", phone="1555", email="b@x", address="road 2", id_number="Z1"),
        party("p5", None, phone="1555"),
    ]
    rows = [
        ptx(f"t{i}", T0 + i * H, f"A{i}", f"B{i}", f"p{i}", f"p{(i % 5) + 1}") for i in range(1, 6)
    ]
    params = {"min_weight": 0.3}
    w, e = run(SI, rows, params, parties=parties_lf(parties))
    want_w, want_e = ref.shared_identifier(rows, parties, min_weight=0.3)
    assert rows6(w) == want_w
    assert ev(e) == want_e


# properties against the references ----------------------------------------------------------

GRID = [T0 + k * 6 * H for k in range(12)]  # 6-hourly: ties and day boundaries
ACCOUNTS = ["A", "B", "C", "D", "E"]
PARTY_OF = {"A": "P", "B": "P", "C": "Q", "D": None, "E": "R"}
AMOUNTS = [0.004, 0.01, 10.0, 90.0, 95.5, 100.0, 110.0, 250.0, 899.99, 950.0, 1000.0]


@st.composite
def transfers(draw: st.DrawFn) -> list[dict[str, Any]]:
    n = draw(st.integers(0, 40))
    rows = []
    for i in range(n):
        src = draw(st.sampled_from(ACCOUNTS))
        dst = draw(st.sampled_from(ACCOUNTS))
        amount = draw(st.sampled_from(AMOUNTS))
        ts = draw(st.sampled_from(GRID))
        payout = draw(st.sampled_from([None, timedelta(0), 12 * H, D, 2 * D, 3 * D]))
        rows.append(
            tx(
                f"t{i:02d}", ts, src, dst, amount,
                src_party=PARTY_OF[src], dst_party=PARTY_OF[dst],
                src_agent=draw(st.sampled_from([None, "G1", "G2", "G3"])),
                dst_agent=draw(st.sampled_from([None, "G1", "G2"])),
                payout_ts=None if payout is None else ts + payout,
                amount_base=draw(st.sampled_from([amount, amount * 1.07, None])) if i % 9 == 8 else amount,
            )
        )  # fmt: skip
    return rows


SETTINGS = settings(
    max_examples=int(os.environ.get("FI_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def windows_tuples(w: pl.DataFrame) -> list[tuple[Any, ...]]:
    return rows6(w)


@SETTINGS
@given(
    rows=transfers(),
    max_delay=st.sampled_from([timedelta(0), 6 * H, 12 * H, D]),
    min_ratio=st.sampled_from([0.0, 0.5, 0.9, 0.955, 1.0]),
    fee_tolerance=st.sampled_from([0.0, 0.1]),
    min_amount=st.sampled_from([0.0, 95.5]),
    window=st.sampled_from([6 * H, D, 2 * D]),
    group_by=st.sampled_from(["account", "party"]),
)
def test_pass_through_matches_reference(
    rows: list[dict[str, Any]], max_delay: timedelta, min_ratio: float, fee_tolerance: float,
    min_amount: float, window: timedelta, group_by: str,
) -> None:  # fmt: skip
    params: dict[str, Any] = {
        "max_delay": max_delay, "min_ratio": min_ratio, "fee_tolerance": fee_tolerance,
        "min_amount": min_amount, "window": window,
    }  # fmt: skip
    w, e = run(PT, rows, params, group_by=group_by)
    want_w, want_e = ref.pass_through(rows, group_by=group_by, **params)
    assert windows_tuples(w) == want_w
    assert ev(e) == want_e


@SETTINGS
@given(
    rows=transfers(),
    min_delay=st.sampled_from([timedelta(0), 12 * H, D, 3 * D]),
    window=st.sampled_from([6 * H, D, 2 * D]),
    side=st.sampled_from(["receiver", "sender"]),
    group_by=st.sampled_from(["account", "party"]),
)
def test_payout_delay_matches_reference(
    rows: list[dict[str, Any]], min_delay: timedelta, window: timedelta, side: str, group_by: str
) -> None:
    params: dict[str, Any] = {"min_delay": min_delay, "window": window, "side": side}
    w, e = run(PD, rows, params, group_by=group_by)
    want_w, want_e = ref.payout_delay(rows, group_by=group_by, **params)
    assert windows_tuples(w) == want_w
    assert ev(e) == want_e


@SETTINGS
@given(
    rows=transfers(),
    side=st.sampled_from(["send", "payout"]),
    window=st.sampled_from([6 * H, D, 2 * D]),
    min_transfers=st.integers(1, 4),
    min_factor=st.sampled_from([1.0, 1.5, 2.0]),
    min_flagged=st.integers(1, 3),
)
def test_agent_concentration_matches_reference(
    rows: list[dict[str, Any]], side: str, window: timedelta, min_transfers: int,
    min_factor: float, min_flagged: int,
) -> None:  # fmt: skip
    params: dict[str, Any] = {
        "side": side, "window": window, "min_transfers": min_transfers,
        "flag": "amount_base >= 900 and amount_base < 1000",
        "min_factor": min_factor, "min_flagged": min_flagged,
    }  # fmt: skip

    def flag(r: Mapping[str, Any]) -> bool:
        return r["amount_base"] is not None and 900 <= r["amount_base"] < 1000

    w, e = run(AC, rows, params)
    want_w, want_e, want_hits = ref.agent_concentration(
        rows, flag, side=side, window=window, min_transfers=min_transfers,
        min_factor=min_factor, min_flagged=min_flagged,
    )  # fmt: skip
    assert windows_tuples(w) == want_w
    assert ev(e) == want_e
    assert windows_tuples(hits(AC, w, params)) == want_hits


# through the rule loader and the engine -------------------------------------------------------

RULES = {
    "pt.yaml": """
id: mule
family: pass_through
description: money in and out within a day
pattern:
  kind: pass_through
  max_delay: 1d
  min_ratio: 0.9
""",
    "pd.yaml": """
id: held
family: payout_delay
description: payments held until arrival
pattern:
  kind: payout_delay
  min_delay: 7d
  min_count: 2
""",
    "ac.yaml": """
id: agent
family: agent_concentration
description: complicit agent
pattern:
  kind: agent_concentration
  flag: dst_country in $hot and amount_base between 900 and 999.99
""",
    "si.yaml": """
id: shared
family: shared_identifier
description: one phone, several names
group_by: party
pattern:
  kind: shared_identifier
  identifiers: [phone, address]
  weights: {address: 0.6}
""",
    "hot.yaml": "list: hot\ndescription: test\ntype: countries\nvalues: [LY]\n",
}


def test_rules_through_the_loader_and_engine(tmp_path: Any) -> None:
    from finintel.typology.loader import load_rules

    for name, text in RULES.items():
        (tmp_path / name).write_text(text.lstrip(), encoding="utf-8")
    kinds = {p.kind: p for p in (PT, PD, AC, SI)}
    ruleset = load_rules(tmp_path, kinds=kinds)
    rows = [
        tx("i", T0, "X", "M", 1000.0), tx("o", T0 + 6 * H, "M", "Y", 920.0),
        held("h1", T0, "S1", "R", 300.0, 8 * D), held("h2", T0 + D, "S2", "R", 200.0, 9 * D),
    ]  # fmt: skip
    for r in network(6):
        r["dst_country"] = "LY"
        rows.append(r)
    rows[0].update(src_party="p1")
    rows[2].update(src_party="p2")
    parties = [
        party("p1", "Ali Hassan", address="Via Roma 1"),
        party("p2", "Omar Said", address="via  roma 1"),
    ]
    data = SimpleNamespace(
        transfers=lf(rows),
        parties=pl.DataFrame(parties, schema=PARTIES, orient="row"),
        base_currency="EUR",
    )
    alerts = detect(data, ruleset).table
    got = {(a["typology"], a["focus"]): a for a in alerts.iter_rows(named=True)}
    assert sorted(got) == [
        ("agent", "G"),
        ("held", "R"),
        ("mule", "M"),
        ("shared", "address:via roma 1"),
    ]
    assert got["held", "R"]["tx_ids"] == ["h1", "h2"]
    assert got["agent", "G"]["focus_kind"] == "agent"
    assert got["shared", "address:via roma 1"]["tx_ids"] == ["h1", "i"]
    assert got["shared", "address:via roma 1"]["explanation"].startswith(
        "one address used under 2 names"
    )
