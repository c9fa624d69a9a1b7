"""Time-chunked detection for the local engine: long histories in bounded memory.

``finintel.detect(..., time_chunks=N)`` cuts the span from the first to the last transfer into
``N`` equal chunks (:class:`~finintel.typology.chunks.Grid`) and detects them one after the
other. For each chunk and each overlap of its rules (:func:`~finintel.typology.chunks.overlap`:
two lookbacks before and one after; the rolling-window kinds one lookback before), the chunk's
transfers with that overlap are collected (only those rows: a lazy store scan reads just them),
the rules' compiled plans run on them, and the chunk keeps the kept windows that *end*
inside it (``bipartite``: that *start* inside it) and the evidence rows inside them. The windows
of all chunks are merged into periods and the alerts built as by the un-chunked engine: the
same alerts, ids, periods, metrics and evidence (:mod:`finintel.typology.chunks` says why).

Run over the whole history instead, on the narrow columns their plans select:

* ``shared_identifier`` and ``watchlist`` (candidates from all the parties);
* a rule whose overlap is so long that every chunk would read the whole history anyway
  (the overlap ≥ the history's span, e.g. ``agent_concentration`` with a 730-day window on
  a two-year history).

``dormant_then_active`` is chunked with each focus key's last transfer before the chunk's
overlap carried in (:func:`~finintel.typology.chunks.last_before`), which dates every dormancy
as the whole history does. The carried transfers are kept from chunk to chunk (the last ones
before the previous chunk's overlap plus that chunk's transfers give the next): one row per
focus key on a few columns, so memory grows with the accounts (or parties), not the history.

Counted over all the data first (narrow group-bys): the graph kinds' degree caps (a hub is
left out in every chunk, and ``skipped_accounts`` is the global count) and ``bipartite``'s
candidate blocks (from the distinct sender-receiver pairs of the whole history; each chunk
then checks the given blocks, reading only their cells' transfers).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

import polars as pl

from finintel.errors import UsageError
from finintel.frames import compacted
from finintel.graph.tgraph import GraphCache
from finintel.typology import chunks
from finintel.typology.chunks import Grid
from finintel.typology.engine import (
    ALERT_ORDER,
    Alerts,
    Prepared,
    alerts_table,
    detect_at_once,
    kept_windows,
    merge_periods,
    rule_alerts,
    rule_plan,
    rules_meta,
    scope,
    scope_columns,
    streamed_skipped,
    streamed_transfers,
    with_party_kinds,
)
from finintel.typology.primitives.base import REGISTRY, STREAMED

log = logging.getLogger("finintel.detect")

#: ``time_chunks="auto"``: one chunk per this many moved transfers. All the shipped rules over
#: 3M transfers at once peak at about 4.3 GB (docs/benchmark.md): chunks of at most 3M (plus
#: their overlap) keep one detection near that on any history length.
ROWS_PER_CHUNK = 3_000_000


def time_chunks_option(value: int | str | None) -> int | str | None:
    """A ``time_chunks`` value checked: None, an int ≥ 1 (also as text, from the command
    line) or ``"auto"``; anything else fails with FI183 before any data is read."""
    if value is None or value == "auto":
        return value
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(
            "FI183",
            f"--time-chunks must be a whole number ≥ 1 or 'auto', got {value!r}",
        )
    return value


def chunk_count(time_chunks: int | str, transfers: pl.LazyFrame) -> int:
    """The number of time chunks ``time_chunks`` asks for: an int ≥ 1 as is; ``"auto"``: one
    per :data:`ROWS_PER_CHUNK` moved transfers (counted lazily)."""
    checked = time_chunks_option(time_chunks)
    if checked == "auto":
        rows = int(transfers.select(pl.len()).collect().item())
        return max(1, math.ceil(rows / ROWS_PER_CHUNK))
    assert isinstance(checked, int)
    return checked


def detect_chunked(
    prepared: Prepared, rules: Any, n: int, progress: Callable[[int, int, str], None] | None
) -> Alerts:
    """:func:`finintel.detect` of ``rules`` in ``n`` time chunks (see the module docstring)."""
    currency = prepared.currency
    span = prepared.moved.select(
        pl.col("ts").min().dt.epoch("us").alias("lo"), pl.col("ts").max().dt.epoch("us").alias("hi")
    ).collect()
    lo, hi = span.item(0, "lo"), span.item(0, "hi")
    indexed = dict(enumerate(rules.rules))
    split = {
        i: r
        for i, r in indexed.items()
        if lo is not None and chunks.splittable(r.kind) and sum(chunks.overlap(r)) < hi - lo
    }
    frames: list[pl.DataFrame] = []
    metas: dict[int, dict[str, Any]] = {}
    whole = [i for i in indexed if i not in split]
    for i in whole:  # one at a time: the largest one's working set, not their sum
        found = detect_at_once(prepared, _Rules([indexed[i]], rules.lists), None, streaming=True)
        frames.append(found.table)
        metas[i] = found.rules[0]
    if split:
        order = list(split)
        by_position = streamed_skipped(list(split.values()), prepared)
        skipped = {order[k]: frame for k, frame in by_position.items()}
        grid = Grid.over(int(lo), int(hi), n)
        frames.append(_chunked(prepared, rules, split, skipped, grid, progress))
        metas |= dict(zip(order, rules_meta(list(split.values()), by_position), strict=True))
    if progress is not None:
        progress(len(indexed), len(indexed), "")
    table = pl.concat(frames).sort(*ALERT_ORDER) if frames else alerts_table([])
    return Alerts(table, [metas[i] for i in indexed], currency)


class _Rules:
    """Some of a RuleSet's rules, with its named lists."""

    def __init__(self, rules: list[Any], lists: Any) -> None:
        self.rules = rules
        self.lists = lists


def _chunked(
    prepared: Prepared,
    rules: Any,
    split: dict[int, Any],
    skipped: dict[int, pl.DataFrame],
    grid: Grid,
    progress: Callable[[int, int, str], None] | None,
) -> pl.DataFrame:
    """Alerts of the ``split`` rules (index → rule), chunk by chunk of ``grid``."""
    blocks = _blocks(prepared, {i: r for i, r in split.items() if r.kind in chunks.BLOCKS}, skipped)
    windows: dict[int, list[pl.DataFrame]] = {i: [] for i in split}
    evidence: dict[int, list[pl.DataFrame]] = {i: [] for i in split}
    carried: dict[int, pl.DataFrame] = {}  # CARRIED kinds: last transfers before the reads
    groups = chunks.group_by_overlap(split)
    started = time.perf_counter()
    for c in range(grid.n):
        every = [grid.reads(c, before, after) for before, after in groups]
        kinds = _chunk_kinds(prepared, min(lo for lo, _ in every), max(hi for _, hi in every))
        for ((before, after), members), reads in zip(groups.items(), every, strict=True):
            next_lo = grid.reads(c + 1, before, after)[0] if c + 1 < grid.n else None
            found = _group(
                _read(prepared, reads, kinds),
                prepared,
                rules,
                (split, members),
                skipped,
                blocks,
                (grid, c),
                (carried, next_lo),
            )
            for i, (mine, ev) in found.items():
                windows[i].append(compacted(mine))
                evidence[i].append(compacted(ev))
        log.info(
            "time chunk %d/%d detected (%.0f s so far)",
            c + 1,
            grid.n,
            time.perf_counter() - started,
            extra={"event": "detect.chunk", "counts": {"chunk": c + 1, "chunks": grid.n}},
        )
    rows: list[dict[str, Any]] = []
    for k, (i, rule) in enumerate(split.items()):
        if progress is not None:
            progress(k, len(split), rule.id)
        if not windows[i]:
            continue
        found_w = pl.concat(windows[i]).sort("focus", "start", "end", maintain_order=True)
        ev = pl.concat(evidence[i]).unique(maintain_order=True)
        rows += rule_alerts(rule, found_w, ev, prepared.currency)
    return alerts_table(rows)


def _chunk_kinds(prepared: Prepared, lo: int, hi: int) -> pl.DataFrame | None:
    """The party kinds of the parties of the moved transfers with ``lo <= ts < hi`` (a chunk
    with all its overlaps): each overlap's read then joins these few instead of all."""
    if prepared.kinds is None:
        return None
    sides = prepared.moved.filter(chunks.within("ts", lo, hi)).select("src_party", "dst_party")
    ids = sides.collect()
    held = pl.concat([ids.get_column("src_party"), ids.get_column("dst_party")]).drop_nulls()
    return prepared.kinds.filter(pl.col("party_id").is_in(held.unique().implode()))


def _read(prepared: Prepared, reads: tuple[int, int], kinds: pl.DataFrame | None) -> pl.DataFrame:
    """The moved transfers of ``reads`` (a chunk with one overlap) with the party kinds."""
    moved = prepared.moved.filter(chunks.within("ts", *reads))
    return with_party_kinds(moved, None if kinds is None else kinds.lazy()).collect()


def _group(
    frame: pl.DataFrame,
    prepared: Prepared,
    rules: Any,
    chosen: tuple[dict[int, Any], list[int]],
    skipped: dict[int, pl.DataFrame],
    blocks: dict[int, tuple[pl.DataFrame, int]],
    at: tuple[Grid, int],
    carry: tuple[dict[int, pl.DataFrame], int | None],
) -> dict[int, tuple[pl.DataFrame, pl.DataFrame]]:
    """Chunk ``c``'s kept windows (those it owns) and their evidence for the rules ``members``
    of ``split`` (one overlap: ``frame`` holds the transfers it reads) at ``(grid, c)``.
    ``carry``: the carried transfers by rule (before ``frame``), replaced by those before the
    next chunk's reads (``next_lo``, None for the last chunk)."""
    split, members = chosen
    grid, c = at
    carried, next_lo = carry
    lists = prepared.lists
    own_lo, own_hi = grid.bounds(c)
    source = frame.lazy()
    graphs = GraphCache()
    kept: list[pl.LazyFrame] = []
    plans: list[tuple[int, pl.LazyFrame]] = []
    for i in members:
        rule = split[i]
        if rule.kind in chunks.BLOCKS:
            if i not in blocks:  # no candidate block in all the data: no alert
                continue
            found, ev = _check(rule, source, blocks[i], lists, own_lo, own_hi)
            kept.append(found.lazy())
            plans.append((i, ev.lazy()))
            continue
        with_carried = source
        if rule.kind in chunks.CARRIED:
            if i in carried:
                with_carried = pl.concat([source, carried[i].lazy()], how="diagonal_relaxed")
            if next_lo is not None:
                carried[i] = _next_carry(rule, lists, carried.get(i), frame, next_lo)
        plan = rule_plan(
            rule,
            prepared,
            with_carried,
            rules,
            graphs,
            complete=False,
            params=chunks.capped_params(rule, skipped.get(i)),
        )
        w = plan.windows
        if i in skipped:  # the global count, as one search over all data reports it
            w = w.with_columns(pl.lit(skipped[i].height, dtype=pl.Int64).alias("skipped_accounts"))
        prim = REGISTRY[rule.kind]
        kept.append(kept_windows(rule, prim, w, lists).filter(chunks.within("end", own_lo, own_hi)))
        plans.append((i, plan.evidence))
    # one rule at a time: the chunk's peak is its largest rule's working set, not the sum of
    # its rules' (collected together, the rules of a 9M-transfer read passed 20 GB)
    out: dict[int, tuple[pl.DataFrame, pl.DataFrame]] = {}
    for (i, ev_plan), windows in zip(plans, kept, strict=True):
        mine = windows.collect()
        out[i] = (mine, _inside(ev_plan, mine).collect())
    graphs.release()
    return out


def _next_carry(
    rule: Any,
    lists: dict[str, list[object]],
    carried: pl.DataFrame | None,
    frame: pl.DataFrame,
    until: int,
) -> pl.DataFrame:
    """The last scoped transfers of each focus key before ``until`` (a
    :data:`~finintel.typology.chunks.CARRIED` kind), from those carried into ``frame``'s chunk
    and ``frame`` itself (it holds every transfer from its reads up to ``until``), on the
    narrow columns a carried transfer needs."""
    names = frame.columns
    columns = [c for c in names if c in {*chunks.CARRY_COLUMNS, *scope_columns(rule, lists)}]
    scoped = scope(rule, frame.lazy(), lists).select(columns)
    parts = [scoped] if carried is None else [carried.lazy(), scoped]
    last = chunks.last_before(pl.concat(parts), until, chunks.carry_keys(rule.group_by))
    return compacted(last.collect())


def _inside(evidence: pl.LazyFrame, windows: pl.DataFrame) -> pl.LazyFrame:
    """The evidence rows inside a chunk's own windows (each a period of the whole run holds):
    every evidence row of a period lies inside a window the chunk owning it computes."""
    local = merge_periods(windows.select("focus", "start", "end"), None)
    return (
        evidence.join(local.lazy(), on="focus", how="inner")
        .filter((pl.col("ts") >= pl.col("start")) & (pl.col("ts") <= pl.col("end")))
        .drop("start", "end")
    )


def _blocks(
    prepared: Prepared, rules: dict[int, Any], skipped: dict[int, pl.DataFrame]
) -> dict[int, tuple[pl.DataFrame, int]]:
    """``bipartite`` phase one over all the data: each rule's candidate blocks (from the
    distinct sender-receiver pairs of its scoped transfers) and its left-out account count."""
    pair_plans = [
        scope(rule, streamed_transfers(prepared, rule), prepared.lists)
        .select("src_account", "dst_account")
        .drop_nulls()
        .unique()
        for rule in rules.values()
    ]
    pair_frames = pl.collect_all(pair_plans, engine="streaming", optimizations=STREAMED)
    out = {}
    for (i, rule), pairs in zip(rules.items(), pair_frames, strict=True):
        hubs = skipped[i].get_column("account") if i in skipped else pl.Series([], dtype=pl.String)
        found = chunks.bipartite_blocks(rule, pairs, hubs)
        if found[0].height:
            out[i] = found
    return out


def _check(
    rule: Any,
    source: pl.LazyFrame,
    found: tuple[pl.DataFrame, int],
    lists: dict[str, list[object]],
    own_lo: int,
    own_hi: int,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``bipartite`` phase two on a chunk: the kept windows starting in it and their evidence."""
    blocks, left_out = found
    prim = REGISTRY[rule.kind]
    cells = chunks.block_cells(blocks)
    frame = (
        scope(rule, source, lists)
        .join(
            cells.lazy(),
            left_on=["src_account", "dst_account"],
            right_on=["S", "R"],
            how="semi",
        )
        .collect()
    )
    windows, evidence = prim.check(frame, blocks, rule.params, own_lo, own_hi)  # type: ignore[attr-defined]
    windows = windows.with_columns(pl.lit(left_out, dtype=pl.Int64).alias("skipped_accounts"))
    return kept_windows(rule, prim, windows.lazy(), lists).collect(), evidence
