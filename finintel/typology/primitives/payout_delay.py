"""``payout_delay``: money held until arrival (MTO transfers paid out long after they were sent).

A transfer is **held** when it has a payout time and ``payout_ts - ts >= min_delay``. The focus
is the receiver (``dst_account``, or ``dst_party`` when grouping by party), or the sender with
``side: sender``. Each held transfer at send time ``t`` ends a window ``(t - window, t]`` of the
held transfers of its focus (the convention of :mod:`.windows`: by send time, which is also the
time of the evidence rows). Metrics: ``held_count``, ``max_delay`` and ``mean_delay`` (seconds
from send to payout) and ``total`` (sum of ``amount_base``). Trigger: ``held_count >= min_count``.

Transfers without ``payout_ts`` (bank records, MTO records not yet paid out) are never held.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar

import polars as pl

from finintel.schema import UTC_TS
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
    count,
    evidence_frame,
    focus_rows,
    in_order,
    param,
    param_error,
    rolling_by_focus,
    total,
)
from finintel.yamlpos import format_duration

__all__ = ["PayoutDelay"]

SIDES = ("receiver", "sender")


def _seconds(value: Any) -> timedelta:
    return timedelta(seconds=float(value or 0.0))


class PayoutDelay:
    """Several transfers to one receiver held for long before payout, within a window."""

    kind: ClassVar[str] = "payout_delay"
    doc: ClassVar[str] = (
        "≥ N transfers to one receiver (or from one sender) paid out at least min_delay after "
        "they were sent, within a rolling window (payment held until arrival)."
    )
    focus_role: ClassVar[str] = "collector"
    group_by: ClassVar[tuple[str, ...]] = GROUP_BY
    params: ClassVar[Mapping[str, ParamSpec]] = {
        "min_delay": ParamSpec(
            "duration", "7d", doc="shortest send-to-payout time of a held transfer", minimum=0
        ),
        "window": ParamSpec(
            "duration", "30d", doc="rolling window (by send time) of the held transfers", minimum=1
        ),
        "min_count": ParamSpec(
            "int", 3, doc="held transfers of one focus needed within the window", minimum=1
        ),
        "side": ParamSpec(
            "string", "receiver", doc="whose held transfers are counted", choices=SIDES
        ),
    }

    def _p(self, params: Mapping[str, Any], name: str) -> Any:
        return param(params, self.params, name, self.kind)

    def metrics(self, params: Mapping[str, Any]) -> Mapping[str, pl.DataType]:
        return {
            "held_count": pl.Int64(),
            "max_delay": pl.Float64(),
            "mean_delay": pl.Float64(),
            "total": pl.Float64(),
        }

    def lookback(self, params: Mapping[str, Any]) -> timedelta:
        window: timedelta = self._p(params, "window")
        return window

    def condition(self, params: Mapping[str, Any]) -> pl.Expr:
        min_delay: timedelta = self._p(params, "min_delay")
        return (pl.col("held_count") >= int(self._p(params, "min_count"))) & (
            pl.col("max_delay") >= min_delay.total_seconds()
        )

    def thresholds(self, params: Mapping[str, Any]) -> list[Threshold]:
        min_delay: timedelta = self._p(params, "min_delay")
        return [
            Threshold("held_count", ">=", float(self._p(params, "min_count")), "held transfers"),
            Threshold("max_delay", ">=", min_delay.total_seconds(), "longest delay"),
        ]

    def explain(
        self,
        metrics: Mapping[str, Any],
        params: Mapping[str, Any],
        span: timedelta,
        amount: float,
        currency: str,
    ) -> str:
        """``"4 transfers (≥ 3) paid out 9d 6h after sending on average (longest 12d; ≥ 7d)
        within 30d, 2,400 EUR"``."""
        n = int(metrics.get("held_count") or 0)
        min_delay: timedelta = self._p(params, "min_delay")
        window: timedelta = self._p(params, "window")
        held = metrics.get("total")
        return (
            f"{n} {'transfer' if n == 1 else 'transfers'} (≥ {self._p(params, 'min_count')}) "
            f"paid out {format_duration(_seconds(metrics.get('mean_delay')))} after sending on "
            f"average (longest {format_duration(_seconds(metrics.get('max_delay')))}; "
            f"≥ {format_duration(min_delay)}) within {format_duration(window)}, "
            f"{format_amount(float(amount if held is None else held), currency)}"
        )

    def plan(self, transfers: pl.LazyFrame, params: Mapping[str, Any], ctx: RunContext) -> Plan:
        side = str(self._p(params, "side"))
        if side not in SIDES:
            raise param_error(self.kind, "side", f"must be one of {', '.join(SIDES)}, got {side!r}")
        min_delay: timedelta = self._p(params, "min_delay")
        if "payout_ts" not in transfers.collect_schema().names():
            transfers = transfers.with_columns(pl.lit(None, dtype=UTC_TS).alias("payout_ts"))
        held_for = pl.col("payout_ts") - pl.col("ts")
        held = (
            focus_rows(transfers, "in" if side == "receiver" else "out", ctx.group_by)
            .filter(pl.col("payout_ts").is_not_null() & (held_for >= min_delay))
            .with_columns((held_for.dt.total_microseconds() / 1e6).alias("_delay"))
        )
        windows = rolling_by_focus(
            in_order(held),
            self._p(params, "window"),
            {
                "held_count": count(),
                "max_delay": pl.col("_delay").max().cast(pl.Float64),
                "mean_delay": pl.col("_delay").mean().cast(pl.Float64),
                "total": total(),
            },
            presorted=True,
        )
        return Plan(windows, evidence_frame(held, ctx.group_by, self.focus_role))


register(PayoutDelay())
