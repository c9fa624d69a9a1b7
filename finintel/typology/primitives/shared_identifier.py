"""``shared_identifier``: one ID document, phone, e-mail, address, device or IP address used
under different names.

Reads the canonical parties (``RunContext.parties``). Each identifier is normalised before
comparing (no country inference — entity resolution does that later):

* ``phone``: E.164, local numbers read with the party's country as the region
  (``"0151 0000001"`` of a DE party → ``+491510000001``; :mod:`finintel.identifiers`);
* ``id_number``: upper-case letters and digits only, keyed with the issuing country when known
  (``id_number:DE:X1234567``; an ID without ``id_country`` is ``id_number:X1234567``);
* ``email``: trimmed, lower-case; ``address``: lower-case, runs of white space collapsed;
* ``device_id``: trimmed, lower-case; ``ip_address``: its normal text
  (:func:`finintel.identifiers.ip_text`: IPv6 compressed, IPv4-mapped as IPv4; others null).

Names are compared by their transliteration-tolerant key (:func:`finintel.names.name_key`):
``"Aisha Al-Obaidi"``, ``"AISHA ALOBAIDI"`` and ``"Aicha Al Obaidi"`` are one name, so spelling
variants of one person never count as different names, and names that share a name part are
grouped (:func:`name_groups`): ``distinct_names`` counts groups. Empty values are missing.

The focus is the identifier key, e.g. ``phone:+491510000001``. One window per key whose
``distinct_names >= min_names`` and whose identifier ``weight >= min_weight``; ``start`` /
``end`` are the first / last transfer of its parties among the (scoped) transfers, a key
whose parties have no transfer gives no window. Metrics: ``identifier`` (which one: ``phone``
…, usable in ``having``), ``distinct_names`` (non-empty names), ``distinct_parties`` (party
ids; a party recorded by several sources counts once, but all its names count) and ``weight``
(the identifier's weight: an ID document is strong evidence, phones, e-mails and devices
less, addresses and IP addresses least — families, shops and networks share them). Evidence:
every transfer of those parties, naming the party's account in it with the role ``holder``.

``weights`` maps identifiers to weights; identifiers it leaves out keep their default. The
default ``identifiers`` are the ID document, phone, e-mail and address; devices and IP
addresses are compared when named. ``max_names`` (absent: no limit) leaves out an identifier used
under more names than that: a public Wi-Fi or a carrier-grade NAT address is used by many
strangers and is no evidence of anything. ``names: keys`` counts name keys instead of groups
(only spelling variants of one name are one): among a community's names, which share common
parts (Ahmed, Mohamed), groups chain many people into one, so a device used by a dozen
migrants could count as one name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any, ClassVar

import polars as pl

from finintel.errors import FinintelError
from finintel.frames import compacted
from finintel.identifiers import e164, e164_rows, ip_addresses
from finintel.names import name_key
from finintel.schema import PARTIES, UTC_TS
from finintel.typology.primitives.base import (
    GROUP_BY,
    STREAMED,
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
    param_error,
)

__all__ = [
    "DEFAULT_IDENTIFIERS",
    "IDENTIFIERS",
    "SharedIdentifier",
    "normalise_identifier",
    "normalise_name",
]

#: The identifiers that can be shared, with their default weights.
IDENTIFIERS: dict[str, float] = {
    "id_number": 1.0,
    "phone": 0.6,
    "email": 0.6,
    "address": 0.3,
    "device_id": 0.6,
    "ip_address": 0.3,
}
#: How names are counted: ``grouped`` (:func:`name_groups`) or ``keys`` (name keys).
NAME_COUNTS: tuple[str, ...] = ("grouped", "keys")
#: The identifiers compared when a rule names none.
DEFAULT_IDENTIFIERS: tuple[str, ...] = ("id_number", "phone", "email", "address")

_WS = r"\s+"


def _blank_to_null(e: pl.Expr) -> pl.Expr:
    return pl.when(e.str.len_chars() > 0).then(e)


def normalise_name(name: pl.Expr) -> pl.Expr:
    """A name for comparison: its transliteration-tolerant key (:func:`finintel.names.name_key`).

    >>> pl.select(normalise_name(pl.lit("  AISHA   Al-Obaidi "))).item() == pl.select(
    ...     normalise_name(pl.lit("Aicha al Obaidi"))).item()
    True
    """
    return name_key(name)


def one_part_keys(members: pl.LazyFrame) -> pl.LazyFrame:
    """The keys whose names all share one name part: :func:`name_groups` links names that
    share a part, so such a key's names are one group (a household's phone: the family
    name). A cheap exact filter before the grouping, whose links grow with the names.

    >>> m = pl.LazyFrame({"key": ["p:1", "p:1", "p:2", "p:2"],
    ...                   "_name": ["mhmd l", "ftm l", "mhmd l", "hsn mr"]})
    >>> one_part_keys(m).collect()["key"].to_list()
    ['p:1']
    """
    nodes = members.select("key", "_name").drop_nulls().unique()
    names = nodes.group_by("key").agg(pl.len().alias("_n"))
    parts = (
        nodes.with_columns(pl.col("_name").str.split(" ").alias("_part"))
        .explode("_part")
        .filter(pl.col("_part").str.len_chars() > 0)
        .unique()
    )
    widest = (
        parts.group_by("key", "_part")
        .agg(pl.len().alias("_c"))
        .group_by("key")
        .agg(pl.col("_c").max().alias("_m"))
    )
    return names.join(widest, on="key").filter(pl.col("_m") == pl.col("_n")).select("key")


def name_groups(members: pl.LazyFrame, rounds: int = 6) -> pl.LazyFrame:
    """Group the names of each identifier key: names that may be one person's are one name.

    Returns ``key, _name, _group`` (the smallest name key of its group). Two names are linked
    when they share a name part, when one part starts with another (``Berhe`` / ``Berhane``,
    ``Nour`` / ``Nourhan``: short forms), when they are equal written together (``Gul Ahmad``
    / ``Gulahmad``), or when a part is another's with the article written on (``Alobaidi``). Spelling variants, an added or dropped family or tribal name and relatives
    with one family name thus fall in one group, and only clearly different names count.
    Groups are the connected components of these links, by min-label propagation.
    """
    nodes = members.select("key", "_name").drop_nulls().unique()
    split = nodes.with_columns(pl.col("_name").str.split(" ").alias("_parts"))
    parts = split.explode("_parts").filter(pl.col("_parts").str.len_chars() > 0)
    exact = pl.concat(
        [
            parts.select("key", "_name", pl.col("_parts").alias("_link")),
            # the Arabic article written together with the name: "Alobaidi" keys as "lbd",
            # "Al Obaidi" as "bd" (its separate article dropped)
            parts.filter(
                pl.col("_parts").str.starts_with("l") & (pl.col("_parts").str.len_chars() >= 3)
            ).select("key", "_name", pl.col("_parts").str.slice(1).alias("_link")),
        ]
    )
    # the proper prefixes (2 to 8 letters) of each part, linked only towards a name whose part
    # is exactly that prefix: two long parts sharing a beginning (Berhane, Bereket) are not
    short = (
        parts.with_columns(
            pl.concat_list([pl.col("_parts").str.slice(0, n) for n in range(2, 9)]).alias("_link")
        )
        .explode("_link")
        .filter(
            (pl.col("_link").str.len_chars() >= 2)
            & (pl.col("_link").str.len_chars() < pl.col("_parts").str.len_chars())
        )
        .select("key", "_name", "_link")
        .join(
            parts.select("key", pl.col("_parts").alias("_link")).unique(),
            on=["key", "_link"],
            how="semi",
        )
    )
    whole = split.select(
        "key", "_name", (pl.lit("=") + pl.col("_parts").list.join("")).alias("_link")
    )
    # a part links to another name's part when equal, or when it is a prefix of it
    links = pl.concat([exact, short, whole]).unique().collect().lazy()
    label = nodes.with_columns(pl.col("_name").alias("_group"))
    for _ in range(rounds):
        link_min = (
            links.join(label, on=["key", "_name"])
            .group_by("key", "_link")
            .agg(pl.col("_group").min())
        )
        label = (
            links.join(link_min, on=["key", "_link"])
            .group_by("key", "_name")
            .agg(pl.col("_group").min())
        )
    return label


def normalise_identifier(identifier: str) -> pl.Expr:
    """The comparison key ``"<identifier>:<normalised value>"`` of a parties row, or null.

    >>> df = pl.DataFrame({"phone": ["+49 151-000 0001", "0151 0000001", "n/a"], "country": ["DE"] * 3})
    >>> df.select(normalise_identifier("phone")).to_series().to_list()
    ['phone:+491510000001', 'phone:+491510000001', None]
    """
    col = pl.col(identifier).cast(pl.String)
    if identifier == "phone":
        value: pl.Expr = pl.struct(
            col.alias("phone"), pl.col("country").cast(pl.String).alias("country")
        ).map_batches(lambda s: e164(s.struct.unnest(), "phone", "country"), return_dtype=pl.String)
    elif identifier == "id_number":
        value = _blank_to_null(col.str.to_uppercase().str.replace_all(r"[^\p{L}\p{N}]", ""))
        country = _blank_to_null(
            pl.col("id_country").cast(pl.String).str.strip_chars().str.to_uppercase()
        )
        value = pl.when(country.is_not_null()).then(country + ":" + value).otherwise(value)
    elif identifier == "email":
        value = _blank_to_null(col.str.strip_chars().str.to_lowercase())
    elif identifier == "address":
        value = _blank_to_null(col.str.to_lowercase().str.replace_all(_WS, " ").str.strip_chars())
    elif identifier == "device_id":
        value = _blank_to_null(col.str.strip_chars().str.to_lowercase())
    elif identifier == "ip_address":
        value = col.map_batches(ip_addresses, return_dtype=pl.String)
    else:
        raise ValueError(f"unknown identifier {identifier!r}")
    return (pl.lit(identifier + ":") + value).alias("key")


class SharedIdentifier:
    """The same identifier recorded for parties under different names."""

    kind: ClassVar[str] = "shared_identifier"
    doc: ClassVar[str] = (
        "The same ID document, phone, e-mail, address, device or IP address used by parties "
        "with different names (weighted: ID document > phone, e-mail, device > address, IP)."
    )
    focus_role: ClassVar[str] = "shared identifier"
    focus_kind: ClassVar[str] = "identifier"
    # The focus is the identifier; parties are always the holders.
    group_by: ClassVar[tuple[str, ...]] = GROUP_BY
    params: ClassVar[Mapping[str, ParamSpec]] = {
        "identifiers": ParamSpec(
            "strings",
            list(DEFAULT_IDENTIFIERS),
            doc="which identifiers to compare",
            choices=tuple(IDENTIFIERS),
        ),
        "weights": ParamSpec(
            "weights",
            dict(IDENTIFIERS),
            doc="identifier: weight (0..1); identifiers left out keep their default",
        ),
        "min_names": ParamSpec("int", 2, doc="distinct names using one identifier", minimum=2),
        "min_weight": ParamSpec(
            "number", 0.6, doc="weight an identifier needs to trigger", minimum=0
        ),
        "names": ParamSpec(
            "string",
            "grouped",
            doc="how names count: 'grouped' (names sharing a part are one: relatives, short "
            "forms) or 'keys' (only spelling variants of one name are one)",
            choices=NAME_COUNTS,
        ),
        "max_names": ParamSpec(
            "int",
            None,
            doc="an identifier used under more names is left out (public Wi-Fi, carrier NAT); "
            "absent: no limit",
            minimum=2,
        ),
    }

    def _p(self, params: Mapping[str, Any], name: str) -> Any:
        return param(params, self.params, name, self.kind)

    def validate(self, params: Mapping[str, Any]) -> list[FinintelError]:
        """Problems of ``identifiers``, ``weights`` and ``names`` (the rule loader calls this)."""
        problems: list[FinintelError] = []
        for check in (self.identifiers, self.weights, self._names):
            try:
                check(params)
            except FinintelError as exc:
                problems.append(exc)
        return problems

    def identifiers(
        self, params: Mapping[str, Any], lists: Mapping[str, Sequence[object]] | None = None
    ) -> list[str]:
        """The identifiers to compare, in order; ``$list`` items are expanded from ``lists``."""
        value = self._p(params, "identifiers")
        items = [value] if isinstance(value, str) else list(value)
        out: list[str] = []
        for item in map(str, items):
            if item.startswith("$"):
                out += [str(v) for v in (lists or {}).get(item[1:], ())]
            else:
                out.append(item)
        for ident in out:
            if ident not in IDENTIFIERS:
                raise param_error(
                    self.kind,
                    "identifiers",
                    f"has an unknown identifier {ident!r} (known: {', '.join(IDENTIFIERS)})",
                )
        return list(dict.fromkeys(out))

    def _names(self, params: Mapping[str, Any]) -> str:
        value = self._p(params, "names")
        if value not in NAME_COUNTS:
            raise param_error(
                self.kind, "names", f"expects one of {', '.join(NAME_COUNTS)}, got {value!r}"
            )
        return str(value)

    def weights(self, params: Mapping[str, Any]) -> dict[str, float]:
        """Identifier → weight: the defaults, updated by the ``weights`` mapping."""
        given = params.get("weights")
        out = dict(IDENTIFIERS)
        if given is None:
            return out
        if not isinstance(given, Mapping):
            raise param_error(
                self.kind, "weights", f"expects a mapping identifier: weight, got {given!r}"
            )
        for key, value in given.items():
            if key not in IDENTIFIERS:
                raise param_error(
                    self.kind,
                    "weights",
                    f"has an unknown identifier {key!r} (known: {', '.join(IDENTIFIERS)})",
                )
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise param_error(
                    self.kind, "weights", f"expects a number ≥ 0 for {key!r}, got {value!r}"
                )
            out[str(key)] = float(value)
        return out

    def metrics(self, params: Mapping[str, Any]) -> Mapping[str, pl.DataType]:
        return {
            "identifier": pl.String(),
            "distinct_names": pl.Int64(),
            "distinct_parties": pl.Int64(),
            "weight": pl.Float64(),
        }

    def lookback(self, params: Mapping[str, Any]) -> timedelta:
        # Not windowed: the parties' whole history counts. "No limit" for incremental runs.
        return timedelta.max

    def condition(self, params: Mapping[str, Any]) -> pl.Expr:
        return (pl.col("distinct_names") >= int(self._p(params, "min_names"))) & (
            pl.col("weight") >= float(self._p(params, "min_weight"))
        )

    def thresholds(self, params: Mapping[str, Any]) -> list[Threshold]:
        return [
            Threshold("distinct_names", ">=", float(self._p(params, "min_names")), "names"),
            Threshold("weight", ">=", float(self._p(params, "min_weight")), "weight"),
        ]

    def explain(
        self,
        metrics: Mapping[str, Any],
        params: Mapping[str, Any],
        span: timedelta,
        amount: float,
        currency: str,
    ) -> str:
        """``"one phone used under 3 names (≥ 2) by 3 parties, weight 0.6 (≥ 0.6)"``."""
        parties = metrics.get("distinct_parties")
        what = str(metrics.get("identifier") or "identifier").replace("_", " ")
        return (
            f"one {what} used under {fmt_number(metrics.get('distinct_names'))} names "
            f"(≥ {self._p(params, 'min_names')}) by {fmt_number(parties)} "
            f"{'party' if parties == 1 else 'parties'}, weight "
            f"{fmt_number(metrics.get('weight'))} (≥ {fmt_number(self._p(params, 'min_weight'))})"
        )

    def plan(self, transfers: pl.LazyFrame, params: Mapping[str, Any], ctx: RunContext) -> Plan:
        weights = self.weights(params)
        min_weight = float(self._p(params, "min_weight"))
        idents = [i for i in self.identifiers(params, ctx.lists) if weights[i] >= min_weight]
        if ctx.parties is None or not idents:
            return empty_plan(self.metrics(params))
        parties = _parties(ctx.parties).with_columns(pl.col("name").cast(pl.String))
        # name keys per distinct name (many parties are one name written again)
        names = compacted(
            parties.select("name")
            .unique()
            .with_columns(normalise_name(pl.col("name")).alias("_name"))
            .collect()
        )
        parties = parties.join(names.lazy(), on="name", how="left", nulls_equal=True)
        min_names = int(self._p(params, "min_names"))
        grouped = self._names(params) != "keys"
        max_names = self._p(params, "max_names")
        # counting name keys, a key's count is already its distinct names: over max_names it
        # is left out here (grouped, names may still merge below it)
        most = None if grouped or max_names is None else int(max_names)
        members = pl.concat(
            [
                _candidates(parties, ident, weights[ident], (min_names, most), grouped)
                for ident in idents
            ]
        ).lazy()
        if grouped:
            members = members.join(name_groups(members), on=["key", "_name"], how="left")
        else:
            members = members.with_columns(pl.col("_name").alias("_group"))
        keys = (
            members.group_by("key")
            .agg(
                pl.col("_group").drop_nulls().n_unique().cast(pl.Int64).alias("distinct_names"),
                pl.col("party_id").n_unique().cast(pl.Int64).alias("distinct_parties"),
                pl.col("identifier").first(),
                pl.col("weight").first(),
            )
            .filter(pl.col("distinct_names") >= min_names)
        )
        if max_names is not None:
            keys = keys.filter(pl.col("distinct_names") <= int(max_names))
        holders = (
            members.join(keys.select("key"), on="key", how="semi")
            .select("key", "party_id")
            .unique()
        )
        have = transfers.collect_schema().names()
        sides = [
            transfers.select(
                "ts",
                "tx_id",
                "source",
                pl.col(f"{s}_party").cast(pl.String).alias("party_id"),
                pl.col(f"{s}_account").cast(pl.String).alias("account"),
                pl.col("amount_base").cast(pl.Float64),
            ).filter(pl.col("party_id").is_not_null())
            for s in ("src", "dst")
            if f"{s}_party" in have
        ]
        if not sides:
            return empty_plan(self.metrics(params))
        evidence = (
            pl.concat(sides)
            .join(holders, on="party_id", how="inner")
            .select(
                pl.col("key").alias(FOCUS),
                "ts",
                "tx_id",
                "source",
                "account",
                pl.lit("holder", dtype=pl.String).alias("role"),
                "amount_base",
            )
            .unique()
            .sort(*ORDER, "account", nulls_last=True)
        )
        spans = evidence.group_by(FOCUS).agg(
            pl.col("ts").min().alias(START), pl.col("ts").max().alias(END)
        )
        windows = (
            keys.rename({"key": FOCUS})
            .join(spans, on=FOCUS, how="inner")
            .select(
                FOCUS,
                pl.col(START).cast(UTC_TS),
                pl.col(END).cast(UTC_TS),
                "identifier",
                "distinct_names",
                "distinct_parties",
                "weight",
            )
            .sort(FOCUS)
        )
        return Plan(windows, evidence)


#: The identifiers normalised in Python (phone numbers, IP addresses), by the columns they
#: are read from: each distinct value is read once, not once per party and part.
_PARSED = {"phone": ("phone", "country"), "ip_address": ("ip_address",)}

#: Parts (by hash of the key) the parties' identifier keys are counted in, one after the
#: other: each part's keys and names fit in memory however many parties a store holds.
KEY_PARTS = 8


def _candidates(
    parties: pl.LazyFrame,
    identifier: str,
    weight: float,
    names: tuple[int, int | None],
    grouped: bool,
) -> pl.DataFrame:
    """``party_id, _name, key, identifier, weight`` of the parties whose ``identifier`` key is
    recorded under at least ``min_names`` and at most ``most`` (``names``; None: no limit)
    name keys (grouping can only merge names: other keys cannot trigger) and, when names are
    ``grouped``, whose names do not all share a part (one family's phone: one group, never
    enough). One identifier at a time, streamed from the parties in :data:`KEY_PARTS` parts by
    key, and only the candidates kept: a large store's parties are never all in memory."""
    min_names, most = names
    counted = pl.col("len") >= min_names
    if most is not None:
        counted = counted & (pl.col("len") <= most)
    keyed: pl.DataFrame | None = None
    raw = _PARSED.get(identifier)
    if raw is not None:  # read in Python: once per distinct value, then joined
        distinct = (
            parties.select([pl.col(c).cast(pl.String) for c in raw])
            .filter(pl.col(identifier).is_not_null())
            .unique()
            .collect(engine="streaming")
        )
        distinct = compacted(distinct)
        if identifier == "phone":
            key = "phone:" + e164_rows(distinct, "phone", "country")
        else:
            key = distinct.select(normalise_identifier(identifier)).to_series()
        keyed = distinct.with_columns(key.alias("key")).drop_nulls("key")
        del distinct, key
    found = []
    for part in range(KEY_PARTS):
        mine = pl.col("key").hash(seed=0) % KEY_PARTS == part
        if keyed is not None and raw is not None:
            members = parties.join(
                keyed.filter(mine).lazy(), on=list(raw), how="inner", nulls_equal=True
            ).select(pl.col("party_id").cast(pl.String), "_name", "key")
        else:
            members = parties.select(
                pl.col("party_id").cast(pl.String), "_name", normalise_identifier(identifier)
            ).filter(mine)
        members = members.filter(pl.col("key").is_not_null() & pl.col("party_id").is_not_null())
        candidates = (
            members.select("key", "_name")
            .drop_nulls()
            .unique()
            .group_by("key")
            .len()
            .filter(counted)
            .select("key")
        )
        # compacted: the few rows kept would hold the buffers of all the parties read
        kept = compacted(
            members.join(candidates, on="key", how="semi").collect(
                engine="streaming", optimizations=STREAMED
            )
        )
        if grouped and min_names >= 2:
            kept = kept.join(one_part_keys(kept.lazy()).collect(), on="key", how="anti")
        found.append(kept)
    return pl.concat(found).with_columns(
        pl.lit(identifier, dtype=pl.String).alias("identifier"),
        pl.lit(weight, dtype=pl.Float64).alias("weight"),
    )


def _parties(parties: pl.LazyFrame) -> pl.LazyFrame:
    have = parties.collect_schema().names()
    missing = [pl.lit(None, dtype=t).alias(c) for c, t in PARTIES.items() if c not in have]
    return parties.with_columns(missing) if missing else parties


register(SharedIdentifier())
