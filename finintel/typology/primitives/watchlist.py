"""``watchlist``: every transfer touching a target of an investigation's targets file.

The rule names a targets file (``targets``: YAML or CSV, see :mod:`finintel.targets`), found
next to the rule file or in a ``lists/`` folder above it. A transfer touches a target when one
of its sides matches it:

* **exactly** on an identifier: the side's account (``account``), or its party's ID number
  (``id_number``; issuing countries must not differ when both are known), e-mail (``email``) or
  phone in E.164 (``phone``, a local number read with the party's country) — score 1;
* **by name** (``name``): the party's name and a target name share a part of their
  transliteration-tolerant keys (:func:`finintel.names.name_key`: the blocks, so only
  candidates are compared), and their similarity — ``rapidfuzz`` token-sort ratio of the ASCII
  forms without particles; names with one key score at least :data:`KEY_SCORE` — is at least
  ``min_name_score``. A recorded birth date that is not one of the target's rules the match out;
  with ``require_support`` (default) a name match also needs the birth date or the country
  (party or ID country) to agree.

Matching runs over the distinct accounts, parties and names, never per transfer; the hits are
then joined to the transfers. Focus: the target id (``focus_kind`` ``target``). One window per
matched transfer (``start = end = ts``), so each transfer is its own alert (transfers of one
target at the very same instant are one) and, in incremental runs, every new transfer touching a
target is a new alert. Metrics: ``target``, ``field`` (the identifier matched, or ``name``),
``match`` (``exact`` / ``fuzzy``), ``score``, ``support`` (agreeing fields of a name match,
comma-separated) and ``side`` (``sender`` / ``receiver``); the strongest match of a transfer is
kept (exact before fuzzy; account, ID, e-mail, phone; higher score). Evidence: the transfer, with
the matching side's account in the role ``target``. Explanations name fields and scores, never
the matched values (reports may be pseudonymised).

Resolved persons: with ``resolve: true`` or ``group_by: entity`` the run's parties are resolved
(:func:`finintel.resolve`, once per run, honouring the analyst decisions file), and a target
matched on one party record also flags the transfers of the other parties of the same resolved
person (metric ``resolved`` true; the explanation says so). A direct match of a transfer's own
party is kept before one through the person. The kind still works on the party records (its
focus is the target), so ``group_by: entity`` means just this.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar

import numpy as np
import polars as pl
from rapidfuzz import fuzz
from rapidfuzz.process import cpdist

from finintel.errors import ErrorList, FinintelError
from finintel.frames import compacted
from finintel.identifiers import could_be_phone, e164
from finintel.names import PARTICLES, name_key
from finintel.schema import PARTIES, UTC_TS
from finintel.targets import (
    FIELDS,
    Targets,
    load_targets,
    normalise_account,
    normalise_email,
    normalise_id,
)
from finintel.typology.primitives.base import (
    GROUP_BY,
    FileRef,
    ParamSpec,
    Plan,
    RunContext,
    Threshold,
    register,
)
from finintel.typology.primitives.windows import (
    END,
    FOCUS,
    ORDER,
    START,
    empty_plan,
    fmt_number,
    param,
)

__all__ = ["KEY_SCORE", "Watchlist", "plain_name"]

#: The least score of two names with one transliteration-tolerant key (Mohammed / Muhammad).
KEY_SCORE = 0.9
MATCH_ON = (*FIELDS, "name")
_RANK = {f: i for i, f in enumerate(MATCH_ON)}
_HITS = {
    "target": pl.String(),
    "field": pl.String(),
    "match": pl.String(),
    "score": pl.Float64(),
    "support": pl.String(),
    "resolved": pl.Boolean(),
}


def plain_name(name: pl.Expr) -> pl.Expr:
    """A name for scoring: ASCII, lower-case, particles dropped, single spaces.

    >>> pl.select(plain_name(pl.lit("Aïsha AL-Obaidi"))).item()
    'aisha obaidi'
    """
    s = name.cast(pl.String).str.normalize("NFKD").str.replace_all(r"\p{Mn}", "").str.to_lowercase()
    s = pl.lit(" ") + s.str.replace_all(r"[^a-z]+", " ") + pl.lit(" ")
    for particle in PARTICLES:
        s = s.str.replace_all(f" {particle} ", " ", literal=True)
    s = s.str.replace_all(r"\s+", " ").str.strip_chars()
    return pl.when(s.str.len_chars() > 0).then(s)


@functools.lru_cache(maxsize=16)
def _load(path: str, sha256: str) -> Targets:
    return load_targets(path)


def targets_of(params: Mapping[str, Any]) -> Targets:
    """The parsed targets file of a rule's parameters (cached by content digest)."""
    ref = params["targets"]
    assert isinstance(ref, FileRef)
    return _load(ref.path, ref.sha256)


class Watchlist:
    """Transfers touching a target of a targets file (exact identifier or fuzzy name)."""

    kind: ClassVar[str] = "watchlist"
    doc: ClassVar[str] = (
        "Every transfer whose account or party matches a target of a targets file: exactly on "
        "an account, ID number, e-mail or phone, or by a similar name with a supporting field."
    )
    focus_role: ClassVar[str] = "target"
    focus_kind: ClassVar[str] = "target"
    group_by: ClassVar[tuple[str, ...]] = GROUP_BY  # the focus is always the target
    params: ClassVar[Mapping[str, ParamSpec]] = {
        "targets": ParamSpec(
            "file", required=True, doc="targets file (YAML or CSV) next to the rule or in lists/"
        ),
        "match_on": ParamSpec(
            "strings", list(MATCH_ON), doc="what may match a target", choices=MATCH_ON
        ),
        "min_name_score": ParamSpec(
            "number", 0.85, doc="least name similarity (0..1) of a name match", minimum=0
        ),
        "require_support": ParamSpec(
            "bool", True, doc="a name match also needs an agreeing birth date or country"
        ),
        "resolve": ParamSpec(
            "bool",
            False,
            doc="a match on one party record also flags the other records of the same resolved "
            "person (entity resolution)",
        ),
    }

    def _p(self, params: Mapping[str, Any], name: str) -> Any:
        return param(params, self.params, name, self.kind)

    def resolves_entities(self, params: Mapping[str, Any]) -> bool:
        """Whether the rule extends matches to the other records of a resolved person."""
        return bool(self._p(params, "resolve"))

    def validate(self, params: Mapping[str, Any]) -> list[FinintelError]:
        """The targets file's problems, each at its own line (the rule loader calls this)."""
        if not isinstance(params.get("targets"), FileRef):
            return []
        try:
            targets_of(params)
        except ErrorList as exc:
            return list(exc.errors)
        except FinintelError as exc:
            return [exc]
        return []

    def metrics(self, params: Mapping[str, Any]) -> Mapping[str, pl.DataType]:
        return {
            "target": pl.String(),
            "field": pl.String(),
            "match": pl.String(),
            "score": pl.Float64(),
            "support": pl.String(),
            "side": pl.String(),
            "resolved": pl.Boolean(),
        }

    def lookback(self, params: Mapping[str, Any]) -> timedelta:
        return timedelta(0)  # each transfer on its own

    def condition(self, params: Mapping[str, Any]) -> pl.Expr:
        return pl.col("score") >= float(self._p(params, "min_name_score"))

    def thresholds(self, params: Mapping[str, Any]) -> list[Threshold]:
        return [Threshold("score", ">=", float(self._p(params, "min_name_score")), "score")]

    def explain(
        self,
        metrics: Mapping[str, Any],
        params: Mapping[str, Any],
        span: timedelta,
        amount: float,
        currency: str,
    ) -> str:
        """``"sender matches target T-001 on phone (exact)"`` or ``"receiver matches target
        T-001 by name, score 0.91 (≥ 0.85), with birth date, country"``."""
        who = f"{metrics.get('side')} matches target {metrics.get('target')}"
        via = (
            " through another record of the same resolved person" if metrics.get("resolved") else ""
        )
        if metrics.get("match") == "exact":
            return f"{who}{via} on {str(metrics.get('field')).replace('_', ' ')} (exact)"
        support = str(metrics.get("support") or "")
        tail = (
            f", with {support.replace('_', ' ').replace(',', ', ')}"
            if support
            else ", no supporting field"
        )
        return (
            f"{who}{via} by name, score {fmt_number(metrics.get('score'))} "
            f"(≥ {fmt_number(self._p(params, 'min_name_score'))}){tail}"
        )

    def plan(self, transfers: pl.LazyFrame, params: Mapping[str, Any], ctx: RunContext) -> Plan:
        targets = targets_of(params)
        match_on = [str(m) for m in self._p(params, "match_on")]
        have = transfers.collect_schema().names()
        sides = pl.concat(
            [
                transfers.select(
                    "ts",
                    "tx_id",
                    "source",
                    pl.col("amount_base").cast(pl.Float64),
                    pl.col(f"{s}_account").cast(pl.String).alias("account"),
                    (pl.col(f"{s}_party") if f"{s}_party" in have else pl.lit(None))
                    .cast(pl.String)
                    .alias("party"),
                    pl.lit(side, dtype=pl.String).alias("side"),
                )
                for s, side in (("src", "sender"), ("dst", "receiver"))
            ]
        )
        found: list[pl.LazyFrame] = []
        if "account" in match_on:
            keys = targets.keys.filter(pl.col("field") == "account").select("target", "key")
            wanted = normalise_account(pl.col("account")).is_in(keys.get_column("key").implode())
            accounts = (  # the few matching accounts, read once (streamed: all the sides)
                compacted(
                    sides.select("account").filter(wanted).unique().collect(engine="streaming")
                )
                .with_columns(normalise_account(pl.col("account")).alias("key"))
                .join(keys, on="key")
                .select("account", *_exact("account"))
            )
            found.append(sides.join(accounts.lazy(), on="account"))
        if ctx.parties is not None:
            parties = _party_matches(ctx.parties, targets, match_on, params, self)
            if ctx.entities is not None:
                parties = _same_person(parties, ctx.entities)
            if parties.height:
                found.append(sides.join(parties.lazy(), left_on="party", right_on="party_id"))
        if not found:
            return empty_plan(self.metrics(params))
        rank = pl.col("field").replace_strict(_RANK, return_dtype=pl.Int64)
        hits = (
            pl.concat(found, how="diagonal_relaxed")
            .with_columns(rank.alias("_rank"), pl.col("resolved").fill_null(False))
            .sort("target", "source", "tx_id", "resolved", "_rank", pl.col("score"), "side",
                  "support", descending=[False, False, False, False, False, True, False, False])
        )  # fmt: skip
        windows = (
            hits.unique(["target", "source", "tx_id"], keep="first", maintain_order=True)
            .select(
                pl.col("target").alias(FOCUS),
                pl.col("ts").cast(UTC_TS).alias(START),
                pl.col("ts").cast(UTC_TS).alias(END),
                "target",
                "field",
                "match",
                "score",
                "support",
                "side",
                "resolved",
            )
            .sort(FOCUS, START, "field", "side")
        )
        evidence = (
            hits.select(
                pl.col("target").alias(FOCUS),
                "ts",
                "tx_id",
                "source",
                "account",
                pl.lit("target", dtype=pl.String).alias("role"),
                "amount_base",
            )
            .unique()
            .sort(*ORDER, "account", nulls_last=True)
        )
        return Plan(windows, evidence)


def _exact(field: str) -> list[pl.Expr]:
    return [
        pl.col("target"),
        pl.lit(field, dtype=pl.String).alias("field"),
        pl.lit("exact", dtype=pl.String).alias("match"),
        pl.lit(1.0, dtype=pl.Float64).alias("score"),
        pl.lit("", dtype=pl.String).alias("support"),
        pl.lit(False, dtype=pl.Boolean).alias("resolved"),
    ]


def _same_person(hits: pl.DataFrame, members: pl.DataFrame) -> pl.DataFrame:
    """Party matches plus the other parties of each matched party's resolved person."""
    ents = members.select(
        pl.col("party_id").cast(pl.String), pl.col("entity_id").cast(pl.String)
    ).unique()
    others = (
        hits.join(ents, on="party_id")
        .join(ents.rename({"party_id": "_other"}), on="entity_id")
        .filter(pl.col("_other") != pl.col("party_id"))
        .with_columns(pl.col("_other").alias("party_id"), pl.lit(True).alias("resolved"))
        .select("party_id", *_HITS)
    )
    rank = pl.col("field").replace_strict(_RANK, return_dtype=pl.Int64)
    return (
        pl.concat([hits.select("party_id", *_HITS), others])
        .with_columns(rank.alias("_rank"))
        .sort("party_id", "target", "resolved", "_rank", pl.col("score"), "support",
              descending=[False, False, False, False, True, False])
        .unique(["party_id", "target"], keep="first", maintain_order=True)
        .drop("_rank")
    )  # fmt: skip


def _party_matches(
    parties_lf: pl.LazyFrame,
    targets: Targets,
    match_on: list[str],
    params: Mapping[str, Any],
    prim: Watchlist,
) -> pl.DataFrame:
    """``party_id`` with target, field, match, score, support: each party's best match."""
    have = parties_lf.collect_schema().names()
    missing = [pl.lit(None, dtype=t).alias(c) for c, t in PARTIES.items() if c not in have]
    selected = (parties_lf.with_columns(missing) if missing else parties_lf).select(
        pl.col("party_id").cast(pl.String),
        pl.col("name").cast(pl.String),
        pl.col("birth_date").cast(pl.Date),
        pl.col("id_number").cast(pl.String),
        pl.col("id_country").cast(pl.String).str.to_uppercase(),
        pl.col("phone").cast(pl.String),
        pl.col("email").cast(pl.String),
        pl.col("country").cast(pl.String).str.to_uppercase(),
    )
    # each field narrows the (possibly very many) parties to its candidates before reading them
    parties = selected.filter(pl.col("party_id").is_not_null())
    keys = targets.keys
    out: list[pl.DataFrame] = []
    if "id_number" in match_on:
        tids = keys.filter(pl.col("field") == "id_number").select(
            "target", "key", pl.col("id_country").alias("_tc")
        )
        ids = (
            parties.select("party_id", normalise_id(pl.col("id_number")).alias("key"), "id_country")
            .filter(pl.col("key").is_in(tids.get_column("key").implode()))
            .unique()
            .collect()
        )
        hit = ids.join(tids, on="key").filter(
            pl.col("_tc").is_null() | pl.col("id_country").is_null()
            | (pl.col("_tc") == pl.col("id_country"))
        )  # fmt: skip
        out.append(hit.select("party_id", *_exact("id_number")))
    if "email" in match_on:
        wanted = keys.filter(pl.col("field") == "email").get_column("key")
        emails = (
            parties.select("party_id", normalise_email(pl.col("email")).alias("key"))
            .filter(pl.col("key").is_in(wanted.implode()))
            .unique()
            .collect()
        )
        out.append(_join_key(emails, keys, "email"))
    if "phone" in match_on:
        numbers = keys.filter(pl.col("field") == "phone").get_column("key").drop_nulls()
        with_phone = (
            parties.select("party_id", "phone", "country")
            .filter(could_be_phone(pl.col("phone"), numbers.to_list()))
            .unique()
            .collect()
        )
        phones = with_phone.select("party_id", e164(with_phone, "phone", "country").alias("key"))
        out.append(_join_key(phones, keys, "phone"))
    if "name" in match_on and targets.names.height:
        out.append(_name_matches(parties, targets, params, prim))
    found = pl.concat([f.select("party_id", *_HITS) for f in out]) if out else None
    if found is None or found.is_empty():
        return pl.DataFrame(schema={"party_id": pl.String(), **_HITS})
    rank = pl.col("field").replace_strict(_RANK, return_dtype=pl.Int64)
    return (
        found.with_columns(rank.alias("_rank"))
        .sort("party_id", "target", "_rank", pl.col("score"), "support",
              descending=[False, False, False, True, False])
        .unique(["party_id", "target"], keep="first", maintain_order=True)
        .drop("_rank")
    )  # fmt: skip


def _join_key(values: pl.DataFrame, keys: pl.DataFrame, field: str) -> pl.DataFrame:
    wanted = keys.filter(pl.col("field") == field).select("target", "key")
    return values.drop_nulls("key").join(wanted, on="key").select("party_id", *_exact(field))


def _name_matches(
    parties: pl.LazyFrame, targets: Targets, params: Mapping[str, Any], prim: Watchlist
) -> pl.DataFrame:
    """Name matches within blocks of shared name-key parts, over distinct names (only the
    parties whose name matched are read in full)."""
    min_score = float(prim._p(params, "min_name_score"))

    def names(frame: pl.DataFrame, col: str) -> pl.DataFrame:
        return (
            frame.select(pl.col(col).alias("name"))
            .drop_nulls()
            .unique()
            .with_columns(
                plain_name(pl.col("name")).alias("plain"), name_key(pl.col("name")).alias("key")
            )
            .drop_nulls(["plain", "key"])
        )

    pn = names(parties.select("name").unique().collect(), "name")
    tn = names(targets.names, "name")
    parts = pl.col("key").str.split(" ").alias("part")
    cand = (
        tn.with_columns(parts)
        .explode("part")
        .join(pn.with_columns(parts).explode("part"), on="part", suffix="_p")
        .select("name", "plain", "key", "name_p", "plain_p", "key_p")
        .unique()
        .sort("name", "name_p")
    )
    if cand.is_empty():
        return pl.DataFrame(schema={"party_id": pl.String(), **_HITS})
    ratio = cpdist(cand["plain"].to_list(), cand["plain_p"].to_list(), scorer=fuzz.token_sort_ratio)
    score = pl.Series("score", np.round(np.asarray(ratio, dtype=np.float64) / 100.0, 3))
    cand = cand.with_columns(score).with_columns(
        pl.when(pl.col("key") == pl.col("key_p"))
        .then(pl.max_horizontal("score", pl.lit(KEY_SCORE)))
        .otherwise("score")
        .alias("score")
    )
    cand = cand.filter(pl.col("score") >= min_score)
    tnames = targets.names.select("target", "name").join(
        cand.select("name", "name_p", "score"), on="name"
    )
    joined = (
        tnames.join(
            parties.select("party_id", "name", "birth_date", "country", "id_country")
            .filter(pl.col("name").is_in(cand.get_column("name_p").unique().implode()))
            .unique()
            .collect(),
            left_on="name_p",
            right_on="name",
        )
        .join(targets.support, on="target", how="left")
        .with_columns(
            pl.col("birth_dates")
            .list.contains(pl.col("birth_date"))
            .fill_null(False)
            .alias("_dob"),
            (
                pl.col("countries").list.contains(pl.col("country")).fill_null(False)
                | pl.col("countries").list.contains(pl.col("id_country")).fill_null(False)
            ).alias("_cty"),
        )
        .filter(
            pl.col("birth_date").is_null()
            | (pl.col("birth_dates").list.len() == 0)
            | pl.col("_dob")
        )
    )
    if bool(prim._p(params, "require_support")):
        joined = joined.filter(pl.col("_dob") | pl.col("_cty"))
    support = pl.concat_list(
        pl.when(pl.col("_dob")).then(pl.lit("birth_date")),
        pl.when(pl.col("_cty")).then(pl.lit("country")),
    ).list.drop_nulls()
    return joined.select(
        "party_id",
        "target",
        pl.lit("name", dtype=pl.String).alias("field"),
        pl.lit("fuzzy", dtype=pl.String).alias("match"),
        pl.col("score").cast(pl.Float64),
        support.list.join(",").alias("support"),
        pl.lit(False, dtype=pl.Boolean).alias("resolved"),
    )


register(Watchlist())
