"""Injected bank cases: fan-in and fan-out (credit transfers), pass-through mules and funnel
accounts (account statements)."""

from __future__ import annotations

import numpy as np
import polars as pl

from finintel.synth import reference as ref
from finintel.synth import skeleton as sk
from finintel.synth.background import TRANSFER_COUNTRIES
from finintel.synth.casebook import BT, DAY, HOUR, ST, Ctx, Draft, Member, People, pick

EURO_BANKS: tuple[str, ...] = ("DE", "NL", "BE", "FR", "IT", "ES", "AT", "LT")
ABROAD: dict[str, float] = {"LT": 0.2, "HR": 0.1, "PL": 0.1, "GB": 0.15, "TR": 0.2, "AE": 0.15,
                            "RS": 0.05, "BA": 0.05}  # fmt: skip
FAN_IN_TEXTS = ("Rechnung {n}", "for Ahmed", "Darlehen", "payment", "Anzahlung", "Ware {n}", "help",
                "ticket", "invoice {n}", "rimborso", "per la famiglia", "Kaution")  # fmt: skip
OUT_TEXTS = ("Zahlung Ware", "invoice {n}", "transfer", "services {n}", "Überweisung", "payment {n}",
             "consulting", "order {n}")  # fmt: skip
IN_TEXTS = ("Rechnung 2025-{n}", "Darlehen", "Kaufpreis Auto", "Rückzahlung", "Provision",
            "Invoice {n}", "Beratung {n}")  # fmt: skip


def _text(rng: np.random.Generator, options: tuple[str, ...]) -> str:
    return options[int(rng.integers(0, len(options)))].format(n=int(rng.integers(100, 9999)))


def _transfer_countries(rng: np.random.Generator, k: int, one: str | None) -> list[str]:
    """``k`` countries of bank customers: all ``one`` if given, else at least two different."""
    if one is not None:
        return [one] * k
    out = [pick(rng, TRANSFER_COUNTRIES) for _ in range(k)]
    if len(set(out)) < 2:
        out[-1] = pick(rng, {c: w for c, w in TRANSFER_COUNTRIES.items() if c != out[0]})
    return out


def commit_transfers(ctx: Ctx, rng: np.random.Generator, people: People, draft: Draft,
                      members: list[Member]) -> None:  # fmt: skip
    people.create_bank(ctx.world, rng, statement_bank=False)
    idx = people.index
    frame = sk.frame(
        sk.TRANSFER_SCHEMA,
        {
            "t": draft.array("t"),
            "debtor": idx[draft.array("debtor")],
            "creditor": idx[draft.array("creditor")],
            "amount": draft.array("amount", np.float64),
            "ccy": np.full(draft.n, sk.CCY["EUR"]),
            "kind": np.full(draft.n, sk.K_TEXT),
            "purpose": draft.array("purpose"),
            "ref": np.zeros(draft.n, dtype=np.int64),
            "text": np.asarray(draft.columns["text"], dtype=object),
        },
    ).with_columns(purpose=pl.when(pl.col("purpose") >= 0).then("purpose"))
    for m in members:
        m.index = int(idx[m.index])
    ctx.book.commit(BT, frame, members)


def fan_in(ctx: Ctx, rng: np.random.Generator) -> None:
    """Five or more senders from two or more countries paying one account within 30 days.

    Near misses: four senders; senders from one country only; the fifth sender after 30 days.
    """
    people, draft, members = People(), Draft(), []
    for i, near in enumerate(ctx.split()):
        variant = ("four", "one_country", "slow")[i % 3] if near else "hit"
        c_cc = EURO_BANKS[int(rng.integers(0, len(EURO_BANKS)))]
        collector = people.add(ctx.resident(rng, c_cc), c_cc)
        k = {"four": 4, "slow": 5, "one_country": int(rng.integers(5, 8))}.get(
            variant, int(rng.integers(5, 10))
        )
        one = pick(rng, TRANSFER_COUNTRIES) if variant == "one_country" else None
        countries = _transfer_countries(rng, k, one)
        t0 = ctx.start_day(rng, 36)
        span = float(rng.uniform(6, 24))
        rows, senders = [], []
        for j, cc in enumerate(countries):
            s = people.add(ctx.resident(rng, cc), cc)
            senders.append(s)
            if variant == "slow":  # one sender, then four more after 31-33 days
                days = [0.0] if j == 0 else [float(rng.uniform(31, 33))]
            else:
                days = [float(rng.uniform(0, span)) for _ in range(1 + int(rng.random() < 0.3))]
            for d in days:
                amount = float(rng.uniform(400, 2900))
                amount = round(amount, -1) if rng.random() < 0.4 else round(amount, 2)
                rows.append(draft.add(t=ctx.bank_time(rng, t0 + d * DAY), debtor=s, creditor=collector,
                                      amount=amount, purpose=-1, text=_text(rng, FAN_IN_TEXTS)))  # fmt: skip
        note = f"{k} distinct senders from {len(set(countries))} countries ({variant})"
        mk = ctx.member_maker("fan_in", i, near, note, BT)
        members.append(mk("account", collector, "collector", rows))
        for s in senders:
            members.append(
                mk("account", s, "sender", [r for r in rows if draft.columns["debtor"][r] == s])
            )
    commit_transfers(ctx, rng, people, draft, members)


def fan_out(ctx: Ctx, rng: np.random.Generator) -> None:
    """A lump sum in, then five or more receivers paid within 7 days (first payment > 24 h later).

    Near misses: four receivers; the fifth receiver more than 7 days after the first.
    """
    people, draft, members = People(), Draft(), []
    for i, near in enumerate(ctx.split()):
        variant = ("four", "slow")[i % 2] if near else "hit"
        d_cc = EURO_BANKS[int(rng.integers(0, len(EURO_BANKS)))]
        dist = people.add(ctx.resident(rng, d_cc), d_cc)
        src_cc = pick(rng, TRANSFER_COUNTRIES)
        src = people.add(ctx.resident(rng, src_cc), src_cc)
        k = 4 if variant == "four" else 5 if near else int(rng.integers(5, 9))
        t_in = ctx.bank_time(rng, ctx.start_day(rng, 14))
        lump = round(float(rng.uniform(15_000, 45_000)), -2)  # 80%+ of it: over min_total_eur
        r_in = draft.add(t=t_in, debtor=src, creditor=dist, amount=lump, purpose=4,
                         text=_text(rng, ("consulting services {n}", "Beratung {n}", "services")))  # fmt: skip
        first = t_in + int(rng.uniform(26, 50) * HOUR)
        if variant == "slow":  # four within two days, the fifth 7.5-9 days after the first
            offsets = [
                0.0,
                *sorted(float(x) for x in rng.uniform(0.2, 2.0, 3)),
                float(rng.uniform(7.5, 9.0)),
            ]
        else:
            offsets = [
                0.0,
                *sorted(float(x) for x in rng.uniform(0.1, rng.uniform(1.0, 5.5), k - 1)),
            ]
        shares = rng.dirichlet(np.full(k, 5.0)) * lump * float(rng.uniform(0.8, 0.95))
        rows, receivers = [], []
        for j in range(k):
            cc = pick(rng, ABROAD | {d_cc: 0.3})
            r = people.add(ctx.resident(rng, cc), cc)
            receivers.append(r)
            t = (
                first + int(offsets[j] * DAY)
                if j == 0
                else ctx.bank_time(rng, first + offsets[j] * DAY)
            )
            t = max(t, first)
            rows.append(draft.add(t=t, debtor=dist, creditor=r, amount=round(float(shares[j]), -1),
                                  purpose=-1, text=_text(rng, OUT_TEXTS)))  # fmt: skip
        note = f"{k} distinct receivers within {offsets[-1]:.1f} days after a {lump:,.0f} EUR credit ({variant})"
        mk = ctx.member_maker("fan_out", i, near, note, BT)
        members.append(mk("account", dist, "distributor", [r_in, *rows]))
        members.append(mk("account", src, "source", [r_in]))
        for r, row in zip(receivers, rows, strict=True):
            members.append(mk("account", r, "receiver", [row]))
    commit_transfers(ctx, rng, people, draft, members)


def _commit_statements(ctx: Ctx, rng: np.random.Generator, own: People, others: People,
                       draft: Draft, members: list[Member], extra: People | None = None) -> None:  # fmt: skip
    """Create the statement accounts (``own``), counterparties (``others``) and depositors
    (``extra``, known to the bank only); map draft slots; commit to the statements."""
    own.create_bank(ctx.world, rng, statement_bank=True)
    others.create_bank(ctx.world, rng, statement_bank=False)
    if extra is not None:
        extra.create_kyc(ctx.world, rng)
    cp = draft.array("cp")
    cp_is_other = draft.array("cp_kind") == 0
    cash_acc = ctx.world.branches["cash_account"].to_numpy()
    branch = draft.array("branch", default=0)
    depositor = draft.array("depositor", default=0)
    cp_account = np.where(cp_is_other, others.index[np.where(cp_is_other, cp, 0)], cash_acc[branch])
    dep_party = extra.party[depositor] if extra is not None and extra.party.size else depositor
    cp_party = np.where(cp_is_other, others.party[np.where(cp_is_other, cp, 0)], dep_party)
    frame = sk.frame(
        sk.STATEMENT_SCHEMA,
        {
            "t": draft.array("t"),
            "account": own.index[draft.array("account")],
            "credit": draft.array("credit", bool),
            "cp_account": cp_account,
            "cp_party": cp_party,
            "amount": draft.array("amount", np.float64),
            "ccy": np.zeros(draft.n, dtype=np.int64),
            "kind": draft.array("kind"),
            "ref": branch,
            "text": np.asarray(draft.columns["text"], dtype=object),
        },
    )
    pools = {
        "own": own.index,
        "other": others.index,
        "depositor": extra.party if extra is not None else np.zeros(0, dtype=np.int64),
    }
    for m in members:
        m.index = int(pools[m.kind][m.index])
        m.kind = "party" if m.kind == "depositor" else "account"
    ctx.book.commit(ST, frame, members)


def pass_through(ctx: Ctx, rng: np.random.Generator) -> None:
    """Mule accounts: money in, then 90% or more out again within 24 hours.

    Near misses: only 80-87% passed on within the day; 92-98% passed on, but after 30-40 hours.
    """
    own, others, draft, members = People(), People(), Draft(), []
    for i, near in enumerate(ctx.split()):
        variant = ("partial", "late")[i % 2] if near else "hit"
        m_cc = pick(rng, ref.STATEMENT_COUNTRIES)
        mule = own.add(ctx.resident(rng, m_cc), m_cc)
        cycles = int(rng.integers(1, 4)) if not near else int(rng.integers(1, 3))
        t = ctx.bank_time(rng, ctx.start_day(rng, 30))
        rows, ratios = [], []
        for _c in range(cycles):
            s_cc = pick(rng, TRANSFER_COUNTRIES)
            src = others.add(ctx.resident(rng, s_cc), s_cc)
            amount = round(float(rng.uniform(2500, 9500)), 2)
            r_in = draft.add(t=t, account=mule, credit=True, cp=src, cp_kind=0, amount=amount,
                             kind=sk.K_TEXT, text=_text(rng, IN_TEXTS))  # fmt: skip
            ratio = {"hit": (0.91, 0.98), "partial": (0.80, 0.87), "late": (0.92, 0.98)}[variant]
            out = round(amount * float(rng.uniform(*ratio)), 2)
            ratios.append(out / amount)
            n_out = 1 + int(rng.random() < 0.5)
            hours = sorted(float(h) for h in (rng.uniform(30, 40, n_out) if variant == "late"
                                              else rng.uniform(1, 20, n_out)))  # fmt: skip
            parts = [round(out * w, 2) for w in rng.dirichlet(np.full(n_out, 4.0))]
            parts[-1] = round(out - sum(parts[:-1]), 2)
            outs = []
            for h, part in zip(hours, parts, strict=True):
                b_cc = pick(rng, ABROAD)
                ben = others.add(ctx.resident(rng, b_cc), b_cc)
                outs.append(draft.add(t=t + int(h * HOUR), account=mule, credit=False, cp=ben,
                                      cp_kind=0, amount=part, kind=sk.K_TEXT,
                                      text=_text(rng, OUT_TEXTS)))  # fmt: skip
            rows.append((src, r_in, outs))
            t = ctx.bank_time(rng, t + float(rng.uniform(6, 9)) * DAY)
        note = (f"{cycles} inflow(s); passed on {min(ratios):.0%}-{max(ratios):.0%} "
                f"{'after 30-40 hours' if variant == 'late' else 'within 20 hours'} ({variant})")  # fmt: skip
        mk = ctx.member_maker("pass_through", i, near, note, ST)
        members.append(
            mk("own", mule, "mule", [r for _, r_in, outs in rows for r in (r_in, *outs)])
        )
        for src, r_in, outs in rows:
            members.append(mk("other", src, "source", [r_in]))
            for r in outs:
                members.append(mk("other", draft.columns["cp"][r], "beneficiary", [r]))
    _commit_statements(ctx, rng, own, others, draft, members)


def funnel_account(ctx: Ctx, rng: np.random.Generator) -> None:
    """Cash paid in by five or more people at three or more branches (cities) within 14 days,
    then wired abroad.

    Near misses: two cities only; four depositors; the last four depositors after two weeks.
    """
    world = ctx.world
    own, others, depositors, draft, members = People(), People(), People(), Draft(), []
    branches = world.branches.with_row_index("branch")
    for i, near in enumerate(ctx.split()):
        variant = ("two_cities", "four", "slow")[i % 3] if near else "hit"
        f_cc = pick(rng, ref.STATEMENT_COUNTRIES)
        bank = int(world.pick_banks(rng, np.asarray([f_cc]), True)[0])
        mine = branches.filter(pl.col("bank") == bank)
        funnel = own.add(ctx.resident(rng, f_cc), f_cc, bank=bank)
        k = {"two_cities": int(rng.integers(5, 7)), "four": 4, "slow": 5}.get(
            variant, int(rng.integers(5, 9))
        )
        n_cities = (
            2
            if variant == "two_cities"
            else 3
            if near
            else int(rng.integers(3, min(6, mine.height) + 1))
        )
        pick_rows = rng.choice(mine.height, size=n_cities, replace=False)
        used = [int(mine["branch"][int(r)]) for r in pick_rows]
        t0 = ctx.start_day(rng, 22)
        span = float(rng.uniform(4, 12))
        rows, deps, total, last = [], [], 0.0, 0
        for j in range(k):
            br = used[j % n_cities]
            city = str(branches["city"][br])
            dep = depositors.add(ctx.resident(rng, f_cc), f_cc, city, bank=bank)
            deps.append(dep)
            if variant == "slow":
                days = [0.0] if j == 0 else [float(rng.uniform(15.2, 17.0))]
            else:
                days = [float(rng.uniform(0, span)) for _ in range(1 + int(rng.random() < 0.3))]
            for d in days:
                amount = round(float(rng.uniform(1500, 4900)), -1)
                t = ctx.bank_time(rng, t0 + d * DAY)
                rows.append(draft.add(t=t, account=funnel, credit=True, cp_kind=1, branch=br,
                                      depositor=dep, amount=amount, kind=sk.K_CASH_DEPOSIT))  # fmt: skip
                total += amount
                last = max(last, t)
        b_cc = pick(rng, ABROAD)
        ben = others.add(ctx.resident(rng, b_cc), b_cc)
        t_wire = max(ctx.bank_time(rng, last + rng.uniform(36, 72) * HOUR), last + 36 * HOUR)
        wire = draft.add(t=t_wire, account=funnel, credit=False,
                         cp=ben, cp_kind=0, amount=round(total * float(rng.uniform(0.85, 0.95)), 2),
                         kind=sk.K_TEXT, text=_text(rng, OUT_TEXTS))  # fmt: skip
        note = f"{k} depositors at {n_cities} branches/cities ({variant}), then wired abroad"
        mk = ctx.member_maker("funnel_account", i, near, note, ST)
        members.append(mk("own", funnel, "funnel", [*rows, wire]))
        for dep in deps:
            members.append(mk("depositor", dep, "depositor",
                              [r for r in rows if draft.columns["depositor"][r] == dep]))  # fmt: skip
        members.append(mk("other", ben, "beneficiary", [wire]))
    _commit_statements(ctx, rng, own, others, draft, members, depositors)
    _distinct_depositor_names(ctx, rng, depositors, members)


def _distinct_depositor_names(ctx: Ctx, rng: np.random.Generator, depositors: People,
                              members: list[Member]) -> None:  # fmt: skip
    """Depositors are told apart by name on a statement: rename the rare namesakes in a case."""
    names = ctx.world.parties.frame()["name"]
    by_case: dict[str, list[int]] = {}
    for m in members:
        if m.role == "depositor":
            by_case.setdefault(m.case_id, []).append(m.index)
    for parties in by_case.values():
        seen: dict[str, int] = {}
        for p in parties:
            n = str(names[p])
            if n in seen:
                ctx.world.rename(p, f"{n.split(' ', maxsplit=1)[0]} {_surname(rng)}")
            seen[n] = p


def _surname(rng: np.random.Generator) -> str:
    pool = ref.SURNAMES["de"].split()
    return pool[int(rng.integers(0, len(pool)))].split("|")[0].replace("_", " ")
