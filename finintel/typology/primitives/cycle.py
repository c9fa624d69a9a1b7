"""``cycle``: money going round a ring of accounts (round-tripping, circular invoicing).

Also home of :class:`GraphKind`, the shared frame of the graph kinds (``cycle``,
``scatter_gather``, ``gather_scatter``, ``layering_chain``): their plans take the
:class:`~finintel.graph.tgraph.TGraph` of the rule's scoped transfers and run a motif search of
:mod:`finintel.graph.motifs` inside a lazy ``map_batches`` node (computed once per plan for both
``windows`` and ``evidence``).

Parameters every graph kind shares: ``window`` (an instance's last transfer is less than
``window`` after its first), ``min_hop_delay`` (default 0: equal timestamps are in order, so
date-only data works), ``amount_tolerance`` (hop-to-hop, ``None`` = not checked),
``max_degree`` (default 2000 transfers in + out within the rule's scope) and ``exclude`` (hub
accounts left out of the search, so that a clearing account cannot blow it up; how many were
left out is the ``skipped_accounts`` metric of every window).

Cycle instances: simple cycles of ``min_length..max_length`` transfers inside the window.
``order: temporal`` (default) demands every hop in order after the previous one (the same money
going round); ``order: any`` takes rings whatever the order of their hops. The focus is the
rotation-normalised account sequence, ``cycle:A>B>C`` (smallest account first, in the direction
money flows), so repeated round trips over one ring that overlap in time become one alert per
period. Evidence: the cycle's transfers; with ``order: temporal`` the first sender is the
``source`` (money returns to it) and the others ``intermediary``; with ``order: any`` every
account is a ``member``. Metrics: ``length``, ``span_seconds``, ``amount`` (sum of the hops),
``amount_min``, ``amount_max``, ``min_max_ratio`` (``amount_min / amount_max``),
``flow_share_min`` / ``flow_share_max`` (the lowest / highest share of a member's turnover, from
``window`` before the cycle to ``window`` after it, that the cycle's transfers are: near 1 for a
conduit, small for a trading company; :func:`finintel.graph.motifs.flow_shares`),
``skipped_accounts``.

The graph of a rule's scoped transfers is built once per run for all the graph rules on the same
transfers (``RunContext.graphs``, keyed by a hash of the transfers); each rule's caps are a view
of it (:meth:`~finintel.graph.tgraph.TGraph.capped`).
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, ClassVar

import polars as pl

from finintel.errors import FinintelError
from finintel.graph import motifs
from finintel.graph.tgraph import TGraph, build
from finintel.typology.primitives.base import (
    EVIDENCE_SCHEMA,
    ParamSpec,
    Plan,
    RunContext,
    Threshold,
    format_amount,
    register,
)
from finintel.typology.primitives.windows import END, FOCUS, START, fmt_number, param, param_error
from finintel.yamlpos import format_duration

__all__ = [
    "GRAPH_PARAMS",
    "Cycle",
    "GraphKind",
    "edge_sum",
    "instance_evidence",
    "sort_evidence",
    "tolerance_text",
    "us",
]

_COLUMNS = ("tx_id", "ts", "src_account", "dst_account", "amount_base", "source")
_TS = pl.Datetime("us", "UTC")

#: Parameters every graph kind takes.
GRAPH_PARAMS: dict[str, ParamSpec] = {
    "window": ParamSpec(
        "duration", "30d", doc="an instance's last transfer is less than this after its first",
        minimum=1,
    ),
    "min_hop_delay": ParamSpec(
        "duration", "0s",
        doc="a hop is in order when at least this after the previous one (0: ties are in order)",
        minimum=0,
    ),
    "amount_tolerance": ParamSpec(
        "number", None,
        doc="each hop's amount within this share of the previous hop's (fees); unset: any",
        minimum=0,
    ),
    "max_degree": ParamSpec(
        "int", 2000,
        doc="accounts with more transfers (in + out, in the rule's scope) are left out of the "
        "search (clearing accounts, payment processors)",
        minimum=1,
    ),
    "exclude": ParamSpec("strings", (), doc="accounts left out of the search"),
}  # fmt: skip


def us(delta: timedelta) -> int:
    """A duration in whole microseconds."""
    return delta // timedelta(microseconds=1)


def _ts(col: str) -> pl.Expr:
    return pl.col(col).cast(_TS)


def instance_evidence(
    g: TGraph,
    focus: pl.Series,
    edges: pl.Series,
    roles: Callable[[pl.Expr, pl.Expr], tuple[pl.Expr, pl.Expr]],
) -> pl.DataFrame:
    """Evidence rows of motif instances: for each edge of ``edges[i]`` (focus ``focus[i]``) a
    row for its sender and one for its receiver. ``roles(pos, n)`` gives the sender's and the
    receiver's role from the edge's position in the instance and the instance's length
    (unsorted: :meth:`GraphKind.compute` sorts the evidence it keeps)."""
    if focus.len() == 0:
        return pl.DataFrame(schema=EVIDENCE_SCHEMA)
    # Position of each edge inside its instance (instances are exploded in list order).
    x = (
        pl.DataFrame({"focus": focus, "e": edges})
        .with_row_index("_i")
        .with_columns(pl.col("e").list.len().alias("_n"))
        .explode("e")
        .with_columns(pl.int_range(pl.len()).over("_i").alias("_p"))
        .join(g.edges, on="e")
    )
    src_role, dst_role = roles(pl.col("_p"), pl.col("_n"))
    names = g.accounts
    x = x.with_columns(
        names.gather(x.get_column("u")).alias("_su"), names.gather(x.get_column("v")).alias("_sv")
    )
    cols = (pl.col("focus"), _ts("ts"), pl.col("tx_id"), pl.col("source"))
    return pl.concat(
        [
            x.select(*cols, pl.col("_su").alias("account"), src_role.alias("role"), "amount_base"),
            x.select(*cols, pl.col("_sv").alias("account"), dst_role.alias("role"), "amount_base"),
        ]
    )


def edge_sum(g: TGraph, edges: pl.Series) -> pl.Series:
    """``amount_base`` summed over each list of edge positions."""
    if edges.len() == 0:
        return pl.Series("amount", [], dtype=pl.Float64)
    amounts = g.edges.get_column("amount_base")
    x = edges.rename("e").to_frame().with_row_index("_i").explode("e")
    return (
        x.with_columns(amounts.gather(x.get_column("e")).alias("_a"))
        .group_by("_i")
        .agg(pl.col("_a").sum())
        .sort("_i")
        .get_column("_a")
        .rename("amount")
    )


def sort_evidence(frame: pl.DataFrame) -> pl.DataFrame:
    """Evidence rows cast to :data:`EVIDENCE_SCHEMA`, distinct, in a stable order."""
    return (
        frame.select([pl.col(c).cast(t) for c, t in EVIDENCE_SCHEMA.items()])
        .unique()
        .sort("focus", "ts", "tx_id", "source", "role", "account", nulls_last=True)
    )


class GraphKind(ABC):
    """Shared frame of the graph kinds: parameters, lazy plan, graph with degree caps."""

    kind: ClassVar[str]
    doc: ClassVar[str]
    focus_role: ClassVar[str]
    focus_kind: ClassVar[str] = "motif"
    group_by: ClassVar[tuple[str, ...]] = ("account",)
    params: ClassVar[Mapping[str, ParamSpec]]

    def _p(self, params: Mapping[str, Any], name: str) -> Any:
        return param(params, self.params, name, self.kind)

    def _opt_float(self, params: Mapping[str, Any], name: str) -> float | None:
        value = self._p(params, name)
        return None if value is None else float(value)

    def validate(self, params: Mapping[str, Any]) -> list[FinintelError]:
        """Checks across parameters (none by default)."""
        return []

    @abstractmethod
    def kind_metrics(self, params: Mapping[str, Any]) -> dict[str, pl.DataType]:
        """The kind's own metrics (``skipped_accounts`` is added to every kind)."""

    def metrics(self, params: Mapping[str, Any]) -> Mapping[str, pl.DataType]:
        return {**self.kind_metrics(params), "skipped_accounts": pl.Int64()}

    def lookback(self, params: Mapping[str, Any]) -> timedelta:
        window: timedelta = self._p(params, "window")
        return window

    def graph(self, base: TGraph, transfers: pl.DataFrame, params: Mapping[str, Any]) -> TGraph:
        """The transaction graph ``base`` of ``transfers`` with the rule's degree cap and
        exclusions (a view: ``base`` is shared by the rules on the same transfers)."""
        cap = self._p(params, "max_degree")
        return base.capped(
            None if cap is None else int(cap), [str(a) for a in self._p(params, "exclude") or ()]
        )

    @abstractmethod
    def condition(self, params: Mapping[str, Any]) -> pl.Expr:
        """What a window must meet to be kept (the rule's ``having`` comes on top)."""

    @abstractmethod
    def search(self, g: TGraph, params: Mapping[str, Any]) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Windows (focus, start, end, kind metrics) and evidence (:data:`EVIDENCE_SCHEMA`,
        unsorted) of the kind on ``g``."""

    def compute(
        self,
        transfers: pl.DataFrame,
        params: Mapping[str, Any],
        base: TGraph | None = None,
        *,
        alerting_only: bool = False,
    ) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Windows and evidence (eagerly) for collected scoped transfers (``base``: their
        graph, when already built). ``alerting_only``: evidence only of the foci with a window
        meeting the kind's condition (no other focus can have an alert when ``transfers`` are
        all the run's; a time chunk must keep all, an instance crossing into the next chunk
        brings evidence to that chunk's alerts)."""
        g = self.graph(base if base is not None else build(transfers), transfers, params)
        windows, evidence = self.search(g, params)
        windows = self.shape(windows, params, len(g.skipped))
        if alerting_only:
            alerting = windows.filter(self.condition(params).fill_null(False)).get_column(FOCUS)
            evidence = evidence.filter(pl.col(FOCUS).is_in(alerting.unique().implode()))
        return windows, sort_evidence(evidence)

    def shape(self, windows: pl.DataFrame, params: Mapping[str, Any], skipped: int) -> pl.DataFrame:
        """Search windows as the plan's windows: ``skipped_accounts`` set, typed, sorted."""
        schema = {FOCUS: pl.String(), START: _TS, END: _TS, **self.metrics(params)}
        windows = windows.with_columns(pl.lit(skipped, dtype=pl.Int64).alias("skipped_accounts"))
        return windows.select([pl.col(c).cast(t) for c, t in schema.items()]).sort(
            FOCUS, START, END
        )

    def plan(self, transfers: pl.LazyFrame, params: Mapping[str, Any], ctx: RunContext) -> Plan:
        source = transfers.select(*_COLUMNS)
        lock = threading.Lock()
        memo: dict[int, tuple[pl.DataFrame, pl.DataFrame]] = {}

        def run(df: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
            key = hash((df.height, int(df.hash_rows().sum()))) if df.height else 0
            with lock:
                if key not in memo:
                    memo.clear()
                    graphs = ctx.graphs
                    base = None if graphs is None else graphs.get(key, lambda: build(df))
                    memo[key] = self.compute(df, params, base, alerting_only=ctx.complete)
                return memo[key]

        w_schema = {FOCUS: pl.String(), START: _TS, END: _TS, **self.metrics(params)}
        return Plan(
            windows=source.map_batches(lambda df: run(df)[0], schema=w_schema),
            evidence=source.map_batches(lambda df: run(df)[1], schema=EVIDENCE_SCHEMA),
        )

    def skipped(self, transfers: pl.LazyFrame, params: Mapping[str, Any]) -> pl.LazyFrame:
        """The accounts the search leaves out (``account``, ``degree``): over ``max_degree``
        transfers in the rule's scope, or excluded — for the run summary (hubs are reported,
        never silently dropped). The same definition as :func:`finintel.graph.tgraph.build`."""
        cap = self._p(params, "max_degree")
        excluded = sorted(str(a) for a in self._p(params, "exclude") or ())
        frame = transfers.filter(
            pl.col("src_account").is_not_null()
            & pl.col("dst_account").is_not_null()
            & (pl.col("src_account") != pl.col("dst_account"))
        )
        sides = pl.concat(
            [
                frame.select(account=pl.col("src_account").cast(pl.String)),
                frame.select(account=pl.col("dst_account").cast(pl.String)),
            ]
        )
        wanted = pl.col("account").is_in(excluded)
        if cap is not None:
            # counted by 64-bit hash first: a store's tens of millions of account names in one
            # hash table took 19 GB at 100M transfers. A hash over the cap may stand for two
            # accounts, so the accounts behind those few hashes are counted again by name.
            key = pl.col("account").hash(seed=0).alias("_h")
            busy = (
                sides.group_by(key)
                .agg(pl.len().alias("_n"))
                .filter(pl.col("_n") > int(cap))
                .select("_h", pl.lit(True).alias("_busy"))
            )
            sides = sides.with_columns(key).join(busy, on="_h", how="left")
            wanted = wanted | pl.col("_busy").is_not_null()
        degree = (
            sides.filter(wanted).group_by("account").agg(pl.len().cast(pl.Int64).alias("degree"))
        )
        over = pl.col("degree") > int(cap) if cap is not None else pl.lit(False)
        return degree.filter(pl.col("account").is_in(excluded) | over).sort("account")

    def span_text(self, span: timedelta, params: Mapping[str, Any]) -> str:
        """``"within 2d 4h (< 7d)"``."""
        window: timedelta = self._p(params, "window")
        return f"within {format_duration(span)} (< {format_duration(window)})"


def tolerance_text(metrics: Mapping[str, Any], tol: float | None) -> str:
    """``", amounts within 3% (≤ 5%)"`` (empty without a ratio)."""
    ratio = metrics.get("min_max_ratio")
    if ratio is None:
        return ""
    spread = (1 - float(ratio)) * 100
    limit = f" (tolerance {tol * 100:.0f}% per hop)" if tol is not None else ""
    return f", amounts within {spread:.0f}%{limit}"


class Cycle(GraphKind):
    """Simple cycles of transfers within a window (round-tripping, rings)."""

    kind: ClassVar[str] = "cycle"
    doc: ClassVar[str] = (
        "Simple cycles of 2..max_length transfers within a window; order: temporal demands "
        "each hop after the previous one (round-tripping), order: any finds rings."
    )
    focus_role: ClassVar[str] = "ring"
    params: ClassVar[Mapping[str, ParamSpec]] = {
        **GRAPH_PARAMS,
        "min_length": ParamSpec("int", 2, doc="fewest transfers (accounts) in a cycle", minimum=2),
        "max_length": ParamSpec("int", 4, doc="most transfers (accounts) in a cycle", minimum=2),
        "order": ParamSpec(
            "string", "temporal", doc="temporal: hops in time order; any: any order",
            choices=motifs.ORDERS,
        ),
    }  # fmt: skip

    def validate(self, params: Mapping[str, Any]) -> list[FinintelError]:
        """``min_length <= max_length``."""
        lo, hi = int(self._p(params, "min_length")), int(self._p(params, "max_length"))
        if lo > hi:
            return [param_error(self.kind, "min_length", f"({lo}) exceeds max_length ({hi})")]
        return []

    def kind_metrics(self, params: Mapping[str, Any]) -> dict[str, pl.DataType]:
        return {
            "length": pl.Int64(),
            "span_seconds": pl.Float64(),
            "amount": pl.Float64(),
            "amount_min": pl.Float64(),
            "amount_max": pl.Float64(),
            "min_max_ratio": pl.Float64(),
            "flow_share_min": pl.Float64(),
            "flow_share_max": pl.Float64(),
        }

    def search(self, g: TGraph, params: Mapping[str, Any]) -> tuple[pl.DataFrame, pl.DataFrame]:
        order = str(self._p(params, "order"))
        found = motifs.cycles(
            g,
            window_us=us(self._p(params, "window")),
            min_length=int(self._p(params, "min_length")),
            max_length=int(self._p(params, "max_length")),
            order=order,
            min_hop_delay_us=us(self._p(params, "min_hop_delay")),
            amount_tolerance=self._opt_float(params, "amount_tolerance"),
        )
        focus = ("cycle:" + motifs.cycle_labels(g, found)).rename(FOCUS)
        shares = motifs.flow_shares(g, found, us(self._p(params, "window")))
        windows = pl.concat([found, shares], how="horizontal").select(
            pl.Series(FOCUS, focus, dtype=pl.String),
            _ts("start_ts").alias(START),
            _ts("end_ts").alias(END),
            pl.col("edges").list.len().cast(pl.Int64).alias("length"),
            ((pl.col("end_ts") - pl.col("start_ts")) / 1e6).alias("span_seconds"),
            edge_sum(g, found.get_column("edges")).alias("amount"),
            pl.col("a_min").alias("amount_min"),
            pl.col("a_max").alias("amount_max"),
            (pl.col("a_min") / pl.col("a_max")).alias("min_max_ratio"),
            pl.col("share_min").alias("flow_share_min"),
            pl.col("share_max").alias("flow_share_max"),
        )

        def roles(pos: pl.Expr, n: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
            if order == "any":
                member = pl.lit("member", dtype=pl.String)
                return member, member
            src = pl.when(pos == 0).then(pl.lit("source")).otherwise(pl.lit("intermediary"))
            dst = pl.when(pos == n - 1).then(pl.lit("source")).otherwise(pl.lit("intermediary"))
            return src, dst

        evidence = instance_evidence(g, focus, found.get_column("edges"), roles)
        return windows, evidence

    def condition(self, params: Mapping[str, Any]) -> pl.Expr:
        return pl.col("length") >= int(self._p(params, "min_length"))

    def thresholds(self, params: Mapping[str, Any]) -> list[Threshold]:
        return [Threshold("length", ">=", float(self._p(params, "min_length")), "accounts")]

    def explain(
        self,
        metrics: Mapping[str, Any],
        params: Mapping[str, Any],
        span: timedelta,
        amount: float,
        currency: str,
    ) -> str:
        """``"cycle of 3 accounts (2..4), hops in time order within 2d (< 7d), 3,000 EUR,
        amounts within 2%, 97% of a member's turnover"``."""
        order = str(self._p(params, "order"))
        how = "hops in time order" if order == "temporal" else "ring of payments"
        lo, hi = int(self._p(params, "min_length")), int(self._p(params, "max_length"))
        tol = self._opt_float(params, "amount_tolerance")
        share = metrics.get("flow_share_max")
        busy = "" if share is None else f", {float(share) * 100:.0f}% of a member's turnover"
        return (
            f"cycle of {fmt_number(metrics.get('length'))} accounts ({lo}..{hi}), {how} "
            f"{self.span_text(span, params)}, {format_amount(amount, currency)}"
            f"{tolerance_text(metrics, tol)}{busy}"
        )


CYCLE = register(Cycle())
