"""Plain-Python / networkx references for the motifs of ``finintel.graph.motifs``.

Edges are ``(tx_id, src, dst, ts, amount)`` tuples (ts in µs); results are expressed in tx ids so
they compare with the fast versions whatever their internal numbering.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence

import networkx as nx

Edge = tuple[str, str, str, int, float]


def _within(a_prev: float, a: float, tol: float | None) -> bool:
    return tol is None or abs(a - a_prev) <= tol * a_prev + 1e-9


def _hops_ok(seq: Sequence[Edge], delay: int, tol: float | None, temporal: bool) -> bool:
    for prev, cur in itertools.pairwise(seq):
        if temporal and cur[3] < prev[3] + delay:
            return False
        if not _within(prev[4], cur[4], tol):
            return False
    return True


def _span(seq: Sequence[Edge]) -> int:
    ts = [e[3] for e in seq]
    return max(ts) - min(ts)


def cycles(
    edges: Sequence[Edge],
    *,
    window: int,
    min_length: int,
    max_length: int,
    order: str = "temporal",
    delay: int = 0,
    tol: float | None = None,
) -> set[frozenset[str]]:
    """Cycle instances (sets of tx ids): networkx ``simple_cycles`` with a length bound on the
    static graph, then every choice of parallel transfers filtered by time and amount."""
    edges = [e for e in edges if e[1] != e[2]]
    graph = nx.DiGraph()
    by_pair: dict[tuple[str, str], list[Edge]] = defaultdict(list)
    for e in edges:
        graph.add_edge(e[1], e[2])
        by_pair[(e[1], e[2])].append(e)
    out: set[frozenset[str]] = set()
    for found in nx.simple_cycles(graph, length_bound=max_length):
        if len(found) < min_length:
            continue
        i = found.index(min(found))
        nodes = found[i:] + found[:i]
        pairs = [(nodes[k], nodes[(k + 1) % len(nodes)]) for k in range(len(nodes))]
        for choice in itertools.product(*(by_pair[p] for p in pairs)):
            if _span(choice) >= window:
                continue
            if order == "any":
                ok = _hops_ok(choice, delay, tol, temporal=False)
            else:
                k = len(choice)
                ok = any(
                    _hops_ok([choice[(r + j) % k] for j in range(k)], delay, tol, temporal=True)
                    for r in range(k)
                )
            if ok:
                out.add(frozenset(e[0] for e in choice))
    return out


Leg = tuple[str, str, str, Edge, Edge]


def _legs(edges: Sequence[Edge], window: int, delay: int, tol: float | None) -> list[Leg]:
    legs: list[Leg] = []
    for a in edges:
        for b in edges:
            if (
                a[2] == b[1]
                and b[2] != a[1]
                and a[1] != a[2]
                and b[1] != b[2]
                and b[3] >= a[3] + delay
                and b[3] - a[3] < window
                and _within(a[4], b[4], tol)
            ):
                legs.append((a[1], a[2], b[2], a, b))
    return legs


def scatter_gather(
    edges: Sequence[Edge], *, window: int, delay: int = 0, tol: float | None = None
) -> dict[tuple[str, str, int], tuple[int, int]]:
    """``(S, T, end) -> (start, n_intermediaries)`` by brute force."""
    legs = _legs(edges, window, delay, tol)
    out: dict[tuple[str, str, int], tuple[int, int]] = {}
    for s, _, t, _, b in legs:
        end = b[3]
        inside = [
            leg
            for leg in legs
            if leg[0] == s and leg[2] == t and leg[4][3] <= end and leg[3][3] > end - window
        ]
        out[(s, t, end)] = (min(leg[3][3] for leg in inside), len({leg[1] for leg in inside}))
    return out


def gather_scatter(
    edges: Sequence[Edge], *, window: int, delay: int = 0
) -> dict[tuple[str, int], tuple[int, int, int, int]]:
    """``(hub, pivot) -> (start, end, n_sources, n_sinks)`` by brute force."""
    edges = [e for e in edges if e[1] != e[2]]
    out: dict[tuple[str, int], tuple[int, int, int, int]] = {}
    for pivot_edge in edges:
        hub, p = pivot_edge[2], pivot_edge[3]
        gather = [e for e in edges if e[2] == hub and p - window < e[3] <= p]
        start = min(e[3] for e in gather)
        scatter = [e for e in edges if e[1] == hub and e[3] >= p + delay and e[3] < start + window]
        if scatter:
            out[(hub, p)] = (
                start,
                max(e[3] for e in scatter),
                len({e[1] for e in gather}),
                len({e[2] for e in scatter}),
            )
    return out


def _paths(
    edges: Sequence[Edge],
    *,
    window: int,
    max_hops: int,
    max_dwell: int | None,
    delay: int,
    tol: float | None,
) -> list[tuple[Edge, ...]]:
    """Every time-respecting simple path of 1..max_hops transfers (DFS)."""
    edges = [e for e in edges if e[1] != e[2]]
    out: list[tuple[Edge, ...]] = []

    def grow(path: tuple[Edge, ...], nodes: list[str]) -> None:
        out.append(path)
        if len(path) == max_hops:
            return
        last = path[-1]
        for e in edges:
            if (
                e[1] == last[2]
                and e[2] not in nodes
                and e[3] >= last[3] + delay
                and (max_dwell is None or e[3] - last[3] <= max_dwell)
                and _within(last[4], e[4], tol)
                and _span((*path, e)) < window
            ):
                grow((*path, e), [*nodes, e[2]])

    for e in edges:
        grow((e,), [e[1], e[2]])
    return out


def chains(
    edges: Sequence[Edge],
    *,
    window: int,
    min_hops: int,
    max_hops: int,
    max_dwell: int | None,
    delay: int = 0,
    tol: float | None = None,
) -> set[tuple[str, ...]]:
    """Maximal chains (tx id tuples): no path of one more hop (up to max_hops) contains them."""
    paths = _paths(
        edges, window=window, max_hops=max_hops, max_dwell=max_dwell, delay=delay, tol=tol
    )
    ids = {tuple(e[0] for e in p) for p in paths}
    out = set()
    for p in ids:
        if not min_hops <= len(p) <= max_hops:
            continue
        if len(p) < max_hops and any(
            q[:-1] == p or q[1:] == p for q in ids if len(q) == len(p) + 1
        ):
            continue
        out.add(p)
    return out


def stacks(
    edges: Sequence[Edge],
    *,
    window: int,
    min_layers: int,
    max_layers: int,
    max_dwell: int | None,
    delay: int = 0,
    tol: float | None = None,
) -> dict[tuple[str, str, int, int], tuple[int, int, int]]:
    """``(S, T, layers, end) -> (start, width, n_paths)`` by brute force."""
    paths = [
        p
        for p in _paths(
            edges, window=window, max_hops=max_layers + 1, max_dwell=max_dwell, delay=delay, tol=tol
        )
        if len(p) - 1 >= min_layers
    ]
    out = {}
    for p in paths:
        s, t, layers, end = p[0][1], p[-1][2], len(p) - 1, p[-1][3]
        inside = [
            q
            for q in paths
            if q[0][1] == s
            and q[-1][2] == t
            and len(q) - 1 == layers
            and q[-1][3] <= end
            and q[0][3] > end - window
        ]
        width = min(len({q[k][2] for q in inside}) for k in range(layers))
        out[(s, t, layers, end)] = (min(q[0][3] for q in inside), width, len(inside))
    return out


def bicliques(
    edges: Sequence[Edge], *, min_senders: int, min_receivers: int
) -> list[tuple[frozenset[str], frozenset[str]]]:
    """Every complete block ``S × R`` of the static graph with exactly the minimum sizes."""
    pairs = {(e[1], e[2]) for e in edges if e[1] != e[2]}
    senders = sorted({s for s, _ in pairs})
    receivers = sorted({r for _, r in pairs})
    out = []
    for s_set in itertools.combinations(senders, min_senders):
        for r_set in itertools.combinations(receivers, min_receivers):
            if all((s, r) in pairs for s in s_set for r in r_set):
                out.append((frozenset(s_set), frozenset(r_set)))
    return out


Window = tuple[frozenset[str], frozenset[str], int]


def bipartite(
    edges: Sequence[Edge], *, window: int, min_senders: int, min_receivers: int
) -> dict[Window, tuple[int, int, float, tuple[str, ...]]]:
    """The blocks of :func:`finintel.graph.motifs.bipartite` by their definition: each
    ``min_receivers``-set of receivers with the senders paying all of it (≥ ``min_senders``),
    the sets sharing their senders united; a row per transfer time ``t`` of a block whose window
    ``[t, t + window)`` holds every pair. ``(senders, receivers, start) → (end, n, amount,
    tx ids)``."""
    edges = [e for e in edges if e[1] != e[2]]
    pairs = {(e[1], e[2]) for e in edges}
    blocks: dict[frozenset[str], set[str]] = defaultdict(set)
    for r_set in itertools.combinations(sorted({r for _, r in pairs}), min_receivers):
        s_set = frozenset(s for s, _ in pairs if all((s, r) in pairs for r in r_set))
        if len(s_set) >= min_senders:
            blocks[s_set] |= set(r_set)
    out = {}
    for s_set, r_set in blocks.items():
        mine = [e for e in edges if e[1] in s_set and e[2] in r_set]
        for t in {e[3] for e in mine}:
            inside = [e for e in mine if t <= e[3] < t + window]
            if len({(e[1], e[2]) for e in inside}) == len(s_set) * len(r_set):
                out[(s_set, frozenset(r_set), t)] = (
                    max(e[3] for e in inside),
                    len(inside),
                    round(sum(e[4] for e in inside), 6),
                    tuple(sorted(e[0] for e in inside)),
                )
    return out


def gather_scatter_amounts(
    edges: Sequence[Edge], *, window: int, delay: int = 0
) -> dict[tuple[str, int], tuple[float, float]]:
    """``(hub, pivot) -> (in_amount, out_amount)`` of :func:`gather_scatter` by brute force."""
    edges = [e for e in edges if e[1] != e[2]]
    out: dict[tuple[str, int], tuple[float, float]] = {}
    for hub, p in {(e[2], e[3]) for e in edges}:
        gather = [e for e in edges if e[2] == hub and p - window < e[3] <= p]
        start = min(e[3] for e in gather)
        scatter = [e for e in edges if e[1] == hub and e[3] >= p + delay and e[3] < start + window]
        if scatter:
            out[(hub, p)] = (sum(e[4] for e in gather), sum(e[4] for e in scatter))
    return out
