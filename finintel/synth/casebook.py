"""Case infrastructure: planning participants, drafting rows, recording the truth.

Every family builder plans its cases first (who, where, when, how much), creates all
participants of the family in one vectorised call (``People``), then emits skeleton rows
(``Draft``/``Orders``) and truth members into the ``CaseBook``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from finintel.synth import reference as ref
from finintel.synth import skeleton as sk
from finintel.synth.world import NATIVE_GROUP, World, city_choice

IntArray = npt.NDArray[np.int64]
StrArray = npt.NDArray[np.str_]

ST, BT, MTO = "drop/bank_statements.parquet", "drop/bank_transfers.parquet", "drop/mto.parquet"
DAY, HOUR = 86400, 3600
EURO_SENDERS: tuple[str, ...] = ("DE", "FR", "IT", "ES", "NL", "BE", "AT")

FAMILIES: tuple[str, ...] = (
    "structuring", "fan_in", "fan_out", "pass_through", "corridor", "funnel_account",
    "agent_hopping", "many_payout_agents", "shared_identifier", "complicit_agent",
    "smuggling_network", "cycle", "ring", "scatter_gather", "gather_scatter", "bipartite", "stack",
    "layering_chain",
)  # fmt: skip

TRUTH_SCHEMA: dict[str, pl.DataType] = {
    "case_id": pl.String(),
    "family": pl.String(),
    "entity": pl.String(),
    "entity_kind": pl.String(),
    "role": pl.String(),
    "tx_ids": pl.List(pl.String()),
    "source_file": pl.String(),
    "near_miss": pl.Boolean(),
    "note": pl.String(),
}


@dataclass
class Member:
    """One truth row before its ids are known: entity by pool index, evidence by row."""

    case_id: str
    family: str
    near_miss: bool
    note: str
    file: str
    kind: str  # account | customer | agent | party (pool the index points into)
    index: int
    role: str
    rows: list[int]


@dataclass
class Draft:
    """Skeleton rows of one family for one file, as column lists."""

    columns: dict[str, list[Any]] = field(default_factory=dict)
    n: int = 0

    def add(self, **values: Any) -> int:
        """Append a row; returns its position in the draft."""
        for k, v in values.items():
            self.columns.setdefault(k, [None] * self.n).append(v)
        self.n += 1
        for col in self.columns.values():
            if len(col) < self.n:
                col.append(None)
        return self.n - 1

    def array(self, name: str, dtype: type = np.int64, default: Any = -1) -> npt.NDArray[Any]:
        """A column as a numpy array (missing values → ``default``)."""
        col = self.columns.get(name, [None] * self.n)
        return np.asarray([default if v is None else v for v in col], dtype=dtype)


class CaseBook:
    """Case rows per provider file (with their sequence numbers) and the truth members."""

    def __init__(self) -> None:
        self.frames: dict[str, list[pl.DataFrame]] = {ST: [], BT: [], MTO: []}
        self.next_seq: dict[str, int] = {ST: 0, BT: 0, MTO: 0}
        self.members: list[Member] = []

    def commit(self, file: str, frame: pl.DataFrame, members: list[Member]) -> None:
        """Add a family's rows to ``file``; members' draft rows become sequence numbers."""
        base = self.next_seq[file]
        n = frame.height
        self.frames[file].append(
            frame.with_columns(seq=pl.int_range(base, base + n, dtype=pl.Int64))
        )
        self.next_seq[file] = base + n
        for m in members:
            m.rows = [base + r for r in m.rows]
        self.members.extend(members)

    def frame(self, file: str, schema: dict[str, pl.DataType]) -> pl.DataFrame:
        """All case rows of a file."""
        parts = self.frames[file]
        return pl.concat(parts) if parts else sk.empty(schema)

    def relabel(self, case_id: str, near_miss: bool, note: str) -> None:
        """Set a case's label and note from the data (complicit agents)."""
        for m in self.members:
            if m.case_id == case_id:
                m.near_miss, m.note = near_miss, note

    def counts(self) -> dict[str, dict[str, int]]:
        """Cases and near misses per family."""
        out: dict[str, dict[str, int]] = {f: {"cases": 0, "near_miss": 0} for f in FAMILIES}
        seen: dict[str, tuple[str, bool]] = {}
        for m in self.members:
            seen.setdefault(m.case_id, (m.family, m.near_miss))
        for family, near in seen.values():
            out[family]["cases"] += 1
            out[family]["near_miss"] += int(near)
        return out

    def truth(
        self, world: World, tx_ids: dict[str, Callable[[IntArray], pl.Series]]
    ) -> pl.DataFrame:
        """The truth table: entities resolved to their ids, rows to transaction ids."""
        pools = {
            "account": world.accounts.frame()["iban"],
            "customer": world.customers.frame()["customer_id"],
            "agent": world.agents["agent_id"],
            "party": world.parties.frame()["party_id"],
        }
        kind_name = {
            "account": "account",
            "customer": "account",
            "agent": "agent",
            "party": "party",
        }
        ms = self.members
        entity: list[str | None] = [None] * len(ms)
        for kind, pool in pools.items():
            sel = [i for i, m in enumerate(ms) if m.kind == kind]
            values = pool.gather([ms[i].index for i in sel]).to_list() if sel else []
            for i, v in zip(sel, values, strict=True):
                entity[i] = v
        tx: list[list[str]] = [[] for _ in ms]
        for file, make in tx_ids.items():
            sel = [i for i, m in enumerate(ms) if m.file == file]
            flat = np.asarray([r for i in sel for r in ms[i].rows], dtype=np.int64)
            ids = make(flat).to_list() if flat.size else []
            pos = 0
            for i in sel:
                k = len(ms[i].rows)
                tx[i] = sorted(ids[pos : pos + k])
                pos += k
        frame = pl.DataFrame(
            {
                "case_id": [m.case_id for m in ms],
                "family": [m.family for m in ms],
                "entity": entity,
                "entity_kind": [kind_name[m.kind] for m in ms],
                "role": [m.role for m in ms],
                "tx_ids": tx,
                "source_file": [m.file for m in ms],
                "near_miss": [m.near_miss for m in ms],
                "note": [m.note for m in ms],
            },
            schema=TRUTH_SCHEMA,
        )
        # one row per (case, entity, role): a member appearing twice merges its evidence
        return (
            frame.group_by("case_id", "entity", "role", maintain_order=True)
            .agg(
                pl.col("family", "entity_kind", "source_file", "near_miss", "note").first(),
                pl.col("tx_ids")
                .list.explode(keep_nulls=False, empty_as_null=False)
                .unique()
                .sort(),
            )
            .select(list(TRUTH_SCHEMA))
            .sort("case_id", "role", "entity")
        )


class Ctx:
    """What every builder needs: the world, agent lookups, the period and the book."""

    def __init__(self, world: World, book: CaseBook, n_cases: int) -> None:
        self.world = world
        self.book = book
        self.n_cases = n_cases
        ag = world.agents
        self.agent_country = ag["country"].to_numpy().astype(str)
        self.agent_city = ag["city"].to_numpy().astype(str)
        self.digital = ag["digital"].to_numpy().astype(bool)
        self.offset = {c.code: c.utc_offset for c in ref.COUNTRIES.values()}
        self.physical: dict[str, IntArray] = {}
        for cc in dict.fromkeys(self.agent_country.tolist()):
            self.physical[cc] = np.flatnonzero((self.agent_country == cc) & ~self.digital)
        self.book_idx = np.array([world.rates.index(c) for c in sk.CURRENCIES])

    def split(self) -> list[bool]:
        """near_miss flags of a family's cases: about a third near misses, at least two."""
        n = self.n_cases
        near = max(2, round(n * 0.35))
        return [i >= n - near for i in range(n)]

    def member_maker(
        self, family: str, i: int, near: bool, note: str, file: str
    ) -> Callable[[str, int, str, list[int]], Member]:
        """A factory of members of case ``i`` of ``family``."""
        cid = f"{family}-{i:0{max(3, len(str(self.n_cases)))}d}"

        def make(kind: str, index: int, role: str, rows: list[int]) -> Member:
            return Member(cid, family, near, note, file, kind, int(index), role, list(rows))

        return make

    def start_day(self, rng: np.random.Generator, span_days: float) -> int:
        """Epoch seconds (midnight UTC) of a day on which a case of ``span_days`` can start
        and still end, payouts included, well inside the period."""
        last = self.world.days - math.ceil(span_days) - 7
        return self.world.start_s + int(rng.integers(3, max(4, last))) * DAY

    def local(self, rng: np.random.Generator, t: float, agent: int) -> int:
        """The day of ``t`` (UTC) at a business hour (9-19 local) of the agent."""
        day = int(t // DAY) * DAY
        hour = float(rng.uniform(9.0, 19.0)) - self.offset[self.agent_country[agent]]
        return day + int(hour * HOUR)

    def bank_time(self, rng: np.random.Generator, t: float) -> int:
        """The day of ``t`` at a bank booking hour (06-20 UTC: the same date in Berlin)."""
        return int(t // DAY) * DAY + int(rng.uniform(6.0, 20.0) * HOUR)

    def agents(
        self, rng: np.random.Generator, country: str, k: int, distinct_cities: bool = False
    ) -> list[int]:
        """``k`` distinct physical agents of a country (in distinct cities if asked)."""
        options = self.physical[country]
        if distinct_cities:
            cities = list(dict.fromkeys(self.agent_city[options].tolist()))
            picked = rng.choice(len(cities), size=min(k, len(cities)), replace=False)
            out = []
            for c in picked:
                in_city = options[self.agent_city[options] == cities[int(c)]]
                out.append(int(in_city[rng.integers(0, in_city.size)]))
            return out
        return [int(a) for a in rng.choice(options, size=min(k, options.size), replace=False)]

    def to_ccy(self, eur: float, ccy: int, t: int) -> float:
        """A EUR amount in currency ``ccy`` at the rate of the day of ``t``."""
        day = (t - self.world.start_s) // DAY
        rate = self.world.rates.rate(np.array([self.book_idx[ccy]]), np.array([day]))[0]
        return float(eur * rate)

    def diaspora_sender(
        self, rng: np.random.Generator, allowed: tuple[str, ...] | None = None
    ) -> tuple[str, str, str, str]:
        """(sender group, sender country, receiver country, receiver group), drawn like the
        background remittances, optionally with senders only in ``allowed`` countries."""
        ds = [d for d in ref.DIASPORAS if allowed is None or any(c in d.senders for c in allowed)]
        p = np.array([d.share for d in ds])
        d = ds[int(rng.choice(len(ds), p=p / p.sum()))]
        senders = {c: w for c, w in d.senders.items() if allowed is None or c in allowed}
        s_cc = pick(rng, senders)
        r_cc = pick(rng, d.receivers)
        s_group = d.group if d.group != "native" else pick(rng, ref.RESIDENTS[s_cc])
        r_group = d.group if d.group != "native" else NATIVE_GROUP[r_cc]
        return s_group, s_cc, r_cc, r_group

    def resident(self, rng: np.random.Generator, country: str) -> str:
        """A resident community of a country."""
        return pick(rng, ref.RESIDENTS[country])


def pick(rng: np.random.Generator, weights: dict[str, float]) -> str:
    """One key of ``weights``, drawn with its weights."""
    keys = list(weights)
    p = np.array([weights[k] for k in keys], dtype=np.float64)
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]


class People:
    """Participants of a family, created in one call once all cases are planned."""

    def __init__(self) -> None:
        self.groups: list[str] = []
        self.countries: list[str] = []
        self.cities: list[str | None] = []
        self.banks: list[int] = []
        self.index: IntArray = np.zeros(0, dtype=np.int64)  # customers or accounts
        self.party: IntArray = np.zeros(0, dtype=np.int64)

    def add(self, group: str, country: str, city: str | None = None, bank: int = -1) -> int:
        """Plan one participant; returns its slot."""
        self.groups.append(group)
        self.countries.append(country)
        self.cities.append(city)
        self.banks.append(bank)
        return len(self.groups) - 1

    def _arrays(self, rng: np.random.Generator) -> tuple[StrArray, StrArray, StrArray]:
        countries = np.asarray(self.countries, dtype=str)
        drawn = city_choice(rng, countries) if countries.size else countries
        cities = np.asarray(
            [c if c is not None else d for c, d in zip(self.cities, drawn, strict=True)], dtype=str
        )
        return np.asarray(self.groups, dtype=str), countries, cities

    def create_customers(self, world: World, rng: np.random.Generator) -> None:
        """Create them as MTO customers (``index``: customer indices)."""
        g, c, city = self._arrays(rng)
        self.index = world.mto_people(rng, g, c, city)
        self.party = world.customers.frame()["party"].to_numpy().astype(np.int64)[self.index]

    def create_bank(self, world: World, rng: np.random.Generator, statement_bank: bool) -> None:
        """Create them as bank customers (``index``: account indices)."""
        g, c, city = self._arrays(rng)
        banks = np.asarray(self.banks, dtype=np.int64)
        self.party, self.index = world.bank_customers(rng, c, g, statement_bank, city, banks)

    def create_kyc(self, world: World, rng: np.random.Generator) -> None:
        """Create them as people known to a bank without an account (``index``: parties)."""
        g, c, city = self._arrays(rng)
        self.index = self.party = world.new_persons(
            rng, g, c, city, np.asarray(self.banks, dtype=np.int64)
        )


@dataclass
class Orders:
    """MTO orders of a family being planned (people by slot, agents by index)."""

    people: People
    draft: Draft = field(default_factory=Draft)

    def add(self, sender: int, receiver: int, send_agent: int, payout_agent: int, t: int,
            principal: float, ccy: int, delay: int, status: int = sk.PAID,
            s_style: int | None = None, s_phone: int | None = None,
            s_flags: int | None = None, s_device: int | None = None) -> int:  # fmt: skip
        """Plan one order; returns its draft row (``s_device``: a facilitator's device)."""
        return self.draft.add(sender=sender, receiver=receiver, send_agent=send_agent,
                              payout_agent=payout_agent, t=t, principal=round(principal, 2),
                              ccy=ccy, delay=delay, status=status, s_style=s_style,
                              s_phone=s_phone, s_flags=s_flags, s_device=s_device)  # fmt: skip

    def rows_of(self, slot: int, rows: list[int], side: str = "sender") -> list[int]:
        """The draft rows among ``rows`` where ``slot`` is on that side."""
        col = self.draft.columns[side]
        return [r for r in rows if col[r] == slot]

    def commit(self, ctx: Ctx, rng: np.random.Generator, members: list[Member]) -> None:
        """Create the people, complete the orders and add them to the book.

        Only PAID orders are evidence: other rows stay in the drop but not in ``tx_ids``.
        """
        self.people.create_customers(ctx.world, rng)
        d = self.draft
        idx = self.people.index
        n = d.n
        s_style = d.array("s_style")
        s_phone = d.array("s_phone")
        o = sk.Orders(
            sender=idx[d.array("sender")], receiver=idx[d.array("receiver")],
            send_agent=d.array("send_agent"), payout_agent=d.array("payout_agent"),
            t_send=d.array("t"), principal=d.array("principal", np.float64),
            send_ccy=d.array("ccy"), status=d.array("status"), delay=d.array("delay"),
            s_style=np.where(s_style >= 0, s_style, sk.name_styles(rng, n)),
            s_phone=np.where(s_phone >= 0, s_phone, sk.phone_styles(rng, n)),
            s_flags=d.array("s_flags"), s_device=d.array("s_device"),
        )  # fmt: skip
        frame = sk.mto_frame(ctx.world, rng, o, background=False)
        paid = d.columns["status"]
        for m in members:
            if m.kind == "customer":
                m.index = int(idx[m.index])
            m.rows = [r for r in m.rows if paid[r] == sk.PAID]
        ctx.book.commit(MTO, frame, members)


def short_delay(rng: np.random.Generator) -> int:
    """A payout 15 minutes to 5 hours after the send."""
    return int(rng.integers(15 * 60, 5 * HOUR))


def send_ccy(country: str) -> int:
    """The currency senders use in a country (skeleton code)."""
    return sk.CCY[ref.COUNTRIES[country].currency]


def band_amount(rng: np.random.Generator, lo: float, hi: float) -> float:
    """An amount in [lo, hi): often the round-looking ones people pick to stay under."""
    if rng.random() < 0.4:
        return float(
            rng.choice([lo, lo + 0.5 * (hi - lo), hi - 0.1 * (hi - lo), hi - 0.01 * (hi - lo)])
        )
    return round(float(rng.uniform(lo + 0.01 * (hi - lo), hi - 0.005 * (hi - lo))), 2)
