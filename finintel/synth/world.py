"""The synthetic world: parties, bank accounts, MTO customers, agents, banks and branches.

Entities live in growable tables (``Pool``) and are referred to by integer index; background
behaviour and injected cases both create theirs through the same vectorised builders, so case
members look exactly like everybody else.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from finintel.synth import ids
from finintel.synth import reference as ref
from finintel.synth.fxrates import RateBook

IntArray = npt.NDArray[np.int64]
StrArray = npt.NDArray[np.str_]

PARTY_SCHEMA: dict[str, pl.DataType] = {
    "kind": pl.String(),
    "group": pl.String(),
    "name": pl.String(),
    "name_v1": pl.String(),
    "name_v2": pl.String(),
    "birth_date": pl.Date(),
    "id_type": pl.String(),
    "id_number": pl.String(),
    "id_country": pl.String(),
    "phone_cc": pl.String(),
    "phone_nsn": pl.String(),
    "email": pl.String(),
    "address": pl.String(),
    "city": pl.String(),
    "country": pl.String(),
    "party_id": pl.String(),
}
ACCOUNT_SCHEMA: dict[str, pl.DataType] = {
    "iban": pl.String(),
    "bic": pl.String(),
    "bank": pl.Int32(),
    "country": pl.String(),
    "holder": pl.Int32(),
}
CUSTOMER_SCHEMA: dict[str, pl.DataType] = {"customer_id": pl.String(), "party": pl.Int32()}

#: The community native to a country (its citizens carry national ids).
NATIVE_GROUP: dict[str, str] = {
    "DE": "de", "AT": "de", "CH": "de", "NL": "nl", "BE": "nl", "FR": "fr", "IT": "it",
    "ES": "es", "SE": "sv", "NO": "sv", "GB": "en", "US": "en", "PL": "pl", "LT": "lt",
    "HR": "balkan", "RS": "balkan", "BA": "balkan", "TR": "tr", "MA": "ma", "NG": "ng",
    "PK": "pk", "AF": "af", "ER": "er", "SY": "ar", "JO": "ar", "IQ": "ar", "LY": "ar",
    "SD": "ar", "YE": "ar", "AE": "ar", "SA": "ar", "QA": "ar", "EG": "eg", "SO": "so",
    "UA": "ua", "NE": "ne",
}  # fmt: skip
#: Where a community's passports come from.
HOME_COUNTRY: dict[str, str] = {
    "de": "DE", "nl": "NL", "fr": "FR", "it": "IT", "es": "ES", "pt": "PT", "sv": "SE",
    "en": "GB", "pl": "PL", "lt": "LT", "ua": "UA", "tr": "TR", "ar": "SY", "ma": "MA",
    "eg": "EG", "pk": "PK", "af": "AF", "er": "ER", "so": "SO", "ng": "NG", "ne": "NE",
    "balkan": "BA",
}  # fmt: skip


#: How company register numbers are written, by language.
REGISTER: dict[str, object] = {
    "de": "HRB ", "fr": "RCS ", "it": "REA ", "nl": "KVK ", "es": "CIF B", "en": "CRN ",
    "sv": "ORG ", "pl": "KRS ", "lt": "JAR ", "bs": "MBS ",
}  # fmt: skip
LANG: dict[str, object] = {c.code: c.lang for c in ref.COUNTRIES.values()}


class Pool:
    """A growable table of entities; ``add`` returns the new rows' indices."""

    def __init__(self, schema: dict[str, pl.DataType]) -> None:
        self.schema = schema
        self._parts: list[pl.DataFrame] = []
        self._frame: pl.DataFrame | None = None
        self.size = 0

    def add(self, frame: pl.DataFrame) -> IntArray:
        """Append rows (cast to the schema); return their indices."""
        frame = frame.select([pl.col(c).cast(t) for c, t in self.schema.items()])
        idx = np.arange(self.size, self.size + frame.height, dtype=np.int64)
        self._parts.append(frame)
        self.size += frame.height
        self._frame = None
        return idx

    def frame(self) -> pl.DataFrame:
        """All rows so far."""
        if self._frame is None:
            self._frame = (
                pl.concat(self._parts, rechunk=True)
                if self._parts
                else pl.DataFrame(schema=self.schema)
            )
            self._parts = [self._frame]
        return self._frame


@dataclass
class Counter:
    """Unique numbers per key (phones per country, documents, customer numbers...).

    Each key runs its own sequence through its own bijection of ``0..modulus-1``
    (``ids.permuted``), so numbers look random, never repeat within a key and differ between keys.
    """

    salt: int
    counts: dict[str, int] = field(default_factory=dict)

    def take(self, key: str, n: int, modulus: int) -> IntArray:
        """``n`` fresh unique numbers below ``modulus`` for ``key``."""
        start = self.counts.get(key, 0)
        if start + n > modulus:
            raise ValueError(f"id space of {key!r} exhausted ({modulus} numbers)")
        self.counts[key] = start + n
        h = zlib.crc32(key.encode()) ^ self.salt
        return ids.permuted(np.arange(start, start + n, dtype=np.int64), modulus, h * 7919, h)


def lookup(keys: StrArray, mapping: dict[str, Any], default: Any = None) -> npt.NDArray[Any]:
    """Map every key through ``mapping`` (vectorised)."""
    if keys.shape[0] < 5_000:  # small arrays: a dictionary over the distinct keys is quicker
        uniq, inverse = np.unique(np.asarray(keys, dtype=str), return_inverse=True)
        return np.asarray([mapping.get(k, default) for k in uniq.tolist()])[inverse]
    series = pl.Series(keys, dtype=pl.String)
    values = list(mapping.values())
    return series.replace_strict(
        list(mapping), values, default=default, return_dtype=pl.Series(values[:1]).dtype
    ).to_numpy()


def _weights(mapping: dict[str, float]) -> tuple[list[str], npt.NDArray[np.float64]]:
    keys = list(mapping)
    w = np.array([mapping[k] for k in keys], dtype=np.float64)
    return keys, w / w.sum()


def choice(rng: np.random.Generator, mapping: dict[str, float], n: int) -> StrArray:
    """``n`` keys of ``mapping`` drawn with its weights."""
    keys, w = _weights(mapping)
    return np.asarray(keys)[rng.choice(len(keys), size=n, p=w)]


Span = dict[str, tuple[int, int]]


def _name_table(pools: dict[str, str]) -> tuple[pl.DataFrame, Span]:
    """All spellings of a name pool (v0 canonical, v1, v2, ascii: lower-case ASCII of v0) and
    each community's (offset, count) in it."""
    rows: list[tuple[str, str, str, str]] = []
    span: Span = {}
    for group, text in pools.items():
        entries = ref.name_variants(text, group in ref.GERMAN_FOLD)
        span[group] = (len(rows), len(entries))
        rows.extend((*e, ref.fold(e[0], group in ref.GERMAN_FOLD).lower()) for e in entries)
    return pl.DataFrame(rows, schema=["v0", "v1", "v2", "ascii"], orient="row"), span


GIVEN_TABLE, GIVEN_SPAN = _name_table(ref.GIVEN)
SURNAME_TABLE, SURNAME_SPAN = _name_table(ref.SURNAMES)


def _draw_from_span(rng: np.random.Generator, groups: StrArray, span: Span) -> IntArray:
    u = rng.random(int(groups.shape[0]))
    out = np.empty(groups.shape[0], dtype=np.int64)
    for g in dict.fromkeys(groups.tolist()):
        m = groups == g
        off, cnt = span[g]
        out[m] = off + (u[m] * cnt).astype(np.int64)
    return out


def _by_country(
    values: dict[str, Sequence[str]], countries: StrArray, rng: np.random.Generator
) -> StrArray:
    out = np.empty(countries.shape[0], dtype=object)
    for cc in dict.fromkeys(countries.tolist()):
        m = countries == cc
        opts = values[cc]
        out[m] = np.asarray(opts, dtype=object)[rng.integers(0, len(opts), int(m.sum()))]
    return out.astype(str)


def city_choice(rng: np.random.Generator, countries: StrArray) -> StrArray:
    """A city per row, weighted by size, in that row's country."""
    out = np.empty(countries.shape[0], dtype=object)
    for cc in dict.fromkeys(countries.tolist()):
        m = countries == cc
        out[m] = choice(rng, dict(ref.COUNTRIES[cc].cities), int(m.sum()))
    return out.astype(str)


def _template_strings(rng: np.random.Generator, template: str, n: int) -> StrArray:
    if not template:
        return np.full(n, "", dtype=str)
    m = ids.fill_template(rng, template, n)
    return np.frombuffer(m.tobytes(), dtype=f"S{len(template)}").astype(str)


class World:
    """All entities of one generated drop."""

    def __init__(self, rng: np.random.Generator, start: date, days: int, rates: RateBook) -> None:
        self.start = start
        self.days = days
        self.start_s = int((start - date(1970, 1, 1)).days) * 86400
        self.end_s = self.start_s + days * 86400
        self.rates = rates
        self.parties = Pool(PARTY_SCHEMA)
        self.accounts = Pool(ACCOUNT_SCHEMA)
        self.customers = Pool(CUSTOMER_SCHEMA)
        salt = int(rng.integers(1, 2**31))
        self.counter = Counter(salt)
        self.banks = self._make_banks(rng)
        self.branches = self._make_branches(rng)
        self.agents = pl.DataFrame()
        self._overrides: list[tuple[IntArray, IntArray, tuple[str, ...]]] = []
        self._renames: dict[int, str] = {}

    # -- banks --------------------------------------------------------------------------------

    def _make_banks(self, rng: np.random.Generator) -> pl.DataFrame:
        rows = []
        for cc in (*ref.KYC_BANK_COUNTRIES, *ref.FOREIGN_BANK_COUNTRIES):
            c = ref.COUNTRIES[cc]
            names = ref.BANK_WORDS.get(c.lang, ref.BANK_WORDS["en"])
            n = 3 if cc in ref.STATEMENT_COUNTRIES or cc == "GB" else 2
            for k in range(n):
                base = names[k % len(names)]
                name = base if k < len(names) else f"{base} {c.cities[k % len(c.cities)][0]}"
                lo, hi = c.bank_span
                code = ids.fill_template(rng, c.bban[lo:hi], 1)[0].tobytes().decode()
                letters = "".join(ch for ch in ref.fold(name).upper() if ch.isalpha())
                bic4 = (letters[0] + letters[-1] + letters[len(letters) // 2] + chr(65 + k * 3))[:4]
                loc = ids.fill_template(rng, "an", 1)[0].tobytes().decode()
                rows.append(
                    {
                        "bank_name": name,
                        "country": cc,
                        "bank_code": code,
                        "bic": f"{bic4}{cc}{loc}XXX",
                        "kyc": cc in ref.KYC_BANK_COUNTRIES,
                        "statements": cc in ref.STATEMENT_COUNTRIES,
                    }
                )
        return pl.DataFrame(rows)

    def banks_in(self, country: str) -> IntArray:
        """Indices of the banks of a country."""
        return np.flatnonzero(self.banks["country"].to_numpy() == country)

    def _make_branches(self, rng: np.random.Generator) -> pl.DataFrame:
        rows = []
        for b, (cc, stm) in enumerate(
            zip(self.banks["country"], self.banks["statements"], strict=True)
        ):
            if not stm:
                continue
            for city, _w in ref.COUNTRIES[cc].cities:
                rows.append({"bank": b, "city": city, "country": cc})
        frame = pl.DataFrame(rows)
        codes = ids.format_ids("", self.counter.take("branch", frame.height, 10_000), 4)
        accounts = self.new_accounts(
            rng,
            frame["bank"].to_numpy().astype(np.int64),
            np.full(frame.height, -1, dtype=np.int64),
        )
        return frame.with_columns(branch_code=codes, cash_account=pl.Series(accounts))

    # -- parties ------------------------------------------------------------------------------

    def new_persons(
        self,
        rng: np.random.Generator,
        groups: StrArray,
        countries: StrArray,
        cities: StrArray | None = None,
        kyc_bank: IntArray | None = None,
    ) -> IntArray:
        """Create people of the given communities living in the given countries."""
        n = int(groups.shape[0])
        if n == 0:
            return np.zeros(0, dtype=np.int64)
        gi = _draw_from_span(rng, groups, GIVEN_SPAN)
        si = _draw_from_span(rng, groups, SURNAME_SPAN)
        p_single = lookup(groups, dict(ref.SINGLE_NAME_GROUPS), 0.0)
        single = rng.random(n) < p_single
        given = GIVEN_TABLE[gi]
        sur = SURNAME_TABLE[si]
        one = pl.lit(pl.Series(single))
        names = {
            k: pl.select(
                pl.when(one)
                .then(pl.lit(given[k]))
                .otherwise(pl.concat_str(pl.lit(given[k]), pl.lit(sur[k]), separator=sep))
            ).to_series()
            for k, sep in (("v0", " "), ("v1", " "), ("v2", " "), ("ascii", "."))
        }
        if cities is None:
            cities = city_choice(rng, countries)
        # birth dates: 18-75 years before the period; some communities record 1 January
        age_days = (rng.triangular(18, 34, 76, n) * 365.25).astype(np.int64)
        birth = np.datetime64(self.start) - age_days.astype("timedelta64[D]")
        jan1 = rng.random(n) < lookup(groups, dict(ref.JAN1_GROUPS), 0.0)
        years = birth.astype("datetime64[Y]")
        birth = np.where(jan1, years.astype("datetime64[D]"), birth)
        id_type, id_country = self._documents(rng, groups, countries)
        frame = pl.DataFrame(
            {
                "kind": np.full(n, "person"),
                "group": groups,
                "name": names["v0"],
                "name_v1": names["v1"],
                "name_v2": names["v2"],
                "birth_date": pl.Series(birth.astype("datetime64[D]")).cast(pl.Date),
                "id_type": id_type,
                "id_number": self._doc_numbers(rng, id_country),
                "id_country": id_country,
                "city": cities,
                "country": countries,
            }
        )
        phone_cc, phone_nsn = self._phones(rng, countries)
        frame = frame.with_columns(
            phone_cc=phone_cc,
            phone_nsn=phone_nsn,
            email=self._emails(rng, names["ascii"]),
            address=self._addresses(rng, countries, cities),
            party_id=self._party_ids(kyc_bank, n),
        )
        return self.parties.add(frame)

    def new_companies(
        self,
        rng: np.random.Generator,
        countries: StrArray,
        patterns: dict[str, tuple[str, ...]],
        kyc_bank: IntArray | None = None,
    ) -> IntArray:
        """Create companies (employers, suppliers, merchants, utilities) in the given countries."""
        n = countries.shape[0]
        if n == 0:
            return np.zeros(0, dtype=np.int64)
        cities = city_choice(rng, countries)
        langs = lookup(countries, LANG)
        lang_key = np.array(
            [lg if lg in patterns else "en" if "en" in patterns else "de" for lg in langs]
        )
        groups = lookup(countries, dict(NATIVE_GROUP))
        si = _draw_from_span(rng, groups, SURNAME_SPAN)
        sur = SURNAME_TABLE["v0"].gather(si)
        pattern = _by_country(
            {k: patterns[k] for k in dict.fromkeys(lang_key.tolist())}, lang_key, rng
        )
        names = pl.select(
            pl.lit(pl.Series(pattern))
            .str.replace_all("{S}", pl.lit(sur), literal=True)
            .str.replace_all("{C}", pl.lit(pl.Series(cities)), literal=True)
        ).to_series()
        regno = self.counter.take("company", n, 1_000_000)
        # companies are few: folding their names one by one is cheap
        slug = names.map_elements(ref.fold, return_dtype=pl.String).str.to_lowercase()
        slug = slug.str.replace_all(r"[^a-z0-9]+", "-").str.strip_chars("-")
        phone_cc, phone_nsn = self._phones(rng, countries)
        frame = pl.DataFrame(
            {
                "kind": np.full(n, "company"),
                "group": groups,
                "name": names,
                "name_v1": names,
                "name_v2": names,
                "birth_date": pl.Series([None] * n, dtype=pl.Date),
                "id_type": np.full(n, "COMPANY_REGISTER"),
                "id_number": pl.select(
                    pl.concat_str(
                        pl.lit(pl.Series(lookup(lang_key, dict(REGISTER), "REG "))),
                        pl.lit(ids.format_ids("", regno, 6)),
                    )
                ).to_series(),
                "id_country": countries,
                "phone_cc": phone_cc,
                "phone_nsn": phone_nsn,
                "email": pl.select(
                    pl.concat_str(pl.lit("info@"), pl.lit(slug), pl.lit(".example"))
                ).to_series(),
                "address": self._addresses(rng, countries, cities),
                "city": cities,
                "country": countries,
                "party_id": self._party_ids(kyc_bank, n),
            }
        )
        return self.parties.add(frame)

    def _party_ids(self, kyc_bank: IntArray | None, n: int) -> pl.Series:
        """Customer ids of the bank (-1: no id known, e.g. a foreign bank's customer)."""
        if kyc_bank is None:
            return pl.Series([None] * n, dtype=pl.String)
        known = kyc_bank >= 0
        seq = np.zeros(n, dtype=np.int64)
        seq[known] = self.counter.take("party", int(known.sum()), 10**8)
        prefix = self.banks["bic"].str.slice(0, 4).gather(np.where(known, kyc_bank, 0))
        number = ids.format_ids("", seq, 8)
        return pl.select(
            pl.when(pl.lit(pl.Series(known)))
            .then(pl.concat_str(pl.lit(prefix), pl.lit(number)))
            .otherwise(None)
        ).to_series()

    def _documents(
        self, rng: np.random.Generator, groups: StrArray, countries: StrArray
    ) -> tuple[StrArray, StrArray]:
        n = int(groups.shape[0])
        native = lookup(countries, dict(NATIVE_GROUP), "") == groups
        europe = np.isin(countries, np.asarray((*ref.KYC_BANK_COUNTRIES, "US")))
        u = rng.random(n)
        home = lookup(groups, dict(HOME_COUNTRY))
        id_type = np.where(
            native,
            np.where(u < 0.6, "NATIONAL_ID", np.where(u < 0.85, "PASSPORT", "DRIVING_LICENCE")),
            np.where(europe & (u < 0.5), "RESIDENCE_PERMIT", "PASSPORT"),
        )
        id_country = np.where(id_type == "PASSPORT", np.where(native, countries, home), countries)
        return id_type, id_country

    def _doc_numbers(self, rng: np.random.Generator, id_country: StrArray) -> pl.Series:
        n = id_country.shape[0]
        out = self.counter.take("doc", n, 10**7)  # one space for all countries
        letters = _template_strings(rng, "aa", n)
        return pl.select(
            pl.concat_str(pl.lit(pl.Series(letters)), pl.lit(ids.format_ids("", out, 7)))
        ).to_series()

    def _phones(self, rng: np.random.Generator, countries: StrArray) -> tuple[pl.Series, pl.Series]:
        n = countries.shape[0]
        nsn = np.empty(n, dtype=object)
        cc_codes = np.empty(n, dtype=object)
        for cc in dict.fromkeys(countries.tolist()):
            m = countries == cc
            k = int(m.sum())
            info = ref.COUNTRIES[cc]
            prefix = np.asarray(info.mobile)[rng.integers(0, len(info.mobile), k)]
            width = info.nsn_len - len(info.mobile[0])  # prefixes of a country share a length
            tail = self.counter.take("phone:" + cc, k, 10**width)
            nsn[m] = np.char.add(prefix, ids.format_ids("", tail, width).to_numpy().astype(str))
            cc_codes[m] = info.calling
        return pl.Series(cc_codes.astype(str)), pl.Series(nsn.astype(str))

    def _emails(self, rng: np.random.Generator, ascii_names: pl.Series) -> pl.Series:
        n = ascii_names.len()
        local = ascii_names.str.replace_all(r"[^a-z]+", ".").str.strip_chars(".")
        digits = pl.Series(_template_strings(rng, "nn", n))
        domain = pl.Series(
            np.asarray(["example.com", "example.net", "example.org"])[rng.integers(0, 3, n)]
        )
        return pl.select(
            pl.concat_str(pl.lit(local), pl.lit(digits), pl.lit("@"), pl.lit(domain))
        ).to_series()

    def _addresses(
        self, rng: np.random.Generator, countries: StrArray, cities: StrArray
    ) -> pl.Series:
        n = countries.shape[0]
        langs = lookup(countries, LANG)
        streets = _by_country(
            {lg: ref.STREETS.get(lg, ref.STREETS["en"]) for lg in dict.fromkeys(langs.tolist())},
            langs,
            rng,
        )
        number = rng.integers(1, 160, n).astype(str)
        first = np.isin(langs, np.asarray(sorted(ref.NUMBER_FIRST_LANGS)))
        line1 = np.where(
            first,
            np.char.add(np.char.add(number, " "), streets),
            np.char.add(np.char.add(streets, " "), number),
        )
        post = np.empty(n, dtype=object)
        for cc in dict.fromkeys(countries.tolist()):
            m = countries == cc
            post[m] = _template_strings(
                rng, ref.COUNTRIES[cc].postcode.replace("LT-", ""), int(m.sum())
            )
            if ref.COUNTRIES[cc].postcode.startswith("LT-"):
                post[m] = np.char.add("LT-", post[m].astype(str))
        post_s = post.astype(str)
        town = np.where(post_s == "", cities, np.char.add(np.char.add(post_s, " "), cities))
        return pl.Series(np.char.add(np.char.add(line1, ", "), town))

    # -- accounts and customers ---------------------------------------------------------------

    def new_accounts(
        self, rng: np.random.Generator, banks: IntArray, holders: IntArray
    ) -> IntArray:
        """Open one account per (bank, holder); holder -1 for a bank's own (cash) account."""
        n = banks.shape[0]
        if n == 0:
            return np.zeros(0, dtype=np.int64)
        iban = np.empty(n, dtype=object)
        country = self.banks["country"].to_numpy()[banks]
        codes = self.banks["bank_code"].to_numpy()
        for cc in dict.fromkeys(country.tolist()):
            m = country == cc
            c = ref.COUNTRIES[cc]
            bank_codes = np.frombuffer("".join(codes[banks[m]]).encode(), dtype=np.uint8).reshape(
                int(m.sum()), -1
            )
            iban[m] = ids.make_ibans(rng, cc, c.bban, c.bank_span, bank_codes).to_numpy()
        frame = pl.DataFrame(
            {
                "iban": iban.astype(str),
                "bic": self.banks["bic"].gather(banks),
                "bank": banks,
                "country": country,
                "holder": pl.Series(holders).replace(-1, None),
            }
        )
        return self.accounts.add(frame)

    def bank_customers(
        self,
        rng: np.random.Generator,
        countries: StrArray,
        groups: StrArray | None = None,
        statement_bank: bool = False,
        cities: StrArray | None = None,
        banks: IntArray | None = None,
    ) -> tuple[IntArray, IntArray]:
        """People with an account at a bank of their country (or at ``banks``, -1: any):
        (party indices, account indices)."""
        chosen = self.pick_banks(rng, countries, statement_bank)
        if banks is not None:
            chosen = np.where(banks >= 0, banks, chosen)
        if groups is None:
            groups = self.resident_groups(rng, countries)
        kyc = self.banks["kyc"].to_numpy()[chosen]
        parties = self.new_persons(rng, groups, countries, cities, np.where(kyc, chosen, -1))
        return parties, self.new_accounts(rng, chosen, parties)

    def company_accounts(
        self, rng: np.random.Generator, countries: StrArray, patterns: dict[str, tuple[str, ...]]
    ) -> tuple[IntArray, IntArray]:
        """Companies with an account at a bank of their country."""
        banks = self.pick_banks(rng, countries, False)
        kyc = self.banks["kyc"].to_numpy()[banks]
        parties = self.new_companies(rng, countries, patterns, np.where(kyc, banks, -1))
        return parties, self.new_accounts(rng, banks, parties)

    def pick_banks(
        self, rng: np.random.Generator, countries: StrArray, statement_bank: bool
    ) -> IntArray:
        """A bank per row in that row's country."""
        out = np.empty(countries.shape[0], dtype=np.int64)
        for cc in dict.fromkeys(countries.tolist()):
            m = countries == cc
            options = self.banks_in(cc)
            if statement_bank:
                options = options[self.banks["statements"].to_numpy()[options]]
            out[m] = options[rng.integers(0, len(options), int(m.sum()))]
        return out

    def resident_groups(self, rng: np.random.Generator, countries: StrArray) -> StrArray:
        """Communities of residents, by each country's mix."""
        out = np.empty(countries.shape[0], dtype=object)
        for cc in dict.fromkeys(countries.tolist()):
            m = countries == cc
            out[m] = choice(rng, ref.RESIDENTS[cc], int(m.sum()))
        return out.astype(str)

    def new_customers(self, parties: IntArray) -> IntArray:
        """Register parties as MTO customers (one customer number each)."""
        number = self.counter.take("customer", parties.shape[0], 10**9)
        frame = pl.DataFrame({"customer_id": ids.format_ids("C", number, 9), "party": parties})
        return self.customers.add(frame)

    def mto_people(
        self,
        rng: np.random.Generator,
        groups: StrArray,
        countries: StrArray,
        cities: StrArray | None = None,
    ) -> IntArray:
        """New people registered as MTO customers; returns customer indices."""
        return self.new_customers(self.new_persons(rng, groups, countries, cities))

    # -- agents -------------------------------------------------------------------------------

    def make_agents(self, rng: np.random.Generator, volume: dict[str, float]) -> None:
        """Agents in every country with MTO traffic: about one per 300 expected orders, at least
        one per city; plus one digital location per sending country (online and app orders)."""
        rows = []
        for cc, vol in volume.items():
            cities = ref.COUNTRIES[cc].cities
            n = max(len(cities), round(vol / 300))
            names, w = _weights(dict(cities))
            per_city = np.ones(len(cities), dtype=np.int64) + rng.multinomial(n - len(cities), w)
            for city, k in zip(names, per_city, strict=True):
                for _ in range(int(k)):
                    rows.append(
                        {
                            "country": cc,
                            "city": city,
                            "digital": False,
                            "weight": float(rng.lognormal(0, 0.6)),
                        }
                    )
            rows.append({"country": cc, "city": "Online", "digital": True, "weight": 1.0})
        frame = pl.DataFrame(rows)
        number = ids.format_ids("", self.counter.take("agent", frame.height, 10**5), 5)
        self.agents = frame.with_columns(
            agent_id=pl.concat_str(pl.lit("AG"), pl.col("country"), pl.lit(number))
        )

    def agents_in(self, country: str, city: str | None = None) -> IntArray:
        """Indices of the physical agents of a country (and city)."""
        m = (self.agents["country"].to_numpy() == country) & ~self.agents["digital"].to_numpy()
        if city is not None:
            m &= self.agents["city"].to_numpy() == city
        return np.flatnonzero(m)

    def digital_agent(self, country: str) -> int:
        """The digital location of a country."""
        m = (self.agents["country"].to_numpy() == country) & self.agents["digital"].to_numpy()
        return int(np.flatnonzero(m)[0])

    def pick_agents(self, rng: np.random.Generator, countries: StrArray) -> IntArray:
        """A physical agent per row, weighted, in that row's country."""
        out = np.empty(countries.shape[0], dtype=np.int64)
        weight = self.agents["weight"].to_numpy()
        for cc in dict.fromkeys(countries.tolist()):
            m = countries == cc
            options = self.agents_in(cc)
            p = weight[options] / weight[options].sum()
            out[m] = options[rng.choice(len(options), size=int(m.sum()), p=p)]
        return out

    # -- identity overrides (shared identifiers, namesakes) ----------------------------------

    _SHARED: dict[str, tuple[str, ...]] = {  # noqa: RUF012
        "document": ("id_type", "id_number", "id_country"),
        "phone": ("phone_cc", "phone_nsn"),
        "spelling": ("name", "name_v1", "name_v2", "birth_date", "id_type", "id_number",
                     "id_country", "phone_cc", "phone_nsn", "address", "city", "email"),
        "address": ("address", "city"),
    }  # fmt: skip

    def share_identity(self, parties: IntArray, variant: str) -> None:
        """Give ``parties[1:]`` the identifier(s) of ``parties[0]`` (applied by ``finalize``).

        ``document``/``phone``: different people sharing one; ``spelling``: one person twice;
        ``address``: different people living at one address.
        """
        others = parties[1:]
        self._overrides.append((np.repeat(parties[:1], others.size), others, self._SHARED[variant]))

    def rename(self, party: int, name: str) -> None:
        """Give a party another name (all spellings)."""
        self._renames[party] = name

    def finalize(self) -> None:
        """Apply the identity overrides to the parties table."""
        if not self._overrides and not self._renames:
            return
        frame = self.parties.frame()
        cols = {c: frame[c].clone() for c in frame.columns if c not in ("kind", "group")}
        for src, dst, names in self._overrides:
            for c in names:
                cols[c].scatter(dst, cols[c].gather(src))
        for p, name in self._renames.items():
            for c in ("name", "name_v1", "name_v2"):
                cols[c].scatter([p], name)
        updated = frame.with_columns(list(cols.values()))
        self.parties = Pool(PARTY_SCHEMA)
        self.parties.add(updated)
        self._overrides, self._renames = [], {}
