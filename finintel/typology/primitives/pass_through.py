"""``pass_through``: money in, then (most of it) out again soon after (mule / transit accounts).

Definition (exact, and what the reference in ``tests/typology/reference_b.py`` computes):

* Per focus (an account, or a party with ``group_by: party``), an **inflow** is a transfer into
  it, an **outflow** a transfer out of it. Transfers from the focus to itself (same account, or
  between two accounts of the same party) are neither: money that stays is not passed on.
  Inflows under ``min_amount`` (base currency) or under half a cent are ignored; rows without
  ``amount_base`` too.
* Amounts are summed in whole **cents** of the base currency (each transfer rounded once), so sums
  are exact and do not depend on the order of the rows (or on how an engine shards them).
* An inflow at ``t`` of ``A`` cents **passes through** when the outflows with
  ``t <= ts <= t + max_delay`` carry at least ``need = max(1, ceil(min_ratio * A - 1e-6))``
  cents (an equal timestamp counts as in order, so date-only data finds same-day pass-throughs;
  at least one cent must leave). The outflow that completes ``need`` gives ``delay``; the
  outflows from ``t`` up to it (all outflows at its timestamp included) are the evidence and
  their sum is the inflow's ``out_amount``: as it is up to ``(1 + fee_tolerance) * A`` (fees
  paid on top, FX slippage), capped at ``A`` when larger (the rest is other money).
* With ``max_ratio`` set, an inflow counts only when those outflows carry at most
  ``max_ratio * A``: an account that pays out far more than it just received (a busy business)
  is not passing this money on.
* An outflow may serve several inflows (no FIFO "use-up"): two 1,000 EUR inflows an hour apart
  followed by one 1,000 EUR outflow are two pass-throughs. This is the simple, exact definition;
  it over-counts rapidly repeated inflows (worth knowing when setting ``min_count``).

Windows: each pass-through inflow at ``t`` ends a window ``(t - window, t]`` of the pass-through
inflows of its focus (the convention of :mod:`.windows`; tied inflows share one window).
``count`` is the number of pass-through inflows in it, ``in_amount`` / ``out_amount`` their sums,
``ratio`` = ``out_amount / in_amount``, ``delay`` the longest of their delays in seconds,
``inflows`` all inflows (over ``min_amount``) of the focus in the window and ``pass_share`` =
``count / inflows``: near 1 for a conduit account, low for a busy one that only sometimes pays
out soon after money arrives.
``start`` is the first of those inflows and ``end`` the latest of their completing outflows, so
that a period holds the evidence of its pass-throughs.

Performance: sorted per-focus sweeps only. Outflows are summed per (focus, timestamp) and
cumulated; each inflow finds the cumulated outflow just before it (``join_asof`` backward) and
then the first cumulated outflow reaching its target (``join_asof`` forward on the cumulative
sum, monotone within a focus). No equality-plus-time-range join, so a hub with 100k transfers
costs ``O(n log n)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar

import polars as pl

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
    COUNTERPARTY_ACCOUNT,
    END,
    FOCUS,
    FOCUS_ACCOUNT,
    ORDER,
    START,
    count,
    focus_rows,
    param,
    rolling_by_focus,
    total,
)
from finintel.yamlpos import format_duration

__all__ = ["PassThrough"]

#: Slack when comparing ``min_ratio * cents`` with whole cents (float products such as
#: ``0.9 * 480000`` may land a hair above the exact value).
_EPS = 1e-6
_ONE_US = timedelta(microseconds=1)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _percent(x: float) -> str:
    return f"{x * 100:.0f}%"


class PassThrough:
    """Money in and out of one account (or party) within a delay and an amount ratio."""

    kind: ClassVar[str] = "pass_through"
    doc: ClassVar[str] = (
        "Money in, then out again within max_delay carrying at least min_ratio of it "
        "(mule / transit accounts), min_count times within a rolling window."
    )
    focus_role: ClassVar[str] = "mule"
    group_by: ClassVar[tuple[str, ...]] = GROUP_BY
    params: ClassVar[Mapping[str, ParamSpec]] = {
        "max_delay": ParamSpec(
            "duration",
            "24h",
            doc="longest time from an inflow to the outflow that completes min_ratio of it",
            minimum=0,
        ),
        "min_ratio": ParamSpec(
            "number",
            0.9,
            doc="share of the inflow that must leave within max_delay (0..1)",
            minimum=0,
        ),
        "fee_tolerance": ParamSpec(
            "number",
            0.1,
            doc="outflows up to (1 + fee_tolerance) x the inflow count as it is; more is capped",
            minimum=0,
        ),
        "min_amount": ParamSpec(
            "number", 0.0, doc="smallest inflow considered (base currency)", minimum=0
        ),
        "min_count": ParamSpec(
            "int", 1, doc="pass-through inflows needed within the window", minimum=1
        ),
        "window": ParamSpec(
            "duration",
            "30d",
            doc="rolling window in which min_count pass-throughs are counted",
            minimum=1,
        ),
        "max_ratio": ParamSpec(
            "number",
            None,
            doc="if set, an inflow counts only when the outflows that complete it carry at most "
            "this multiple of it (a busy account paying out far more is not passing this money on)",
            minimum=0,
        ),
    }

    def metrics(self, params: Mapping[str, Any]) -> Mapping[str, pl.DataType]:
        return {
            "in_amount": pl.Float64(),
            "out_amount": pl.Float64(),
            "ratio": pl.Float64(),
            "delay": pl.Float64(),
            "count": pl.Int64(),
            "inflows": pl.Int64(),
            "pass_share": pl.Float64(),
        }

    def lookback(self, params: Mapping[str, Any]) -> timedelta:
        # A new outflow can complete an inflow max_delay earlier, whose window reaches back.
        p = _Params(params)
        return p.window + p.max_delay

    def condition(self, params: Mapping[str, Any]) -> pl.Expr:
        p = _Params(params)
        return (
            (pl.col("count") >= p.min_count)
            & (pl.col("ratio") >= p.min_ratio)
            & (pl.col("delay") <= p.max_delay.total_seconds())
        )

    def thresholds(self, params: Mapping[str, Any]) -> list[Threshold]:
        p = _Params(params)
        # The first threshold picks the peak window of a period (engine.merge_periods).
        out = [
            Threshold("count", ">=", p.min_count, "pass-throughs"),
            Threshold("ratio", ">=", p.min_ratio, "passed on"),
            Threshold("delay", "<=", p.max_delay.total_seconds(), "delay"),
        ]
        if p.min_amount > 0:
            out.append(Threshold("in_amount", ">=", p.min_amount, "amount in"))
        return out

    def explain(
        self,
        metrics: Mapping[str, Any],
        params: Mapping[str, Any],
        span: timedelta,
        amount: float,
        currency: str,
    ) -> str:
        """``"92% of 4,800 EUR passed on within 6h (≥ 90% within 24h), 3 times (≥ 1) in 30d"``."""
        p = _Params(params)
        in_amount = metrics.get("in_amount")
        count = int(metrics.get("count") or 0)
        delay = timedelta(seconds=float(metrics.get("delay") or 0.0))
        return (
            f"{_percent(float(metrics.get('ratio') or 0.0))} of "
            f"{format_amount(float(amount if in_amount is None else in_amount), currency)} "
            f"passed on within {format_duration(delay)} "
            f"(≥ {_percent(p.min_ratio)} within {format_duration(p.max_delay)}), "
            f"{_plural(count, 'time')} (≥ {p.min_count}) in {format_duration(p.window)}"
        )

    def plan(self, transfers: pl.LazyFrame, params: Mapping[str, Any], ctx: RunContext) -> Plan:
        p = _Params(params)
        keep = [FOCUS, "ts", "tx_id", "source", FOCUS_ACCOUNT, COUNTERPARTY_ACCOUNT, "amount_base"]

        def side(name: str) -> pl.LazyFrame:
            return (
                focus_rows(transfers, name, ctx.group_by)
                .filter(
                    pl.col("amount_base").is_not_null()
                    & (pl.col(COUNTERPARTY).is_null() | (pl.col(COUNTERPARTY) != pl.col(FOCUS)))
                )
                .select(*keep, (pl.col("amount_base") * 100).round().cast(pl.Int64).alias("_cents"))
                # foci as categories (integer codes) for the group-bys, windows and as-of
                # joins by focus below: about twice as fast as by text; text again in the hits
                .with_columns(pl.col(FOCUS).cast(pl.Categorical))
            )

        # Every as-of join below matches by focus on frames sorted by their time (or running
        # total) alone: sorted overall, they are sorted within each focus, and an integer sort
        # costs a fraction of one by (focus, ts).
        inflows = side("in").filter(
            (pl.col("amount_base") >= p.min_amount) & (pl.col("_cents") > 0)
        )
        outflows = side("out")
        # Outflows per (focus, ts) with their running total.
        out_cum = (
            outflows.group_by(FOCUS, "ts")
            .agg(pl.col("_cents").sum().alias("_out"))
            .sort("ts")
            .select(FOCUS, "ts", pl.col("_out").cum_sum().over(FOCUS).alias("_cum"))
        )
        need = (
            (pl.col("_cents").cast(pl.Float64) * p.min_ratio - _EPS)
            .ceil()
            .cast(pl.Int64)
            .clip(lower_bound=1)
        )
        # What left the focus strictly before each inflow (asof at ts - 1us) ...
        before = (
            inflows.with_columns((pl.col("ts") - _ONE_US).alias("_before_ts"))
            .sort("_before_ts")
            .join_asof(
                out_cum.rename({"ts": "_before_ts", "_cum": "_before"}),
                on="_before_ts",
                by=FOCUS,
                strategy="backward",
                check_sortedness=False,
            )
            .with_columns(pl.col("_before").fill_null(0))
            .with_columns((pl.col("_before") + need).alias("_target"))
        )
        # ... then the first running total reaching before + need (forward asof on the total;
        # a stable sort keeps equal totals in time order, the earliest first).
        done = (
            before.sort("_target")
            .join_asof(
                out_cum.sort("_cum", maintain_order=True).select(
                    FOCUS,
                    pl.col("ts").alias("_done_ts"),
                    pl.col("_cum").alias("_target"),
                    pl.col("_cum").alias("_done_cum"),
                ),
                on="_target",
                by=FOCUS,
                strategy="forward",
                check_sortedness=False,
            )
            .filter(
                pl.col("_done_ts").is_not_null()
                & (pl.col("_done_ts") <= pl.col("ts") + p.max_delay)
            )
        )
        raw = pl.col("_done_cum") - pl.col("_before")
        if p.max_ratio is not None:
            done = done.filter(
                raw.cast(pl.Float64) <= pl.col("_cents").cast(pl.Float64) * p.max_ratio
            )
        capped = (
            pl.when(
                raw.cast(pl.Float64) <= pl.col("_cents").cast(pl.Float64) * (1 + p.fee_tolerance)
            )
            .then(raw)
            .otherwise(pl.col("_cents"))
        )
        # All inflows (over min_amount) of the focus in the window ending at each inflow, so that
        # pass_share tells a conduit (most inflows pass straight on) from a busy account.
        in_cum = (
            inflows.group_by(FOCUS, "ts")
            .agg(pl.len().cast(pl.Int64).alias("_n"))
            .sort("ts")
            .select(FOCUS, "ts", pl.col("_n").cum_sum().over(FOCUS).alias("_cum_in"))
        )
        done = (
            done.sort("ts")
            .join_asof(in_cum, on="ts", by=FOCUS, strategy="backward", check_sortedness=False)
            .with_columns((pl.col("ts") - p.window).alias("_from"))
            .sort("_from")
            .join_asof(
                in_cum.rename({"ts": "_from", "_cum_in": "_cum_before"}),
                on="_from",
                by=FOCUS,
                strategy="backward",
                check_sortedness=False,
            )
            .with_columns((pl.col("_cum_in") - pl.col("_cum_before").fill_null(0)).alias("_all_in"))
        )
        hits = (
            done.select(
                *keep,
                "_all_in",
                "_done_ts",
                (pl.col("_cents") / 100).alias("_in"),
                (capped / 100).alias("_out"),
                ((pl.col("_done_ts") - pl.col("ts")).dt.total_microseconds() / 1e6).alias("_delay"),
            )
            .with_columns(pl.col(FOCUS).cast(pl.String))
            .sort(*ORDER)
        )
        # read once: the windows and the evidence both start from the matched inflows (as two
        # lazy plans each would redo the matching: two thirds of the rule's time)
        hits = hits.collect().lazy()
        windows = rolling_by_focus(
            hits,
            p.window,
            {
                "in_amount": total("_in"),
                "out_amount": total("_out"),
                "delay": pl.col("_delay").max(),
                "count": count(),
                "inflows": pl.col("_all_in").last(),  # rows are in time order: the one at t
                "_end": pl.col("_done_ts").max(),
            },
            presorted=True,
        ).select(
            FOCUS,
            START,
            pl.col("_end").alias(END),
            "in_amount",
            "out_amount",
            (pl.col("out_amount") / pl.col("in_amount")).alias("ratio"),
            "delay",
            "count",
            "inflows",
            (pl.col("count") / pl.col("inflows")).alias("pass_share"),
        )
        # An outflow is evidence when a pass-through inflow at or before it completes at or
        # after it: with the latest completion so far per focus, one backward asof.
        cover = (
            hits.group_by(FOCUS, "ts")
            .agg(pl.col("_done_ts").max())
            .sort("ts")
            .select(
                pl.col(FOCUS).cast(pl.Categorical),  # as the outflows'
                "ts",
                pl.col("_done_ts").cum_max().over(FOCUS).alias("_cover"),
            )
        )
        used_out = (
            outflows.join(cover.select(FOCUS).unique(), on=FOCUS, how="semi")
            .sort("ts")
            .join_asof(cover, on="ts", by=FOCUS, strategy="backward", check_sortedness=False)
            .filter(pl.col("_cover") >= pl.col("ts"))
            .select(*keep)
            .with_columns(pl.col(FOCUS).cast(pl.String))
        )
        return Plan(
            windows=windows,
            evidence=pl.concat(
                [
                    *_evidence(hits.select(*keep), "source", ctx.group_by),
                    *_evidence(used_out, "destination", ctx.group_by),
                ]
            ).sort(*ORDER, "role", "account", nulls_last=True),
        )


def _evidence(frame: pl.LazyFrame, role: str, group_by: str) -> list[pl.LazyFrame]:
    """Counterparty rows with ``role``; grouping by party, the party's own account as mule."""
    cols = (FOCUS, "ts", "tx_id", "source")
    out = [
        frame.select(
            *cols,
            pl.col(COUNTERPARTY_ACCOUNT).alias("account"),
            pl.lit(role, dtype=pl.String).alias("role"),
            pl.col("amount_base").cast(pl.Float64),
        )
    ]
    if group_by == "party":
        out.append(
            frame.select(
                *cols,
                pl.col(FOCUS_ACCOUNT).alias("account"),
                pl.lit(PassThrough.focus_role, dtype=pl.String).alias("role"),
                pl.col("amount_base").cast(pl.Float64),
            )
        )
    return out


class _Params:
    """The parameters of one rule, defaults filled in, durations as timedelta."""

    def __init__(self, params: Mapping[str, Any]) -> None:
        def get(name: str) -> Any:
            return param(params, PassThrough.params, name, PassThrough.kind)

        self.max_delay: timedelta = get("max_delay")
        self.min_ratio = float(get("min_ratio"))
        self.fee_tolerance = float(get("fee_tolerance"))
        self.min_amount = float(get("min_amount"))
        self.min_count = int(get("min_count"))
        self.window: timedelta = get("window")
        ratio = get("max_ratio")
        self.max_ratio: float | None = None if ratio is None else float(ratio)


PASS_THROUGH = register(PassThrough())
