"""``velocity_spike``: a window total far above the focus's own history.

Definitions, for the focus ``f`` and each of its transfers at time ``t`` (see :mod:`.windows`
for the window convention):

``window_total``
    ``W(t)``: the sum of ``amount_base`` of ``f``'s transfers in ``(t - window, t]``.
``history``
    The windows of ``f`` that end at its earlier transfer times ``s`` with
    ``t - window - history < s <= t - window``: the windows that do not overlap the current one
    and end within ``history`` before it starts. One window per distinct transfer time (tied
    transfers share a window). Periods without transfers give no window (their total, zero, is
    not sampled): the history is the account's *active* windows.
``history_windows``, ``history_mean``, ``history_std``, ``previous_max``
    How many history windows there are, the mean, the population standard deviation
    (``ddof=0``) and the largest of their totals (null without history).
``factor``
    ``window_total / previous_max``.

Trigger: ``history_windows >= min_history``, ``factor >= min_factor`` and
``window_total >= history_mean + k_sigma · history_std``. ``side``: out (default; the
"largest outgoing" of the behavioural rule), in, or both. Evidence: the focus's transfers (the
engine keeps those in the current window). Lookback: ``2·window + history``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar

import polars as pl

from finintel.errors import FinintelError
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
    END,
    FOCUS,
    SIDES,
    START,
    count,
    evidence_frame,
    fmt_count,
    fmt_number,
    focus_rows,
    in_order,
    param,
    rolling_by_focus,
    total,
)
from finintel.yamlpos import format_duration

__all__ = ["VelocitySpike"]


class VelocitySpike:
    """A rolling window total well above the totals of the focus's earlier windows."""

    kind: ClassVar[str] = "velocity_spike"
    doc: ClassVar[str] = "A window total ≥ k σ above, and ≥ factor × the largest of, the history."
    focus_role: ClassVar[str] = "subject"
    group_by: ClassVar[tuple[str, ...]] = GROUP_BY
    params: ClassVar[Mapping[str, ParamSpec]] = {
        "window": ParamSpec("duration", "7d", doc="rolling window length", minimum=1),
        "history": ParamSpec(
            "duration", "90d", doc="how far before the window its history reaches", minimum=1
        ),
        "k_sigma": ParamSpec(
            "number", 3.0, doc="standard deviations above the history mean", minimum=0
        ),
        "min_factor": ParamSpec(
            "number", 1.5, doc="window total / largest history window total", minimum=0
        ),
        "min_history": ParamSpec(
            "int", 3, doc="history windows needed to judge a spike", minimum=1
        ),
        "side": ParamSpec(
            "string", "out", doc="out (as sender), in (as receiver) or both", choices=SIDES
        ),
    }

    def _p(self, params: Mapping[str, Any], name: str) -> Any:
        return param(params, self.params, name, self.kind)

    def validate(self, params: Mapping[str, Any]) -> list[FinintelError]:
        """No checks across parameters beyond their types."""
        return []

    def metrics(self, params: Mapping[str, Any]) -> Mapping[str, pl.DataType]:
        return {
            "window_total": pl.Float64(),
            "history_windows": pl.Int64(),
            "history_mean": pl.Float64(),
            "history_std": pl.Float64(),
            "previous_max": pl.Float64(),
            "factor": pl.Float64(),
            "count": pl.Int64(),
        }

    def lookback(self, params: Mapping[str, Any]) -> timedelta:
        window: timedelta = self._p(params, "window")
        history: timedelta = self._p(params, "history")
        return 2 * window + history

    def plan(self, transfers: pl.LazyFrame, params: Mapping[str, Any], ctx: RunContext) -> Plan:
        window: timedelta = self._p(params, "window")
        history: timedelta = self._p(params, "history")
        rows = focus_rows(transfers, self._p(params, "side"), ctx.group_by)
        current = rolling_by_focus(
            in_order(rows), window, {"window_total": total(), "count": count()}, presorted=True
        )
        past = rolling_by_focus(
            current.select(FOCUS, END, "window_total"),
            history,
            {
                "history_windows": count(),
                "history_mean": pl.col("window_total").mean().cast(pl.Float64),
                "history_std": pl.col("window_total").std(ddof=0).cast(pl.Float64),
                "previous_max": pl.col("window_total").max().cast(pl.Float64),
            },
            offset=-(window + history),
            index=END,
        ).drop(START)
        windows = (
            current.join(past, on=[FOCUS, END], how="left", maintain_order="left")
            .with_columns(
                pl.col("history_windows").fill_null(0),
                (pl.col("window_total") / pl.col("previous_max")).alias("factor"),
            )
            .select(FOCUS, START, END, *self.metrics(params))
        )
        return Plan(windows, evidence_frame(rows, ctx.group_by, self.focus_role))

    def condition(self, params: Mapping[str, Any]) -> pl.Expr:
        k = float(self._p(params, "k_sigma"))
        return (
            (pl.col("history_windows") >= int(self._p(params, "min_history")))
            & (pl.col("factor") >= float(self._p(params, "min_factor")))
            & (pl.col("window_total") >= pl.col("history_mean") + k * pl.col("history_std"))
        )

    def thresholds(self, params: Mapping[str, Any]) -> list[Threshold]:
        return [
            Threshold(
                "factor", ">=", float(self._p(params, "min_factor")), "× the previous maximum"
            )
        ]

    def explain(
        self,
        metrics: Mapping[str, Any],
        params: Mapping[str, Any],
        span: timedelta,
        amount: float,
        currency: str,
    ) -> str:
        """``"7d total 45,000 EUR = 4.5× the previous maximum 10,000 (≥ 1.5×), 5.2σ above the
        mean 3,000 of 12 windows in 90d (≥ 3σ); 6 transfers within 2d 4h, 45,000 EUR"``."""
        window = format_duration(self._p(params, "window"))
        history = format_duration(self._p(params, "history"))
        wt = float(metrics.get("window_total") or 0.0)
        mean = metrics.get("history_mean")
        std = metrics.get("history_std")
        if mean is None:
            sigma = "?"
        elif std:
            sigma = fmt_number((wt - float(mean)) / float(std))
        else:
            sigma = "∞"
        return (
            f"{window} total {format_amount(wt, currency)} = "
            f"{fmt_number(metrics.get('factor'))}× the previous maximum "
            f"{fmt_number(metrics.get('previous_max'))} "
            f"(≥ {fmt_number(self._p(params, 'min_factor'))}×), {sigma}σ above the mean "
            f"{fmt_number(mean)} of {fmt_count(metrics.get('history_windows'), 'window')} in "
            f"{history} (≥ {fmt_number(self._p(params, 'k_sigma'))}σ); "
            f"{fmt_count(metrics.get('count'), 'transfer')} within {format_duration(span)}, "
            f"{format_amount(amount, currency)}"
        )


register(VelocitySpike())
