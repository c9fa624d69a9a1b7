"""Sharded detection on Spark: every shard runs the local engine's code on its Arrow batch.

Each rule goes one of four ways (:func:`placement`):

``focus``
    Windowed kinds whose alerts for a focus depend only on the transfers touching it (fan-in,
    structuring, pass-through, ...). A transfer goes to the shard of each key it can be the
    focus for (``hash(src) mod N`` and ``hash(dst) mod N`` of the rule's ``group_by``); each
    shard runs :func:`finintel.detect` on its transfers and keeps the alerts whose focus hashes
    to it, so no alert comes twice and each is built from its focus's whole history. With
    ``time_buckets`` > 1 a shard is split further by time (:func:`_grid`): each bucket keeps
    its foci's windows ending in it and the driver merges them into periods.
``time``
    Graph kinds and ``agent_concentration`` (a network-wide median per calendar period). Time
    is cut into chunks of ``chunk_windows × lookback`` (counted from 1970-01-01 UTC); a chunk
    reads its transfers, the two lookbacks before it and the graph kinds' one after it (what
    follows a chain can extend it), and keeps the kept windows that *end*
    inside it: a graph instance (under one window long) and all that decides it lies within
    two lookbacks before its end. The driver merges the windows into periods and builds the
    alerts exactly as the local engine does. Degree caps are counted over all data first (a
    hub is a hub in every chunk). Only chunks holding a transfer (where a window can end) are
    searched; when the last of them reads all the transfers, the rules of that lookback are
    one task over all of them. One chunk must fit an executor: a chunk over
    ``max_chunk_rows`` transfers fails the run (FI181) before any search.
``blocks``
    ``bipartite``: candidate blocks from the distinct pairs of all the data, then their windows
    per time chunk (:mod:`finintel.spark.blocks`).
``driver``
    ``shared_identifier`` (identifiers shared across parties of any shard) and ``watchlist``
    (targets matched against the parties) run on the driver with the local engine.

Every task is sent only the columns its rules read, and with ``channels`` scopes only those
transfers (:mod:`finintel.spark.needs`), as a stream of Arrow batches it turns into one polars
frame (:func:`gather`). Alert ids hash (rule, focus, period start), so the alerts equal the
local engine's.
"""

from __future__ import annotations

import gc
import io
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import polars as pl
import pyarrow as pa

from finintel.errors import DataError, UsageError
from finintel.schema import MOVED_STATUS, RULE_COLUMNS, TRANSFERS
from finintel.spark.needs import (
    ENTITY_OF,
    channel_filter,
    ordered,
    rule_columns,
    skipped_columns,
)
from finintel.spark.session import fetched
from finintel.typology.chunks import (
    US,
    WHOLE_HISTORY,
    Grid,
    cap,
    capped_params,
    lookback_us,
    overlap,
    placement,
    within,
)
from finintel.typology.engine import (
    ALERT_ORDER,
    Alerts,
    alerts_table,
    party_kinds,
    rule_alerts,
    rule_windows,
    rules_meta,
    scope,
)
from finintel.typology.engine import (
    detect as local_detect,
)
from finintel.typology.primitives.base import REGISTRY, RunContext

#: Chunk length in lookbacks (≥ 2: a chunk is at least as long as its overlap).
DEFAULT_CHUNK_WINDOWS = 4
#: Most transfers (with the overlap) one time chunk may hold: what an executor solves at once.
DEFAULT_MAX_CHUNK_ROWS = 20_000_000


@dataclass(frozen=True)
class _Data:
    """What :func:`finintel.detect` reads: transfers with party kinds already joined."""

    transfers: pl.LazyFrame
    base_currency: str
    parties: None = None


@dataclass(frozen=True)
class _Rules:
    rules: list[Any]
    lists: Mapping[str, tuple[object, ...]]


def detect(
    data: Any,
    rules: Any,
    spark: Any,
    *,
    store: str | Path | None = None,
    as_of: int | None = None,
    shards: int | None = None,
    chunk_windows: int = DEFAULT_CHUNK_WINDOWS,
    max_chunk_rows: int = DEFAULT_MAX_CHUNK_ROWS,
    entities: Any = None,
    time_buckets: int = 1,
) -> Alerts:
    """:func:`finintel.detect` of ``rules`` on Spark session ``spark``.

    Spark reads the transfers from ``store`` (its Delta table's Parquet files at ``as_of``);
    without a store, ``data``'s transfers are staged as Parquet in a local temporary folder
    (enough for ``local[N]``; a cluster reads a store on shared storage). ``data`` (a Dataset)
    gives the parties and the base currency; ``shards`` defaults to twice the executor cores
    (each shard runs every windowed rule's plan once, a fixed cost per shard). Rules with
    ``group_by: entity`` use ``entities`` (a :class:`~finintel.resolve.Entities`; None: the
    parties are resolved here): the driver resolves, Spark replaces each party by its entity.
    ``time_buckets`` > 1 splits each focus shard into that many time buckets (overlapping by
    the rules' lookback), so one key's long history is not one task.
    """
    if chunk_windows < 2:
        raise UsageError("FI182", f"the chunk length must be ≥ 2 lookbacks, got {chunk_windows}")
    if time_buckets < 1:
        raise UsageError("FI182", f"the number of time buckets must be ≥ 1, got {time_buckets}")
    n = int(shards or 2 * spark.sparkContext.defaultParallelism)
    if n < 1:
        raise UsageError("FI182", f"the number of shards must be ≥ 1, got {n}")
    currency = str(data.base_currency)
    lists = rules.lists
    indexed = list(enumerate(rules.rules))
    by_place: dict[str, list[tuple[int, Any]]] = {
        "focus": [], "time": [], "blocks": [], "driver": []
    }  # fmt: skip
    for i, rule in indexed:
        by_place[placement(rule.kind)].append((i, rule))
    if entities is None and any(r.group_by == "entity" for r in rules.rules):
        from finintel.resolve import resolve

        entities = resolve(data.parties)
    members = None if entities is None else entities.members
    frames: list[pl.DataFrame] = []
    skipped: dict[int, pl.DataFrame] = {}
    with tempfile.TemporaryDirectory(prefix="finintel-spark-") as tmp:
        spread = by_place["focus"] or by_place["time"] or by_place["blocks"]
        transfers = _read(spark, data, store, as_of, Path(tmp), members) if spread else None
        if transfers is not None and by_place["focus"]:
            frames.append(
                _focus(spark, transfers, by_place["focus"], lists, currency, n, time_buckets)
            )
        graph = by_place["time"] + by_place["blocks"]
        if transfers is not None and graph:
            skipped = _degree_caps(transfers, graph, lists)
        if transfers is not None and by_place["time"]:
            frames.append(
                _time(
                    transfers, by_place["time"], lists, currency, skipped, n,
                    chunk_windows, max_chunk_rows,
                )
            )  # fmt: skip
        if transfers is not None and by_place["blocks"]:
            from finintel.spark.blocks import bipartite

            frames.append(
                bipartite(
                    transfers, by_place["blocks"], lists, currency, skipped, n,
                    chunk_windows, max_chunk_rows,
                )
            )  # fmt: skip
    if by_place["driver"]:
        driver = _Rules([r for _, r in by_place["driver"]], lists)
        found = local_detect(data, driver, entities=entities)
        frames.append(found.table)
        for (i, _), meta in zip(by_place["driver"], found.rules, strict=True):
            if meta["skipped_accounts"]:
                skipped[i] = pl.DataFrame(meta["skipped_accounts"])
    table = pl.concat(frames) if frames else alerts_table([])
    return Alerts(table.sort(*ALERT_ORDER), rules_meta(rules.rules, skipped), currency)


def _read(
    spark: Any,
    data: Any,
    store: str | Path | None,
    as_of: int | None,
    tmp: Path,
    members: pl.DataFrame | None,
) -> Any:
    """The moved transfers as a Spark DataFrame with the RULE_COLUMNS (party kinds joined) and,
    with ``members`` (party_id → entity_id), ``src_entity`` / ``dst_entity``; None for a store
    without data files."""
    from pyspark.sql import functions as sf

    if store is not None:
        from finintel.store import Store

        files, drop_ids = Store(store, create=False).transfer_files(as_of)
        if not files:  # nothing stored yet
            return None
        sdf = spark.read.parquet(*files).filter(sf.col("drop_id").isin(drop_ids))
    else:
        path = tmp / "transfers.parquet"
        data.transfers.select(list(TRANSFERS)).sink_parquet(path)
        sdf = spark.read.parquet(str(path))
    sdf = sdf.filter(sf.col("status") == MOVED_STATUS).select(*TRANSFERS)
    kinds = party_kinds(data.parties.lazy()).collect()
    if kinds.height == 0:
        sdf = sdf.select(
            "*", *[sf.lit(None).cast("string").alias(f"{s}_party_kind") for s in ("src", "dst")]
        )
    else:
        sdf = _lookup(spark, sdf, kinds.rename({"_kind": "v"}), "party_kind")
    if members is None:
        return sdf.select(*RULE_COLUMNS)
    # as the local engine's by_entity: a party's first entity, else the party id itself
    ents = (
        members.select(pl.col("party_id").cast(pl.String), pl.col("entity_id").cast(pl.String))
        .unique("party_id", keep="first", maintain_order=True)
        .rename({"entity_id": "v"})
    )
    sdf = _lookup(spark, sdf, ents, "entity")
    return sdf.select(
        *RULE_COLUMNS,
        *[sf.coalesce(f"{s}_entity", f"{s}_party").alias(f"{s}_entity") for s in ("src", "dst")],
    )


def _lookup(spark: Any, sdf: Any, table: pl.DataFrame, name: str) -> Any:
    """``sdf`` with ``src_<name>`` / ``dst_<name>``: ``table``'s ``v`` for each side's party
    (``party_id``), by a broadcast left join."""
    from pyspark.sql import functions as sf

    small = sf.broadcast(spark.createDataFrame(table.to_arrow()))
    for side in ("src", "dst"):
        side_table = small.select(
            sf.col("party_id").alias(f"_{side}_pid"), sf.col("v").alias(f"{side}_{name}")
        )
        sdf = sdf.join(side_table, sdf[f"{side}_party"] == side_table[f"_{side}_pid"], "left")
        sdf = sdf.drop(f"_{side}_pid")
    return sdf


def canonical(table: Any, entity: bool = False) -> pl.DataFrame:
    """A Spark Arrow batch (or a polars frame of them) as the engine's transfer frame (exact
    dtypes, party kinds); the RULE_COLUMNS Spark did not send (no rule of the task reads them,
    :mod:`finintel.spark.needs`) are null. With ``entity``, each party replaced by its entity
    (``group_by: entity``)."""
    frame = table if isinstance(table, pl.DataFrame) else pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    if entity:
        frame = frame.with_columns(
            **{party: ent for party, ent in ENTITY_OF.items() if ent in frame.columns}
        )
    have = set(frame.columns)
    return frame.select(
        [
            pl.col(c).cast(t) if c in have else pl.lit(None, dtype=t).alias(c)
            for c, t in RULE_COLUMNS.items()
        ]
    )


def gather(batches: Iterator[pa.RecordBatch], columns: Sequence[str]) -> pl.DataFrame:
    """A task's Arrow batches as one polars frame of ``columns`` (those they hold), each batch
    converted and released in turn: the task never holds its Arrow table beside the frame."""
    frames: list[pl.DataFrame] = []
    for batch in batches:
        frame = pl.from_arrow(batch.select([c for c in columns if c in batch.schema.names]))
        assert isinstance(frame, pl.DataFrame)
        frames.append(frame)
    return pl.concat(frames, rechunk=False)


def result(ids: Sequence[int], parts: Sequence[str], frames: Sequence[pl.DataFrame]) -> Any:
    """A task's output batch: one IPC blob per (rule, part)."""
    return pa.RecordBatch.from_pydict(
        {
            "rule": pa.array(ids, pa.int32()),
            "part": pa.array(parts, pa.string()),
            "ipc": pa.array([blob(f) for f in frames], pa.binary()),
        }
    )


#: Entities already applied (parties replaced in Spark): the local engine resolves nothing.
_APPLIED = SimpleNamespace(
    members=pl.DataFrame(schema={"party_id": pl.String, "entity_id": pl.String})
)


def blob(frame: pl.DataFrame) -> bytes:
    """``frame`` as Arrow IPC, compressed: every task's result passes through the driver's
    JVM heap, and windows and evidence (account ids, tx ids repeated) shrink several-fold."""
    out = io.BytesIO()
    frame.write_ipc(out, compression="zstd")
    return out.getvalue()


def _frames(rows: Sequence[Any], column: str = "ipc") -> list[pl.DataFrame]:
    return [pl.read_ipc(io.BytesIO(bytes(r[column]))) for r in rows]


# ---------------------------------------------------------------- focus shards


def _focus(
    spark: Any,
    sdf: Any,
    rules: list[tuple[int, Any]],
    lists: Mapping[str, tuple[object, ...]],
    currency: str,
    n: int,
    buckets: int = 1,
) -> pl.DataFrame:
    """Alerts of the focus-local rules: shard by focus key, detect per shard, keep own foci;
    with ``buckets`` > 1 each shard is split further by time bucket for the time-local kinds
    (see :func:`_grid`)."""
    from pyspark.sql import functions as sf

    keys = sorted({str(r.group_by) for _, r in rules})
    columns = {
        k: {f"{s}_{k}" for s in ("src", "dst")}.union(
            *(rule_columns(r, r.params, currency, lists) for _, r in rules if r.group_by == k)
        )
        for k in keys
    }
    sdf = sdf.select(*ordered(set().union(*columns.values()), sdf.columns))
    hashed = sdf.select(
        "*",
        *[
            sf.pmod(sf.xxhash64(sf.col(f"{s}_{k}")), sf.lit(n)).alias(f"_h_{s}_{k}")
            for k in keys
            for s in ("src", "dst")
        ],
    )
    scoped = {k: channel_filter(r for _, r in rules if r.group_by == k) for k in keys}
    targets = sf.array(
        *[
            sf.when(
                sf.col(f"{s}_{k}").isNotNull() & _or_true(scoped[k]),
                sf.struct(sf.lit(k).alias("kt"), sf.col(f"_h_{s}_{k}").alias("shard")),
            )
            for k in keys
            for s in ("src", "dst")
        ]
    )
    keyed = hashed.withColumn(
        "_t", sf.explode(sf.array_distinct(sf.filter(targets, lambda t: t.isNotNull())))
    ).select("*", sf.col("_t.kt").alias("_kt"), sf.col("_t.shard").alias("_shard"))
    split = {i for i, r in rules if buckets > 1 and r.kind not in WHOLE_HISTORY}
    grid = _grid(sdf, [r for i, r in rules if i in split], buckets) if split else None
    if grid is None:
        split = set()
    whole_keys = sorted({str(r.group_by) for i, r in rules if i not in split})
    none = sf.array().cast("array<bigint>")
    bucket_ids = sf.when(sf.col("_kt").isin(whole_keys), sf.array(sf.lit(-1).cast("bigint")))
    bucket_ids = bucket_ids.otherwise(none)
    if grid is not None:
        # the buckets b whose Grid.reads(b, 2 * overlap, overlap) hold the transfer
        t0, length, overlap = grid[0].t0, grid[0].length, grid[1]
        x = sf.unix_micros(sf.col("ts")) - sf.lit(t0)
        own = sf.sequence(
            sf.greatest(sf.floor((x - overlap) / length), sf.lit(0).cast("bigint")),
            sf.least(sf.floor((x + 2 * overlap) / length), sf.lit(buckets - 1).cast("bigint")),
        )
        split_keys = sorted({str(r.group_by) for i, r in rules if i in split})
        bucket_ids = sf.concat(
            bucket_ids, sf.when(sf.col("_kt").isin(split_keys), own).otherwise(none)
        )
    keyed = keyed.withColumn("_b", sf.explode(bucket_ids)).drop("_t")
    keyed = keyed.repartition(n, "_kt", "_shard", "_b")
    sent = {k: {*c, *(f"_h_{s}_{k}" for s in ("src", "dst"))} for k, c in columns.items()}
    task = _focus_task(rules, split, grid, lists, currency, sent)
    schema = "rule int, part string, ipc binary"
    rows = fetched(keyed.groupBy("_kt", "_shard", "_b").applyInArrow(task, schema))
    frames: list[pl.DataFrame] = []
    parts: dict[tuple[int, str], list[pl.DataFrame]] = {}
    for row, frame in zip(rows, _frames(rows), strict=True):
        if row["part"] == "a":
            frames.append(frame)
        else:
            parts.setdefault((int(row["rule"]), str(row["part"])), []).append(frame)
    out: list[dict[str, Any]] = []
    for i, rule in rules:
        if (i, "w") in parts:
            windows = pl.concat(parts[(i, "w")]).sort("focus", "start", "end", maintain_order=True)
            evidence = pl.concat(parts[(i, "e")]).unique(maintain_order=True)
            out += rule_alerts(rule, windows, evidence, currency)
    frames.append(alerts_table(out))
    return pl.concat(frames)


def _or_true(condition: Any) -> Any:
    """``condition``, or true when there is none."""
    from pyspark.sql import functions as sf

    return sf.lit(True) if condition is None else condition


def _grid(sdf: Any, rules: list[Any], buckets: int) -> tuple[Grid, int] | None:
    """Time buckets of a focus shard: ``buckets`` equal buckets from the first transfer to the
    last (:class:`~finintel.typology.chunks.Grid`) and the overlap, the rules' longest lookback
    (µs). A bucket reads its own transfers, two overlaps before it and one after it, and keeps
    the windows *ending* inside it (:mod:`finintel.typology.chunks`). None without transfers."""
    from pyspark.sql import functions as sf

    ts = sf.unix_micros(sf.col("ts"))
    first = fetched(sdf.agg(sf.min(ts).alias("lo"), sf.max(ts).alias("hi")))[0]
    if first["lo"] is None:
        return None
    overlap = max(REGISTRY[r.kind].lookback(r.params) // US for r in rules)
    return Grid.over(int(first["lo"]), int(first["hi"]), buckets), int(overlap)


def _focus_task(
    rules: list[tuple[int, Any]],
    split: set[int],
    grid: tuple[Grid, int] | None,
    lists: Mapping[str, tuple[object, ...]],
    currency: str,
    columns: Mapping[str, set[str]],
) -> Callable[[Any, Any], Any]:
    def run(
        key: tuple[pa.Scalar, ...], batches: Iterator[pa.RecordBatch]
    ) -> Iterator[pa.RecordBatch]:
        kt, shard, b = str(key[0].as_py()), int(key[1].as_py()), int(key[2].as_py())
        frame = gather(batches, sorted(columns[kt]))
        owned = pl.concat(
            [
                frame.filter(pl.col(f"_h_{s}_{kt}") == shard).get_column(f"{s}_{kt}")
                for s in ("src", "dst")
            ]
        ).unique()
        lf = canonical(frame, kt == "entity").lazy()
        if b < 0:  # the whole history of the shard's foci
            mine = [r for i, r in rules if r.group_by == kt and i not in split]
            alerts = local_detect(_Data(lf, currency), _Rules(mine, lists), entities=_APPLIED)
            yield result([-1], ["a"], [alerts.table.filter(pl.col("focus").is_in(owned.implode()))])
            return
        assert grid is not None
        lo, hi = grid[0].bounds(b)
        mine_i = [(i, r) for i, r in rules if r.group_by == kt and i in split]
        ctx = RunContext(
            group_by="party" if kt == "entity" else kt, base_currency=currency, lists=lists
        )
        own_focus = pl.col("focus").is_in(owned.implode())
        done: list[pl.DataFrame] = []
        for _, rule in mine_i:  # one rule at a time: the peak is the largest rule's, not the sum
            kept, evidence = rule_windows(rule, lf, ctx, rule.params)
            done += pl.collect_all(
                [kept.filter(own_focus & within("end", lo, hi)), evidence.filter(own_focus)]
            )
        ids = [i for i, _ in mine_i for _ in range(2)]
        yield result(ids, ["w", "e"] * len(mine_i), done)

    return run


# ---------------------------------------------------------------- time chunks


def _degree_caps(
    sdf: Any, rules: list[tuple[int, Any]], lists: Mapping[str, tuple[object, ...]]
) -> dict[int, pl.DataFrame]:
    """Each graph rule's skipped accounts (``account``, ``degree``) over all the data."""
    from pyspark.sql import functions as sf

    graph = [(i, r) for i, r in rules if hasattr(REGISTRY[r.kind], "skipped")]
    if not graph:
        return {}

    def scoped(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        for batch in batches:
            lf = canonical(batch).lazy()
            for i, rule in graph:
                sk = (
                    REGISTRY[rule.kind]
                    .skipped(  # type: ignore[attr-defined]
                        scope(rule, lf, {k: list(v) for k, v in lists.items()}),
                        {**rule.params, "max_degree": 0, "exclude": ()},
                    )
                    .collect()
                )
                yield pa.RecordBatch.from_pydict(
                    {
                        "rule": pa.array([i] * sk.height, pa.int32()),
                        "account": sk.get_column("account").to_arrow(),
                        "degree": sk.get_column("degree").to_arrow(),
                    }
                )

    sdf = sdf.select(*ordered(skipped_columns((r for _, r in graph), lists), sdf.columns))
    counts = (
        sdf.mapInArrow(scoped, "rule int, account string, degree long")
        .groupBy("rule", "account")
        .agg(sf.sum("degree").alias("degree"))
    )
    wanted = sf.lit(False)
    for i, rule in graph:
        limit, excluded = cap(rule)
        wanted = wanted | (
            (sf.col("rule") == i) & ((sf.col("degree") > limit) | sf.col("account").isin(excluded))
        )
    rows = fetched(counts.filter(wanted))
    found = pl.DataFrame(
        {
            "rule": [int(r["rule"]) for r in rows],
            "account": [str(r["account"]) for r in rows],
            "degree": [int(r["degree"]) for r in rows],
        },
        schema={"rule": pl.Int64, "account": pl.String, "degree": pl.Int64},
    )
    out: dict[int, pl.DataFrame] = {}
    for i, _ in graph:
        out[i] = found.filter(pl.col("rule") == i).drop("rule").sort("account")
    return out


def _time(
    sdf: Any,
    rules: list[tuple[int, Any]],
    lists: Mapping[str, tuple[object, ...]],
    currency: str,
    skipped: Mapping[int, pl.DataFrame],
    n: int,
    chunk_windows: int,
    max_chunk_rows: int,
) -> pl.DataFrame:
    """Alerts of the time-chunked rules (see the module docstring): the rules of one lookback
    (a group) share their chunks; a group whose last chunk reads all its transfers is one
    task over them, and only the chunks holding a transfer of the group (where a window can
    end) are searched."""
    from pyspark.sql import functions as sf

    lookbacks = sorted({lookback_us(r) for _, r in rules})
    groups = {
        g: [(i, r) for i, r in rules if lookback_us(r) == lb] for g, lb in enumerate(lookbacks)
    }
    params = {i: capped_params(r, skipped.get(i)) for i, r in rules}
    columns = {
        g: {"ts"}.union(*(rule_columns(r, params[i], currency, lists) for i, r in members))
        for g, members in groups.items()
    }
    scoped = {g: _or_true(channel_filter(r for _, r in members)) for g, members in groups.items()}
    sdf = sdf.select(*ordered(set().union(*columns.values()), sdf.columns))
    owners = _owners(sdf, lookbacks, scoped, chunk_windows)
    if not owners:  # no transfer in any group's scope
        return alerts_table([])
    ts = sf.unix_micros(sf.col("ts"))
    none = sf.array().cast("array<bigint>")
    targets = []
    for g, (chunks, whole) in owners.items():
        lb, length = lookbacks[g], chunk_windows * lookbacks[g]
        # what follows a chunk decides too (a chain extended by a later hop is reported only
        # as its extension): a transfer is also read by the chunk before it, as locally
        after = max(overlap(r)[1] for _, r in groups[g])
        if whole:  # the last chunk reads every transfer: one task, owning every window
            seq = sf.array(sf.lit(chunks[-1]).cast("bigint"))
        else:
            seq = sf.filter(
                sf.sequence(sf.floor((ts - after) / length), sf.floor((ts + 2 * lb) / length)),
                _among(chunks),
            )
        targets.append(sf.transform(sf.when(scoped[g], seq).otherwise(none), _tag(g)))
    keyed = (
        sdf.withColumn("_t", sf.explode(sf.flatten(sf.array(*targets))))
        .select("*", sf.col("_t.g").alias("_g"), sf.col("_t.c").alias("_c"))
        .drop("_t")
    )
    big = keyed.groupBy("_g", "_c").count().filter(sf.col("count") > max_chunk_rows).limit(1)
    for row in fetched(big):
        span = timedelta(microseconds=lookbacks[int(row["_g"])])
        raise DataError(
            "FI181",
            f"a time chunk of {chunk_windows} × {span} (rules "
            f"{', '.join(r.id for _, r in groups[int(row['_g'])])}) holds {int(row['count']):,} "
            f"transfers, over the limit of {max_chunk_rows:,} one executor solves: run with "
            "fewer lookbacks per chunk (--spark-chunk-windows) or raise the limit with more "
            "executor memory",
        )
    whole_groups = {g for g, (_, whole) in owners.items() if whole}
    task = _time_task(
        groups, params, lookbacks, lists, currency, chunk_windows, columns, whole_groups
    )
    schema = "rule int, part string, ipc binary"
    rows = keyed.repartition(n, "_g", "_c").groupBy("_g", "_c").applyInArrow(task, schema)
    parts: dict[tuple[int, str], list[pl.DataFrame]] = {}
    for row in fetched(rows):
        parts.setdefault((int(row["rule"]), str(row["part"])), []).append(
            pl.read_ipc(io.BytesIO(bytes(row["ipc"])))
        )
    out: list[dict[str, Any]] = []
    for i, rule in rules:
        if (i, "w") not in parts:  # no transfers at all
            continue
        windows = pl.concat(parts[(i, "w")]).sort("focus", "start", "end", maintain_order=True)
        if i in skipped:  # the global count, as one search over all data reports it
            windows = windows.with_columns(
                pl.lit(skipped[i].height, dtype=pl.Int64).alias("skipped_accounts")
            )
        evidence = pl.concat(parts[(i, "e")]).unique(maintain_order=True)
        out += rule_alerts(rule, windows, evidence, currency)
    return alerts_table(out)


def _owners(
    sdf: Any, lookbacks: Sequence[int], scoped: Mapping[int, Any], chunk_windows: int
) -> dict[int, tuple[list[int], bool]]:
    """For each group (lookback ``lookbacks[g]``, transfers ``scoped[g]``) with a transfer: the
    chunks holding one of its transfers, the only ones that can own a window (a window ends at
    a transfer), and whether the last of them reads all its transfers (its two lookbacks
    before it reach the first: then that chunk alone holds everything, and one task searches
    it, keeping every window, as the local engine runs a rule whose overlap covers the
    history)."""
    from pyspark.sql import functions as sf

    ts = sf.unix_micros(sf.col("ts"))
    own = sf.array(
        *[
            sf.when(
                scoped[g],
                sf.struct(sf.lit(g).alias("g"), sf.floor(ts / (chunk_windows * lb)).alias("c")),
            )
            for g, lb in enumerate(lookbacks)
        ]
    )
    rows = fetched(
        sdf.select(ts.alias("_us"), sf.explode(sf.filter(own, lambda o: o.isNotNull())).alias("_o"))
        .groupBy(sf.col("_o.g").alias("g"), sf.col("_o.c").alias("c"))
        .agg(sf.min("_us").alias("first"))
    )
    out: dict[int, tuple[list[int], bool]] = {}
    for g, lb in enumerate(lookbacks):
        mine = [r for r in rows if int(r["g"]) == g]
        if not mine:
            continue
        chunks = sorted(int(r["c"]) for r in mine)
        first = min(int(r["first"]) for r in mine)
        out[g] = chunks, chunks[-1] * chunk_windows * lb - 2 * lb <= first
    return out


def _among(chunks: Sequence[int]) -> Callable[[Any], Any]:
    """``chunk → chunk in chunks`` for ``sf.filter`` (one argument: no index)."""
    return lambda c: c.isin(list(chunks))


def _tag(group: int) -> Callable[[Any], Any]:
    """``chunk → struct(g, c)`` for ``sf.transform`` (one argument: no index)."""
    from pyspark.sql import functions as sf

    return lambda c: sf.struct(sf.lit(group).alias("g"), c.alias("c"))


def _time_task(
    groups: Mapping[int, list[tuple[int, Any]]],
    params: Mapping[int, dict[str, Any]],
    lookbacks: Sequence[int],
    lists: Mapping[str, tuple[object, ...]],
    currency: str,
    chunk_windows: int,
    columns: Mapping[int, set[str]],
    whole: set[int],
) -> Callable[[Any, Any], Any]:
    def run(
        key: tuple[pa.Scalar, ...], batches: Iterator[pa.RecordBatch]
    ) -> Iterator[pa.RecordBatch]:
        g, c = int(key[0].as_py()), int(key[1].as_py())
        length = chunk_windows * lookbacks[g]
        frame = gather(batches, sorted(columns[g]))
        lf = canonical(frame).lazy()
        entity = any(r.group_by == "entity" for _, r in groups[g])
        by_entity = canonical(frame, True).lazy() if entity else lf
        owned = pl.lit(True) if g in whole else within("end", c * length, (c + 1) * length)
        done: list[pl.DataFrame] = []
        for i, rule in groups[g]:  # one rule at a time: the peak is the largest rule's
            ctx = RunContext(
                group_by="party" if rule.group_by == "entity" else rule.group_by,
                base_currency=currency,
                lists=lists,
            )
            source = by_entity if rule.group_by == "entity" else lf
            kept, evidence = rule_windows(rule, source, ctx, params[i])
            done += pl.collect_all([kept.filter(owned), evidence])
            # a graph kind's transaction graph and its capped view refer to each other: free
            # them now, not beside the next rule's graph (a third off a 30-day chunk's peak)
            del kept, evidence
            gc.collect()
        ids = [i for i, _ in groups[g] for _ in range(2)]
        yield result(ids, ["w", "e"] * len(groups[g]), done)

    return run
