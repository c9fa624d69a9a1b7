"""``bipartite``: a group of ≥ A senders that each paid every one of ≥ B receivers in a window.

Blocks come from :func:`finintel.graph.motifs.bipartite`: every ``min_receivers``-subset of a
sender's receivers is grouped with the senders that paid all of it, subsets sharing their
sender set are united, and a block is kept for each window ``[t, t + window)`` (``t`` one of
its transfers' times) that holds a transfer for every (sender, receiver) pair. The focus is
``bip:S1,S2,...>R1,R2,...`` (sorted accounts), so one block gives one alert per period.
Limitation: the candidates are blocks of the whole scoped graph; a block that exists only
inside a window but not as a maximal block of the whole graph is found through its
``min_receivers``-subsets (the union step may then report it with fewer receivers). A sender with ``d``
receivers gives up to ``C(d, min_receivers)`` subsets, so accounts with more than
``max_fanout`` (default 50) distinct receivers or senders are left out (and counted in
``skipped_accounts``), besides ``max_degree`` and ``exclude``; subsets paid by fewer than
``min_senders`` senders are pruned at every step (Apriori). The search splits in two for a
sharded engine: :meth:`Bipartite.blocks` (from the distinct pairs of all the data) and
:meth:`Bipartite.check` (the windows of given blocks in a slice of time).

Metrics: ``n_senders``, ``n_receivers``, ``n_transfers``, ``amount``, ``span_seconds``,
``skipped_accounts``. Trigger: ``n_senders >= min_senders`` and ``n_receivers >=
min_receivers``. Evidence roles: ``sender``, ``receiver``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar

import polars as pl

from finintel.graph import motifs
from finintel.graph.tgraph import TGraph, build
from finintel.typology.primitives.base import ParamSpec, Threshold, format_amount, register
from finintel.typology.primitives.cycle import GRAPH_PARAMS, GraphKind, sort_evidence, us
from finintel.typology.primitives.scatter_gather import row_evidence
from finintel.typology.primitives.windows import END, FOCUS, START, fmt_number

__all__ = ["Bipartite"]


class Bipartite(GraphKind):
    """Every one of ≥ A senders pays every one of ≥ B receivers within a window."""

    kind: ClassVar[str] = "bipartite"
    doc: ClassVar[str] = (
        "A group of ≥ min_senders accounts each paying every one of ≥ min_receivers accounts "
        "within a window."
    )
    focus_role: ClassVar[str] = "group"
    params: ClassVar[Mapping[str, ParamSpec]] = {
        **{k: v for k, v in GRAPH_PARAMS.items() if k not in ("min_hop_delay", "amount_tolerance")},
        "min_senders": ParamSpec("int", 3, doc="senders in the group", minimum=2),
        "min_receivers": ParamSpec("int", 3, doc="receivers in the group", minimum=2),
        "max_fanout": ParamSpec(
            "int", 50,
            doc="accounts paying more distinct receivers, or paid by more distinct senders, are "
            "left out (payroll, billers: their receiver subsets would explode)",
            minimum=2,
        ),
    }  # fmt: skip

    def graph(self, base: TGraph, transfers: pl.DataFrame, params: Mapping[str, Any]) -> TGraph:
        """A view of ``base`` without accounts over ``max_fanout`` distinct counterparties on
        one side (nor those over ``max_degree`` or in ``exclude``)."""
        pairs = transfers.select("src_account", "dst_account").unique().drop_nulls()
        extra = self.wide(pairs, params).to_list()
        excluded = [str(a) for a in self._p(params, "exclude") or ()]
        degree = self._p(params, "max_degree")
        return base.capped(None if degree is None else int(degree), sorted({*excluded, *extra}))

    def wide(self, pairs: pl.DataFrame, params: Mapping[str, Any]) -> pl.Series:
        """The accounts over ``max_fanout`` distinct receivers or senders in the distinct
        (``src_account``, ``dst_account``) ``pairs`` of the scoped transfers (sorted)."""
        cap = int(self._p(params, "max_fanout"))
        wide = pl.concat(
            [
                pairs.group_by(pl.col("src_account").alias("a")).len(),
                pairs.group_by(pl.col("dst_account").alias("a")).len(),
            ]
        ).filter(pl.col("len") > cap)
        return wide.get_column("a").unique().sort()

    def blocks(self, pairs: pl.DataFrame, params: Mapping[str, Any]) -> pl.DataFrame:
        """Phase one of a split search: the candidate blocks (``S``, ``R``: sorted account
        lists) of the distinct (``s``, ``r``) account pairs of the capped graph — the blocks
        :meth:`search` checks, named by account text."""
        accounts = pl.concat([pairs.get_column("s"), pairs.get_column("r")]).unique().sort()
        ids = pl.DataFrame({"a": accounts, "id": pl.int_range(accounts.len(), eager=True)})
        found = motifs.bipartite_blocks(
            pairs.join(ids.rename({"a": "s", "id": "_s"}), on="s")
            .join(ids.rename({"a": "r", "id": "_r"}), on="r")
            .select(pl.col("_s").alias("s"), pl.col("_r").alias("r")),
            min_senders=int(self._p(params, "min_senders")),
            min_receivers=int(self._p(params, "min_receivers")),
        )
        return found.select(
            *[pl.col(c).list.eval(pl.element().replace_strict(ids["id"], ids["a"])) for c in "SR"]
        )

    def check(
        self,
        transfers: pl.DataFrame,
        blocks: pl.DataFrame,
        params: Mapping[str, Any],
        since: int,
        until: int,
    ) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Phase two: the windows (and their evidence) of the given ``blocks`` (from
        :meth:`blocks`) in scoped ``transfers``, for the windows starting in ``[since,
        until)`` (µs). A window holds the transfers in ``[start, start + window)``, so
        ``transfers`` must cover ``[since, until + window)``; ``skipped_accounts`` is 0."""
        g = build(transfers)
        ids = pl.DataFrame({"a": g.accounts, "id": pl.int_range(g.n_nodes, eager=True)})
        named = blocks.with_row_index("_k").explode("S").explode("R")
        cells = named.join(ids.rename({"a": "S", "id": "s"}), on="S", how="left").join(
            ids.rename({"a": "R", "id": "r"}), on="R", how="left"
        )
        present = cells.group_by("_k").agg(
            (pl.col("s").null_count() + pl.col("r").null_count() == 0).alias("_all"),
            pl.col("s").unique().sort().alias("S"),
            pl.col("r").unique().sort().alias("R"),
        )  # a block with an account absent here has no full window here
        given = present.filter("_all").sort("_k").select("S", "R")
        found = motifs.bipartite_windows(g, given, window_us=us(self._p(params, "window")))
        found = found.filter((pl.col("start") >= since) & (pl.col("start") < until))
        windows, evidence = self._result(g, found)
        return self.shape(windows, params, 0), sort_evidence(evidence)

    def kind_metrics(self, params: Mapping[str, Any]) -> dict[str, pl.DataType]:
        return {
            "n_senders": pl.Int64(),
            "n_receivers": pl.Int64(),
            "n_transfers": pl.Int64(),
            "amount": pl.Float64(),
            "span_seconds": pl.Float64(),
        }

    def search(self, g: TGraph, params: Mapping[str, Any]) -> tuple[pl.DataFrame, pl.DataFrame]:
        found = motifs.bipartite(
            g,
            window_us=us(self._p(params, "window")),
            min_senders=int(self._p(params, "min_senders")),
            min_receivers=int(self._p(params, "min_receivers")),
        )
        return self._result(g, found)

    def _result(self, g: TGraph, found: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Windows and evidence of :func:`~finintel.graph.motifs.bipartite` rows."""
        focus = (
            "bip:"
            + motifs.path_labels(g, found.get_column("senders"), ",")
            + ">"
            + motifs.path_labels(g, found.get_column("receivers"), ",")
        ).rename(FOCUS)
        windows = found.select(
            pl.Series(FOCUS, focus, dtype=pl.String),
            pl.col("start").alias(START),
            pl.col("end").alias(END),
            pl.col("senders").list.len().cast(pl.Int64).alias("n_senders"),
            pl.col("receivers").list.len().cast(pl.Int64).alias("n_receivers"),
            "n_transfers",
            "amount",
            ((pl.col("end") - pl.col("start")) / 1e6).alias("span_seconds"),
        )
        rows = (
            pl.DataFrame({FOCUS: focus, "e": found.get_column("edges")})
            .explode("e")
            .join(g.edges.select("e", "u", "v"), on="e")
        )
        evidence = pl.concat(
            [
                row_evidence(g, rows.get_column(FOCUS), rows.get_column("e"), rows["u"], "sender"),
                row_evidence(
                    g, rows.get_column(FOCUS), rows.get_column("e"), rows["v"], "receiver"
                ),
            ]
        )
        return windows, evidence

    def condition(self, params: Mapping[str, Any]) -> pl.Expr:
        return (pl.col("n_senders") >= int(self._p(params, "min_senders"))) & (
            pl.col("n_receivers") >= int(self._p(params, "min_receivers"))
        )

    def thresholds(self, params: Mapping[str, Any]) -> list[Threshold]:
        return [
            Threshold("n_senders", ">=", float(self._p(params, "min_senders")), "senders"),
            Threshold("n_receivers", ">=", float(self._p(params, "min_receivers")), "receivers"),
        ]

    def explain(
        self,
        metrics: Mapping[str, Any],
        params: Mapping[str, Any],
        span: timedelta,
        amount: float,
        currency: str,
    ) -> str:
        """``"4 senders (≥ 3) each paid all of 3 receivers (≥ 3) within 2d (< 30d), ..."``."""
        return (
            f"{fmt_number(metrics.get('n_senders'))} senders "
            f"(≥ {fmt_number(self._p(params, 'min_senders'))}) each paid all of "
            f"{fmt_number(metrics.get('n_receivers'))} receivers "
            f"(≥ {fmt_number(self._p(params, 'min_receivers'))}) "
            f"{self.span_text(span, params)}, {format_amount(amount, currency)}"
        )


BIPARTITE = register(Bipartite())
