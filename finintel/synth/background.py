"""Normal behaviour: salaries, rent, bills, shopping, supplier payments, family remittances.

Legitimate fan-out (payroll), fan-in (shops, suppliers, relatives sending to one receiver) and
cash use are all here on purpose: a typology that fires on one of them alone is not specific.
Everything is vectorised; the only loops run over months, countries or corridors.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from finintel.synth import reference as ref
from finintel.synth import skeleton as sk
from finintel.synth.world import HOME_COUNTRY, NATIVE_GROUP, World, choice, lookup

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
StrArray = npt.NDArray[np.str_]

#: Where bank customers of the credit-transfer export live (shares).
TRANSFER_COUNTRIES: dict[str, float] = {
    "DE": 0.28, "FR": 0.12, "IT": 0.1, "ES": 0.08, "NL": 0.06, "BE": 0.04, "AT": 0.04,
    "GB": 0.12, "SE": 0.04, "PL": 0.05, "CH": 0.03, "NO": 0.02, "LT": 0.01, "HR": 0.01,
}  # fmt: skip

SHARE_STATEMENTS = 0.40
SHARE_TRANSFERS = 0.22


@dataclass(frozen=True)
class Budget:
    """Background rows per file."""

    statements: int
    transfers: int
    mto: int

    @classmethod
    def split(cls, rows: int) -> Budget:
        """Split ``rows`` background movements over the three provider files."""
        st = round(rows * SHARE_STATEMENTS)
        bt = round(rows * SHARE_TRANSFERS)
        return cls(st, bt, max(0, rows - st - bt))


def _months(world: World) -> list[int]:
    """Epoch day of the first of every month that overlaps the period."""
    out: list[int] = []
    y, m = world.start.year, world.start.month
    while True:
        first = (date(y, m, 1) - date(1970, 1, 1)).days
        if first * 86400 >= world.end_s:
            return out
        out.append(first)
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)


def _month_len(first_day: int) -> int:
    d = date(1970, 1, 1).toordinal() + first_day
    nxt = date.fromordinal(d).replace(day=28).toordinal() + 4
    return int(date.fromordinal(nxt).replace(day=1).toordinal() - d)


def _shift_weekend(day: IntArray, forward: bool) -> IntArray:
    wd = (day + 3) % 7
    if forward:
        return day + np.where(wd == 5, 2, np.where(wd == 6, 1, 0))
    return day - np.where(wd == 5, 1, np.where(wd == 6, 2, 0))


def _in_period(world: World, t: IntArray) -> npt.NDArray[np.bool_]:
    return (t >= world.start_s) & (t < world.end_s)


def _pick_in_country(
    rng: np.random.Generator,
    countries: StrArray,
    pool_country: StrArray,
    weights: FloatArray | None = None,
) -> IntArray:
    """For each row, an index into a pool restricted to the row's country (weighted)."""
    out = np.empty(countries.shape[0], dtype=np.int64)
    for cc in dict.fromkeys(countries.tolist()):
        m = countries == cc
        options = np.flatnonzero(pool_country == cc)
        if options.size == 0:
            options = np.arange(pool_country.shape[0])
        p = None if weights is None else weights[options] / weights[options].sum()
        out[m] = options[rng.choice(options.size, size=int(m.sum()), p=p)]
    return out


@dataclass
class Economy:
    """Employers, suppliers, landlords, utilities and shops, with their accounts."""

    employer_party: IntArray
    employer_account: IntArray
    employer_country: StrArray
    supplier_party: IntArray
    supplier_account: IntArray
    supplier_country: StrArray
    landlord_party: IntArray
    landlord_account: IntArray
    landlord_country: StrArray
    utility_party: IntArray
    utility_account: IntArray
    utility_country: StrArray
    merchant_party: IntArray
    merchant_account: IntArray
    merchant_country: StrArray
    merchant_weight: FloatArray
    payday: IntArray  # day of month each employer pays salaries

    @classmethod
    def build(cls, world: World, rng: np.random.Generator, budget: Budget) -> Economy:
        """Size the businesses to the budget (about 12 staff per employer, 25 shoppers per shop)."""
        n_months = world.days / 30.44
        subjects = budget.statements / (n_months * 13.5)
        employees = SALARY_SHARE * budget.transfers / max(n_months, 1.0) + subjects
        n_emp = max(8, round(employees / 12))
        n_sup = max(8, round(0.4 * budget.transfers / (n_months * 25)))
        n_land = max(6, round(subjects / 5 + RENT_SHARE * budget.transfers / max(n_months, 1) / 4))
        st_countries = dict(ref.STATEMENT_COUNTRIES)
        emp_c = choice(rng, TRANSFER_COUNTRIES | st_countries, n_emp)
        sup_c = choice(rng, TRANSFER_COUNTRIES, n_sup)
        land_c = choice(rng, TRANSFER_COUNTRIES | st_countries, n_land)
        util_c = np.repeat(np.asarray(list(st_countries)), 3)
        merch_c = choice(rng, st_countries, max(12, round(subjects / 4)))
        emp = world.company_accounts(rng, emp_c, ref.COMPANY_PATTERNS)
        sup = world.company_accounts(rng, sup_c, ref.COMPANY_PATTERNS)
        # landlords: private people and housing companies
        private = rng.random(n_land) < 0.6
        land_p = np.empty(n_land, dtype=np.int64)
        land_a = np.empty(n_land, dtype=np.int64)
        pp, pa = world.bank_customers(rng, land_c[private])
        cp, ca = world.company_accounts(rng, land_c[~private], ref.COMPANY_PATTERNS)
        land_p[private], land_a[private] = pp, pa
        land_p[~private], land_a[~private] = cp, ca
        util = world.company_accounts(rng, util_c, ref.UTILITY_PATTERNS)
        merch = world.company_accounts(rng, merch_c, ref.MERCHANT_PATTERNS)
        payday = rng.integers(25, 29, n_emp)
        payday[rng.random(n_emp) < 0.3] = 31  # last business day of the month
        return cls(
            emp[0], emp[1], emp_c, sup[0], sup[1], sup_c, land_p, land_a, land_c,
            util[0], util[1], util_c, merch[0], merch[1], merch_c,
            rng.lognormal(0.0, 0.8, int(merch_c.shape[0])), payday,
        )  # fmt: skip


SALARY_SHARE = 0.35
RENT_SHARE = 0.12


def _monthly(
    world: World,
    rng: np.random.Generator,
    who: IntArray,
    day_of_month: IntArray,
    forward: bool,
    hours: tuple[float, float],
) -> tuple[IntArray, IntArray]:
    """One event per (entity, month) on a day of month moved off weekends: (entity idx, t)."""
    ent, times = [], []
    for first in _months(world):
        length = _month_len(first)
        day = first + np.minimum(day_of_month, length) - 1
        day = _shift_weekend(day, forward)
        t = day * 86400 + (rng.uniform(hours[0], hours[1], int(who.shape[0])) * 3600).astype(
            np.int64
        )
        keep = _in_period(world, t)
        ent.append(who[keep])
        times.append(t[keep])
    return np.concatenate(ent), np.concatenate(times)


def _uniform_times(
    world: World, rng: np.random.Generator, n: int, hours: tuple[float, float]
) -> IntArray:
    day = rng.integers(0, world.days, n)
    return (
        world.start_s + day * 86400 + (rng.uniform(hours[0], hours[1], n) * 3600).astype(np.int64)
    )


def _home_branch(world: World, accounts: IntArray, cities: StrArray) -> IntArray:
    """The branch of the account's bank in the holder's city (or the bank's first branch)."""
    br = world.branches.with_row_index("branch")
    bank = world.accounts.frame()["bank"].to_numpy()[accounts]
    probe = pl.DataFrame({"bank": bank.astype(np.int64), "city": cities})
    joined = probe.join(br.select("bank", "city", "branch"), on=["bank", "city"], how="left",
                        maintain_order="left")  # fmt: skip
    first = br.group_by("bank").agg(pl.col("branch").min().alias("first"))
    filled = joined.join(first, on="bank", how="left", maintain_order="left")
    return filled.select(pl.coalesce("branch", "first")).to_series().to_numpy().astype(np.int64)


def statements(world: World, rng: np.random.Generator, econ: Economy, target: int) -> pl.DataFrame:
    """Account statements of private customers ("subjects") at the statement banks."""
    n_months = world.days / 30.44
    n = max(10, round(target / (n_months * 13.5)))
    countries = choice(rng, dict(ref.STATEMENT_COUNTRIES), n)
    parties, accounts = world.bank_customers(rng, countries, statement_bank=True)
    pf = world.parties.frame()
    cities = pf["city"].to_numpy()[parties]
    groups = pf["group"].to_numpy()[parties]
    idx = np.arange(n)
    parts: list[pl.DataFrame] = []

    def add(who: IntArray, t: IntArray, credit: bool, cp_acc: IntArray, cp_party: IntArray | None,
            amount: npt.NDArray[Any], kind: int, ref_: IntArray | None = None) -> None:  # fmt: skip
        parts.append(
            sk.frame(
                sk.STATEMENT_SCHEMA,
                {
                    "t": t,
                    "account": accounts[who],
                    "credit": np.full(t.shape[0], credit),
                    "cp_account": cp_acc,
                    "cp_party": cp_party if cp_party is not None else np.full(t.shape[0], -1),
                    "amount": amount,
                    "ccy": np.zeros(t.shape[0], dtype=np.int64),
                    "kind": np.full(t.shape[0], kind),
                    "ref": ref_ if ref_ is not None else np.zeros(t.shape[0], dtype=np.int64),
                },
            ).with_columns(cp_party=pl.when(pl.col("cp_party") >= 0).then("cp_party"))
        )

    # salaries from an employer of the same country
    employed = idx[rng.random(n) < 0.8]
    employer = _pick_in_country(rng, countries[employed], econ.employer_country)
    salary = np.round(rng.lognormal(np.log(2600), 0.35, n), 2)
    pos, t = _monthly(world, rng, np.arange(employed.size), econ.payday[employer], False, (3, 6))
    who = employed[pos]
    add(who, t, True, econ.employer_account[employer[pos]], econ.employer_party[employer[pos]],
        salary[who], sk.K_SALARY)  # fmt: skip
    # rent to a landlord of the same country
    renters = idx[rng.random(n) < 0.65]
    landlord = _pick_in_country(rng, countries[renters], econ.landlord_country)
    base = np.where(
        np.isin(renters, employed), salary[renters], rng.uniform(1200, 2500, renters.size)
    )
    rent = np.round(base * rng.uniform(0.28, 0.42, renters.size), -1)
    pos, t = _monthly(world, rng, np.arange(renters.size), rng.integers(1, 4, renters.size), True,
                      (5, 9))  # fmt: skip
    add(renters[pos], t, False, econ.landlord_account[landlord[pos]], econ.landlord_party[landlord[pos]],
        rent[pos], sk.K_RENT)  # fmt: skip
    # one or two utility bills
    for share in (1.0, 0.5):
        payers = idx[rng.random(n) < share]
        util = _pick_in_country(rng, countries[payers], econ.utility_country)
        bill = np.round(rng.uniform(35, 160, payers.size), 2)
        pos, t = _monthly(world, rng, np.arange(payers.size), rng.integers(10, 21, payers.size),
                          True, (4, 8))  # fmt: skip
        add(payers[pos], t, False, econ.utility_account[util[pos]], econ.utility_party[util[pos]],
            bill[pos], sk.K_UTILITY)  # fmt: skip
    home = _home_branch(world, accounts, cities)
    cash = world.branches["cash_account"].to_numpy()
    # cash withdrawals at the home branch
    k = rng.poisson(1.2 * n_months, n)
    who = np.repeat(idx, k)
    amount = rng.choice([50.0, 100.0, 150.0, 200.0, 250.0, 300.0, 400.0, 500.0], who.size)
    add(who, _uniform_times(world, rng, who.size, (7, 21)), False, cash[home[who]], None, amount,
        sk.K_ATM, home[who])  # fmt: skip
    # a few customers pay in their own cash (tips, a small shop's takings)
    own = idx[rng.random(n) < 0.04]
    who = np.repeat(own, rng.poisson(1.0 * n_months, own.size))
    amount = np.round(rng.uniform(100, 900, who.size), -1)
    add(who, _uniform_times(world, rng, who.size, (7, 17)), True, cash[home[who]], parties[who],
        amount, sk.K_CASH_DEPOSIT, home[who])  # fmt: skip
    # family support to relatives' bank accounts at home
    home_cc = lookup(groups, dict(HOME_COUNTRY), "")
    has_bank = np.isin(home_cc, world.banks["country"].unique().to_numpy()) & (home_cc != countries)
    senders = idx[has_bank & (rng.random(n) < 0.3)]
    if senders.size:
        rel_p, rel_a = world.bank_customers(rng, home_cc[senders], groups[senders])
        amount = np.round(rng.uniform(100, 600, senders.size), -1)
        pos, t = _monthly(world, rng, np.arange(senders.size), rng.integers(1, 29, senders.size),
                          True, (6, 16))  # fmt: skip
        add(senders[pos], t, False, rel_a[pos], rel_p[pos], amount[pos], sk.K_FAMILY)
    # card payments at shops of the same country fill the budget
    fixed = sum(p.height for p in parts)
    cards = max(0, target - fixed)
    activity = rng.lognormal(0.0, 0.5, n)
    who = np.sort(rng.choice(n, size=cards, p=activity / activity.sum()))
    shop = _pick_in_country(rng, countries[who], econ.merchant_country, econ.merchant_weight)
    amount = np.round(np.clip(rng.lognormal(np.log(28), 0.9, cards), 1.5, 900), 2)
    add(who, _uniform_times(world, rng, cards, (7, 20)), False, econ.merchant_account[shop],
        econ.merchant_party[shop], amount, sk.K_CARD)  # fmt: skip
    return pl.concat(parts)


def transfers(world: World, rng: np.random.Generator, econ: Economy, target: int) -> pl.DataFrame:
    """Credit transfers: payroll, rent, supplier invoices and payments between people."""
    n_months = world.days / 30.44
    parts: list[pl.DataFrame] = []
    cur = {c: sk.CCY[ref.COUNTRIES[c].currency] for c in TRANSFER_COUNTRIES}

    def add(t: IntArray, deb: IntArray, cred: IntArray, amount: npt.NDArray[Any], ccy: IntArray,
            purpose: int | IntArray | None, kind: int, ref_: IntArray | None = None) -> None:  # fmt: skip
        parts.append(
            sk.frame(
                sk.TRANSFER_SCHEMA,
                {
                    "t": t,
                    "debtor": deb,
                    "creditor": cred,
                    "amount": amount,
                    "ccy": ccy,
                    "purpose": np.broadcast_to(-1 if purpose is None else purpose, t.shape),
                    "kind": np.full(t.shape[0], kind),
                    "ref": ref_ if ref_ is not None else np.zeros(t.shape[0], dtype=np.int64),
                },
            )
            .with_columns(purpose=pl.when(pl.col("purpose") >= 0).then("purpose"))
            .filter(pl.col("debtor") != pl.col("creditor"))  # nobody pays their own account
        )

    def local_ccy(countries: StrArray) -> IntArray:
        return np.asarray(lookup(countries, dict(cur), 0), dtype=np.int64)

    def pair_ccy(a: StrArray, b: StrArray) -> IntArray:  # domestic: local, else EUR
        return np.where(a == b, local_ccy(a), sk.CCY["EUR"])

    # payroll: every employee on the employer's pay day (a legitimate fan-out)
    n_emp = max(5, round(SALARY_SHARE * target / max(n_months, 1)))
    emp_c = choice(rng, TRANSFER_COUNTRIES, n_emp)
    _, emp_acc = world.bank_customers(rng, emp_c)
    employer = _pick_in_country(rng, emp_c, econ.employer_country)
    salary = np.round(rng.lognormal(np.log(2700), 0.4, n_emp), 2)
    pos, t = _monthly(world, rng, np.arange(n_emp), econ.payday[employer], False, (6, 9))
    ccy = pair_ccy(econ.employer_country[employer[pos]], emp_c[pos])
    add(t, econ.employer_account[employer[pos]], emp_acc[pos], salary[pos], ccy,
        0, sk.K_SALARY, employer[pos])  # fmt: skip
    # rent
    n_ten = max(3, round(RENT_SHARE * target / max(n_months, 1)))
    ten_c = choice(rng, TRANSFER_COUNTRIES, n_ten)
    _, ten_acc = world.bank_customers(rng, ten_c)
    landlord = _pick_in_country(rng, ten_c, econ.landlord_country)
    rent = np.round(rng.uniform(450, 1600, n_ten), -1)
    pos, t = _monthly(world, rng, np.arange(n_ten), rng.integers(1, 4, n_ten), True, (6, 10))
    ccy = pair_ccy(ten_c[pos], econ.landlord_country[landlord[pos]])
    add(t, ten_acc[pos], econ.landlord_account[landlord[pos]], rent[pos], ccy, 1,
        sk.K_RENT)  # fmt: skip
    rest = max(0, target - sum(p.height for p in parts))
    # supplier invoices between companies, a fifth across borders
    n_inv = round(rest * 0.7)
    companies = np.concatenate([econ.employer_account, econ.supplier_account])
    comp_c = np.concatenate([econ.employer_country, econ.supplier_country])
    payer = rng.integers(0, companies.size, n_inv)
    cross = rng.random(n_inv) < 0.2
    payee_c = np.where(cross, choice(rng, TRANSFER_COUNTRIES, n_inv), comp_c[payer])
    popularity = rng.lognormal(0.0, 1.0, econ.supplier_account.size)
    payee = _pick_in_country(rng, payee_c, econ.supplier_country, popularity)
    own = companies[payer] == econ.supplier_account[payee]  # a supplier paying itself:
    payee[own] = (payee[own] + 1) % econ.supplier_account.size  # the next supplier instead
    amount = np.round(np.clip(rng.lognormal(np.log(3500), 1.1, n_inv), 50, 400_000), 2)
    same = comp_c[payer] == econ.supplier_country[payee]
    ccy = np.where(same, local_ccy(comp_c[payer]), sk.CCY["EUR"])
    t = _business_days(world, rng, n_inv, (6, 16))
    invoice = rng.integers(1, 99_999, n_inv)
    add(t, companies[payer], econ.supplier_account[payee], amount, ccy,
        np.where(rng.random(n_inv) < 0.5, 2, 3), sk.K_INVOICE, invoice)  # fmt: skip
    # payments between people: friends at home, relatives abroad
    n_p2p = rest - n_inv
    people = np.concatenate([emp_acc, ten_acc])
    people_c = np.concatenate([emp_c, ten_c])
    src = rng.integers(0, people.size, n_p2p)
    abroad = rng.random(n_p2p) < 0.2
    dst = _pick_in_country(rng, people_c[src], people_c)
    dst[dst == src] = (dst[dst == src] + 1) % people.size  # not themselves
    dst_acc = people[dst]
    if abroad.any():
        pf = world.parties.frame()
        holder = world.accounts.frame()["holder"].fill_null(-1).to_numpy()[people[src[abroad]]]
        grp = pf["group"].to_numpy()[holder]
        dest_c = choice(rng, {"TR": 0.3, "RS": 0.15, "BA": 0.15, "PL": 0.15, "JO": 0.1, "AE": 0.15},
                        int(abroad.sum()))  # fmt: skip
        native = lookup(dest_c, dict(NATIVE_GROUP), "")
        grp = np.where(lookup(grp, dict(HOME_COUNTRY), "") == dest_c, grp, native)
        _, rel_acc = world.bank_customers(rng, dest_c, grp)
        dst_acc[abroad] = rel_acc
    amount = np.round(np.clip(rng.lognormal(np.log(150), 0.9, n_p2p), 5, 5000), 2)
    ccy = np.where(abroad, sk.CCY["EUR"], local_ccy(people_c[src]))
    add(_business_days(world, rng, n_p2p, (6, 18)), people[src], dst_acc, amount, ccy, None,
        sk.K_P2P, rng.integers(0, len(P2P_TEXTS), n_p2p))  # fmt: skip
    return pl.concat(parts)


P2P_TEXTS: tuple[str, ...] = (
    "Danke", "Geburtstag", "Urlaub", "Rückzahlung", "for dinner", "birthday", "concert tickets",
    "Familie", "support", "Auslagen", "loan back", "Miete Anteil", "rimborso", "cadeau",
)  # fmt: skip


def _business_days(
    world: World, rng: np.random.Generator, n: int, hours: tuple[float, float]
) -> IntArray:
    day = world.start_s // 86400 + rng.integers(0, world.days, n)
    day = _shift_weekend(day, True)
    t = day * 86400 + (rng.uniform(hours[0], hours[1], n) * 3600).astype(np.int64)
    return np.where(_in_period(world, t), t, t - 3 * 86400)


def agent_volumes(mto_rows: int) -> dict[str, float]:
    """Expected MTO orders per country (sends plus payouts), to size the agent network."""
    vol: dict[str, float] = {}
    for d in ref.DIASPORAS:
        for table in (d.senders, d.receivers):
            total = sum(table.values())
            for cc, w in table.items():
                vol[cc] = vol.get(cc, 0.0) + mto_rows * d.share * w / total
    return vol


def mto(world: World, rng: np.random.Generator, target: int) -> pl.DataFrame:
    """Family remittances along the diaspora corridors: 1-3 relatives send to one receiver."""
    n_months = world.days / 30.44
    shares = np.array([d.share for d in ref.DIASPORAS])
    per_corridor = rng.multinomial(target, shares / shares.sum())
    agents = world.agents
    agent_country = agents["country"].to_numpy()
    agent_city = agents["city"].to_numpy()
    offset = lookup(agent_country, {c.code: c.utc_offset for c in ref.COUNTRIES.values()}, 0)
    parts = []
    for d, m in zip(ref.DIASPORAS, per_corridor, strict=True):
        if m == 0:
            continue
        households = max(2, round(m / (1.6 * n_months)))
        # receivers at their home payout agent's city
        r_country = choice(rng, d.receivers, households)
        r_agent = world.pick_agents(rng, r_country)
        r_group = _group(d.group, r_country, world, rng)
        receivers = world.mto_people(rng, r_group, r_country, agent_city[r_agent])
        # senders: 1-3 relatives, often in the same country
        size = rng.choice([1, 2, 3], size=households, p=[0.55, 0.32, 0.13])
        hh = np.repeat(np.arange(households), size)
        first = np.r_[True, hh[1:] != hh[:-1]]
        s_country = choice(rng, d.senders, hh.size)
        lead = np.maximum.accumulate(np.where(first, np.arange(hh.size), 0))
        s_country = np.where(~first & (rng.random(hh.size) < 0.6), s_country[lead], s_country)
        s_agent = world.pick_agents(rng, s_country)
        s_agent = np.where(~first & (s_country == s_country[lead]) & (rng.random(hh.size) < 0.5),
                           s_agent[lead], s_agent)  # fmt: skip
        s_group = _group(d.group, s_country, world, rng)
        senders = world.mto_people(rng, s_group, s_country, agent_city[s_agent])
        # how often each sender sends over the period: exactly m orders in the corridor
        # (at most about three orders a month: heavy remitters would trip the corridor rule)
        w = np.clip(rng.gamma(2.0, 1.0, hh.size), 0.3, 3.0)
        k = rng.multinomial(m, w / w.sum())
        who = np.repeat(np.arange(hh.size), k)
        start = np.repeat(np.cumsum(k) - k, k)
        j = np.arange(who.size) - start
        span = world.days / np.maximum(k[who], 1)
        day = np.floor((j + rng.uniform(0.1, 0.9, who.size)) * span).astype(np.int64)
        day_s = world.start_s + np.clip(day, 0, world.days - 1) * 86400
        u = rng.random(who.size)
        channel = np.where(u < 0.06, 1, np.where(u < 0.1, 2, 0))
        home = s_agent[who]
        other = world.pick_agents(rng, s_country[who])
        agent = np.where(rng.random(who.size) < 0.05, other, home)
        digital = lookup(
            s_country[who],
            {c: world.digital_agent(c) for c in dict.fromkeys(s_country.tolist())},
            0,
        )
        agent = np.where(channel > 0, digital, agent)
        t = sk.business_time(rng, day_s, offset[agent], 8.5, 19.5)
        t = np.clip(t, world.start_s, world.end_s - 60)
        # amounts: a per-sender habit, in the sender's currency
        habit = np.clip(rng.lognormal(np.log(260), 0.55, hh.size), 40, 700)
        eur = habit[who] * rng.lognormal(0.0, 0.45, who.size)
        big = rng.random(who.size) < 0.15  # school fees, a wedding, a repair: larger sums
        eur = np.clip(np.where(big, rng.lognormal(np.log(800), 0.35, who.size), eur), 20, 2400)
        ccy_code = lookup(
            s_country[who], {c.code: sk.CCY.get(c.currency, 0) for c in ref.COUNTRIES.values()}, 0
        )
        book = np.array([world.rates.index(c) for c in sk.CURRENCIES])
        principal = sk.round_amounts(rng, eur * world.rates.mean[book[ccy_code]], 0.55)
        r_home = r_agent[hh[who]]
        r_second = world.pick_agents(rng, r_country)  # receivers use one or two agents
        payout = np.where(rng.random(who.size) < 0.2, r_second[hh[who]], r_home)
        orders = sk.Orders(
            sender=senders[who], receiver=receivers[hh[who]], send_agent=agent,
            payout_agent=payout, t_send=t, principal=principal, send_ccy=ccy_code, channel=channel,
        )  # fmt: skip
        parts.append(sk.mto_frame(world, rng, orders, background=True))
    return pl.concat(parts) if parts else sk.empty(sk.MTO_SCHEMA)


def _group(group: str, countries: StrArray, world: World, rng: np.random.Generator) -> StrArray:
    """The community of a corridor's people; residents' mix for the "native" corridor."""
    if group != "native":
        return np.full(countries.shape[0], group)
    return world.resident_groups(rng, countries)
