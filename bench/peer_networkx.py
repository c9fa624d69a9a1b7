"""Reference: a naive networkx search for bounded time-respecting cycles, checked against
finintel's ``cycle`` kind (``order: temporal``) on a small drop.

The reference enumerates the simple cycles of the account graph up to ``max_length``
(``networkx.simple_cycles`` with ``length_bound``), then, for every rotation, every choice of
one transfer per hop whose times do not decrease and whose span is under the window. An
instance is the set of its transfers, as in :func:`finintel.graph.motifs.cycles`. Accounts
over the kind's ``max_degree`` are left out, as the kind does.
"""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import timedelta
from typing import Any

from common import canonical_for

PARAMS: dict[str, Any] = {
    "order": "temporal",
    "min_length": 2,
    "max_length": 4,
    "window": timedelta(days=7),
    "max_degree": 2000,
}

Instance = frozenset[tuple[str, str]]


def ours(frame: Any) -> tuple[Any, Any]:
    """finintel's temporal cycles (graph build and search): the graph and the instances."""
    from finintel.graph import motifs
    from finintel.graph.tgraph import build
    from finintel.typology.primitives.cycle import Cycle

    kind = Cycle()
    g = kind.graph(build(frame), frame, PARAMS)
    found = motifs.cycles(
        g,
        window_us=int(PARAMS["window"] / timedelta(microseconds=1)),
        min_length=PARAMS["min_length"],
        max_length=PARAMS["max_length"],
        order="temporal",
    )
    return g, found


def instances(g: Any, found: Any) -> set[Instance]:
    """Instances found by :func:`ours` as sets of (source, tx_id) (not timed: Python objects
    for the comparison only)."""
    import polars as pl

    keys = g.edges.select(pl.concat_list("source", "tx_id").alias("k"))["k"].to_list()
    return {frozenset(tuple(keys[e]) for e in edges) for edges in found["edges"].to_list()}


def reference(frame: Any) -> set[Instance]:
    """The same instances by brute force over networkx's simple cycles."""
    import networkx as nx
    import polars as pl

    window_us = int(PARAMS["window"] / timedelta(microseconds=1))
    edges = frame.filter(
        pl.col("src_account").is_not_null()
        & pl.col("dst_account").is_not_null()
        & (pl.col("src_account") != pl.col("dst_account"))
    ).select("src_account", "dst_account", pl.col("ts").dt.epoch("us"), "source", "tx_id")
    degree: dict[str, int] = defaultdict(int)
    rows = edges.rows()
    for u, v, *_ in rows:
        degree[u] += 1
        degree[v] += 1
    hops: dict[tuple[str, str], list[tuple[int, tuple[str, str]]]] = defaultdict(list)
    graph = nx.DiGraph()
    for u, v, ts, source, tx_id in rows:
        if degree[u] <= PARAMS["max_degree"] and degree[v] <= PARAMS["max_degree"]:
            hops[(u, v)].append((ts, (source, tx_id)))
            graph.add_edge(u, v)
    found: set[Instance] = set()

    def walk(ring: list[str], i: int, first: int, prev: int, chosen: list[tuple[str, str]]) -> None:
        if i == len(ring):
            found.add(frozenset(chosen))
            return
        for ts, key in hops[(ring[i], ring[(i + 1) % len(ring)])]:
            if ts >= prev and (i == 0 or ts - first < window_us):
                walk(ring, i + 1, ts if i == 0 else first, ts, [*chosen, key])

    for cycle in nx.simple_cycles(graph, length_bound=PARAMS["max_length"]):
        if len(cycle) < PARAMS["min_length"]:
            continue
        for r in range(len(cycle)):
            walk(cycle[r:] + cycle[:r], 0, 0, -(2**62), [])
    return found


def cycles(size: int) -> dict[str, Any]:
    """Time both on the ``size`` drop and check that they find the same instances."""
    import polars as pl

    import finintel.typology.primitives  # noqa: F401 - the kinds imported before the clock

    frame = pl.read_parquet(canonical_for(size))
    start = time.perf_counter()
    g, found = ours(frame)
    ours_s = time.perf_counter() - start
    mine = instances(g, found)
    start = time.perf_counter()
    theirs = reference(frame)
    ref_s = time.perf_counter() - start
    return {
        "seconds": ours_s,
        "networkx_seconds": round(ref_s, 3),
        "edges": frame.height,
        "instances": len(mine),
        "reference_instances": len(theirs),
        "equal": mine == theirs,
    }
