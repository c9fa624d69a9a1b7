"""Injected MTO cases: structuring, agent hopping, many payout agents, corridor, shared
identifiers, complicit agents and smuggling networks."""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from finintel.synth import reference as ref
from finintel.synth import skeleton as sk
from finintel.synth.casebook import (
    DAY,
    EURO_SENDERS,
    HOUR,
    MTO,
    Ctx,
    Member,
    Orders,
    People,
    band_amount,
    pick,
    send_ccy,
    short_delay,
)
from finintel.synth.thresholds import DEFAULT_THRESHOLDS, in_band
from finintel.synth.world import NATIVE_GROUP, World

WIDE_SENDERS: tuple[str, ...] = (*EURO_SENDERS, "GB", "SE", "NO", "CH")


def _local_amount(
    ctx: Ctx, rng: np.random.Generator, eur: float, ccy: int, t: int, p_round: float
) -> float:
    return float(sk.round_amounts(rng, np.array([ctx.to_ccy(eur, ccy, t)]), p_round)[0])


def structuring(ctx: Ctx, rng: np.random.Generator) -> None:
    """One sender, several transfers just under EUR 1,000 (or USD 3,000) within a week.

    Near misses: the three spread over more than 7 days; one of them exactly at the threshold;
    one of them cancelled (not a movement).
    """
    bands = DEFAULT_THRESHOLDS["structuring"]["bands"]
    people, members = People(), []
    orders = Orders(people)
    for i, near in enumerate(ctx.split()):
        usd = i % 3 == 2
        s_group, s_cc, r_cc, r_group = ctx.diaspora_sender(rng, ("US",) if usd else EURO_SENDERS)
        ccy = sk.CCY["USD"] if usd else sk.CCY["EUR"]
        lo, hi = bands["USD" if usd else "EUR"]
        agents = ctx.agents(rng, s_cc, 2)
        sender = people.add(s_group, s_cc, ctx.agent_city[agents[0]])
        receivers = [people.add(r_group, r_cc) for _ in range(1 + int(rng.random() < 0.4))]
        pay = ctx.agents(rng, r_cc, 1)[0]
        variant = ("spread", "at_threshold", "cancelled")[i % 3] if near else "hit"
        k = 3 if near else int(rng.integers(3, 6))
        if variant == "spread":  # any 7-day window holds two of them
            days = [0.0, float(rng.uniform(3.0, 4.5)), float(rng.uniform(8.2, 9.0))]
        else:
            days = sorted(float(x) for x in rng.uniform(0.0, rng.uniform(1.0, 5.5), k))
            days[0] = 0.0
        t0 = ctx.start_day(rng, 10)
        amounts = [band_amount(rng, lo, hi) for _ in range(k)]
        status = [sk.PAID] * k
        if variant == "at_threshold":
            amounts[-1] = hi  # exactly at the threshold is not under it
        if variant == "cancelled":
            status[int(rng.integers(0, k))] = sk.CANCELLED
        rows = []
        for j in range(k):
            agent = agents[int(rng.integers(0, 2))]
            t = ctx.local(rng, t0 + days[j] * DAY, agent)
            rows.append(orders.add(sender, receivers[j % len(receivers)], agent, pay, t, amounts[j],
                                   ccy, short_delay(rng), status[j]))  # fmt: skip
        n_in = sum(s == sk.PAID and lo <= a < hi for a, s in zip(amounts, status, strict=True))
        note = (f"{n_in} paid transfers in [{lo:g}, {hi:g}) {sk.CURRENCIES[ccy]} by one sender "
                f"within {days[-1]:.1f} days ({variant})")  # fmt: skip
        mk = ctx.member_maker("structuring", i, near, note, MTO)
        members.append(mk("customer", sender, "structurer", rows))
        for r in receivers:
            members.append(mk("customer", r, "receiver", orders.rows_of(r, rows, "receiver")))
    orders.commit(ctx, rng, members)


def agent_hopping(ctx: Ctx, rng: np.random.Generator) -> None:
    """One sender at three or more send agents within two days.

    Near misses: the third agent only on the fourth day; three orders at two agents.
    """
    people, members = People(), []
    orders = Orders(people)
    for i, near in enumerate(ctx.split()):
        s_group, s_cc, r_cc, r_group = ctx.diaspora_sender(rng, WIDE_SENDERS)
        variant = ("slow", "two_agents")[i % 2] if near else "hit"
        k_agents = 2 if variant == "two_agents" else 3 if near else int(rng.integers(3, 5))
        agents = ctx.agents(rng, s_cc, k_agents)
        if len(agents) < k_agents:  # a country with few agents: use another sender country
            s_cc = "DE"
            agents = ctx.agents(rng, s_cc, k_agents)
        sender = people.add(s_group, s_cc, ctx.agent_city[agents[0]])
        receiver = people.add(r_group, r_cc)
        pay = ctx.agents(rng, r_cc, 1)[0]
        t0 = ctx.start_day(rng, 5)
        if variant == "slow":  # days 0, 1 and 3: first and third > 2 days apart
            days, sends = [0, 1, 3], agents
        else:  # all on two consecutive days: at most 34 hours apart
            sends = [agents[j % len(agents)] for j in range(max(3, len(agents)))]
            days = sorted(int(d) for d in rng.integers(0, 2, len(sends)))
        ccy = send_ccy(s_cc)
        rows, times = [], []
        for d, agent in zip(days, sends, strict=True):
            t = ctx.local(rng, t0 + d * DAY, agent)
            times.append(t)
            eur = float(rng.uniform(300, 850))
            rows.append(orders.add(sender, receiver, agent, pay, t,
                                   _local_amount(ctx, rng, eur, ccy, t, 0.5), ccy, short_delay(rng)))  # fmt: skip
        span = (max(times) - min(times)) / HOUR
        note = f"{len(set(sends))} distinct send agents within {span:.1f} hours ({variant})"
        mk = ctx.member_maker("agent_hopping", i, near, note, MTO)
        members.append(mk("customer", sender, "sender", rows))
        members.append(mk("customer", receiver, "receiver", rows))
        for a in dict.fromkeys(sends):
            members.append(mk("agent", a, "send_agent",
                              [r for r, s in zip(rows, sends, strict=True) if s == a]))  # fmt: skip
    orders.commit(ctx, rng, members)


def many_payout_agents(ctx: Ctx, rng: np.random.Generator) -> None:
    """One receiver collecting at four or more payout agents (different cities) in 14 days.

    Near misses: three agents; four agents but the last three only after two weeks.
    """
    people, members = People(), []
    orders = Orders(people)
    wide = [c for c in ref.PAYOUT_CURRENCY if c in ctx.physical
            and len(set(ctx.agent_city[ctx.physical[c]].tolist())) >= 4]  # fmt: skip
    for i, near in enumerate(ctx.split()):
        variant = ("three_agents", "slow")[i % 2] if near else "hit"
        r_cc = wide[int(rng.integers(0, len(wide)))]
        k_agents = 3 if variant == "three_agents" else 4 if near else int(rng.integers(4, 6))
        agents = ctx.agents(rng, r_cc, k_agents, distinct_cities=True)
        receiver = people.add(NATIVE_GROUP[r_cc], r_cc, ctx.agent_city[agents[0]])
        n_pay = 4 if variant == "three_agents" else len(agents)
        senders = []
        for _ in range(int(rng.integers(2, 5))):
            s_group, s_cc, _, _ = ctx.diaspora_sender(rng, WIDE_SENDERS)
            s_agent = ctx.agents(rng, s_cc, 1)[0]
            senders.append((people.add(s_group, s_cc, ctx.agent_city[s_agent]), s_agent, s_cc))
        t0 = ctx.start_day(rng, 20)
        if variant == "slow":
            days = [0.0, *sorted(float(x) for x in rng.uniform(15.2, 17.5, 3))]
        else:
            days = sorted(float(x) for x in rng.uniform(0.0, rng.uniform(3.0, 12.0), n_pay))
            days[0] = 0.0
        rows, payout_of = [], []
        for j, d in enumerate(days):
            slot, s_agent, s_cc = senders[j % len(senders)]
            ccy = send_ccy(s_cc)
            t = ctx.local(rng, t0 + d * DAY, s_agent)
            amount = _local_amount(ctx, rng, float(rng.uniform(250, 850)), ccy, t, 0.6)
            payout_of.append(agents[j % len(agents)])
            rows.append(orders.add(slot, receiver, s_agent, payout_of[-1], t, amount, ccy,
                                   int(rng.integers(30 * 60, 4 * HOUR))))  # fmt: skip
        note = f"{len(agents)} distinct payout agents within {days[-1]:.1f} days ({variant})"
        mk = ctx.member_maker("many_payout_agents", i, near, note, MTO)
        members.append(mk("customer", receiver, "receiver", rows))
        for slot, _, _ in senders:
            if orders.rows_of(slot, rows):
                members.append(mk("customer", slot, "sender", orders.rows_of(slot, rows)))
        for a in agents:
            members.append(mk("agent", a, "payout_agent",
                              [r for r, p in zip(rows, payout_of, strict=True) if p == a]))  # fmt: skip
    orders.commit(ctx, rng, members)


def corridor(ctx: Ctx, rng: np.random.Generator) -> None:
    """One sender moving EUR 10,000 or more within 30 days to a listed high-risk country.

    Near misses: a little under EUR 10,000; more in all, but spread so that any 30 days hold less.
    """
    limit = float(DEFAULT_THRESHOLDS["corridor"]["min_amount_eur"])
    people, members = People(), []
    orders = Orders(people)
    for i, near in enumerate(ctx.split()):
        variant = ("below", "spread")[i % 2] if near else "hit"
        s_group, s_cc, _, _ = ctx.diaspora_sender(rng, EURO_SENDERS)
        r_cc = ref.CORRIDOR_CASE_COUNTRIES[i % len(ref.CORRIDOR_CASE_COUNTRIES)]
        agent = ctx.agents(rng, s_cc, 1)[0]
        sender = people.add(s_group, s_cc, ctx.agent_city[agent])
        receivers = [
            people.add(NATIVE_GROUP[r_cc], r_cc) for _ in range(1 + int(rng.random() < 0.5))
        ]
        pays = ctx.agents(rng, r_cc, 2)
        t0 = ctx.start_day(rng, 37)
        if variant == "spread":  # 11 days apart: any 30 days hold three of the four
            days = [0.0, 11.0, 22.0, 35.0]
            amounts = [round(float(rng.uniform(2650, 2900)), -1) for _ in days]
        else:
            k = int(rng.integers(4, 7))
            lo, hi = (1.03, 1.4) if not near else (0.93, 0.99)
            total = round(float(rng.uniform(limit * lo, limit * hi)), 2)
            amounts = [round(float(a), -1) for a in rng.dirichlet(np.full(k, 8.0)) * total]
            amounts[-1] = round(total - sum(amounts[:-1]), 2)
            days = sorted(float(x) for x in rng.uniform(0.0, 26.0, k))
            days[0] = 0.0
        rows = []
        for j, d in enumerate(days):
            t = ctx.local(rng, t0 + d * DAY, agent)
            rows.append(orders.add(sender, receivers[j % len(receivers)], agent, pays[j % len(pays)],
                                   t, amounts[j], sk.CCY["EUR"], short_delay(rng)))  # fmt: skip
        best = max(sum(a for d2, a in zip(days, amounts, strict=True) if d1 <= d2 < d1 + 30)
                   for d1 in days)  # fmt: skip
        note = f"at most {best:,.2f} EUR to {r_cc} within 30 days, {sum(amounts):,.2f} in all ({variant})"
        mk = ctx.member_maker("corridor", i, near, note, MTO)
        members.append(mk("customer", sender, "sender", rows))
        for r in receivers:
            members.append(mk("customer", r, "receiver", orders.rows_of(r, rows, "receiver")))
    orders.commit(ctx, rng, members)


def shared_identifier(ctx: Ctx, rng: np.random.Generator) -> None:
    """The same ID document or phone under different names, at different customer numbers.

    Near misses: one person registered twice, written with spelling variants of one name
    (Mohammed/Muhammad, Al-/El-); different people at one address (an address is no identifier:
    families and shops share them).
    """
    people, members = People(), []
    orders = Orders(people)
    notes = {
        "document": "one ID document (number and issuing country) under {k} different names",
        "phone": "one phone number, written in different formats, under {k} different names",
        "spelling": "one person registered twice under spelling variants of one name",
        "address": "{k} different names at one address, with their own documents and phones",
    }
    groups_shared: list[tuple[list[int], str]] = []
    for i, near in enumerate(ctx.split()):
        variant = ("spelling", "address")[i % 2] if near else ("document", "phone")[i % 2]
        k = 2 if near else int(rng.integers(2, 4))
        slots: list[int] = []
        rows_of: list[list[int]] = []
        used: list[str] = []
        first_cc = ""
        agent = -1
        for j in range(k):
            s_group, s_cc, r_cc, r_group = ctx.diaspora_sender(rng, WIDE_SENDERS)
            if variant == "spelling":
                s_group = "ar"
            elif s_group in used:  # another person: a name from another community
                s_group = pick(rng, {g: 1.0 for g in ("tr", "af", "er", "so", "ma", "balkan", "pk", "de")
                                     if g not in used})  # fmt: skip
            if j > 0 and variant in ("spelling", "phone", "address"):
                s_cc = first_cc  # the same person / phone / home: the same country
            first_cc = first_cc or s_cc
            used.append(s_group)
            if j == 0 or variant != "address":  # people at one address use one agent
                agent = ctx.agents(rng, s_cc, 1)[0]
            slots.append(people.add(s_group, s_cc, ctx.agent_city[agent]))
            receiver = people.add(r_group, r_cc)
            pay = ctx.agents(rng, r_cc, 1)[0]
            ccy = send_ccy(s_cc)
            style = (0 if j == 0 else int(rng.choice([1, 2, 4]))) if variant == "spelling" else None
            phone = (0, 2, 1)[j] if variant == "phone" else None
            flags = 0 if variant == "address" else None  # the address is on every form
            rows = []
            for _ in range(int(rng.integers(1, 4))):
                t = ctx.local(rng, ctx.start_day(rng, 3), agent)
                amount = _local_amount(ctx, rng, float(rng.uniform(150, 700)), ccy, t, 0.6)
                rows.append(orders.add(slots[-1], receiver, agent, pay, t, amount, ccy,
                                       short_delay(rng), s_style=style, s_phone=phone,
                                       s_flags=flags))  # fmt: skip
            rows_of.append(rows)
        groups_shared.append((slots, variant))
        mk = ctx.member_maker("shared_identifier", i, near, notes[variant].format(k=k), MTO)
        for slot, rows in zip(slots, rows_of, strict=True):
            members.append(mk("customer", slot, "holder", rows))
    orders.commit(ctx, rng, members)
    for slots, variant in groups_shared:
        parties = people.party[np.asarray(slots)]
        ctx.world.share_identity(parties, variant)


def complicit_agent(ctx: Ctx, rng: np.random.Generator, mto: pl.DataFrame) -> None:
    """Send agents through which an unusual share of sub-threshold transfers passes.

    Hits get about 6.5-8x, near misses about 3.6-4.1x the network median share, planned
    against the median the network will have once all injections are in; the final label is
    still taken from the written data (``label_complicit``).
    """
    th = DEFAULT_THRESHOLDS["complicit_agent"]
    stats = agent_shares(ctx.world, mto)
    median = max(_median(stats), 0.005)
    candidates = (  # ordinary agents: a background share of at most twice the median
        stats.filter(
            ~pl.col("digital"),
            pl.col("country").is_in(list(EURO_SENDERS)),
            pl.col("share") <= 2 * median,
        )
        .with_columns(big=pl.col("n") >= int(th["min_orders"]))
        .sort("big", "agent", descending=[True, False])
    )
    n_big = int(candidates["big"].sum())
    order = np.r_[rng.permutation(n_big), n_big + np.arange(candidates.height - n_big)]
    split = ctx.split()
    picks = []
    for i, near in enumerate(split):
        ratio = float(th["min_ratio_to_median"]) * float(
            rng.uniform(0.72, 0.82) if near else rng.uniform(1.3, 1.6)
        )
        picks.append((int(candidates["agent"][int(order[i % candidates.height])]), ratio))
    injections = _plan_injections(stats, picks, int(th["min_orders"]))
    people, members = People(), []
    orders = Orders(people)
    for i, (near, (agent, _), x) in enumerate(zip(split, picks, injections, strict=True)):
        a_cc = str(ctx.agent_country[agent])
        rows: list[int] = []
        slots: list[int] = []
        t_last = 0
        for j in range(x):
            if j % 2 == 0 or rng.random() < 0.4:
                s_group, _, r_cc, r_group = ctx.diaspora_sender(rng, (a_cc,))
                slots.append(people.add(s_group, a_cc, ctx.agent_city[agent]))
                receiver = people.add(r_group, r_cc)
                pay = ctx.agents(rng, r_cc, 1)[0]
                t_last = ctx.start_day(rng, 14)
            else:  # the same customer again, more than a week later
                t_last += int(rng.uniform(8, 12)) * DAY
            t = ctx.local(rng, t_last, agent)
            amount = band_amount(rng, *th["bands"]["EUR"])
            rows.append(orders.add(slots[-1], receiver, agent, pay, t, amount, sk.CCY["EUR"],
                                   short_delay(rng)))  # fmt: skip
        mk = ctx.member_maker("complicit_agent", i, near, "", MTO)
        members.append(mk("agent", agent, "complicit_agent", rows))
        for s in dict.fromkeys(slots):
            members.append(mk("customer", s, "sender", orders.rows_of(s, rows)))
    orders.commit(ctx, rng, members)


def _plan_injections(
    stats: pl.DataFrame, picks: list[tuple[int, float]], min_orders: int
) -> list[int]:
    """How many sub-threshold orders to add at each picked agent so that its share is the
    target ratio times the network median after all additions (a few fixed-point rounds)."""
    pos = {a: k for k, a in enumerate(stats["agent"].to_list())}
    n0 = stats["n"].to_numpy().astype(np.int64)
    b0 = stats["n_band"].to_numpy().astype(np.int64)
    x = [0] * len(picks)
    for _ in range(8):
        n, b = n0.copy(), b0.copy()
        for (agent, _), xi in zip(picks, x, strict=True):
            n[pos[agent]] += xi
            b[pos[agent]] += xi
        big = n >= min_orders
        median = max(float(np.median(b[big] / n[big])) if big.any() else 0.0, 0.005)
        new = []
        for agent, ratio in picks:
            k = pos[agent]
            share = min(ratio * median, 0.9)
            new.append(max(2, math.ceil((share * n0[k] - b0[k]) / (1 - share))))
        if new == x:
            break
        x = new
    return x


def agent_shares(world: World, mto: pl.DataFrame) -> pl.DataFrame:
    """Per send agent: paid orders ``n``, sub-threshold ones ``n_band``, their ``share``."""
    book = np.array([world.rates.index(c) for c in sk.CURRENCIES])
    day = ((mto["t_send"].to_numpy() - world.start_s) // DAY).astype(np.int64)
    ccy = mto["send_ccy"].to_numpy().astype(np.int64)
    principal = mto["principal"].to_numpy()
    eur = principal / world.rates.rate(book[ccy], day)
    band = in_band(eur, principal, np.asarray(sk.CURRENCIES)[ccy])
    agents = world.agents.with_row_index("agent").select(
        pl.col("agent").cast(pl.Int64), "country", "digital", "agent_id"
    )
    return (
        mto.select(pl.col("send_agent").cast(pl.Int64).alias("agent"), "status")
        .with_columns(band=pl.Series(band))
        .filter(pl.col("status") == sk.PAID)
        .group_by("agent")
        .agg(n=pl.len(), n_band=pl.col("band").sum())
        .with_columns(share=pl.col("n_band") / pl.col("n"))
        .join(agents, on="agent", how="left")
        .sort("agent")
    )


def _median(stats: pl.DataFrame) -> float:
    """The network median share over agents with enough paid orders."""
    big = stats.filter(pl.col("n") >= int(DEFAULT_THRESHOLDS["complicit_agent"]["min_orders"]))
    median = big["share"].median()
    return float(median) if isinstance(median, (int, float)) else 0.0


def label_complicit(ctx: Ctx, mto: pl.DataFrame) -> float:
    """Label complicit-agent cases from the final MTO data; returns the network median."""
    th = float(DEFAULT_THRESHOLDS["complicit_agent"]["min_ratio_to_median"])
    stats = agent_shares(ctx.world, mto)
    median = _median(stats)
    share = dict(zip(stats["agent"].to_list(), stats["share"].to_list(), strict=True))
    counts = dict(zip(stats["agent"].to_list(), stats["n"].to_list(), strict=True))
    for m in ctx.book.members:
        if m.family == "complicit_agent" and m.role == "complicit_agent":
            s = share.get(m.index, 0.0)
            ratio = s / median if median > 0 else math.inf
            note = (f"{s:.1%} of {counts.get(m.index, 0)} paid orders sub-threshold, "
                    f"{ratio:.1f}x the network median {median:.2%} (threshold {th:g}x)")  # fmt: skip
            ctx.book.relabel(m.case_id, ratio < th, note)
    return median


def smuggling_network(ctx: Ctx, rng: np.random.Generator) -> None:
    """Many senders in several countries pay a collector in a transit country, who pays an
    organiser once the money is in. Near misses: only four senders.

    In every network but the near misses, a facilitator pre-staged the senders' orders in the
    app from one phone and one IP address (``s_device``: the network's index; no random draw,
    so nothing else changes): one device under many names.
    """
    people, members = People(), []
    orders = Orders(people)
    migrants = {"er": 0.25, "af": 0.2, "ar": 0.2, "so": 0.15, "ng": 0.1, "eg": 0.05, "pk": 0.05}
    diaspora = {d.group: d for d in ref.DIASPORAS}
    for i, near in enumerate(ctx.split()):
        transit = ref.TRANSIT_COUNTRIES[i % len(ref.TRANSIT_COUNTRIES)]
        org_cc = pick(rng, {c: 1.0 for c in ref.ORGANISER_COUNTRIES if c != transit})
        group = pick(rng, migrants)
        senders_of = diaspora[group].senders
        k = 4 if near else int(rng.integers(6, 15))
        countries = [pick(rng, senders_of) for _ in range(k)]
        if len(set(countries)) < 2:
            others = [c for c in senders_of if c != countries[0]]
            countries[-1] = others[int(rng.integers(0, len(others)))]
        pay_agents = ctx.agents(rng, transit, int(rng.integers(1, 3)))
        collector = people.add(NATIVE_GROUP[transit], transit, ctx.agent_city[pay_agents[0]])
        organiser = people.add(NATIVE_GROUP[org_cc], org_cc)
        org_agent = ctx.agents(rng, org_cc, 1)[0]
        t0 = ctx.start_day(rng, 36)
        span = float(rng.uniform(8, 22))
        rows, slots = [], []
        total_eur, last_payout = 0.0, 0
        for j, s_cc in enumerate(countries):
            s_agent = ctx.agents(rng, s_cc, 1)[0]
            slot = people.add(group, s_cc, ctx.agent_city[s_agent])
            slots.append(slot)
            ccy = send_ccy(s_cc)
            for _ in range(1 + int(rng.random() < 0.2)):
                t = ctx.local(rng, t0 + float(rng.uniform(0, span)) * DAY, s_agent)
                eur = float(rng.choice([1200.0, 1500.0, 2000.0, 2500.0, 3000.0, 3500.0]))
                amount = eur if ccy == sk.CCY["EUR"] else round(ctx.to_ccy(eur, ccy, t), -1)
                delay = int(rng.uniform(2 * HOUR, 6 * DAY))  # held until the crossing
                rows.append(orders.add(slot, collector, s_agent, pay_agents[j % len(pay_agents)], t,
                                       amount, ccy, delay, s_device=None if near else i))  # fmt: skip
                total_eur += eur
                last_payout = max(last_payout, t + delay)
        onward_eur = total_eur * float(rng.uniform(0.6, 0.85))
        n_onward = max(1, math.ceil(onward_eur / 7000))
        ccy = send_ccy(transit)
        onward = []
        for j in range(n_onward):
            t = ctx.local(rng, last_payout + (1 + j) * DAY, pay_agents[0])
            amount = round(ctx.to_ccy(onward_eur / n_onward, ccy, t), -1)
            onward.append(orders.add(collector, organiser, pay_agents[0], org_agent, t, amount, ccy,
                                     short_delay(rng)))  # fmt: skip
        note = (f"{k} senders from {len(set(countries))} countries paid a collector in {transit} "
                f"within {span:.0f} days; {n_onward} onward order(s) to {org_cc}")  # fmt: skip
        mk = ctx.member_maker("smuggling_network", i, near, note, MTO)
        for slot in slots:
            members.append(mk("customer", slot, "sender", orders.rows_of(slot, rows)))
        members.append(mk("customer", collector, "collector", rows + onward))
        members.append(mk("customer", organiser, "organiser", onward))
    orders.commit(ctx, rng, members)


__all__ = [
    "Member",
    "agent_hopping",
    "agent_shares",
    "complicit_agent",
    "corridor",
    "label_complicit",
    "many_payout_agents",
    "shared_identifier",
    "smuggling_network",
    "structuring",
]
