"""Resolved persons of the link report: parties of the report that are one person.

The parties holding the report's accounts are grouped by entity resolution
(:func:`finintel.resolve`). Scope: the run's :class:`~finintel.resolve.Entities` when the caller
passes them (``finintel run`` resolves all parties of the run once when a rule groups by
``entity``, a watchlist has ``resolve: true`` or a decisions file is given), otherwise only
the parties named in the report are resolved, without decisions. The narrower scope misses
merges that run through a party outside the report (A and C share no evidence, but both match
B, who made no reported transfer), and its name weights (IDF) are computed over fewer names.
When sources are excluded (``exclude_handling``) the report parties are always resolved anew,
so no merge rests on an excluded record.

A person is kept when at least 2 of its parties are in the report. ``merges`` says why: for each
of its report parties the strongest accepted pair that brought it in (``Entities.members``:
``party_a`` came in through ``party_b``; a pair listed once), with the rule (``decision:same``
for an analyst decision, ``id_document``, ``email``, ``name+birth_date``/``+email``/``+phone``/
``+address``), the value that agreed, the two names as compared (normalised, from
``Entities.pairs``) and their similarity. A party outside the report (``party_b`` under the
run's resolution) is named by the entity id it would have. Pseudonymised reports carry pseudonyms of party ids, values (kind
``identifier``, of ``<rule>:<value>``) and names (kind ``name``).
"""

from __future__ import annotations

from typing import Any

import polars as pl

from finintel.hashing import digest_expr
from finintel.pseudonym import Pseudonymiser

__all__ = ["MERGE", "person_members"]

#: One merge of a person: two party entity ids and the evidence that joined them.
MERGE = pl.Struct(
    {
        "party_a": pl.String(),
        "party_b": pl.String(),
        "rule": pl.String(),
        "value": pl.String(),
        "name_a": pl.String(),
        "name_b": pl.String(),
        "name_score": pl.Float64(),
        "decision": pl.Boolean(),
    }
)

_MEMBERS = {"person_id": pl.String(), "party_id": pl.String(), "resolved_parties": pl.Int64()}
_MERGES = {"person_id": pl.String(), "merges": pl.List(MERGE)}


def _entity_id(col: pl.Expr) -> pl.Expr:
    from finintel.link import _entity_id as eid

    return eid("party", col)


def person_members(
    parties: pl.DataFrame,
    report_parties: pl.DataFrame,
    pseudo: Pseudonymiser | None,
    resolved: Any,
    excluded: bool,
) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, Any]]:
    """Persons of the report: (members, merges, info).

    ``parties``: the raw parties rows (after exclusions); ``report_parties``: the report's party
    ids (``party_id``, pseudonymised when ``pseudo``); ``resolved``: the run's Entities or None.
    ``members``: person_id, party_id (as in the report), resolved_parties (the person's parties
    in the resolution); ``merges``: person_id and its list of :data:`MERGE`.
    """
    from finintel.resolve import resolve

    def pid(column: str) -> pl.Expr:
        return pl.col(column) if pseudo is None else pseudo.expr("party", column)

    wanted = report_parties.select("party_id").unique()
    scope = "run" if resolved is not None and not excluded else "report"
    empty = pl.DataFrame(schema=_MEMBERS), pl.DataFrame(schema=_MERGES)
    if wanted.is_empty():
        return *empty, {"scope": scope, "parties": 0, "persons": 0}
    if scope == "report":
        subset = parties.filter(pid("party_id").is_in(wanted["party_id"].implode()))
        if subset.is_empty():
            return *empty, {"scope": scope, "parties": 0, "persons": 0}
        resolved = resolve(subset)
    members = (
        resolved.members.select("party_id", "entity_id")
        .unique()
        .with_columns(pid("party_id").alias("report_id"))
    )
    sizes = members.group_by("entity_id").agg(
        pl.col("party_id").n_unique().cast(pl.Int64).alias("resolved_parties")
    )
    inside = members.join(wanted, left_on="report_id", right_on="party_id", how="semi")
    kept = (  # entity ids are computed before grouping (digests run once per column, not group)
        inside.with_columns(_entity_id(pl.col("report_id")).alias("_eid"))
        .group_by("entity_id")
        .agg(
            pl.col("report_id").n_unique().alias("_n"),
            pl.col("_eid").unique().sort().str.join("|").alias("_ids"),
        )
        .filter(pl.col("_n") >= 2)
        .select(
            "entity_id",
            (pl.lit("P-") + digest_expr(pl.lit("person|") + pl.col("_ids"), 20)).alias("person_id"),
        )
    )
    out = (
        inside.join(kept, on="entity_id")
        .join(sizes, on="entity_id")
        .select("person_id", pl.col("report_id").alias("party_id"), "resolved_parties")
        .sort("person_id", "party_id")
    )
    info = {"scope": scope, "parties": int(members.height), "persons": int(kept.height)}
    if out.is_empty():
        return pl.DataFrame(schema=_MEMBERS), pl.DataFrame(schema=_MERGES), info

    # merges: the edge that brought each report party in (its strongest accepted pair, from
    # Entities.members), with the names compared (from Entities.pairs)
    came = (
        resolved.members.drop_nulls("rule")
        .select("party_id", "via", "rule", "value")
        .unique()
        .join(members.select("party_id", "entity_id").unique(), on="party_id")
        .join(kept, on="entity_id")
        .with_columns(pid("party_id").alias("_rid"))
        .join(wanted, left_on="_rid", right_on="party_id", how="semi")
        .drop("_rid")
    )
    acc = resolved.pairs.filter(pl.col("accepted"))
    both = pl.concat(
        [
            acc.select("party_a", "party_b", "rule", "value", "name_a", "name_b", "name_score"),
            acc.select(
                pl.col("party_b").alias("party_a"),
                pl.col("party_a").alias("party_b"),
                "rule",
                "value",
                pl.col("name_b").alias("name_a"),
                pl.col("name_a").alias("name_b"),
                "name_score",
            ),
        ]
    ).unique(["party_a", "party_b", "rule", "value"], keep="first", maintain_order=True)
    pairs = (
        came.rename({"party_id": "party_a", "via": "party_b"})
        .join(both, on=["party_a", "party_b", "rule", "value"], how="left", nulls_equal=True)
        # one row per unordered pair and reason (a came in by b, b by a)
        .with_columns(
            pl.min_horizontal("party_a", "party_b").alias("_lo"),
            pl.max_horizontal("party_a", "party_b").alias("_hi"),
        )
        .sort("_lo", "_hi", "rule", "party_a", nulls_last=True)
        .unique(["_lo", "_hi", "rule", "value"], keep="first", maintain_order=True)
        .with_columns(pid("party_a").alias("party_a"), pid("party_b").alias("party_b"))
    )
    value = pl.col("value")
    name_a, name_b = pl.col("name_a"), pl.col("name_b")
    if pseudo is not None:
        value = pseudo.expr("identifier", pl.col("rule") + pl.lit(":") + pl.col("value"))
        name_a, name_b = pseudo.expr("name", "name_a"), pseudo.expr("name", "name_b")
    merges = (
        pairs.select(
            "person_id",
            _entity_id(pl.col("party_a")).alias("party_a"),
            _entity_id(pl.col("party_b")).alias("party_b"),
            "rule",
            value.alias("value"),
            name_a.alias("name_a"),
            name_b.alias("name_b"),
            pl.col("name_score").cast(pl.Float64).round(6),
            (pl.col("rule") == "decision:same").alias("decision"),
        )
        .unique()
        .sort(pl.all(), nulls_last=True)
        .group_by("person_id", maintain_order=True)
        .agg(pl.struct([f.name for f in MERGE.fields]).alias("merges"))
    )
    return out, merges, info
