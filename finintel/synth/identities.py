"""Identity variants with truth: many party records per person, and look-alikes that are not.

``identities(persons, seed)`` draws ``persons`` people of the communities whose names vary most
in money-transfer records (Arabic, Somali, Tigrinya, Amharic, Pashto/Dari, Kurdish, Turkish,
Ukrainian/Russian; pools in :mod:`finintel.synth.identity_names`) and writes each of them as one
to six party records (bank KYC and MTO identities). Every record after the first varies the name
in one way, named in the truth's ``variant`` column:

``exact`` the canonical spelling; ``translit`` other romanisations (Maxamed / Mohamed,
Oleksandr / Aleksandr, Şahin / Schahin); ``spacing`` articles and spacing (Al-Masri / El-Masri /
Almasri, Gebre Medhin); ``gj`` g / j spellings (Gebre / Jebre, Gamal / Jamal); ``short`` short
forms (Berhe / Berhane, Mohd); ``typo`` one edit (deletion, substitution, transposition,
doubling); ``swap`` family name first; ``patronymic`` the father's name added or dropped
(Abdi Hassan Mohamed / Abdi Hassan, Oleksandr Petrovych Shevchenko).

Records carry the person's birth date or not (1 January when the day is unknown, as documents
of some communities show), one of their phones in several formats, e-mail, address, passport or
residence permit, and accounts (IBANs, an Ethereum wallet, MTO customer ids; a few records an
invalid IBAN shared by strangers). Hard negatives, each a person of their own in the truth:
household members sharing the head's phone, address and family name (``role`` ``family``);
people with the most common names ("Mohamed Ali", ``common``); MTO identities registered with the
phone and address of an agent's shop shared by its customers (``shop`` true).

Everything is numpy / polars over whole columns, with its own RNG stream derived from the seed,
so ``finintel.generate``'s other files do not change. ``identities/`` in a generated folder holds
``parties.parquet`` (canonical parties schema), ``accounts.parquet`` (party_id, account) and
``truth.parquet`` (party_id, person_id, variant, role, shop).

>>> ids = identities(200, seed=1)
>>> ids.parties.height == ids.truth.height, ids.truth["person_id"].n_unique() >= 200
(True, True)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from finintel.schema import PARTIES, conform
from finintel.synth import identity_names as nm
from finintel.synth import reference as ref
from finintel.synth.ids import fill_template, make_ibans
from finintel.synth.output import write_table

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
StrArray = npt.NDArray[np.str_]

#: Salt of the identity generator's RNG stream (independent of ``generate``'s streams).
STREAM = 0x1D7
SPELLING_KINDS = ("translit", "spacing", "gj", "short")
#: Kinds of the records after a person's first, and their weights.
VARIANTS: dict[str, float] = {
    "exact": 0.12,
    "translit": 0.2,
    "spacing": 0.1,
    "gj": 0.1,
    "short": 0.08,
    "typo": 0.14,
    "swap": 0.12,
    "patronymic": 0.14,
}
#: Records per person (1..6) and their probabilities.
RECORDS_P = (0.40, 0.25, 0.15, 0.10, 0.06, 0.04)
#: Birth dates shown as 1 January (day unknown) by community.
JAN1: dict[str, float] = {"af": 0.4, "so": 0.25, "er": 0.25, "et": 0.2, "ar": 0.08}
#: Canonical names with the father's name (given + father + family name) by community.
WITH_FATHER: dict[str, float] = {"ar": 0.3, "af": 0.2}
#: Invalid IBANs (bad check digits) that unrelated customers type in.
JUNK_IBANS = tuple(f"DE{d:02d}100100100000000000" for d in range(20, 40))


@dataclass
class Identities:
    """The generated parties, their accounts and the truth."""

    parties: pl.DataFrame  # canonical parties schema
    accounts: pl.DataFrame  # party_id, account
    truth: pl.DataFrame  # party_id, person_id, variant, role, shop


@dataclass
class _Pools:
    """Every spelling of every name entry, indexed for vectorised picks."""

    text: StrArray  # spelling text
    entry: IntArray  # its entry
    kind: StrArray  # canon | translit | spacing | gj | short
    canon: IntArray  # entry → index of its canonical spelling
    given_m: dict[str, IntArray]  # group → male given-name entries
    given_f: dict[str, IntArray]
    surname: dict[str, IntArray]
    pat: dict[int, tuple[int, int]]  # father's entry → (male, female) patronymic entries
    by_name: dict[tuple[str, str], int]  # (group, canonical) → given entry

    def lookup(self, kind: str) -> tuple[IntArray, IntArray, IntArray]:
        """For ``kind``: spelling indices sorted by entry, start and count per entry."""
        idx = np.flatnonzero(self.kind == kind)
        idx = idx[np.argsort(self.entry[idx], kind="stable")]
        n = len(self.canon)
        start = np.searchsorted(self.entry[idx], np.arange(n))
        count = np.searchsorted(self.entry[idx], np.arange(n), side="right") - start
        return idx, start, count


def _pools() -> _Pools:
    text: list[str] = []
    entry: list[int] = []
    kind: list[str] = []
    canon: list[int] = []

    def add(spec: str) -> int:
        e = len(canon)
        canon.append(len(text))
        for i, s in enumerate(spec.split("|")):
            word, _, tag = s.partition(":")
            text.append(word.replace("_", " "))
            entry.append(e)
            kind.append("canon" if i == 0 else (tag or "translit"))
        return e

    given_m: dict[str, list[int]] = {}
    given_f: dict[str, list[int]] = {}
    surname: dict[str, list[int]] = {}
    by_name: dict[tuple[str, str], int] = {}
    for group, (_, given, family, _) in nm.GROUPS.items():
        for spec in given.split():
            female = spec.startswith("~")
            e = add(spec.lstrip("~"))
            by_name[(group, spec.lstrip("~").split("|")[0])] = e
            (given_f if female else given_m).setdefault(group, []).append(e)
        surname[group] = [add(spec) for spec in family.split()]
    pat = {
        by_name[("ua", father)]: (add(male), add(female))
        for father, (male, female) in nm.PATRONYMICS.items()
    }

    def arr(d: dict[str, list[int]]) -> dict[str, IntArray]:
        return {k: np.asarray(v, dtype=np.int64) for k, v in d.items()}

    return _Pools(
        np.asarray(text),
        np.asarray(entry, dtype=np.int64),
        np.asarray(kind),
        np.asarray(canon, dtype=np.int64),
        arr(given_m),
        arr(given_f),
        arr(surname),
        pat,
        by_name,
    )


def _pick(rng: np.random.Generator, pool: dict[str, IntArray], groups: StrArray) -> IntArray:
    out = np.full(len(groups), -1, dtype=np.int64)
    for g, entries in pool.items():
        if len(entries) == 0:
            continue
        m = groups == g
        out[m] = entries[rng.integers(0, len(entries), int(m.sum()))]
    return out


def _lookup(keys: StrArray, mapping: Mapping[str, Any], default: Any) -> npt.NDArray[Any]:
    """``mapping[key]`` per row (``default`` when absent), once per distinct key."""
    distinct, inverse = np.unique(keys, return_inverse=True)
    return np.asarray([mapping.get(str(k), default) for k in distinct])[inverse]


def _choice(rng: np.random.Generator, weights: dict[str, float], n: int) -> StrArray:
    keys = list(weights)
    p = np.asarray([weights[k] for k in keys], dtype=np.float64)
    return np.asarray(keys)[rng.choice(len(keys), size=n, p=p / p.sum())]


def _digits(rng: np.random.Generator, n: int, width: int) -> StrArray:
    d = rng.integers(0, 10, size=(n, width), dtype=np.uint8) + ord("0")
    return np.frombuffer(d.tobytes(), dtype=f"S{width}").astype(str)


@dataclass
class _People:
    """One row per person (arrays of equal length)."""

    group: StrArray
    female: BoolArray
    given: IntArray
    father: IntArray
    last: IntArray  # family name, or the grandfather's given name in a patronymic chain
    with_father: BoolArray  # the canonical name includes the father's name
    dob: IntArray  # days since 1970-01-01
    country: StrArray
    phone1: StrArray  # national significant number; the calling code is the country's
    phone2: StrArray  # "" = none
    email: StrArray  # "" = none
    address: StrArray
    role: StrArray

    def take(self, idx: IntArray) -> _People:
        return _People(**{k: v[idx] for k, v in vars(self).items()})

    @staticmethod
    def concat(a: _People, b: _People) -> _People:
        return _People(**{k: np.concatenate([v, getattr(b, k)]) for k, v in vars(a).items()})


def _phones(rng: np.random.Generator, countries: StrArray) -> StrArray:
    out = np.empty(len(countries), dtype=object)
    for cc in np.unique(countries):
        m = countries == cc
        c = ref.COUNTRIES[str(cc)]
        k = int(m.sum())
        which = rng.integers(0, len(c.mobile), k)
        numbers = np.empty(k, dtype=object)
        for i, prefix in enumerate(c.mobile):
            w = which == i
            numbers[w] = np.char.add(prefix, _digits(rng, int(w.sum()), c.nsn_len - len(prefix)))
        out[m] = numbers
    return out.astype(str)


def _addresses(rng: np.random.Generator, countries: StrArray) -> StrArray:
    out = np.empty(len(countries), dtype=object)
    for cc in np.unique(countries):
        m = countries == cc
        c = ref.COUNTRIES[str(cc)]
        k = int(m.sum())
        streets = np.asarray(ref.STREETS.get(c.lang, ref.STREETS["en"]))
        cities = np.asarray([name for name, _ in c.cities])
        street = streets[rng.integers(0, len(streets), k)]
        number = rng.integers(1, 400, k).astype(str)
        postcode = np.char.add(_digits(rng, k, 5), " ")
        city = cities[rng.integers(0, len(cities), k)]
        line = np.char.add(np.char.add(street, " "), number)
        out[m] = np.char.add(np.char.add(line, ", "), np.char.add(postcode, city))
    return out.astype(str)


def _people(rng: np.random.Generator, pools: _Pools, n: int) -> _People:
    group = _choice(rng, nm.GROUP_WEIGHTS, n)
    female = rng.random(n) < 0.45
    given = np.where(female, _pick(rng, pools.given_f, group), _pick(rng, pools.given_m, group))
    father = _pick(rng, pools.given_m, group)
    chain = np.isin(group, [g for g, v in nm.GROUPS.items() if v[3] == "chain"])
    last = np.where(chain, _pick(rng, pools.given_m, group), _pick(rng, pools.surname, group))
    p_father = _lookup(group, WITH_FATHER, 0.0)
    with_father = chain | (rng.random(n) < p_father)
    # the most common names: Mohamed Ali, Mohamed Ahmed, Mohamed Hassan (Arabic and Somali)
    common = np.isin(group, ["ar", "so"]) & (rng.random(n) < 0.05)
    for g in ("ar", "so"):
        m = common & (group == g)
        alts = np.asarray([pools.by_name[(g, s)] for s in ("Ali", "Ahmed", "Hassan")])
        given[m] = pools.by_name[(g, "Mohammed" if g == "ar" else "Mohamed")]
        female[m] = False
        last[m] = alts[rng.integers(0, 3, int(m.sum()))]
        father[m & (group == "so")] = alts[rng.integers(0, 3, int((m & (group == "so")).sum()))]
        with_father[m & (group == "ar")] = False
    dob = (
        np.datetime64("1950-01-01") + rng.integers(0, 55 * 365, n).astype("timedelta64[D]")
    ).astype(np.int64)
    p_jan1 = _lookup(group, JAN1, 0.0)
    jan1 = rng.random(n) < p_jan1
    years = dob.astype("datetime64[D]").astype("datetime64[Y]").astype("datetime64[D]")
    dob = np.where(jan1, years.astype(np.int64), dob)
    country = _choice(rng, nm.RESIDENCE, n)
    has_email = rng.random(n) < 0.35
    email = np.char.add(
        np.char.add(np.char.lower(pools.text[pools.canon[given]]), "."),
        np.char.add(np.char.lower(pools.text[pools.canon[last]]), _digits(rng, n, 4)),
    )
    domains = np.asarray(["@example.org", "@example.net", "@example.com"])
    email = np.char.replace(np.char.add(email, domains[rng.integers(0, 3, n)]), " ", "")
    email = pl.Series(email).str.normalize("NFKD").str.replace_all(r"[^a-z0-9.@-]", "").to_numpy()
    return _People(
        group=group,
        female=female,
        given=given,
        father=father,
        last=last,
        with_father=with_father,
        dob=dob,
        country=country,
        phone1=_phones(rng, country),
        phone2=np.where(rng.random(n) < 0.35, _phones(rng, country), ""),
        email=np.where(has_email, email, ""),
        address=_addresses(rng, country),
        role=np.where(common, "common", "person"),
    )


def _families(rng: np.random.Generator, pools: _Pools, heads: _People, hid: IntArray) -> _People:
    """Children of household heads: the head's phone, address and family name, own given name
    and birth date (a chain name continues the head's: child + head + head's father)."""
    n = len(heads.group)
    kids = _people(rng, pools, n)
    chain = np.isin(heads.group, [g for g, v in nm.GROUPS.items() if v[3] == "chain"])
    # distinct given names within a household: consecutive entries of one random draw
    start = np.r_[True, hid[1:] != hid[:-1]] if n else np.zeros(0, dtype=bool)
    ordinal = np.arange(n) - np.maximum.accumulate(np.where(start, np.arange(n), 0))
    given = np.empty(n, dtype=np.int64)
    female = np.zeros(n, dtype=bool)
    for g in np.unique(heads.group):
        m = heads.group == g
        pool = np.concatenate([pools.given_m[str(g)], pools.given_f[str(g)]])
        base = rng.integers(0, len(pool), int(hid.max()) + 1)[hid[m]]  # one per household
        pick = pool[(base + ordinal[m]) % len(pool)]
        # not the name of the head, nor of the head's father or grandfather
        taken = (pick == heads.given[m]) | (pick == heads.father[m]) | (pick == heads.last[m])
        pick = np.where(taken, pool[(base + 4 + ordinal[m]) % len(pool)], pick)
        given[m] = pick
        female[m] = np.isin(pick, pools.given_f[str(g)])
    # spouses, siblings, children: another birth date (not 1 January)
    gap = rng.integers(365, 30 * 365, n) * np.where(rng.random(n) < 0.5, -1, 1)
    dob = heads.dob + gap
    dob = np.where(dob > np.datetime64("2007-12-31", "D").astype(np.int64), dob - 2 * gap, dob)
    return _People(
        group=heads.group,
        female=female,
        given=given,
        father=np.where(chain, heads.given, heads.father),
        last=np.where(chain, heads.father, heads.last),
        with_father=heads.with_father,
        dob=dob,
        country=heads.country,
        phone1=heads.phone1,
        phone2=np.where(rng.random(n) < 0.3, kids.phone2, ""),
        email=kids.email,
        address=heads.address,
        role=np.full(n, "family"),
    )


def _spell(
    rng: np.random.Generator,
    pools: _Pools,
    lookups: dict[str, tuple[IntArray, IntArray, IntArray]],
    entries: IntArray,
    kinds: StrArray,
) -> StrArray:
    """One spelling per slot: of the record's kind when the entry has one, else canonical."""
    out = np.full(len(entries), "", dtype=object)
    ok = entries >= 0
    out[ok] = pools.text[pools.canon[entries[ok]]]
    for kind in SPELLING_KINDS:
        idx, start, count = lookups[kind]
        m = ok & (kinds == kind)
        e = entries[m]
        c = count[e]
        has = c > 0
        pick = idx[start[e[has]] + (rng.random(int(has.sum())) * c[has]).astype(np.int64)]
        sel = np.flatnonzero(m)[has]
        out[sel] = pools.text[pick]
    return out


def _typo(rng: np.random.Generator, s: pl.Series) -> pl.Series:
    """One edit in each string (kept first letter): delete, substitute, transpose or double."""
    n = len(s)
    length = s.str.len_chars().to_numpy()
    pos = 1 + (rng.random(n) * np.maximum(length - 2, 1)).astype(np.int64)
    op = rng.integers(0, 4, n)
    letters = np.asarray(list("aeioulnrst"))[rng.integers(0, 10, n)]
    df = pl.DataFrame({"s": s, "p": pos, "op": op, "c": letters})
    p = pl.col("p")
    s_ = pl.col("s")
    head = s_.str.slice(0, p)
    at = s_.str.slice(p, 1)
    nxt = s_.str.slice(p + 1, 1)
    tail1 = s_.str.slice(p + 1)
    tail2 = s_.str.slice(p + 2)
    expr = (
        pl.when(pl.col("op") == 0)
        .then(head + tail1)
        .when(pl.col("op") == 1)
        .then(head + pl.when(pl.col("c") == at).then(pl.lit("y")).otherwise(pl.col("c")) + tail1)
        .when(pl.col("op") == 2)
        .then(head + nxt + at + tail2)
        .otherwise(head + at + at + tail1)
    )
    return df.select(expr.alias("s"))["s"]


def _records(rng: np.random.Generator, pools: _Pools, people: _People) -> pl.DataFrame:
    """Party records: one to six per person, each a variant of the person's name."""
    k = rng.choice(len(RECORDS_P), size=len(people.group), p=RECORDS_P) + 1
    k = np.where(people.role == "family", np.minimum(k, 2), k)
    person = np.repeat(np.arange(len(k)), k)
    first = np.r_[0, np.cumsum(k)[:-1]]
    rank = np.arange(len(person)) - np.repeat(first, k)
    p = people.take(person)
    n = len(person)
    lookups = {kind: pools.lookup(kind) for kind in SPELLING_KINDS}

    # the record's variant, among those its name allows
    chain = np.isin(p.group, [g for g, v in nm.GROUPS.items() if v[3] == "chain"])
    can_pat = chain | np.isin(p.group, ["ar", "af", "ua"])
    allowed = {"patronymic": can_pat}
    for kind in ("spacing", "gj", "short"):
        count = lookups[kind][2]
        has = (count[p.given] > 0) | (count[p.last] > 0)
        allowed[kind] = has | (p.with_father & (count[p.father] > 0))
    longest = np.maximum(
        np.char.str_len(pools.text[pools.canon[p.given]]),
        np.char.str_len(pools.text[pools.canon[p.last]]),
    )
    allowed["typo"] = longest >= 5
    variant = np.where(rank == 0, "exact", "")
    for _ in range(4):  # redraw a variant the name does not allow
        draw = _choice(rng, VARIANTS, n)
        ok = np.ones(n, dtype=bool)
        for kind, mask in allowed.items():
            ok &= (draw != kind) | mask
        variant = np.where((variant == "") & ok, draw, variant)
    variant = np.where(variant == "", "translit", variant)

    # slots: given, father (or patronymic), last
    father = np.where(p.with_father, p.father, -1)
    pat = variant == "patronymic"
    drop_last = pat & chain
    father = np.where(pat & p.with_father & ~drop_last & ~chain, -1, father)
    add = pat & ~p.with_father
    if pools.pat:
        fathers = np.asarray(sorted(pools.pat))
        male = np.asarray([pools.pat[f][0] for f in fathers])
        fem = np.asarray([pools.pat[f][1] for f in fathers])
        pos = np.clip(np.searchsorted(fathers, p.father), 0, len(fathers) - 1)
        found = fathers[pos] == p.father
        pat_entry = np.where(p.female, fem[pos], male[pos])
        ua = p.group == "ua"
        father = np.where(add & ua, np.where(found, pat_entry, -1), father)
        father = np.where(add & ~ua, p.father, father)
    last = np.where(drop_last, -1, p.last)
    kinds = np.where(np.isin(variant, ["typo", "swap", "patronymic"]) & (rng.random(n) < 0.3),
                     "translit", variant)  # fmt: skip
    s_given = _spell(rng, pools, lookups, p.given, kinds)
    s_father = _spell(rng, pools, lookups, father, kinds)
    s_last = _spell(rng, pools, lookups, last, kinds)

    # one edit in the longer of given and last name
    typo = variant == "typo"
    on_last = np.char.str_len(s_last.astype(str)) > np.char.str_len(s_given.astype(str))
    on_last = on_last | (np.char.str_len(s_given.astype(str)) < 5)
    target = np.where(on_last, s_last, s_given)
    edited = _typo(rng, pl.Series(target[typo].astype(str))).to_numpy().astype(object)
    s_given[typo & ~on_last] = edited[~on_last[typo]]
    s_last[typo & on_last] = edited[on_last[typo]]

    swap = variant == "swap"
    parts = pl.DataFrame(
        {
            "a": np.where(swap, s_last, s_given).astype(str),
            "b": np.where(swap, s_given, s_father).astype(str),
            "c": np.where(swap, s_father, s_last).astype(str),
        }
    )
    name = parts.select(
        pl.concat_str(
            [pl.when(pl.col(c) != "").then(pl.col(c)) for c in "abc"],
            separator=" ",
            ignore_nulls=True,
        )
    ).to_series()

    source_bank = np.where(rank == 0, rng.random(n) < 0.6, rng.random(n) < 0.2)
    upper = ~source_bank & (rng.random(n) < 0.25)
    name = pl.Series(np.where(upper, name.str.to_uppercase().to_numpy(), name.to_numpy()))
    provider = np.asarray(list("abc"))[rng.integers(0, 3, n)]
    source = np.char.add(np.where(source_bank, "bank:", "mto:"), provider)
    return pl.DataFrame(
        {
            "person": person,
            "rank": rank,
            "variant": variant,
            "name": name,
            "bank": source_bank,
            "source": source,
        }
    )


def _fields(
    rng: np.random.Generator, people: _People, rec: pl.DataFrame, passport: StrArray,
    permit: StrArray, origin: StrArray,
) -> tuple[pl.DataFrame, pl.DataFrame]:  # fmt: skip
    """Birth date, phone, e-mail, address, ID document per record; shop registrations."""
    person = rec["person"].to_numpy()
    bank = rec["bank"].to_numpy()
    p = people.take(person)
    n = len(person)
    dob = np.where(rng.random(n) < np.where(bank, 0.95, 0.85), p.dob, -(10**6))
    second = (p.phone2 != "") & (rng.random(n) < 0.35)
    nsn = np.where(second, p.phone2, p.phone1)
    # shops: an agent's phone and address for some MTO identities of its customers
    per_country = max(1, len(people.group) // 250 // len(nm.RESIDENCE))
    shop_cc = np.repeat(np.asarray(sorted(nm.RESIDENCE)), per_country)
    shop_phone = _phones(rng, shop_cc)
    shop_addr = _addresses(rng, shop_cc)
    shop = ~bank & (rng.random(n) < 0.3)
    # a shop in the customer's country
    home = np.searchsorted(np.asarray(sorted(nm.RESIDENCE)), p.country)
    sid = home * per_country + rng.integers(0, per_country, n)
    country = np.where(shop, shop_cc[sid], p.country)
    shop_tel = shop & (rng.random(n) < 0.5)
    nsn = np.where(shop_tel, shop_phone[sid], nsn)
    calling = _lookup(country, {c: v.calling for c, v in ref.COUNTRIES.items()}, "")
    trunk = _lookup(country, {c: v.trunk for c, v in ref.COUNTRIES.items()}, "")
    fmt = rng.integers(0, 3, n)
    phone = np.where(
        fmt == 0,
        np.char.add(np.char.add(np.char.add("+", calling), " "), nsn),
        np.where(fmt == 1, np.char.add(np.char.add("00", calling), nsn), np.char.add(trunk, nsn)),
    )
    phone = np.where(rng.random(n) < 0.9, phone, "")
    address = np.where(shop, shop_addr[sid], p.address)
    address = np.where(rng.random(n) < 0.5, np.char.upper(address), address)
    address = np.where(rng.random(n) < np.where(bank, 0.8, 0.5), address, "")
    email = np.where(rng.random(n) < 0.5, p.email, "")
    doc = rng.random(n)
    is_pass = doc < np.where(bank, 0.25, 0.35)
    is_permit = ~is_pass & (doc < np.where(bank, 0.55, 0.45))
    frame = pl.DataFrame(
        {
            "birth_date": dob,
            "id_type": np.where(is_pass, "PASSPORT", np.where(is_permit, "RESIDENCE_PERMIT", "")),
            "id_number": np.where(
                is_pass, passport[person], np.where(is_permit, permit[person], "")
            ),
            "id_country": np.where(is_pass, origin[person], np.where(is_permit, p.country, "")),
            "phone": phone,
            "email": email,
            "address": address,
            "country": country,
            "shop": shop,
        }
    )
    blank = [pl.when(pl.col(c) != "").then(pl.col(c)).alias(c)
             for c in ("id_type", "id_number", "id_country", "phone", "email", "address")]  # fmt: skip
    frame = frame.with_columns(
        *blank,
        pl.when(pl.col("birth_date") > -(10**6))
        .then(pl.col("birth_date").cast(pl.Int32).cast(pl.Date))
        .alias("birth_date"),
    )
    return frame.drop("shop"), frame.select("shop")


def _accounts(
    rng: np.random.Generator, people: _People, rec: pl.DataFrame, party_id: pl.Series
) -> pl.DataFrame:
    """IBANs (1-3 per person, in the residence country), wallets, MTO customer ids, junk."""
    n_people = len(people.group)
    n_iban = rng.integers(1, 4, n_people)
    owner = np.repeat(np.arange(n_people), n_iban)
    cc = people.country[owner]
    iban = np.empty(len(owner), dtype=object)
    for c in np.unique(cc):
        m = cc == c
        country = ref.COUNTRIES[str(c)]
        lo, hi = country.bank_span
        banks = fill_template(rng, country.bban[lo:hi], 8)[rng.integers(0, 8, int(m.sum()))]
        iban[m] = make_ibans(rng, str(c), country.bban, country.bank_span, banks).to_numpy()
    start = np.r_[0, np.cumsum(n_iban)[:-1]]
    person = rec["person"].to_numpy()
    bank = rec["bank"].to_numpy()
    n = len(person)
    mine = iban[start[person] + (rng.random(n) * n_iban[person]).astype(np.int64)]
    wallet_of = np.asarray(["0x" + h for h in _hex(rng, n_people, 40)])
    has_wallet = rng.random(n_people) < 0.1
    rows = [
        (np.flatnonzero(bank & (rng.random(n) < 0.9)), mine),
        (np.flatnonzero(~bank & (rng.random(n) < 0.15)), mine),
        (np.flatnonzero(~bank), np.char.add("MTO", _digits(rng, n, 10))),
        (np.flatnonzero(has_wallet[person] & (rng.random(n) < 0.5)), wallet_of[person]),
        (np.flatnonzero(rng.random(n) < 0.01), np.asarray(JUNK_IBANS)[rng.integers(0, 20, n)]),
    ]
    return (
        pl.concat(
            [
                pl.DataFrame({"party_id": party_id.gather(idx), "account": values[idx].astype(str)})
                for idx, values in rows
            ]
        )
        .unique()
        .sort("party_id", "account")
    )


def _hex(rng: np.random.Generator, n: int, width: int) -> StrArray:
    d = np.asarray(list(b"0123456789abcdef"), dtype=np.uint8)[rng.integers(0, 16, (n, width))]
    return np.frombuffer(d.tobytes(), dtype=f"S{width}").astype(str)


def identities(persons: int, seed: int) -> Identities:
    """``persons`` people (household members included) as party records, with the truth."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, STREAM]))
    pools = _pools()
    n_heads = max(1, round(persons / 1.3))
    base = _people(rng, pools, n_heads)
    n_kids = rng.integers(1, 4, n_heads) * (rng.random(n_heads) < 0.15)
    hid = np.repeat(np.arange(n_heads), n_kids)
    kids = _families(rng, pools, base.take(hid), hid)
    people = _People.concat(base, kids)
    if len(people.group) > persons:
        people = people.take(np.arange(persons))
    elif len(people.group) < persons:  # exactly ``persons``: more people living alone
        people = _People.concat(people, _people(rng, pools, persons - len(people.group)))
    n_people = len(people.group)
    origins = {g: np.asarray(v[0].split()) for g, v in nm.GROUPS.items()}
    origin = np.empty(n_people, dtype=object)
    for g, codes in origins.items():
        m = people.group == g
        origin[m] = codes[rng.integers(0, len(codes), int(m.sum()))]
    letters = np.asarray(list("ABCDEFGHJKLMNPRSTUVWXZ"))
    passport = np.char.add(
        np.char.add(letters[rng.integers(0, 22, n_people)], letters[rng.integers(0, 22, n_people)]),
        _digits(rng, n_people, 7),
    )
    permit = np.char.add(letters[rng.integers(0, 22, n_people)], _digits(rng, n_people, 8))

    rec = _records(rng, pools, people)
    fields, shop = _fields(rng, people, rec, passport, permit, origin.astype(str))
    n = rec.height
    order = rng.permutation(n)
    party_id = pl.Series("party_id", np.char.add("I", np.char.zfill(order.astype(str), 8)))
    parties = conform(
        pl.concat(
            [pl.DataFrame([party_id]), rec.select("name"), fields, rec.select("source")],
            how="horizontal",
        ).lazy(),
        PARTIES,
    ).collect()  # no devices or IP addresses: those columns are null
    person_id = np.char.add("P", np.char.zfill(rec["person"].to_numpy().astype(str), 8))
    truth = pl.DataFrame(
        {
            "party_id": party_id,
            "person_id": person_id,
            "variant": rec["variant"],
            "role": people.role[rec["person"].to_numpy()],
            "shop": shop["shop"],
        }
    )
    accounts = _accounts(rng, people, rec, party_id)
    return Identities(parties.sort("party_id"), accounts, truth.sort("party_id"))


#: Files of ``identities/`` in a generated folder.
IDENTITY_FILES = ("identities/parties.parquet", "identities/accounts.parquet",
                  "identities/truth.parquet")  # fmt: skip


def identity_persons(transfers: int) -> int:
    """Persons of ``identities/`` in a drop of ``transfers`` rows: one per 10 transfers."""
    return max(500, transfers // 10)


def write_identities(root: Path, persons: int, seed: int) -> dict[str, int]:
    """Write ``identities/`` under ``root``; rows per file."""
    ids = identities(persons, seed)
    (root / "identities").mkdir(parents=True, exist_ok=True)
    out = {}
    for name, frame in zip(IDENTITY_FILES, (ids.parties, ids.accounts, ids.truth), strict=True):
        write_table(root / name, frame)
        out[name] = frame.height
    return out
