"""``finintel.link``: alerts → entities, suspicious links, networks and scores (DESIGN §5).

The alerts' evidence transfers are looked up in the dataset's records (``tx_id`` within one of
the alert's ``sources``). Every distinct evidence transfer is a **fact** (``transfers``); a
**link** is a directed account → account pair aggregating them; a **network** is a connected
component of links; **entities** are the accounts and the parties holding them, with every name
variant and identifier recorded in ``dataset.parties``. Typology hits and scores are
**assessments**: the ``alerts`` and ``scores`` tables, and the columns listed in
:data:`ASSESSMENT_COLUMNS`, which writers keep apart from the facts.

Scores: a rule contributes the highest score of its alerts on a subject (repeated hits of one
rule are not independent evidence); a subject's score is the noisy-OR of its rules'
contributions, ``1 − Π(1 − c_rule)``; ``scores`` holds the breakdown with each rule's observed
metrics (of its highest-scoring alert).

Key players in a network (weighted by amount in base currency): a *collector* receives from
≥ 2 accounts at least twice what it sends; a *distributor* sends to ≥ 2 accounts at least
twice what it receives; an *intermediary* both receives and sends otherwise; everyone else is a
*participant*. ``centrality`` is the member's share of the network's flow,
``(in + out) / (2 × total)``, so the members' shares sum to 1.

Shared infrastructure (``shared``, facts): a phone, e-mail, address, device id or IP address
recorded for parties of the report under different names (names are grouped as the ``shared_identifier`` kind groups them:
spelling variants, an added or dropped name part and relatives with one family name are one
name) links those parties: one row per identifier with its ``type``, the
normalised ``value`` (phones E.164, see :mod:`finintel.typology.primitives.shared_identifier`),
``n_names``, ``n_parties``, the names, the party and account entities and their networks. A
device or IP address used by very many names (a public Wi-Fi, a carrier's NAT) is listed too,
with its counts: a shared identifier is a lead, and ``n_names`` says how weak it is.

Resolved persons (``persons``, facts with assessment columns): parties of the report that entity
resolution found to be one person, with every recorded variant, identifier and account and why
each record was merged (see :mod:`finintel.persons` for the scope of the resolution). The
accounts of one person are tied, so they fall into one network (links, transfer counts and
totals stay those of the transfers); a person's score is the noisy-OR over its parties' alerts.

Provenance: every transfer, entity, link and network lists its ``sources`` and carries the
strictest ``handling`` code among them (see :mod:`finintel.provenance`). ``exclude_handling``
drops, before anything is built, every record, party row and alert resting on a source with one
of those codes, so nothing in the report derives from what may not be passed on.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from finintel.errors import UsageError, did_you_mean
from finintel.frames import compacted
from finintel.hashing import digest_expr
from finintel.persons import MERGE, person_members
from finintel.provenance import (
    HANDLING_CODES,
    HANDLING_RANK,
    SourceManifest,
    load_sources,
    unknown_sources_table,
)
from finintel.pseudonym import Pseudonymiser, load_key
from finintel.schema import ALERTS, PARTIES, TRANSFERS, UTC_TS

__all__ = [
    "ASSESSMENT_COLUMNS",
    "ENTITIES",
    "INFRASTRUCTURE",
    "LINKS",
    "NETWORKS",
    "PERSONS",
    "SCORES",
    "SHARED",
    "LinkReport",
    "link",
    "noisy_or",
]

_STRS = pl.List(pl.String())

#: Evidence transfers (facts): the canonical columns an analyst needs, plus provenance.
EVIDENCE: dict[str, pl.DataType] = {
    **{
        c: TRANSFERS[c]
        for c in (
            "source", "tx_id", "ts", "src_account", "dst_account", "amount", "currency",
            "amount_base", "channel", "src_party", "dst_party", "src_country", "dst_country",
        )
    },
    "link_id": pl.String(),
    "handling": pl.String(),
}  # fmt: skip

IDENTIFIER = pl.Struct({"type": pl.String(), "value": pl.String()})
PLAYER = pl.Struct(
    {
        "entity_id": pl.String(),
        "key": pl.String(),
        "role": pl.String(),
        "in_degree": pl.Int64(),
        "out_degree": pl.Int64(),
        "in_base": pl.Float64(),
        "out_base": pl.Float64(),
        "centrality": pl.Float64(),
    }
)

_ASSESS: dict[str, pl.DataType] = {
    "typologies": _STRS,
    "alert_ids": _STRS,
    "n_alerts": pl.Int64(),
    "score": pl.Float64(),
}

ENTITIES: dict[str, pl.DataType] = {
    "entity_id": pl.String(),
    "kind": pl.String(),
    "key": pl.String(),
    "label": pl.String(),
    "names": _STRS,
    "identifiers": pl.List(IDENTIFIER),
    "countries": _STRS,
    "related": _STRS,
    "network_id": pl.String(),
    "person_id": pl.String(),
    "in_degree": pl.Int64(),
    "out_degree": pl.Int64(),
    "in_base": pl.Float64(),
    "out_base": pl.Float64(),
    "sources": _STRS,
    "handling": pl.String(),
    "roles": _STRS,
    "network_role": pl.String(),
    **_ASSESS,
}

LINKS: dict[str, pl.DataType] = {
    "link_id": pl.String(),
    "src": pl.String(),
    "dst": pl.String(),
    "src_key": pl.String(),
    "dst_key": pl.String(),
    "network_id": pl.String(),
    "n_transfers": pl.Int64(),
    "total_base": pl.Float64(),
    "first_ts": UTC_TS,
    "last_ts": UTC_TS,
    "tx_ids": _STRS,
    "sources": _STRS,
    "handling": pl.String(),
    **_ASSESS,
}

NETWORKS: dict[str, pl.DataType] = {
    "network_id": pl.String(),
    "n_members": pl.Int64(),
    "members": _STRS,
    "parties": _STRS,
    "persons": _STRS,
    "n_links": pl.Int64(),
    "n_transfers": pl.Int64(),
    "total_base": pl.Float64(),
    "first_ts": UTC_TS,
    "last_ts": UTC_TS,
    "sources": _STRS,
    "handling": pl.String(),
    "key_players": pl.List(PLAYER),
    **_ASSESS,
}

#: The breakdown of every score: one row per subject and rule.
SCORES: dict[str, pl.DataType] = {
    "subject_kind": pl.String(),
    "subject_id": pl.String(),
    "typology": pl.String(),
    "contribution": pl.Float64(),
    "n_alerts": pl.Int64(),
    "alert_ids": _STRS,
    "best_alert_id": pl.String(),
    "metrics": pl.String(),
}

#: The identifiers of the parties schema that are infrastructure (shared by names: a link).
INFRASTRUCTURE: tuple[str, ...] = ("phone", "email", "address", "device_id", "ip_address")

#: Shared infrastructure: one row per identifier used by report parties under different names.
SHARED: dict[str, pl.DataType] = {
    "shared_id": pl.String(),
    "type": pl.String(),
    "value": pl.String(),
    "n_names": pl.Int64(),
    "n_parties": pl.Int64(),
    "names": _STRS,
    "parties": _STRS,
    "accounts": _STRS,
    "network_ids": _STRS,
    "sources": _STRS,
    "handling": pl.String(),
}

#: Resolved persons: parties of the report that entity resolution found to be one person.
PERSONS: dict[str, pl.DataType] = {
    "person_id": pl.String(),
    "label": pl.String(),
    "n_parties": pl.Int64(),
    "resolved_parties": pl.Int64(),
    "parties": _STRS,
    "names": _STRS,
    "identifiers": pl.List(IDENTIFIER),
    "countries": _STRS,
    "accounts": _STRS,
    "network_ids": _STRS,
    "merges": pl.List(MERGE),
    "decision": pl.Boolean(),
    "sources": _STRS,
    "handling": pl.String(),
    **_ASSESS,
}

#: Columns of the subject tables that are assessments (typology hits, scores, roles), not facts.
ASSESSMENT_COLUMNS: dict[str, tuple[str, ...]] = {
    "entities": ("roles", "network_role", *_ASSESS),
    "links": tuple(_ASSESS),
    "networks": ("key_players", *_ASSESS),
    "transfers": (),
    "shared": (),
    "persons": tuple(_ASSESS),
}

_ROUND = 6


def noisy_or(contributions: Iterable[float]) -> float:
    """``1 − Π(1 − c)``, rounded to 6 decimals.

    >>> noisy_or([0.5, 0.5]), noisy_or([0.9, 0.3, 0.0]), noisy_or([])
    (0.75, 0.93, 0.0)
    """
    rest = 1.0
    for c in contributions:
        rest *= 1.0 - c
    return round(1.0 - rest, _ROUND)


@dataclass
class LinkReport:
    """The suspicious-link report: plain DataFrames plus a run-metadata block.

    Facts: ``transfers`` (evidence), ``entities``, ``links``, ``networks``, ``persons`` (minus
    their :data:`ASSESSMENT_COLUMNS`), ``shared`` (infrastructure shared under different names).
    Assessments: ``alerts``, ``scores``. ``sources`` is the provenance of every source named
    anywhere.
    """

    entities: pl.DataFrame
    links: pl.DataFrame
    networks: pl.DataFrame
    scores: pl.DataFrame
    transfers: pl.DataFrame
    alerts: pl.DataFrame
    sources: pl.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)
    shared: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=SHARED))
    persons: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=PERSONS))

    def tables(self) -> dict[str, pl.DataFrame]:
        """Every table by name, in a fixed order."""
        return {
            "alerts": self.alerts,
            "entities": self.entities,
            "links": self.links,
            "networks": self.networks,
            "persons": self.persons,
            "scores": self.scores,
            "shared": self.shared,
            "transfers": self.transfers,
            "sources": self.sources,
        }

    def write(
        self, out_dir: str | Path, formats: Sequence[str] = ("json", "parquet")
    ) -> list[Path]:
        """Write the report in ``formats`` into ``out_dir`` (see :mod:`finintel.report`)."""
        from finintel.report import write

        return write(self, out_dir, formats)


# --------------------------------------------------------------------------------------------
# inputs


def _alerts_frame(alerts: Any) -> tuple[pl.DataFrame, list[dict[str, Any]], str | None]:
    if isinstance(alerts, pl.DataFrame):
        table, rules, currency = alerts, [], None
    else:
        table, rules, currency = alerts.table, list(alerts.rules), str(alerts.base_currency)
    missing = [c for c in ALERTS if c not in table.columns]
    table = table.with_columns([pl.lit(None, dtype=ALERTS[c]).alias(c) for c in missing])
    extra = [c for c in table.columns if c not in ALERTS]  # e.g. an incremental run's status
    cols = [pl.col(c).cast(t) for c, t in ALERTS.items()] + [pl.col(c) for c in extra]
    return table.select(cols), rules, currency


def _flows_frame(flows: Any) -> pl.DataFrame | None:
    if flows is None:
        return None
    frame = flows if isinstance(flows, pl.DataFrame) else getattr(flows, "table", None)
    if not isinstance(frame, pl.DataFrame):
        frame = getattr(flows, "flows", None)
    if not isinstance(frame, pl.DataFrame) or "tx_id" not in frame.columns:
        raise UsageError("FI098", "flows must be a Flows object or a frame with a tx_id column")
    return frame


def _manifest(sources: SourceManifest | str | Path | None) -> SourceManifest | None:
    if sources is None or isinstance(sources, SourceManifest):
        return sources
    return load_sources(sources)


def _pseudonymiser(key: Pseudonymiser | str | Path | None) -> Pseudonymiser | None:
    if key is None or isinstance(key, Pseudonymiser):
        return key
    return load_key(key)


def check_exclusions(codes: Sequence[str], manifest: SourceManifest | None) -> tuple[str, ...]:
    out = []
    for c in codes:
        code = c.strip().upper()
        if code not in HANDLING_CODES:
            hint = did_you_mean(code, HANDLING_CODES)
            raise UsageError(
                "FI096", f"unknown handling code {c!r}{hint}; codes: {', '.join(HANDLING_CODES)}"
            )
        out.append(code)
    if out and manifest is None:
        raise UsageError("FI097", "excluding handling codes needs a source manifest (--sources)")
    return tuple(sorted(set(out)))


def _records(
    records: pl.DataFrame | pl.LazyFrame, table: pl.DataFrame, flows: pl.DataFrame | None
) -> tuple[pl.DataFrame, list[str]]:
    """The dataset's records as TRANSFERS, and every source they name. A store-backed dataset's
    records (a lazy scan) are read only for the alerts' and flows' transfer ids: the only rows
    the report looks up."""
    if isinstance(records, pl.DataFrame):
        frame = records.select([pl.col(c).cast(TRANSFERS[c]) for c in TRANSFERS])
        return frame, frame["source"].drop_nulls().unique().to_list()
    # streamed: a store's records may be far larger than memory
    named = records.select(pl.col("source").drop_nulls().unique())
    sources = named.collect(engine="streaming")["source"].sort()
    ids = table.select(pl.col("tx_ids").explode().alias("tx_id"))
    if flows is not None:
        ids = pl.concat([ids, flows.select(pl.col("tx_id").cast(pl.String))])
    frame = (
        records.join(
            ids.drop_nulls().unique().lazy(), on="tx_id", how="semi", maintain_order="left"
        )
        .select([pl.col(c).cast(TRANSFERS[c]) for c in TRANSFERS])
        .collect(engine="streaming")
    )
    # compacted: the alerts' records would hold the buffers of every transfer read
    return compacted(frame), sources.to_list()


# --------------------------------------------------------------------------------------------
# pseudonymisation (applied to the inputs, so every id is derived from pseudonyms)


def _pseudo_inputs(
    p: Pseudonymiser, table: pl.DataFrame, records: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    # an entity id is a digest of party ids: pseudonymised like a party
    kind_of_focus = {
        "account": "account",
        "party": "party",
        "entity": "party",
        "identifier": "identifier",
    }
    focus = pl.col("focus")
    focus_expr = focus
    for fk, kind in kind_of_focus.items():
        focus_expr = (
            pl.when(pl.col("focus_kind") == fk).then(p.expr(kind, "focus")).otherwise(focus_expr)
        )
    table = table.with_columns(
        p.expr("alert", "alert_id").alias("alert_id"),
        focus_expr.alias("focus"),
        p.list_expr("account", "accounts").alias("accounts"),
        pl.col("roles").list.eval(
            pl.struct(
                p.expr("account", pl.element().struct.field("account")).alias("account"),
                pl.element().struct.field("role"),
            )
        ),
    )
    records = records.with_columns(
        [p.expr("account", c).alias(c) for c in ("src_account", "dst_account")]
        + [p.expr("party", c).alias(c) for c in ("src_party", "dst_party")]
    )
    return table, records


def _pseudo_ids(p: Pseudonymiser, ids: pl.DataFrame) -> pl.DataFrame:
    return ids.with_columns(
        p.expr("party", "party_id").alias("party_id"),
        pl.when(pl.col("type") == "name")
        .then(p.expr("name", "value"))
        .otherwise(p.expr("identifier", "value"))
        .alias("value"),
    )


# --------------------------------------------------------------------------------------------
# building blocks


def _entity_id(kind: str, key: pl.Expr) -> pl.Expr:
    """``E-`` + a stable digest of the entity's kind and key."""
    return pl.lit("E-") + digest_expr(pl.lit(kind + "|") + key, 20)


def _party_values(parties: pl.DataFrame) -> pl.DataFrame:
    """Long table of what parties records say: party_id, type, value, country, source."""
    idn = (
        pl.when(pl.col("id_country").is_not_null())
        .then(pl.lit("id_number:") + pl.col("id_country") + pl.lit(":") + pl.col("id_number"))
        .otherwise(pl.lit("id_number:") + pl.col("id_number"))
    )
    parts = [
        parties.select(
            "party_id",
            pl.lit("name").alias("type"),
            pl.col("name").alias("value"),
            "country",
            "source",
        ),
        parties.select(
            "party_id", pl.lit("id_number").alias("type"), idn.alias("value"), "country", "source"
        ),
    ]
    for col in ("phone", "email", "address", "device_id", "ip_address"):
        parts.append(
            parties.select(
                "party_id",
                pl.lit(col).alias("type"),
                (pl.lit(col + ":") + pl.col(col)).alias("value"),
                "country",
                "source",
            )
        )
    return pl.concat(parts).drop_nulls(["party_id", "value"]).unique().sort(pl.all())


def _shared(
    parties: pl.DataFrame,
    holders: pl.DataFrame,
    networks: pl.DataFrame,
    pseudo: Pseudonymiser | None,
    ranks: pl.DataFrame | None,
) -> pl.DataFrame:
    """Phones, e-mails, addresses, devices and IP addresses of the report's parties recorded
    under different names."""
    from finintel.names import name_key
    from finintel.typology.primitives.shared_identifier import name_groups, normalise_identifier

    pid = pl.col("party_id") if pseudo is None else pseudo.expr("party", "party_id")
    report_parties = holders.select("party_id").unique()
    base = parties.with_columns(pid.alias("party_id")).join(
        report_parties, on="party_id", how="semi"
    )
    if base.is_empty():
        return pl.DataFrame(schema=SHARED)
    used = pl.concat(
        [
            base.select(
                "party_id",
                "name",
                "source",
                pl.lit(ident).alias("type"),
                normalise_identifier(ident).str.replace(f"^{ident}:", "").alias("value"),
            )
            for ident in INFRASTRUCTURE
        ]
    ).drop_nulls(["party_id", "value"])
    # spelling variants and added or dropped name parts of one person are one name
    used = used.with_columns(
        (pl.col("type") + "|" + pl.col("value")).alias("key"),
        name_key(pl.col("name")).alias("_name"),
    )
    groups = name_groups(used.select("key", "_name").lazy()).collect()
    used = used.join(groups, on=["key", "_name"], how="left")
    keys = (
        used.group_by("type", "value")
        .agg(
            pl.col("_group").drop_nulls().n_unique().cast(pl.Int64).alias("n_names"),
            pl.col("party_id").n_unique().cast(pl.Int64).alias("n_parties"),
        )
        .filter(pl.col("n_names") >= 2)
    )
    used = used.join(keys.select("type", "value"), on=["type", "value"], how="semi")
    name_expr = pl.col("name") if pseudo is None else pseudo.expr("name", "name")
    accounts = (
        used.select("type", "value", "party_id")
        .unique()
        .join(holders.select("party_id", "account").unique(), on="party_id")
    )
    nets = accounts.join(
        networks.select(pl.col("key").alias("account"), "network_id"), on="account"
    )

    def lists(frame: pl.DataFrame, expr: pl.Expr, alias: str) -> pl.DataFrame:
        return (
            frame.select("type", "value", expr.alias(alias))
            .drop_nulls(alias)
            .unique()
            .group_by("type", "value")
            .agg(pl.col(alias).sort())
        )

    value = (
        pl.col("value")
        if pseudo is None
        else pseudo.expr("identifier", pl.col("type") + pl.lit(":") + pl.col("value"))
    )
    shared = (
        keys.join(lists(used, name_expr, "names"), on=["type", "value"], how="left")
        .join(
            lists(used, _entity_id("party", pl.col("party_id")), "parties"),
            on=["type", "value"],
            how="left",
        )
        .join(
            lists(accounts, _entity_id("account", pl.col("account")), "accounts"),
            on=["type", "value"],
            how="left",
        )
        .join(lists(nets, pl.col("network_id"), "network_ids"), on=["type", "value"], how="left")
        .join(lists(used, pl.col("source"), "sources"), on=["type", "value"], how="left")
        .with_columns(value.alias("value"))
        .with_columns(
            (pl.lit("S-") + digest_expr(pl.col("type") + "|" + pl.col("value"), 20)).alias(
                "shared_id"
            ),
            pl.col("names", "parties", "accounts", "network_ids", "sources").fill_null([]),
        )
    )
    shared = _handling(shared, "shared_id", ranks)
    return shared.select([pl.col(c).cast(t) for c, t in SHARED.items()]).sort(
        ["n_names", "n_parties", "shared_id"], descending=[True, True, False]
    )


def _persons(
    pmembers: pl.DataFrame,
    pmerges: pl.DataFrame,
    ids: pl.DataFrame,
    holders: pl.DataFrame,
    networks: pl.DataFrame,
    assess: pl.DataFrame,
    ranks: pl.DataFrame | None,
) -> pl.DataFrame:
    """The persons table: every recorded variant of a person's parties and why they merged."""
    if pmembers.is_empty():
        return pl.DataFrame(schema=PERSONS)
    vals = ids.join(pmembers.select("person_id", "party_id"), on="party_id")
    accounts = pmembers.join(holders.select("party_id", "account", "source"), on="party_id")

    def lists(frame: pl.DataFrame, expr: pl.Expr, alias: str) -> pl.DataFrame:
        return (
            frame.select("person_id", expr.alias(alias))
            .drop_nulls(alias)
            .unique()
            .group_by("person_id")
            .agg(pl.col(alias).sort())
        )

    sources = pl.concat(
        [vals.select("person_id", "source"), accounts.select("person_id", "source")]
    )
    persons = (
        pmembers.group_by("person_id")
        .agg(
            pl.col("party_id").n_unique().cast(pl.Int64).alias("n_parties"),
            pl.col("resolved_parties").first(),
        )
        .join(lists(pmembers, _entity_id("party", pl.col("party_id")), "parties"), on="person_id")
        .join(
            lists(vals.filter(pl.col("type") == "name"), pl.col("value"), "names"),
            on="person_id",
            how="left",
        )
        .join(
            lists(vals.filter(pl.col("type") != "name"), pl.struct("type", "value"), "identifiers"),
            on="person_id",
            how="left",
        )
        .join(lists(vals, pl.col("country"), "countries"), on="person_id", how="left")
        .join(
            lists(accounts, _entity_id("account", pl.col("account")), "accounts"),
            on="person_id",
            how="left",
        )
        .join(
            lists(
                accounts.join(
                    networks.select(pl.col("key").alias("account"), "network_id"), on="account"
                ),
                pl.col("network_id"),
                "network_ids",
            ),
            on="person_id",
            how="left",
        )
        .join(pmerges, on="person_id", how="left")
        .join(lists(sources, pl.col("source"), "sources"), on="person_id", how="left")
        .join(assess.rename({"subject_id": "person_id"}), on="person_id", how="left")
        .with_columns(
            pl.col("names", "countries", "accounts", "network_ids", "sources").fill_null([]),
            pl.col("identifiers").fill_null(pl.lit([], dtype=pl.List(IDENTIFIER))),
            pl.col("merges").fill_null(pl.lit([], dtype=pl.List(MERGE))),
        )
        .with_columns(
            pl.col("names").list.first().alias("label"),
            pl.col("merges")
            .list.eval(pl.element().struct.field("decision").any())
            .list.first()
            .fill_null(False)
            .alias("decision"),
        )
    )
    return _handling(persons, "person_id", ranks)


def _scores(hits: pl.DataFrame, kind: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Breakdown rows and combined assessment columns from (subject_id, alert) hits."""
    if hits.height == 0:
        empty = pl.DataFrame(schema=SCORES)
        combined = pl.DataFrame(schema={"subject_id": pl.String(), **_ASSESS})
        return empty, combined
    hits = hits.unique(["subject_id", "alert_id"])
    best = (
        hits.sort(
            "subject_id",
            "typology",
            pl.col("score").fill_null(0.0),
            "alert_id",
            descending=[False, False, True, False],
        )
        .group_by("subject_id", "typology", maintain_order=True)
        .agg(
            pl.col("score").fill_null(0.0).first().alias("contribution"),
            pl.len().cast(pl.Int64).alias("n_alerts"),
            pl.col("alert_id").sort().alias("alert_ids"),
            pl.col("alert_id").first().alias("best_alert_id"),
            pl.col("metrics").first().alias("metrics"),
        )
    )
    breakdown = best.select(
        pl.lit(kind).alias("subject_kind"), *[c for c in SCORES if c != "subject_kind"]
    ).sort("subject_kind", "subject_id", "typology")
    combined = (  # groups keep the sorted row order, so products are computed the same way
        breakdown.group_by("subject_id", maintain_order=True)
        .agg(
            pl.col("typology").sort().alias("typologies"),
            pl.col("alert_ids").explode().unique().sort().alias("alert_ids"),
            (1.0 - (1.0 - pl.col("contribution")).product()).round(_ROUND).alias("score"),
        )
        .with_columns(pl.col("alert_ids").list.len().cast(pl.Int64).alias("n_alerts"))
        .select("subject_id", *_ASSESS)
    )
    return breakdown, combined


def _handling(frame: pl.DataFrame, id_col: str, ranks: pl.DataFrame | None) -> pl.DataFrame:
    """Add ``handling``: the strictest code among each row's ``sources``."""
    if ranks is None or frame.height == 0:
        return frame.with_columns(pl.lit(None, dtype=pl.String).alias("handling"))
    codes = (
        frame.select(id_col, "sources")
        .explode("sources")
        .join(ranks, left_on="sources", right_on="source", how="inner")
        .group_by(id_col)
        .agg(pl.col("rank").max())
        .select(
            id_col,
            pl.col("rank")
            .replace_strict(dict(enumerate(HANDLING_CODES)), return_dtype=pl.String)
            .alias("handling"),
        )
    )
    return frame.join(codes, on=id_col, how="left", maintain_order="left")


def _components(links: pl.DataFrame) -> pl.DataFrame:
    """account key → component label (weakly connected components of the link graph)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    keys = pl.concat([links["src_key"], links["dst_key"]]).unique().sort()
    index = pl.DataFrame({"key": keys, "i": pl.int_range(keys.len(), eager=True)})
    pairs = (
        links.select("src_key", "dst_key")
        .join(index.rename({"key": "src_key", "i": "a"}), on="src_key")
        .join(index.rename({"key": "dst_key", "i": "b"}), on="dst_key")
    )
    n = keys.len()
    m = coo_matrix(
        (np.ones(pairs.height), (pairs["a"].to_numpy(), pairs["b"].to_numpy())), shape=(n, n)
    ).tocsr()
    _, labels = connected_components(m, directed=True, connection="weak")
    return index.with_columns(pl.Series("component", labels, dtype=pl.Int64)).drop("i")


# --------------------------------------------------------------------------------------------
# the report


def link(
    alerts: Any,
    flows: Any = None,
    *,
    dataset: Any = None,
    sources: SourceManifest | str | Path | None = None,
    exclude_handling: Sequence[str] = (),
    pseudonymise: Pseudonymiser | str | Path | None = None,
    meta: Mapping[str, Any] | None = None,
    resolved: Any = None,
) -> LinkReport:
    """Build the link report of ``alerts`` (an Alerts or an alerts frame).

    ``dataset`` (a Dataset) supplies the evidence transfers and the parties; without it the
    report has entities from the alerts' roles only. ``flows`` (traced flows: a frame with
    ``tx_id`` and optionally ``source``, or a ``Flows`` with such a ``flows`` table) adds the
    traced transfers as facts: links and networks, no typology and no score. ``sources`` is a
    :class:`SourceManifest` or its YAML path;
    ``pseudonymise`` a :class:`Pseudonymiser` or a key file. ``resolved``: the run's
    :class:`~finintel.resolve.Entities` (else the report's parties are resolved; see
    :mod:`finintel.persons`).
    """
    table, rules, currency = _alerts_frame(alerts)
    manifest = _manifest(sources)
    excluded_codes = check_exclusions(exclude_handling, manifest)
    pseudo = _pseudonymiser(pseudonymise)
    flow_frame = _flows_frame(flows)
    records, record_sources = _records(
        dataset.records if dataset is not None else pl.DataFrame(schema=TRANSFERS),
        table,
        flow_frame,
    )
    # lazy: a store's parties are read for the report's own parties only (below)
    parties = (dataset.parties if dataset is not None else pl.DataFrame(schema=PARTIES)).lazy()
    parties = parties.select([pl.col(c).cast(PARTIES[c]) for c in PARTIES])
    if currency is None:
        currency = str(getattr(dataset, "base_currency", "EUR"))

    # provenance: every source named anywhere, and what excluding codes removes
    named = sorted(
        set(record_sources)
        | set(parties.select(pl.col("source").drop_nulls().unique()).collect()["source"])
        | set(table["sources"].explode().drop_nulls().unique().to_list())
    )
    ranks: pl.DataFrame | None = None
    excluded: list[str] = []
    if manifest is not None:
        src_table = manifest.table(named)
        excluded = src_table.filter(pl.col("handling").is_in(list(excluded_codes)))[
            "source"
        ].to_list()
        src_table = src_table.filter(~pl.col("source").is_in(excluded))
        ranks = src_table.select(
            "source",
            pl.col("handling").replace_strict(HANDLING_RANK, return_dtype=pl.Int64).alias("rank"),
        )
    else:
        src_table = unknown_sources_table(named)
    if excluded:
        table = table.filter(~pl.col("sources").list.eval(pl.element().is_in(excluded)).list.any())
        records = records.filter(~pl.col("source").is_in(excluded))
        parties = parties.filter(~pl.col("source").is_in(excluded))

    # only the records the alerts and flows name are looked at (and pseudonymised)
    named_tx = table.select(pl.col("tx_ids").explode().alias("tx_id"))
    if flow_frame is not None:
        named_tx = pl.concat([named_tx, flow_frame.select(pl.col("tx_id").cast(pl.String))])
    records = records.join(named_tx.drop_nulls().unique(), on="tx_id", how="semi")
    if pseudo is not None:
        table, records = _pseudo_inputs(pseudo, table, records)
    table = table.sort("alert_id")

    # evidence: alerts' transfers looked up in the records (tx_id within the alert's sources)
    hits = table.select("alert_id", "typology", "score", "metrics", "sources", "tx_ids")
    ev = (
        hits.explode("tx_ids")
        .rename({"tx_ids": "tx_id"})
        .drop_nulls("tx_id")
        .join(records, on="tx_id", how="inner")
        .filter(pl.col("sources").list.contains(pl.col("source")))
        .drop("sources")
    )
    if flow_frame is not None:
        # a flow's source, when it has one, must match the record's (tx ids are per source)
        fsrc = pl.col("_fsrc")
        wanted = flow_frame.select(
            pl.col("tx_id").cast(pl.String),
            (
                pl.col("source").cast(pl.String)
                if "source" in flow_frame.columns
                else pl.lit(None, dtype=pl.String)
            ).alias("_fsrc"),
        ).unique()
        traced = (
            wanted.join(records, on="tx_id", how="inner")
            .filter(fsrc.is_null() | (fsrc == "") | (fsrc == pl.col("source")))
            .drop("_fsrc")
            .unique(["source", "tx_id"])
            .with_columns(
                pl.lit(None, dtype=pl.String).alias("alert_id"),
                pl.lit("trace").alias("typology"),
                pl.lit(None, dtype=pl.Float64).alias("score"),
                pl.lit(None, dtype=pl.String).alias("metrics"),
            )
        )
        ev = pl.concat([ev, traced.select(ev.columns)])
    ev = ev.filter(pl.col("src_account").is_not_null() & pl.col("dst_account").is_not_null())
    ev = ev.with_columns(
        _entity_id("account", pl.col("src_account")).alias("src"),
        _entity_id("account", pl.col("dst_account")).alias("dst"),
    ).with_columns(
        (pl.lit("L-") + digest_expr(pl.col("src") + "|" + pl.col("dst"), 20)).alias("link_id")
    )
    facts = ev.unique(["source", "tx_id"]).sort("ts", "source", "tx_id")
    scored = ev.filter(pl.col("alert_id").is_not_null())

    # links
    link_scores, link_assess = _scores(
        scored.select(
            pl.col("link_id").alias("subject_id"), "alert_id", "typology", "score", "metrics"
        ),
        "link",
    )
    links = (
        facts.group_by("link_id")
        .agg(
            pl.col("src").first(),
            pl.col("dst").first(),
            pl.col("src_account").first().alias("src_key"),
            pl.col("dst_account").first().alias("dst_key"),
            pl.len().cast(pl.Int64).alias("n_transfers"),
            pl.col("amount_base").sum().round(2).alias("total_base"),
            pl.col("ts").min().alias("first_ts"),
            pl.col("ts").max().alias("last_ts"),
            pl.col("tx_id").sort().alias("tx_ids"),
            pl.col("source").unique().sort().alias("sources"),
        )
        .join(link_assess.rename({"subject_id": "link_id"}), on="link_id", how="left")
    )
    links = _handling(links, "link_id", ranks).sort("link_id")  # fixed order for float sums

    # parties holding the report's accounts, and the persons they resolve into
    holders = (
        pl.concat(
            [
                facts.select(
                    pl.col("src_account").alias("account"),
                    pl.col("src_party").alias("party_id"),
                    "source",
                ),
                facts.select(
                    pl.col("dst_account").alias("account"),
                    pl.col("dst_party").alias("party_id"),
                    "source",
                ),
            ]
        )
        .drop_nulls()
        .unique()
    )
    # what the parties records say about the report's parties (the holders)
    pid = pl.col("party_id") if pseudo is None else pseudo.expr("party", "party_id")
    held = parties.filter(pid.is_in(holders["party_id"].unique().implode())).collect()
    ids = _party_values(held)
    if pseudo is not None:
        ids = _pseudo_ids(pseudo, ids)
    pmembers, pmerges, resolution = person_members(held, holders, pseudo, resolved, bool(excluded))
    person_accounts = (
        pmembers.join(holders.select("party_id", "account").unique(), on="party_id")
        .select("person_id", "account")
        .unique()
        .sort("person_id", "account")
    )
    # accounts of one person are tied (a chain in account order), so they share a network
    ties = (
        person_accounts.with_columns(pl.col("account").shift(-1).over("person_id").alias("_next"))
        .drop_nulls("_next")
        .select(pl.col("account").alias("src_key"), pl.col("_next").alias("dst_key"))
    )

    # networks: weakly connected components of the links and the same-person ties
    if links.height:
        comp = _components(pl.concat([links.select("src_key", "dst_key"), ties]))
        members = comp.with_columns(_entity_id("account", pl.col("key")).alias("entity_id"))
        net_ids = (
            members.group_by("component")
            .agg(pl.col("entity_id").sort().str.join("|").alias("_m"))
            .select("component", (pl.lit("N-") + digest_expr(pl.col("_m"), 20)).alias("network_id"))
        )
        members = members.join(net_ids, on="component").drop("component")
    else:
        members = pl.DataFrame(
            schema={"key": pl.String(), "entity_id": pl.String(), "network_id": pl.String()}
        )
    links = links.join(
        members.select(pl.col("key").alias("src_key"), "network_id"), on="src_key", how="left"
    )
    out_deg = links.group_by("src_key").agg(
        pl.len().cast(pl.Int64).alias("out_degree"), pl.col("total_base").sum().alias("out_base")
    )
    in_deg = links.group_by("dst_key").agg(
        pl.len().cast(pl.Int64).alias("in_degree"), pl.col("total_base").sum().alias("in_base")
    )
    net_total = links.group_by("network_id").agg(pl.col("total_base").sum().alias("_net_total"))
    degrees = (
        members.join(out_deg.rename({"src_key": "key"}), on="key", how="left")
        .join(in_deg.rename({"dst_key": "key"}), on="key", how="left")
        .join(net_total, on="network_id", how="left")
        .with_columns(
            pl.col("in_degree", "out_degree").fill_null(0),
            pl.col("in_base", "out_base").fill_null(0.0).round(2),
        )
        .with_columns(
            pl.when((pl.col("in_degree") >= 2) & (pl.col("in_base") >= 2 * pl.col("out_base")))
            .then(pl.lit("collector"))
            .when((pl.col("out_degree") >= 2) & (pl.col("out_base") >= 2 * pl.col("in_base")))
            .then(pl.lit("distributor"))
            .when((pl.col("in_degree") >= 1) & (pl.col("out_degree") >= 1))
            .then(pl.lit("intermediary"))
            .otherwise(pl.lit("participant"))
            .alias("network_role"),
            pl.when(pl.col("_net_total") > 0)
            .then((pl.col("in_base") + pl.col("out_base")) / (2 * pl.col("_net_total")))
            .otherwise(0.0)
            .round(_ROUND)
            .alias("centrality"),
        )
        .drop("_net_total")
    )

    # entities: accounts named by alerts or on links, and the parties holding them
    role_rows = (
        table.select("alert_id", "typology", "score", "metrics", "sources", "roles")
        .explode("roles")
        .drop_nulls("roles")
        .unnest("roles")
        .drop_nulls("account")
    )
    account_keys = pl.concat([role_rows["account"], members["key"]]).unique().sort().to_frame("key")
    acc_names = (
        holders.join(ids.filter(pl.col("type") == "name"), on="party_id")
        .group_by("account")
        .agg(pl.col("value").unique().sort().alias("names"))
    )
    acc_sources = (
        pl.concat(
            [
                role_rows.select(pl.col("account"), pl.col("sources"))
                .explode("sources")
                .rename({"sources": "source"}),
                holders.select("account", "source"),
                holders.join(ids, on="party_id").select(
                    "account", pl.col("source_right").alias("source")
                ),
            ]
        )
        .drop_nulls()
        .unique()
    )
    acc_countries = (
        pl.concat(
            [
                facts.select(
                    pl.col("src_account").alias("account"), pl.col("src_country").alias("c")
                ),
                facts.select(
                    pl.col("dst_account").alias("account"), pl.col("dst_country").alias("c")
                ),
            ]
        )
        .drop_nulls()
        .unique()
    )
    accounts = (
        account_keys.with_columns(
            _entity_id("account", pl.col("key")).alias("entity_id"), pl.lit("account").alias("kind")
        )
        .join(acc_names.rename({"account": "key"}), on="key", how="left")
        .join(
            acc_sources.group_by("account")
            .agg(pl.col("source").sort().alias("sources"))
            .rename({"account": "key"}),
            on="key",
            how="left",
        )
        .join(
            acc_countries.group_by("account")
            .agg(pl.col("c").sort().alias("countries"))
            .rename({"account": "key"}),
            on="key",
            how="left",
        )
        .join(
            holders.select("account", _entity_id("party", pl.col("party_id")).alias("rel"))
            .unique()
            .group_by("account")
            .agg(pl.col("rel").sort().alias("related"))
            .rename({"account": "key"}),
            on="key",
            how="left",
        )
        .with_columns(
            pl.concat_list(
                pl.struct(pl.lit("account").alias("type"), pl.col("key").alias("value"))
            ).alias("identifiers")
        )
    )
    party_keys = holders.select(pl.col("party_id").alias("key")).unique()
    pvals = ids.join(party_keys, left_on="party_id", right_on="key", how="semi")
    parties_e = (
        party_keys.with_columns(
            _entity_id("party", pl.col("key")).alias("entity_id"), pl.lit("party").alias("kind")
        )
        .join(
            pvals.filter(pl.col("type") == "name")
            .group_by("party_id")
            .agg(pl.col("value").unique().sort().alias("names"))
            .rename({"party_id": "key"}),
            on="key",
            how="left",
        )
        .join(
            pvals.filter(pl.col("type") != "name")
            .select("party_id", pl.struct("type", "value").alias("i"))
            .unique()
            .sort("party_id", "i")
            .group_by("party_id", maintain_order=True)
            .agg(pl.col("i").alias("identifiers"))
            .rename({"party_id": "key"}),
            on="key",
            how="left",
        )
        .join(
            pl.concat([pvals.select("party_id", "source"), holders.select("party_id", "source")])
            .unique()
            .group_by("party_id")
            .agg(pl.col("source").sort().alias("sources"))
            .rename({"party_id": "key"}),
            on="key",
            how="left",
        )
        .join(
            pvals.drop_nulls("country")
            .group_by("party_id")
            .agg(pl.col("country").unique().sort().alias("countries"))
            .rename({"party_id": "key"}),
            on="key",
            how="left",
        )
        .join(
            holders.select("party_id", _entity_id("account", pl.col("account")).alias("rel"))
            .unique()
            .group_by("party_id")
            .agg(pl.col("rel").sort().alias("related"))
            .rename({"party_id": "key"}),
            on="key",
            how="left",
        )
    )
    # assessments of entities: alerts naming an account; a party inherits its accounts' alerts
    acc_hits = role_rows.select(
        _entity_id("account", pl.col("account")).alias("subject_id"),
        "alert_id",
        "typology",
        "score",
        "metrics",
    )
    party_hits = role_rows.join(
        holders.select("account", "party_id").unique(), on="account"
    ).select(
        _entity_id("party", pl.col("party_id")).alias("subject_id"),
        "alert_id",
        "typology",
        "score",
        "metrics",
    )
    ent_scores, ent_assess = _scores(pl.concat([acc_hits, party_hits]), "entity")
    person_of = pmembers.select(
        _entity_id("party", pl.col("party_id")).alias("entity_id"), "person_id"
    )
    person_scores, person_assess = _scores(
        party_hits.join(person_of.rename({"entity_id": "subject_id"}), on="subject_id")
        .with_columns(pl.col("person_id").alias("subject_id"))
        .drop("person_id"),
        "person",
    )
    roles = (
        pl.concat(
            [
                role_rows.select(
                    _entity_id("account", pl.col("account")).alias("entity_id"), "role"
                ),
                role_rows.join(holders.select("account", "party_id").unique(), on="account").select(
                    _entity_id("party", pl.col("party_id")).alias("entity_id"), "role"
                ),
            ]
        )
        .unique()
        .group_by("entity_id")
        .agg(pl.col("role").sort().alias("roles"))
    )
    party_network = (
        holders.select("account", "party_id")
        .unique()
        .join(members.select(pl.col("key").alias("account"), "network_id"), on="account")
        .group_by("party_id")
        .agg(pl.col("network_id").min())
        .select(_entity_id("party", pl.col("party_id")).alias("entity_id"), "network_id")
    )
    entities = (
        pl.concat([accounts, parties_e], how="diagonal_relaxed")
        .join(
            degrees.drop("key"),
            on="entity_id",
            how="left",
        )
        .join(party_network.rename({"network_id": "_pnet"}), on="entity_id", how="left")
        .with_columns(pl.coalesce("network_id", "_pnet").alias("network_id"))
        .join(person_of, on="entity_id", how="left")
        .join(roles, on="entity_id", how="left")
        .join(ent_assess.rename({"subject_id": "entity_id"}), on="entity_id", how="left")
        .with_columns(
            pl.col("names").fill_null([]),
            pl.col("identifiers").fill_null(pl.lit([], dtype=pl.List(IDENTIFIER))),
            pl.col("countries", "related", "sources", "roles").fill_null([]),
            pl.coalesce(pl.col("names").list.first(), pl.col("key")).alias("label"),
        )
    )
    entities = _handling(entities, "entity_id", ranks)
    persons = _persons(pmembers, pmerges, ids, holders, members, person_assess, ranks)

    # networks
    if links.height:
        players = (
            degrees.filter(pl.col("network_role") != "participant")
            .sort("network_id", "centrality", "entity_id", descending=[False, True, False])
            .group_by("network_id", maintain_order=True)
            .head(10)
            .group_by("network_id", maintain_order=True)
            .agg(
                pl.struct(
                    "entity_id",
                    "key",
                    pl.col("network_role").alias("role"),
                    "in_degree",
                    "out_degree",
                    "in_base",
                    "out_base",
                    "centrality",
                ).alias("key_players")
            )
        )
        net_hits = pl.concat(
            [
                links.select("network_id", "link_id")
                .join(
                    scored.select("link_id", "alert_id", "typology", "score", "metrics"),
                    on="link_id",
                )
                .drop("link_id"),
                members.select(pl.col("key").alias("account"), "network_id")
                .join(
                    role_rows.select("account", "alert_id", "typology", "score", "metrics"),
                    on="account",
                )
                .drop("account"),
            ]
        ).rename({"network_id": "subject_id"})
        net_scores, net_assess = _scores(net_hits, "network")
        net_src = (
            pl.concat(
                [
                    links.select("network_id", "sources").explode("sources"),
                    entities.select("network_id", "sources").explode("sources"),
                ]
            )
            .drop_nulls()
            .unique()
            .group_by("network_id")
            .agg(pl.col("sources").sort())
        )
        networks = (
            links.group_by("network_id")
            .agg(
                pl.len().cast(pl.Int64).alias("n_links"),
                pl.col("n_transfers").sum().cast(pl.Int64),
                pl.col("total_base").sum().round(2),
                pl.col("first_ts").min(),
                pl.col("last_ts").max(),
            )
            .join(
                members.group_by("network_id").agg(pl.col("entity_id").sort().alias("members")),
                on="network_id",
            )
            .with_columns(pl.col("members").list.len().cast(pl.Int64).alias("n_members"))
            .join(
                party_network.group_by("network_id").agg(
                    pl.col("entity_id").sort().alias("parties")
                ),
                on="network_id",
                how="left",
            )
            .join(net_src, on="network_id", how="left")
            .join(
                persons.select("person_id", "network_ids")
                .explode("network_ids")
                .group_by(pl.col("network_ids").alias("network_id"))
                .agg(pl.col("person_id").unique().sort().alias("persons")),
                on="network_id",
                how="left",
            )
            .join(players, on="network_id", how="left")
            .join(net_assess.rename({"subject_id": "network_id"}), on="network_id", how="left")
            .with_columns(
                pl.col("parties", "persons", "sources").fill_null([]),
                pl.col("key_players").fill_null(pl.lit([], dtype=pl.List(PLAYER))),
            )
        )
        networks = _handling(networks, "network_id", ranks)
    else:
        networks = pl.DataFrame(schema=NETWORKS)
        net_scores = pl.DataFrame(schema=SCORES)

    def finish(frame: pl.DataFrame, schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
        have = frame.columns
        cols = [
            (pl.col(c).cast(t) if c in have else pl.lit(None, dtype=t)).alias(c)
            for c, t in schema.items()
        ]
        out = frame.select(cols)
        list_assess = [c for c in ("typologies", "alert_ids") if c in schema]
        return out.with_columns(
            [pl.col(c).fill_null(pl.lit([], dtype=_STRS)) for c in list_assess]
            + [pl.col(c).fill_null(0) for c in ("n_alerts",) if c in schema]
            + [pl.col(c).fill_null(0.0) for c in ("score",) if c in schema]
        )

    entities = finish(entities, ENTITIES).sort("kind", "entity_id")
    links = finish(links, LINKS).sort("link_id")
    networks = finish(networks, NETWORKS).sort(
        "score", "total_base", "network_id", descending=[True, True, False]
    )
    if ranks is None:
        transfers = facts.with_columns(pl.lit(None, dtype=pl.String).alias("handling"))
    else:
        transfers = facts.join(ranks, on="source", how="left").with_columns(
            pl.col("rank")
            .replace_strict(dict(enumerate(HANDLING_CODES)), default=None, return_dtype=pl.String)
            .alias("handling")
        )
    transfers = finish(transfers, EVIDENCE).sort("ts", "source", "tx_id")
    shared = _shared(held, holders, members, pseudo, ranks)
    scores = (
        pl.concat([ent_scores, link_scores, net_scores, person_scores])
        .select(list(SCORES))
        .sort("subject_kind", "subject_id", "typology")
    )
    used = sorted(
        set(transfers["source"].to_list())
        | set(entities["sources"].explode().drop_nulls().to_list())
        | set(table["sources"].explode().drop_nulls().to_list())
    )
    src_table = src_table.filter(pl.col("source").is_in(used)).sort("source")
    block: dict[str, Any] = {
        "base_currency": currency,
        "rules": rules,
        "exclude_handling": list(excluded_codes),
        "excluded_sources": excluded,
        "pseudonymised": pseudo is not None,
        "key_id": pseudo.key_id if pseudo is not None else None,
        "handling": max(
            (c for c in src_table["handling"].to_list() if c is not None),
            key=lambda c: HANDLING_RANK[c],
            default=None,
        ),
        "report_counts": {
            "alerts": table.height,
            "entities": entities.height,
            "links": links.height,
            "networks": networks.height,
            "transfers": transfers.height,
            "shared": shared.height,
            "persons": persons.height,
        },
        "resolution": resolution,
    }
    block.update(meta or {})
    return LinkReport(
        entities=entities,
        links=links,
        networks=networks,
        scores=scores,
        transfers=transfers,
        alerts=table.sort("typology", "focus", "first_ts", "alert_id"),
        sources=src_table,
        meta=block,
        shared=shared,
        persons=finish(persons, PERSONS).sort(
            "score", "n_parties", "person_id", descending=[True, True, False]
        ),
    )


class _CallableModule(types.ModuleType):
    """``finintel.link`` is both this module and the function: importing the module sets the
    package attribute to the module (shadowing the lazily exported function), so the module
    itself calls :func:`link`."""

    def __call__(self, *args: Any, **kwargs: Any) -> LinkReport:
        return link(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
