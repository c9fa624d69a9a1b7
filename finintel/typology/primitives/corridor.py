"""``corridor``: flows from listed jurisdictions to listed jurisdictions, per sender.

A transfer is *in the corridor* when its ``src_country`` is in ``from`` and its ``dst_country``
in ``to`` (an absent ``from`` / ``to`` means any country, a null country is in no list). Each
item of ``from`` / ``to`` is an ISO country code or a ``$name`` reference to a reference list
(``ctx.lists``). The focus is the sender (``src_account`` / ``src_party``); each corridor
transfer ends a window ``(ts - window, ts]`` (see :mod:`.windows`) with metrics ``count`` and
``total`` (``amount_base``) of the corridor transfers in it. Trigger: ``count >= min_count`` and
``total >= min_amount`` (the window total, in the base currency). Evidence: the corridor
transfers, the receivers with role ``receiver``.
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
    count,
    evidence_frame,
    fmt_count,
    fmt_number,
    focus_rows,
    in_order,
    param,
    param_error,
    rolling_by_focus,
    total,
)
from finintel.yamlpos import format_duration

__all__ = ["Corridor", "resolve_countries"]


def resolve_countries(
    value: Any, lists: Mapping[str, tuple[object, ...]], name: str = "from"
) -> list[str] | None:
    """Country codes of a ``from``/``to`` parameter, ``$list`` references expanded.

    ``None`` (absent) means any country.

    >>> resolve_countries(["fr", "$transit"], {"transit": ("LY", "TR")})
    ['FR', 'LY', 'TR']
    """
    if value is None:
        return None
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise param_error("corridor", name, f"expects a list of countries, got {value!r}")
    out: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise param_error("corridor", name, f"expects country codes, got {item!r}")
        if item.startswith("$"):
            ref = item[1:]
            if ref not in lists:
                known = ", ".join(sorted(lists)) or "none"
                raise param_error(
                    "corridor", name, f"refers to an unknown list {item!r} (known: {known})"
                )
            out += [str(v).upper() for v in lists[ref]]
        else:
            out.append(item.strip().upper())
    return sorted(set(out))


def _describe(value: Any) -> str:
    if value is None:
        return "anywhere"
    items = [value] if isinstance(value, str) else list(value)
    return ", ".join(str(i) for i in items)


class Corridor:
    """Transfers between listed jurisdictions, counted and summed per sender."""

    kind: ClassVar[str] = "corridor"
    doc: ClassVar[str] = "Flows from listed to listed jurisdictions above thresholds, per sender."
    focus_role: ClassVar[str] = "originator"
    group_by: ClassVar[tuple[str, ...]] = GROUP_BY
    params: ClassVar[Mapping[str, ParamSpec]] = {
        "from": ParamSpec(
            "strings", None, doc="sending countries (ISO codes or $list); absent: any"
        ),
        "to": ParamSpec(
            "strings", None, doc="receiving countries (ISO codes or $list); absent: any"
        ),
        "window": ParamSpec("duration", "30d", doc="rolling window length", minimum=1),
        "min_count": ParamSpec("int", 1, doc="corridor transfers in the window", minimum=1),
        "min_amount": ParamSpec(
            "number", 0.0, doc="window total of the corridor transfers (base currency)", minimum=0
        ),
    }

    def _p(self, params: Mapping[str, Any], name: str) -> Any:
        return param(params, self.params, name, self.kind)

    def validate(self, params: Mapping[str, Any]) -> list[FinintelError]:
        """No checks across parameters beyond their types."""
        return []

    def metrics(self, params: Mapping[str, Any]) -> Mapping[str, pl.DataType]:
        return {"count": pl.Int64(), "total": pl.Float64()}

    def lookback(self, params: Mapping[str, Any]) -> timedelta:
        window: timedelta = self._p(params, "window")
        return window

    def plan(self, transfers: pl.LazyFrame, params: Mapping[str, Any], ctx: RunContext) -> Plan:
        rows = focus_rows(transfers, "out", ctx.group_by)
        for name, column in (("from", "src_country"), ("to", "dst_country")):
            countries = resolve_countries(self._p(params, name), ctx.lists, name)
            if countries is not None:
                rows = rows.filter(pl.col(column).str.to_uppercase().is_in(countries))
        windows = rolling_by_focus(
            in_order(rows),
            self._p(params, "window"),
            {"count": count(), "total": total()},
            presorted=True,
        )
        return Plan(windows, evidence_frame(rows, ctx.group_by, self.focus_role))

    def condition(self, params: Mapping[str, Any]) -> pl.Expr:
        return (pl.col("count") >= int(self._p(params, "min_count"))) & (
            pl.col("total") >= float(self._p(params, "min_amount"))
        )

    def thresholds(self, params: Mapping[str, Any]) -> list[Threshold]:
        out = [Threshold("count", ">=", float(self._p(params, "min_count")), "transfers")]
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
        """``"4 transfers (≥ 1) from FR to $transit totalling 5,200 EUR (≥ 3,000) within 6d,
        5,200 EUR"``."""
        line = (
            f"{fmt_count(metrics.get('count'), 'transfer')} "
            f"(≥ {fmt_number(self._p(params, 'min_count'))}) "
            f"from {_describe(self._p(params, 'from'))} to {_describe(self._p(params, 'to'))}"
        )
        min_amount = float(self._p(params, "min_amount"))
        if min_amount > 0:
            line += (
                f" totalling {format_amount(float(metrics.get('total') or 0.0), currency)}"
                f" (≥ {fmt_number(min_amount)})"
            )
        return f"{line} within {format_duration(span)}, {format_amount(amount, currency)}"


register(Corridor())
