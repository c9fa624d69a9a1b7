"""``fan_in``: many distinct senders (optionally from several countries) paying one receiver.

The focus is the receiver (``dst_account``, or ``dst_party`` when grouping by party). Each
inflow ends a window ``(ts - window, ts]`` (see :mod:`.windows`) whose metrics are
``distinct_senders`` (distinct sending accounts, or parties — a sender without a party counts
by its account), ``distinct_src_countries`` (distinct non-null ``src_country``), ``count`` and
``total`` (sum of ``amount_base``). Trigger: ``distinct_senders >= min_counterparties`` and,
when ``min_countries > 0``, ``distinct_src_countries >= min_countries``. A receiver with fewer
distinct senders (or countries) in all than that gets no windows: none of them could fire.

:class:`Fan` also implements ``fan_out`` (the mirror image, see :mod:`.fan_out`).
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
    COUNTERPARTY,
    END,
    FOCUS,
    START,
    count,
    distinct,
    evidence_frame,
    fmt_number,
    focus_rows,
    in_order,
    param,
    prune_foci,
    rolling_by_focus,
    total,
)
from finintel.yamlpos import format_duration

__all__ = ["Fan", "FanIn", "fan_params"]


def fan_params(window: str, who: str) -> dict[str, ParamSpec]:
    """The parameters of ``fan_in`` / ``fan_out`` (``who``: "senders" / "receivers")."""
    return {
        "window": ParamSpec("duration", window, doc="rolling window length", minimum=1),
        "min_counterparties": ParamSpec("int", 5, doc=f"distinct {who} in the window", minimum=1),
        "min_countries": ParamSpec(
            "int", 0, doc=f"distinct countries of the {who} (0 = not checked)", minimum=0
        ),
    }


class Fan:
    """Shared implementation of fan_in (side "in") and fan_out (side "out")."""

    kind: ClassVar[str]
    doc: ClassVar[str]
    focus_role: ClassVar[str]
    group_by: ClassVar[tuple[str, ...]] = GROUP_BY
    params: ClassVar[Mapping[str, ParamSpec]]
    side: ClassVar[str]
    counterparties: ClassVar[str]  # metric name: distinct_senders / distinct_receivers
    countries: ClassVar[str]  # metric name: distinct_src_countries / distinct_dst_countries
    who: ClassVar[str]  # "senders" / "receivers"

    def _p(self, params: Mapping[str, Any], name: str) -> Any:
        return param(params, self.params, name, self.kind)

    def validate(self, params: Mapping[str, Any]) -> list[FinintelError]:
        """No checks across parameters beyond their types."""
        return []

    def metrics(self, params: Mapping[str, Any]) -> Mapping[str, pl.DataType]:
        return {
            self.counterparties: pl.Int64(),
            self.countries: pl.Int64(),
            "count": pl.Int64(),
            "total": pl.Float64(),
        }

    def lookback(self, params: Mapping[str, Any]) -> timedelta:
        window: timedelta = self._p(params, "window")
        return window

    def plan(self, transfers: pl.LazyFrame, params: Mapping[str, Any], ctx: RunContext) -> Plan:
        rows = focus_rows(transfers, self.side, ctx.group_by)
        # a window's distinct counterparties (countries) are some of its focus's: foci with
        # fewer in all than the trigger needs get no windows (pruned before the sort: most
        # foci go, and sorting by the text focus is the costliest step)
        needs = [distinct(COUNTERPARTY) >= int(self._p(params, "min_counterparties"))]
        min_countries = int(self._p(params, "min_countries"))
        if min_countries > 0:
            needs.append(distinct("counterparty_country") >= min_countries)
        windows = rolling_by_focus(
            in_order(prune_foci(rows, *needs)),
            self._p(params, "window"),
            {"count": count(), "total": total()},
            distinct={self.counterparties: COUNTERPARTY, self.countries: "counterparty_country"},
            presorted=True,
        ).select(FOCUS, START, END, *self.metrics(params))
        return Plan(windows, evidence_frame(rows, ctx.group_by, self.focus_role))

    def condition(self, params: Mapping[str, Any]) -> pl.Expr:
        cond = pl.col(self.counterparties) >= int(self._p(params, "min_counterparties"))
        min_countries = int(self._p(params, "min_countries"))
        if min_countries > 0:
            cond = cond & (pl.col(self.countries) >= min_countries)
        return cond

    def thresholds(self, params: Mapping[str, Any]) -> list[Threshold]:
        out = [
            Threshold(
                self.counterparties,
                ">=",
                float(self._p(params, "min_counterparties")),
                f"distinct {self.who}",
            )
        ]
        min_countries = int(self._p(params, "min_countries"))
        if min_countries > 0:
            out.append(Threshold(self.countries, ">=", float(min_countries), "countries"))
        return out

    def explain(
        self,
        metrics: Mapping[str, Any],
        params: Mapping[str, Any],
        span: timedelta,
        amount: float,
        currency: str,
    ) -> str:
        """``"7 distinct senders (≥ 5) from 3 countries (≥ 2) within 2d 4h, 12,400 EUR"``."""
        line = (
            f"{fmt_number(metrics.get(self.counterparties))} distinct {self.who} "
            f"(≥ {fmt_number(self._p(params, 'min_counterparties'))})"
        )
        countries = metrics.get(self.countries)
        min_countries = int(self._p(params, "min_countries"))
        preposition = "from" if self.side == "in" else "in"
        if min_countries > 0:
            line += f" {preposition} {fmt_number(countries)} countries (≥ {min_countries})"
        elif countries:
            word = "country" if countries == 1 else "countries"
            line += f" {preposition} {fmt_number(countries)} {word}"
        return f"{line} within {format_duration(span)}, {format_amount(amount, currency)}"


class FanIn(Fan):
    """Many distinct senders paying one receiver within a rolling window."""

    kind: ClassVar[str] = "fan_in"
    doc: ClassVar[str] = "≥ N distinct senders (from ≥ M countries) pay one receiver in a window."
    focus_role: ClassVar[str] = "collector"
    params: ClassVar[Mapping[str, ParamSpec]] = fan_params("30d", "senders")
    side: ClassVar[str] = "in"
    counterparties: ClassVar[str] = "distinct_senders"
    countries: ClassVar[str] = "distinct_src_countries"
    who: ClassVar[str] = "senders"


register(FanIn())
