"""Injected graph (layering) cases in bank credit transfers: cycles (round-tripping), rings
(circular invoicing), scatter-gather, gather-scatter, bipartite, stacks and layering chains
(issue #4).

Every account of these cases is fresh and sees only its case's transfers. So that the cases
stay out of the windowed families' rules, an account never has more than four distinct
counterparties (fan-in and fan-out need five), never pays on within 24 hours of an inflow
(pass-through: every onward payment is at least ``MIN_GAP_H`` hours after the account's last
inflow before it), and the countries are the ordinary transfer countries (no corridor).
Overlaps kept on purpose: a source splitting a sum of 10,000 EUR or more over a day (scatter,
bipartite, stack) is what the low-severity ``split_transfers`` rule looks for; a cycle's
round trip (three or more accounts) and a cycle near miss with a hop backwards are rings of
payments in any order, which an ``order: any`` cycle rule finds too.
"""

from __future__ import annotations

import itertools

import numpy as np

from finintel.synth.background import TRANSFER_COUNTRIES
from finintel.synth.casebook import BT, DAY, HOUR, Ctx, Draft, Member, People, pick
from finintel.synth.cases_bank import ABROAD, commit_transfers
from finintel.synth.thresholds import DEFAULT_THRESHOLDS

#: The shortest delay (hours) between an account's inflow and its next payment onwards.
MIN_GAP_H = 26.0
INVOICE_TEXTS = ("Rechnung {n}", "invoice {n}", "INV-{n}", "Beratung {n}", "consulting {n}",
                 "services {n}", "Provision {n}", "facture {n}", "fattura {n}", "Ware {n}")  # fmt: skip
LOAN_TEXTS = ("Darlehen", "loan", "Rückzahlung", "repayment {n}", "transfer", "Überweisung",
              "prestito", "payment {n}", "Kaufpreis", "order {n}")  # fmt: skip
ACCOUNT_COUNTRIES: dict[str, float] = TRANSFER_COUNTRIES | {k: v * 0.3 for k, v in ABROAD.items()
                                                            if k not in TRANSFER_COUNTRIES}  # fmt: skip


def _days(spec: str) -> float:
    """A window like ``"30d"`` in days."""
    assert spec.endswith("d"), spec
    return float(spec[:-1])


def _text(rng: np.random.Generator, options: tuple[str, ...]) -> str:
    return options[int(rng.integers(0, len(options)))].format(n=int(rng.integers(100, 99999)))


class _Case:
    """Accounts and payments of one case being planned."""

    def __init__(self, ctx: Ctx, rng: np.random.Generator, people: People, draft: Draft,
                 texts: tuple[str, ...]) -> None:  # fmt: skip
        self.ctx, self.rng, self.people, self.draft, self.texts = ctx, rng, people, draft, texts
        self.rows: list[int] = []
        self.roles: list[tuple[int, str]] = []

    def account(self, role: str) -> int:
        cc = pick(self.rng, ACCOUNT_COUNTRIES)
        slot = self.people.add(self.ctx.resident(self.rng, cc), cc)
        self.roles.append((slot, role))
        return slot

    def pay(self, t: float, debtor: int, creditor: int, amount: float) -> int:
        purpose = 4 if self.rng.random() < 0.3 else -1  # SCVE sometimes, mostly none
        row = self.draft.add(t=int(t), debtor=debtor, creditor=creditor, amount=round(amount, 2),
                             purpose=purpose, text=_text(self.rng, self.texts))  # fmt: skip
        self.rows.append(row)
        return row

    def members(self, family: str, i: int, near: bool, note: str) -> list[Member]:
        mk = self.ctx.member_maker(family, i, near, note, BT)
        deb, cre = self.draft.columns["debtor"], self.draft.columns["creditor"]
        return [
            mk("account", s, role, [r for r in self.rows if s in (deb[r], cre[r])])
            for s, role in self.roles
        ]


def _variants(ctx: Ctx, near_misses: tuple[str, ...]) -> list[tuple[bool, str]]:
    """(near_miss, variant) of a family's cases: hits, then the near misses taking turns."""
    flags = ctx.split()
    first = flags.index(True)
    return [(near, near_misses[(i - first) % len(near_misses)] if near else "hit")
            for i, near in enumerate(flags)]  # fmt: skip


def _gap(rng: np.random.Generator, hi_days: float) -> float:
    """Seconds between an inflow and the payment onwards: MIN_GAP_H to ``hi_days``."""
    return float(rng.uniform(MIN_GAP_H * HOUR, max(hi_days * DAY, MIN_GAP_H * HOUR + HOUR)))


def _start(ctx: Ctx, rng: np.random.Generator, span_days: float) -> float:
    return float(ctx.bank_time(rng, ctx.start_day(rng, span_days)))


def cycle(ctx: Ctx, rng: np.random.Generator) -> None:
    """Round-tripping: A → B (→ C …) → A, 2-5 accounts, each hop after the previous one and
    carrying 90-100 % of it (fees), the closing hop within 30 days of the first.

    Near misses: one hop before the previous one (3-5 accounts, within the window: a ring,
    not a round trip); all in order but the closing hop after 31-40 days.
    """
    window = _days(DEFAULT_THRESHOLDS["cycle"]["window"])
    people, draft, members = People(), Draft(), []
    for i, (near, variant) in enumerate(_variants(ctx, ("backward", "slow"))):
        k = int(rng.integers(3, 6)) if variant == "backward" else int(rng.integers(2, 6))
        case = _Case(ctx, rng, people, draft, LOAN_TEXTS)
        accts = [case.account("source")] + [case.account("intermediary") for _ in range(k - 1)]
        if variant == "slow":
            span = float(rng.uniform(window + 1, window + 10))
            gaps = 1.1 + (span - 1.1 * (k - 1)) * rng.dirichlet(np.full(k - 1, 3.0))
        else:
            gaps = rng.uniform(1.1, min(6.0, (window - 6) / (k - 1)), k - 1)
        t = [_start(ctx, rng, window + 12)]
        for g in gaps:
            t.append(t[-1] + float(g) * DAY)
        back = -1
        if variant == "backward":  # hop ``back`` before hop ``back - 1``, after hop ``back - 2``
            back = int(rng.integers(1, k))
            if back == 1:
                t[1] = t[0] - float(rng.uniform(1.1, 4.0)) * DAY
            else:
                t[back] = t[back - 1] - float(rng.uniform(0.3, 0.7)) * (t[back - 1] - t[back - 2])
        amount = round(float(rng.uniform(8_000, 60_000)), -2)
        amounts = [amount]
        for _ in range(k - 1):
            amounts.append(round(amounts[-1] * float(rng.uniform(0.92, 0.995)), 2))
        for j in range(k):
            case.pay(t[j], accts[j], accts[(j + 1) % k], amounts[j])
        span_d = (max(t) - min(t)) / DAY
        order = f"hop {back + 1} before hop {back}" if back > 0 else "hops in time order"
        note = (f"{k}-cycle, {order}, hops spanning {span_d:.1f} days (window {window:.0f}d), "
                f"{amounts[0]:,.0f} -> {amounts[-1]:,.0f} EUR ({variant})")  # fmt: skip
        members += case.members("cycle", i, near, note)
    commit_transfers(ctx, rng, people, draft, members)


def _cyclic_descents(times: list[float]) -> int:
    """How often a hop is earlier than the one before it, going round the ring once: with one
    descent some rotation is in time order (a round trip), with two or more none is."""
    k = len(times)
    return sum(times[(j + 1) % k] < times[j] for j in range(k))


def ring(ctx: Ctx, rng: np.random.Generator) -> None:
    """Circular invoicing: 3-5 accounts each paying the next one, the ring closed within 30
    days, in an order that is no round trip (no rotation of the hops is in time order).

    Near misses: the same ring with the closing payment 31-40 days after the first.
    """
    window = _days(DEFAULT_THRESHOLDS["ring"]["window"])
    people, draft, members = People(), Draft(), []
    for i, (near, variant) in enumerate(_variants(ctx, ("open",))):
        k = int(rng.integers(3, 6))
        case = _Case(ctx, rng, people, draft, INVOICE_TEXTS)
        accts = [case.account("member") for _ in range(k)]
        t0 = _start(ctx, rng, window + 12)
        if variant == "open":  # hops 0..k-2 going backwards, the closing hop much later
            steps = np.cumsum(rng.uniform(1.1, 4.0, k - 1))
            t = [t0 + float(steps[-1] - s) * DAY for s in steps]
            t.append(t0 + float(rng.uniform(window + 1, window + 10)) * DAY)
        else:
            offsets = np.cumsum(np.concatenate([[0.0], rng.uniform(1.1, (window - 4) / k, k - 1)]))
            t = [t0 + float(o) * DAY for o in offsets]
            while _cyclic_descents(t) < 2:
                t = [t[int(p)] for p in rng.permutation(k)]
        base = round(float(rng.uniform(5_000, 40_000)), -1)
        amounts = [round(base * float(rng.uniform(0.9, 1.1)), -1) for _ in range(k)]
        for j in range(k):
            case.pay(t[j], accts[j], accts[(j + 1) % k], amounts[j])
        span_d = (max(t) - min(t)) / DAY
        note = (f"ring of {k} accounts paying each other, {_cyclic_descents(t)} hops before their "
                f"predecessor, {k} payments spanning {span_d:.1f} days (window {window:.0f}d, "
                f"{variant})")  # fmt: skip
        members += case.members("ring", i, near, note)
    commit_transfers(ctx, rng, people, draft, members)


def scatter_gather(ctx: Ctx, rng: np.random.Generator) -> None:
    """One source pays 3-4 intermediaries within two days; each passes 92-99 % on to one sink
    26 hours to 8 days later; all within 14 days.

    Near misses: two intermediaries; three, one of them paying the sink after 15-19 days.
    """
    th = DEFAULT_THRESHOLDS["scatter_gather"]
    window, need = _days(th["window"]), int(th["min_intermediaries"])
    people, draft, members = People(), Draft(), []
    for i, (near, variant) in enumerate(_variants(ctx, ("two", "slow"))):
        n = need - 1 if variant == "two" else need if variant == "slow" else int(rng.integers(3, 5))
        case = _Case(ctx, rng, people, draft, INVOICE_TEXTS)
        src = case.account("source")
        mids = [case.account("intermediary") for _ in range(n)]
        sink = case.account("sink")
        t0 = _start(ctx, rng, window + 8)
        total = round(float(rng.uniform(12_000, 60_000)), -2)
        late = int(rng.integers(0, n)) if variant == "slow" else -1
        ratios = []
        for j, m in enumerate(mids):
            t_in = t0 + (0.0 if j == 0 else float(rng.uniform(0.0, 2.0)) * DAY)
            leg = round(total / n * float(rng.uniform(0.97, 1.03)), -1)
            case.pay(t_in, src, m, leg)
            if j == late:
                t_out = t0 + float(rng.uniform(window + 1, window + 5)) * DAY
            else:
                t_out = t_in + _gap(rng, 8.0)
            ratio = float(rng.uniform(0.92, 0.99))
            ratios.append(ratio)
            case.pay(t_out, m, sink, leg * ratio)
        note = (f"{n} intermediaries pass on {min(ratios):.0%}-{max(ratios):.0%} "
                + ("within the window" if late < 0 else "one after 15-19 days")
                + f" (window {window:.0f}d, {variant})")  # fmt: skip
        members += case.members("scatter_gather", i, near, note)
    commit_transfers(ctx, rng, people, draft, members)


def gather_scatter(ctx: Ctx, rng: np.random.Generator) -> None:
    """3-4 sources pay one hub within four days; 26 hours to three days after the last
    inflow the hub pays 92-99 % of it on to 3-4 sinks; all within 14 days.

    Near misses: two sources; one outflow before the last inflow; the last outflow after
    15-19 days (the last two with exactly three sources and three sinks).
    """
    th = DEFAULT_THRESHOLDS["gather_scatter"]
    window = _days(th["window"])
    people, draft, members = People(), Draft(), []
    for i, (near, variant) in enumerate(_variants(ctx, ("early", "slow", "two"))):
        m = 2 if variant == "two" else 3 if near else int(rng.integers(3, 5))
        s = 3 if variant in ("early", "slow") else int(rng.integers(3, 5))
        case = _Case(ctx, rng, people, draft, INVOICE_TEXTS)
        sources = [case.account("source") for _ in range(m)]
        hub = case.account("hub")
        sinks = [case.account("sink") for _ in range(s)]
        t0 = _start(ctx, rng, window + 8)
        amounts_in = [round(float(rng.uniform(3_000, 15_000)), -1) for _ in range(m)]
        ratio = float(rng.uniform(0.92, 0.99))
        parts = rng.dirichlet(np.full(s, 5.0)) * sum(amounts_in) * ratio
        if variant == "early":  # two inflows, one outflow, the last inflow, the other outflows
            t_in = [t0, t0 + float(rng.uniform(0.0, 1.5)) * DAY]
            t_out = [t_in[1] + _gap(rng, 2.5)]
            t_in.append(t_out[0] + float(rng.uniform(1.0, 3.0)) * DAY)
        else:
            t_in = [t0, *(t0 + float(d) * DAY for d in np.sort(rng.uniform(0.0, 4.0, m - 1)))]
            t_out = []
        first = max(t_in) + _gap(rng, 3.0)
        while len(t_out) < s:
            t_out.append(first if len(t_out) == 0 or t_out[-1] < max(t_in)
                         else t_out[-1] + float(rng.uniform(0.1, 1.5)) * DAY)  # fmt: skip
        if variant == "slow":
            t_out[-1] = t0 + float(rng.uniform(window + 1, window + 5)) * DAY
        for src, t, a in zip(sources, t_in, amounts_in, strict=True):
            case.pay(t, src, hub, a)
        for dst, t, a in zip(sinks, t_out, parts, strict=True):
            case.pay(t, hub, dst, float(a))
        span_d = (max(t_out) - min(t_in)) / DAY
        order = (
            "outflows after inflows"
            if min(t_out) >= max(t_in)
            else "an outflow before the last inflow"
        )
        note = (f"{m} sources -> hub -> {s} sinks, {order}, {ratio:.0%} passed on, span "
                f"{span_d:.1f} days (window {window:.0f}d, {variant})")  # fmt: skip
        members += case.members("gather_scatter", i, near, note)
    commit_transfers(ctx, rng, people, draft, members)


def bipartite(ctx: Ctx, rng: np.random.Generator) -> None:
    """3-4 senders each paying each of 3-4 receivers within 14 days.

    Near misses: three by three with one pair missing; three by three with one payment 15.5-20
    days after the others (all within one day).
    """
    th = DEFAULT_THRESHOLDS["bipartite"]
    window = _days(th["window"])
    people, draft, members = People(), Draft(), []
    for i, (near, variant) in enumerate(_variants(ctx, ("missing", "slow"))):
        a = 3 if near else int(rng.integers(3, 5))
        b = 3 if near else int(rng.integers(3, 5))
        case = _Case(ctx, rng, people, draft, INVOICE_TEXTS)
        senders = [case.account("source") for _ in range(a)]
        receivers = [case.account("sink") for _ in range(b)]
        t0 = _start(ctx, rng, window + 8)
        pairs = [(x, y) for x in range(a) for y in range(b)]
        skip = int(rng.integers(0, len(pairs))) if variant == "missing" else -1
        late = int(rng.integers(1, len(pairs))) if variant == "slow" else -1
        spread = 1.0 if variant == "slow" else window - 2
        paid = 0
        for p, (x, y) in enumerate(pairs):
            if p == skip:
                continue
            if p == late:
                t = t0 + float(rng.uniform(window + 1.5, window + 6)) * DAY
            else:
                t = t0 + (0.0 if p == 0 else float(rng.uniform(0.0, spread)) * DAY)
            amount = float(rng.uniform(2_000, 9_500))
            case.pay(
                t, senders[x], receivers[y], round(amount, -1) if rng.random() < 0.5 else amount
            )
            paid += 1
        note = (f"{a} senders x {b} receivers, {paid} of {a * b} pairs paid, "
                + ("one payment after 15.5-20 days" if late > 0 else "within the window")
                + f" (window {window:.0f}d, {variant})")  # fmt: skip
        members += case.members("bipartite", i, near, note)
    commit_transfers(ctx, rng, people, draft, members)


def stack(ctx: Ctx, rng: np.random.Generator) -> None:
    """Layered chains: one source splits an amount into 2-4 legs that pass through three
    layers of 2-4 accounts each (an account carries one or two legs) to one sink. Each hop
    carries 97-99.5 % of the previous one on its leg; each layer holds the money 1.4-2.2 days
    (at most three); all within 14 days.

    Near misses: a layer of one account (three legs); one layer passing on 40-70 % of what it
    got; one layer holding the money 3.5-5 days.
    """
    th = DEFAULT_THRESHOLDS["stack"]
    window, n_layers = _days(th["window"]), int(th["layers"])
    people, draft, members = People(), Draft(), []
    for i, (near, variant) in enumerate(_variants(ctx, ("narrow", "dissimilar", "held"))):
        legs = 3 if variant == "narrow" else int(rng.integers(2, 5))
        lo = max(int(th["min_layer_size"]), -(-legs // 2))  # one or two legs per account
        widths = [int(rng.integers(lo, legs + 1)) for _ in range(n_layers)]
        if variant == "narrow":  # two payers and two payees around it: no gather-scatter
            widths = [2, 1, 2]
        case = _Case(ctx, rng, people, draft, LOAN_TEXTS)
        src = case.account("source")
        layers = [[case.account(f"layer-{k + 1}") for _ in range(w)] for k, w in enumerate(widths)]
        sink = case.account("sink")
        carry = [[int(x) for x in rng.permutation([j % w for j in range(legs)])] for w in widths]
        odd = int(rng.integers(1, n_layers + 1))  # the layer that misbehaves in a near miss
        slots = [_start(ctx, rng, window + 8)]
        for hop in range(1, n_layers + 1):
            held = variant == "held" and hop == odd
            slots.append(
                slots[-1] + float(rng.uniform(*((3.5, 5.0) if held else (1.4, 2.2)))) * DAY
            )
        total = round(float(rng.uniform(12_000, 60_000)), -2)
        ratios = []
        for j in range(legs):
            nodes = [src, *(layers[k][carry[k][j]] for k in range(n_layers)), sink]
            amount = round(total / legs * float(rng.uniform(0.97, 1.03)), -1)
            for hop in range(n_layers + 1):
                if hop > 0:
                    cut = (0.4, 0.7) if variant == "dissimilar" and hop == odd else (0.97, 0.995)
                    ratio = float(rng.uniform(*cut))
                    ratios.append(ratio)
                    amount *= ratio
                case.pay(slots[hop] + float(rng.uniform(0, 6)) * HOUR, nodes[hop], nodes[hop + 1],
                         amount)  # fmt: skip
        gaps = [(b - a) / DAY for a, b in itertools.pairwise(slots)]
        note = (f"{legs} legs through layers of {widths[0]}, {widths[1]}, {widths[2]} accounts, "
                f"each hop {min(ratios):.0%}-{max(ratios):.0%} of the previous, layers passing on "
                f"after {min(gaps[1:]):.1f}-{max(gaps[1:]):.1f} days (±6 h), span {(slots[-1] - slots[0]) / DAY:.1f} days "
                f"(window {window:.0f}d, {variant})")  # fmt: skip
        members += case.members("stack", i, near, note)
    commit_transfers(ctx, rng, people, draft, members)


def layering_chain(ctx: Ctx, rng: np.random.Generator) -> None:
    """Layering chains: one source's payment passed on along a line of 5-7 hops (6-8
    accounts, each paying only the next one), each hop 26 hours to 2.6 days after the one
    before it and carrying 93-99.5 % of it; all within 30 days.

    Near misses, the same chains broken at one hop so that neither piece has five hops: the
    hop before the previous one (0.3-2 days earlier); the account before it holding the money
    3.5-5 days; the hop carrying 70-85 % of the previous one.
    """
    th = DEFAULT_THRESHOLDS["layering_chain"]
    need, dwell = int(th["min_hops"]), _days(th["max_dwell"])
    people, draft, members = People(), Draft(), []
    for i, (near, variant) in enumerate(_variants(ctx, ("backward", "held", "diverging"))):
        hops = int(rng.integers(need, need + 3))
        case = _Case(ctx, rng, people, draft, LOAN_TEXTS)
        accts = [case.account("source"), *(case.account("intermediary") for _ in range(hops - 1)),
                 case.account("sink")]  # fmt: skip
        odd = int(rng.integers(hops - need + 1, need)) if near else -1  # pieces: odd, hops - odd
        t = [_start(ctx, rng, _days(th["window"]))]
        amounts = [round(float(rng.uniform(9_000, 80_000)), -2)]
        for j in range(1, hops):
            if j == odd and variant == "backward":
                t.append(t[-1] - float(rng.uniform(0.3, 2.0)) * DAY)
            elif j == odd and variant == "held":
                t.append(t[-1] + float(rng.uniform(dwell + 0.5, dwell + 2.0)) * DAY)
            else:
                t.append(t[-1] + _gap(rng, 2.6))
            cut = (0.7, 0.85) if j == odd and variant == "diverging" else (0.93, 0.995)
            amounts.append(round(amounts[-1] * float(rng.uniform(*cut)), 2))
        for j in range(hops):
            case.pay(t[j], accts[j], accts[j + 1], amounts[j])
        waits = [(b - a) / DAY for a, b in itertools.pairwise(t)]
        ratios = [b / a for a, b in itertools.pairwise(amounts)]
        broken = {
            "backward": f", hop {odd + 1} {-waits[odd - 1]:.1f} days before the previous",
            "held": f", hop {odd + 1} {waits[odd - 1]:.1f} days after the previous",
            "diverging": f", hop {odd + 1} carrying {ratios[odd - 1]:.0%} of the previous",
        }.get(variant, "")
        usual = [j for j in range(hops - 1) if j != odd - 1]
        note = (f"chain of {hops} hops, {min(waits[j] for j in usual):.1f}-"
                f"{max(waits[j] for j in usual):.1f} days apart (max dwell {dwell:.0f}d), each "
                f"carrying {min(ratios[j] for j in usual):.0%}-{max(ratios[j] for j in usual):.0%} "
                f"of the previous, {amounts[0]:,.0f} -> {amounts[-1]:,.0f} EUR{broken} "
                f"({variant})")  # fmt: skip
        members += case.members("layering_chain", i, near, note)
    commit_transfers(ctx, rng, people, draft, members)


BUILDERS = (cycle, ring, scatter_gather, gather_scatter, bipartite, stack)
"""Graph families whose rows the credit-transfer background gives up (the drop keeps its size)."""
ON_TOP = (layering_chain,)
"""Graph families added later, on top of the requested size (a few rows per 100k), so that the
background, and with it every earlier family's score on a given seed, stays as it was."""
