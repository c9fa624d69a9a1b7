"""Tracing on Spark: the frontier is expanded hop by hop with Spark joins, then the transfers
the exact trace reads are collected and traced by :func:`finintel.trace` on the driver.

The reduction keeps (real time; a backward trace mirrors it):

* the seeds' hop-1 transfers in the window, and every seed transfer at the instant that
  anchors the window (the first outflow, else the first movement; backward the last);
* for every account ``a`` that a hop-``k`` transfer reaches (``k < max_hops``, ``a`` neither
  a seed nor a hub): the next hop's candidates, the window's usable transfers leaving ``a``
  (backward: entering it) between its earliest and its latest arrival + ``max_hop_delay``;
* for every reached account: all its transfers in its ledger span, from its earliest arrival
  − ``lookback`` to its latest arrival + ``max_hop_delay`` (capped at the window's end);
  backward from its earliest departure − ``max_hop_delay`` − ``lookback`` to its latest.

Hubs (``max_degree``, ``exclude``) and the seed accounts are counted over all the data. Every
transfer the local trace reads is in the reduction (docs/spark.md gives the argument), and the
local trace only selects transfers by predicates of the transfer itself, so on the reduction it
reaches, replays and reports exactly what it does on all the data.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from finintel.spark.session import fetched

_COLUMNS = ("tx_id", "source", "src", "dst", "ts", "amount", "src_party", "dst_party", "t")


@dataclass(frozen=True)
class Reduced:
    """What the local trace needs from all the data."""

    edges: pl.DataFrame  # a superset of the edges the trace reads (trace.edge_frame columns)
    seed_accounts: list[str]
    unknown_seeds: list[str]
    degrees: pl.DataFrame  # account, degree: at least every hub candidate


def reduce(
    data: Any,
    seeds: Sequence[str],
    seed_kind: str,
    direction: str,
    max_hops: int,
    window: int,
    delay: int,
    lookback: int,
    start: int | None,
    min_amount: float,
    max_degree: int | None,
    exclude: Sequence[str],
    master: str | None,
) -> Reduced:
    """The reduction of ``data`` for a trace with these (validated, µs) parameters."""
    from finintel.graph.trace import edge_frame
    from finintel.spark.session import session

    spark = session(master)
    frame = edge_frame(data)
    schema = frame.collect_schema()
    with tempfile.TemporaryDirectory(prefix="finintel-spark-trace-") as tmp:
        path = Path(tmp) / "edges.parquet"
        frame.sink_parquet(path)
        edges = spark.read.parquet(str(path))
        accounts, unknown = _seeds(edges, list(seeds), seed_kind)
        if not accounts:
            return Reduced(pl.DataFrame(schema=schema), [], unknown, _no_degrees())
        degrees = _degree_rows(edges, accounts, max_degree, exclude)
        ends = set(accounts) | _hub_set(degrees, accounts, max_degree, exclude)
        kept = _reduced(
            spark, edges, accounts, sorted(ends), direction == "forward", max_hops, window,
            delay, lookback, start, min_amount,
        )  # fmt: skip
        out = _polars(kept).select([pl.col(c).cast(t) for c, t in schema.items()])
    return Reduced(out, accounts, unknown, degrees)


def _polars(table: Any) -> pl.DataFrame:
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


def _no_degrees() -> pl.DataFrame:
    return pl.DataFrame(schema={"account": pl.String, "degree": pl.Int64})


def _seeds(edges: Any, seeds: list[str], kind: str) -> tuple[list[str], list[str]]:
    """The seed accounts present in the data and the seeds not found (as trace does)."""
    from pyspark.sql import functions as sf

    if kind == "party":
        pairs = fetched(
            edges.filter(sf.col("src_party").isin(seeds))
            .select(sf.col("src_party").alias("p"), sf.col("src").alias("a"))
            .union(
                edges.filter(sf.col("dst_party").isin(seeds)).select(
                    sf.col("dst_party").alias("p"), sf.col("dst").alias("a")
                )
            )
            .distinct()
        )
        found = {str(r["p"]) for r in pairs}
        return sorted({str(r["a"]) for r in pairs}), sorted(set(seeds) - found)
    present = fetched(
        edges.select(sf.col("src").alias("a"))
        .union(edges.select(sf.col("dst").alias("a")))
        .filter(sf.col("a").isin(seeds))
        .distinct()
    )
    hit = {str(r["a"]) for r in present}
    return sorted(hit), sorted(set(seeds) - hit)


def _degree_rows(
    edges: Any, accounts: list[str], max_degree: int | None, exclude: Sequence[str]
) -> pl.DataFrame:
    """Transfers in + out of every account that may be a hub (listed, or over the cap)."""
    from pyspark.sql import functions as sf

    wanted = sf.col("account").isin(list(exclude)) & ~sf.col("account").isin(accounts)
    if max_degree is not None:
        wanted = wanted | ((sf.col("degree") > max_degree) & ~sf.col("account").isin(accounts))
    rows = fetched(
        edges.select(sf.col("src").alias("account"))
        .unionAll(edges.select(sf.col("dst").alias("account")))
        .groupBy("account")
        .agg(sf.count(sf.lit(1)).alias("degree"))
        .filter(wanted)
    )
    return pl.DataFrame(
        {"account": [str(r["account"]) for r in rows], "degree": [int(r["degree"]) for r in rows]},
        schema={"account": pl.String, "degree": pl.Int64},
    )


def _hub_set(
    degrees: pl.DataFrame, accounts: list[str], max_degree: int | None, exclude: Sequence[str]
) -> set[str]:
    over = pl.col("degree") > max_degree if max_degree is not None else pl.lit(False)
    hubs = degrees.filter(
        (pl.col("account").is_in(list(exclude)) | over) & ~pl.col("account").is_in(accounts)
    )
    return set(hubs.get_column("account").to_list())


def _reduced(
    spark: Any,
    edges: Any,
    accounts: list[str],
    ends: list[str],
    forward: bool,
    max_hops: int,
    window: int,
    delay: int,
    lookback: int,
    start: int | None,
    min_amount: float,
) -> Any:
    """The reduced edges as an Arrow table (see the module docstring)."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as sf

    # real-time orientation: ``here`` is where traced money sits, ``there`` where it goes next
    here, there = ("src", "dst") if forward else ("dst", "src")
    t = sf.col("t")
    touching = sf.col("src").isin(accounts) | sf.col("dst").isin(accounts)
    leaving = sf.col(here).isin(accounts) & ~sf.col(there).isin(accounts)
    pick = sf.min if forward else sf.max
    anchor = fetched(edges.filter(leaving).agg(pick("t").alias("t")))[0]["t"]
    if anchor is None:  # nothing left the seeds: anchored on any seed movement
        anchor = fetched(edges.filter(touching).agg(pick("t").alias("t")))[0]["t"]
    anchor = int(anchor)
    if forward:
        lo = anchor if start is None else start
        hi = lo + window
    else:
        hi = anchor if start is None else start
        lo = hi - window
    usable = edges.filter((t >= lo) & (t <= hi) & (sf.col("amount") >= min_amount)).select(
        "src", "dst", "t"
    )
    usable.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        hop = usable.filter(leaving)
        spans: list[pl.DataFrame] = []
        for k in range(1, max_hops + 1):
            # where hop k's money arrived: earliest and latest arrival per account
            reach = _polars(
                hop.filter(~sf.col(there).isin(ends))
                .groupBy(sf.col(there).alias("acct"))
                .agg(sf.min("t").alias("first"), sf.max("t").alias("last"))
                .toArrow()
            )
            if reach.height == 0:
                break
            spans.append(reach)
            if k == max_hops:
                break
            front = sf.broadcast(spark.createDataFrame(reach.to_arrow()))
            lower = sf.col("first") if forward else sf.col("first") - delay
            upper = sf.col("last") + delay if forward else sf.col("last")
            hop = (
                usable.join(front, usable[here] == front["acct"])
                .filter((t >= lower) & (t <= upper))
                .select("src", "dst", "t")
            )
        kept = leaving & (t >= lo) & (t <= hi) & (sf.col("amount") >= min_amount)
        kept = kept | (touching & (t == anchor))
        if spans:
            span = (
                pl.concat(spans).group_by("acct").agg(pl.col("first").min(), pl.col("last").max())
            )
            if forward:
                span = span.select(
                    "acct",
                    lo=pl.col("first") - lookback,
                    hi=(pl.col("last") + delay).clip(upper_bound=hi),
                )
            else:
                span = span.select("acct", lo=pl.col("first") - delay - lookback, hi="last")
            table = sf.broadcast(spark.createDataFrame(span.to_arrow()))
            for side in ("src", "dst"):
                side_span = table.select(
                    sf.col("acct").alias(f"_{side}_a"),
                    sf.col("lo").alias(f"_{side}_lo"),
                    sf.col("hi").alias(f"_{side}_hi"),
                )
                edges = edges.join(side_span, edges[side] == side_span[f"_{side}_a"], "left")
                kept = kept | ((t >= sf.col(f"_{side}_lo")) & (t <= sf.col(f"_{side}_hi")))
        return edges.filter(kept).select(*_COLUMNS).toArrow()
    finally:
        usable.unpersist()
