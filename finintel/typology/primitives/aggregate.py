"""``aggregate``: rolling-window measures per focus, the general-purpose windowed kind.

Each transfer ends a window ``(ts - window, ts]`` of its focus (see :mod:`.windows`); the
window's metrics are ``count`` (transfers), ``total`` (sum of ``amount_base``) and one column
per entry of ``measures``. The built-in condition is ``count >= min_count``; the rule's
``having`` does the rest, e.g. agent hopping::

    pattern:
      kind: aggregate
      side: out
      window: 2d
      measures: {agents: distinct(src_agent)}
    having: agents >= 3

A measure is one of ``count``, ``sum(col)``, ``mean(col)``, ``max(col)``, ``min(col)``,
``distinct(col)`` (non-null distinct values) and ``share(<condition>)`` (the fraction of the
window's transfers where the condition, in the expression language, holds; null counts as
false). ``col`` is a canonical transfer column or one of the focus-relative columns of
:data:`.windows.FOCUS_FRAME` (``counterparty``, ``counterparty_country``, ``focus_agent``…).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar

import polars as pl

from finintel.errors import ConfigError, FinintelError
from finintel.schema import TRANSFERS
from finintel.typology.expr import UNKNOWN_LIST, check_expr, compile_text, parse
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
    FOCUS_FRAME,
    SIDES,
    START,
    count,
    distinct,
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

__all__ = ["COLUMNS", "Aggregate", "Measure", "parse_measures"]

#: Columns a measure may name, with their types.
COLUMNS: dict[str, pl.DataType] = {**TRANSFERS, **FOCUS_FRAME}

_MEASURE = re.compile(r"^\s*(?P<fn>[A-Za-z_]+)\s*(?:\((?P<arg>.*)\))?\s*$", re.DOTALL)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NUMERIC = (pl.Float64, pl.Float32, pl.Int64, pl.Int32, pl.UInt32, pl.UInt64)
_FUNCTIONS = ("count", "sum", "mean", "max", "min", "distinct", "share")
_BUILTIN = {"count": ("count", None), "total": ("sum", "amount_base")}


@dataclass(frozen=True)
class Measure:
    """One parsed measure: ``function(argument)``."""

    name: str
    function: str
    argument: str | None

    @property
    def dtype(self) -> pl.DataType:
        if self.function in ("count", "distinct"):
            return pl.Int64()
        if self.function in ("max", "min") and self.argument is not None:
            return COLUMNS[self.argument]
        return pl.Float64()

    @property
    def column(self) -> str:
        """The helper column a ``share`` measure is computed from."""
        return f"_share_{self.name}"

    def prepare(self, lists: Mapping[str, Any]) -> pl.Expr:
        """For ``share``: the condition as a 0/1 column of the focus frame (computed once per
        row, so that the rolling mean over it is cheap)."""
        cond = compile_text(self.argument or "", COLUMNS, {k: list(v) for k, v in lists.items()})
        return cond.fill_null(False).cast(pl.Float64).alias(self.column)

    def expr(self) -> pl.Expr:
        """The rolling aggregation (``distinct`` goes to ``rolling_by_focus(distinct=…)``)."""
        arg = self.argument or ""
        if self.function == "count":
            out = count()
        elif self.function == "distinct":
            out = distinct(arg)
        elif self.function == "sum":
            out = total(arg)
        elif self.function == "mean":
            out = pl.col(arg).mean().cast(pl.Float64)
        elif self.function == "max":
            out = pl.col(arg).max()
        elif self.function == "min":
            out = pl.col(arg).min()
        else:  # share
            out = pl.col(self.column).mean()
        return out.alias(self.name)


def _measure(name: str, text: Any) -> Measure:
    where = f"measure {name!r}"
    if not isinstance(name, str) or not _NAME.match(name):
        raise param_error("aggregate", "measures", f"has a bad name {name!r} (letters, digits, _)")
    if not isinstance(text, str):
        raise param_error("aggregate", "measures", f"{where} expects text, got {text!r}")
    m = _MEASURE.match(text)
    if not m or m.group("fn").lower() not in _FUNCTIONS:
        raise param_error(
            "aggregate",
            "measures",
            f"{where}: {text!r} is not one of {', '.join(f + '(…)' for f in _FUNCTIONS[1:])} or count",
        )
    fn = m.group("fn").lower()
    arg = m.group("arg")
    arg = arg.strip() if arg is not None else None
    if fn == "count":
        if arg:
            raise param_error("aggregate", "measures", f"{where}: count takes no argument")
        return Measure(name, fn, None)
    if not arg:
        raise param_error("aggregate", "measures", f"{where}: {fn}(…) needs an argument")
    if fn == "share":
        try:
            parse(arg)
        except ConfigError as exc:
            raise param_error(
                "aggregate", "measures", f"{where}: {text.strip()!r}: {exc.message}"
            ) from None
        return Measure(name, fn, arg)
    if arg not in COLUMNS:
        raise param_error(
            "aggregate", "measures", f"{where}: unknown column {arg!r} in {text.strip()!r}"
        )
    if fn in ("sum", "mean") and not isinstance(COLUMNS[arg], _NUMERIC):
        raise param_error("aggregate", "measures", f"{where}: {fn} needs a numeric column")
    return Measure(name, fn, arg)


def parse_measures(value: Any) -> list[Measure]:
    """The ``measures`` parameter (mapping name → text) as measures, in their given order.

    >>> [(m.name, m.function, m.argument) for m in parse_measures({"agents": "distinct(src_agent)"})]
    [('agents', 'distinct', 'src_agent')]
    """
    if value is None:
        return []
    if not isinstance(value, Mapping):
        raise param_error(
            "aggregate", "measures", f"expects a mapping name: measure, got {value!r}"
        )
    out = []
    for name, text in value.items():
        m = _measure(name, text)
        if name in _BUILTIN and (m.function, m.argument) != _BUILTIN[name]:
            raise param_error(
                "aggregate", "measures", f"{name!r} is a built-in metric; choose another name"
            )
        if name not in _BUILTIN:
            out.append(m)
    return out


class Aggregate:
    """Rolling-window measures per focus (count, sums, distinct counts, shares)."""

    kind: ClassVar[str] = "aggregate"
    doc: ClassVar[str] = "Rolling-window count, total and chosen measures per focus."
    focus_role: ClassVar[str] = "subject"
    group_by: ClassVar[tuple[str, ...]] = GROUP_BY
    params: ClassVar[Mapping[str, ParamSpec]] = {
        "side": ParamSpec(
            "string",
            "out",
            doc="transfers of the focus: out (as sender), in (as receiver) or both",
            choices=SIDES,
        ),
        "window": ParamSpec("duration", required=True, doc="rolling window length", minimum=1),
        "measures": ParamSpec(
            "measures",
            {},
            doc="name: measure; count, sum(col), mean(col), max(col), min(col), "
            "distinct(col), share(condition)",
        ),
        "min_count": ParamSpec("int", 1, doc="transfers in the window", minimum=1),
    }

    def _p(self, params: Mapping[str, Any], name: str) -> Any:
        return param(params, self.params, name, self.kind)

    def metrics(self, params: Mapping[str, Any]) -> Mapping[str, pl.DataType]:
        out: dict[str, pl.DataType] = {"count": pl.Int64(), "total": pl.Float64()}
        for m in parse_measures(self._p(params, "measures")):
            out[m.name] = m.dtype
        return out

    def lookback(self, params: Mapping[str, Any]) -> timedelta:
        window: timedelta = self._p(params, "window")
        return window

    def validate(self, params: Mapping[str, Any]) -> list[FinintelError]:
        """Names and types in ``share(…)`` conditions (lists are checked when planning)."""
        problems: list[FinintelError] = []
        for m in parse_measures(self._p(params, "measures")):
            if m.function != "share":
                continue
            for e in check_expr(parse(m.argument or ""), COLUMNS, None):
                if e.code != UNKNOWN_LIST:
                    problems.append(
                        param_error(self.kind, "measures", f"measure {m.name!r}: {e.message}")
                    )
        return problems

    def plan(self, transfers: pl.LazyFrame, params: Mapping[str, Any], ctx: RunContext) -> Plan:
        rows = focus_rows(transfers, self._p(params, "side"), ctx.group_by)
        frame = in_order(rows)
        measures = parse_measures(self._p(params, "measures"))
        shares = [m.prepare(ctx.lists) for m in measures if m.function == "share"]
        rolled = frame.with_columns(shares) if shares else frame
        aggs = [count().alias("count"), total().alias("total")]
        aggs += [m.expr() for m in measures if m.function != "distinct"]
        windows = rolling_by_focus(
            rolled,
            self._p(params, "window"),
            aggs,
            distinct={m.name: m.argument or "" for m in measures if m.function == "distinct"},
            presorted=True,
        ).select(FOCUS, START, END, *self.metrics(params))
        return Plan(windows, evidence_frame(rows, ctx.group_by, self.focus_role))

    def condition(self, params: Mapping[str, Any]) -> pl.Expr:
        return pl.col("count") >= int(self._p(params, "min_count"))

    def thresholds(self, params: Mapping[str, Any]) -> list[Threshold]:
        return [Threshold("count", ">=", float(self._p(params, "min_count")), "transfers")]

    def explain(
        self,
        metrics: Mapping[str, Any],
        params: Mapping[str, Any],
        span: timedelta,
        amount: float,
        currency: str,
    ) -> str:
        """``"5 transfers (≥ 1) within 1d 20h, 4,800 EUR; agents 4, cash_share 0.75"``."""
        line = (
            f"{fmt_count(metrics.get('count'), 'transfer')} "
            f"(≥ {fmt_number(self._p(params, 'min_count'))}) within {format_duration(span)}, "
            f"{format_amount(amount, currency)}"
        )
        extra = [
            f"{m.name} {fmt_number(metrics.get(m.name))}"
            for m in parse_measures(self._p(params, "measures"))
            if isinstance(metrics.get(m.name), int | float | None)
        ]
        return f"{line}; {', '.join(extra)}" if extra else line


register(Aggregate())
