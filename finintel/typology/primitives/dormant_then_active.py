"""``dormant_then_active``: a burst of transfers after a long quiet period.

For each transfer of the focus at ``t``, the burst is the window ``(t - window, t]`` (see
:mod:`.windows`) and ``start`` its first transfer time. Metrics: ``gap`` — seconds from the
focus's latest transfer *before* ``start`` to ``start`` (null when the focus has no earlier
transfer in the data: a new account is not a dormant one), ``count`` and ``total``
(``amount_base``) of the burst. Trigger: ``gap >= dormancy``, ``count >= min_count`` and
``total >= min_amount``. Once the window slides past the first transfer after the quiet period
the gap is short again, so every kept window starts at the end of the dormancy.

Activity is what the rule's scope keeps, on ``side`` (default both: any transfer in or out).
Evidence: the focus's transfers (the engine keeps those of the burst).

Lookback is ``dormancy + window``. A transfer older than that is not needed to *see* a burst
but is needed to *date* the dormancy: with less data than the focus's whole history, a focus
whose previous transfer lies beyond the data looks new (null gap) and is not reported.
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
    prune_foci,
    rolling_by_focus,
    total,
)
from finintel.yamlpos import format_duration

__all__ = ["DormantThenActive"]


class DormantThenActive:
    """A burst of activity after a long gap."""

    kind: ClassVar[str] = "dormant_then_active"
    doc: ClassVar[str] = "≥ N transfers within a window after ≥ dormancy without any."
    focus_role: ClassVar[str] = "dormant account"
    group_by: ClassVar[tuple[str, ...]] = GROUP_BY
    params: ClassVar[Mapping[str, ParamSpec]] = {
        "dormancy": ParamSpec("duration", "90d", doc="quiet period before the burst", minimum=1),
        "window": ParamSpec("duration", "7d", doc="length of the burst window", minimum=1),
        "min_count": ParamSpec("int", 3, doc="transfers in the burst", minimum=1),
        "min_amount": ParamSpec("number", 0.0, doc="total of the burst (base currency)", minimum=0),
        "side": ParamSpec(
            "string",
            "both",
            doc="activity: both, out (as sender) or in (as receiver)",
            choices=SIDES,
        ),
    }

    def _p(self, params: Mapping[str, Any], name: str) -> Any:
        return param(params, self.params, name, self.kind)

    def validate(self, params: Mapping[str, Any]) -> list[FinintelError]:
        """No checks across parameters beyond their types."""
        return []

    def metrics(self, params: Mapping[str, Any]) -> Mapping[str, pl.DataType]:
        return {"count": pl.Int64(), "gap": pl.Int64(), "total": pl.Float64()}

    def lookback(self, params: Mapping[str, Any]) -> timedelta:
        dormancy: timedelta = self._p(params, "dormancy")
        window: timedelta = self._p(params, "window")
        return dormancy + window

    def plan(self, transfers: pl.LazyFrame, params: Mapping[str, Any], ctx: RunContext) -> Plan:
        rows = focus_rows(transfers, self._p(params, "side"), ctx.group_by)
        dormancy = int(self._p(params, "dormancy").total_seconds())
        # only a focus with a dormant gap somewhere can have a window that wakes from one: the
        # others (nearly every account) are dropped before the rows are sorted, found from
        # each focus's own times (no sort of every row by the text focus)
        longest = pl.col("ts").sort().diff().dt.total_seconds().max()
        frame = in_order(prune_foci(rows, longest >= dormancy))
        # the gap from each row to the previous row of its focus (the frame is sorted by focus,
        # time): a window's first row is the first of its tie group, so its gap is the one
        # from ``start`` to the focus's previous distinct time — no join
        same_focus = pl.col(FOCUS) == pl.col(FOCUS).shift(1)
        gap = (
            pl.when(same_focus)
            .then(pl.col("ts") - pl.col("ts").shift(1))
            .dt.total_seconds()
            .cast(pl.Int64)
        )
        windows = rolling_by_focus(
            frame.with_columns(gap.alias("_gap")),
            self._p(params, "window"),
            {"count": count(), "total": total(), "gap": pl.col("_gap").first()},
            presorted=True,
        )
        windows = windows.select(FOCUS, START, "end", *self.metrics(params))
        return Plan(windows, evidence_frame(rows, ctx.group_by, self.focus_role))

    def condition(self, params: Mapping[str, Any]) -> pl.Expr:
        dormancy: timedelta = self._p(params, "dormancy")
        return (
            (pl.col("gap") >= int(dormancy.total_seconds()))
            & (pl.col("count") >= int(self._p(params, "min_count")))
            & (pl.col("total") >= float(self._p(params, "min_amount")))
        )

    def thresholds(self, params: Mapping[str, Any]) -> list[Threshold]:
        dormancy: timedelta = self._p(params, "dormancy")
        out = [
            Threshold("count", ">=", float(self._p(params, "min_count")), "transfers"),
            Threshold("gap", ">=", dormancy.total_seconds(), "dormant"),
        ]
        min_amount = float(self._p(params, "min_amount"))
        if min_amount > 0:
            out.append(Threshold("total", ">=", min_amount, "total"))
        return out

    def explain(
        self,
        metrics: Mapping[str, Any],
        params: Mapping[str, Any],
        span: timedelta,
        amount: float,
        currency: str,
    ) -> str:
        """``"3 transfers (≥ 3) within 2d after 120d dormant (≥ 90d), 5,000 EUR"``."""
        gap = metrics.get("gap")
        gap_text = format_duration(timedelta(seconds=float(gap))) if gap is not None else "?"
        line = (
            f"{fmt_count(metrics.get('count'), 'transfer')} "
            f"(≥ {fmt_number(self._p(params, 'min_count'))}) within {format_duration(span)} "
            f"after {gap_text} dormant (≥ {format_duration(self._p(params, 'dormancy'))}), "
            f"{format_amount(amount, currency)}"
        )
        min_amount = float(self._p(params, "min_amount"))
        if min_amount > 0:
            burst = format_amount(float(metrics.get("total") or 0.0), currency)
            line += f"; burst total {burst} (≥ {fmt_number(min_amount)})"
        return line


register(DormantThenActive())
