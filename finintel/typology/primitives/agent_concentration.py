"""``agent_concentration``: an agent through which an unusual share of flagged transfers passes.

The focus is an MTO agent: the send agent (``src_agent``, ``side: send``) or the payout agent
(``dst_agent``, ``side: payout``); transfers without that agent are left out. ``flag`` (an
expression over the transfer columns, see ``docs/expressions.md``; null counts as false) marks
the suspicious transfers, by default those just under the EU EUR 1,000 transfer-check threshold.

Each transfer through an agent at ``t`` ends a window ``(t - window, t]`` of that agent's
transfers (the convention of :mod:`.windows`). Metrics: ``transfers`` and ``flagged`` in it,
``share = flagged / transfers``, ``median_share`` (the network's typical share, below) and
``factor = share / median_share`` (null when the median is 0). Trigger: ``flagged >= min_flagged``
and ``share >= min_factor * median_share`` (a median of 0 — most agents see no flagged transfer —
makes any agent with ``min_flagged`` flagged transfers stand out; a null median, where no agent
qualifies, triggers nothing).

The network median: a truly rolling median (for every window end, every agent's share over the
same interval) costs agents × transfers, so it is taken per **calendar period**: time is cut
into consecutive periods of length ``window`` counted from 1970-01-01 00:00 UTC (so every engine
and every shard cuts alike), each agent with at least ``min_transfers`` transfers in a period
contributes its share of flagged transfers in that period, and a window uses the median of the
period its end falls in. Shares are compared with a relative slack of 1e-9 (float products).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar

import polars as pl

from finintel.schema import RULE_COLUMNS
from finintel.typology.expr import Node, compile_expr, compile_text
from finintel.typology.primitives.base import (
    GROUP_BY,
    ParamSpec,
    Plan,
    RunContext,
    Threshold,
    register,
)
from finintel.typology.primitives.windows import (
    END,
    FOCUS,
    count,
    fmt_number,
    param,
    param_error,
    rolling_by_focus,
)
from finintel.yamlpos import format_duration

__all__ = ["AgentConcentration", "period_index"]

SIDES = {"send": "src_agent", "payout": "dst_agent"}
DEFAULT_FLAG = "amount_base >= 900 and amount_base < 1000"
#: Relative slack of ``share >= min_factor * median_share``.
_SLACK = 1e-9


def period_index(ts: pl.Expr, window: timedelta) -> pl.Expr:
    """The calendar period (of length ``window``, counted from the Unix epoch) of ``ts``."""
    size = window // timedelta(microseconds=1)
    return ts.dt.epoch("us").floordiv(size)


def _percent(x: Any) -> str:
    return "?" if x is None else f"{float(x) * 100:.0f}%"


class AgentConcentration:
    """An agent whose share of flagged transfers is a multiple of the network's median share."""

    kind: ClassVar[str] = "agent_concentration"
    doc: ClassVar[str] = (
        "An MTO agent through which an unusual share of flagged transfers passes: its flagged "
        "share in a rolling window is ≥ min_factor × the network's median share (complicit agent)."
    )
    focus_role: ClassVar[str] = "agent"
    focus_kind: ClassVar[str] = "agent"
    # The focus is always an agent; the rule's group_by does not change it.
    group_by: ClassVar[tuple[str, ...]] = GROUP_BY
    params: ClassVar[Mapping[str, ParamSpec]] = {
        "flag": ParamSpec(
            "expression", DEFAULT_FLAG, doc="which transfers are suspicious (transfer columns)"
        ),
        "side": ParamSpec(
            "string",
            "send",
            doc="send agent (src_agent) or payout agent (dst_agent)",
            choices=tuple(SIDES),
        ),
        "window": ParamSpec(
            "duration",
            "30d",
            doc="rolling window; also the length of the median's periods",
            minimum=1,
        ),
        "min_factor": ParamSpec(
            "number", 5.0, doc="agent's flagged share ≥ this × the network median share", minimum=0
        ),
        "min_transfers": ParamSpec(
            "int", 20, doc="transfers an agent needs in a period to count in the median", minimum=1
        ),
        "min_flagged": ParamSpec(
            "int", 5, doc="flagged transfers through the agent in the window", minimum=1
        ),
    }

    def _p(self, params: Mapping[str, Any], name: str) -> Any:
        return param(params, self.params, name, self.kind)

    def metrics(self, params: Mapping[str, Any]) -> Mapping[str, pl.DataType]:
        return {
            "flagged": pl.Int64(),
            "transfers": pl.Int64(),
            "share": pl.Float64(),
            "median_share": pl.Float64(),
            "factor": pl.Float64(),
        }

    def lookback(self, params: Mapping[str, Any]) -> timedelta:
        window: timedelta = self._p(params, "window")
        return window

    def condition(self, params: Mapping[str, Any]) -> pl.Expr:
        factor = float(self._p(params, "min_factor"))
        return (
            (pl.col("flagged") >= int(self._p(params, "min_flagged")))
            & pl.col("median_share").is_not_null()
            & (pl.col("share") * (1 + _SLACK) >= factor * pl.col("median_share"))
        )

    def thresholds(self, params: Mapping[str, Any]) -> list[Threshold]:
        return [
            Threshold("factor", ">=", float(self._p(params, "min_factor")), "× the median share"),
            Threshold("flagged", ">=", float(self._p(params, "min_flagged")), "flagged transfers"),
        ]

    def explain(
        self,
        metrics: Mapping[str, Any],
        params: Mapping[str, Any],
        span: timedelta,
        amount: float,
        currency: str,
    ) -> str:
        """``"12 of 40 transfers flagged (30%), 6× the network median of 5% (≥ 5×), 12 flagged
        (≥ 5) in 30d"``."""
        window: timedelta = self._p(params, "window")
        flagged, n = metrics.get("flagged"), metrics.get("transfers")
        factor = metrics.get("factor")
        times = "∞" if factor is None else fmt_number(float(factor))
        return (
            f"{fmt_number(flagged)} of {fmt_number(n)} transfers flagged "
            f"({_percent(metrics.get('share'))}), {times}× the network median of "
            f"{_percent(metrics.get('median_share'))} (≥ {fmt_number(self._p(params, 'min_factor'))}×), "
            f"{fmt_number(flagged)} flagged (≥ {self._p(params, 'min_flagged')}) "
            f"in {format_duration(window)}"
        )

    def plan(self, transfers: pl.LazyFrame, params: Mapping[str, Any], ctx: RunContext) -> Plan:
        side = str(self._p(params, "side"))
        if side not in SIDES:
            raise param_error(self.kind, "side", f"must be one of {', '.join(SIDES)}, got {side!r}")
        window: timedelta = self._p(params, "window")
        have = transfers.collect_schema().names()
        missing = [pl.lit(None, dtype=t).alias(c) for c, t in RULE_COLUMNS.items() if c not in have]
        given = self._p(params, "flag")  # a parsed Node from the rule loader, or text
        lists = dict(ctx.lists)
        if isinstance(given, Node):
            flag = compile_expr(given, RULE_COLUMNS, lists)
        else:
            flag = compile_text(str(given), RULE_COLUMNS, lists)
        through = transfers.with_columns(missing).filter(pl.col(SIDES[side]).is_not_null())
        agent = pl.col(SIDES[side]).cast(pl.String).alias(FOCUS)
        # the windows and the medians need only the agent, the time and the flag: an MTO
        # history of tens of millions of transfers is sorted on those three columns alone
        rows = through.select(
            agent,
            "ts",
            flag.fill_null(False).cast(pl.Int64).alias("_flag"),
        )
        medians = (
            rows.group_by(period_index(pl.col("ts"), window).alias("_period"), FOCUS)
            .agg(pl.col("_flag").sum().alias("_f"), pl.len().alias("_n"))
            .filter(pl.col("_n") >= int(self._p(params, "min_transfers")))
            .group_by("_period")
            .agg((pl.col("_f") / pl.col("_n")).median().alias("median_share"))
        )
        share = pl.col("flagged") / pl.col("transfers")
        windows = (
            rolling_by_focus(
                rows,
                window,
                {"flagged": pl.col("_flag").sum().cast(pl.Int64), "transfers": count()},
            )
            .with_columns(share.alias("share"), period_index(pl.col(END), window).alias("_period"))
            .join(medians, on="_period", how="left", maintain_order="left")
            .with_columns(
                pl.when(pl.col("median_share") > 0)
                .then(pl.col("share") / pl.col("median_share"))
                .alias("factor")
            )
            .drop("_period")
        )
        # evidence: the flagged transfers only (a few percent), in any order (base.py)
        flagged = through.filter(flag.fill_null(False)).select(
            agent,
            "ts",
            "tx_id",
            "source",
            "src_account",
            "dst_account",
            pl.col("amount_base").cast(pl.Float64),
        )
        cols = (FOCUS, "ts", "tx_id", "source")
        evidence = pl.concat(
            [
                flagged.select(
                    *cols,
                    pl.col("src_account").alias("account"),
                    pl.lit("sender", dtype=pl.String).alias("role"),
                    "amount_base",
                ),
                flagged.select(
                    *cols,
                    pl.col("dst_account").alias("account"),
                    pl.lit("receiver", dtype=pl.String).alias("role"),
                    "amount_base",
                ),
            ]
        )
        return Plan(windows, evidence)


register(AgentConcentration())
