"""Motif search on a :class:`~finintel.graph.tgraph.TGraph`: cycles, scatter-gather, stacks,
gather-scatter, layering chains and bipartite blocks, as polars joins and numpy sweeps (no
loop over edges).

Conventions shared by every motif (and by the typology kinds built on them):

* Times are int64 microseconds. An instance fits a ``window`` of length ``W`` when its last
  transfer is less than ``W`` after its first (``t_last - t_first < W``): the rolling-window
  convention of :mod:`finintel.typology.primitives.windows`, so with date-only data a ``7d``
  window covers seven calendar days.
* A hop is **in order** after the previous one when ``ts >= prev_ts + min_hop_delay``; with the
  default ``min_hop_delay = 0`` equal timestamps count as in order (date-only exports), and ties
  are broken by nothing else — never by row order.
* ``amount_tolerance`` (``None`` = not checked): a hop's ``amount_base`` is within ``tol`` of
  the previous hop's, ``|a - a_prev| <= tol * a_prev`` (fees, FX slippage).

Paths are grown one hop at a time by joining the frontier with the edges on
``frontier.cur == edge.u`` and filtering by time, amount and simplicity (no repeated account).
The frontier is bounded by the window, the hop bound and the degree caps applied when the graph
was built; a frontier over ``max_paths`` rows raises :class:`~finintel.errors.DataError`
``FI200`` rather than exhausting memory.

>>> from datetime import datetime, timedelta, UTC
>>> from finintel.graph.tgraph import build
>>> t = datetime(2024, 1, 1, tzinfo=UTC)
>>> g = build(pl.DataFrame({"tx_id": ["1", "2", "3"], "ts": [t, t, t + timedelta(hours=1)],
...     "src_account": ["a", "b", "c"], "dst_account": ["b", "c", "a"],
...     "amount_base": 100.0, "source": "s"}))
>>> cyc = cycles(g, max_length=3, window_us=86_400_000_000)
>>> cycle_labels(g, cyc).to_list(), cyc.get_column("edges").to_list()
(['a>b>c'], [[0, 1, 2]])
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import polars as pl
from numpy.typing import NDArray

from finintel.errors import DataError
from finintel.graph.tgraph import TGraph

__all__ = [
    "DEFAULT_MAX_PATHS",
    "ORDERS",
    "bipartite",
    "chains",
    "cycle_labels",
    "cycles",
    "flow_shares",
    "gather_scatter",
    "path_labels",
    "scatter_gather",
    "scatter_gather_legs",
    "stack_paths",
    "stacks",
]

ORDERS = ("temporal", "any")
#: Largest frontier (partial paths) a search may hold before it gives up with FI200.
DEFAULT_MAX_PATHS = 5_000_000

_INSTANCE_SCHEMA = {
    "nodes": pl.List(pl.Int64),
    "edges": pl.List(pl.Int64),
    "start_ts": pl.Int64(),
    "end_ts": pl.Int64(),
    "a_min": pl.Float64(),
    "a_max": pl.Float64(),
    "dwell_max": pl.Int64(),
}


def _too_many(what: str, n: int, limit: int) -> DataError:
    return DataError(
        "FI200",
        f"{what}: {n:,} partial paths exceed the limit of {limit:,}; "
        "lower the bounds (hops, window, max_fanout) or set max_degree / exclude",
    )


def _walk(
    edges: pl.DataFrame,
    *,
    max_hops: int,
    window_us: int,
    min_hop_delay_us: int = 0,
    max_dwell_us: int | None = None,
    amount_tolerance: float | None = None,
    order: str = "temporal",
    min_start: bool = False,
    closing: bool = False,
    max_paths: int = DEFAULT_MAX_PATHS,
    what: str = "path search",
    successors: _Successors | None = None,
) -> Iterator[tuple[int, pl.DataFrame]]:
    """Grow paths from every edge; yield ``(hops, step)`` for hops 2..max_hops.

    ``step`` holds the frontier paths of ``hops - 1`` edges joined with one more edge
    (``e, v, ts, amount_base``) that meets the time / amount conditions; the new edge may close
    a cycle (``v == start``) or revisit an account (callers filter). ``min_start`` keeps only
    paths whose first account has the smallest id (rotation-canonical rings). ``closing``
    (cycle search) prunes with the way back: the last hop is joined on ``(cur, start)`` only,
    and a frontier one hop short of ``max_hops`` keeps the paths whose account has an edge back
    to the start.

    With ``order="temporal"`` a hop's candidates are found by binary search in the edges sorted
    by ``(u, ts)`` (the out-edges of ``cur`` from ``tl + min_hop_delay`` until the window or
    the dwell ends), not by joining every out-edge of ``cur``: hubs would make that quadratic.
    ``successors``: those sorted edges when already built (:meth:`_Successors.of`).
    """
    pairs = edges.select(pl.col("u").alias("cur"), pl.col("v").alias("start")).unique()
    e = edges.select("e", "u", "v", "ts", "amount_base")
    nxt = (successors or _Successors(e)) if order == "temporal" else None
    first = e.filter(pl.col("v") > pl.col("u")) if min_start else e
    paths = first.select(
        pl.col("u").alias("start"),
        pl.col("v").alias("cur"),
        pl.col("ts").alias("t0"),
        pl.col("ts").alias("tl"),
        pl.col("ts").alias("tmin"),
        pl.col("ts").alias("tmax"),
        pl.col("amount_base").alias("a_last"),
        pl.col("amount_base").alias("a_min"),
        pl.col("amount_base").alias("a_max"),
        pl.lit(0, dtype=pl.Int64).alias("dwell_max"),
        pl.concat_list("u", "v").alias("nodes"),
        pl.concat_list("e").alias("edges"),
    )
    for hops in range(2, max_hops + 1):
        if paths.height == 0:
            return
        if closing and hops == max_hops:
            # The last hop must return to the start: an equality join on both ends.
            step = paths.join(
                e, left_on=["cur", "start"], right_on=["u", "v"], how="inner"
            ).with_columns(pl.col("start").alias("v"))
        elif nxt is not None:
            high = pl.col("tmin") + window_us
            if max_dwell_us is not None:
                high = pl.min_horizontal(high, pl.col("tl") + max_dwell_us + 1)
            step = nxt.expand(paths, pl.col("tl") + min_hop_delay_us, high)
        else:
            step = paths.join(e, left_on="cur", right_on="u", how="inner")
        tmin = pl.min_horizontal("tmin", "ts")
        tmax = pl.max_horizontal("tmax", "ts")
        cond = (tmax - tmin) < window_us
        if order == "temporal":
            cond = cond & (pl.col("ts") >= pl.col("tl") + min_hop_delay_us)
        if max_dwell_us is not None:
            cond = cond & ((pl.col("ts") - pl.col("tl")).abs() <= max_dwell_us)
        if amount_tolerance is not None:
            cond = cond & (
                (pl.col("amount_base") - pl.col("a_last")).abs()
                <= amount_tolerance * pl.col("a_last") + 1e-9
            )
        if min_start:
            cond = cond & (pl.col("v") >= pl.col("start"))
        step = step.filter(cond).with_columns(
            tmin.alias("tmin"),
            tmax.alias("tmax"),
            pl.max_horizontal("dwell_max", pl.col("ts") - pl.col("tl")).alias("dwell_max"),
            pl.min_horizontal("a_min", "amount_base").alias("a_min"),
            pl.max_horizontal("a_max", "amount_base").alias("a_max"),
        )
        if step.height > max_paths:
            raise _too_many(what, step.height, max_paths)
        yield hops, step
        paths = step.filter(~pl.col("nodes").list.contains(pl.col("v"))).select(
            "start",
            pl.col("v").alias("cur"),
            "t0",
            pl.col("ts").alias("tl"),
            "tmin",
            "tmax",
            pl.col("amount_base").alias("a_last"),
            "a_min",
            "a_max",
            "dwell_max",
            pl.concat_list("nodes", "v").alias("nodes"),
            pl.concat_list("edges", "e").alias("edges"),
        )
        if closing and hops == max_hops - 1:
            paths = paths.join(pairs, on=["cur", "start"], how="semi")


class _Successors:
    """Edges sorted by ``(u, ts)`` for range look-ups: :meth:`expand` pairs each path with the
    edges out of its ``cur`` account whose ``ts`` lies in ``[low, high)``."""

    def __init__(self, edges: pl.DataFrame) -> None:
        by_u = edges.sort("u", "ts", "e")
        self.edges = by_u.select("e", "v", "ts", "amount_base")
        self.times = by_u.get_column("ts").unique().sort().to_numpy()
        self.stride = np.int64(self.times.size + 1)
        rank = by_u.get_column("ts").rank("dense").cast(pl.Int64).to_numpy() - 1
        self.keys = by_u.get_column("u").to_numpy() * self.stride + rank

    @classmethod
    def of(cls, g: TGraph) -> _Successors:
        """The successors of all of ``g``'s edges, built once per graph (kept in its cache)."""
        found = g._cache.get("successors")
        if not isinstance(found, _Successors):
            found = g._cache["successors"] = cls(g.edges)
        return found

    def _key(self, u: NDArray[np.int64], t: NDArray[np.int64]) -> NDArray[np.int64]:
        # (u, rank of the first edge time >= t): ordered like (u, t) against the edges' keys
        return u * self.stride + np.searchsorted(self.times, t).astype(np.int64)

    def expand(self, paths: pl.DataFrame, low: pl.Expr, high: pl.Expr) -> pl.DataFrame:
        """``paths`` joined with ``e, v, ts, amount_base`` of their candidate next edges."""
        bounds = paths.select(pl.col("cur"), low.alias("lo"), high.alias("hi"))
        cur = bounds.get_column("cur").to_numpy()
        lo = np.searchsorted(self.keys, self._key(cur, bounds.get_column("lo").to_numpy()))
        hi = np.searchsorted(self.keys, self._key(cur, bounds.get_column("hi").to_numpy()))
        n = np.maximum(hi - lo, 0)
        which = np.repeat(np.arange(n.size), n)
        pos = np.arange(which.size) - np.repeat(np.cumsum(n) - n - lo, n)
        return pl.concat(
            [paths.select(pl.all().gather(which)), self.edges.select(pl.all().gather(pos))],
            how="horizontal",
        )


def _instances(frame: pl.DataFrame, nodes: pl.Expr) -> pl.DataFrame:
    return frame.select(
        nodes.alias("nodes"),
        pl.col("edges"),
        pl.col("tmin").alias("start_ts"),
        pl.col("tmax").alias("end_ts"),
        "a_min",
        "a_max",
        "dwell_max",
    )


def _edge_key(col: str = "edges") -> pl.Expr:
    return pl.col(col).list.sort().list.eval(pl.element().cast(pl.String)).list.join(",")


def cycles(
    g: TGraph,
    *,
    window_us: int,
    min_length: int = 2,
    max_length: int = 4,
    order: str = "temporal",
    min_hop_delay_us: int = 0,
    amount_tolerance: float | None = None,
    max_paths: int = DEFAULT_MAX_PATHS,
) -> pl.DataFrame:
    """Simple cycles of ``min_length..max_length`` transfers within the window.

    ``order="temporal"``: every hop in order after the previous one (round-tripping); an
    instance is a set of edges, found once (ties between rotations keep the one listed first in
    edge order). ``order="any"``: rings whatever the order of their hops, listed from their
    smallest account. Returns :data:`_INSTANCE_SCHEMA` rows: ``nodes`` in traversal order (the
    first edge's sender first), ``edges`` (positions in ``g.edges``) in the same order.
    Only edges inside one strongly connected component can lie on a cycle, so the search
    starts from those.
    """
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
    found: list[pl.DataFrame] = []
    for hops, step in _walk(
        g.within_scc(),
        max_hops=max_length,
        window_us=window_us,
        min_hop_delay_us=min_hop_delay_us,
        amount_tolerance=amount_tolerance,
        order=order,
        min_start=order == "any",
        closing=True,
        max_paths=max_paths,
        what="cycle search",
    ):
        if hops < min_length:
            continue
        closed = step.filter(pl.col("v") == pl.col("start")).with_columns(
            pl.concat_list("edges", "e").alias("edges")
        )
        # The tolerance is per hop (each against the previous), the closing hop included.
        found.append(_instances(closed, pl.col("nodes")))
    if not found:
        return pl.DataFrame(schema=_INSTANCE_SCHEMA)
    out = pl.concat(found).with_columns(_edge_key().alias("_key"))
    return (
        out.sort("_key", pl.col("edges").list.first())
        .unique("_key", keep="first", maintain_order=True)
        .drop("_key")
    )


def flow_shares(g: TGraph, instances: pl.DataFrame, pad_us: int) -> pl.DataFrame:
    """How much of its members' business each instance is: for every member account, the
    amount of the instance's transfers it sent or received divided by its whole turnover (in +
    out, every edge of ``g.base``: transfers with hubs left out by the caps count) from
    ``pad_us`` before the instance's first transfer to ``pad_us`` after its last. Returns ``share_min`` and ``share_max`` over the members, one row per
    instance (``instances`` holds ``nodes``, ``edges``, ``start_ts``, ``end_ts``).

    A conduit (a shell, a mule account) that exists for the scheme has a share near 1; a trading
    company whose payments happen to close a ring has a small one.
    """
    if instances.height == 0:
        return pl.DataFrame(schema={"share_min": pl.Float64(), "share_max": pl.Float64()})
    incident = g.turnover()
    inst = instances.select("edges", "start_ts", "end_ts").with_row_index("_i")
    legs = inst.select("_i", "edges").explode("edges").rename({"edges": "e"})
    legs = legs.with_columns(
        g.edges.get_column("u").gather(legs.get_column("e")).alias("u"),
        g.edges.get_column("v").gather(legs.get_column("e")).alias("v"),
        g.edges.get_column("amount_base").gather(legs.get_column("e")).alias("x"),
    )
    own = (
        pl.concat([legs.select("_i", a="u", x="x"), legs.select("_i", a="v", x="x")])
        .group_by("_i", "a")
        .agg(pl.col("x").sum().alias("own"))
        .join(inst.select("_i", "start_ts", "end_ts"), on="_i")
    )

    # the members' running turnover only (the as-of join below matches within an account)
    incident = incident.filter(pl.col("a").is_in(own.get_column("a").unique().implode()))

    def turnover_until(t: pl.Expr, name: str) -> pl.DataFrame:
        q = own.select("_i", "a", t.alias("ts")).sort("ts")
        # both sides are sorted by ts (polars cannot check it with ``by``)
        joined = q.join_asof(incident, on="ts", by="a", strategy="backward", check_sortedness=False)
        return joined.select("_i", "a", pl.col("cum").fill_null(0.0).alias(name))

    hi = turnover_until(pl.col("end_ts") + pad_us, "_hi")
    lo = turnover_until(pl.col("start_ts") - pad_us - 1, "_lo")
    share = (
        own.join(hi, on=["_i", "a"])
        .join(lo, on=["_i", "a"])
        .with_columns(total=pl.col("_hi") - pl.col("_lo"))
        .select(
            "_i",
            pl.when(pl.col("total") > 0)  # all-zero amounts: no share
            .then((pl.col("own") / pl.col("total")).clip(0.0, 1.0))
            .alias("s"),
        )
        .group_by("_i")
        .agg(pl.col("s").min().alias("share_min"), pl.col("s").max().alias("share_max"))
    )
    return inst.select("_i").join(share, on="_i", how="left").sort("_i").drop("_i")


def path_labels(g: TGraph, nodes: pl.Series, sep: str = ">") -> pl.Series:
    """Each list of node ids as account texts joined by ``sep``."""
    if nodes.len() == 0:
        return pl.Series("label", [], dtype=pl.String)
    x = (
        nodes.rename("n")
        .to_frame()
        .with_row_index("_i")
        .explode("n")
        .with_columns(pl.int_range(pl.len()).over("_i").alias("_p"))
    )
    x = x.with_columns(g.accounts.gather(x.get_column("n")).alias("_name"))
    joined = (
        x.group_by("_i")
        .agg(pl.col("_name").sort_by("_p").str.join(sep))
        .sort("_i")
        .get_column("_name")
    )
    return joined.rename("label")


def cycle_labels(g: TGraph, instances: pl.DataFrame, sep: str = ">") -> pl.Series:
    """Rotation-normalised account sequence of each cycle (smallest account first)."""
    n = pl.col("nodes")
    idx = n.list.arg_min()
    rotated = instances.select(
        pl.concat_list(n.list.slice(idx), n.list.slice(0, idx)).alias("nodes")
    ).get_column("nodes")
    return path_labels(g, rotated, sep)


def scatter_gather_legs(
    g: TGraph,
    *,
    window_us: int,
    min_hop_delay_us: int = 0,
    amount_tolerance: float | None = None,
) -> pl.DataFrame:
    """Two-hop legs ``S → I → T`` (``T != S``): the second transfer in order after the first,
    less than ``window`` later, its amount within tolerance of the first's (the second
    transfers found by binary search among the intermediary's, not by a join)."""
    first = g.edges.select(
        pl.col("u").alias("S"),
        pl.col("v").alias("cur"),
        pl.col("e").alias("e1"),
        pl.col("ts").alias("t1"),
        pl.col("amount_base").alias("a1"),
    )
    legs = _Successors.of(g).expand(
        first, pl.col("t1") + min_hop_delay_us, pl.col("t1") + window_us
    )
    cond = pl.col("v") != pl.col("S")
    if amount_tolerance is not None:
        cond = cond & (
            (pl.col("amount_base") - pl.col("a1")).abs() <= amount_tolerance * pl.col("a1") + 1e-9
        )
    return (
        legs.filter(cond)
        .select(
            "S",
            pl.col("cur").alias("I"),
            pl.col("v").alias("T"),
            "e1",
            pl.col("e").alias("e2"),
            "t1",
            pl.col("ts").alias("t2"),
            "a1",
            pl.col("amount_base").alias("a2"),
        )
        .sort("S", "T", "t2", "e1", "e2")
    )


def scatter_gather(legs: pl.DataFrame, *, window_us: int) -> pl.DataFrame:
    """Windows of scatter-gather legs per ``(S, T)``: one per distinct leg end ``end``, holding
    the legs with ``t2 <= end`` and ``t1 > end - window``.

    Columns: ``S, T, start, end`` (µs), ``n_intermediaries`` (distinct ``I``), ``n_legs``,
    ``in_amount`` / ``out_amount`` (each transfer once), ``a_min``, ``a_max``.
    """
    anchors = legs.select("S", "T", pl.col("t2").alias("end")).unique()
    return (
        anchors.join(legs, on=["S", "T"])
        .filter((pl.col("t2") <= pl.col("end")) & (pl.col("t1") > pl.col("end") - window_us))
        .group_by("S", "T", "end")
        .agg(
            pl.col("t1").min().alias("start"),
            pl.col("I").n_unique().cast(pl.Int64).alias("n_intermediaries"),
            pl.len().cast(pl.Int64).alias("n_legs"),
            pl.col("a1").filter(pl.col("e1").is_first_distinct()).sum().alias("in_amount"),
            pl.col("a2").filter(pl.col("e2").is_first_distinct()).sum().alias("out_amount"),
            pl.min_horizontal(pl.col("a1").min(), pl.col("a2").min()).alias("a_min"),
            pl.max_horizontal(pl.col("a1").max(), pl.col("a2").max()).alias("a_max"),
        )
        .sort("S", "T", "end")
    )


def gather_scatter(g: TGraph, *, window_us: int, min_hop_delay_us: int = 0) -> pl.DataFrame:
    """Gather-then-scatter windows per hub ``H``, one per pivot ``p`` (each distinct time of an
    inflow to ``H``).

    The gather is the inflows with ``p - window < ts <= p``; ``start`` is the first of them.
    The scatter is the outflows with ``ts >= p + min_hop_delay`` and ``ts < start + window``
    (so the whole instance fits the window and every counted outflow follows every counted
    inflow); ``end`` is the last of them. Pivots without an outflow give no row.
    Columns: ``H, p, start, end, n_sources, n_sinks, in_amount, out_amount``.

    A sweep, no pivot × transfer join (hubs make that quadratic): with the inflows and the
    outflows sorted by ``(H, ts)``, each pivot's gather and scatter are index ranges whose ends
    only grow with ``(H, p)`` (:func:`_distinct_in_ranges`, :func:`_range_sums`).
    """
    e = g.edges
    # sorted by hub, then in edge order (so by time): sums add up in edge order
    ins = e.select(pl.col("v").alias("H"), pl.col("u").alias("x"), "e", "ts", "amount_base")
    outs = e.select(pl.col("u").alias("H"), pl.col("v").alias("x"), "e", "ts", "amount_base")
    ins, outs = ins.sort("H", "e"), outs.sort("H", "e")
    pivots = ins.select("H", pl.col("ts").alias("p")).unique(maintain_order=True)
    h_in, h_out, h_p = (f.get_column("H").to_numpy() for f in (ins, outs, pivots))
    t_in, t_out = ins.get_column("ts").to_numpy(), outs.get_column("ts").to_numpy()
    p = pivots.get_column("p").to_numpy()
    # (H, time) keys as one sortable int64: H times a stride above the dense rank of the time
    # among all the times compared (polars ranks: a multithreaded sort)
    k_in, k_out, k_low, k_p, k_delay = _keys(
        (h_in, t_in), (h_out, t_out), (h_p, p - window_us), (h_p, p), (h_p, p + min_hop_delay_us)
    )
    g_lo = np.searchsorted(k_in, k_low, side="right")
    g_hi = np.searchsorted(k_in, k_p, side="right")
    start = t_in[g_lo]
    s_lo = np.searchsorted(k_out, k_delay, side="left")
    k_out2, k_end = _keys((h_out, t_out), (h_p, start + window_us))
    s_hi = np.maximum(np.searchsorted(k_out2, k_end, side="left"), s_lo)
    has = s_hi > s_lo
    a_in = ins.get_column("amount_base").fill_null(0.0).to_numpy()
    a_out = outs.get_column("amount_base").fill_null(0.0).to_numpy()
    return pl.DataFrame(
        {
            "H": h_p,
            "p": p,
            "start": start,
            "end": t_out[np.maximum(s_hi - 1, 0)] if t_out.size else np.zeros_like(p),
            "n_sources": _distinct_in_ranges(g_lo, g_hi, _previous(h_in, ins["x"].to_numpy())),
            "n_sinks": _distinct_in_ranges(s_lo, s_hi, _previous(h_out, outs["x"].to_numpy())),
            "in_amount": _range_sums(a_in, g_lo, g_hi),
            "out_amount": _range_sums(a_out, s_lo, s_hi),
        },
        schema={"H": pl.Int64, "p": pl.Int64, "start": pl.Int64, "end": pl.Int64,
                "n_sources": pl.Int64, "n_sinks": pl.Int64, "in_amount": pl.Float64,
                "out_amount": pl.Float64},
    ).filter(pl.Series(has))  # fmt: skip


def _keys(*parts: tuple[NDArray[np.int64], NDArray[np.int64]]) -> list[NDArray[np.int64]]:
    """``(group, time)`` pairs as int64 keys ordered like the pairs (group-major): the group
    times a stride above the dense rank of the time among all the parts' times."""
    sizes = np.cumsum([t.size for _, t in parts])[:-1]
    rank = pl.Series(np.concatenate([t for _, t in parts])).rank("dense").cast(pl.Int64)
    ranks = np.split(rank.to_numpy(), sizes)
    stride = np.int64(rank.len() + 1)  # above every dense rank
    return [h * stride + r for (h, _), r in zip(parts, ranks, strict=True)]


def _range_sums(
    values: NDArray[np.float64], lo: NDArray[np.int64], hi: NDArray[np.int64]
) -> NDArray[np.float64]:
    """``values[lo[q]:hi[q]]`` summed left to right for each ``q`` (float64, the same rounding
    as a sequential sum): one vectorised step per position in the longest range."""
    n = hi - lo
    order = np.argsort(-n, kind="stable")
    first, length = lo[order], n[order]
    acc = np.zeros(order.size, dtype=np.float64)
    active = np.searchsorted(-length, -np.arange(int(length.max(initial=0))), side="left")
    for k, m in enumerate(active):  # ranges longer than k are the first m
        acc[:m] += values[first[:m] + k]
    out = np.empty_like(acc)
    out[order] = acc
    return out


def _previous(group: NDArray[np.int64], value: NDArray[np.int64]) -> NDArray[np.int64]:
    """For each position, the previous position with the same ``(group, value)`` (-1: none)."""
    order = np.lexsort((np.arange(value.size), value, group))
    same = (group[order][1:] == group[order][:-1]) & (value[order][1:] == value[order][:-1])
    prev = np.full(value.size, -1, dtype=np.int64)
    prev[order[1:][same]] = order[:-1][same]
    return prev


def _distinct_in_ranges(
    lo: NDArray[np.int64], hi: NDArray[np.int64], prev: NDArray[np.int64]
) -> NDArray[np.int64]:
    """Distinct values in each range ``[lo[q], hi[q])`` of a sequence (``lo`` and ``hi``
    non-decreasing in ``q``; ``prev[j]``: the previous position of the value at ``j``).

    A value counts once per range, at its first position ``j`` in it (``prev[j] < lo``); the
    ranges holding ``j`` are the consecutive ``q`` with ``lo[q] <= j < hi[q]``, and those with
    ``lo[q] > prev[j]`` a suffix of them: each position adds 1 to one run of ranges.
    """
    j = np.arange(prev.size)
    first = np.maximum(
        np.searchsorted(hi, j, side="right"), np.searchsorted(lo, prev, side="right")
    )
    stop = np.searchsorted(lo, j, side="right")
    ok = first < stop
    n = lo.size + 1
    diff = np.bincount(first[ok], minlength=n) - np.bincount(stop[ok], minlength=n)
    return np.cumsum(diff)[: lo.size].astype(np.int64)


def chains(
    g: TGraph,
    *,
    window_us: int,
    min_hops: int = 3,
    max_hops: int = 6,
    max_dwell_us: int | None = None,
    min_hop_delay_us: int = 0,
    amount_tolerance: float | None = None,
    max_paths: int = DEFAULT_MAX_PATHS,
) -> pl.DataFrame:
    """Maximal time-respecting simple paths of ``min_hops..max_hops`` transfers within the
    window, each hop in order after the previous one and at most ``max_dwell`` later, amounts
    within tolerance hop to hop.

    Maximal: a path that one more hop (at either end, meeting the same conditions) extends is
    not reported, only its longest extensions are (up to ``max_hops``, where a path is reported
    as it is). Returns :data:`_INSTANCE_SCHEMA` rows (``nodes`` from the first sender).
    """
    found: list[pl.DataFrame] = []
    last: pl.DataFrame | None = None
    for hops, step in _walk(
        g.edges,
        max_hops=max_hops,
        window_us=window_us,
        min_hop_delay_us=min_hop_delay_us,
        max_dwell_us=max_dwell_us,
        amount_tolerance=amount_tolerance,
        max_paths=max_paths,
        what="chain search",
        successors=_Successors.of(g),
    ):
        simple = step.filter(~pl.col("nodes").list.contains(pl.col("v"))).with_columns(
            pl.concat_list("nodes", "v").alias("nodes"),
            pl.concat_list("edges", "e").alias("edges"),
        )
        if last is not None and hops - 1 >= min_hops:
            # Paths of hops-1 with no simple forward extension are forward-maximal.
            extended = simple.select(pl.col("edges").list.head(hops - 1).alias("edges")).unique()
            found.append(last.join(extended, on="edges", how="anti"))
        last = simple
        if hops == max_hops and hops >= min_hops:
            found.append(simple)
    if not found:
        return pl.DataFrame(schema=_INSTANCE_SCHEMA)
    out = pl.concat(found, how="diagonal_relaxed")
    out = _instances(out, pl.col("nodes"))
    capped = out.filter(pl.col("edges").list.len() >= max_hops)
    shorter = _backward_maximal(
        g,
        out.filter(pl.col("edges").list.len() < max_hops),
        window_us=window_us,
        min_hop_delay_us=min_hop_delay_us,
        max_dwell_us=max_dwell_us,
        amount_tolerance=amount_tolerance,
    )
    return pl.concat([shorter, capped]).sort(_edge_key(), maintain_order=True)


def _backward_maximal(
    g: TGraph,
    paths: pl.DataFrame,
    *,
    window_us: int,
    min_hop_delay_us: int,
    max_dwell_us: int | None,
    amount_tolerance: float | None,
) -> pl.DataFrame:
    """Drop paths that an earlier hop into their first account would extend."""
    if paths.height == 0:
        return paths
    e = g.edges.select("u", "v", "ts", "amount_base")
    head = paths.with_row_index("_i").select(
        "_i",
        pl.col("nodes").list.first().alias("v"),
        "nodes",
        "start_ts",
        "end_ts",
        pl.col("edges").list.first().alias("_e0"),
    )
    first = g.edges.select(
        pl.col("e").alias("_e0"),
        pl.col("ts").alias("_t0"),
        pl.col("amount_base").alias("_a0"),
    )
    head = head.join(first, on="_e0")
    cond = (
        (pl.col("_t0") >= pl.col("ts") + min_hop_delay_us)
        & ((pl.col("end_ts") - pl.col("ts")) < window_us)
        & ~pl.col("nodes").list.contains(pl.col("u"))
    )
    if max_dwell_us is not None:
        cond = cond & ((pl.col("_t0") - pl.col("ts")) <= max_dwell_us)
    if amount_tolerance is not None:
        cond = cond & (
            (pl.col("_a0") - pl.col("amount_base")).abs()
            <= amount_tolerance * pl.col("amount_base") + 1e-9
        )
    extendable = head.join(e, on="v").filter(cond).select("_i").unique()
    return paths.with_row_index("_i").join(extendable, on="_i", how="anti").sort("_i").drop("_i")


def stack_paths(
    g: TGraph,
    *,
    window_us: int,
    min_layers: int = 2,
    max_layers: int = 3,
    max_dwell_us: int | None = None,
    min_hop_delay_us: int = 0,
    amount_tolerance: float | None = None,
    max_paths: int = DEFAULT_MAX_PATHS,
) -> pl.DataFrame:
    """Time-respecting simple paths ``S → ... → T`` through ``min_layers..max_layers``
    intermediaries (hop conditions as for :func:`chains`); :data:`_INSTANCE_SCHEMA` rows plus
    ``S``, ``T`` and ``layers``."""
    found: list[pl.DataFrame] = []
    for hops, step in _walk(
        g.edges,
        max_hops=max_layers + 1,
        window_us=window_us,
        min_hop_delay_us=min_hop_delay_us,
        max_dwell_us=max_dwell_us,
        amount_tolerance=amount_tolerance,
        max_paths=max_paths,
        what="stack search",
        successors=_Successors.of(g),
    ):
        if hops - 1 < min_layers:
            continue
        simple = step.filter(~pl.col("nodes").list.contains(pl.col("v"))).with_columns(
            pl.concat_list("nodes", "v").alias("nodes"),
            pl.concat_list("edges", "e").alias("edges"),
        )
        found.append(_instances(simple, pl.col("nodes")))
    schema = {"S": pl.Int64(), "T": pl.Int64(), "layers": pl.Int64(), **_INSTANCE_SCHEMA}
    if not found:
        return pl.DataFrame(schema=schema)
    out = pl.concat(found)
    return out.select(
        pl.col("nodes").list.first().alias("S"),
        pl.col("nodes").list.last().alias("T"),
        (pl.col("edges").list.len() - 1).cast(pl.Int64).alias("layers"),
        *_INSTANCE_SCHEMA,
    ).sort("S", "T", "layers", "end_ts", _edge_key())


def stacks(paths: pl.DataFrame, *, window_us: int) -> pl.DataFrame:
    """Windows of stack paths per ``(S, T, layers)``: one per distinct path end ``end``, holding
    the paths with ``end_ts <= end`` and ``start_ts > end - window``.

    Columns: ``S, T, layers, start, end``, ``width`` (the fewest distinct accounts in one
    layer), ``n_paths``, ``first_edges`` / ``last_edges`` (the distinct first / last hops),
    ``a_min``, ``a_max``.
    """
    keys = ["S", "T", "layers"]
    numbered = paths.with_row_index("_path")
    anchors = numbered.select(*keys, pl.col("end_ts").alias("end")).unique()
    inside = (
        anchors.join(numbered, on=keys)
        .filter(
            (pl.col("end_ts") <= pl.col("end")) & (pl.col("start_ts") > pl.col("end") - window_us)
        )
        .select(*keys, "end", "_path", "nodes", "edges", "start_ts", "a_min", "a_max")
    )
    w = [*keys, "end"]
    width = (
        inside.select(*w, "_path", "nodes")
        .explode("nodes")
        .with_columns(pl.int_range(pl.len()).over(*w, "_path").alias("_pos"))
        .filter((pl.col("_pos") >= 1) & (pl.col("_pos") <= pl.col("layers")))
        .group_by(*w, "_pos")
        .agg(pl.col("nodes").n_unique().alias("_n"))
        .group_by(w)
        .agg(pl.col("_n").min().cast(pl.Int64).alias("width"))
    )
    summary = inside.group_by(w).agg(
        pl.col("start_ts").min().alias("start"),
        pl.len().cast(pl.Int64).alias("n_paths"),
        pl.col("edges").list.first().unique().sort().alias("first_edges"),
        pl.col("edges").list.last().unique().sort().alias("last_edges"),
        pl.col("a_min").min(),
        pl.col("a_max").max(),
    )
    return summary.join(width, on=w).sort(*w)


def bipartite(
    g: TGraph,
    *,
    window_us: int,
    min_senders: int = 3,
    min_receivers: int = 3,
    max_paths: int = DEFAULT_MAX_PATHS,
) -> pl.DataFrame:
    """Complete bipartite blocks: ≥ ``min_senders`` accounts that each paid every one of
    ≥ ``min_receivers`` accounts, all pairs within one window.

    The candidate blocks are :func:`bipartite_blocks` of the graph's distinct (sender,
    receiver) pairs; :func:`bipartite_windows` checks them. Columns: ``senders``,
    ``receivers`` (sorted id lists), ``start``, ``end``, ``n_transfers``, ``amount``, ``edges``
    (the transfers in the window).
    """
    pairs = g.edges.select(pl.col("u").alias("s"), pl.col("v").alias("r")).unique()
    blocks = bipartite_blocks(
        pairs, min_senders=min_senders, min_receivers=min_receivers, max_paths=max_paths
    )
    return bipartite_windows(g, blocks, window_us=window_us)


def bipartite_blocks(
    pairs: pl.DataFrame,
    *,
    min_senders: int = 3,
    min_receivers: int = 3,
    max_paths: int = DEFAULT_MAX_PATHS,
) -> pl.DataFrame:
    """The candidate blocks of distinct (``s``, ``r``) pairs (integer ids): every
    ``min_receivers``-subset of each sender's receivers (grown by joins, ids ascending) is
    grouped with the senders that paid all of it; subsets with ≥ ``min_senders`` such senders
    and the same sender set are united into one block. Columns ``S``, ``R`` (sorted id lists),
    ordered by the sender list.
    """
    # Only receivers paid by >= min_senders senders and senders paying >= min_receivers of
    # those can be in a block: prune both sides until nothing changes.
    while True:
        before = pairs.height
        pairs = pairs.filter(
            (pl.len().over("r") >= min_senders) & (pl.len().over("s") >= min_receivers)
        )
        if pairs.height == before:
            break
    subsets = pairs.select("s", pl.concat_list("r").alias("R"), pl.col("r").alias("_last"))
    degree = pairs.group_by("s").agg(pl.len().alias("_d"))
    for _ in range(min_receivers - 1):
        # The join below makes (subsets of s) x (receivers of s) rows: refuse before, not after.
        size = (
            subsets.group_by("s")
            .len()
            .join(degree, on="s")
            .select((pl.col("len") * pl.col("_d")).sum())
        )
        if int(size.item() or 0) > max_paths:
            raise _too_many("bipartite search", int(size.item()), max_paths)
        subsets = (
            subsets.join(pairs, on="s")
            .filter(pl.col("r") > pl.col("_last"))
            .select("s", pl.concat_list("R", "r").alias("R"), pl.col("r").alias("_last"))
        )
        # Apriori: a receiver set paid by fewer than min_senders senders has no superset that is.
        subsets = subsets.filter(pl.len().over("R") >= min_senders)
        if subsets.height > max_paths:
            raise _too_many("bipartite search", subsets.height, max_paths)
    return (
        subsets.group_by("R")
        .agg(pl.col("s").sort().alias("S"))
        .filter(pl.col("S").list.len() >= min_senders)
        .explode("R")
        .group_by("S")
        .agg(pl.col("R").unique().sort())
        .sort(_edge_key("S"))
        .select(pl.col("S").cast(pl.List(pl.Int64)), pl.col("R").cast(pl.List(pl.Int64)))
    )


def bipartite_windows(g: TGraph, blocks: pl.DataFrame, *, window_us: int) -> pl.DataFrame:
    """The windows ``[t, t + window)`` (``t`` one of a block's transfer times in ``g``) that
    hold a transfer for every (sender, receiver) pair of the block; ``blocks`` holds ``S``,
    ``R`` (id lists of ``g``). One row per such ``t``, in block order, then by ``start``."""
    schema = {
        "senders": pl.List(pl.Int64),
        "receivers": pl.List(pl.Int64),
        "start": pl.Int64(),
        "end": pl.Int64(),
        "n_transfers": pl.Int64(),
        "amount": pl.Float64(),
        "edges": pl.List(pl.Int64),
    }
    if blocks.height == 0:
        return pl.DataFrame(schema=schema)
    blocks = blocks.with_row_index("_b")
    cells = (
        blocks.select("_b", "S").explode("S").join(blocks.select("_b", "R").explode("R"), on="_b")
    )
    edges = cells.join(
        g.edges.select("e", pl.col("u").alias("S"), pl.col("v").alias("R"), "ts", "amount_base"),
        on=["S", "R"],
    )
    if edges.height == 0:
        return pl.DataFrame(schema=schema)
    need = blocks.select(
        (pl.col("S").list.len() * pl.col("R").list.len()).cast(pl.Int64)
    ).to_series()
    covered = _full_windows(edges, need.to_numpy(), window_us)
    return (
        covered.join(
            blocks.select("_b", pl.col("S").alias("senders"), pl.col("R").alias("receivers")),
            on="_b",
        )
        .sort("_b", "start")
        .select(*schema)
    )


def _full_windows(edges: pl.DataFrame, need: NDArray[np.int64], window_us: int) -> pl.DataFrame:
    """The windows ``[start, start + window)`` (``start`` one of the block's transfer times)
    in which every one of the ``need[_b]`` (``S``, ``R``) pairs of block ``_b`` has a transfer.

    Sweep, no window × transfer join: a pair has a transfer in ``[t, t + W)`` iff ``t`` lies in
    ``(ts - W, ts]`` for one of its transfers; its transfers less than ``W`` apart (or exactly
    ``W``) make these intervals one run ``(first - W, last]``. The pairs covering ``t`` are the
    runs with ``lo < t`` minus those with ``hi < t`` (runs of one pair are disjoint), counted by
    binary search on (block, time rank) keys. ``edges`` holds ``_b, S, R, e, ts, amount_base``;
    returns ``_b, start, end, n_transfers, amount, edges`` (the transfers in the window).
    """
    runs = (
        edges.select("_b", "S", "R", "ts")
        .sort("_b", "S", "R", "ts")
        .with_columns(
            (pl.col("ts").diff().over("_b", "S", "R") > window_us)
            .fill_null(True)
            .cum_sum()
            .alias("_run")
        )
        .group_by("_run")
        .agg(
            pl.col("_b").first(),
            (pl.col("ts").min() - window_us).alias("lo"),
            pl.col("ts").max().alias("hi"),
        )
    )
    ordered = edges.select("_b", "ts", "e", "amount_base").sort("_b", "ts", "e")
    starts = ordered.select("_b", pl.col("ts").alias("start")).unique(maintain_order=True)
    b_run, b_edge, b_start = (
        f.get_column("_b").cast(pl.Int64).to_numpy() for f in (runs, ordered, starts)
    )
    start = starts.get_column("start").to_numpy()
    values = [runs.get_column("lo").to_numpy(), runs.get_column("hi").to_numpy(), start,
              start + window_us, ordered.get_column("ts").to_numpy()]  # fmt: skip
    uniq, rank = np.unique(np.concatenate(values), return_inverse=True)
    stride = np.int64(uniq.size + 1)
    parts = np.split(rank.astype(np.int64), np.cumsum([v.size for v in values])[:-1])
    lo, hi = np.sort(b_run * stride + parts[0]), np.sort(b_run * stride + parts[1])
    at, until, edge_key = (b_start * stride + parts[2], b_start * stride + parts[3],
                           b_edge * stride + parts[4])  # fmt: skip
    floor = b_start * stride
    inside = (np.searchsorted(lo, at) - np.searchsorted(lo, floor)) - (
        np.searchsorted(hi, at) - np.searchsorted(hi, floor)
    )
    full = inside == need[b_start]
    first = np.searchsorted(edge_key, at[full])  # edge_key is sorted: ``ordered``
    last = np.searchsorted(edge_key, until[full])
    rows = pl.DataFrame(
        {"_w": np.arange(first.size), "_r": pl.int_ranges(first, last, eager=True)}
    ).explode("_r")
    picked = ordered.select("ts", "e", "amount_base")[rows.get_column("_r")]
    windows = (
        pl.concat([rows.select("_w"), picked], how="horizontal")
        .group_by("_w")
        .agg(
            pl.col("ts").max().alias("end"),
            pl.len().cast(pl.Int64).alias("n_transfers"),
            pl.col("amount_base").sort_by("e").sum().alias("amount"),
            pl.col("e").sort().alias("edges"),
        )
        .sort("_w")
    )
    keys = starts.filter(pl.Series(full)).select("_b", "start")
    return pl.concat([keys, windows.drop("_w")], how="horizontal")
