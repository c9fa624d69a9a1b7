"""``structuring``: amounts kept just under a reporting threshold, or one amount split under it.

The compared amount is ``amount_base`` (the run's base currency), or, when ``currency`` is set,
the original ``amount`` of the transfers in that currency (others are ignored): e.g. the US
record-keeping threshold is ``threshold: 3000, currency: USD``. The threshold ``T`` of a
transfer is ``thresholds_by_country[src_country]`` when listed there, else ``threshold``.

``mode: band`` (default)
    A transfer is *in band* when ``T·(1 − band) <= amount < T``. Only in-band transfers are
    looked at: each ends a window ``(ts - window, ts]`` (see :mod:`.windows`) with metrics
    ``count_in_band``, ``total`` (their ``amount_base``), ``max_amount`` (largest compared
    amount) and ``threshold`` (the smallest ``T`` among them). Trigger:
    ``count_in_band >= min_count``; a focus with fewer in-band transfers in all gets no
    windows (none could fire).
``mode: split``
    Transfers each under ``T`` whose sum crosses it: only transfers with ``amount < T`` are
    looked at; metrics ``count_below``, ``total``, ``max_amount``, ``sum_amount`` (sum of the
    compared amounts) and ``threshold``. Trigger: ``count_below >= min_count`` and
    ``sum_amount >= threshold``. Use the rule's scope (``where``) to ignore small amounts.

``side: out`` groups by sender (default), ``side: in`` by receiver. Evidence: the in-band
(resp. under-threshold) transfers only.
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
    total,
)
from finintel.yamlpos import format_duration

__all__ = ["Structuring"]

MODES = ("band", "split")


def _exact(amount: Any, currency: str) -> str:
    """An amount next to its threshold: cents kept (``format_amount`` would show 999.99 as
    1,000)."""
    return f"{fmt_number(amount if isinstance(amount, int | float) else None)} {currency}"


class Structuring:
    """Several transfers just under a threshold (band), or split under it (split)."""

    kind: ClassVar[str] = "structuring"
    doc: ClassVar[str] = "Transfers kept just under a reporting threshold, or split under it."
    focus_role: ClassVar[str] = "structurer"
    group_by: ClassVar[tuple[str, ...]] = GROUP_BY
    params: ClassVar[Mapping[str, ParamSpec]] = {
        "threshold": ParamSpec(
            "number", 1000.0, doc="the threshold T (base currency unless currency)", minimum=0
        ),
        "currency": ParamSpec(
            "string", None, doc="compare the original amount of transfers in this currency"
        ),
        "thresholds_by_country": ParamSpec(
            "thresholds", {}, doc="country (src_country) → threshold, overriding threshold"
        ),
        "band": ParamSpec("number", 0.1, doc="band below T: [T·(1−band), T)", minimum=0),
        "min_count": ParamSpec("int", 3, doc="transfers in band in the window", minimum=1),
        "window": ParamSpec("duration", "7d", doc="rolling window length", minimum=1),
        "side": ParamSpec(
            "string", "out", doc="out: by sender; in: by receiver", choices=("out", "in")
        ),
        "mode": ParamSpec(
            "string",
            "band",
            doc="band: just under T; split: pieces under T summing past T",
            choices=MODES,
        ),
    }

    def _p(self, params: Mapping[str, Any], name: str) -> Any:
        return param(params, self.params, name, self.kind)

    def _mode(self, params: Mapping[str, Any]) -> str:
        mode = self._p(params, "mode")
        if mode not in MODES:
            raise param_error(self.kind, "mode", f"must be one of {', '.join(MODES)}, got {mode!r}")
        return str(mode)

    def _count_name(self, params: Mapping[str, Any]) -> str:
        return "count_in_band" if self._mode(params) == "band" else "count_below"

    def _by_country(self, params: Mapping[str, Any]) -> dict[str, float]:
        value = self._p(params, "thresholds_by_country") or {}
        if not isinstance(value, Mapping):
            raise param_error(
                self.kind,
                "thresholds_by_country",
                f"expects a mapping country: number, got {value!r}",
            )
        out = {}
        for k, v in value.items():
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise param_error(
                    self.kind, "thresholds_by_country", f"expects a number for {k!r}, got {v!r}"
                )
            out[str(k).upper()] = float(v)
        return out

    def validate(self, params: Mapping[str, Any]) -> list[FinintelError]:
        """Cross-checks: the band is below 1, the country thresholds are numbers."""
        problems: list[FinintelError] = []
        band = float(self._p(params, "band"))
        if not 0 <= band < 1:
            problems.append(param_error(self.kind, "band", f"must be in [0, 1), got {band:g}"))
        try:
            self._by_country(params)
        except ConfigError as exc:
            problems.append(exc)
        return problems

    def metrics(self, params: Mapping[str, Any]) -> Mapping[str, pl.DataType]:
        out: dict[str, pl.DataType] = {
            self._count_name(params): pl.Int64(),
            "total": pl.Float64(),
            "max_amount": pl.Float64(),
        }
        if self._mode(params) == "split":
            out["sum_amount"] = pl.Float64()
        out["threshold"] = pl.Float64()
        return out

    def lookback(self, params: Mapping[str, Any]) -> timedelta:
        window: timedelta = self._p(params, "window")
        return window

    def plan(self, transfers: pl.LazyFrame, params: Mapping[str, Any], ctx: RunContext) -> Plan:
        currency = self._p(params, "currency")
        if currency:
            transfers = transfers.filter(pl.col("currency") == str(currency).upper())
            amount = pl.col("amount")
        else:
            amount = pl.col("amount_base")
        threshold = float(self._p(params, "threshold"))
        by_country = self._by_country(params)
        t = (
            pl.col("src_country")
            .str.to_uppercase()
            .replace_strict(by_country, default=threshold, return_dtype=pl.Float64)
            if by_country
            else pl.lit(threshold, dtype=pl.Float64)
        )
        transfers = transfers.with_columns(
            amount.cast(pl.Float64).alias("_amount"), t.alias("_threshold")
        )
        if self._mode(params) == "band":
            band = float(self._p(params, "band"))
            keep = (pl.col("_amount") >= pl.col("_threshold") * (1 - band)) & (
                pl.col("_amount") < pl.col("_threshold")
            )
        else:
            keep = pl.col("_amount") < pl.col("_threshold")
        # the transfers looked at are picked before the focus frame sorts them (few, in band)
        rows = focus_rows(transfers.filter(keep), self._p(params, "side"), ctx.group_by)
        aggs = {
            self._count_name(params): count(),
            "total": total(),
            "max_amount": pl.col("_amount").max(),
        }
        if self._mode(params) == "split":
            aggs["sum_amount"] = total("_amount")
        aggs["threshold"] = pl.col("_threshold").min()
        # band: a window fires with min_count in-band transfers, so foci with fewer in all get
        # no windows. Split mode does not prune: nearly every transfer is under T, so nearly
        # every focus has min_count of them and the pruning cost more than it saved.
        min_count = int(self._p(params, "min_count"))
        band = self._mode(params) == "band"
        rolled = in_order(prune_foci(rows, pl.len() >= min_count) if band else rows)
        windows = rolling_by_focus(rolled, self._p(params, "window"), aggs, presorted=True)
        return Plan(windows, evidence_frame(rows, ctx.group_by, self.focus_role))

    def condition(self, params: Mapping[str, Any]) -> pl.Expr:
        cond = pl.col(self._count_name(params)) >= int(self._p(params, "min_count"))
        if self._mode(params) == "split":
            cond = cond & (pl.col("sum_amount") >= pl.col("threshold"))
        return cond

    def thresholds(self, params: Mapping[str, Any]) -> list[Threshold]:
        name = self._count_name(params)
        out = [
            Threshold(
                name,
                ">=",
                float(self._p(params, "min_count")),
                "transfers just under the threshold"
                if name == "count_in_band"
                else "transfers under the threshold",
            )
        ]
        if self._mode(params) == "split":
            out.append(Threshold("sum_amount", ">=", float(self._p(params, "threshold")), "sum"))
        return out

    def explain(
        self,
        metrics: Mapping[str, Any],
        params: Mapping[str, Any],
        span: timedelta,
        amount: float,
        currency: str,
    ) -> str:
        """``"4 transfers in [900, 1,000) EUR (≥ 3), max 990 EUR, within 3d, 3,860 EUR"``;
        split: ``"3 transfers each under 1,000 EUR (≥ 3) adding up to 2,400 EUR (≥ 1,000)
        within 1d, 2,400 EUR"``."""
        cur = str(self._p(params, "currency") or currency).upper()
        t = metrics.get("threshold")
        t = float(t) if isinstance(t, int | float) else float(self._p(params, "threshold"))
        min_count = fmt_number(self._p(params, "min_count"))
        tail = f"within {format_duration(span)}, {format_amount(amount, currency)}"
        if self._mode(params) == "band":
            low = t * (1 - float(self._p(params, "band")))
            return (
                f"{fmt_count(metrics.get('count_in_band'), 'transfer')} in "
                f"[{fmt_number(low)}, {fmt_number(t)}) {cur} (≥ {min_count}), "
                f"max {_exact(metrics.get('max_amount'), cur)}, {tail}"
            )
        return (
            f"{fmt_count(metrics.get('count_below'), 'transfer')} each under "
            f"{_exact(t, cur)} (≥ {min_count}) adding up to "
            f"{_exact(metrics.get('sum_amount'), cur)} "
            f"(≥ {fmt_number(t)}) {tail}"
        )


register(Structuring())
