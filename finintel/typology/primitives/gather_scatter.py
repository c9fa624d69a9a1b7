"""``gather_scatter``: ≥ N sources pay one hub, which then pays ≥ M sinks.

Per hub ``H`` each distinct time ``p`` of an inflow is a pivot: the gather is the inflows with
``p - window < ts <= p`` (``start``: the first of them), the scatter the outflows with
``ts >= p + min_hop_delay`` and ``ts < start + window`` (``end``: the last of them), so every
counted outflow follows every counted inflow and the whole instance fits the window. The focus
is the hub account (``focus_kind`` ``account``, role ``hub``): one alert per hub and period.

Metrics: ``n_sources``, ``n_sinks`` (distinct counterparties), ``in_amount``, ``out_amount``,
``ratio`` (out / in), ``span_seconds``, ``skipped_accounts``. Trigger: ``n_sources >=
min_sources`` and ``n_sinks >= min_sinks``, and with ``amount_tolerance`` set, ``|out - in| <=
amount_tolerance × in`` (the hub passes on about what it gathered). Evidence: the hub's inflows
(counterparty role ``source``) and outflows (``sink``) inside the period.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar

import polars as pl

from finintel.graph import motifs
from finintel.graph.tgraph import TGraph
from finintel.typology.primitives.base import ParamSpec, Threshold, format_amount, register
from finintel.typology.primitives.cycle import GRAPH_PARAMS, GraphKind, us
from finintel.typology.primitives.scatter_gather import row_evidence
from finintel.typology.primitives.windows import END, FOCUS, START, fmt_number

__all__ = ["GatherScatter"]


class GatherScatter(GraphKind):
    """Many sources → one hub → many sinks, the outflows after the inflows."""

    kind: ClassVar[str] = "gather_scatter"
    doc: ClassVar[str] = (
        "≥ N sources pay one hub which then pays ≥ M sinks, outflows after the inflows, "
        "within a window."
    )
    focus_role: ClassVar[str] = "hub"
    focus_kind: ClassVar[str] = "account"
    params: ClassVar[Mapping[str, ParamSpec]] = {
        **GRAPH_PARAMS,
        "min_sources": ParamSpec("int", 3, doc="distinct senders into the hub", minimum=1),
        "min_sinks": ParamSpec("int", 3, doc="distinct receivers from the hub", minimum=1),
    }

    def kind_metrics(self, params: Mapping[str, Any]) -> dict[str, pl.DataType]:
        return {
            "n_sources": pl.Int64(),
            "n_sinks": pl.Int64(),
            "in_amount": pl.Float64(),
            "out_amount": pl.Float64(),
            "ratio": pl.Float64(),
            "span_seconds": pl.Float64(),
        }

    def search(self, g: TGraph, params: Mapping[str, Any]) -> tuple[pl.DataFrame, pl.DataFrame]:
        found = motifs.gather_scatter(
            g,
            window_us=us(self._p(params, "window")),
            min_hop_delay_us=us(self._p(params, "min_hop_delay")),
        )
        windows = found.select(
            g.accounts.gather(found.get_column("H")).alias(FOCUS),
            pl.col("start").alias(START),
            pl.col("end").alias(END),
            "n_sources",
            "n_sinks",
            "in_amount",
            "out_amount",
            (pl.col("out_amount") / pl.col("in_amount")).alias("ratio"),
            ((pl.col("end") - pl.col("start")) / 1e6).alias("span_seconds"),
        )
        hubs = found.select(pl.col("H").unique())
        e = g.edges
        ins = e.join(hubs, left_on="v", right_on="H", how="semi")
        outs = e.join(hubs, left_on="u", right_on="H", how="semi")
        evidence = pl.concat(
            [
                row_evidence(
                    g,
                    g.accounts.gather(ins.get_column("v")),
                    ins.get_column("e"),
                    ins.get_column("u"),
                    "source",
                ),
                row_evidence(
                    g,
                    g.accounts.gather(outs.get_column("u")),
                    outs.get_column("e"),
                    outs.get_column("v"),
                    "sink",
                ),
            ]
        )
        return windows, evidence

    def condition(self, params: Mapping[str, Any]) -> pl.Expr:
        cond = (pl.col("n_sources") >= int(self._p(params, "min_sources"))) & (
            pl.col("n_sinks") >= int(self._p(params, "min_sinks"))
        )
        tol = self._opt_float(params, "amount_tolerance")
        if tol is not None:
            cond = cond & (
                (pl.col("out_amount") - pl.col("in_amount")).abs()
                <= tol * pl.col("in_amount") + 1e-9
            )
        return cond

    def thresholds(self, params: Mapping[str, Any]) -> list[Threshold]:
        return [
            Threshold("n_sources", ">=", float(self._p(params, "min_sources")), "sources"),
            Threshold("n_sinks", ">=", float(self._p(params, "min_sinks")), "sinks"),
        ]

    def explain(
        self,
        metrics: Mapping[str, Any],
        params: Mapping[str, Any],
        span: timedelta,
        amount: float,
        currency: str,
    ) -> str:
        """``"4 sources (≥ 3) → hub → 5 sinks (≥ 3) within 3d (< 30d), 9,000 EUR in, ..."``."""
        return (
            f"{fmt_number(metrics.get('n_sources'))} sources "
            f"(≥ {fmt_number(self._p(params, 'min_sources'))}) → hub → "
            f"{fmt_number(metrics.get('n_sinks'))} sinks "
            f"(≥ {fmt_number(self._p(params, 'min_sinks'))}) {self.span_text(span, params)}, "
            f"{format_amount(float(metrics.get('in_amount') or amount), currency)} in, "
            f"{format_amount(float(metrics.get('out_amount') or 0.0), currency)} out"
        )


GATHER_SCATTER = register(GatherScatter())
