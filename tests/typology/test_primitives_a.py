"""Windowed primitives, set A: hand-computed cases and property tests against ``reference_a``.

Window convention under test: the window ending at a transfer at ``t`` is ``(t - w, t]`` — a
transfer exactly ``w`` before is outside, every transfer tied with ``t`` is inside.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from finintel.errors import ConfigError
from finintel.schema import TRANSFERS
from finintel.typology.primitives import (
    aggregate,
    corridor,
    dormant_then_active,
    fan_in,
    fan_out,
    round_amounts,
    structuring,
    velocity_spike,
)
from finintel.typology.primitives.base import REGISTRY, Plan, RunContext
from finintel.typology.primitives.windows import (
    COUNTERPARTY,
    END,
    FOCUS,
    as_duration,
    distinct,
    focus_frame,
    polars_duration,
    rolling_by_focus,
    rows_with_windows,
)
from tests.typology import reference_a as ref

MODULES = (
    aggregate,
    corridor,
    dormant_then_active,
    fan_in,
    fan_out,
    round_amounts,
    structuring,
    velocity_spike,
)
KINDS = (
    "aggregate",
    "corridor",
    "dormant_then_active",
    "fan_in",
    "fan_out",
    "round_amounts",
    "structuring",
    "velocity_spike",
)

# helpers ---------------------------------------------------------------------------------------


def ts(text: str) -> datetime:
    """``"2024-01-31 23:59:59"`` or ``"2024-01-31"`` (midnight) as UTC."""
    fmt = "%Y-%m-%d %H:%M:%S" if " " in text and text.count(":") == 2 else None
    if fmt is None:
        fmt = "%Y-%m-%d %H:%M" if " " in text else "%Y-%m-%d"
    return datetime.strptime(text, fmt).replace(tzinfo=UTC)


_counter = iter(range(1, 10**9))


def tx(
    when: str | datetime,
    src: str | None,
    dst: str | None,
    amount_base: float,
    *,
    amount: float | None = None,
    currency: str = "EUR",
    tx_id: str | None = None,
    **kw: Any,
) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(TRANSFERS)
    row.update(
        tx_id=tx_id or f"t{next(_counter):04d}",
        ts=ts(when) if isinstance(when, str) else when,
        src_account=src,
        dst_account=dst,
        amount=amount_base if amount is None else amount,
        currency=currency,
        amount_base=amount_base,
        channel="mto",
        source="drop1",
        status="completed",
    )
    row.update(kw)
    return row


def frame(rows: Sequence[Mapping[str, Any]]) -> pl.LazyFrame:
    return pl.DataFrame(list(rows), schema=TRANSFERS).lazy()


def run(
    kind: str,
    rows: Sequence[Mapping[str, Any]],
    params: Mapping[str, Any] | None = None,
    *,
    group_by: str = "account",
    lists: Mapping[str, tuple[object, ...]] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    prim = REGISTRY[kind]
    plan = prim.plan(frame(rows), params or {}, RunContext(group_by=group_by, lists=lists or {}))
    assert isinstance(plan, Plan)
    # evidence comes in any order (the engine orders what it keeps): compared sorted
    evidence = plan.evidence.collect().sort(pl.all(), nulls_last=True, maintain_order=True)
    return plan.windows.collect(), evidence


def at(windows: pl.DataFrame, focus: str, end: str) -> dict[str, Any]:
    hit = windows.filter((pl.col("focus") == focus) & (pl.col("end") == ts(end)))
    assert hit.height == 1, f"{focus} @ {end}: {hit.height} windows\n{windows}"
    return hit.row(0, named=True)


def fires(kind: str, row: Mapping[str, Any], params: Mapping[str, Any] | None = None) -> bool:
    cond = REGISTRY[kind].condition(params or {})
    return bool(pl.DataFrame([row]).select(cond.fill_null(False)).item())


def kept(kind: str, windows: pl.DataFrame, params: Mapping[str, Any] | None = None) -> pl.DataFrame:
    return windows.filter(REGISTRY[kind].condition(params or {}).fill_null(False))


# contract ---------------------------------------------------------------------------------------

SMALL = [
    tx("2024-01-31 22:00", "s1", "R", 100.0, src_country="FR", dst_country="LY"),
    tx("2024-02-01 01:00", "s2", "R", 200.0, src_country="DE", dst_country="LY"),
]

PARAMS: dict[str, dict[str, Any]] = {
    "aggregate": {"window": "1d", "measures": {"agents": "distinct(src_agent)"}},
    "corridor": {"from": ["FR"]},
    # low enough that some foci keep their windows (the others are pruned)
    "fan_in": {"min_counterparties": 1},
    "fan_out": {"min_counterparties": 1},
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("rows", [SMALL, []], ids=["rows", "empty"])
def test_contract(kind: str, rows: list[dict[str, Any]]) -> None:
    prim = REGISTRY[kind]
    params = PARAMS.get(kind, {})
    windows, evidence = run(kind, rows, params)
    assert dict(windows.schema) == {
        "focus": pl.String(),
        "start": pl.Datetime("us", "UTC"),
        "end": pl.Datetime("us", "UTC"),
        **prim.metrics(params),
    }
    assert dict(evidence.schema) == {
        "focus": pl.String(),
        "ts": pl.Datetime("us", "UTC"),
        "tx_id": pl.String(),
        "source": pl.String(),
        "account": pl.String(),
        "role": pl.String(),
        "amount_base": pl.Float64(),
    }
    assert isinstance(prim.lookback(params), timedelta)
    assert prim.thresholds(params)
    assert isinstance(getattr(prim, "focus_role", None), str)
    assert set(prim.group_by) == {"account", "party", "entity"}
    for name, spec in prim.params.items():
        assert spec.doc, name
        if spec.required:
            assert name in params
    if windows.height:
        assert windows.filter(pl.col("start") > pl.col("end")).height == 0
        row = windows.row(0, named=True)
        text = prim.explain(row, params, timedelta(hours=3), 300.0, "EUR")
        assert "\n" not in text
        assert "300 EUR" in text


@pytest.mark.parametrize("kind", KINDS)
def test_deterministic_whatever_the_row_order(kind: str) -> None:
    rows = _fixed_random_rows(seed=7)
    params = PARAMS.get(kind, {})
    first = run(kind, rows, params)
    shuffled = rows[:]
    random.Random(3).shuffle(shuffled)
    second = run(kind, shuffled, params)
    assert_frame_equal(first[0], second[0])
    assert_frame_equal(first[1], second[1])


def test_every_module_registers_its_kind() -> None:
    for mod, kind in zip(MODULES, KINDS, strict=True):
        assert mod.__name__.endswith(kind)
        assert kind in REGISTRY


# windows.py -------------------------------------------------------------------------------------


def test_polars_duration_and_as_duration() -> None:
    assert polars_duration(timedelta(hours=1, microseconds=5)) == "3600000005us"
    assert as_duration("2d4h") == timedelta(days=2, hours=4)
    assert as_duration(90) == timedelta(seconds=90)
    assert as_duration(timedelta(days=1)) == timedelta(days=1)
    with pytest.raises(ConfigError, match="expects a duration"):
        as_duration("7 days", "fan_in", "window")


def test_focus_frame_sides_and_party_fallback() -> None:
    rows = [
        tx("2024-01-01", "A", "B", 1.0, src_party="P", dst_party=None, tx_id="1"),
        tx("2024-01-02", "A", "A", 2.0, src_party="P", dst_party="P", tx_id="2"),
        tx("2024-01-03", None, "B", 3.0, tx_id="3"),
    ]
    both = focus_frame(frame(rows), "both", "account").collect()
    assert both.select("focus", "tx_id", "direction", "counterparty").rows() == [
        ("A", "1", "out", "B"),
        ("A", "2", "out", "A"),  # a self-transfer counts once
        ("B", "1", "in", "A"),
        ("B", "3", "in", None),
    ]
    party_in = focus_frame(frame(rows), "in", "party").collect()
    # only tx 2 has a receiving party; its counterparty is the sending party
    assert party_in.select("focus", "tx_id", "counterparty").rows() == [("P", "2", "P")]
    party_out = focus_frame(frame(rows), "out", "party").collect()
    # a receiver without a party counts by its account
    assert party_out.select("focus", "tx_id", "counterparty").rows() == [
        ("P", "1", "B"),
        ("P", "2", "P"),
    ]


def test_rolling_window_is_open_at_start_and_keeps_ties() -> None:
    rows = [
        tx("2024-01-01 00:00", "x", "A", 1.0),
        tx("2024-01-01 12:00", "y", "A", 2.0),
        tx("2024-01-02 00:00", "z", "A", 4.0),
        tx("2024-01-02 00:00", "x", "A", 8.0),
    ]
    f = focus_frame(frame(rows), "in", "account")
    w = rolling_by_focus(f, timedelta(days=1), {"n": pl.len(), "s": pl.col("amount_base").sum()})
    got = w.collect()
    assert got.height == 3  # one window per distinct (focus, end)
    last = at(got, "A", "2024-01-02 00:00")
    # (Jan 1 00:00, Jan 2 00:00]: the midnight transfer exactly one day before is outside
    assert (last["n"], last["s"], last["start"]) == (3, 14.0, ts("2024-01-01 12:00"))


def test_presorted_frames_give_the_windows_of_a_sorted_copy() -> None:
    rows = [tx(f"2024-01-0{1 + i % 3} {i:02d}:00", "xyz"[i % 3], "BA"[i % 2], float(i),
               tx_id=str(i)) for i in range(9)]  # fmt: skip
    f = focus_frame(frame(rows), "in", "account")
    aggs = {"n": pl.len(), "s": pl.col("amount_base").sum()}
    kept = rolling_by_focus(f, timedelta(days=1), aggs, presorted=True).collect()
    assert_frame_equal(kept, rolling_by_focus(f, timedelta(days=1), aggs).collect())
    # the promise is the caller's: a frame out of order gives other (wrong) windows
    shuffled = f.sort("ts", descending=True)
    assert (
        not rolling_by_focus(shuffled, timedelta(days=1), aggs, presorted=True)
        .collect()
        .equals(kept)
    )
    with pytest.raises(ValueError, match="index must be 'ts'"):
        rolling_by_focus(f, timedelta(days=1), aggs, index="end", presorted=True)


def test_rows_with_windows_joins_each_row_to_its_window() -> None:
    rows = [
        tx("2024-01-01", "x", "A", 1.0, tx_id="1"),
        tx("2024-01-01", "y", "A", 2.0, tx_id="2"),
        tx("2024-01-02", "x", "A", 4.0, tx_id="3"),
    ]
    f = focus_frame(frame(rows), "in", "account")
    w = rolling_by_focus(f, timedelta(days=1), {"s": pl.col("amount_base").sum()})
    got = rows_with_windows(f, w).collect()
    assert got.select("tx_id", "s").rows() == [("1", 3.0), ("2", 3.0), ("3", 4.0)]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.sampled_from("AB"), st.integers(0, 30), st.sampled_from(["x", "y", "z", None])
        ),
        max_size=40,
    ),
    st.sampled_from([timedelta(hours=1), timedelta(hours=5), timedelta(days=1)]),
    st.sampled_from([None, timedelta(hours=-3), timedelta(hours=-30)]),
)
def test_rolling_distinct_equals_n_unique(
    events: list[tuple[str, int, str | None]], window: timedelta, offset: timedelta | None
) -> None:
    """The O(n log n) distinct count agrees with polars' per-window n_unique, offsets too."""
    base = ts("2024-02-28 20:00")
    rows = [
        tx(base + timedelta(hours=h), cp, focus, 1.0, src_party=cp, tx_id=str(i))
        for i, (focus, h, cp) in enumerate(events)
    ]
    f = focus_frame(frame(rows), "in", "account").with_columns(
        pl.col("src_party").alias(COUNTERPARTY)  # null counterparties too
    )
    fast = rolling_by_focus(f, window, [], offset=offset, distinct={"n": COUNTERPARTY})
    slow = rolling_by_focus(f, window, {"n": distinct(COUNTERPARTY)}, offset=offset)
    got, want = fast.collect(), slow.collect()
    assert_frame_equal(got, want.with_columns(pl.col("n").fill_null(0)))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.sampled_from("CAB"),
            st.integers(0, 30),
            st.sampled_from([1.0, 2.0, 3.0, None]),
            st.sampled_from(["x", "y", None]),
        ),
        max_size=40,
    ),
    st.sampled_from([timedelta(hours=1), timedelta(hours=5), timedelta(days=1)]),
)
def test_rolling_distinct_of_numbers_and_several_columns(
    events: list[tuple[str, int, float | None, str | None]], window: timedelta
) -> None:
    """Distinct counts of a non-text column and of two columns at once agree with n_unique;
    the result is sorted by focus, end whatever the input order."""
    base = ts("2024-02-28 20:00")
    rows = [
        tx(base + timedelta(hours=h), "s", focus, 1.0, src_party=cp, tx_id=str(i))
        for i, (focus, h, _, cp) in enumerate(events)
    ]
    amounts = pl.Series("amt", [a for _, _, a, _ in events], dtype=pl.Float64)
    f = (
        frame(rows)
        .with_columns(amounts.alias("amount_base"))
        .sort("tx_id", descending=True)
        .with_columns(pl.col("dst_account").alias(FOCUS), pl.col("src_party").alias("cp"))
    )
    fast = rolling_by_focus(f, window, [], distinct={"a": "amount_base", "c": "cp"})
    slow = rolling_by_focus(f, window, {"a": distinct("amount_base"), "c": distinct("cp")})
    got, want = fast.collect(), slow.collect()
    assert_frame_equal(got, want.sort(FOCUS, END))
    assert got.select(FOCUS, END).rows() == sorted(got.select(FOCUS, END).rows())


# fan_in / fan_out -------------------------------------------------------------------------------

FAN_ROWS = [
    # across midnight and the end of January; amounts already in the base currency
    tx("2024-01-31 20:00", "s1", "R", 100.0, src_country="FR"),
    tx("2024-01-31 22:00", "s2", "R", 180.0, amount=200.0, currency="USD", src_country="US"),
    tx("2024-01-31 23:59:59", "s3", "R", 50.0, src_country="FR"),
    tx("2024-02-01 00:00", "s3", "R", 70.0, src_country="FR"),  # repeated sender
    tx("2024-02-01 01:30", "s4", "R", 1000.0, amount=1100.0, currency="CHF"),  # no country
    tx("2024-02-01 01:30", "s5", "R", 12.5, src_country="DE"),  # tie
]


def test_fan_in_window_straddling_midnight_and_month_end() -> None:
    params = {"window": "6h", "min_counterparties": 5, "min_countries": 3}
    windows, _ = run("fan_in", FAN_ROWS, params)
    w = at(windows, "R", "2024-02-01 01:30")
    assert w["start"] == ts("2024-01-31 20:00")
    assert (w["distinct_senders"], w["distinct_src_countries"], w["count"]) == (5, 3, 6)
    assert w["total"] == pytest.approx(1412.5)
    assert fires("fan_in", w, params)
    # just outside: one sender short, one country short
    assert not fires("fan_in", w, {**params, "min_counterparties": 6})
    assert not fires("fan_in", w, {**params, "min_countries": 4})
    # min_countries 0 means not checked
    assert fires("fan_in", {**w, "distinct_src_countries": 0}, {"min_counterparties": 5})
    # R has five senders from three countries in all: with a sixth sender or a fourth country
    # needed none of its windows can fire, and none is computed
    assert run("fan_in", FAN_ROWS, {**params, "min_counterparties": 6})[0].is_empty()
    assert run("fan_in", FAN_ROWS, {**params, "min_countries": 4})[0].is_empty()


def test_fan_in_start_of_window_is_open() -> None:
    # 5h30m before 01:30 is exactly 20:00: that transfer is outside
    windows, _ = run("fan_in", FAN_ROWS, {"window": "5h30m"})
    w = at(windows, "R", "2024-02-01 01:30")
    assert (w["distinct_senders"], w["count"], w["start"]) == (4, 5, ts("2024-01-31 22:00"))
    assert not fires("fan_in", w, {"min_counterparties": 5})
    # one microsecond more and it is inside
    windows, _ = run("fan_in", FAN_ROWS, {"window": timedelta(hours=5, minutes=30, microseconds=1)})
    assert at(windows, "R", "2024-02-01 01:30")["distinct_senders"] == 5


def test_fan_in_ties_share_one_window() -> None:
    windows, _ = run("fan_in", FAN_ROWS, {"window": "6h"})
    assert windows.filter(pl.col("end") == ts("2024-02-01 01:30")).height == 1
    assert windows.height == 5  # six transfers, five distinct times


def test_fan_in_date_only_data() -> None:
    rows = [tx(f"2024-01-0{d}", f"s{d}", "R", 10.0 * d) for d in range(1, 9)]
    params = {"window": "7d", "min_counterparties": 7}
    windows, _ = run("fan_in", rows, params)
    # (Dec 31, Jan 7]: seven calendar days, Jan 1 to Jan 7
    jan7 = at(windows, "R", "2024-01-07")
    assert (jan7["distinct_senders"], jan7["start"], jan7["total"]) == (7, ts("2024-01-01"), 280.0)
    assert fires("fan_in", jan7, params)
    jan8 = at(windows, "R", "2024-01-08")
    assert (jan8["distinct_senders"], jan8["start"]) == (7, ts("2024-01-02"))
    jan6 = at(windows, "R", "2024-01-06")
    assert jan6["distinct_senders"] == 6
    assert not fires("fan_in", jan6, params)


def test_fan_in_evidence_and_explanation() -> None:
    params = {"window": "2d4h", "min_counterparties": 5, "min_countries": 2}
    _, evidence = run("fan_in", FAN_ROWS, params)
    assert set(evidence["role"]) == {"sender"}
    assert evidence.filter(pl.col("tx_id") == FAN_ROWS[1]["tx_id"])["account"].item() == "s2"
    assert evidence.height == len(FAN_ROWS)
    prim = REGISTRY["fan_in"]
    metrics = {"distinct_senders": 7, "distinct_src_countries": 3, "count": 9, "total": 1.0}
    text = prim.explain(metrics, params, timedelta(days=2, hours=4), 12400.0, "EUR")
    assert text == "7 distinct senders (≥ 5) from 3 countries (≥ 2) within 2d 4h, 12,400 EUR"
    text = prim.explain(
        {**metrics, "distinct_src_countries": 1}, {}, timedelta(hours=5), 9.5, "EUR"
    )
    assert text == "7 distinct senders (≥ 5) from 1 country within 5h, 9.50 EUR"
    assert prim.thresholds(params)[0].metric == "distinct_senders"
    assert [t.metric for t in prim.thresholds({})] == ["distinct_senders"]
    assert prim.lookback({}) == timedelta(days=30)


def test_fan_in_by_party() -> None:
    rows = [
        tx("2024-03-01 10:00", "a1", "r1", 10.0, src_party="P1", dst_party="Q"),
        tx("2024-03-01 11:00", "a2", "r2", 10.0, src_party="P1", dst_party="Q"),  # same party
        tx("2024-03-01 12:00", "a3", "r1", 10.0, src_party=None, dst_party="Q"),  # by account
        tx("2024-03-01 13:00", "a4", "r3", 10.0, src_party="P2", dst_party=None),  # no focus
    ]
    params = {"window": "1d", "min_counterparties": 2}
    windows, evidence = run("fan_in", rows, params, group_by="party")
    assert windows["focus"].unique().to_list() == ["Q"]
    assert at(windows, "Q", "2024-03-01 12:00")["distinct_senders"] == 2
    # Q has two sending parties in all: three needed, its windows are not computed
    params = {"window": "1d", "min_counterparties": 3}
    assert run("fan_in", rows, params, group_by="party")[0].is_empty()
    # party focus: the counterparty accounts and the focus's own accounts
    assert sorted(evidence.select("account", "role").unique().rows()) == [
        ("a1", "sender"),
        ("a2", "sender"),
        ("a3", "sender"),
        ("r1", "collector"),
        ("r2", "collector"),
    ]


def test_fan_out_mirror() -> None:
    rows = [
        tx("2024-02-28 23:30", "S", "r1", 100.0, dst_country="LY"),
        tx("2024-02-29 01:00", "S", "r2", 100.0, dst_country="TR"),
        tx("2024-02-29 02:00", "S", "r2", 100.0, dst_country="TR"),
        tx("2024-03-01 00:00", "S", "r3", 100.0, dst_country="LY"),
        tx("2024-03-01 00:00", "T", "r3", 100.0, dst_country="LY"),
    ]
    params = {"window": "1d1h", "min_counterparties": 3, "min_countries": 2}
    windows, evidence = run("fan_out", rows, params)
    w = at(windows, "S", "2024-03-01 00:00")  # leap day inside
    assert (w["distinct_receivers"], w["distinct_dst_countries"], w["count"]) == (3, 2, 4)
    assert fires("fan_out", w, params)
    assert not fires("fan_out", w, {**params, "window": "1d", "min_counterparties": 4})
    windows, _ = run("fan_out", rows, {**params, "window": "1d"})
    assert (
        at(windows, "S", "2024-03-01 00:00")["distinct_receivers"] == 2
    )  # Feb 28 23:30 is outside
    # T pays one receiver in all: it cannot fire and gets no windows; nor S for a third country
    assert windows["focus"].unique().to_list() == ["S"]
    assert run("fan_out", rows, {**params, "min_countries": 3})[0].is_empty()
    assert set(evidence["role"]) == {"receiver"}
    prim = REGISTRY["fan_out"]
    assert fan_out.FanOut.focus_role == "distributor"
    assert prim.lookback({}) == timedelta(days=7)
    text = prim.explain(w, params, timedelta(hours=25), 400.0, "EUR")
    assert text == "3 distinct receivers (≥ 3) in 2 countries (≥ 2) within 1d 1h, 400 EUR"


# structuring ------------------------------------------------------------------------------------


def test_structuring_band_edges() -> None:
    rows = [
        tx("2024-01-30", "S", "a", 899.99),  # just under the band: out
        tx("2024-01-31", "S", "b", 900.0),  # T·(1 − band): in
        tx("2024-02-01", "S", "c", 999.99),  # just under T: in
        tx("2024-02-01", "S", "d", 1000.0),  # T itself: out
        tx("2024-02-02", "S", "e", 950.0, amount=1030.0, currency="USD"),  # base amount counts
    ]
    params = {"min_count": 3, "window": "7d"}
    windows, evidence = run("structuring", rows, params)
    assert windows["end"].to_list() == [ts("2024-01-31"), ts("2024-02-01"), ts("2024-02-02")]
    w = at(windows, "S", "2024-02-02")
    assert w["count_in_band"] == 3
    assert w["total"] == pytest.approx(2849.99)
    assert (w["max_amount"], w["threshold"], w["start"]) == (999.99, 1000.0, ts("2024-01-31"))
    assert fires("structuring", w, params)
    assert not fires("structuring", at(windows, "S", "2024-02-01"), params)  # 2 < 3
    # evidence: the in-band transfers only
    assert sorted(evidence["account"]) == ["b", "c", "e"]
    assert set(evidence["role"]) == {"receiver"}
    # three in band in all: with four needed no window can fire, none is computed (the
    # evidence stays: the engine keeps only the kept windows' rows)
    windows, evidence = run("structuring", rows, {**params, "min_count": 4})
    assert windows.is_empty()
    assert evidence.height == 3


def test_structuring_original_currency_and_country_thresholds() -> None:
    rows = [
        tx("2024-05-01 09:00", "S", "a", 2500.0, amount=2700.0, currency="USD"),  # in
        tx("2024-05-01 18:00", "S", "b", 2777.0, amount=2999.99, currency="USD"),  # in
        tx("2024-05-02 08:00", "S", "c", 2780.0, amount=3000.0, currency="USD"),  # T: out
        tx("2024-05-02 09:00", "S", "d", 2800.0, currency="EUR"),  # other currency: ignored
        tx("2024-05-02 10:00", "S", "e", 2490.0, amount=2699.99, currency="USD"),  # under band
    ]
    params = {"threshold": 3000, "currency": "USD", "min_count": 2, "window": "2d"}
    windows, evidence = run("structuring", rows, params)
    w = at(windows, "S", "2024-05-01 18:00")
    assert (w["count_in_band"], w["max_amount"], w["total"]) == (2, 2999.99, 5277.0)
    assert windows.height == 2
    assert sorted(evidence["account"]) == ["a", "b"]
    text = REGISTRY["structuring"].explain(w, params, timedelta(hours=9), 5277.0, "EUR")
    assert text == (
        "2 transfers in [2,700, 3,000) USD (≥ 2), max 2,999.99 USD, within 9h, 5,277 EUR"
    )
    # per-country thresholds (by src_country), the rest uses threshold
    rows = [
        tx("2024-05-01", "S", "a", 2950.0, src_country="US"),
        tx("2024-05-02", "S", "b", 950.0, src_country="us"),  # under the US band
        tx("2024-05-03", "S", "c", 950.0, src_country="FR"),
        tx("2024-05-04", "S", "d", 950.0, src_country=None),
    ]
    params = {"thresholds_by_country": {"US": 3000}, "min_count": 3}
    windows, _ = run("structuring", rows, params)
    w = at(windows, "S", "2024-05-04")
    assert (w["count_in_band"], w["threshold"], w["max_amount"]) == (3, 1000.0, 2950.0)


def test_structuring_split_mode() -> None:
    rows = [
        tx("2024-06-30 22:00", "S", "a", 400.0, src_agent="g1"),
        tx("2024-07-01 01:00", "S", "b", 300.0, src_agent="g2"),
        tx("2024-07-01 09:00", "S", "c", 300.0, src_agent="g3"),
        tx("2024-07-01 10:00", "S", "d", 5000.0),  # over T: not a piece
    ]
    params = {"mode": "split", "window": "1d", "min_count": 3}
    prim = REGISTRY["structuring"]
    assert list(prim.metrics(params)) == [
        "count_below",
        "total",
        "max_amount",
        "sum_amount",
        "threshold",
    ]
    windows, evidence = run("structuring", rows, params)
    w = at(windows, "S", "2024-07-01 09:00")
    assert (w["count_below"], w["sum_amount"], w["threshold"]) == (3, 1000.0, 1000.0)
    assert fires("structuring", w, params)  # sum reaches T exactly
    assert not fires("structuring", {**w, "sum_amount": 999.99}, params)
    assert not fires("structuring", w, {**params, "min_count": 4})
    assert "d" not in evidence["account"].to_list()
    text = prim.explain(w, params, timedelta(hours=11), 1000.0, "EUR")
    assert text == (
        "3 transfers each under 1,000 EUR (≥ 3) adding up to 1,000 EUR (≥ 1,000) "
        "within 11h, 1,000 EUR"
    )


def test_structuring_by_receiver_date_only() -> None:
    rows = [tx(f"2024-12-{d}", f"s{d}", "R", 990.0) for d in (25, 28, 31)]
    rows.append(tx("2025-01-01", "s9", "R", 990.0))
    params = {"side": "in", "min_count": 3, "window": "7d"}
    windows, evidence = run("structuring", rows, params)
    # (Dec 25, Jan 1]: Dec 25 is outside
    assert at(windows, "R", "2025-01-01")["count_in_band"] == 3
    assert at(windows, "R", "2024-12-31")["count_in_band"] == 3
    assert set(evidence["role"]) == {"sender"}


def test_structuring_rejects_bad_mode() -> None:
    with pytest.raises(ConfigError, match="mode"):
        REGISTRY["structuring"].metrics({"mode": "sliced"})


# corridor ----------------------------------------------------------------------------------------


def test_corridor_lists_and_thresholds() -> None:
    rows = [
        tx("2024-01-31 23:00", "S", "a", 400.0, src_country="FR", dst_country="LY"),
        tx("2024-02-01 02:00", "S", "b", 350.0, src_country="FR", dst_country="tr"),
        tx("2024-02-01 03:00", "S", "c", 999.0, src_country="DE", dst_country="LY"),  # from DE
        tx("2024-02-01 04:00", "S", "d", 999.0, src_country="FR", dst_country="FR"),
        tx("2024-02-01 05:00", "S", "e", 250.0, src_country="FR", dst_country="LY"),
        tx("2024-02-01 06:00", "S", "f", 999.0, src_country="FR", dst_country=None),
    ]
    lists = {"transit": ("LY", "TR")}
    params = {"from": ("FR",), "to": ("$transit",), "window": "1d", "min_amount": 1000}
    windows, evidence = run("corridor", rows, params, lists=lists)
    w = at(windows, "S", "2024-02-01 05:00")
    assert (w["count"], w["total"], w["start"]) == (3, 1000.0, ts("2024-01-31 23:00"))
    assert fires("corridor", w, params)
    assert not fires("corridor", w, {**params, "min_amount": 1000.01})
    assert not fires("corridor", at(windows, "S", "2024-02-01 02:00"), params)
    assert sorted(evidence["account"]) == ["a", "b", "e"]
    text = REGISTRY["corridor"].explain(w, params, timedelta(hours=6), 1000.0, "EUR")
    assert text == (
        "3 transfers (≥ 1) from FR to $transit totalling 1,000 EUR (≥ 1,000) within 6h, 1,000 EUR"
    )
    # no `from`: any sending country
    windows, _ = run("corridor", rows, {"to": ["LY"], "window": "1d"})
    assert at(windows, "S", "2024-02-01 05:00")["count"] == 3


def test_corridor_unknown_list() -> None:
    with pytest.raises(ConfigError, match=r"unknown list '\$nowhere'"):
        run("corridor", SMALL, {"to": ["$nowhere"]}, lists={"transit": ("LY",)})


# round_amounts -----------------------------------------------------------------------------------


def test_round_amounts_share_edges() -> None:
    rows = [
        tx("2024-03-31 20:00", "S", "a", 90.0, amount=100.0, currency="USD"),  # round in USD
        tx("2024-03-31 21:00", "S", "b", 200.0),
        tx("2024-04-01 01:00", "S", "c", 300.004),  # round to half a cent
        tx("2024-04-01 02:00", "S", "d", 250.0),  # not a multiple of 100
        tx("2024-04-01 03:00", "S", "e", 1000.0),
    ]
    params = {"window": "1d", "min_count": 4, "min_share": 0.8, "unit": 100}
    windows, evidence = run("round_amounts", rows, params)
    w = at(windows, "S", "2024-04-01 03:00")
    assert (w["count"], w["round_count"], w["round_share"]) == (5, 4, 0.8)
    assert fires("round_amounts", w, params)  # 0.8 ≥ 0.8
    w4 = at(windows, "S", "2024-04-01 02:00")
    assert (w4["round_count"], w4["round_share"]) == (3, 0.75)
    assert not fires("round_amounts", w4, {**params, "min_count": 3})  # 0.75 < 0.8
    assert sorted(evidence["account"]) == ["a", "b", "c", "e"]
    text = REGISTRY["round_amounts"].explain(w, params, timedelta(hours=7), 1840.0, "EUR")
    assert text == (
        "4 of 5 transfers (80 %, ≥ 80 %) in multiples of 100 (≥ 4) within 7h, 1,840 EUR"
    )
    windows, _ = run("round_amounts", rows, {**params, "unit": 1000, "min_count": 1})
    assert at(windows, "S", "2024-04-01 03:00")["round_count"] == 1
    # S has one round transfer of 1000 in all: with min_count 2 none of its windows can fire
    windows, _ = run("round_amounts", rows, {**params, "unit": 1000, "min_count": 2})
    assert windows.is_empty()
    with pytest.raises(ConfigError, match="unit"):
        run("round_amounts", rows, {"unit": 0})


# velocity_spike ----------------------------------------------------------------------------------


def _weekly(amounts: Sequence[float]) -> list[dict[str, Any]]:
    start = ts("2024-01-01")
    return [tx(start + timedelta(days=7 * i), "A", f"r{i}", a) for i, a in enumerate(amounts)]


def test_velocity_spike_flat_history() -> None:
    params = {"window": "7d", "history": "28d"}
    windows, _ = run("velocity_spike", _weekly([100, 100, 100, 100, 500]), params)
    # date-only: the window ending Jan 8 is (Jan 1, Jan 8]: last week's transfer is outside
    assert at(windows, "A", "2024-01-08")["window_total"] == 100.0
    w = at(windows, "A", "2024-01-29")
    assert (w["window_total"], w["history_windows"], w["history_mean"]) == (500.0, 4, 100.0)
    assert (w["history_std"], w["previous_max"], w["factor"]) == (0.0, 100.0, 5.0)
    assert fires("velocity_spike", w, params)
    assert fires("velocity_spike", w, {**params, "min_factor": 5})
    assert not fires("velocity_spike", w, {**params, "min_factor": 5.01})
    assert not fires("velocity_spike", w, {**params, "min_history": 5})
    # the history window ending exactly `window + history` before is outside
    windows, _ = run("velocity_spike", _weekly([100, 100, 100, 100, 500]), {"history": "21d"})
    assert at(windows, "A", "2024-01-29")["history_windows"] == 3


def test_velocity_spike_sigma_edges() -> None:
    params = {"window": "7d", "history": "28d", "k_sigma": 3, "min_factor": 1.5}
    windows, _ = run("velocity_spike", _weekly([100, 200, 100, 200, 300]), params)
    w = at(windows, "A", "2024-01-29")
    assert (w["history_mean"], w["history_std"], w["previous_max"]) == (150.0, 50.0, 200.0)
    assert w["factor"] == 1.5
    assert fires("velocity_spike", w, params)  # 300 = 150 + 3·50 and 1.5 = 1.5
    windows, _ = run("velocity_spike", _weekly([100, 200, 100, 200, 299]), params)
    assert not fires("velocity_spike", at(windows, "A", "2024-01-29"), params)
    windows, _ = run("velocity_spike", _weekly([100, 200, 100, 200, 299]), params)
    assert not fires("velocity_spike", at(windows, "A", "2024-01-29"), {**params, "k_sigma": 0})
    prim = REGISTRY["velocity_spike"]
    assert prim.lookback(params) == timedelta(days=42)
    text = prim.explain(w, params, timedelta(0), 300.0, "EUR")
    assert text == (
        "7d total 300 EUR = 1.5× the previous maximum 200 (≥ 1.5×), 3σ above the mean 150 "
        "of 4 windows in 28d (≥ 3σ); 1 transfer within 0s, 300 EUR"
    )


def test_velocity_spike_no_history() -> None:
    windows, _ = run("velocity_spike", _weekly([100]), {})
    w = at(windows, "A", "2024-01-01")
    assert (w["history_windows"], w["history_mean"], w["factor"]) == (0, None, None)
    assert not fires("velocity_spike", w, {"min_history": 1})


# dormant_then_active -----------------------------------------------------------------------------


DORMANT_ROWS = [
    tx("2024-01-01 12:00", "x", "A", 50.0),
    tx("2024-04-10 12:00", "A", "y", 300.0),  # 100 days later
    tx("2024-04-11 12:00", "z", "A", 200.0),
    tx("2024-04-11 12:00", "A", "w", 100.0),  # tie
    tx("2024-04-20 12:00", "A", "y", 100.0),
]


def test_dormant_then_active_gap_and_edges() -> None:
    params = {"dormancy": "90d", "window": "7d", "min_count": 3, "min_amount": 600}
    windows, evidence = run("dormant_then_active", DORMANT_ROWS, params)
    w = at(windows, "A", "2024-04-11 12:00")
    assert (w["count"], w["total"], w["gap"]) == (3, 600.0, 100 * 86400)
    assert w["start"] == ts("2024-04-10 12:00")
    assert fires("dormant_then_active", w, params)
    assert fires("dormant_then_active", w, {**params, "dormancy": "100d"})
    assert not fires("dormant_then_active", w, {**params, "dormancy": "100d1s"})
    assert not fires("dormant_then_active", w, {**params, "min_count": 4})
    assert not fires("dormant_then_active", w, {**params, "min_amount": 600.01})
    # the window slides past the first transfer after the gap: no longer dormant
    later = at(windows, "A", "2024-04-20 12:00")
    assert (later["start"], later["gap"], later["count"]) == (ts("2024-04-20 12:00"), 9 * 86400, 1)
    # the first transfer of a focus: no earlier activity, no gap
    assert at(windows, "A", "2024-01-01 12:00")["gap"] is None
    assert set(evidence.filter(pl.col("focus") == "A")["role"]) == {"sender", "receiver"}
    text = REGISTRY["dormant_then_active"].explain(w, params, timedelta(days=1), 600.0, "EUR")
    assert text == (
        "3 transfers (≥ 3) within 1d after 100d dormant (≥ 90d), 600 EUR; "
        "burst total 600 EUR (≥ 600)"
    )


def test_dormant_then_active_outflows_only() -> None:
    windows, _ = run("dormant_then_active", DORMANT_ROWS, {"side": "out", "dormancy": "9d"})
    w = at(windows, "A", "2024-04-11 12:00")
    # A's first outflow is the one on Apr 10: no earlier outflow
    assert (w["count"], w["gap"]) == (2, None)
    assert at(windows, "A", "2024-04-20 12:00")["gap"] == 9 * 86400
    # no outflow of A follows a 10-day pause: none of its windows is computed
    windows, _ = run("dormant_then_active", DORMANT_ROWS, {"side": "out", "dormancy": "10d"})
    assert windows.filter(pl.col("focus") == "A").is_empty()


# aggregate ---------------------------------------------------------------------------------------


AGENT_ROWS = [
    tx("2024-08-31 21:00", "S", "r1", 450.0, src_agent="g1", channel="cash"),
    tx("2024-09-01 00:30", "S", "r2", 400.0, src_agent="g2", channel="cash"),
    tx("2024-09-01 00:30", "S", "r2", 380.0, amount=420.0, currency="USD", src_agent="g2"),
    tx("2024-09-02 20:00", "S", "r3", 500.0, src_agent="g3", channel="cash"),
    tx("2024-09-01 10:00", "r1", "S", 70.0, src_agent=None),  # an inflow of S
]

MEASURES = {
    "agents": "distinct(src_agent)",
    "cash": "share(channel = 'cash')",
    "biggest": "max(amount_base)",
    "smallest": "min(amount)",
    "avg": "mean(amount_base)",
    "usd": "sum(amount)",
    "n": "count",
    "receivers": "distinct(counterparty)",
}


def test_aggregate_agent_hopping() -> None:
    params = {"side": "out", "window": "2d", "measures": MEASURES}
    windows, evidence = run("aggregate", AGENT_ROWS, params)
    assert windows.columns[:5] == ["focus", "start", "end", "count", "total"]
    w = at(windows, "S", "2024-09-02 20:00")
    # (Aug 31 20:00, Sep 2 20:00]: all four outflows
    assert (w["count"], w["agents"], w["n"], w["receivers"]) == (4, 3, 4, 3)
    assert (w["cash"], w["biggest"], w["smallest"]) == (0.75, 500.0, 400.0)
    assert w["avg"] == pytest.approx(432.5)
    assert w["total"] == pytest.approx(1730.0)
    assert w["usd"] == pytest.approx(1770.0)
    assert at(windows, "S", "2024-09-01 00:30")["agents"] == 2
    assert set(evidence["role"]) == {"receiver"}
    text = REGISTRY["aggregate"].explain(w, params, timedelta(days=1, hours=23), 1730.0, "EUR")
    assert text == (
        "4 transfers (≥ 1) within 1d 23h, 1,730 EUR; agents 3, cash 0.75, biggest 500, "
        "smallest 400, avg 432.5, usd 1,770, n 4, receivers 3"
    )


def test_aggregate_both_sides_and_min_count() -> None:
    params = {"side": "both", "window": "2d", "min_count": 5}
    windows, evidence = run("aggregate", AGENT_ROWS, params)
    w = at(windows, "S", "2024-09-02 20:00")
    assert (w["count"], w["total"]) == (5, 1800.0)
    assert fires("aggregate", w, params)
    assert not fires("aggregate", w, {**params, "min_count": 6})
    s_roles = evidence.filter(pl.col("focus") == "S").select("account", "role").unique()
    assert ("r1", "sender") in s_roles.rows()
    assert ("r1", "receiver") in s_roles.rows()


def test_aggregate_share_with_a_list() -> None:
    params = {"window": "2d", "measures": {"risky": "share(dst_account in $watch)"}}
    windows, _ = run("aggregate", AGENT_ROWS, params, lists={"watch": ("r2",)})
    assert at(windows, "S", "2024-09-02 20:00")["risky"] == 0.5


@pytest.mark.parametrize(
    ("measures", "message"),
    [
        ({"x": "median(amount)"}, "is not one of"),
        ({"x": "distinct(agent)"}, "unknown column 'agent'"),
        ({"x": "count(tx_id)"}, "count takes no argument"),
        ({"x": "sum()"}, "needs an argument"),
        ({"x": "sum(channel)"}, "numeric column"),
        ({"total": "sum(amount)"}, "built-in metric"),
        ({"bad name": "count"}, "bad name"),
        ({"x": "share(amount >)"}, "share"),
        (["count"], "expects a mapping"),
    ],
)
def test_aggregate_bad_measures(measures: Any, message: str) -> None:
    prim = REGISTRY["aggregate"]
    with pytest.raises(ConfigError, match=message) as err:
        prim.metrics({"window": "1d", "measures": measures})
    assert err.value.code == "FI113"


def test_aggregate_needs_a_window() -> None:
    with pytest.raises(ConfigError, match="'window' is required"):
        run("aggregate", SMALL, {})


def test_aggregate_builtin_names_may_be_restated() -> None:
    prim = REGISTRY["aggregate"]
    got = prim.metrics(
        {"window": "1d", "measures": {"count": "count", "total": "sum(amount_base)"}}
    )
    assert list(got) == ["count", "total"]


# property tests against the reference ------------------------------------------------------------

BASE = ts("2024-01-30 18:00")  # the grid straddles midnights and the end of January
ACCOUNTS = ["a", "b", "c", "d"]
PARTIES = ["p", "q", None]
COUNTRIES = ["FR", "LY", "TR", None]
AMOUNTS = [100.0, 250.5, 899.99, 900.0, 950.0, 999.99, 1000.0, 1500.0, 2700.0, 3000.0]
WINDOWS = [timedelta(hours=6), timedelta(hours=18), timedelta(days=1), timedelta(days=3)]


@st.composite
def transfer_rows(draw: st.DrawFn) -> list[dict[str, Any]]:
    n = draw(st.integers(0, 40))
    rows = []
    for i in range(n):
        currency = draw(st.sampled_from(["EUR", "USD"]))
        amount = draw(st.sampled_from(AMOUNTS))
        rows.append(
            tx(
                BASE + timedelta(hours=6 * draw(st.integers(0, 24))),
                draw(st.sampled_from(ACCOUNTS)),
                draw(st.sampled_from(ACCOUNTS)),
                amount if currency == "EUR" else round(amount * 0.9, 2),
                amount=amount,
                currency=currency,
                tx_id=f"x{i:02d}",
                source=draw(st.sampled_from(["s1", "s2"])),
                src_party=draw(st.sampled_from(PARTIES)),
                dst_party=draw(st.sampled_from(PARTIES)),
                src_country=draw(st.sampled_from(COUNTRIES)),
                dst_country=draw(st.sampled_from(COUNTRIES)),
                src_agent=draw(st.sampled_from(["g1", "g2", None])),
                channel=draw(st.sampled_from(["mto", "cash"])),
            )
        )
    return rows


def _fixed_random_rows(seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [
        tx(
            BASE + timedelta(hours=6 * rng.randint(0, 24)),
            rng.choice(ACCOUNTS),
            rng.choice(ACCOUNTS),
            rng.choice(AMOUNTS),
            tx_id=f"y{i % 7}",  # repeated ids, told apart by source
            source=f"s{i}",
            src_country=rng.choice(COUNTRIES),
            dst_country=rng.choice(COUNTRIES),
        )
        for i in range(30)
    ]


def assert_windows_match(got: pl.DataFrame, want: ref.Windows) -> None:
    rows = {(r["focus"], r["end"]): r for r in got.iter_rows(named=True)}
    assert set(rows) == set(want), (sorted(rows), sorted(want))
    for key, expected in want.items():
        actual = rows[key]
        for name, value in expected.items():
            if isinstance(value, float):
                assert actual[name] == pytest.approx(value, rel=1e-9, abs=1e-6), (key, name)
            else:
                assert actual[name] == value, (key, name, actual[name], value)


PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
group_bys = st.sampled_from(["account", "party"])


def assert_pruned_match(got: pl.DataFrame, want: ref.Windows, firing: set[str]) -> None:
    """``got`` has every window of ``want`` for the foci it computed, and it computed every
    focus in ``firing`` (those with a window that fires): the others are pruned."""
    computed = set(got["focus"])
    assert_windows_match(got, {k: v for k, v in want.items() if k[0] in computed})
    assert firing <= computed, (sorted(firing), sorted(computed))


@PROPERTY
@given(
    transfer_rows(),
    st.sampled_from(WINDOWS),
    st.sampled_from(["in", "out"]),
    group_bys,
    st.sampled_from([1, 2, 3, 5]),
    st.sampled_from([0, 1, 2, 3]),
)
def test_fan_matches_reference(
    rows: list[dict[str, Any]],
    window: timedelta,
    side: str,
    group_by: str,
    min_counterparties: int,
    min_countries: int,
) -> None:
    kind = "fan_in" if side == "in" else "fan_out"
    params = {
        "window": window,
        "min_counterparties": min_counterparties,
        "min_countries": min_countries,
    }
    got, _ = run(kind, rows, params, group_by=group_by)
    want = ref.fan(rows, side, window, group_by)
    cp, countries = (
        ("distinct_senders", "distinct_src_countries")
        if side == "in"
        else ("distinct_receivers", "distinct_dst_countries")
    )
    firing = {
        focus
        for (focus, _), v in want.items()
        if v[cp] >= min_counterparties and v[countries] >= min_countries
    }
    assert_pruned_match(got, want, firing)


@PROPERTY
@given(transfer_rows(), st.sampled_from(WINDOWS), st.sampled_from(["in", "out", "both"]), group_bys)
def test_aggregate_matches_reference(
    rows: list[dict[str, Any]], window: timedelta, side: str, group_by: str
) -> None:
    measures = {
        "agents": "distinct(src_agent)",
        "countries": "distinct(counterparty_country)",
        "cash": "share(channel = 'cash')",
        "hi": "max(amount_base)",
        "lo": "min(amount)",
        "avg": "mean(amount)",
        "s": "sum(amount)",
    }
    ref_measures = {
        "agents": ("distinct", "src_agent"),
        "countries": ("distinct", "counterparty_country"),
        "cash": ("share", lambda r: r["channel"] == "cash"),
        "hi": ("max", "amount_base"),
        "lo": ("min", "amount"),
        "avg": ("mean", "amount"),
        "s": ("sum", "amount"),
    }
    params = {"side": side, "window": window, "measures": measures}
    got, _ = run("aggregate", rows, params, group_by=group_by)
    assert_windows_match(got, ref.aggregate(rows, side, window, ref_measures, group_by))


@PROPERTY
@given(
    transfer_rows(),
    st.sampled_from(WINDOWS),
    st.sampled_from(["in", "out"]),
    st.sampled_from(["band", "split"]),
    st.sampled_from([None, "USD"]),
    st.booleans(),
    st.sampled_from([1, 2, 3, 4]),
)
def test_structuring_matches_reference(
    rows: list[dict[str, Any]],
    window: timedelta,
    side: str,
    mode: str,
    currency: str | None,
    by_country: bool,
    min_count: int,
) -> None:
    thresholds = {"LY": 3000.0} if by_country else {}
    params = {
        "window": window,
        "side": side,
        "mode": mode,
        "currency": currency,
        "thresholds_by_country": thresholds,
        "min_count": min_count,
    }
    got, evidence = run("structuring", rows, params)
    want = ref.structuring(
        rows,
        window=window,
        side=side,
        mode=mode,
        currency=currency,
        by_country=thresholds,
    )
    name = "count_in_band" if mode == "band" else "count_below"
    assert_pruned_match(got, want, {f for (f, _), v in want.items() if v[name] >= min_count})
    if min_count == 1 or mode == "split":  # nothing is pruned (split mode never prunes)
        assert_windows_match(got, want)
    kept = ref.structuring_rows(
        rows, window=window, side=side, mode=mode, currency=currency, by_country=thresholds
    )
    assert sorted(evidence.select("focus", "source", "tx_id").rows()) == sorted(
        (r["focus"], r["source"], r["tx_id"]) for r in kept
    )


@PROPERTY
@given(
    transfer_rows(),
    st.sampled_from(WINDOWS),
    st.sampled_from([None, ("FR",), ("FR", "$transit")]),
    st.sampled_from([None, ("$transit",), ("FR", "LY")]),
    group_bys,
)
def test_corridor_matches_reference(
    rows: list[dict[str, Any]],
    window: timedelta,
    src: tuple[str, ...] | None,
    dst: tuple[str, ...] | None,
    group_by: str,
) -> None:
    lists = {"transit": ("LY", "TR")}

    def expand(v: tuple[str, ...] | None) -> set[str] | None:
        if v is None:
            return None
        return {c for item in v for c in (lists["transit"] if item == "$transit" else (item,))}

    got, _ = run(
        "corridor", rows, {"from": src, "to": dst, "window": window}, group_by=group_by, lists=lists
    )
    assert_windows_match(got, ref.corridor(rows, expand(src), expand(dst), window, group_by))


@PROPERTY
@given(
    transfer_rows(),
    st.sampled_from(WINDOWS),
    st.sampled_from([100.0, 50.0, 0.5]),
    st.sampled_from([1, 2, 3]),
)
def test_round_amounts_matches_reference(
    rows: list[dict[str, Any]], window: timedelta, unit: float, min_count: int
) -> None:
    params = {"window": window, "unit": unit, "side": "both", "min_count": min_count}
    got, _ = run("round_amounts", rows, params)
    want = ref.round_amounts(rows, window, unit, side="both")
    # only foci with min_count round transfers in all get windows (no other can fire), all
    assert_pruned_match(
        got, want, {f for (f, _), v in want.items() if v["round_count"] >= min_count}
    )


@PROPERTY
@given(
    transfer_rows(),
    st.sampled_from(WINDOWS),
    st.sampled_from([timedelta(days=1), timedelta(days=2), timedelta(hours=30)]),
    st.sampled_from(["in", "out", "both"]),
)
def test_velocity_spike_matches_reference(
    rows: list[dict[str, Any]], window: timedelta, history: timedelta, side: str
) -> None:
    got, _ = run("velocity_spike", rows, {"window": window, "history": history, "side": side})
    assert_windows_match(got, ref.velocity_spike(rows, window, history, side))


@PROPERTY
@given(
    transfer_rows(),
    st.sampled_from(WINDOWS),
    st.sampled_from(["in", "out", "both"]),
    group_bys,
    st.sampled_from([timedelta(hours=1), timedelta(days=1), timedelta(days=3)]),
)
def test_dormant_then_active_matches_reference(
    rows: list[dict[str, Any]], window: timedelta, side: str, group_by: str, dormancy: timedelta
) -> None:
    params = {"window": window, "side": side, "dormancy": dormancy}
    got, _ = run("dormant_then_active", rows, params, group_by=group_by)
    want = ref.dormant_then_active(rows, window, side, group_by)
    # only the foci with a dormant gap get windows (no other can fire), all of theirs
    woken = set(got["focus"])
    assert_windows_match(got, {k: v for k, v in want.items() if k[0] in woken})
    quiet = [k for k, v in want.items() if (v["gap"] or 0) >= dormancy.total_seconds()]
    assert {focus for focus, _ in quiet} <= woken


# through the rule loader and the engine ----------------------------------------------------------

RULES_A = {
    "transit.yaml": "list: transit\ndescription: test\ntype: countries\nvalues: [LY, TR]\n",
    "fan.yaml": """
id: collector
family: fan_in
description: many senders from several countries
pattern:
  kind: fan_in
  window: 2d
  min_counterparties: 4
  min_countries: 2
""",
    "hop.yaml": """
id: hopping
family: aggregate
description: a sender hopping between agents
pattern:
  kind: aggregate
  window: 2d
  measures:
    agents: distinct(src_agent)
    cash: share(channel = 'cash')
having: agents >= 3 and cash >= 0.5
""",
    "smurf.yaml": """
id: smurf
family: structuring
description: just under the US threshold
pattern:
  kind: structuring
  threshold: 3000
  currency: USD
  min_count: 2
  window: 1d
""",
    "corridor.yaml": """
id: to-transit
family: corridor
description: France to transit countries
pattern:
  kind: corridor
  from: [FR]
  to: [$transit]
  min_count: 2
""",
}


def test_rules_through_the_loader_and_engine(tmp_path: Any) -> None:
    from finintel.typology.engine import detect
    from finintel.typology.loader import load_rules

    for name, text in RULES_A.items():
        (tmp_path / name).write_text(text.lstrip(), encoding="utf-8")
    ruleset = load_rules(tmp_path, kinds={k: REGISTRY[k] for k in KINDS})
    rows = [
        *FAN_ROWS,
        *AGENT_ROWS,
        tx("2024-05-01 09:00", "U", "a", 2500.0, amount=2700.0, currency="USD"),
        tx("2024-05-01 18:00", "U", "b", 2777.0, amount=2999.99, currency="USD"),
        tx("2024-05-03", "F", "x", 100.0, src_country="FR", dst_country="LY"),
        tx("2024-05-04", "F", "y", 100.0, src_country="FR", dst_country="TR"),
    ]
    alerts = detect(frame(rows), ruleset).table
    got = {(a["typology"], a["focus"]): a for a in alerts.iter_rows(named=True)}
    assert sorted(got) == [
        ("collector", "R"),
        ("hopping", "S"),
        ("smurf", "U"),
        ("to-transit", "F"),
    ]
    fan = got["collector", "R"]
    assert fan["focus_role"] == "collector"
    assert fan["explanation"].startswith("5 distinct senders (≥ 4) from 3 countries (≥ 2)")
    assert fan["n_transfers"] == 6
    hop = got["hopping", "S"]
    assert hop["n_transfers"] == 4
    assert hop["explanation"].startswith("4 transfers (≥ 1) within 1d 23h, 1,730 EUR; agents 3")
    assert got["smurf", "U"]["explanation"].startswith("2 transfers in [2,700, 3,000) USD")
    assert got["to-transit", "F"]["n_transfers"] == 2


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("kind: aggregate\n  window: 1d\n  measures: {x: median(amount)}", "is not one of"),
        ("kind: aggregate\n  window: 1d\n  measures: {x: share(amout > 1)}", "unknown column"),
        ("kind: structuring\n  band: 1.5", "'band' must be in [0, 1)"),
        ("kind: structuring\n  thresholds_by_country: {US: lots}", "expects a number"),
        ("kind: round_amounts\n  unit: 0", "'unit' must be positive"),
    ],
)
def test_loader_reports_parameter_problems(tmp_path: Any, pattern: str, message: str) -> None:
    from finintel.errors import FinintelError
    from finintel.typology.loader import load_rules

    text = f"id: bad\nfamily: x\ndescription: x\npattern:\n  {pattern}\n"
    (tmp_path / "bad.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(FinintelError) as err:
        load_rules(tmp_path / "bad.yaml", kinds={k: REGISTRY[k] for k in KINDS})
    assert "FI113" in str(err.value)
    assert message in str(err.value)
