"""``bipartite`` on Spark in two phases: the blocks from all the data, their windows per chunk.

Phase one: Spark aggregates each rule's distinct (sender, receiver) pairs of its scoped
transfers; the driver leaves out the accounts over the global caps (``max_degree`` and
``exclude``, counted by :func:`finintel.spark.shards` over all the data, and ``max_fanout``
over these pairs) and builds the candidate blocks with the local code
(:meth:`~finintel.typology.primitives.bipartite.Bipartite.blocks`). Phase two: only the
transfers of a block's (sender, receiver) cells go on; time is cut into chunks of
``chunk_windows × window`` and a chunk reads its own transfers and **one window after it**: a
window ``[t, t + window)`` whose start ``t`` lies in the chunk holds only transfers the chunk
reads, so each chunk checks the given blocks and keeps the windows starting in it (each window
exactly once). The driver merges the windows into periods and builds the alerts with the local
engine's code.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Mapping
from datetime import timedelta
from typing import Any

import polars as pl
import pyarrow as pa

from finintel.errors import DataError
from finintel.schema import RULE_COLUMNS
from finintel.spark.session import fetched
from finintel.spark.shards import canonical, gather, result
from finintel.typology.chunks import US, bipartite_blocks, block_cells
from finintel.typology.engine import alerts_table, kept_windows, rule_alerts, scope
from finintel.typology.primitives.base import REGISTRY
from finintel.typology.primitives.bipartite import Bipartite


def bipartite(
    sdf: Any,
    rules: list[tuple[int, Any]],
    lists: Mapping[str, tuple[object, ...]],
    currency: str,
    skipped: Mapping[int, pl.DataFrame],
    n: int,
    chunk_windows: int,
    max_chunk_rows: int,
) -> pl.DataFrame:
    """Alerts of the ``bipartite`` rules (``skipped``: each rule's accounts over the degree
    caps, from all the data)."""
    from pyspark.sql import functions as sf

    spark = sdf.sparkSession
    pairs = _pairs(sdf, rules, lists)
    blocks: dict[int, pl.DataFrame] = {}
    left_out: dict[int, int] = {}
    for i, rule in rules:
        mine = pairs.filter(pl.col("rule") == i).select("src_account", "dst_account")
        hubs = skipped[i].get_column("account") if i in skipped else pl.Series([], dtype=pl.String)
        found, left_out[i] = bipartite_blocks(rule, mine, hubs)
        if found.height:
            blocks[i] = found
    if not blocks:
        return alerts_table([])
    windows = {i: REGISTRY[r.kind].lookback(r.params) // US for i, r in rules if i in blocks}
    keyed = None
    for i, found in blocks.items():
        cells = block_cells(found)
        small = sf.broadcast(spark.createDataFrame(cells.to_arrow()))
        length = chunk_windows * windows[i]
        ts = sf.unix_micros(sf.col("ts"))
        part = (
            sdf.join(
                small,
                (sdf["src_account"] == small["S"]) & (sdf["dst_account"] == small["R"]),
                "left_semi",
            )
            .withColumn("_i", sf.lit(i))
            .withColumn(
                "_c",
                sf.explode(
                    sf.sequence(sf.floor((ts - windows[i]) / length), sf.floor(ts / length))
                ),
            )
        )
        keyed = part if keyed is None else keyed.unionByName(part)
    assert keyed is not None
    big = keyed.groupBy("_i", "_c").count().filter(sf.col("count") > max_chunk_rows).limit(1)
    for row in fetched(big):
        index = int(row["_i"])
        rule = dict(rules)[index]
        raise DataError(
            "FI181",
            f"a time chunk of {chunk_windows} × {timedelta(microseconds=windows[index])} "
            f"(rule {rule.id}) holds {int(row['count']):,} transfers of its blocks, over the "
            f"limit of {max_chunk_rows:,} one executor solves: run with fewer lookbacks per chunk "
            "(--spark-chunk-windows) or raise the limit with more executor memory",
        )
    task = _task(dict(rules), blocks, lists, chunk_windows, windows)
    rows = fetched(
        keyed.repartition(n, "_i", "_c")
        .groupBy("_i", "_c")
        .applyInArrow(task, "rule int, part string, ipc binary")
    )
    parts: dict[tuple[int, str], list[pl.DataFrame]] = {}
    for row in rows:
        parts.setdefault((int(row["rule"]), str(row["part"])), []).append(
            pl.read_ipc(io.BytesIO(bytes(row["ipc"])))
        )
    out_rows: list[dict[str, Any]] = []
    for i, rule in rules:
        if (i, "w") not in parts:
            continue
        prim = REGISTRY[rule.kind]
        found_w = (
            pl.concat(parts[(i, "w")])
            .with_columns(pl.lit(left_out[i], dtype=pl.Int64).alias("skipped_accounts"))
            .sort("focus", "start", "end", maintain_order=True)
        )
        kept = kept_windows(rule, prim, found_w.lazy(), _lists(lists)).collect()
        evidence = pl.concat(parts[(i, "e")]).unique(maintain_order=True)
        out_rows += rule_alerts(rule, kept, evidence, currency)
    return alerts_table(out_rows)


def _lists(lists: Mapping[str, tuple[object, ...]]) -> dict[str, list[object]]:
    return {k: list(v) for k, v in lists.items()}


def _pairs(
    sdf: Any, rules: list[tuple[int, Any]], lists: Mapping[str, tuple[object, ...]]
) -> pl.DataFrame:
    """Each rule's distinct (``src_account``, ``dst_account``) pairs of its scoped transfers
    (both accounts set; self-pairs included, as the local fan-out count sees them)."""

    def scoped(batches: Any) -> Any:
        import pyarrow as pa

        for batch in batches:
            lf = canonical(batch).lazy()
            for i, rule in rules:
                found = (
                    scope(rule, lf, _lists(lists))
                    .select("src_account", "dst_account")
                    .drop_nulls()
                    .unique()
                    .collect()
                )
                yield pa.RecordBatch.from_pydict(
                    {
                        "rule": pa.array([i] * found.height, pa.int32()),
                        "src_account": found.get_column("src_account").to_arrow(),
                        "dst_account": found.get_column("dst_account").to_arrow(),
                    }
                )

    table = (
        sdf.mapInArrow(scoped, "rule int, src_account string, dst_account string")
        .distinct()
        .toArrow()
    )
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame.with_columns(pl.col("rule").cast(pl.Int64))


def _task(
    rules: Mapping[int, Any],
    blocks: Mapping[int, pl.DataFrame],
    lists: Mapping[str, tuple[object, ...]],
    chunk_windows: int,
    windows: Mapping[int, int],
) -> Callable[[Any, Any], Any]:
    def run(
        key: tuple[pa.Scalar, ...], batches: Iterator[pa.RecordBatch]
    ) -> Iterator[pa.RecordBatch]:
        i, c = int(key[0].as_py()), int(key[1].as_py())
        rule = rules[i]
        length = chunk_windows * windows[i]
        sent = canonical(gather(batches, list(RULE_COLUMNS))).lazy()
        frame = scope(rule, sent, _lists(lists)).collect()
        prim = REGISTRY[rule.kind]
        assert isinstance(prim, Bipartite)
        found, evidence = prim.check(frame, blocks[i], rule.params, c * length, (c + 1) * length)
        yield result([i, i], ["w", "e"], [found, evidence])

    return run
