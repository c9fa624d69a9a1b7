"""``scatter_gather``: one source pays ≥ N intermediaries who each pass it on to one sink.

A **leg** is ``S → I → T`` (``T != S``): a transfer from the source to an intermediary, then one
from the intermediary to the sink in order after it (``min_hop_delay``), less than ``window``
later, its amount within ``amount_tolerance`` of the first (when set). Per ``(S, T)`` each
distinct leg end ``end`` closes a window holding the legs with ``t2 <= end`` and
``t1 > end - window`` (every counted transfer within the window); ``start`` is their first
transfer. The focus is ``sg:S>T``, so one source-sink pair gives one alert per period.

Metrics: ``n_intermediaries`` (distinct), ``n_legs``, ``in_amount`` (source → intermediaries),
``out_amount`` (intermediaries → sink), ``ratio`` (out / in), ``min_max_ratio`` (smallest over
largest transfer of the legs), ``span_seconds``, ``skipped_accounts``. Trigger:
``n_intermediaries >= min_intermediaries``. Evidence roles: ``source``, ``intermediary``,
``sink``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar

import polars as pl

from finintel.graph import motifs
from finintel.graph.tgraph import TGraph
from finintel.typology.primitives.base import ParamSpec, Threshold, format_amount, register
from finintel.typology.primitives.cycle import (
    GRAPH_PARAMS,
    GraphKind,
    tolerance_text,
    us,
)
from finintel.typology.primitives.windows import END, FOCUS, START, fmt_number

__all__ = ["ScatterGather", "pair_focus", "row_evidence"]


def pair_focus(g: TGraph, prefix: str, a: pl.Series, b: pl.Series) -> pl.Series:
    """``prefix:A>B`` for account ids ``a`` and ``b``."""
    return (prefix + g.accounts.gather(a) + ">" + g.accounts.gather(b)).rename(FOCUS)


def row_evidence(
    g: TGraph, focus: pl.Series, edge: pl.Series, who: pl.Series, role: str
) -> pl.DataFrame:
    """Evidence rows: transfer ``edge[i]`` naming account id ``who[i]`` with ``role``."""
    e = g.edges.select("e", "ts", "tx_id", "source", "amount_base")
    return (
        pl.DataFrame({FOCUS: focus, "e": edge, "account": g.accounts.gather(who)})
        .join(e, on="e", how="left", maintain_order="left")
        .select(
            FOCUS,
            pl.col("ts").cast(pl.Datetime("us", "UTC")),
            "tx_id",
            "source",
            "account",
            pl.lit(role, dtype=pl.String).alias("role"),
            "amount_base",
        )
    )


class ScatterGather(GraphKind):
    """One source → many intermediaries → one sink within a window."""

    kind: ClassVar[str] = "scatter_gather"
    doc: ClassVar[str] = (
        "One source pays ≥ N intermediaries who each pass the money on to one sink "
        "within a window (layering)."
    )
    focus_role: ClassVar[str] = "source-sink"
    params: ClassVar[Mapping[str, ParamSpec]] = {
        **GRAPH_PARAMS,
        "min_intermediaries": ParamSpec(
            "int", 3, doc="distinct intermediaries between source and sink", minimum=1
        ),
    }

    def kind_metrics(self, params: Mapping[str, Any]) -> dict[str, pl.DataType]:
        return {
            "n_intermediaries": pl.Int64(),
            "n_legs": pl.Int64(),
            "in_amount": pl.Float64(),
            "out_amount": pl.Float64(),
            "ratio": pl.Float64(),
            "min_max_ratio": pl.Float64(),
            "span_seconds": pl.Float64(),
        }

    def search(self, g: TGraph, params: Mapping[str, Any]) -> tuple[pl.DataFrame, pl.DataFrame]:
        window = us(self._p(params, "window"))
        legs = motifs.scatter_gather_legs(
            g,
            window_us=window,
            min_hop_delay_us=us(self._p(params, "min_hop_delay")),
            amount_tolerance=self._opt_float(params, "amount_tolerance"),
        )
        found = motifs.scatter_gather(legs, window_us=window)
        windows = found.select(
            pair_focus(g, "sg:", found.get_column("S"), found.get_column("T")),
            pl.col("start").alias(START),
            pl.col("end").alias(END),
            "n_intermediaries",
            "n_legs",
            "in_amount",
            "out_amount",
            (pl.col("out_amount") / pl.col("in_amount")).alias("ratio"),
            (pl.col("a_min") / pl.col("a_max")).alias("min_max_ratio"),
            ((pl.col("end") - pl.col("start")) / 1e6).alias("span_seconds"),
        )
        focus = pair_focus(g, "sg:", legs.get_column("S"), legs.get_column("T"))
        evidence = pl.concat(
            [
                row_evidence(g, focus, legs.get_column("e1"), legs.get_column("S"), "source"),
                row_evidence(g, focus, legs.get_column("e1"), legs.get_column("I"), "intermediary"),
                row_evidence(g, focus, legs.get_column("e2"), legs.get_column("I"), "intermediary"),
                row_evidence(g, focus, legs.get_column("e2"), legs.get_column("T"), "sink"),
            ]
        )
        return windows, evidence

    def condition(self, params: Mapping[str, Any]) -> pl.Expr:
        return pl.col("n_intermediaries") >= int(self._p(params, "min_intermediaries"))

    def thresholds(self, params: Mapping[str, Any]) -> list[Threshold]:
        n = float(self._p(params, "min_intermediaries"))
        return [Threshold("n_intermediaries", ">=", n, "intermediaries")]

    def explain(
        self,
        metrics: Mapping[str, Any],
        params: Mapping[str, Any],
        span: timedelta,
        amount: float,
        currency: str,
    ) -> str:
        """``"5 intermediaries (≥ 3) between one source and one sink within 2d (< 7d), ..."``."""
        tol = self._opt_float(params, "amount_tolerance")
        return (
            f"{fmt_number(metrics.get('n_intermediaries'))} intermediaries "
            f"(≥ {fmt_number(self._p(params, 'min_intermediaries'))}) between one source and "
            f"one sink {self.span_text(span, params)}, "
            f"{format_amount(float(metrics.get('in_amount') or amount), currency)} out, "
            f"{format_amount(float(metrics.get('out_amount') or 0.0), currency)} gathered"
            f"{tolerance_text(metrics, tol)}"
        )


SCATTER_GATHER = register(ScatterGather())
