"""``stack``: layered chains — a source's money passes through ≥ L layers of ≥ W accounts each,
every layer passing similar amounts on to the next, and arrives at one sink.

Instances are built from time-respecting simple paths ``S → a1 → ... → aL → T`` through
``min_layers..max_layers`` intermediaries (each hop in order after the previous one, at most
``max_dwell`` later, its amount within ``amount_tolerance`` of the previous hop's — default
10%). Per ``(S, T, L)`` each distinct path end ``end`` closes a window with the paths lying in
``(end - window, end]``; layer ``k`` holds the distinct ``k``-th intermediaries of those paths
and ``width`` is the smallest layer. The focus is ``stack:S>T``: one alert per source-sink pair
and period. A scatter-gather is a stack of one layer, so ``min_layers`` defaults to 2.

Metrics: ``layers``, ``width``, ``n_paths``, ``in_amount`` (distinct first hops),
``out_amount`` (distinct last hops), ``min_max_ratio``, ``span_seconds``,
``skipped_accounts``. Trigger: ``width >= min_width``. Evidence roles: ``source``,
``intermediary``, ``sink``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar

import polars as pl

from finintel.errors import FinintelError
from finintel.graph import motifs
from finintel.graph.tgraph import TGraph
from finintel.typology.primitives.base import ParamSpec, Threshold, format_amount, register
from finintel.typology.primitives.cycle import (
    GRAPH_PARAMS,
    GraphKind,
    edge_sum,
    instance_evidence,
    tolerance_text,
    us,
)
from finintel.typology.primitives.scatter_gather import pair_focus
from finintel.typology.primitives.windows import END, START, fmt_number, param_error

__all__ = ["Stack"]


class Stack(GraphKind):
    """Layers of accounts passing similar amounts on from one source to one sink."""

    kind: ClassVar[str] = "stack"
    doc: ClassVar[str] = (
        "A source's money passes through ≥ min_layers layers of ≥ min_width accounts each, "
        "with similar amounts, to one sink within a window."
    )
    focus_role: ClassVar[str] = "source-sink"
    params: ClassVar[Mapping[str, ParamSpec]] = {
        **GRAPH_PARAMS,
        "amount_tolerance": ParamSpec(
            "number", 0.1,
            doc="each hop's amount within this share of the previous hop's (fees)", minimum=0,
        ),
        "min_layers": ParamSpec("int", 2, doc="fewest layers of intermediaries", minimum=1),
        "max_layers": ParamSpec("int", 3, doc="most layers searched for", minimum=1),
        "min_width": ParamSpec("int", 2, doc="fewest distinct accounts in every layer", minimum=1),
        "max_dwell": ParamSpec(
            "duration", "3d", doc="longest wait at an account before the next hop", minimum=0
        ),
    }  # fmt: skip

    def validate(self, params: Mapping[str, Any]) -> list[FinintelError]:
        """``min_layers <= max_layers``."""
        lo, hi = int(self._p(params, "min_layers")), int(self._p(params, "max_layers"))
        if lo > hi:
            return [param_error(self.kind, "min_layers", f"({lo}) exceeds max_layers ({hi})")]
        return []

    def kind_metrics(self, params: Mapping[str, Any]) -> dict[str, pl.DataType]:
        return {
            "layers": pl.Int64(),
            "width": pl.Int64(),
            "n_paths": pl.Int64(),
            "in_amount": pl.Float64(),
            "out_amount": pl.Float64(),
            "min_max_ratio": pl.Float64(),
            "span_seconds": pl.Float64(),
        }

    def search(self, g: TGraph, params: Mapping[str, Any]) -> tuple[pl.DataFrame, pl.DataFrame]:
        window = us(self._p(params, "window"))
        paths = motifs.stack_paths(
            g,
            window_us=window,
            min_layers=int(self._p(params, "min_layers")),
            max_layers=int(self._p(params, "max_layers")),
            max_dwell_us=us(self._p(params, "max_dwell")),
            min_hop_delay_us=us(self._p(params, "min_hop_delay")),
            amount_tolerance=self._opt_float(params, "amount_tolerance"),
        )
        found = motifs.stacks(paths, window_us=window)
        windows = found.select(
            pair_focus(g, "stack:", found.get_column("S"), found.get_column("T")),
            pl.col("start").alias(START),
            pl.col("end").alias(END),
            "layers",
            "width",
            "n_paths",
            edge_sum(g, found.get_column("first_edges")).alias("in_amount"),
            edge_sum(g, found.get_column("last_edges")).alias("out_amount"),
            (pl.col("a_min") / pl.col("a_max")).alias("min_max_ratio"),
            ((pl.col("end") - pl.col("start")) / 1e6).alias("span_seconds"),
        )
        focus = pair_focus(g, "stack:", paths.get_column("S"), paths.get_column("T"))

        def roles(pos: pl.Expr, n: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
            mid = pl.lit("intermediary")
            src = pl.when(pos == 0).then(pl.lit("source")).otherwise(mid)
            dst = pl.when(pos == n - 1).then(pl.lit("sink")).otherwise(mid)
            return src, dst

        return windows, instance_evidence(g, focus, paths.get_column("edges"), roles)

    def condition(self, params: Mapping[str, Any]) -> pl.Expr:
        return (pl.col("width") >= int(self._p(params, "min_width"))) & (
            pl.col("layers") >= int(self._p(params, "min_layers"))
        )

    def thresholds(self, params: Mapping[str, Any]) -> list[Threshold]:
        return [
            Threshold("width", ">=", float(self._p(params, "min_width")), "accounts per layer"),
            Threshold("layers", ">=", float(self._p(params, "min_layers")), "layers"),
        ]

    def explain(
        self,
        metrics: Mapping[str, Any],
        params: Mapping[str, Any],
        span: timedelta,
        amount: float,
        currency: str,
    ) -> str:
        """``"2 layers (≥ 2) of ≥ 3 accounts (≥ 2) between one source and one sink ..."``."""
        return (
            f"{fmt_number(metrics.get('layers'))} layers "
            f"(≥ {fmt_number(self._p(params, 'min_layers'))}) of ≥ "
            f"{fmt_number(metrics.get('width'))} accounts "
            f"(≥ {fmt_number(self._p(params, 'min_width'))}) between one source and one sink "
            f"{self.span_text(span, params)}, "
            f"{format_amount(float(metrics.get('in_amount') or amount), currency)} in"
            f"{tolerance_text(metrics, self._opt_float(params, 'amount_tolerance'))}"
        )


STACK = register(Stack())
