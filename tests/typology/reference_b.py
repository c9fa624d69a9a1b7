"""Plain-Python references for primitives set B: obviously correct, slow, for small inputs.

Each function takes transfers as a list of dicts (canonical column names; ``ts`` and
``payout_ts`` as aware datetimes) and returns the windows and evidence the polars plan must give,
as sorted lists of tuples (floats rounded to 6 decimals so that summation order does not matter).
The definitions are those of the modules' docstrings, spelled out loop by loop.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from finintel.identifiers import _parse as _parse_phone
from finintel.names import name_key

Row = Mapping[str, Any]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def r6(x: float | None) -> float | None:
    return None if x is None else round(x, 6)


def _focus(row: Row, side: str, group_by: str) -> Any:
    return row[f"{side}_{group_by}"]


def _counterparty(row: Row, side: str, group_by: str) -> Any:
    """The other side, as windows.focus_frame names it (party falls back to account)."""
    other = "src" if side == "dst" else "dst"
    if group_by == "account":
        return row[f"{other}_account"]
    return row[f"{other}_party"] if row[f"{other}_party"] is not None else row[f"{other}_account"]


def _cents(x: float) -> int:
    return round(x * 100)  # half to even, like polars' round


# pass_through -------------------------------------------------------------------------------


def pass_through(
    rows: Iterable[Row],
    *,
    max_delay: timedelta = timedelta(hours=24),
    min_ratio: float = 0.9,
    fee_tolerance: float = 0.1,
    min_amount: float = 0.0,
    window: timedelta = timedelta(days=30),
    group_by: str = "account",
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """(windows, evidence) of ``pass_through``.

    windows: (focus, start, end, in_amount, out_amount, ratio, delay, count, inflows, pass_share)
    evidence: (focus, tx_id, account, role)
    """
    rows = [r for r in rows if r["amount_base"] is not None]
    inflows: dict[Any, list[Row]] = {}
    outflows: dict[Any, list[Row]] = {}
    for r in rows:
        dst, src = _focus(r, "dst", group_by), _focus(r, "src", group_by)
        if (
            dst is not None
            and _counterparty(r, "dst", group_by) != dst
            and r["amount_base"] >= min_amount
            and _cents(r["amount_base"]) > 0
        ):
            inflows.setdefault(dst, []).append(r)
        if src is not None and _counterparty(r, "src", group_by) != src:
            outflows.setdefault(src, []).append(r)
    hits: list[tuple[Any, Row, datetime, float, float, float]] = []
    for focus, ins in inflows.items():
        outs = outflows.get(focus, [])
        for i in ins:
            t, a = i["ts"], _cents(i["amount_base"])
            need = max(1, math.ceil(min_ratio * a - 1e-6))
            inside = [o for o in outs if t <= o["ts"] <= t + max_delay]
            done = None
            for ts in sorted({o["ts"] for o in inside}):
                got = sum(_cents(o["amount_base"]) for o in inside if o["ts"] <= ts)
                if got >= need:
                    done = (ts, got)
                    break
            if done is None:
                continue
            ts_done, raw = done
            out = raw if raw <= a * (1 + fee_tolerance) else a
            delay = (ts_done - t) / timedelta(microseconds=1) / 1e6
            hits.append((focus, i, ts_done, a / 100, out / 100, delay))
    windows = set()
    for focus, i, *_ in hits:
        t = i["ts"]
        inside_hits = [h for h in hits if h[0] == focus and t - window < h[1]["ts"] <= t]
        in_amount = sum(h[3] for h in inside_hits)
        out_amount = sum(h[4] for h in inside_hits)
        all_in = sum(1 for r in inflows[focus] if t - window < r["ts"] <= t)
        windows.add(
            (
                focus,
                min(h[1]["ts"] for h in inside_hits),
                max(h[2] for h in inside_hits),
                r6(in_amount),
                r6(out_amount),
                r6(out_amount / in_amount),
                r6(max(h[5] for h in inside_hits)),
                len(inside_hits),
                all_in,
                r6(len(inside_hits) / all_in),
            )
        )
    evidence = set()
    for focus, i, *_ in hits:
        evidence.add((focus, i["tx_id"], i["src_account"], "source"))
        if group_by == "party":
            evidence.add((focus, i["tx_id"], i["dst_account"], "mule"))
    for focus, outs in outflows.items():
        for o in outs:
            if any(h[0] == focus and h[1]["ts"] <= o["ts"] <= h[2] for h in hits):
                evidence.add((focus, o["tx_id"], o["dst_account"], "destination"))
                if group_by == "party":
                    evidence.add((focus, o["tx_id"], o["src_account"], "mule"))
    return sorted(windows, key=repr), sorted(evidence, key=repr)


# payout_delay -------------------------------------------------------------------------------


def payout_delay(
    rows: Iterable[Row],
    *,
    min_delay: timedelta = timedelta(days=7),
    window: timedelta = timedelta(days=30),
    side: str = "receiver",
    group_by: str = "account",
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """(windows, evidence) of ``payout_delay``.

    windows: (focus, start, end, held_count, max_delay, mean_delay, total)
    evidence: (focus, tx_id, account, role)
    """
    me = "dst" if side == "receiver" else "src"
    other = "src" if me == "dst" else "dst"
    held: list[tuple[Any, Row, float]] = []
    for r in rows:
        focus = _focus(r, me, group_by)
        if focus is None or r["payout_ts"] is None or r["payout_ts"] - r["ts"] < min_delay:
            continue
        held.append((focus, r, (r["payout_ts"] - r["ts"]) / timedelta(microseconds=1) / 1e6))
    windows = set()
    for focus, r, _ in held:
        t = r["ts"]
        inside = [h for h in held if h[0] == focus and t - window < h[1]["ts"] <= t]
        delays = [h[2] for h in inside]
        windows.add(
            (
                focus,
                min(h[1]["ts"] for h in inside),
                t,
                len(inside),
                r6(max(delays)),
                r6(sum(delays) / len(delays)),
                r6(sum(h[1]["amount_base"] or 0.0 for h in inside)),  # null adds nothing
            )
        )
    evidence = set()
    for focus, r, _ in held:
        role = "sender" if me == "dst" else "receiver"
        evidence.add((focus, r["tx_id"], r[f"{other}_account"], role))
        if group_by == "party":
            evidence.add((focus, r["tx_id"], r[f"{me}_account"], "collector"))
    return sorted(windows, key=repr), sorted(evidence, key=repr)


# agent_concentration ------------------------------------------------------------------------


def agent_concentration(
    rows: Iterable[Row],
    flag: Callable[[Row], bool],
    *,
    side: str = "send",
    window: timedelta = timedelta(days=30),
    min_transfers: int = 20,
    min_factor: float = 5.0,
    min_flagged: int = 5,
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """(windows, evidence, hits) of ``agent_concentration``; hits are the windows meeting the
    built-in condition (decided on unrounded values).

    windows: (focus, start, end, flagged, transfers, share, median_share, factor)
    evidence: (focus, tx_id, account, role)
    """
    col = "src_agent" if side == "send" else "dst_agent"
    through = [r for r in rows if r[col] is not None]
    size = window // timedelta(microseconds=1)

    def period(ts: datetime) -> int:
        return ((ts - EPOCH) // timedelta(microseconds=1)) // size

    per: dict[tuple[int, Any], list[Row]] = {}
    for r in through:
        per.setdefault((period(r["ts"]), r[col]), []).append(r)
    shares: dict[int, list[float]] = {}
    for (p, _), rs in per.items():
        if len(rs) >= min_transfers:
            shares.setdefault(p, []).append(sum(flag(r) for r in rs) / len(rs))
    medians = {p: statistics.median(s) for p, s in shares.items()}
    windows, hits = set(), set()
    for r in through:
        agent, t = r[col], r["ts"]
        inside = [x for x in through if x[col] == agent and t - window < x["ts"] <= t]
        flagged = sum(flag(x) for x in inside)
        share = flagged / len(inside)
        median = medians.get(period(t))
        factor = share / median if median else None
        row = (
            agent,
            min(x["ts"] for x in inside),
            t,
            flagged,
            len(inside),
            r6(share),
            r6(median),
            r6(factor),
        )
        windows.add(row)
        if (
            flagged >= min_flagged
            and median is not None
            and share * (1 + 1e-9) >= min_factor * median
        ):
            hits.add(row)
    evidence = set()
    for r in through:
        if flag(r):
            evidence.add((r[col], r["tx_id"], r["src_account"], "sender"))
            evidence.add((r[col], r["tx_id"], r["dst_account"], "receiver"))
    return sorted(windows, key=repr), sorted(evidence, key=repr), sorted(hits, key=repr)


# shared_identifier --------------------------------------------------------------------------


def norm_name(name: str | None) -> str | None:
    """Names compare by finintel.names.name_key (tested on its own in tests/test_names.py)."""
    if name is None:
        return None
    out = pl.select(name_key(pl.lit(name, dtype=pl.String))).item()
    return out or None


def norm_key(ident: str, party: Row) -> str | None:
    value = party.get(ident)
    if value is None:
        return None
    if ident == "phone":
        # E.164 via phonenumbers (tested on its own in tests/test_names.py)
        parsed = _parse_phone(value, party.get("country"))
        if parsed is None:
            return None
        out = parsed
    elif ident == "id_number":
        out = "".join(c for c in value.upper() if c.isalnum())
        if not out:
            return None
        country = (party.get("id_country") or "").strip().upper()
        if country:
            out = f"{country}:{out}"
    elif ident == "email":
        out = value.strip().lower()
    else:
        out = " ".join(value.lower().split())
    return f"{ident}:{out}" if out else None


def _name_groups(names: set[str]) -> int:
    """Groups of names linked by an equal part, a part that is a prefix of another, or equal
    concatenations (plain union-find)."""
    parent = {n: n for n in names}

    def find(n: str) -> str:
        while parent[n] != n:
            n = parent[n]
        return n

    def linked(a: str, b: str) -> bool:
        pa, pb = a.split(" "), b.split(" ")
        if "".join(pa) == "".join(pb):
            return True
        for x in pa:
            for y in pb:
                short, long = sorted((x, y), key=len)
                if x == y or (
                    2 <= len(short) <= 8 and len(short) < len(long) and long.startswith(short)
                ):
                    return True
                if any(
                    p.startswith("l") and len(p) >= 3 and p[1:] == q for p, q in ((x, y), (y, x))
                ):
                    return True
        return False

    ordered = sorted(names)
    for i, a in enumerate(ordered):
        for b in ordered[i + 1 :]:
            if linked(a, b):
                parent[find(a)] = find(b)
    return len({find(n) for n in names})


def shared_identifier(
    rows: Iterable[Row],
    parties: Iterable[Row],
    *,
    identifiers: Iterable[str] = ("id_number", "phone", "email", "address"),
    weights: Mapping[str, float] | None = None,
    min_names: int = 2,
    min_weight: float = 0.6,
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """(windows, evidence) of ``shared_identifier``.

    windows: (focus, start, end, identifier, distinct_names, distinct_parties, weight)
    evidence: (focus, tx_id, account, role)
    """
    w = {"id_number": 1.0, "phone": 0.6, "email": 0.6, "address": 0.3, **(weights or {})}
    rows = list(rows)
    names: dict[str, set[str]] = {}
    members: dict[str, set[str]] = {}
    for p in parties:
        for ident in identifiers:
            key = norm_key(ident, p)
            if key is None or p["party_id"] is None or w[ident] < min_weight:
                continue
            members.setdefault(key, set()).add(p["party_id"])
            n = norm_name(p["name"])
            names.setdefault(key, set())
            if n is not None:
                names[key].add(n)
    windows, evidence = [], set()
    for key, ps in members.items():
        if _name_groups(names[key]) < min_names:
            continue
        ev = set()
        for r in rows:
            for s in ("src", "dst"):
                if r[f"{s}_party"] in ps:
                    ev.add((key, r["tx_id"], r[f"{s}_account"], "holder", r["ts"]))
        if not ev:
            continue
        ts = [e[4] for e in ev]
        ident = key.split(":")[0]
        windows.append((key, min(ts), max(ts), ident, _name_groups(names[key]), len(ps), w[ident]))
        evidence |= {e[:4] for e in ev}
    return sorted(windows, key=repr), sorted(evidence, key=repr)
