"""How detection is split by time: which kinds may be split, the chunk arithmetic, and what a
chunk owns. Pure functions shared by the local engine's time chunks
(:mod:`finintel.typology.chunked`) and the Spark engine (:mod:`finintel.spark`).

The rule every split engine keeps: a chunk ``[lo, hi)`` of time reads its own transfers, **two
lookbacks before it and one after it** (the :data:`ROLLING` kinds: one lookback before, none
after), and keeps the windows that *end* inside it (a
``bipartite`` window: that *start* inside it). A window reaches one lookback back, and what
decides it (a ``velocity_spike`` history, a ``pass_through`` inflow's outflows up to
``max_delay`` after it, a graph instance's flow shares one window either side, an
``agent_concentration`` calendar period) lies within one lookback of its transfers: so each
window is computed from all it needs, by exactly one chunk. The windows of all chunks are then
merged into periods as one un-split run merges them, and the periods get the evidence rows
(per transfer, the same in every chunk that reads it) that lie inside them: the same alert ids,
periods, metrics and evidence as without chunks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import polars as pl

from finintel.typology.primitives.base import REGISTRY
from finintel.typology.primitives.windows import param

#: Kinds solved per time chunk besides the focus kinds and every graph kind.
TIME_CHUNKED = frozenset({"agent_concentration"})
#: Kinds searched in two phases: candidate blocks from the distinct pairs of all the data,
#: then their windows per time chunk.
BLOCKS = frozenset({"bipartite"})
#: Kinds whose candidates come from all the data: identifiers shared across any parties; a
#: watchlist matches targets against the parties and its focus is the target, not a key.
ON_DRIVER = frozenset({"shared_identifier", "watchlist"})
#: Focus kinds a Spark time bucket does not split: a dormancy is dated by the focus's previous
#: transfer, however long before. The local engine splits them with that transfer carried in
#: (:data:`CARRIED`).
WHOLE_HISTORY = frozenset({"dormant_then_active"})
#: Kinds a local time chunk computes with, besides its transfers and overlap, each focus key's
#: last (scoped) transfer before what it reads: a dormancy's gap reaches back to it, nothing
#: else does (:func:`last_before`).
CARRIED = frozenset({"dormant_then_active"})
#: The columns a focus can come from (``group_by`` account or party; an entity is a party's).
FOCUS_KEYS = ("src_account", "dst_account", "src_party", "dst_party")

#: Kinds whose window ending at ``t`` is a function of its focus's transfers in ``(t − lookback,
#: t]`` alone, each evidence row of its transfer alone (:func:`~finintel.typology.primitives.
#: windows.rolling_by_focus`): a chunk reads one lookback before it and nothing after.
ROLLING = (
    frozenset(
        {
            "aggregate",
            "corridor",
            "fan_in",
            "fan_out",
            "round_amounts",
            "structuring",
            "velocity_spike",
        }
    )
    | CARRIED
)

#: The degree cap once the globally capped accounts are passed as exclusions.
NO_CAP = 2**62
US = timedelta(microseconds=1)


def placement(kind: str) -> str:
    """Where a kind runs on a split engine: ``focus`` (windows of one focus key), ``time``
    (graph kinds and network-wide measures: time chunks of all foci), ``blocks`` (two phases)
    or ``driver`` (the whole data at once)."""
    import finintel.typology.primitives  # noqa: F401 - registers every kind
    from finintel.typology.primitives.cycle import GraphKind

    if kind in ON_DRIVER:
        return "driver"
    if kind in BLOCKS:
        return "blocks"
    if kind in TIME_CHUNKED or isinstance(REGISTRY[kind], GraphKind):
        return "time"
    return "focus"


def splittable(kind: str) -> bool:
    """Whether the local engine may compute a kind's windows chunk by chunk of time."""
    return placement(kind) != "driver" and (kind not in WHOLE_HISTORY or kind in CARRIED)


def lookback_us(rule: Any) -> int:
    """A rule's lookback in µs."""
    return int(REGISTRY[rule.kind].lookback(rule.params) // US)


def overlap(rule: Any) -> tuple[int, int]:
    """What a chunk reads for ``rule`` before and after its own time (µs): one lookback before
    for the :data:`ROLLING` kinds (a :data:`CARRIED` kind: one ``window``, its dormancy dated by
    the carried transfers), else two lookbacks before and one after."""
    if rule.kind in CARRIED:
        window: timedelta = param(rule.params, REGISTRY[rule.kind].params, "window", rule.kind)
        return int(window // US), 0
    lb = lookback_us(rule)
    return (lb, 0) if rule.kind in ROLLING else (2 * lb, lb)


@dataclass(frozen=True)
class Grid:
    """``n`` chunks of ``length`` µs from ``t0`` (µs since 1970-01-01 UTC)."""

    t0: int
    length: int
    n: int

    @classmethod
    def over(cls, lo: int, hi: int, n: int) -> Grid:
        """``n`` equal chunks covering ``[lo, hi]`` (the first and last transfer, µs)."""
        return cls(lo, (hi - lo) // n + 1, n)

    def bounds(self, c: int) -> tuple[int, int]:
        """Chunk ``c``'s own time ``[lo, hi)`` (µs)."""
        return self.t0 + c * self.length, self.t0 + (c + 1) * self.length

    def reads(self, c: int, before: int, after: int) -> tuple[int, int]:
        """What chunk ``c`` reads (µs): ``[lo − before, hi + after)``."""
        lo, hi = self.bounds(c)
        return lo - before, hi + after


def at(us: int) -> pl.Expr:
    """A µs instant as a UTC timestamp literal."""
    return pl.lit(us).cast(pl.Datetime("us", "UTC"))


def within(column: str, lo: int, hi: int) -> pl.Expr:
    """``lo <= column < hi`` (µs bounds): a chunk's read range or the windows it owns."""
    return (pl.col(column) >= at(lo)) & (pl.col(column) < at(hi))


def cap(rule: Any) -> tuple[int, list[str]]:
    """A graph rule's degree cap and excluded accounts."""
    prim = REGISTRY[rule.kind]
    limit = param(rule.params, prim.params, "max_degree", rule.kind)
    excluded = param(rule.params, prim.params, "exclude", rule.kind) or ()
    return (NO_CAP if limit is None else int(limit)), [str(a) for a in excluded]


def capped_params(rule: Any, skipped: pl.DataFrame | None) -> dict[str, Any]:
    """The rule's parameters; for a graph kind the accounts capped over all the data become
    exclusions (a chunk sees only part of each account's degree: a hub is a hub in every
    chunk)."""
    params = dict(rule.params)
    if skipped is not None:
        params["exclude"] = skipped.get_column("account").to_list()
        params["max_degree"] = NO_CAP
    return params


def bipartite_blocks(rule: Any, pairs: pl.DataFrame, hubs: pl.Series) -> tuple[pl.DataFrame, int]:
    """Phase one of ``bipartite``: the candidate blocks of a rule from the distinct
    (``src_account``, ``dst_account``) ``pairs`` of all its scoped transfers, leaving out
    ``hubs`` (over the global degree cap, or excluded) and the accounts over ``max_fanout``;
    and how many accounts were left out (the windows' ``skipped_accounts``)."""
    from finintel.typology.primitives.bipartite import Bipartite

    prim = REGISTRY[rule.kind]
    assert isinstance(prim, Bipartite)
    out = pl.concat([hubs, prim.wide(pairs, rule.params)]).unique()
    graph = pairs.filter(
        (pl.col("src_account") != pl.col("dst_account"))
        & ~pl.col("src_account").is_in(out.implode())
        & ~pl.col("dst_account").is_in(out.implode())
    ).select(pl.col("src_account").alias("s"), pl.col("dst_account").alias("r"))
    return prim.blocks(graph, rule.params), out.len()


def block_cells(blocks: pl.DataFrame) -> pl.DataFrame:
    """The (``S``, ``R``) sender-receiver cells of ``blocks``: the only transfers phase two
    reads."""
    return blocks.explode("S").explode("R").unique().sort("S", "R")


def group_by_overlap(rules: Mapping[int, Any]) -> dict[tuple[int, int], list[int]]:
    """Rule indexes by :func:`overlap` (what a chunk reads for them), shortest first."""
    out: dict[tuple[int, int], list[int]] = {}
    for i, rule in rules.items():
        out.setdefault(overlap(rule), []).append(i)
    return dict(sorted(out.items(), key=lambda kv: (sum(kv[0]), kv[0])))


#: Columns a carried transfer keeps (with its rule's scope columns): the focus keys and what
#: the windowed frames sort by; the others are null in it (a carried transfer only dates the
#: first gap of its focus: it lies before every window a chunk owns).
CARRY_COLUMNS = ("ts", "tx_id", "source", "amount_base", *FOCUS_KEYS)


def carry_keys(group_by: str) -> tuple[str, ...]:
    """The focus keys a dormancy is dated by: accounts, or parties (``party``, ``entity``)."""
    return FOCUS_KEYS[:2] if group_by == "account" else FOCUS_KEYS[2:]


def last_before(
    scoped: pl.LazyFrame, until: int, keys: tuple[str, ...] = FOCUS_KEYS
) -> pl.LazyFrame:
    """The ``scoped`` transfers before ``until`` (µs) that are the last of one of their focus
    ``keys`` (ties all kept): with them a chunk dates every dormancy as the whole history does,
    whatever the focus's side. Incremental: the last transfers before ``until`` of the last
    transfers before an earlier instant plus every transfer between the two are the same."""
    before = scoped.filter(pl.col("ts") < at(until))
    last = [
        before.join(
            before.group_by(key).agg(pl.col("ts").max()).drop_nulls(key),
            on=[key, "ts"],
            how="semi",
        )
        for key in keys
    ]
    return pl.concat(last).unique(["source", "tx_id"], keep="first", maintain_order=True)
