"""Entity resolution: one person behind many party records (``finintel.resolve``).

Parties (DESIGN §3) are linked into entities in two stages, every link kept as evidence:

1. **Identifiers.** The same ID document (upper-case alphanumeric number + issuing country)
   merges (rule ``id_document``, strong), and so does the same valid IBAN or crypto wallet of
   the optional ``accounts`` (rule ``account``, strong); the same e-mail merges (rule
   ``email``, medium; ``ResolveParams.email_merges``). A shared phone or address alone never
   merges — families and shops share them — it only supports a name match, and not even that
   when many parties record it (``max_support_parties``: a shop's or an agent's). A shared
   device id or IP address is the weakest support, under the same limit (a family's tablet, a
   public Wi-Fi or a carrier's NAT address).
2. **Names within blocks.** Candidate pairs come from blocks (each name-key part + birth date,
   name key + country, phone, address, e-mail, device, IP address; each also split by name-key
   part when too large),
   so no step compares all parties with all. A pair merges when its name similarity is at least
   ``name_threshold`` AND a supporting field agrees (rule ``name+birth_date``, ``name+email``,
   ``name+phone``, ``name+address``, ``name+device_id``, ``name+ip_address``) and the birth dates do not contradict each other
   (1 January birth dates are placeholders: they never support a merge).

The name similarity is an IDF-weighted token alignment: names are split into parts (Arabic
articles dropped), each part keyed with :func:`finintel.names.name_key` (transliteration
variants share a key) and folded to ASCII; two parts match when their keys are equal, their
vowel keys (:func:`finintel.names.vowel_key`) agree or their spellings are close, and their
ASCII forms not far apart (1.0); when one edit apart (a typing error), a short form of the other
(Berhe / Berhane) or close by normalised Indel similarity (``rapidfuzz``); never when one is
the other with the feminine -a (Samir / Samira). The score is the weighted Dice coefficient of
the matched parts (weights: inverse document frequency over the input, so very common parts
count little); swapped order does not matter; a name contained in the other (patronymic names:
"Abdi Hassan Mohamed" / "Abdi Hassan") scores ``containment`` times its coverage when the birth
dates or the given names agree, and less when the longer one has a given name in front (a son);
one name with other spacing ("Ben Ali" / "Benali") scores ``joined_score``. A match on one very
common part alone scores 0.

Edges become entities through connected components (``scipy.sparse.csgraph``). An analyst
decisions file (YAML) is honoured on every run: ``same`` adds an edge, ``not_same`` removes every
edge between the two and keeps them apart (merging stops at the link that would join them),
``split`` isolates a party. Entity ids are digests of the sorted member party ids, so they do not
depend on the input order. See ``docs/resolution.md``.

>>> import polars as pl
>>> from datetime import date
>>> parties = pl.DataFrame({"party_id": ["a", "b", "c"],
...     "name": ["Mohammed Ali", "Muhammad Ali", "Omar Ali"],
...     "birth_date": [date(1990, 5, 1), date(1990, 5, 1), date(1990, 5, 1)]})
>>> ents = resolve(parties)
>>> ents.members.sort("party_id").select("party_id", "rule").rows()
[('a', 'name+birth_date'), ('b', 'name+birth_date'), ('c', None)]
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from finintel.errors import ConfigError, DataError, FinintelError, Location, did_you_mean, raise_all
from finintel.hashing import digest_text
from finintel.identifiers import account_keys, e164, ip_addresses
from finintel.names import PARTICLES, name_key, vowel_key
from finintel.schema import PARTIES

__all__ = [
    "Decision",
    "Decisions",
    "Entities",
    "ResolveParams",
    "load_decisions",
    "name_similarity",
    "resolve",
]

#: Rules in order of strength: the edge that brought a party in is its strongest.
RULES: tuple[str, ...] = (
    "decision:same",
    "id_document",
    "account",
    "email",
    "name+birth_date",
    "name+email",
    "name+phone",
    "name+address",
    "name+device_id",
    "name+ip_address",
)
_PRIORITY = {r: i for i, r in enumerate(RULES)}
#: Identifiers that support a name match (never merge alone), strongest first.
_SUPPORT_IDS: tuple[str, ...] = ("phone", "email", "address", "device_id", "ip_address")


@dataclass(frozen=True)
class ResolveParams:
    """The thresholds of entity resolution (defaults in brackets are starting values)."""

    #: a name match merges at this similarity or more, given a supporting field [0.8]
    name_threshold: float = 0.8
    #: two name parts with different keys match when their ASCII forms' normalised Indel
    #: similarity (``rapidfuzz``) is this or more ("Oluseun" / "Oluwaseun": 0.875) [0.85]
    token_threshold: float = 0.85
    #: two parts with one key match only when their ASCII forms' Jaro-Winkler similarity is this
    #: or more (keys are coarse: "Idrissi" and "Darweesh" share one) [0.6]
    key_floor: float = 0.6
    #: two parts with one key but different vowel keys (Mohammed / Mahmoud) match only when
    #: their Jaro-Winkler similarity is this or more (Abraham / Abrham: 0.95) [0.9]
    vowel_floor: float = 0.9
    #: parts shorter than this match only by key, never fuzzily ("Ali" / "Adil") [5]
    min_fuzzy_length: int = 5
    #: a part whose key starts the other's (at least 2 letters of key, 4 of spelling) is its
    #: short form when their Jaro-Winkler similarity is this or more (Berhe / Berhane: 0.94,
    #: Habte / Habtom: 0.89) [0.88] …
    short_form_floor: float = 0.88
    #: … and the two parts match with this score [0.9]
    short_form_score: float = 0.9
    #: the score of two parts of at least 4 letters one edit apart (two for 7 letters or more;
    #: optimal string alignment: a transposition is one edit): "Ibrahim" / "Ibrhim" [0.9]
    typo_score: float = 0.9
    #: a phone, address, device or IP address recorded for more parties than this is a shop's,
    #: an agent's or a public network's: it supports no name match (it still forms a candidate
    #: block) [12]
    max_support_parties: int = 12
    #: the score of one name written with other spacing or particles ("Ben Ali" / "Benali") [0.95]
    joined_score: float = 0.95
    #: … given other numbers of parts, one key without spaces and an Indel similarity of
    #: at least this without spaces ("Mirways Karimy" / "Mir Wais Karimi": 0.85) [0.8]
    joined_floor: float = 0.8
    #: birth dates ending so are placeholders (unknown day and month): they never support a
    #: merge, but two different ones still contradict each other ["-01-01"]
    placeholder_dates: tuple[str, ...] = ("-01-01",)
    #: a name contained in the other scores ``containment`` × its coverage (birth date only) [0.9]
    containment: float = 0.9
    #: a name that is another one with a given name in front (a son's name in patronymic
    #: naming) has its score multiplied by this [0.9]
    leading_name_factor: float = 0.9
    #: a name part is very common when it is in this share of the parties or more [0.01] …
    common_share: float = 0.01
    #: … and in at least this many parties [20]; a match on one common part alone scores 0
    common_min_parties: int = 20
    #: blocks with more parties are split by name-key part, or skipped when still too large [100]
    max_block: int = 100
    #: the same e-mail merges on its own (medium evidence) [True]
    email_merges: bool = True
    #: keep candidate pairs with neither a supporting field nor a name score at the threshold
    #: in ``Entities.pairs`` (they explain nothing and are most of the candidates) [False]
    keep_unsupported_pairs: bool = False


@dataclass(frozen=True)
class Decision:
    """One analyst decision with its position in the decisions file."""

    kind: str  # same | not_same | split
    parties: tuple[str, ...]
    location: Location | None = None
    note: str | None = None
    #: the position of each party id (for unknown-id errors)
    party_locations: tuple[Location | None, ...] = ()


@dataclass(frozen=True)
class Decisions:
    """An analyst decisions file: ``decisions: [{same: [a, b]}, {not_same: [a, b]}, {split: x}]``."""

    items: tuple[Decision, ...] = ()
    file: str | None = None

    @classmethod
    def from_text(cls, text: str, file: str = "<decisions>") -> Decisions:
        from finintel.yamlpos import load_text

        return _parse_decisions(load_text(text, file), file)

    @classmethod
    def from_list(cls, items: Iterable[Mapping[str, Any]]) -> Decisions:
        """Decisions from plain data (``[{"same": ["a", "b"]}, …]``), validated like a file."""
        return _parse_decisions({"decisions": list(items)}, "<decisions>")


def load_decisions(path: str | Path) -> Decisions:
    """Read and validate a decisions file (party ids are checked by :func:`resolve`)."""
    from finintel.yamlpos import load_file

    return _parse_decisions(load_file(path), str(path))


@dataclass
class Entities:
    """The result of :func:`resolve`: plain DataFrames, sorted, with stable ids."""

    #: entity_id, party_ids, names, identifiers, countries, sources, n_parties
    entities: pl.DataFrame
    #: party_id, source, entity_id, rule, value, via, name_score (how the party came in)
    members: pl.DataFrame
    #: party_a, party_b, rule, value, name_a, name_b, name_score, accepted, reason
    pairs: pl.DataFrame
    params: ResolveParams = field(default_factory=ResolveParams)
    #: counts: parties, entities, candidate pairs, skipped blocks …
    stats: dict[str, int] = field(default_factory=dict)


# --------------------------------------------------------------------------- decisions file
_KINDS = ("same", "not_same", "split")


def _pos(container: Any, key: Any, file: str, fallback: Location | None) -> Location | None:
    lc = getattr(container, "lc", None)
    if lc is None:
        return fallback
    try:
        line, col = lc.item(key) if isinstance(key, int) else lc.value(key)
    except (KeyError, TypeError, AttributeError, IndexError):
        return fallback
    return Location(file, line=int(line) + 1, col=int(col) + 1)


def _err(message: str, loc: Location | None, code: str = "FI120") -> ConfigError:
    return ConfigError(code, message, loc)


def _parse_decisions(data: Any, file: str) -> Decisions:
    errors: list[FinintelError] = []
    top = Location(file, line=1, col=1)
    if data is None:
        return Decisions((), file)
    if not isinstance(data, Mapping) or "decisions" not in data:
        raise _err("a decisions file is a mapping with a 'decisions' list", top)
    for key in data:
        if key != "decisions":
            where = _pos(data, key, file, top)
            errors.append(_err(f"unknown key {key!r} (expected 'decisions')", where))
    items = data["decisions"]
    if items is None:
        items = []
    if not isinstance(items, list):
        raise _err("'decisions' expects a list", _pos(data, "decisions", file, top))
    out: list[Decision] = []
    for i, item in enumerate(items):
        loc = _pos(items, i, file, top)
        if not isinstance(item, Mapping):
            errors.append(_err("a decision is a mapping: same, not_same or split", loc))
            continue
        kinds = [k for k in item if k in _KINDS]
        unknown = [str(k) for k in item if k not in (*_KINDS, "note")]
        if unknown:
            errors.append(
                _err(
                    f"unknown key {unknown[0]!r}{did_you_mean(unknown[0], [*_KINDS, 'note'])}", loc
                )
            )
            continue
        if len(kinds) != 1:
            errors.append(_err("a decision has exactly one of same, not_same, split", loc))
            continue
        kind = str(kinds[0])
        value = item[kind]
        vloc = _pos(item, kind, file, loc)
        note = item.get("note")
        if kind == "split":
            ids = [value] if isinstance(value, str | int) and not isinstance(value, bool) else value
            if not isinstance(ids, list) or len(ids) != 1:
                errors.append(_err("'split' expects one party id", vloc))
                continue
        else:
            ids = value
            if not isinstance(ids, list) or len(ids) != 2:
                errors.append(_err(f"{kind!r} expects a list of two party ids", vloc))
                continue
        if not all(isinstance(v, str | int) and not isinstance(v, bool) for v in ids):
            errors.append(_err(f"{kind!r} expects party ids (text)", vloc))
            continue
        parties = tuple(str(v) for v in ids)
        if kind != "split" and parties[0] == parties[1]:
            errors.append(_err(f"{kind!r} names party {parties[0]!r} twice", vloc, "FI123"))
            continue
        # the position of each party id (for unknown-id errors) in a flow or block list
        if kind != "split" and hasattr(value, "lc"):
            locs = [_pos(value, j, file, vloc) for j in range(len(parties))]
        else:
            locs = [vloc] * len(parties)
        out.append(Decision(kind, parties, loc, None if note is None else str(note), tuple(locs)))
    same = {frozenset(d.parties): d for d in out if d.kind == "same"}
    for d in out:
        if d.kind == "not_same" and frozenset(d.parties) in same:
            errors.append(
                _err(
                    f"parties {d.parties[0]!r} and {d.parties[1]!r} are marked both same and not_same",
                    d.location,
                    "FI122",
                )
            )
    raise_all(errors)
    return Decisions(tuple(out), file)


def _check_parties(decisions: Decisions, known: set[str]) -> None:
    errors: list[FinintelError] = []
    for d in decisions.items:
        locs = d.party_locations or (d.location,) * len(d.parties)
        for pid, loc in zip(d.parties, locs, strict=False):
            if pid not in known:
                errors.append(_err(f"unknown party id {pid!r} in {d.kind!r}", loc, "FI121"))
    raise_all(errors)


# --------------------------------------------------------------------------- normalisation
def _blank(e: pl.Expr) -> pl.Expr:
    return pl.when(e.str.len_chars() > 0).then(e)


def _ascii(e: pl.Expr) -> pl.Expr:
    s = e.cast(pl.String).str.replace_all("[çÇčČ]", "ch").str.replace_all("[şŞšŠ]", "sh")
    s = s.str.normalize("NFKD").str.replace_all(r"\p{Mn}", "").str.to_lowercase()
    for a, b in (("ı", "i"), ("ł", "l"), ("ø", "o"), ("æ", "ae"), ("đ", "d"), ("ß", "ss")):
        s = s.str.replace_all(a, b, literal=True)
    return s.str.replace_all(r"[^a-z]+", " ").str.strip_chars()


def _normalise(parties: pl.DataFrame) -> pl.DataFrame:
    """Per row: node, normalised identifiers and the ASCII name."""
    # fewer distinct (phone, region) pairs to parse: separators removed, 00 → +, and no region
    # for international numbers (libphonenumber ignores both), so "+963 955 834972" and
    # "00963955834972" are parsed once
    digits = pl.col("phone").str.replace_all(r"[\s\-./()]", "")
    digits = (
        pl.when(digits.str.starts_with("00"))
        .then(pl.lit("+") + digits.str.slice(2))
        .otherwise(digits)
    )
    region = (
        pl.when(digits.str.starts_with("+"))
        .then(pl.lit(None, pl.String))
        .otherwise(pl.col("country").cast(pl.String))
    )
    phone = e164(parties.select(digits.alias("p"), region.alias("r")), "p", "r")
    up_country = pl.col("country").cast(pl.String).str.strip_chars().str.to_uppercase()
    id_num = _blank(pl.col("id_number").str.to_uppercase().str.replace_all(r"[^\p{L}\p{N}]", ""))
    id_ctry = pl.col("id_country").cast(pl.String).str.strip_chars().str.to_uppercase()
    return parties.with_columns(
        phone.alias("phone_n"),
        _blank(up_country).alias("country_n"),
        pl.when(id_num.is_not_null())
        .then(pl.coalesce(_blank(id_ctry), pl.lit("?")) + pl.lit(":") + id_num)
        .alias("id_n"),
        _blank(pl.col("email").str.strip_chars().str.to_lowercase()).alias("email_n"),
        _blank(
            pl.col("address")
            .str.to_lowercase()
            .str.replace_all(r"[^\p{L}\p{N}]+", " ")
            .str.strip_chars()
        ).alias("address_n"),
        _blank(pl.col("device_id").str.strip_chars().str.to_lowercase()).alias("device_n"),
        pl.col("ip_address").map_batches(ip_addresses, return_dtype=pl.String).alias("ip_n"),
        _blank(_ascii(pl.col("name"))).alias("ascii"),
        name_key(pl.col("name")).alias("key"),
    )


# --------------------------------------------------------------------------- name similarity
_Token = tuple[str, str, float, bool, str]  # ascii, key, weight, common, vowel key


@dataclass(frozen=True)
class _Name:
    tokens: tuple[_Token, ...]
    joined: str  # the ASCII name with its spaces removed (particles kept)
    joined_key: str  # its name key ("Ben Ali" / "Benali", "Abdel Fattah" / "Abdelfattah")
    words: int = 0  # words of the ASCII name (particles included)


_EMPTY = _Name((), "", "")


def _token_sim(a: _Token, b: _Token, params: ResolveParams) -> float:
    from rapidfuzz.distance import OSA, Indel, JaroWinkler

    if a[0] == b[0]:
        return 1.0
    if _feminine(a[0], b[0]):
        return 0.0
    jw = JaroWinkler.normalized_similarity(a[0], b[0])
    # keys are coarse (Mohammed, Mahmoud and Ahmed share one): the vowel keys must agree too,
    # or the spellings be close; the article may be written on (Alsharif / Sharif)
    for x, y in ((a, b), (b, a)):
        if x[1] == y[1] or (x[1].startswith("l") and x[1][1:] == y[1]):
            vx = x[4][2:] if x[1] != y[1] and x[4].startswith("al") else x[4]
            if jw >= params.key_floor and (vx == y[4] or jw >= params.vowel_floor):
                return 1.0
    # j is y and w is v in German spellings (Kajah / Kaya, Schiwan / Şivan), j is g in Egyptian
    # ones: keys that agree without g (which j folds to) and v match when the vowel keys agree
    # or the spellings are close
    if (a[4] == b[4] or jw >= params.vowel_floor) and _loose(a[1]) == _loose(b[1]) != "":
        return 1.0
    # a short form: one key starts the other, and the spellings agree (Berhe / Berhane)
    short, long_ = (a, b) if len(a[1]) <= len(b[1]) else (b, a)
    if (
        len(short[1]) >= 2
        and len(short[0]) >= 4
        and long_[1].startswith(short[1])
        and jw >= params.short_form_floor
    ):
        return params.short_form_score
    shortest = min(len(a[0]), len(b[0]))
    # a typing error: one edit (a transposition counts one), two in long parts
    if shortest >= 4 and OSA.distance(a[0], b[0], score_cutoff=2) <= (2 if shortest >= 7 else 1):
        return params.typo_score
    if shortest < params.min_fuzzy_length:
        return 0.0
    sim = float(Indel.normalized_similarity(a[0], b[0]))
    return sim if sim >= params.token_threshold else 0.0


def _loose(key: str) -> str:
    return key.replace("g", "").replace("v", "")


_CONSONANT_END = frozenset("bcdfgjklmnpqrstvxz")


def _feminine(a: str, b: str) -> bool:
    """One part is the other with the feminine ending -a (Samir / Samira, Karim / Karima)."""
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return (
        long_.endswith("a")
        and bool(short)
        and short[-1] in _CONSONANT_END
        and long_[:2] == short[:2]
        and 1 <= len(long_) - len(short) <= 2
    )


def _score(
    a: _Name,
    b: _Name,
    params: ResolveParams,
    contain: bool,
    cache: dict[tuple[str, str], float] | None = None,
) -> float:
    """The IDF-weighted token-alignment similarity of two tokenised names (0..1); ``cache``
    keeps part similarities across calls (names repeat their parts)."""
    from rapidfuzz.distance import Indel

    ta, tb = a.tokens, b.tokens
    if not ta or not tb:
        return 0.0
    memo: dict[tuple[str, str], float] = {} if cache is None else cache
    cand = []
    for i, x in enumerate(ta):
        for j, y in enumerate(tb):
            s = memo.get((x[0], y[0]))
            if s is None:
                s = memo[(x[0], y[0])] = _token_sim(x, y, params)
            if s > 0.0:
                cand.append((-s, i, j))
    cand.sort()
    used_a: set[int] = set()
    used_b: set[int] = set()
    matched = 0.0
    n = 0
    only_common = True
    first = False  # the first parts (given names) match each other
    for neg, i, j in cand:
        if i in used_a or j in used_b:
            continue
        used_a.add(i)
        used_b.add(j)
        matched += -neg * (ta[i][2] + tb[j][2]) / 2.0
        n += 1
        only_common = only_common and (ta[i][3] or tb[j][3])
        first = first or (i == 0 and j == 0)
    score = 0.0
    if n > 1 or (n == 1 and not only_common):
        wa = sum(t[2] for t in ta)
        wb = sum(t[2] for t in tb)
        score = 2.0 * matched / (wa + wb)
        if n >= 2 and n == min(len(ta), len(tb)) and len(ta) != len(tb):
            if contain or first:
                # the father's name added or dropped: "Mansoor Sultani" / "Mansoor Nasir
                # Sultani" (the given names agree), or any order with a shared birth date
                score = max(score, params.containment * matched / min(wa, wb))
            elif 0 not in (used_a if len(ta) > len(tb) else used_b):
                # a given name before all of the other name: "Amanuel Yordanos Berhane" is
                # Yordanos Berhane's son
                score *= params.leading_name_factor
    # the same name written with other spacing ("Gebre Medhin" / "Gebremedhin", "Ben Ali")
    if (
        score < params.joined_score
        and a.words != b.words
        and len(a.joined_key) >= 4
        and a.joined_key == b.joined_key
        and (
            a.joined == b.joined
            or Indel.normalized_similarity(a.joined, b.joined) >= params.joined_floor
        )
    ):
        score = params.joined_score
    return min(1.0, score)


def _tokenise(names: pl.DataFrame, total: int, params: ResolveParams) -> dict[int, _Name]:
    """``name_id → _Name`` with IDF weights over the parties (``names``: name_id, ascii, n)."""
    particles = list(PARTICLES)
    toks = (
        names.select("name_id", "n", pl.col("ascii").str.split(" ").alias("t"))
        .with_columns(pl.int_ranges(pl.col("t").list.len()).alias("pos"))
        .explode("t", "pos")
        .filter(pl.col("t").is_not_null() & (pl.col("t") != "") & ~pl.col("t").is_in(particles))
        .with_columns(
            name_key(pl.col("t")).alias("k"), vowel_key(pl.col("t")).fill_null("").alias("vk")
        )
        .filter(pl.col("k").is_not_null())
    )
    df = toks.group_by("k").agg(pl.col("n").sum().alias("df"))
    toks = toks.join(df, on="k", how="left").with_columns(
        (1.0 + (pl.lit(float(total) + 1.0) / (pl.col("df") + 1.0)).log()).alias("w"),
        (
            (pl.col("df") >= params.common_min_parties)
            & (pl.col("df") >= params.common_share * total)
        ).alias("common"),
    )
    tokens: dict[int, list[_Token]] = {}
    for nid, t, k, w, c, vk in (
        toks.sort("name_id", "pos").select("name_id", "t", "k", "w", "common", "vk").iter_rows()
    ):
        tokens.setdefault(int(nid), []).append((str(t), str(k), float(w), bool(c), str(vk)))
    joined = names.select(
        "name_id",
        pl.col("ascii").str.replace_all(" ", "", literal=True).alias("j"),
        pl.col("ascii").str.split(" ").list.len().alias("w"),
    ).with_columns(name_key(pl.col("j")).fill_null("").alias("jk"))
    joined = joined.select("name_id", "j", "jk", "w")
    return {
        int(nid): _Name(tuple(tokens.get(int(nid), [])), str(j), str(jk), int(w))
        for nid, j, jk, w in joined.iter_rows()
    }


def name_similarity(a: str, b: str, params: ResolveParams | None = None) -> float:
    """The name score of two names alone (every part weighted alike, no containment).

    >>> name_similarity("Ali Hassan", "Hassan Ali"), name_similarity("Ahmed Hassan", "Omar Hassan")
    (1.0, 0.5)
    >>> name_similarity("Hanane Ben Ali", "Hanane Benali"), name_similarity("Ali Hassan", "Adil Hassan")
    (0.95, 0.5)
    """
    p = params or ResolveParams()
    names = pl.DataFrame({"name_id": [0, 1], "n": [1, 1], "name": [a, b]}).with_columns(
        _ascii(pl.col("name")).alias("ascii")
    )
    toks = _tokenise(names, 2, replace(p, common_min_parties=10**9))
    flat = {
        k: replace(v, tokens=tuple((t[0], t[1], 1.0, False, t[4]) for t in v.tokens))
        for k, v in toks.items()
    }
    empty = _Name((), "", "")
    return round(_score(flat.get(0, empty), flat.get(1, empty), p, contain=False), 4)


# --------------------------------------------------------------------------- resolution
def _collect(parties: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    lf = parties.lazy()
    have = lf.collect_schema().names()
    for col in ("party_id", "name"):
        if col not in have:
            raise DataError("FI124", f"parties need a {col!r} column (found: {', '.join(have)})")
    exprs = [
        (pl.col(c).cast(t) if c in have else pl.lit(None, dtype=t)).alias(c)
        for c, t in PARTIES.items()
    ]
    return lf.select(exprs).filter(pl.col("party_id").is_not_null()).collect()


def _accounts(accounts: pl.DataFrame | pl.LazyFrame | None, node_ids: pl.DataFrame) -> pl.DataFrame:
    """Per node: the keys of its valid IBANs and wallets (kind ``account``)."""
    empty = pl.DataFrame(schema={"node": pl.Int64(), "kind": pl.String(), "value": pl.String()})
    if accounts is None:
        return empty
    lf = accounts.lazy()
    have = lf.collect_schema().names()
    for col in ("party_id", "account"):
        if col not in have:
            raise DataError("FI124", f"accounts need a {col!r} column (found: {', '.join(have)})")
    text = pl.col("account").cast(pl.String).str.replace_all(r"\s+", "")
    # one spelling per account: IBANs upper case, Ethereum and segwit wallets lower case
    text = (
        pl.when(text.str.contains(r"^(?i:0x|bc1)"))
        .then(text.str.to_lowercase())
        .when(text.str.contains(r"^[A-Za-z]{2}[0-9]{2}"))
        .then(text.str.to_uppercase())
        .otherwise(text)
    )
    frame = (
        lf.select(pl.col("party_id").cast(pl.String), text.alias("value"))
        .filter(pl.col("value").str.len_chars() > 0)
        .drop_nulls()
        .unique()
        .collect()
        .join(node_ids, on="party_id")
        .select("node", pl.lit("account").alias("kind"), "value")
        .sort("node", "value")
    )
    # only an account of several parties can link them: validate those (once per value)
    shared = frame.filter(pl.len().over("value") > 1)
    keys = shared.select("node", "kind", account_keys(shared["value"]).alias("value"))
    return frame.with_columns(pl.lit("account_text").alias("kind")).vstack(keys.drop_nulls())


def _attr(rows: pl.DataFrame, col: str, kind: str) -> pl.DataFrame:
    return (
        rows.select("node", pl.lit(kind).alias("kind"), pl.col(col).cast(pl.String).alias("value"))
        .drop_nulls()
        .unique()
    )


def _pairs_in_blocks(blocks: pl.DataFrame, max_block: int) -> tuple[pl.DataFrame, int]:
    """Node pairs ``a < b`` sharing a block of at most ``max_block`` nodes; skipped blocks."""
    sizes = blocks.group_by("block").agg(pl.len().alias("size"))
    ok = sizes.filter((pl.col("size") >= 2) & (pl.col("size") <= max_block))
    skipped = sizes.filter(pl.col("size") > max_block).height
    # blocks as integer ids, and the self-join lazy (only pairs a < b are kept)
    b = (
        blocks.join(ok.select("block"), on="block", how="semi")
        .select("node", pl.col("block").rank("dense").cast(pl.UInt32))
        .lazy()
    )
    pairs = (
        b.join(b, on="block", suffix="_b")
        .filter(pl.col("node") < pl.col("node_b"))
        .select(pl.col("node").alias("a"), pl.col("node_b").alias("b"))
        .unique()
        .collect()
    )
    return pairs, skipped


def _blocks(attrs: pl.DataFrame, parts: pl.DataFrame, params: ResolveParams) -> pl.DataFrame:
    """Blocking keys per node: name-key part + birth date, name key + country, and the
    supporting identifiers (phone, address, e-mail, device, IP address), each split by name-key
    part when large; a device or IP address of more than ``max_support_parties`` forms none."""
    max_block = params.max_block
    dob = attrs.filter((pl.col("kind") == "birth_date") & ~_placeholder(params)).select(
        "node", pl.col("value").alias("d")
    )
    keys = attrs.filter(pl.col("kind") == "key").select("node", pl.col("value").alias("k"))
    ctry = attrs.filter(pl.col("kind") == "country").select("node", pl.col("value").alias("c"))
    part_dob = parts.join(dob, on="node").select(
        "node", (pl.lit("d|") + pl.col("d") + pl.lit("|") + pl.col("part")).alias("block")
    )
    key_ctry = keys.join(ctry, on="node").select(
        "node", (pl.lit("n|") + pl.col("k") + pl.lit("|") + pl.col("c")).alias("block")
    )
    ident = attrs.filter(pl.col("kind").is_in(_SUPPORT_IDS)).select(
        "node", (pl.col("kind") + pl.lit("|") + pl.col("value")).alias("block")
    )
    sizes = ident.group_by("block").agg(pl.len().alias("size"))
    # a device or IP address of many parties (a public network) supports nothing: no block
    busy_net = sizes.filter(
        pl.col("block").str.contains(r"^(device_id|ip_address)\|")
        & (pl.col("size") > params.max_support_parties)
    )
    ident = ident.join(busy_net, on="block", how="anti")
    big = ident.join(sizes.filter(pl.col("size") > max_block), on="block", how="semi")
    split = big.join(parts, on="node").select(
        "node", (pl.col("block") + pl.lit("|") + pl.col("part")).alias("block")
    )
    return pl.concat([part_dob, key_ctry, ident, split]).unique()


def account_holders(transfers: pl.LazyFrame) -> pl.LazyFrame:
    """``party_id, account`` pairs of the transfers (both sides), for :func:`resolve`'s
    ``accounts``.

    >>> t = pl.LazyFrame({"src_party": ["a"], "src_account": ["X"], "dst_party": ["b"],
    ...                   "dst_account": ["Y"]})
    >>> account_holders(t).collect().rows()
    [('a', 'X'), ('b', 'Y')]
    """
    sides = [
        transfers.select(
            pl.col(f"{side}_party").alias("party_id"), pl.col(f"{side}_account").alias("account")
        )
        for side in ("src", "dst")
    ]
    return pl.concat(sides).drop_nulls().unique().sort("party_id", "account")


def resolve(
    parties: pl.DataFrame | pl.LazyFrame,
    decisions: Decisions | str | Path | Iterable[Mapping[str, Any]] | None = None,
    params: ResolveParams | None = None,
    accounts: pl.DataFrame | pl.LazyFrame | None = None,
) -> Entities:
    """Resolve parties (canonical parties schema) into entities; see the module docstring.

    ``accounts`` (optional): ``party_id, account`` rows, e.g. the ``src_party, src_account``
    and ``dst_party, dst_account`` pairs of the transfers. A valid IBAN or crypto wallet shared
    by two parties links them (rule ``account``); other account numbers never do.

    ``decisions``: a :class:`Decisions`, a path to a decisions YAML file, or a list of
    ``{"same": [a, b]}`` / ``{"not_same": [a, b]}`` / ``{"split": x}`` items. Unknown party ids
    in it raise ``FI121`` with the file position.
    """
    p = params or ResolveParams()
    if decisions is None:
        dec = Decisions()
    elif isinstance(decisions, Decisions):
        dec = decisions
    elif isinstance(decisions, str | Path):
        dec = load_decisions(decisions)
    else:
        dec = Decisions.from_list(decisions)

    raw = _collect(parties)
    node_ids = raw.select("party_id").unique().sort("party_id")
    node_ids = node_ids.with_row_index("node").with_columns(pl.col("node").cast(pl.Int64))
    n = node_ids.height
    _check_parties(dec, set(node_ids["party_id"].to_list()))
    rows = _normalise(raw).join(node_ids, on="party_id")
    pid = node_ids["party_id"]

    acc = _accounts(accounts, node_ids)
    attrs = pl.concat(
        [
            acc,
            _attr(rows, "id_n", "id_document"),
            _attr(rows, "email_n", "email"),
            _attr(rows, "phone_n", "phone"),
            _attr(rows, "address_n", "address"),
            _attr(rows, "device_n", "device_id"),
            _attr(rows, "ip_n", "ip_address"),
            _attr(rows, "birth_date", "birth_date"),
            _attr(rows, "key", "key"),
            _attr(rows, "country_n", "country"),
        ]
    )

    # ---- identifier edges (star over each group: hub = smallest node)
    id_kinds = ["id_document", "account", *(["email"] if p.email_merges else [])]
    ident = attrs.filter(pl.col("kind").is_in(id_kinds))
    ident_edges = (
        ident.with_columns(pl.col("node").min().over("kind", "value").alias("hub"))
        .filter(pl.col("node") != pl.col("hub"))
        .select(
            pl.col("hub").alias("a"),
            pl.col("node").alias("b"),
            pl.col("kind").alias("rule"),
            "value",
        )
        .sort("a", "b", "rule", "value")
        .unique(["a", "b", "rule"], keep="first", maintain_order=True)
        .with_columns(pl.lit(None, pl.Float64).alias("name_score"))
    )

    # ---- name candidates
    names = (
        rows.select("node", "ascii")
        .drop_nulls()
        .unique()
        .sort("ascii")
        .with_columns(pl.col("ascii").rank("dense").cast(pl.Int64).alias("name_id"))
    )
    name_ids = names.select("ascii", "name_id").unique()
    per_name = names.group_by("name_id").agg(pl.col("node").n_unique().alias("n"))
    tokens = _tokenise(name_ids.join(per_name, on="name_id"), n, p)
    parts = (
        rows.select("node", pl.col("key").str.split(" ").alias("part"))
        .drop_nulls()
        .explode("part")
        .filter(pl.col("part").str.len_chars() > 0)
        .unique()
    )
    blocks = _blocks(attrs, parts, p)
    cand, skipped = _pairs_in_blocks(blocks, p.max_block)

    node_names = names.select("node", "name_id")
    name_pairs = cand.join(node_names.rename({"node": "a", "name_id": "na"}), on="a").join(
        node_names.rename({"node": "b", "name_id": "nb"}), on="b"
    )
    support = _support(cand, attrs, p)
    supported = pl.any_horizontal(
        pl.col(f"m_{k}").is_not_null() for k in ("birth_date", *_SUPPORT_IDS)
    )
    name_pairs = name_pairs.join(
        support.select("a", "b", "has_dob", supported.alias("_sup")), on=["a", "b"], how="left"
    )
    if not p.keep_unsupported_pairs:
        # a pair without a supporting field cannot merge: scored (and listed) only when the
        # two name keys are equal (a near miss worth explaining), which saves most scoring
        node_key = rows.select("node", "key").unique("node", keep="first")
        name_pairs = (
            name_pairs.join(node_key.rename({"node": "a", "key": "_ka"}), on="a", how="left")
            .join(node_key.rename({"node": "b", "key": "_kb"}), on="b", how="left")
            .filter(pl.col("_sup").fill_null(False) | (pl.col("_ka") == pl.col("_kb")))
            .drop("_ka", "_kb")
        )
    name_pairs = name_pairs.drop("_sup")
    distinct = name_pairs.select("na", "nb", pl.col("has_dob").fill_null(False)).unique()
    cache: dict[tuple[str, str], float] = {}
    scores = [
        _score(tokens.get(int(x), _EMPTY), tokens.get(int(y), _EMPTY), p, bool(c), cache)
        for x, y, c in distinct.iter_rows()
    ]
    del cache
    distinct = distinct.with_columns(pl.Series("name_score", scores, dtype=pl.Float64))
    best = (
        name_pairs.with_columns(pl.col("has_dob").fill_null(False))
        .join(distinct, on=["na", "nb", "has_dob"])
        .sort(
            "a",
            "b",
            pl.col("name_score"),
            "na",
            "nb",
            descending=[False, False, True, False, False],
        )
        .unique(["a", "b"], keep="first", maintain_order=True)
        .join(support, on=["a", "b"], how="left")
    )
    name_list = name_ids.sort("name_id")
    ascii_of = dict(zip(name_list["name_id"].to_list(), name_list["ascii"].to_list(), strict=True))
    best = best.with_columns(
        pl.col("na").replace_strict(ascii_of, return_dtype=pl.String).alias("name_a"),
        pl.col("nb").replace_strict(ascii_of, return_dtype=pl.String).alias("name_b"),
    )
    thr = p.name_threshold
    rule = (
        pl.when(pl.col("m_birth_date").is_not_null())
        .then(pl.lit("name+birth_date"))
        .when(pl.col("m_phone").is_not_null())
        .then(pl.lit("name+phone"))
        .when(pl.col("m_email").is_not_null())
        .then(pl.lit("name+email"))
        .when(pl.col("m_address").is_not_null())
        .then(pl.lit("name+address"))
        .when(pl.col("m_device_id").is_not_null())
        .then(pl.lit("name+device_id"))
        .when(pl.col("m_ip_address").is_not_null())
        .then(pl.lit("name+ip_address"))
    )
    value = pl.coalesce(
        "m_birth_date", "m_phone", "m_email", "m_address", "m_device_id", "m_ip_address"
    )
    reason = (
        pl.when(pl.col("dob_conflict"))
        .then(pl.lit("birth dates differ"))
        .when(pl.col("name_score") < thr)
        .then(pl.format("name score {} < {}", pl.col("name_score").round(3), pl.lit(thr)))
        .when(rule.is_null())
        .then(pl.lit("no supporting field (birth date, phone, e-mail, address, device, IP)"))
    )
    name_edges = best.with_columns(
        rule.alias("rule"),
        value.alias("value"),
        pl.col("dob_conflict").fill_null(False),
    ).with_columns(reason.alias("reason"))
    # free the candidate frames before the entities are assembled (peak memory)
    n_candidates = cand.height
    del cand, blocks, parts, name_pairs, support, best, distinct, tokens, ascii_of, attrs

    # ---- decisions
    split_nodes: set[int] = set()
    not_same: set[tuple[int, int]] = set()
    same_edges: list[tuple[int, int]] = []
    index = dict(zip(node_ids["party_id"].to_list(), node_ids["node"].to_list(), strict=True))
    for d in dec.items:
        ids = [index[x] for x in d.parties]
        if d.kind == "split":
            split_nodes.add(ids[0])
        else:
            a, b = min(ids), max(ids)
            (same_edges.append((a, b)) if d.kind == "same" else not_same.add((a, b)))

    schema = {
        "a": pl.Int64(),
        "b": pl.Int64(),
        "rule": pl.String(),
        "value": pl.String(),
        "name_a": pl.String(),
        "name_b": pl.String(),
        "name_score": pl.Float64(),
        "reason": pl.String(),
    }
    cast = [pl.col(c).cast(t) for c, t in schema.items()]
    all_edges = pl.concat(
        [
            ident_edges.with_columns(
                pl.lit(None, pl.String).alias("name_a"),
                pl.lit(None, pl.String).alias("name_b"),
                pl.lit(None, pl.String).alias("reason"),
            ).select(cast),
            name_edges.select(cast),
            pl.DataFrame(
                {
                    "a": [e[0] for e in same_edges],
                    "b": [e[1] for e in same_edges],
                    "rule": ["decision:same"] * len(same_edges),
                },
                schema={"a": pl.Int64(), "b": pl.Int64(), "rule": pl.String()},
            )
            .with_columns(
                pl.lit(None, pl.String).alias("value"),
                pl.lit(None, pl.String).alias("name_a"),
                pl.lit(None, pl.String).alias("name_b"),
                pl.lit(None, pl.Float64).alias("name_score"),
                pl.lit(None, pl.String).alias("reason"),
            )
            .select(cast),
        ],
        how="vertical",
    )
    ns = pl.DataFrame(
        {"a": [x for x, _ in not_same], "b": [y for _, y in not_same]},
        schema={"a": pl.Int64(), "b": pl.Int64()},
    ).with_columns(pl.lit(True).alias("_ns"))
    split_list = sorted(split_nodes)
    all_edges = (
        all_edges.join(ns, on=["a", "b"], how="left")
        .with_columns(
            pl.when(pl.col("reason").is_not_null())
            .then(pl.col("reason"))
            .when(pl.col("_ns").fill_null(False) & (pl.col("rule") != "decision:same"))
            .then(pl.lit("decision: not_same"))
            .when(
                (pl.col("a").is_in(split_list) | pl.col("b").is_in(split_list))
                & (pl.col("rule") != "decision:same")
            )
            .then(pl.lit("decision: split"))
            .alias("reason"),
            pl.col("rule")
            .replace_strict(_PRIORITY, default=len(RULES), return_dtype=pl.Int64)
            .alias("_prio"),
        )
        .drop("_ns")
    )
    accepted = all_edges.filter(pl.col("reason").is_null())
    labels, blocked = _components(n, accepted, not_same)
    if blocked:
        bl = pl.DataFrame(
            {
                "a": [x for x, _, _ in blocked],
                "b": [y for _, y, _ in blocked],
                "rule": [r for _, _, r in blocked],
            },
            schema={"a": pl.Int64(), "b": pl.Int64(), "rule": pl.String()},
        ).with_columns(pl.lit("decision: not_same (would join parties kept apart)").alias("_blk"))
        all_edges = (
            all_edges.join(bl, on=["a", "b", "rule"], how="left")
            .with_columns(pl.coalesce("reason", "_blk").alias("reason"))
            .drop("_blk")
        )
    all_edges = all_edges.with_columns(pl.col("reason").is_null().alias("accepted"))
    if not p.keep_unsupported_pairs:
        all_edges = all_edges.filter(
            pl.col("rule").is_not_null() | (pl.col("name_score") >= p.name_threshold)
        )
    extra = acc.filter(pl.col("kind") == "account_text").select(
        "node", (pl.lit("account:") + pl.col("value")).alias("i")
    )
    return _assemble(rows, node_ids, pid, labels, all_edges, p, skipped, n_candidates, extra)


def _placeholder(params: ResolveParams) -> pl.Expr:
    weak = pl.lit(False)
    for suffix in params.placeholder_dates:
        weak = weak | pl.col("value").str.ends_with(suffix)
    return (pl.col("kind") == "birth_date") & weak


def _support(cand: pl.DataFrame, attrs: pl.DataFrame, params: ResolveParams) -> pl.DataFrame:
    """Per candidate pair: the first shared value of each supporting field, birth-date conflict."""
    kinds = ["birth_date", *_SUPPORT_IDS]
    sup = attrs.filter(pl.col("kind").is_in(kinds))
    # a phone, address, device or IP address of many parties (a shop's, an agent's, a public
    # Wi-Fi's) supports nothing
    busy = pl.len().over("kind", "value") > params.max_support_parties
    # values as integer ids: the joins below are over every candidate pair (memory)
    sup = sup.with_columns(
        (pl.col("kind") + pl.lit("\x1f") + pl.col("value"))
        .rank("dense")
        .cast(pl.UInt32)
        .alias("vid")
    )
    strong = sup.filter(
        ~_placeholder(params)
        & ~(pl.col("kind").is_in(["phone", "address", "device_id", "ip_address"]) & busy)
    ).select("node", "vid")
    shared = (
        cand.join(strong.rename({"node": "a"}), on="a")
        .join(strong.rename({"node": "b"}), on=["b", "vid"], how="semi")
        .join(sup.select("vid", "kind", "value").unique("vid"), on="vid")
        .group_by("a", "b", "kind")
        .agg(pl.col("value").min())
        .pivot("kind", index=["a", "b"], values="value")
    )
    for k in kinds:
        if k not in shared.columns:
            shared = shared.with_columns(pl.lit(None, pl.String).alias(k))
    shared = shared.rename({k: f"m_{k}" for k in kinds})
    dobs = sup.filter(pl.col("kind") == "birth_date").select("node", pl.col("vid").alias("value"))
    have_a = cand.join(dobs.rename({"node": "a"}), on="a", how="semi").select("a", "b")
    both = have_a.join(dobs.rename({"node": "b"}), on="b", how="semi")
    # the same placeholder date on both sides is no contradiction
    same_any = (
        cand.join(dobs.rename({"node": "a"}), on="a")
        .join(dobs.rename({"node": "b"}), on=["b", "value"], how="semi")
        .select("a", "b")
        .unique()
    )
    both = both.join(same_any, on=["a", "b"], how="anti")
    return (
        cand.join(shared, on=["a", "b"], how="left")
        .join(both.with_columns(pl.lit(True).alias("_both")), on=["a", "b"], how="left")
        .with_columns(
            pl.col("_both").fill_null(False).alias("dob_conflict"),
            pl.col("m_birth_date").is_not_null().alias("has_dob"),
        )
        .drop("_both")
    )


def _components(
    n: int, accepted: pl.DataFrame, not_same: set[tuple[int, int]]
) -> tuple[np.ndarray[Any, np.dtype[np.int64]], list[tuple[int, int, str]]]:
    """Component label per node; edges refused because they would join ``not_same`` parties."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    a = accepted["a"].to_numpy().astype(np.int64)
    b = accepted["b"].to_numpy().astype(np.int64)
    graph = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    labels = labels.astype(np.int64)
    blocked: list[tuple[int, int, str]] = []
    bad = {int(labels[x]) for x, y in not_same if labels[x] == labels[y]}
    if not bad:
        return labels, blocked
    # constrained union-find, strongest edges first, inside the components that need it
    comp = accepted.with_columns(
        pl.Series("_c", labels[a]),
    ).filter(pl.col("_c").is_in(sorted(bad)))
    comp = comp.sort(
        "_prio",
        pl.col("name_score").fill_null(2.0),
        "a",
        "b",
        descending=[False, True, False, False],
    )
    parent = {int(x): int(x) for x in np.flatnonzero(np.isin(labels, sorted(bad)))}
    apart: dict[int, set[int]] = {}
    for x, y in not_same:
        apart.setdefault(x, set()).add(y)
        apart.setdefault(y, set()).add(x)
    members: dict[int, set[int]] = {k: {k} for k in parent}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for x, y, r in comp.select("a", "b", "rule").iter_rows():
        rx, ry = find(int(x)), find(int(y))
        if rx == ry:
            continue
        small, large = (rx, ry) if len(members[rx]) <= len(members[ry]) else (ry, rx)
        if any(apart.get(m, set()) & members[large] for m in members[small]):
            blocked.append((int(x), int(y), str(r)))
            continue
        parent[small] = large
        members[large] |= members.pop(small)
    base = int(labels.max()) + 1
    for node in parent:
        labels[node] = base + find(node)
    return labels, blocked


def _assemble(
    rows: pl.DataFrame,
    node_ids: pl.DataFrame,
    pid: pl.Series,
    labels: np.ndarray[Any, np.dtype[np.int64]],
    edges: pl.DataFrame,
    params: ResolveParams,
    skipped: int,
    n_candidates: int,
    extra_ident: pl.DataFrame,
) -> Entities:
    comp = node_ids.with_columns(pl.Series("_c", labels))
    # entity id: digest of the sorted member party ids (independent of the input order)
    ent = comp.group_by("_c").agg(pl.col("party_id").sort().alias("party_ids"))
    ent = ent.with_columns(
        pl.col("party_ids")
        .map_elements(lambda ids: "e-" + digest_text("\n".join(ids), 16), return_dtype=pl.String)
        .alias("entity_id")
    )
    comp = comp.join(ent.select("_c", "entity_id"), on="_c")
    node_entity = comp.select("node", "party_id", "entity_id")

    ident = pl.concat(
        [
            rows.select("node", (pl.lit("id_document:") + pl.col("id_n")).alias("i")),
            rows.select("node", (pl.lit("phone:") + pl.col("phone_n")).alias("i")),
            rows.select("node", (pl.lit("email:") + pl.col("email_n")).alias("i")),
            rows.select("node", (pl.lit("address:") + pl.col("address_n")).alias("i")),
            rows.select("node", (pl.lit("device_id:") + pl.col("device_n")).alias("i")),
            rows.select("node", (pl.lit("ip_address:") + pl.col("ip_n")).alias("i")),
            extra_ident,
        ]
    ).drop_nulls()

    def lists(frame: pl.DataFrame, col: str, alias: str) -> pl.DataFrame:
        return (
            frame.join(node_entity, on="node")
            .group_by("entity_id")
            .agg(pl.col(col).drop_nulls().unique().sort().alias(alias))
        )

    entities = (
        ent.select(
            "entity_id",
            "party_ids",
            pl.col("party_ids").list.len().cast(pl.Int64).alias("n_parties"),
        )
        .join(
            lists(rows.filter(pl.col("name").str.strip_chars() != ""), "name", "names"),
            on="entity_id",
            how="left",
        )
        .join(lists(ident, "i", "identifiers"), on="entity_id", how="left")
        .join(lists(rows, "country_n", "countries"), on="entity_id", how="left")
        .join(lists(rows, "source", "sources"), on="entity_id", how="left")
        .select(
            "entity_id", "party_ids", "names", "identifiers", "countries", "sources", "n_parties"
        )
        .with_columns(
            pl.col(c).fill_null(pl.lit([], dtype=pl.List(pl.String)))
            for c in ("names", "identifiers", "countries", "sources")
        )
        .sort("entity_id")
    )

    pairs = (
        edges.with_columns(
            pid.gather(edges["a"]).alias("party_a"), pid.gather(edges["b"]).alias("party_b")
        )
        .select(
            "party_a",
            "party_b",
            "rule",
            "value",
            "name_a",
            "name_b",
            "name_score",
            "accepted",
            "reason",
        )
        .sort("party_a", "party_b", "rule", nulls_last=True)
    )
    # evidence per party: its strongest accepted edge (the one that brought it in)
    acc = edges.filter(pl.col("accepted"))
    inc = pl.concat(
        [
            acc.select(
                pl.col("a").alias("node"),
                pl.col("b").alias("other"),
                "rule",
                "value",
                "name_score",
                "_prio",
            ),
            acc.select(
                pl.col("b").alias("node"),
                pl.col("a").alias("other"),
                "rule",
                "value",
                "name_score",
                "_prio",
            ),
        ]
    )
    best = inc.sort(
        "node",
        "_prio",
        pl.col("name_score").fill_null(2.0),
        "other",
        "value",
        descending=[False, False, True, False, False],
        nulls_last=True,
        maintain_order=True,
    ).unique("node", keep="first", maintain_order=True)
    best = best.with_columns(pid.gather(best["other"]).alias("via"))
    members = (
        rows.select("node", "party_id", "source")
        .unique()
        .join(node_entity.select("node", "entity_id"), on="node")
        .join(best.select("node", "rule", "value", "via", "name_score"), on="node", how="left")
        .select("party_id", "source", "entity_id", "rule", "value", "via", "name_score")
        .sort("party_id", "source", nulls_last=True)
    )
    stats = {
        "parties": node_ids.height,
        "entities": entities.height,
        "merged_entities": entities.filter(pl.col("n_parties") > 1).height,
        "candidate_pairs": n_candidates,
        "accepted_pairs": int(edges["accepted"].sum()),
        "skipped_blocks": skipped,
    }
    return Entities(entities, members, pairs, params, stats)


class _CallableModule(types.ModuleType):
    """``finintel.resolve`` is both this module and the function: importing the module sets the
    package attribute to the module (shadowing the lazily exported function), so the module
    itself calls :func:`resolve` (as ``finintel.link`` does)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Entities:
        return resolve(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
