"""The transaction graph: accounts as integer ids, transfers as time-stamped edges.

:func:`build` turns canonical transfers into a :class:`TGraph`. Accounts are numbered in sorted
order of their text (so id order is name order and every id is stable for a given input); edges
are sorted by ``ts, src, dst, source, tx_id`` (no reliance on row order) and carry ``ts``
(int64 microseconds since the epoch, UTC), ``amount_base``, ``tx_id`` and ``source``.
Self-transfers (``src == dst``) and rows without both accounts are not edges.

Degree caps: ``max_degree`` (transfers in + out) and ``exclude`` drop hub accounts (a clearing
account with 100k edges) and every edge touching them before any search; the dropped accounts
are kept in :attr:`TGraph.skipped` so callers can report them. :meth:`TGraph.capped` applies the
caps as a view of a graph built once (same account ids, the hubs without edges), so the rules of
one run share one build (:class:`GraphCache`) whatever their caps; the view keeps the whole graph
as :attr:`TGraph.base` (an account's turnover counts its transfers with hubs too).

>>> from datetime import datetime, UTC
>>> t = datetime(2024, 1, 1, tzinfo=UTC)
>>> g = build(pl.DataFrame({"tx_id": ["1", "2"], "ts": [t, t], "src_account": ["a", "b"],
...     "dst_account": ["b", "a"], "amount_base": [1.0, 2.0], "source": "s"}))
>>> g.n_nodes, g.n_edges, g.accounts.to_list(), g.scc().tolist()
(2, 2, ['a', 'b'], [0, 0])
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import cast

import numpy as np
import polars as pl
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.sparse.csgraph import connected_components

__all__ = ["EDGE_SCHEMA", "GraphCache", "TGraph", "build"]

#: The columns of :attr:`TGraph.edges` (``e`` is the edge's position in the sorted edge list).
EDGE_SCHEMA = {
    "e": pl.Int64(),
    "u": pl.Int64(),
    "v": pl.Int64(),
    "ts": pl.Int64(),
    "amount_base": pl.Float64(),
    "tx_id": pl.String(),
    "source": pl.String(),
}


@dataclass(frozen=True)
class TGraph:
    """Accounts (``accounts[i]`` is the text of id ``i``) and time-stamped edges.

    ``edges`` holds :data:`EDGE_SCHEMA`; ``skipped`` the accounts dropped by degree caps or
    exclusion (sorted), with the number of transfers each had in ``skipped_degree``; ``base``
    the graph before the caps (``None`` when this is it).
    """

    accounts: pl.Series
    edges: pl.DataFrame
    skipped: tuple[str, ...] = ()
    skipped_degree: tuple[int, ...] = ()
    base: TGraph | None = field(default=None, repr=False, compare=False)
    _cache: dict[str, object] = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_nodes(self) -> int:
        """Number of account ids (accounts left out by caps included, without edges)."""
        return self.accounts.len()

    @property
    def n_edges(self) -> int:
        """Number of edges (transfers between two different kept accounts)."""
        return self.edges.height

    def _arr(self, name: str) -> NDArray[np.int64]:
        out: NDArray[np.int64] = self.edges.get_column(name).to_numpy()
        return out

    def csr(self) -> sp.csr_array:
        """Adjacency (``u → v``) as a CSR matrix of transfer counts."""
        key = "csr"
        if key not in self._cache:
            n = self.n_nodes
            ones = np.ones(self.n_edges, dtype=np.int64)
            self._cache[key] = sp.csr_array((ones, (self._arr("u"), self._arr("v"))), shape=(n, n))
        return cast("sp.csr_array", self._cache[key])

    def csc(self) -> sp.csc_array:
        """Adjacency as CSC (column ``v`` lists the senders into ``v``)."""
        out: sp.csc_array = self.csr().tocsc()
        return out

    def scc(self) -> NDArray[np.int64]:
        """Strongly connected component label of every node."""
        key = "scc"
        if key not in self._cache:
            _, labels = connected_components(self.csr(), directed=True, connection="strong")
            self._cache[key] = np.asarray(labels, dtype=np.int64)
        return cast("NDArray[np.int64]", self._cache[key])

    def adjacency(self, direction: str = "out") -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Time-sorted adjacency: ``(indptr, edge_ids)``; the edges of node ``i`` (out of it, or
        into it with ``direction="in"``) are ``edge_ids[indptr[i]:indptr[i + 1]]`` in time order."""
        if direction not in ("out", "in"):
            raise ValueError(f"direction must be 'out' or 'in', got {direction!r}")
        key = f"adj_{direction}"
        if key not in self._cache:
            node = self._arr("u" if direction == "out" else "v")
            # Edges are already in time order; a stable sort by node keeps it within a node.
            order = np.argsort(node, kind="stable").astype(np.int64)
            counts = np.bincount(node, minlength=self.n_nodes)
            indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
            self._cache[key] = (indptr, order)
        return cast("tuple[NDArray[np.int64], NDArray[np.int64]]", self._cache[key])

    def within_scc(self) -> pl.DataFrame:
        """The edges whose ends lie in the same strongly connected component (cycle edges)."""
        labels = self.scc()
        u, v = self._arr("u"), self._arr("v")
        return self.edges.filter(pl.Series(labels[u] == labels[v]))

    def capped(self, max_degree: int | None = None, exclude: Iterable[str] = ()) -> TGraph:
        """A view without the accounts over ``max_degree`` transfers (in + out) or in
        ``exclude``, nor any edge touching them; account ids are unchanged. Views are cached
        in the whole graph: the rules with the same caps share one."""
        full = self.base or self
        excluded = sorted(set(exclude))
        if max_degree is None and not excluded:
            return full
        key = f"capped:{max_degree}:{excluded!r}"
        if key not in full._cache:
            full._cache[key] = full._capped(max_degree, excluded)
        return cast("TGraph", full._cache[key])

    def _capped(self, max_degree: int | None, excluded: list[str]) -> TGraph:
        full = self
        n = full.n_nodes
        degree = np.bincount(full._arr("u"), minlength=n) + np.bincount(full._arr("v"), minlength=n)
        drop = full.accounts.is_in(excluded).to_numpy()
        if max_degree is not None:
            drop |= degree > max_degree
        if not drop.any():
            return full
        keep = ~(drop[full._arr("u")] | drop[full._arr("v")])
        edges = full.edges.filter(pl.Series(keep)).with_columns(
            pl.int_range(pl.len(), dtype=pl.Int64).alias("e")
        )
        ids = np.flatnonzero(drop)
        skipped = tuple(full.accounts.gather(ids).to_list())
        return TGraph(full.accounts, edges, skipped, tuple(int(d) for d in degree[ids]), base=full)

    def turnover(self) -> pl.DataFrame:
        """Each account's running turnover (in + out) over the whole graph (:attr:`base`):
        columns ``a`` (account id), ``ts`` and ``cum`` (amount so far, that ``ts`` included),
        sorted by ``ts``."""
        full = self.base or self
        key = "turnover"
        if key not in full._cache:
            e = full.edges
            full._cache[key] = (
                pl.concat([e.select(a="u", ts="ts", x="amount_base"),
                           e.select(a="v", ts="ts", x="amount_base")])
                .sort("ts", "a")
                .with_columns(pl.col("x").fill_null(0.0).cum_sum().over("a").alias("cum"))
                .select("a", "ts", "cum")
            )  # fmt: skip
        return cast("pl.DataFrame", full._cache[key])

    def names(self, ids: pl.Expr) -> pl.Expr:
        """Account text for an expression of ids."""
        return ids.map_batches(
            lambda s: self.accounts.gather(s.cast(pl.Int64)), return_dtype=pl.String
        )


def build(
    transfers: pl.DataFrame | pl.LazyFrame,
    *,
    max_degree: int | None = None,
    exclude: Iterable[str] = (),
) -> TGraph:
    """The transaction graph of canonical transfers (see the module docstring), with the
    degree caps applied as a view (:meth:`TGraph.capped`)."""
    cols = ["tx_id", "ts", "src_account", "dst_account", "amount_base", "source"]
    frame = (
        transfers.lazy()
        .select(cols)
        .filter(
            pl.col("src_account").is_not_null()
            & pl.col("dst_account").is_not_null()
            & (pl.col("src_account") != pl.col("dst_account"))
        )
        .with_columns(
            pl.col("ts").dt.epoch("us").cast(pl.Int64),
            pl.col("amount_base").cast(pl.Float64),
            pl.col("source").cast(pl.String),
            pl.col("tx_id").cast(pl.String),
        )
        .collect()
    )
    accounts = (
        pl.concat([frame.get_column("src_account"), frame.get_column("dst_account")])
        .unique()
        .sort()
        .rename("account")
    )
    lookup = pl.DataFrame({"account": accounts, "id": pl.int_range(accounts.len(), eager=True)})
    edges = (
        frame.join(
            lookup.rename({"account": "src_account", "id": "u"}), on="src_account", how="left"
        )
        .join(lookup.rename({"account": "dst_account", "id": "v"}), on="dst_account", how="left")
        .sort("ts", "u", "v", "source", "tx_id", nulls_last=True)
        .select(
            pl.int_range(pl.len(), dtype=pl.Int64).alias("e"),
            pl.col("u").cast(pl.Int64),
            pl.col("v").cast(pl.Int64),
            "ts",
            "amount_base",
            "tx_id",
            "source",
        )
    )
    return TGraph(accounts, edges).capped(max_degree, exclude)


class GraphCache:
    """Graphs shared by the rules of one run: :meth:`get` builds a graph the first time its key
    (e.g. a hash of the rule's scoped transfers) is asked for. Thread-safe (the plans of a run
    execute in parallel); ``builds`` counts the graphs built."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._graphs: dict[Hashable, TGraph] = {}
        self.builds = 0

    def get(self, key: Hashable, make: Callable[[], TGraph]) -> TGraph:
        """The graph of ``key``, built by ``make()`` if not yet cached."""
        with self._lock:
            if key not in self._graphs:
                self._graphs[key] = make()
                self.builds += 1
            return self._graphs[key]

    def release(self) -> None:
        """Forget the graphs, and what each one cached: a capped graph and the graph it was
        capped from refer to each other (:attr:`TGraph.base`, its cache), so without this they
        stay in memory until Python's cycle collector happens to run, beside the next rules'."""
        with self._lock:
            for graph in self._graphs.values():
                if graph.base is not None:
                    graph.base._cache.clear()
                graph._cache.clear()
            self._graphs.clear()
