"""The transaction graph and the motif searches against hand-computed answers and the
references of ``reference.py`` (networkx ``simple_cycles`` for cycles, brute force otherwise)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from finintel.errors import DataError
from finintel.graph import motifs
from finintel.graph.tgraph import build
from tests.graph import reference as ref

T0 = datetime(1970, 1, 1, tzinfo=UTC)  # µs offsets are then epoch µs
H = 3_600_000_000  # one hour in µs
D = 24 * H

Edge = tuple[str, str, str, int, float]


def frame(edges: Sequence[Edge]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "tx_id": [e[0] for e in edges],
            "ts": [T0 + timedelta(microseconds=e[3]) for e in edges],
            "src_account": [e[1] for e in edges],
            "dst_account": [e[2] for e in edges],
            "amount_base": [e[4] for e in edges],
            "source": ["s"] * len(edges),
        },
        schema={
            "tx_id": pl.String, "ts": pl.Datetime("us", "UTC"), "src_account": pl.String,
            "dst_account": pl.String, "amount_base": pl.Float64, "source": pl.String,
        },
    )  # fmt: skip


def txs(g: object, edges: pl.Series) -> list[tuple[str, ...]]:
    ids = g.edges.get_column("tx_id")  # type: ignore[attr-defined]
    return [tuple(ids.gather(e).to_list()) for e in edges.to_list()]


# the graph ------------------------------------------------------------------------------------


def test_build_ids_sorted_edges_csr_adjacency_and_scc() -> None:
    g = build(
        frame(
            [
                ("3", "b", "a", 2 * H, 1.0),
                ("1", "a", "b", 0, 1.0),
                ("2", "b", "c", H, 1.0),
                ("x", "c", "c", H, 1.0),  # self-transfer: not an edge
            ]
        )
    )
    assert g.accounts.to_list() == ["a", "b", "c"]
    assert g.edges.get_column("tx_id").to_list() == ["1", "2", "3"]
    assert g.csr().toarray().tolist() == [[0, 1, 0], [1, 0, 1], [0, 0, 0]]
    assert g.csc().toarray().tolist() == g.csr().toarray().tolist()
    labels = g.scc()
    assert labels[0] == labels[1] != labels[2]
    indptr, order = g.adjacency("out")
    assert indptr.tolist() == [0, 1, 3, 3]
    assert order[1:3].tolist() == [1, 2]  # b's outflows in time order
    indptr_in, order_in = g.adjacency("in")
    assert order_in[indptr_in[1] : indptr_in[2]].tolist() == [0]
    assert g.within_scc().get_column("tx_id").to_list() == ["1", "3"]
    with pytest.raises(ValueError, match="direction"):
        g.adjacency("up")


def test_build_degree_cap_and_exclusion_report_skipped_accounts() -> None:
    edges = [(f"h{i}", f"x{i}", "HUB", i, 1.0) for i in range(5)] + [("k", "a", "b", 0, 1.0)]
    g = build(frame(edges), max_degree=4, exclude=["a"])
    assert g.skipped == ("HUB", "a") and g.skipped_degree == (5, 1)
    assert g.n_edges == 0 and g.n_nodes == 8  # the ids stay, the hubs have no edges
    assert g.base is not None and g.base.n_edges == 6 and g.base.skipped == ()
    assert build(frame(edges), max_degree=5).n_edges == 6
    # A view of a view starts from the whole graph again.
    assert g.capped(max_degree=5).n_edges == 6 and g.capped(exclude=["b"]).skipped == ("b",)


# cycles ---------------------------------------------------------------------------------------


def test_temporal_cycle_and_backward_ring() -> None:
    forward = [("1", "a", "b", 0, 100.0), ("2", "b", "c", H, 98.0), ("3", "c", "a", 2 * H, 96.0)]
    backward = [("4", "p", "q", 2 * H, 100.0), ("5", "q", "r", H, 98.0), ("6", "r", "p", 0, 96.0)]
    g = build(frame(forward + backward))
    temporal = motifs.cycles(g, window_us=D, max_length=3)
    assert txs(g, temporal.get_column("edges")) == [("1", "2", "3")]
    assert motifs.cycle_labels(g, temporal).to_list() == ["a>b>c"]
    ring = motifs.cycles(g, window_us=D, max_length=3, order="any")
    assert sorted(motifs.cycle_labels(g, ring).to_list()) == ["a>b>c", "p>q>r"]
    # Starting later in a temporal cycle: the label is still rotated to its smallest account.
    late = build(
        frame([("1", "b", "c", 0, 1.0), ("2", "c", "a", H, 1.0), ("3", "a", "b", 2 * H, 1.0)])
    )
    assert motifs.cycle_labels(late, motifs.cycles(late, window_us=D)).to_list() == ["a>b>c"]


def test_cycle_window_length_and_tolerance() -> None:
    edges = [("1", "a", "b", 0, 100.0), ("2", "b", "a", D, 80.0)]
    g = build(frame(edges))
    assert motifs.cycles(g, window_us=D).height == 0  # span 1d is not < 1d
    assert motifs.cycles(g, window_us=D + 1).height == 1
    assert motifs.cycles(g, window_us=2 * D, amount_tolerance=0.1).height == 0
    assert motifs.cycles(g, window_us=2 * D, amount_tolerance=0.2).height == 1
    assert motifs.cycles(g, window_us=2 * D, min_length=3).height == 0


def test_cycle_equal_timestamps_date_only_and_min_hop_delay() -> None:
    day = [("1", "a", "b", 0, 1.0), ("2", "b", "c", 0, 1.0), ("3", "c", "a", 0, 1.0)]
    g = build(frame(day))
    found = motifs.cycles(g, window_us=D)
    assert found.height == 1  # found once although every rotation is in order
    assert motifs.cycles(g, window_us=D, min_hop_delay_us=1_000_000).height == 0
    with pytest.raises(ValueError, match="order"):
        motifs.cycles(g, window_us=D, order="sideways")


def test_cycle_frontier_limit_raises_fi200() -> None:
    edges = [(f"{i}", "a", "b", i, 1.0) for i in range(30)] + [("r", "b", "a", 40, 1.0)]
    with pytest.raises(DataError) as err:
        motifs.cycles(build(frame(edges)), window_us=D, max_paths=10)
    assert err.value.code == "FI200"


NODES = st.sampled_from("abcde")


@st.composite
def temporal_graphs(draw: st.DrawFn, max_edges: int = 12) -> list[Edge]:
    n = draw(st.integers(0, max_edges))
    out = []
    for i in range(n):
        out.append(
            (
                f"t{i:02d}",
                draw(NODES),
                draw(NODES),
                draw(st.integers(0, 6)) * 6 * H,  # few distinct times: many ties
                draw(st.sampled_from([100.0, 95.0, 90.0, 60.0])),
            )
        )
    return out


SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(
    temporal_graphs(),
    st.sampled_from(["temporal", "any"]),
    st.integers(2, 4),
    st.sampled_from([D, 2 * D]),
    st.sampled_from([0, 6 * H]),
    st.sampled_from([None, 0.06]),
)
def test_cycles_match_networkx(
    edges: list[Edge], order: str, max_length: int, window: int, delay: int, tol: float | None
) -> None:
    g = build(frame(edges))
    found = motifs.cycles(
        g,
        window_us=window,
        max_length=max_length,
        order=order,
        min_hop_delay_us=delay,
        amount_tolerance=tol,
    )
    got = {frozenset(t) for t in txs(g, found.get_column("edges"))}
    assert len(got) == found.height  # each instance once
    expected = ref.cycles(
        edges, window=window, min_length=2, max_length=max_length, order=order, delay=delay, tol=tol
    )
    assert got == expected


@SETTINGS
@given(temporal_graphs(), st.sampled_from([0, 6 * H, D]), st.sampled_from([None, 4]))
def test_flow_shares_match_brute_force(edges: list[Edge], pad: int, cap: int | None) -> None:
    g = build(frame(edges), max_degree=cap)
    found = motifs.cycles(g, window_us=2 * D, max_length=4, order="any")
    shares = motifs.flow_shares(g, found, pad)
    assert shares.height == found.height
    by_id = {e[0]: e for e in edges if e[1] != e[2]}  # self-transfers are no edges
    for cyc, (lo, hi) in zip(txs(g, found.get_column("edges")), shares.rows(), strict=True):
        members = [by_id[t] for t in cyc]
        start, end = min(e[3] for e in members), max(e[3] for e in members)
        got = []
        for acct in {e[1] for e in members}:
            own = sum(e[4] for e in members if acct in (e[1], e[2]))
            # every transfer counts, those with accounts the cap left out too
            total = sum(e[4] for e in by_id.values()
                        if acct in (e[1], e[2]) and start - pad <= e[3] <= end + pad)  # fmt: skip
            got.append(own / total)
        assert (lo, hi) == (pytest.approx(min(got)), pytest.approx(max(got)))


# scatter-gather / gather-scatter ----------------------------------------------------------------


def test_scatter_gather_within_and_beyond_the_window() -> None:
    near = [
        ("s1", "S", "i1", 0, 100.0), ("g1", "i1", "T", H, 99.0),
        ("s2", "S", "i2", 2 * H, 100.0), ("g2", "i2", "T", 3 * H, 99.0),
        ("s3", "S", "i3", 4 * H, 100.0), ("g3", "i3", "T", 5 * H, 99.0),
    ]  # fmt: skip
    g = build(frame(near))
    legs = motifs.scatter_gather_legs(g, window_us=D)
    found = motifs.scatter_gather(legs, window_us=D)
    assert found.get_column("n_intermediaries").to_list() == [1, 2, 3]
    last = found.row(2, named=True)
    assert (last["start"], last["in_amount"], last["out_amount"]) == (0, 300.0, 297.0)
    # The same shape spread over three days: no window holds more than one leg.
    spread = [(t, s, d, ts * 12, a) for t, s, d, ts, a in near]
    g2 = build(frame(spread))
    found2 = motifs.scatter_gather(motifs.scatter_gather_legs(g2, window_us=D), window_us=D)
    assert found2.get_column("n_intermediaries").max() == 1
    # Amount tolerance: 99 after 100 is within 2%, not within 0.5%.
    assert motifs.scatter_gather_legs(g, window_us=D, amount_tolerance=0.005).height == 0


@SETTINGS
@given(temporal_graphs(), st.sampled_from([D, 2 * D]), st.sampled_from([0, 6 * H]),
       st.sampled_from([None, 0.06]))  # fmt: skip
def test_scatter_gather_matches_brute_force(
    edges: list[Edge], window: int, delay: int, tol: float | None
) -> None:
    g = build(frame(edges))
    legs = motifs.scatter_gather_legs(
        g, window_us=window, min_hop_delay_us=delay, amount_tolerance=tol
    )
    found = motifs.scatter_gather(legs, window_us=window)
    names = g.accounts
    got = {
        (names[r["S"]], names[r["T"]], r["end"]): (r["start"], r["n_intermediaries"])
        for r in found.iter_rows(named=True)
    }
    assert got == ref.scatter_gather(edges, window=window, delay=delay, tol=tol)


def test_gather_scatter_outflows_after_inflows() -> None:
    edges = [
        ("i1", "a", "H", 0, 10.0), ("i2", "b", "H", H, 10.0), ("i3", "c", "H", 2 * H, 10.0),
        ("o1", "H", "x", 3 * H, 10.0), ("o2", "H", "y", 4 * H, 10.0), ("o3", "H", "z", 5 * H, 10.0),
    ]  # fmt: skip
    g = build(frame(edges))
    hub = g.accounts.to_list().index("H")
    found = motifs.gather_scatter(g, window_us=D).filter(pl.col("H") == hub)
    best = found.filter(pl.col("p") == 2 * H).row(0, named=True)
    assert (best["n_sources"], best["n_sinks"], best["start"], best["end"]) == (3, 3, 0, 5 * H)
    # Outflows before the inflows: no gather-then-scatter.
    flipped = [(t, s, d, 5 * H - ts, a) for t, s, d, ts, a in edges]
    found2 = motifs.gather_scatter(build(frame(flipped)), window_us=D)
    assert found2.filter(pl.col("n_sinks") > 0).filter(pl.col("n_sources") > 1).height == 0


@SETTINGS
@given(temporal_graphs(), st.sampled_from([D, 2 * D]), st.sampled_from([0, 6 * H]))
def test_gather_scatter_matches_brute_force(edges: list[Edge], window: int, delay: int) -> None:
    g = build(frame(edges))
    found = motifs.gather_scatter(g, window_us=window, min_hop_delay_us=delay)
    names = g.accounts
    got = {
        (names[r["H"]], r["p"]): (r["start"], r["end"], r["n_sources"], r["n_sinks"])
        for r in found.iter_rows(named=True)
    }
    assert got == ref.gather_scatter(edges, window=window, delay=delay)


@SETTINGS
@given(temporal_graphs(max_edges=40), st.sampled_from([D, 2 * D]), st.sampled_from([0, 6 * H]))
def test_gather_scatter_sweep_counts_and_sums_on_busy_hubs(
    edges: list[Edge], window: int, delay: int
) -> None:
    # up to 40 transfers over few accounts: hubs with repeated counterparties in one window
    g = build(frame(edges))
    found = motifs.gather_scatter(g, window_us=window, min_hop_delay_us=delay)
    names = g.accounts
    rows = found.iter_rows(named=True)
    got = {(names[r["H"]], r["p"]): r for r in rows}
    want = ref.gather_scatter(edges, window=window, delay=delay)
    assert {k: (r["start"], r["end"], r["n_sources"], r["n_sinks"]) for k, r in got.items()} == want
    sums = ref.gather_scatter_amounts(edges, window=window, delay=delay)
    assert {k: (r["in_amount"], r["out_amount"]) for k, r in got.items()} == sums
    assert found.select("H", "p").rows() == sorted(found.select("H", "p").rows())


# chains, stacks, bipartite ----------------------------------------------------------------------


def test_chain_is_reported_only_maximal_and_dwell_breaks_it() -> None:
    edges = [
        ("1", "a", "b", 0, 100.0), ("2", "b", "c", H, 98.0),
        ("3", "c", "d", 2 * H, 97.0), ("4", "d", "e", 3 * H, 95.0),
    ]  # fmt: skip
    g = build(frame(edges))
    found = motifs.chains(g, window_us=D, min_hops=3, max_hops=6, max_dwell_us=2 * H)
    assert txs(g, found.get_column("edges")) == [("1", "2", "3", "4")]
    assert motifs.path_labels(g, found.get_column("nodes")).to_list() == ["a>b>c>d>e"]
    slow = motifs.chains(g, window_us=D, min_hops=3, max_hops=6, max_dwell_us=H - 1)
    assert slow.height == 0
    capped = motifs.chains(g, window_us=D, min_hops=3, max_hops=3, max_dwell_us=2 * H)
    assert sorted(txs(g, capped.get_column("edges"))) == [("1", "2", "3"), ("2", "3", "4")]


@SETTINGS
@given(temporal_graphs(10), st.integers(2, 3), st.integers(3, 4), st.sampled_from([None, 12 * H]),
       st.sampled_from([None, 0.06]))  # fmt: skip
def test_chains_match_brute_force(
    edges: list[Edge], min_hops: int, max_hops: int, dwell: int | None, tol: float | None
) -> None:
    g = build(frame(edges))
    found = motifs.chains(
        g, window_us=2 * D, min_hops=min_hops, max_hops=max_hops, max_dwell_us=dwell,
        amount_tolerance=tol,
    )  # fmt: skip
    got = set(txs(g, found.get_column("edges")))
    assert len(got) == found.height
    expected = ref.chains(
        edges, window=2 * D, min_hops=min_hops, max_hops=max_hops, max_dwell=dwell, tol=tol
    )
    assert got == expected


def test_stack_two_layers_of_two() -> None:
    edges = [
        ("s1", "S", "a1", 0, 100.0), ("m1", "a1", "b1", H, 99.0), ("e1", "b1", "T", 2 * H, 98.0),
        ("s2", "S", "a2", 0, 100.0), ("m2", "a2", "b2", H, 99.0), ("e2", "b2", "T", 2 * H, 98.0),
    ]  # fmt: skip
    g = build(frame(edges))
    paths = motifs.stack_paths(g, window_us=D, min_layers=2, max_layers=3)
    found = motifs.stacks(paths, window_us=D)
    assert found.select("layers", "width", "n_paths").rows() == [(2, 2, 2)]


@SETTINGS
@given(temporal_graphs(10), st.sampled_from([None, 12 * H]), st.sampled_from([None, 0.06]))
def test_stacks_match_brute_force(edges: list[Edge], dwell: int | None, tol: float | None) -> None:
    g = build(frame(edges))
    paths = motifs.stack_paths(
        g, window_us=D, min_layers=1, max_layers=2, max_dwell_us=dwell, amount_tolerance=tol
    )
    found = motifs.stacks(paths, window_us=D)
    names = g.accounts
    got = {
        (names[r["S"]], names[r["T"]], r["layers"], r["end"]): (
            r["start"],
            r["width"],
            r["n_paths"],
        )
        for r in found.iter_rows(named=True)
    }
    expected = ref.stacks(edges, window=D, min_layers=1, max_layers=2, max_dwell=dwell, tol=tol)
    assert got == expected


def test_bipartite_block_and_window() -> None:
    edges = [
        (f"{s}{r}", s, r, k * H, 10.0)
        for k, (s, r) in enumerate((s, r) for s in ("x1", "x2", "x3") for r in ("y1", "y2"))
    ]
    g = build(frame(edges))
    found = motifs.bipartite(g, window_us=D, min_senders=3, min_receivers=2)
    assert found.height == 1  # only the window from the first transfer holds every pair
    row = found.row(0, named=True)
    assert [g.accounts[i] for i in row["senders"]] == ["x1", "x2", "x3"]
    assert [g.accounts[i] for i in row["receivers"]] == ["y1", "y2"]
    assert (row["start"], row["end"], row["n_transfers"]) == (0, 5 * H, 6)
    assert motifs.bipartite(g, window_us=5 * H, min_senders=3, min_receivers=2).height == 0
    assert motifs.bipartite(g, window_us=D, min_senders=3, min_receivers=3).height == 0


@SETTINGS
@given(temporal_graphs(14), st.integers(2, 3), st.integers(2, 3))
def test_bipartite_sound_and_complete_in_one_window(
    edges: list[Edge], min_senders: int, min_receivers: int
) -> None:
    g = build(frame(edges))
    found = motifs.bipartite(
        g, window_us=10 * D, min_senders=min_senders, min_receivers=min_receivers
    )
    names = g.accounts
    pairs = {(e[1], e[2]) for e in edges}
    blocks = [
        ({names[i] for i in r["senders"]}, {names[i] for i in r["receivers"]})
        for r in found.iter_rows(named=True)
    ]
    for senders, receivers in blocks:  # sound: every pair paid
        assert len(senders) >= min_senders and len(receivers) >= min_receivers
        assert all((s, r) in pairs for s in senders for r in receivers)
    for s_set, r_set in ref.bicliques(edges, min_senders=min_senders, min_receivers=min_receivers):
        assert any(s_set <= s and r_set <= r for s, r in blocks)  # complete (one window)


@st.composite
def two_sided_graphs(draw: st.DrawFn) -> list[Edge]:
    """Payments from a few senders to a few receivers (blocks are likely), some stray ones."""
    n = draw(st.integers(0, 22))
    out = []
    for i in range(n):
        stray = draw(st.integers(0, 5)) == 0
        src = draw(st.sampled_from("abcdwxyz" if stray else "abcd"))
        dst = draw(st.sampled_from("abcdwxyz" if stray else "wxyz"))
        ts = draw(st.integers(0, 8)) * 6 * H
        out.append((f"t{i:02d}", src, dst, ts, draw(st.sampled_from([100.0, 95.5, 0.1]))))
    return out


@SETTINGS
@given(two_sided_graphs(), st.integers(2, 3), st.integers(2, 3),
       st.sampled_from([6 * H, 12 * H + 1, D, 10 * D]))  # fmt: skip
def test_bipartite_windows_match_brute_force(
    edges: list[Edge], min_senders: int, min_receivers: int, window: int
) -> None:
    g = build(frame(edges))
    found = motifs.bipartite(
        g, window_us=window, min_senders=min_senders, min_receivers=min_receivers
    )
    names, ids = g.accounts, g.edges.get_column("tx_id")
    got = {
        (
            frozenset(names.gather(r["senders"]).to_list()),
            frozenset(names.gather(r["receivers"]).to_list()),
            r["start"],
        ): (
            r["end"],
            r["n_transfers"],
            round(r["amount"], 6),
            tuple(sorted(ids.gather(r["edges"]))),
        )
        for r in found.iter_rows(named=True)
    }
    assert len(got) == found.height
    expected = ref.bipartite(
        edges, window=window, min_senders=min_senders, min_receivers=min_receivers
    )
    assert got == expected


def test_adjacency_arrays_are_numpy() -> None:
    g = build(frame([("1", "a", "b", 0, 1.0)]))
    indptr, order = g.adjacency()
    assert isinstance(indptr, np.ndarray) and indptr.dtype == np.int64 and order.tolist() == [0]
