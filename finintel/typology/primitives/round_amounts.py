"""``round_amounts``: a focus whose transfers are mostly round amounts.

A transfer is *round* when its original ``amount`` (in its own currency: FX conversion makes
``amount_base`` unround) is a whole multiple of ``unit``, to half a cent. Each transfer of the
focus ends a window ``(ts - window, ts]`` (see :mod:`.windows`) with metrics ``count`` (all
transfers), ``round_count`` and ``round_share = round_count / count``. Trigger:
``round_count >= min_count`` and ``round_share >= min_share``. ``side`` picks the focus: out
(sender, default), in (receiver) or both. Evidence: the round transfers only.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar

import polars as pl

from finintel.errors import ConfigError, FinintelError
from finintel.typology.primitives.base import (
    GROUP_BY,
    ParamSpec,
    Plan,
    RunContext,
    Threshold,
    format_amount,
    register,
)
from finintel.typology.primitives.windows import (
    SIDES,
    count,
    evidence_frame,
    fmt_count,
    fmt_number,
    focus_rows,
    in_order,
    param,
    param_error,
    prune_foci,
    rolling_by_focus,
)
from finintel.yamlpos import format_duration

__all__ = ["RoundAmounts", "is_round"]

#: Tolerance of "a whole multiple of unit": half a cent.
TOLERANCE = 0.005


def is_round(amount: pl.Expr, unit: float) -> pl.Expr:
    """Whether ``amount`` is a whole multiple of ``unit`` (within :data:`TOLERANCE`)."""
    return ((amount / unit).round(0) * unit - amount).abs() < TOLERANCE


class RoundAmounts:
    """Mostly round amounts in a rolling window."""

    kind: ClassVar[str] = "round_amounts"
    doc: ClassVar[str] = "Most transfers in a window are whole multiples of a round unit."
    focus_role: ClassVar[str] = "subject"
    group_by: ClassVar[tuple[str, ...]] = GROUP_BY
    params: ClassVar[Mapping[str, ParamSpec]] = {
        "window": ParamSpec("duration", "30d", doc="rolling window length", minimum=1),
        "min_count": ParamSpec("int", 5, doc="round transfers in the window", minimum=1),
        "min_share": ParamSpec(
            "number", 0.8, doc="share of the window's transfers that are round", minimum=0
        ),
        "unit": ParamSpec("number", 100.0, doc="round means a whole multiple of this", minimum=0),
        "side": ParamSpec(
            "string", "out", doc="out (as sender), in (as receiver) or both", choices=SIDES
        ),
    }

    def _p(self, params: Mapping[str, Any], name: str) -> Any:
        return param(params, self.params, name, self.kind)

    def _unit(self, params: Mapping[str, Any]) -> float:
        unit = float(self._p(params, "unit"))
        if unit <= 0:
            raise param_error(self.kind, "unit", f"must be positive, got {unit:g}")
        return unit

    def validate(self, params: Mapping[str, Any]) -> list[FinintelError]:
        """The unit must be positive."""
        try:
            self._unit(params)
        except ConfigError as exc:
            return [exc]
        return []

    def metrics(self, params: Mapping[str, Any]) -> Mapping[str, pl.DataType]:
        return {"count": pl.Int64(), "round_count": pl.Int64(), "round_share": pl.Float64()}

    def lookback(self, params: Mapping[str, Any]) -> timedelta:
        window: timedelta = self._p(params, "window")
        return window

    def plan(self, transfers: pl.LazyFrame, params: Mapping[str, Any], ctx: RunContext) -> Plan:
        rows = focus_rows(transfers, self._p(params, "side"), ctx.group_by).with_columns(
            is_round(pl.col("amount").cast(pl.Float64), self._unit(params))
            .fill_null(False)
            .alias("_round")
        )
        # a window holds at most its focus's round transfers: foci with fewer than min_count
        # in all (nearly every account) cannot fire, and their windows are never computed
        enough = prune_foci(rows, pl.col("_round").sum() >= int(self._p(params, "min_count")))
        windows = rolling_by_focus(
            in_order(enough),
            self._p(params, "window"),
            {"count": count(), "round_count": pl.col("_round").sum().cast(pl.Int64)},
            presorted=True,
        ).with_columns(
            (pl.col("round_count") / pl.col("count")).cast(pl.Float64).alias("round_share")
        )
        evidence = evidence_frame(rows.filter(pl.col("_round")), ctx.group_by, self.focus_role)
        return Plan(windows, evidence)

    def condition(self, params: Mapping[str, Any]) -> pl.Expr:
        return (pl.col("round_count") >= int(self._p(params, "min_count"))) & (
            pl.col("round_share") >= float(self._p(params, "min_share"))
        )

    def thresholds(self, params: Mapping[str, Any]) -> list[Threshold]:
        return [
            Threshold("round_share", ">=", float(self._p(params, "min_share")), "round share"),
            Threshold("round_count", ">=", float(self._p(params, "min_count")), "round transfers"),
        ]

    def explain(
        self,
        metrics: Mapping[str, Any],
        params: Mapping[str, Any],
        span: timedelta,
        amount: float,
        currency: str,
    ) -> str:
        """``"9 of 10 transfers (90 %, ≥ 80 %) in multiples of 100 (≥ 5) within 6d, 4,500 EUR"``."""
        share = metrics.get("round_share")
        pct = f"{fmt_number(round(float(share) * 100, 1))} %" if share is not None else "?"
        min_pct = fmt_number(round(float(self._p(params, "min_share")) * 100, 1))
        return (
            f"{fmt_number(metrics.get('round_count'))} of "
            f"{fmt_count(metrics.get('count'), 'transfer')} ({pct}, ≥ {min_pct} %) in multiples of {fmt_number(self._unit(params))} "
            f"(≥ {fmt_number(self._p(params, 'min_count'))}) within {format_duration(span)}, "
            f"{format_amount(amount, currency)}"
        )


register(RoundAmounts())
