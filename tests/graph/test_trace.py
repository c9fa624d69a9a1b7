"""Flow tracing: hand-computed examples per policy, conservation properties, outputs, a drop."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from finintel.errors import FinintelError
from finintel.graph.trace import POLICIES, Flows, TraceError, trace

T0 = datetime(2024, 3, 1, tzinfo=UTC)


def frame(rows: Sequence[tuple[str, str, float, float]]) -> pl.DataFrame:
    """Transfers from (src, dst, day offset, amount); tx ids in row order."""
    return pl.DataFrame(
        {
            "tx_id": [f"t{i:02d}" for i in range(len(rows))],
            "src_account": [r[0] for r in rows],
            "dst_account": [r[1] for r in rows],
            "ts": [T0 + timedelta(days=r[2]) for r in rows],
            "amount_base": [float(r[3]) for r in rows],
        },
        schema_overrides={"ts": pl.Datetime("us", "UTC")},
    )


def ended(f: Flows, policy: str) -> dict[str, float]:
    ep = f.endpoints.filter(pl.col("policy") == policy)
    return {a: round(v, 3) for a, v in ep.select("account", "traced_amount").rows() if v > 0}


def carried(f: Flows, policy: str) -> dict[str, float]:
    fl = f.flows.filter(pl.col("policy") == policy)
    return {t: round(v, 3) for t, v in fl.select("tx_id", "traced_amount").rows()}


# S pays X, which already held 100 of unknown origin; X splits to Y and Z; both pay W (merge).
CHAIN = [
    ("U", "X", 0, 100),  # t00 unknown-origin funds already on X
    ("S", "X", 1, 100),  # t01 hop 1
    ("X", "Y", 2, 50),  # t02 hop 2
    ("X", "Z", 3, 150),  # t03 hop 2
    ("Y", "W", 4, 50),  # t04 hop 3 (same day as t05)
    ("Z", "W", 4, 100),  # t05 hop 3
]


def test_chain_fifo() -> None:
    f = trace(frame(CHAIN), "S", policy="fifo")
    # X's queue: 100 unknown then 100 traced. t02 takes unknown; t03 takes 50 unknown + 100
    # traced; Z then holds 150 of which 100 traced and passes 100 → 100·100/150 traced.
    assert carried(f, "fifo") == {"t01": 100.0, "t03": 100.0, "t05": 66.667}
    assert ended(f, "fifo") == {"Z": 33.333, "W": 66.667}


def test_chain_lifo() -> None:
    f = trace(frame(CHAIN), "S", policy="lifo")
    # The newest lot (traced) goes first: t02 carries 50, t03 the other 50 (+100 unknown).
    assert carried(f, "lifo") == {
        "t01": 100.0,
        "t02": 50.0,
        "t03": 50.0,
        "t04": 50.0,
        "t05": 33.333,
    }
    assert ended(f, "lifo") == {"Z": 16.667, "W": 83.333}


def test_chain_proportional() -> None:
    f = trace(frame(CHAIN), "S", policy="proportional")
    # X's pool 200 (100 traced): t02 carries 50·½ = 25, t03 takes the rest: 150·(75/150) = 75.
    assert carried(f, "proportional") == {
        "t01": 100.0,
        "t02": 25.0,
        "t03": 75.0,
        "t04": 25.0,
        "t05": 50.0,
    }
    assert ended(f, "proportional") == {"Z": 25.0, "W": 75.0}


def test_chain_poison_and_hops() -> None:
    f = trace(frame(CHAIN), "S", policy="poison")
    assert carried(f, "poison") == {"t01": 100, "t02": 50, "t03": 150, "t04": 50, "t05": 100}
    assert ended(f, "poison") == {"X": 100, "Y": 50, "Z": 150, "W": 150}
    hops = dict(f.flows.select("tx_id", "hop").rows())
    assert hops == {"t01": 1, "t02": 2, "t03": 2, "t04": 3, "t05": 3}
    assert "t00" not in hops  # unknown-origin money is never traced


def test_endpoints_bounds_across_policies() -> None:
    f = trace(frame(CHAIN), "S")  # all four by default
    assert f.policies == list(POLICIES)
    w = f.endpoints.filter(pl.col("account") == "W").row(0, named=True)
    assert round(w["lower"], 3) == 66.667 and w["lower_policy"] == "fifo"
    assert w["upper"] == 150 and w["upper_policy"] == "poison"
    x = f.endpoints.filter(pl.col("account") == "X").row(0, named=True)
    assert x["lower"] == 0 and x["lower_policy"] == "proportional,fifo,lifo"
    assert set(f.endpoints["account"]) == {"X", "Y", "Z", "W"}
    assert f.endpoints.height == 16  # every endpoint has a row per policy
    assert all(v["ok"] for k, v in f.conservation.items() if k != "poison")


def test_equal_timestamps_trace() -> None:
    # Date-only data: all on the same day still traces along the chain.
    f = trace(frame([("S", "A", 1, 100), ("A", "B", 1, 100), ("B", "C", 1, 100)]), "S")
    for p in POLICIES:
        assert ended(f, p).get("C") == 100.0, p


def test_out_of_order_hop_not_followed() -> None:
    f = trace(frame([("A", "B", 0, 80), ("S", "A", 1, 100)]), "S")
    assert set(f.flows["tx_id"]) == {"t01"}
    assert ended(f, "fifo") == {"A": 100.0}


def test_max_hop_delay_limit() -> None:
    rows = [("S", "A", 1, 100), ("A", "B", 10, 100)]
    f = trace(frame(rows), "S", max_hop_delay="7d", policy="fifo")
    assert ended(f, "fifo") == {"A": 100.0}
    f = trace(frame(rows), "S", max_hop_delay="9d", policy="fifo")
    assert ended(f, "fifo") == {"B": 100.0}


def test_window_and_max_hops_limits() -> None:
    rows = [("S", "A", 1, 100), ("A", "B", 5, 100), ("B", "C", 10, 100)]
    assert ended(trace(frame(rows), "S", window="8d", policy="lifo"), "lifo") == {"B": 100.0}
    assert ended(trace(frame(rows), "S", max_hops=2, policy="lifo"), "lifo") == {"B": 100.0}
    assert ended(trace(frame(rows), "S", policy="lifo"), "lifo") == {"C": 100.0}
    # start moves the window: seed outflows before it are not traced.
    assert trace(frame(rows), "S", start=T0 + timedelta(days=2)).flows.height == 0


def test_later_unknown_inflow_dilutes_or_queues() -> None:
    rows = [("S", "X", 1, 100), ("U", "X", 2, 100), ("X", "Y", 3, 100)]
    f = trace(frame(rows), "S")
    assert carried(f, "proportional")["t02"] == 50.0
    assert carried(f, "fifo")["t02"] == 100.0
    assert "t02" not in carried(f, "lifo")  # the newest money (unknown) left first
    assert ended(f, "lifo") == {"X": 100.0}


def test_lookback_bounds_unknown_funds() -> None:
    rows = [("U", "X", -10, 100), ("S", "X", 1, 100), ("X", "Y", 2, 50)]
    assert carried(trace(frame(rows), "S", policy="fifo"), "fifo")["t02"] == 50.0
    f = trace(frame(rows), "S", policy="fifo", lookback="12d")
    assert "t02" not in carried(f, "fifo")  # now the older 100 queues ahead


def test_traced_money_older_than_delay_ends_there() -> None:
    rows = [("S", "X", 1, 100), ("X", "Y", 3, 50), ("X", "Z", 10, 50)]
    f = trace(frame(rows), "S", max_hop_delay="7d")
    for p in ("proportional", "fifo", "lifo"):
        assert ended(f, p) == {"X": 50.0, "Y": 50.0}, p


def test_min_amount_stops_small_traced_parts() -> None:
    f = trace(frame(CHAIN), "S", policy="proportional", min_amount=30)
    # t02 carries 25 < 30: not followed, the 25 stays at X; t04 is never reached.
    assert carried(f, "proportional") == {"t01": 100.0, "t03": 75.0, "t05": 50.0}
    assert ended(f, "proportional") == {"X": 25.0, "Z": 25.0, "W": 50.0}


def test_backward() -> None:
    rows = [("U1", "M", 1, 60), ("U2", "M", 2, 40), ("M", "T", 3, 100), ("M", "Q", 0, 10)]
    f = trace(frame(rows), "T", direction="backward")
    for p in ("proportional", "fifo", "lifo"):
        assert ended(f, p) == {"U1": 60.0, "U2": 40.0}, p
    fl = f.flows.filter(pl.col("policy") == "fifo")
    assert fl.select("hop", "src_account", "dst_account").rows() == [
        (1, "M", "T"),
        (2, "U1", "M"),
        (2, "U2", "M"),
    ]


def test_backward_haircut() -> None:
    # M received 100 from U (traced back) but also 300 later than T's payment: ignored (after).
    rows = [("U", "M", 1, 100), ("V", "M", 2, 100), ("M", "T", 3, 50), ("W", "M", 4, 300)]
    f = trace(frame(rows), "T", direction="backward")
    # M's pool when it paid T: 100 from U, 100 from V; the 50 drew ¼ of each (proportional),
    # U's older lot (fifo) or V's newer lot (lifo). W's payment came later and funded nothing.
    assert ended(f, "proportional") == {"U": 25.0, "V": 25.0}
    assert ended(f, "fifo") == {"U": 50.0}
    assert ended(f, "lifo") == {"V": 50.0}
    assert ended(f, "poison") == {"M": 50.0, "U": 100.0, "V": 100.0}
    assert "W" not in set(f.flows["src_account"])


def test_party_seeds() -> None:
    df = frame([("A1", "B", 1, 70), ("A2", "C", 1, 30), ("D", "E", 1, 5)]).with_columns(
        src_party=pl.Series(["P1", "P1", "P2"]), dst_party=pl.Series(["Q", "R", "S"])
    )
    f = trace(df, "P1", seed_kind="party", policy="fifo")
    assert f.seed_accounts == ["A1", "A2"]
    assert ended(f, "fifo") == {"B": 70.0, "C": 30.0}


def test_errors() -> None:
    df = frame(CHAIN)
    with pytest.raises(TraceError) as e:
        trace(df, "S", policy="fif")
    assert e.value.code == "FI080" and "did you mean 'fifo'" in str(e.value)
    with pytest.raises(FinintelError) as e2:
        trace(df, "S", window="a month")
    assert e2.value.code == "FI082"
    with pytest.raises(FinintelError) as e3:
        trace(df, "NOPE")
    assert e3.value.code == "FI083"
    with pytest.raises(FinintelError) as e4:
        trace(df.drop("dst_account"), "S")
    assert e4.value.code == "FI084"
    f = trace(df, ["S", "NOPE"])
    assert f.unknown_seeds == ["NOPE"]


def test_write_is_deterministic(tmp_path: Path) -> None:
    f = trace(frame(CHAIN), "S")
    f.write(tmp_path / "a")
    trace(frame(CHAIN).reverse(), "S").write(tmp_path / "b")  # row order is irrelevant
    for name in ("flows.parquet", "endpoints.parquet", "report.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    rep = json.loads((tmp_path / "a" / "report.json").read_text())
    assert rep["seeds"] == ["S"] and rep["parameters"]["window"] == "30d"
    assert rep["totals"]["fifo"]["seeded"] == 100.0 and rep["totals"]["fifo"]["ended"] == 100.0
    assert rep["conservation"]["fifo"]["ok"] is True
    assert pl.read_parquet(tmp_path / "a" / "flows.parquet").equals(f.flows)
    assert json.loads(json.dumps(f.to_dict()))["flows"][0]["ts"].startswith("2024-03-02")


# S pays A (passed on to B) and a hub H, which has 60 other transfers and pays C.
HUB = (
    [("S", "A", 1, 100), ("A", "B", 2, 100), ("S", "H", 1, 50), ("H", "C", 2, 50)]
    + [(f"x{i}", "H", 0.5 + i / 20, 10) for i in range(30)]
    + [("H", f"y{i}", 1.5 + i / 20, 10) for i in range(30)]
)


def test_hub_over_max_degree_is_not_traced_through_and_is_reported(tmp_path: Path) -> None:
    free = trace(frame(HUB), "S", max_degree=None, policy="fifo")
    assert free.flows.filter(pl.col("src_account") == "H").height > 0  # traced through H
    assert free.skipped_accounts == []
    capped = trace(frame(HUB), "S", max_degree=61, policy="fifo")  # H has 62 transfers
    assert capped.skipped_accounts == [{"account": "H", "degree": 62, "reason": "max_degree"}]
    assert carried(capped, "fifo") == {"t00": 100.0, "t01": 100.0, "t02": 50.0}
    assert ended(capped, "fifo") == {"B": 100.0, "H": 50.0}  # the money ends at the hub
    # flows through the other accounts are those of the uncapped trace
    rest = free.flows.filter(~pl.col("src_account").is_in(["H"]))
    assert capped.flows.filter(pl.col("src_account") != "H").equals(rest)
    assert trace(frame(HUB), "S", max_degree=62).skipped_accounts == []
    rep = capped.write(tmp_path / "t")["report.json"]
    saved = json.loads(Path(rep).read_text())
    assert saved["skipped_accounts"] == capped.skipped_accounts
    assert saved["parameters"]["max_degree"] == 61 and saved["parameters"]["exclude"] == []


def test_excluded_account_and_backward_hub() -> None:
    ex = trace(frame(HUB), "S", exclude=["A"], policy="fifo")
    assert ex.skipped_accounts == [{"account": "A", "degree": 2, "reason": "exclude"}]
    assert ended(ex, "fifo")["A"] == 100.0 and "B" not in ended(ex, "fifo")
    assert "t01" not in carried(ex, "fifo")
    back = trace(frame(HUB), "C", direction="backward", max_degree=61, policy="fifo")
    assert carried(back, "fifo") == {"t03": 50.0}  # where the hub's money came from: not followed
    assert back.skipped_accounts == [{"account": "H", "degree": 62, "reason": "max_degree"}]
    seed_hub = trace(frame(HUB), "H", max_degree=1, policy="fifo")  # a seed is never a hub
    assert seed_hub.skipped_accounts == [] and carried(seed_hub, "fifo")["t03"] == 50.0
    with pytest.raises(TraceError, match="max_degree"):
        trace(frame(HUB), "S", max_degree=0)


# ---------------------------------------------------------------- properties

NODES = ["S", "a", "b", "c", "d", "e"]
edge_st = st.tuples(
    st.sampled_from(NODES),
    st.sampled_from(NODES),
    st.integers(0, 12),
    st.integers(1, 100),
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(edge_st, min_size=1, max_size=25),
    st.integers(1, 4),
    st.integers(0, 6),
    st.sampled_from(["forward", "backward"]),
)
def test_conservation(
    rows: list[tuple[str, str, int, int]], hops: int, delay: int, direction: str
) -> None:
    rows = [r for r in rows if r[0] != r[1]]
    rows.append(("S", "a", 1, 50) if direction == "forward" else ("a", "S", 11, 50))
    df = frame([(s, d, t / 2, float(a)) for s, d, t, a in rows])
    f = trace(df, "S", max_hops=hops, max_hop_delay=f"{delay}d", direction=direction)  # type: ignore[arg-type]
    # In the trace's own direction money goes from "frm" to "to", and time runs forward or back.
    frm, to = ("src_account", "dst_account")
    if direction == "backward":
        frm, to = to, frm
    seeded = df.filter(pl.col(frm) == "S", pl.col(to) != "S")
    if direction == "forward":
        first: Any = seeded["ts"].min()
        seeded = seeded.filter(pl.col("ts") <= first + timedelta(days=30))
    else:
        last: Any = seeded["ts"].max()
        seeded = seeded.filter(pl.col("ts") >= last - timedelta(days=30))
    seeded_total = seeded["amount_base"].sum()
    poison_in = (
        f.flows.filter(pl.col("policy") == "poison").group_by(to).agg(pl.col("traced_amount").sum())
    )
    poison = dict(poison_in.rows())
    for p in ("proportional", "fifo", "lifo"):
        fl = f.flows.filter(pl.col("policy") == p)
        assert (fl["traced_amount"] <= fl["amount_base"] + 1e-9).all()
        # time-respecting conservation: by every instant (in the trace's time direction),
        # traced out ≤ traced in, for each non-seed account
        ins = fl.select(acct=to, ts="ts", v="traced_amount")
        outs = fl.select(acct=frm, ts="ts", v=-pl.col("traced_amount"))
        bal = (
            pl.concat([ins, outs])
            .filter(pl.col("acct") != "S")
            .group_by("acct", "ts")
            .agg(pl.col("v").sum())
            .sort("acct", "ts", descending=[False, direction == "backward"])
            .with_columns(c=pl.col("v").cum_sum().over("acct"))
        )
        assert (bal["c"] >= -1e-6).all(), p
        # every traced euro ends somewhere, exactly once
        total = f.endpoints.filter(pl.col("policy") == p)["traced_amount"].sum()
        assert total == pytest.approx(seeded_total, abs=1e-4), p
        assert f.conservation[p]["ok"]
        for acct, v in fl.group_by(to).agg(pl.col("traced_amount").sum()).rows():
            assert v <= poison[acct] + 1e-6  # poison is the upper bound of what reaches an account


def naive_reach(
    rows: list[tuple[str, str, float, float]], seed: str, hops: int, delay: float, window: float
) -> dict[str, int]:
    """Reference frontier: plain loops over (src, dst, day, amount) rows; tx id → hop."""
    ids = {i: f"t{i:02d}" for i in range(len(rows))}
    outs = [i for i, r in enumerate(rows) if r[0] == seed and r[1] != seed]
    if not outs:
        return {}
    t0 = min(rows[i][2] for i in outs)
    inside = [i for i, r in enumerate(rows) if t0 <= r[2] <= t0 + window and r[0] != r[1]]
    hop_of = {i: 1 for i in outs if i in inside}
    frontier = list(hop_of)
    for k in range(2, hops + 1):
        arrivals = [(rows[i][1], rows[i][2]) for i in frontier if rows[i][1] != seed]
        frontier = [
            i
            for i in inside
            if i not in hop_of
            and any(a == rows[i][0] and r <= rows[i][2] <= r + delay for a, r in arrivals)
        ]
        hop_of.update(dict.fromkeys(frontier, k))
    return {ids[i]: h for i, h in hop_of.items()}


@settings(max_examples=60, deadline=None)
@given(st.lists(edge_st, min_size=1, max_size=30), st.integers(1, 4), st.integers(0, 6))
def test_frontier_matches_reference(
    rows: list[tuple[str, str, int, int]], hops: int, delay: int
) -> None:
    rows.append(("S", "a", 1, 50))
    data = [(s, d, t / 2, float(a)) for s, d, t, a in rows]
    f = trace(frame(data), "S", max_hops=hops, max_hop_delay=f"{delay}d", window="4d")
    got = dict(f.flows.filter(pl.col("policy") == "poison").select("tx_id", "hop").rows())
    assert got == naive_reach(data, "S", hops, delay, 4)


# ---------------------------------------------------------------- a generated drop


def test_generated_drop_pass_through(tmp_path: Path) -> None:
    import finintel

    finintel.generate(tmp_path / "g", transfers=20_000, seed=3)
    ds = finintel.load(tmp_path / "g" / "drop")
    truth = pl.read_parquet(tmp_path / "g" / "truth.parquet").filter(
        pl.col("family") == "pass_through", ~pl.col("near_miss")
    )
    checked = 0
    for case in truth["case_id"].unique().sort().to_list():
        members = truth.filter(pl.col("case_id") == case)
        mule = members.filter(pl.col("role") == "mule")["entity"].to_list()
        bens = set(members.filter(pl.col("role") == "beneficiary")["entity"].to_list())
        sources = set(members.filter(pl.col("role") == "source")["entity"].to_list())
        if len(mule) != 1 or not bens:
            continue
        f = trace(ds, mule[0], max_hops=2)
        assert bens <= set(f.endpoints["account"].to_list()), case
        fifo = f.endpoints.filter(pl.col("policy") == "fifo", pl.col("account").is_in(list(bens)))
        assert fifo["traced_amount"].sum() > 0, case
        back = trace(ds, mule[0], direction="backward", max_hops=1)
        assert sources <= set(back.endpoints["account"].to_list()), case
        assert all(v.get("ok", True) for v in f.conservation.values())
        checked += 1
    assert checked >= 3
