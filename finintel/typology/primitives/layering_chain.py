"""``layering_chain``: money passed along a path of accounts, hop after hop, with short dwell.

An instance is a **maximal** time-respecting simple path of ``min_hops..max_hops`` transfers:
each hop in order after the previous one (``min_hop_delay``) and at most ``max_dwell`` later,
its amount within ``amount_tolerance`` of the previous hop's (default 10%: fees), the whole
path within ``window``. Maximal: a path one more hop would extend (at either end) is reported
only as its extension; at ``max_hops`` a path is reported as it is. The focus is the account
path, ``chain:A>B>C>D``: one alert per chain and period. Evidence roles: the first sender is the
``source``, the last receiver the ``sink``, every account between an ``intermediary``.

Metrics: ``hops``, ``span_seconds``, ``max_dwell_seconds`` (longest wait at one account),
``amount_first``, ``amount_last``, ``min_max_ratio``, ``skipped_accounts``.
Trigger: ``hops >= min_hops``.
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
    instance_evidence,
    tolerance_text,
    us,
)
from finintel.typology.primitives.windows import END, FOCUS, START, fmt_number, param_error
from finintel.yamlpos import format_duration

__all__ = ["LayeringChain"]


class LayeringChain(GraphKind):
    """A path of ≥ L hops with similar amounts and short dwell at each account."""

    kind: ClassVar[str] = "layering_chain"
    doc: ClassVar[str] = (
        "A path of ≥ min_hops transfers, each soon after the previous one (max_dwell) and of a "
        "similar amount, within a window."
    )
    focus_role: ClassVar[str] = "chain"
    params: ClassVar[Mapping[str, ParamSpec]] = {
        **GRAPH_PARAMS,
        "amount_tolerance": ParamSpec(
            "number", 0.1,
            doc="each hop's amount within this share of the previous hop's (fees)", minimum=0,
        ),
        "min_hops": ParamSpec("int", 3, doc="fewest transfers in a chain", minimum=2),
        "max_hops": ParamSpec("int", 6, doc="most transfers searched for", minimum=2),
        "max_dwell": ParamSpec(
            "duration", "3d", doc="longest wait at an account before the next hop", minimum=0
        ),
    }  # fmt: skip

    def validate(self, params: Mapping[str, Any]) -> list[FinintelError]:
        """``min_hops <= max_hops``."""
        lo, hi = int(self._p(params, "min_hops")), int(self._p(params, "max_hops"))
        if lo > hi:
            return [param_error(self.kind, "min_hops", f"({lo}) exceeds max_hops ({hi})")]
        return []

    def kind_metrics(self, params: Mapping[str, Any]) -> dict[str, pl.DataType]:
        return {
            "hops": pl.Int64(),
            "span_seconds": pl.Float64(),
            "max_dwell_seconds": pl.Float64(),
            "amount_first": pl.Float64(),
            "amount_last": pl.Float64(),
            "min_max_ratio": pl.Float64(),
        }

    def search(self, g: TGraph, params: Mapping[str, Any]) -> tuple[pl.DataFrame, pl.DataFrame]:
        found = motifs.chains(
            g,
            window_us=us(self._p(params, "window")),
            min_hops=int(self._p(params, "min_hops")),
            max_hops=int(self._p(params, "max_hops")),
            max_dwell_us=us(self._p(params, "max_dwell")),
            min_hop_delay_us=us(self._p(params, "min_hop_delay")),
            amount_tolerance=self._opt_float(params, "amount_tolerance"),
        )
        focus = ("chain:" + motifs.path_labels(g, found.get_column("nodes"))).rename(FOCUS)
        amounts = g.edges.get_column("amount_base")
        edges = found.get_column("edges")
        windows = found.select(
            pl.Series(FOCUS, focus, dtype=pl.String),
            pl.col("start_ts").alias(START),
            pl.col("end_ts").alias(END),
            pl.col("edges").list.len().cast(pl.Int64).alias("hops"),
            ((pl.col("end_ts") - pl.col("start_ts")) / 1e6).alias("span_seconds"),
            (pl.col("dwell_max") / 1e6).alias("max_dwell_seconds"),
            amounts.gather(edges.list.first()).alias("amount_first"),
            amounts.gather(edges.list.last()).alias("amount_last"),
            (pl.col("a_min") / pl.col("a_max")).alias("min_max_ratio"),
        )

        def roles(pos: pl.Expr, n: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
            mid = pl.lit("intermediary")
            src = pl.when(pos == 0).then(pl.lit("source")).otherwise(mid)
            dst = pl.when(pos == n - 1).then(pl.lit("sink")).otherwise(mid)
            return src, dst

        return windows, instance_evidence(g, focus, edges, roles)

    def condition(self, params: Mapping[str, Any]) -> pl.Expr:
        return pl.col("hops") >= int(self._p(params, "min_hops"))

    def thresholds(self, params: Mapping[str, Any]) -> list[Threshold]:
        return [Threshold("hops", ">=", float(self._p(params, "min_hops")), "hops")]

    def explain(
        self,
        metrics: Mapping[str, Any],
        params: Mapping[str, Any],
        span: timedelta,
        amount: float,
        currency: str,
    ) -> str:
        """``"chain of 4 hops (≥ 3), at most 6h at an account (≤ 3d), within 1d (< 30d), ..."``."""
        dwell = timedelta(seconds=float(metrics.get("max_dwell_seconds") or 0.0))
        first = float(metrics.get("amount_first") or 0.0)
        return (
            f"chain of {fmt_number(metrics.get('hops'))} hops "
            f"(≥ {fmt_number(self._p(params, 'min_hops'))}), at most {format_duration(dwell)} "
            f"at an account (≤ {format_duration(self._p(params, 'max_dwell'))}), "
            f"{self.span_text(span, params)}, {format_amount(first, currency)} first hop"
            f"{tolerance_text(metrics, self._opt_float(params, 'amount_tolerance'))}"
        )


LAYERING_CHAIN = register(LayeringChain())
