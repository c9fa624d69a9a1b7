"""Pruning foci (:func:`~finintel.typology.primitives.windows.prune_foci`) is exact.

A windowed kind leaves out the foci none of whose windows can fire. On generated data and for
drawn parameters (and ``having`` clauses, which only narrow the kind's condition), the windows
it still builds are the unpruned ones of those foci, every focus with a window meeting the
condition is among them, and the alerts (ids, periods, metrics, evidence) are the same as
without pruning, over the whole history and in time chunks.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from types import SimpleNamespace
from typing import Any
from unittest import mock

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from finintel.typology.engine import detect
from finintel.typology.expr import parse
from finintel.typology.primitives import fan_in, round_amounts, structuring
from finintel.typology.primitives.windows import FOCUS
from tests.typology.test_primitives_a import (
    AMOUNTS,
    BASE,
    COUNTRIES,
    PARTIES,
    frame,
    kept,
    run,
    tx,
)

#: The modules whose kinds prune foci (fan_out is fan_in's Fan), and those kinds.
PRUNING = (fan_in, round_amounts, structuring)
KINDS = ("fan_in", "fan_out", "structuring", "round_amounts")

MANY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
hours = st.sampled_from([timedelta(hours=6), timedelta(hours=18), timedelta(days=1)])
#: A few busy accounts and many quiet ones: some foci can fire, the others are pruned.
ACCOUNTS = ["a"] * 6 + ["b"] * 4 + ["c"] * 2 + ["d", "e", "f", "g", "h"]
#: More amounts just under 1,000 and 3,000 (structuring's bands).
AMOUNTS_BANDED = [*AMOUNTS, 920.0, 990.0, 2800.0]


@contextmanager
def unpruned() -> Iterator[None]:
    """Every kind builds the windows of all its foci."""
    with ExitStack() as stack:
        for module in PRUNING:
            stack.enter_context(mock.patch.object(module, "prune_foci", lambda f, *_: f))
        yield


@st.composite
def skewed_rows(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Up to 80 transfers over three days between busy and quiet accounts, and a burst of up
    to 5 transfers just under 1,000 from ``a`` to as many receivers within 5 hours."""
    rows = []
    for i in range(draw(st.integers(0, 80))):
        currency = draw(st.sampled_from(["EUR", "USD"]))
        amount = draw(st.sampled_from(AMOUNTS_BANDED))
        rows.append(
            tx(
                BASE + timedelta(hours=3 * draw(st.integers(0, 24))),
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
            )
        )
    for k in range(draw(st.integers(0, 5))):
        rows.append(
            tx(
                BASE + timedelta(hours=24 + k),
                "a",
                f"r{k}",
                draw(st.sampled_from([920.0, 950.0, 990.0])),
                tx_id=f"y{k}",
                dst_country=draw(st.sampled_from(COUNTRIES)),
            )
        )
    return rows


@st.composite
def cases(draw: st.DrawFn, kind: str) -> tuple[dict[str, Any], str | None]:
    """Parameters of ``kind`` (thresholds around what the busy accounts reach) and a
    ``having`` over its metrics (or none)."""
    params: dict[str, Any] = {"window": draw(hours)}
    if kind in ("fan_in", "fan_out"):
        params["min_counterparties"] = draw(st.integers(1, 5))
        params["min_countries"] = draw(st.integers(0, 3))
        having = draw(st.sampled_from([None, "total >= 1000", "count >= 3 or total > 5000"]))
    elif kind == "structuring":
        # mostly the band of a's burst (split mode does not prune)
        params["min_count"] = draw(st.sampled_from([2, 3, 1, 4]))
        params["mode"] = draw(st.sampled_from(["band", "band", "split"]))
        params["side"] = draw(st.sampled_from(["out", "out", "in"]))
        params["currency"] = draw(st.sampled_from([None, None, "USD"]))
        having = draw(st.sampled_from([None, "total >= 1500", "max_amount < 950"]))
    else:
        params["min_count"] = draw(st.integers(1, 4))
        params["min_share"] = draw(st.sampled_from([0.0, 0.5]))
        params["unit"] = draw(st.sampled_from([100.0, 50.0]))
        params["side"] = draw(st.sampled_from(["in", "out", "both"]))
        having = draw(st.sampled_from([None, "count >= 4", "round_share < 0.9"]))
    return params, having


def ruleset(kind: str, params: Mapping[str, Any], having: str | None, group_by: str) -> Any:
    rule = SimpleNamespace(
        id=f"t-{kind}", version=1, family=kind, kind=kind, severity="medium", channels=(),
        where=None, where_pos=(1, 1), having=None if having is None else parse(having),
        having_pos=(1, 1), group_by=group_by, file="t.yaml", params=dict(params),
        fingerprint="abc",
    )  # fmt: skip
    return SimpleNamespace(rules=(rule,), lists={})


@pytest.mark.parametrize("kind", KINDS)
@MANY
@given(data=st.data(), rows=skewed_rows(), group_by=st.sampled_from(["account", "party"]))
def test_pruned_windows_are_the_unpruned_ones_of_the_foci_that_can_fire(
    kind: str, data: st.DataObject, rows: list[dict[str, Any]], group_by: str
) -> None:
    params, _ = data.draw(cases(kind))
    got, evidence = run(kind, rows, params, group_by=group_by)
    with unpruned():
        want, want_evidence = run(kind, rows, params, group_by=group_by)
    computed = want.filter(pl.col(FOCUS).is_in(got[FOCUS].unique().implode()))
    assert_frame_equal(got, computed)
    assert set(kept(kind, want, params)[FOCUS]) <= set(got[FOCUS])
    assert_frame_equal(evidence, want_evidence)


@pytest.mark.parametrize("kind", KINDS)
@MANY
@given(
    data=st.data(),
    rows=skewed_rows(),
    group_by=st.sampled_from(["account", "party"]),
    time_chunks=st.sampled_from([None, 3]),
)
def test_alerts_with_and_without_pruning_are_the_same(
    kind: str,
    data: st.DataObject,
    rows: list[dict[str, Any]],
    group_by: str,
    time_chunks: int | None,
) -> None:
    rules = ruleset(kind, *data.draw(cases(kind)), group_by)
    got = detect(frame(rows), rules, time_chunks=time_chunks).table
    with unpruned():
        want = detect(frame(rows), rules, time_chunks=time_chunks).table
    assert_frame_equal(got, want)


def test_a_busy_receiver_keeps_its_windows_the_others_are_pruned() -> None:
    rows = [tx(f"2024-02-01 0{h}:00", f"s{h}", "R", 100.0 * h) for h in range(1, 6)]
    rows += [tx("2024-02-01 01:00", "A", "B", 50.0), tx("2024-02-01 02:00", "C", "B", 60.0)]
    params = {"window": "1d", "min_counterparties": 3}
    windows, _ = run("fan_in", rows, params)
    with unpruned():
        everything, _ = run("fan_in", rows, params)
    assert set(windows[FOCUS]) == {"R"}
    assert set(everything[FOCUS]) == {"B", "R"}
    alerts = detect(frame(rows), ruleset("fan_in", params, None, "account")).table
    assert alerts.select("focus", "tx_ids").rows() == [("R", [r["tx_id"] for r in rows[:5]])]
