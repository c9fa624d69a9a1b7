"""What a Spark task's rules read of the transfers: it is sent only those columns and rows.

Columns: a rule's plans (its kept windows and evidence, its scope included) are collected once
on the driver over an empty source that records the columns polars' projection pushdown asks
it for (:func:`read_columns`). A task gets the union of its rules' columns; the canonical frame
it builds (:func:`finintel.spark.shards.canonical`) fills the others with nulls, which none of
its rules reads, so its windows and evidence are those of the whole frame. Rows: when every
rule of a task has ``channels`` in its scope, only the transfers on one of those channels
(:func:`channel_filter`: a superset of each rule's scope, which the task still applies whole).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import polars as pl

from finintel.schema import RULE_COLUMNS
from finintel.typology.engine import rule_windows, scope
from finintel.typology.primitives.base import REGISTRY, RunContext

#: A side's entity (``group_by: entity``) stands in for its party: Spark sends the entity.
ENTITY_OF = {"src_party": "src_entity", "dst_party": "dst_entity"}


def read_columns(plans: Callable[[pl.LazyFrame], Sequence[pl.LazyFrame]]) -> set[str]:
    """The transfer columns (of RULE_COLUMNS) that collecting ``plans(transfers)`` reads."""
    from polars.io.plugins import register_io_source

    seen: set[str] = set()

    def source(
        with_columns: list[str] | None, predicate: pl.Expr | None, n_rows: int | None, size: Any
    ) -> Iterator[pl.DataFrame]:
        names = list(RULE_COLUMNS) if with_columns is None else with_columns
        seen.update(names)
        if predicate is not None:
            seen.update(predicate.meta.root_names())
        yield pl.DataFrame(schema={c: RULE_COLUMNS[c] for c in names})

    pl.collect_all(list(plans(register_io_source(source, schema=RULE_COLUMNS))))
    return seen & set(RULE_COLUMNS)


def rule_columns(
    rule: Any, params: Mapping[str, Any], currency: str, lists: Mapping[str, tuple[object, ...]]
) -> set[str]:
    """The columns Spark sends for ``rule`` (run with ``params``): those its kept windows and
    evidence read; with ``group_by: entity`` a side's entity instead of its party."""
    entity = rule.group_by == "entity"
    ctx = RunContext(
        group_by="party" if entity else rule.group_by, base_currency=currency, lists=lists
    )
    found = read_columns(lambda lf: rule_windows(rule, lf, ctx, params))
    return {ENTITY_OF.get(c, c) for c in found} if entity else found


def skipped_columns(rules: Iterable[Any], lists: Mapping[str, tuple[object, ...]]) -> set[str]:
    """The columns the graph rules' degree counts (``skipped``) read."""
    as_lists = {k: list(v) for k, v in lists.items()}
    out: set[str] = set()
    for rule in rules:
        prim: Any = REGISTRY[rule.kind]

        def plans(lf: pl.LazyFrame, rule: Any = rule, prim: Any = prim) -> list[pl.LazyFrame]:
            return [prim.skipped(scope(rule, lf, as_lists), rule.params)]

        out |= read_columns(plans)
    return out


def channel_filter(rules: Iterable[Any]) -> Any:
    """A Spark condition keeping the transfers some rule's ``channels`` allow (None: every
    transfer, when a rule has no ``channels``)."""
    from pyspark.sql import functions as sf

    allowed: set[str] = set()
    for rule in rules:
        if not rule.channels:
            return None
        allowed |= {str(c) for c in rule.channels}
    return sf.col("channel").isin(sorted(allowed))


def ordered(columns: Iterable[str], available: Sequence[str]) -> list[str]:
    """``columns`` in the order of ``available`` (a Spark frame's), those it has."""
    wanted = set(columns)
    return [c for c in available if c in wanted]
