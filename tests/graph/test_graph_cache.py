"""GraphCache.release: a run's graphs are freed as soon as it is done with them."""

import gc
import weakref
from datetime import UTC, datetime

import polars as pl

from finintel.graph.tgraph import GraphCache, build

T = datetime(2024, 1, 1, tzinfo=UTC)
EDGES = pl.DataFrame(
    {
        "tx_id": ["1", "2", "3"],
        "ts": [T, T, T],
        "src_account": ["a", "b", "a"],
        "dst_account": ["b", "a", "c"],
        "amount_base": [1.0, 2.0, 3.0],
        "source": "s",
    }
)


def test_released_graphs_are_freed_without_the_cycle_collector():
    cache = GraphCache()
    capped = cache.get("k", lambda: build(EDGES, max_degree=2))
    assert capped.base is not None  # a view of the whole graph, which caches it back
    assert capped.turnover().height == 6
    full = weakref.ref(capped.base)
    view = weakref.ref(capped)
    del capped
    gc.disable()
    try:
        cache.release()
        assert full() is None and view() is None
    finally:
        gc.enable()
    assert cache.get("k", lambda: build(EDGES)).n_edges == 3  # built again after release


def test_without_release_the_cycle_keeps_them():  # the premise of release
    cache = GraphCache()
    capped = cache.get("k", lambda: build(EDGES, max_degree=2))
    full = weakref.ref(capped.base)
    del capped
    gc.disable()
    try:
        cache._graphs.clear()
        assert full() is not None
    finally:
        gc.enable()
    gc.collect()
    assert full() is None
