"""``finintel.detect``: run validated typologies over canonical transfers and build alerts.

For each rule the transfers are narrowed to its scope (channels, ``where``), its primitive plans
the candidate windows and the evidence, the windows meeting the primitive's thresholds and the
rule's ``having`` are kept, and the kept windows of one focus that overlap are merged into one
period. Each period becomes one alert: a busy hub gives one alert per period of activity, not one
per transaction. The transfers are read once, then each rule's plans are collected one rule at a
time (:func:`detect_at_once`), or chunk by chunk with ``time_chunks``
(:mod:`finintel.typology.chunked`).

An alert's id hashes the rule id, the focus and the start of its period, so an alert that grows
when later data arrives keeps its id.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import polars as pl

from finintel.frames import compacted
from finintel.graph.tgraph import GraphCache
from finintel.hashing import digest_text
from finintel.schema import ALERTS, MOVED_STATUS, ORGANISATION_ID_TYPES, PARTIES, RULE_COLUMNS
from finintel.typology.expr import compile_expr
from finintel.typology.primitives.base import (
    REGISTRY,
    STREAMED,
    Plan,
    Primitive,
    RunContext,
    Threshold,
)

#: The order of an alerts table.
ALERT_ORDER = ("typology", "focus", "first_ts", "alert_id")

SEVERITY_BASE = {"low": 0.3, "medium": 0.5, "high": 0.7, "critical": 0.85}


@dataclass
class Alerts:
    """Alerts (DESIGN §7) and the rules that produced them."""

    table: pl.DataFrame
    rules: list[dict[str, Any]] = field(default_factory=list)
    base_currency: str = "EUR"

    def __len__(self) -> int:
        return self.table.height

    def counts(self) -> dict[str, int]:
        """Alerts per typology (every rule listed, zero included)."""
        found = dict(self.table.group_by("typology").len().iter_rows())
        return {r["id"]: int(found.get(r["id"], 0)) for r in self.rules}


def _transfers(data: Any) -> tuple[pl.LazyFrame, pl.LazyFrame | None, str]:
    """Moved transfers (without the party kinds), parties and base currency."""
    if isinstance(data, pl.DataFrame | pl.LazyFrame):
        lf = data.lazy()
        if "status" in lf.collect_schema():
            lf = lf.filter(pl.col("status") == MOVED_STATUS)
        return lf, None, "EUR"
    if data.parties is None:  # party kinds already joined (a Spark shard)
        return data.transfers, None, str(data.base_currency)
    return data.transfers, data.parties.lazy(), str(data.base_currency)


def with_party_kinds(transfers: pl.LazyFrame, kinds: pl.LazyFrame | None) -> pl.LazyFrame:
    """Add ``src_party_kind`` / ``dst_party_kind`` from ``kinds`` (:func:`party_kinds`):
    ``organisation`` when the party's ID is a company register number (or LEI, VAT),
    ``person`` for another ID, null when unknown."""
    have = transfers.collect_schema()
    missing = [pl.lit(None, dtype=t).alias(c) for c, t in RULE_COLUMNS.items() if c not in have]
    transfers = transfers.with_columns(missing) if missing else transfers
    if kinds is None:
        return transfers
    for side in ("src", "dst"):
        transfers = transfers.drop(f"{side}_party_kind").join(
            kinds.rename({"party_id": f"{side}_party", "_kind": f"{side}_party_kind"}),
            on=f"{side}_party",
            how="left",
        )
    return transfers


def party_kinds(parties: pl.LazyFrame) -> pl.LazyFrame:
    """``party_id``, ``_kind`` (``organisation`` or ``person``) of the parties with an ID."""
    return (
        parties.filter(pl.col("id_type").is_not_null())
        .select(
            "party_id",
            pl.when(pl.col("id_type").str.to_uppercase().is_in(list(ORGANISATION_ID_TYPES)))
            .then(pl.lit("organisation"))
            .otherwise(pl.lit("person"))
            .alias("_kind"),
        )
        .group_by("party_id")
        .agg((pl.col("_kind") == "organisation").any().alias("_org"))  # any company ID wins
        .select(
            "party_id",
            pl.when(pl.col("_org"))
            .then(pl.lit("organisation"))
            .otherwise(pl.lit("person"))
            .alias("_kind"),
        )
    )


def _scope_filters(rule: Any, lists: Mapping[str, Sequence[object]]) -> list[pl.Expr]:
    """The filters of a rule's scope: its ``channels`` and its compiled ``where``."""
    out = [pl.col("channel").is_in(list(rule.channels))] if rule.channels else []
    if rule.where is not None:
        line, col = rule.where_pos
        out.append(
            compile_expr(rule.where, RULE_COLUMNS, lists, file=rule.file, line=line, col=col)
        )
    return out


def scope(
    rule: Any, transfers: pl.LazyFrame, lists: Mapping[str, Sequence[object]]
) -> pl.LazyFrame:
    """The transfers in a rule's scope (its ``channels`` and ``where``)."""
    filters = _scope_filters(rule, lists)
    return transfers.filter(*filters) if filters else transfers


def scope_columns(rule: Any, lists: Mapping[str, Sequence[object]]) -> set[str]:
    """The columns :func:`scope` reads for ``rule``."""
    return {name for f in _scope_filters(rule, lists) for name in f.meta.root_names()}


def reads_party_kinds(rule: Any, lists: Mapping[str, Sequence[object]]) -> bool:
    """Whether ``rule`` reads ``src_party_kind`` / ``dst_party_kind`` (in its scope or in an
    expression of its pattern): the others need no join with the parties' kinds."""
    if scope_columns(rule, lists) & {"src_party_kind", "dst_party_kind"}:
        return True
    params = rule.params_json() if hasattr(rule, "params_json") else rule.params
    return "party_kind" in json.dumps(params, default=str)


def kept_windows(
    rule: Any, prim: Primitive, windows: pl.LazyFrame, lists: Mapping[str, Sequence[object]]
) -> pl.LazyFrame:
    """The windows meeting the kind's condition and the rule's ``having``."""
    cond = prim.condition(rule.params)
    if rule.having is not None:
        line, col = rule.having_pos
        cond = cond & compile_expr(
            rule.having, prim.metrics(rule.params), lists, file=rule.file, line=line, col=col
        )
    return windows.filter(cond.fill_null(False))


def merge_periods(windows: pl.DataFrame, peak_metric: str | None) -> pl.DataFrame:
    """Merge overlapping (or touching) windows of each focus into periods.

    Returns one row per period: focus, start, end and the metrics of the peak window (the one
    with the largest ``peak_metric``; the latest one on ties).
    """
    if windows.height == 0:
        return windows.select(
            "focus",
            "start",
            "end",
            *[c for c in windows.columns if c not in ("focus", "start", "end")],
        )
    w = windows.sort("focus", "start", "end")
    w = w.with_columns(pl.col("end").cum_max().shift(1).over("focus").alias("_prev_end"))
    w = w.with_columns(
        (pl.col("_prev_end").is_null() | (pl.col("start") > pl.col("_prev_end")))
        .cum_sum()
        .over("focus")
        .alias("_period")
    )
    metric_cols = [c for c in windows.columns if c not in ("focus", "start", "end")]
    order = pl.col(peak_metric) if peak_metric else pl.col("end")
    aggs = [pl.col("start").min(), pl.col("end").max()] + [
        pl.col(c).sort_by([order, pl.col("end")]).last() for c in metric_cols
    ]
    return w.group_by("focus", "_period").agg(aggs).sort("focus", "start").drop("_period")


def score(base: float, thresholds: Sequence[Threshold], metrics: Mapping[str, Any]) -> float:
    """Severity base raised by how far the observed metrics are past their thresholds.

    ``base + (1 − base) × min(1, max relative excess)``, rounded to 3 decimals: exactly at a
    threshold gives the base, twice the threshold (or more) gives 1.
    """
    excess = 0.0
    for t in thresholds:
        value = metrics.get(t.metric)
        if value is None or not isinstance(value, int | float) or math.isnan(float(value)):
            continue
        v, limit = float(value), float(t.value)
        if t.op in (">=", ">") and limit > 0:
            excess = max(excess, v / limit - 1)
        elif t.op in ("<=", "<") and v > 0:
            excess = max(excess, limit / v - 1)
    return round(base + (1 - base) * min(1.0, max(0.0, excess)), 3)


def alert_id(rule_id: str, focus: str, start: datetime) -> str:
    """Stable id: hash of rule id, focus and period start."""
    return "A-" + digest_text(f"{rule_id}|{focus}|{start.isoformat()}", 20)


def _json_value(v: Any) -> Any:
    if isinstance(v, float):
        return None if math.isnan(v) else round(v, 6)
    if isinstance(v, datetime):
        return v.isoformat()
    if isinstance(v, timedelta):
        return v.total_seconds()
    return v


def _build(
    rule: Any,
    prim: Primitive,
    periods: pl.DataFrame,
    evidence: pl.DataFrame,
    focus_kind: str,
    currency: str,
) -> list[dict[str, Any]]:
    """One alert row per period (a loop over alerts, not over transfers)."""
    thresholds = prim.thresholds(rule.params)
    focus_role = str(getattr(prim, "focus_role", "focus"))
    base = SEVERITY_BASE.get(rule.severity, 0.5)
    by_period: dict[tuple[str, datetime], dict[str, Any]] = {}
    if evidence.height:
        grouped = (
            evidence.sort("ts", "tx_id")
            .group_by("focus", "start", maintain_order=True)
            .agg(
                pl.col("tx_id").unique(maintain_order=True).alias("tx_ids"),
                pl.col("source").unique().sort().alias("sources"),
                pl.struct("account", "role").unique().alias("roles"),
                pl.col("ts").min().alias("first_ts"),
                pl.col("ts").max().alias("last_ts"),
                pl.struct("source", "tx_id", "amount_base")
                .unique()
                .struct.field("amount_base")
                .sum()
                .alias("amount"),
            )
        )
        by_period = {(r["focus"], r["start"]): r for r in grouped.iter_rows(named=True)}
    rows = []
    metric_names = [c for c in periods.columns if c not in ("focus", "start", "end")]
    for p in periods.iter_rows(named=True):
        ev = by_period.get((p["focus"], p["start"]))
        metrics = {m: _json_value(p[m]) for m in metric_names}
        first, last = (ev["first_ts"], ev["last_ts"]) if ev else (p["start"], p["end"])
        amount = float(ev["amount"]) if ev else 0.0
        roles = sorted(
            {
                (r["account"], r["role"])
                for r in (ev["roles"] if ev else [])
                if r["account"] is not None
            }
        )
        focus_pair = (p["focus"], focus_role)
        if focus_kind == "account" and focus_pair not in roles:
            roles = sorted({*roles, focus_pair})
        accounts = sorted({a for a, _ in roles})
        explanation = prim.explain(
            {m: p[m] for m in metric_names}, rule.params, last - first, amount, currency
        )
        rows.append(
            {
                "alert_id": alert_id(rule.id, p["focus"], p["start"]),
                "typology": rule.id,
                "rule_version": int(rule.version),
                "family": rule.family,
                "kind": rule.kind,
                "severity": rule.severity,
                "score": score(base, thresholds, {m: p[m] for m in metric_names}),
                "focus": p["focus"],
                "focus_kind": focus_kind,
                "focus_role": focus_role,
                "accounts": accounts,
                "roles": [{"account": a, "role": r} for a, r in roles],
                "tx_ids": list(ev["tx_ids"]) if ev else [],
                "sources": list(ev["sources"]) if ev else [],
                "n_transfers": len(ev["tx_ids"]) if ev else 0,
                "first_ts": first,
                "last_ts": last,
                "amount_base": round(amount, 2),
                "metrics": json.dumps(metrics, sort_keys=True, default=str),
                "explanation": explanation,
            }
        )
    return rows


def _focus_kind(rule: Any, prim: Primitive) -> str:
    declared = getattr(prim, "focus_kind", None)
    return str(declared) if declared else str(rule.group_by)


def by_entity(transfers: pl.LazyFrame, members: pl.DataFrame) -> pl.LazyFrame:
    """``src_party`` / ``dst_party`` replaced by the parties' resolved entities (``group_by:
    entity``); a party without an entity keeps its id."""
    ents = (
        members.select(pl.col("party_id").cast(pl.String), pl.col("entity_id").cast(pl.String))
        .unique("party_id", keep="first")
        .lazy()
    )
    for side in ("src", "dst"):
        col = f"{side}_party"
        transfers = (
            transfers.join(ents.rename({"party_id": col}), on=col, how="left")
            .with_columns(pl.coalesce("entity_id", col).alias(col))
            .drop("entity_id")
        )
    return transfers


def needs_entities(rules: Any) -> bool:
    """Whether a rule of ``rules`` groups by ``entity`` or resolves parties itself."""
    import finintel.typology.primitives  # noqa: F401 - registers every kind

    return any(r.group_by == "entity" or _resolves(r) for r in rules.rules)


def _resolves(rule: Any) -> bool:
    own = getattr(REGISTRY[rule.kind], "resolves_entities", None)
    return bool(own(rule.params)) if own is not None else False


def detect(
    data: Any,
    rules: Any,
    progress: Callable[[int, int, str], None] | None = None,
    entities: Any = None,
    time_chunks: int | str | None = None,
) -> Alerts:
    """Run every rule of ``rules`` (a RuleSet) over ``data`` (a Dataset or a transfers frame).

    ``progress(done, total, rule_id)`` is called as each typology's alerts are built (after
    every rule's windows were found, one rule at a time). ``entities`` (an
    :class:`~finintel.resolve.Entities`) serves rules with ``group_by: entity`` and kinds that
    resolve parties themselves (a ``watchlist`` with ``resolve: true``); without it the
    dataset's parties are resolved once when such a rule is loaded. ``time_chunks`` (an int
    ≥ 1, or ``"auto"``: one chunk per :data:`~finintel.typology.chunked.ROWS_PER_CHUNK`
    transfers) splits the history into that many time chunks detected one after the other, in
    bounded memory, with the same alerts (:mod:`finintel.typology.chunked`).

    >>> alerts = detect(finintel.load("fixtures/demo/drop"), finintel.load_rules("rules"))  # doctest: +SKIP
    """
    import finintel.typology.primitives  # noqa: F401 - registers every kind

    prepared = prepare(data, rules, entities)
    if time_chunks is not None:
        from finintel.typology.chunked import chunk_count, detect_chunked

        n = chunk_count(time_chunks, prepared.moved)
        if n > 1:
            return detect_chunked(prepared, rules, n, progress)
    return detect_at_once(prepared, rules, progress)


@dataclass(frozen=True)
class Prepared:
    """What detection reads: moved transfers with party kinds (lazy), the parties, the base
    currency, the named lists, the resolved entities (None when no rule needs them), the
    moved transfers as given (``moved``: counts and time spans need no party join) and the
    party kinds (:func:`party_kinds`, read once: a time chunk joins only its own parties')."""

    transfers: pl.LazyFrame
    parties: pl.LazyFrame | None
    currency: str
    lists: dict[str, list[object]]
    entities: Any
    moved: pl.LazyFrame
    kinds: pl.DataFrame | None = None


def prepare(data: Any, rules: Any, entities: Any = None) -> Prepared:
    """The transfers of ``data`` and, when a rule of ``rules`` needs them, the entities (the
    parties resolved once here unless ``entities`` are given)."""
    moved, parties, currency = _transfers(data)
    # one party per row on two narrow columns; streamed: a store may hold tens of millions
    kinds = None if parties is None else compacted(party_kinds(parties).collect(engine="streaming"))
    transfers = with_party_kinds(moved, None if kinds is None else kinds.lazy())
    if needs_entities(rules) and entities is None:
        from finintel.resolve import account_holders, resolve

        entities = resolve(
            parties if parties is not None else pl.DataFrame(schema=PARTIES),
            accounts=account_holders(transfers),
        )
    lists = {k: list(v) for k, v in rules.lists.items()}
    return Prepared(transfers, parties, currency, lists, entities, moved, kinds)


def rule_plan(
    rule: Any,
    prepared: Prepared,
    transfers: pl.LazyFrame,
    rules: Any,
    graphs: GraphCache,
    *,
    complete: bool,
    params: Mapping[str, Any] | None = None,
) -> Plan:
    """A rule's plan over ``transfers`` (all of ``prepared``'s, or a time chunk of them when
    not ``complete``); ``params`` (default: the rule's) may differ for a chunk: the degree caps
    counted over all the data are passed as exclusions."""
    prim = REGISTRY[rule.kind]
    entity = rule.group_by == "entity"
    entities = prepared.entities
    # kinds on party records resolve themselves: raw transfers, the resolution beside them
    own = hasattr(prim, "resolves_entities")
    ctx = RunContext(
        group_by="party" if entity else rule.group_by,
        base_currency=prepared.currency,
        lists=rules.lists,
        parties=prepared.parties,
        graphs=graphs,
        complete=complete,
        entities=entities.members if entities is not None and (entity or _resolves(rule)) else None,
    )
    if entity and not own:
        transfers = by_entity(transfers, entities.members)
    return prim.plan(
        scope(rule, transfers, prepared.lists), rule.params if params is None else params, ctx
    )


def detect_at_once(
    prepared: Prepared,
    rules: Any,
    progress: Callable[[int, int, str], None] | None,
    *,
    streaming: bool = False,
) -> Alerts:
    """Detection over the whole history at once: the transfers (with party kinds) are read
    once, then each rule's plan is collected on its own, so that the peak memory is the
    largest rule's working set, not the sum of all of them (collected together, the shipped
    rules peaked at 23 GB on 10M transfers). ``streaming``: the transfers are not read into
    memory; each rule's plan reads the columns it needs from them on polars' streaming
    engine (a long history's rules that are not chunked)."""
    lists, currency = prepared.lists, prepared.currency
    engine: Any = "streaming" if streaming else "auto"
    transfers = prepared.transfers if streaming else prepared.transfers.collect().lazy()
    # streamed: never cache a subplan the plan reads twice (a kind's sender and receiver
    # sides read the same transfers; cached, all of them would be held in memory)
    opts = STREAMED if streaming else pl.QueryOptFlags()
    graphs = GraphCache()  # one transaction graph per distinct scope, shared by the graph kinds
    plans = [
        (
            rule,
            REGISTRY[rule.kind],
            rule_plan(
                rule,
                prepared,
                transfers if not streaming else streamed_transfers(prepared, rule),
                rules,
                graphs,
                complete=True,
            ),
        )
        for rule in rules.rules
    ]
    # compacted: a rule's few kept rows would otherwise hold the buffers they were read from
    kept = [
        compacted(
            kept_windows(r, p, plan.windows, lists).collect(engine=engine, optimizations=opts)
        )
        for r, p, plan in plans
    ]
    skipped_frames = (
        streamed_skipped(rules.rules, prepared)
        if streaming
        else skipped_accounts(rules.rules, transfers, lists)
    )
    period_frames = []
    for (rule, prim, _), windows in zip(plans, kept, strict=True):
        th = prim.thresholds(rule.params)
        period_frames.append(merge_periods(windows, th[0].metric if th else None))
    evidence_plans = [
        in_periods(plan.evidence, periods)
        for (_, _, plan), periods in zip(plans, period_frames, strict=True)
    ]
    evidence = [
        compacted(plan.collect(engine=engine, optimizations=opts)) for plan in evidence_plans
    ]
    graphs.release()
    rows: list[dict[str, Any]] = []
    for i, ((rule, prim, _), periods, ev) in enumerate(
        zip(plans, period_frames, evidence, strict=True)
    ):
        if progress is not None:
            progress(i, len(plans), rule.id)
        rows += _build(rule, prim, periods, ev, _focus_kind(rule, prim), currency)
    if progress is not None:
        progress(len(plans), len(plans), "")
    return Alerts(alerts_table(rows), rules_meta(rules.rules, skipped_frames), currency)


def streamed_transfers(prepared: Prepared, rule: Any) -> pl.LazyFrame:
    """The transfers ``rule`` reads when streamed over a long history: with the party kinds
    only if it reads them (each join holds every party's kind in a hash table)."""
    if reads_party_kinds(rule, prepared.lists):
        return prepared.transfers
    return with_party_kinds(prepared.moved, None)


def streamed_skipped(rules: Sequence[Any], prepared: Prepared) -> dict[int, pl.DataFrame]:
    """:func:`skipped_accounts` over a long history, streamed, one rule at a time, each
    reading :func:`streamed_transfers`."""
    out = {}
    for i, rule in enumerate(rules):
        transfers = streamed_transfers(prepared, rule)
        if (
            prepared.kinds is not None
            and hasattr(REGISTRY[rule.kind], "skipped")
            and reads_party_kinds(rule, prepared.lists)
        ):
            transfers = _touching_left_out(rule, prepared.moved, prepared.kinds)
        one = skipped_accounts([rule], transfers, prepared.lists, streaming=True)
        if one:
            out[i] = one[0]
    return out


def _touching_left_out(rule: Any, moved: pl.LazyFrame, kinds: pl.DataFrame) -> pl.LazyFrame:
    """The ``moved`` transfers touching an account ``rule`` may leave out, with their parties'
    ``kinds``: what its ``skipped`` count needs when its scope reads the party kinds.

    A scope only removes transfers, so an account over the degree cap within it is over the
    cap without it: the accounts left out without the scope (counted with no party join) hold
    every account left out within it, and their transfers hold all of those accounts'
    transfers, so the count over them is exact. Only these transfers' parties are joined to
    their kinds: over a long history a join with every party's kind holds a hash table of all
    of them per side (4.5 GB per side for the 52M parties of 100M transfers).
    """
    kind = REGISTRY[rule.kind]
    unscoped = kind.skipped(with_party_kinds(moved, None), rule.params)  # type: ignore[attr-defined]
    found = unscoped.collect(engine="streaming", optimizations=STREAMED)
    accounts = found.get_column("account").implode()
    touching = moved.filter(
        pl.col("src_account").cast(pl.String).is_in(accounts)
        | pl.col("dst_account").cast(pl.String).is_in(accounts)
    )
    parties = (
        touching.select(pl.concat_list("src_party", "dst_party").alias("party_id"))
        .explode("party_id")
        .drop_nulls()
        .unique()
        .collect(engine="streaming", optimizations=STREAMED)
    )
    held = kinds.filter(pl.col("party_id").is_in(parties.get_column("party_id").implode()))
    return with_party_kinds(touching, held.lazy())


def in_periods(evidence: pl.LazyFrame, periods: pl.DataFrame) -> pl.LazyFrame:
    """The evidence rows inside a period (``start <= ts <= end``) of their focus, with the
    period's ``start`` and ``end``."""
    return evidence.join(
        periods.select("focus", "start", "end").lazy(), on="focus", how="inner"
    ).filter((pl.col("ts") >= pl.col("start")) & (pl.col("ts") <= pl.col("end")))


def skipped_accounts(
    rules: Sequence[Any],
    transfers: pl.LazyFrame,
    lists: Mapping[str, Sequence[object]],
    streaming: bool = False,
) -> dict[int, pl.DataFrame]:
    """Rule index → the accounts a graph rule leaves out of its search over ``transfers``
    (hubs over its degree cap, or excluded: reported in the run summary); ``streaming``:
    read on polars' streaming engine (see :data:`STREAMED`)."""
    plans = {
        i: REGISTRY[rule.kind].skipped(scope(rule, transfers, lists), rule.params)  # type: ignore[attr-defined]
        for i, rule in enumerate(rules)
        if hasattr(REGISTRY[rule.kind], "skipped")
    }
    found = pl.collect_all(
        list(plans.values()),
        engine="streaming" if streaming else "auto",
        optimizations=STREAMED if streaming else pl.QueryOptFlags(),
    )
    return {i: compacted(frame) for i, frame in zip(plans, found, strict=True)}


def alerts_table(rows: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    """Alert rows as the ALERTS table, in the engine's order."""
    table = pl.DataFrame(rows, schema=ALERTS) if rows else pl.DataFrame(schema=ALERTS)
    return table.sort(*ALERT_ORDER)


def rules_meta(rules: Sequence[Any], skipped: Mapping[int, pl.DataFrame]) -> list[dict[str, Any]]:
    """What an Alerts object says of each rule; ``skipped``: rule index → hub accounts left out."""
    return [
        {
            "id": r.id,
            "version": int(r.version),
            "family": r.family,
            "kind": r.kind,
            "severity": r.severity,
            "fingerprint": getattr(r, "fingerprint", None),
            "file": r.file,
            "skipped_accounts": skipped[i].to_dicts() if i in skipped else [],
            "params": r.params_json()
            if hasattr(r, "params_json")
            else {k: _json_value(v) for k, v in r.params.items()},
        }
        for i, r in enumerate(rules)
    ]


def rule_windows(
    rule: Any, transfers: pl.LazyFrame, ctx: RunContext, params: Mapping[str, Any]
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """A rule's kept windows and all its evidence, unmerged (``params`` may differ from the
    rule's own: a sharded engine passes the global degree cap as exclusions)."""
    import finintel.typology.primitives  # noqa: F401 - registers every kind

    prim = REGISTRY[rule.kind]
    lists = {k: list(v) for k, v in ctx.lists.items()}
    plan = prim.plan(scope(rule, transfers, lists), params, ctx)
    return kept_windows(rule, prim, plan.windows, lists), plan.evidence


def rule_alerts(
    rule: Any, kept: pl.DataFrame, evidence: pl.DataFrame, currency: str
) -> list[dict[str, Any]]:
    """Alert rows of a rule from its kept windows and evidence (as :func:`detect` builds them):
    overlapping windows of a focus merged into periods, each with its evidence."""
    import finintel.typology.primitives  # noqa: F401 - registers every kind

    prim = REGISTRY[rule.kind]
    th = prim.thresholds(rule.params)
    periods = merge_periods(kept, th[0].metric if th else None)
    ev = in_periods(evidence.lazy(), periods).collect()
    return _build(rule, prim, periods, ev, _focus_kind(rule, prim), currency)
