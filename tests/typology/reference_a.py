"""Plain-Python reference implementations of the windowed primitives, set A.

Obviously correct and slow: for every focus and every distinct transfer time ``t`` of it, the
window is the list of the focus's rows with ``t - window < ts <= t``, and each metric is
computed from that list with builtins. Results are ``{(focus, end): {"start": ..., metric: ...}}``
so they can be compared with the ``windows`` frame of the polars primitives.

Rows are dicts with the canonical transfer columns (``tx_id``, ``ts``, ``src_account``, ...).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

Row = dict[str, Any]
Windows = dict[tuple[str, datetime], dict[str, Any]]


def focus_rows(rows: Iterable[Row], side: str, group_by: str) -> list[Row]:
    """Each transfer as seen from its focus (see ``windows.focus_frame``)."""
    sides = ["out", "in"] if side == "both" else [side]
    out = []
    for r in rows:
        for s in sides:
            me, other = ("dst", "src") if s == "in" else ("src", "dst")
            if group_by == "account":
                focus = r.get(f"{me}_account")
                cp = r.get(f"{other}_account")
            else:
                focus = r.get(f"{me}_party")
                cp = r.get(f"{other}_party")
                if cp is None:
                    cp = r.get(f"{other}_account")
            if focus is None:
                continue
            if side == "both" and s == "in" and cp == focus:
                continue  # a transfer to itself is counted once, as an outflow
            out.append(
                {
                    **r,
                    "focus": focus,
                    "counterparty": cp,
                    "focus_account": r.get(f"{me}_account"),
                    "counterparty_account": r.get(f"{other}_account"),
                    "counterparty_country": r.get(f"{other}_country"),
                    "focus_country": r.get(f"{me}_country"),
                    "counterparty_agent": r.get(f"{other}_agent"),
                    "focus_agent": r.get(f"{me}_agent"),
                    "direction": s,
                    "role": "sender" if s == "in" else "receiver",
                }
            )
    return out


def windows(
    rows: Sequence[Row], window: timedelta, metrics: Callable[[list[Row]], dict[str, Any]]
) -> Windows:
    """``(t - window, t]`` at every distinct ``(focus, t)``."""
    by_focus: dict[str, list[Row]] = {}
    for r in rows:
        by_focus.setdefault(r["focus"], []).append(r)
    out: Windows = {}
    for focus, rs in by_focus.items():
        for t in {r["ts"] for r in rs}:
            inside = [r for r in rs if t - window < r["ts"] <= t]
            out[(focus, t)] = {"start": min(r["ts"] for r in inside), **metrics(inside)}
    return out


def distinct(rows: Iterable[Row], column: str) -> int:
    return len({r[column] for r in rows if r[column] is not None})


def total(rows: Iterable[Row], column: str = "amount_base") -> float:
    return math.fsum(r[column] for r in rows)


# kinds ----------------------------------------------------------------------------------------


def aggregate(
    rows: Sequence[Row],
    side: str,
    window: timedelta,
    measures: Mapping[str, tuple[str, Any]],
    group_by: str = "account",
) -> Windows:
    """``measures``: name → (function, column) — for ``share`` a predicate on a row."""

    def m(ws: list[Row]) -> dict[str, Any]:
        out: dict[str, Any] = {"count": len(ws), "total": total(ws)}
        for name, (fn, arg) in measures.items():
            if fn == "count":
                out[name] = len(ws)
            elif fn == "sum":
                out[name] = total(ws, arg)
            elif fn == "mean":
                out[name] = total(ws, arg) / len(ws)
            elif fn == "max":
                out[name] = max(r[arg] for r in ws)
            elif fn == "min":
                out[name] = min(r[arg] for r in ws)
            elif fn == "distinct":
                out[name] = distinct(ws, arg)
            elif fn == "share":
                out[name] = sum(1 for r in ws if arg(r)) / len(ws)
        return out

    return windows(focus_rows(rows, side, group_by), window, m)


def fan(rows: Sequence[Row], side: str, window: timedelta, group_by: str = "account") -> Windows:
    who, countries = (
        ("distinct_senders", "distinct_src_countries")
        if side == "in"
        else ("distinct_receivers", "distinct_dst_countries")
    )
    return windows(
        focus_rows(rows, side, group_by),
        window,
        lambda ws: {
            who: distinct(ws, "counterparty"),
            countries: distinct(ws, "counterparty_country"),
            "count": len(ws),
            "total": total(ws),
        },
    )


def _threshold(r: Row, threshold: float, by_country: Mapping[str, float] | None) -> float:
    return (by_country or {}).get(r["src_country"], threshold)


def _amount(r: Row, currency: str | None) -> float:
    return float(r["amount"] if currency else r["amount_base"])


def structuring_rows(
    rows: Sequence[Row],
    *,
    threshold: float = 1000.0,
    band: float = 0.1,
    window: timedelta = timedelta(days=7),
    side: str = "out",
    mode: str = "band",
    currency: str | None = None,
    by_country: Mapping[str, float] | None = None,
    group_by: str = "account",
) -> list[Row]:
    """The focus rows structuring looks at: in band, or under the threshold (split)."""
    kept = []
    for r in focus_rows(rows, side, group_by):
        if currency and r["currency"] != currency:
            continue
        t, a = _threshold(r, threshold, by_country), _amount(r, currency)
        if (mode == "band" and t * (1 - band) <= a < t) or (mode == "split" and a < t):
            kept.append(r)
    return kept


def structuring(
    rows: Sequence[Row],
    *,
    threshold: float = 1000.0,
    band: float = 0.1,
    window: timedelta = timedelta(days=7),
    side: str = "out",
    mode: str = "band",
    currency: str | None = None,
    by_country: Mapping[str, float] | None = None,
    group_by: str = "account",
) -> Windows:
    kept = structuring_rows(
        rows,
        threshold=threshold,
        band=band,
        window=window,
        side=side,
        mode=mode,
        currency=currency,
        by_country=by_country,
        group_by=group_by,
    )

    def t_of(r: Row) -> float:
        return _threshold(r, threshold, by_country)

    def amount(r: Row) -> float:
        return _amount(r, currency)

    def m(ws: list[Row]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "count_in_band" if mode == "band" else "count_below": len(ws),
            "total": total(ws),
            "max_amount": max(amount(r) for r in ws),
        }
        if mode == "split":
            out["sum_amount"] = math.fsum(amount(r) for r in ws)
        out["threshold"] = min(t_of(r) for r in ws)
        return out

    return windows(kept, window, m)


def corridor(
    rows: Sequence[Row],
    src: set[str] | None,
    dst: set[str] | None,
    window: timedelta,
    group_by: str = "account",
) -> Windows:
    kept = [
        r
        for r in focus_rows(rows, "out", group_by)
        if (src is None or r["src_country"] in src) and (dst is None or r["dst_country"] in dst)
    ]
    return windows(kept, window, lambda ws: {"count": len(ws), "total": total(ws)})


def is_round(amount: float, unit: float) -> bool:
    return abs(round(amount / unit) * unit - amount) < 0.005


def round_amounts(
    rows: Sequence[Row],
    window: timedelta,
    unit: float,
    side: str = "out",
    group_by: str = "account",
) -> Windows:
    def m(ws: list[Row]) -> dict[str, Any]:
        n = sum(1 for r in ws if is_round(r["amount"], unit))
        return {"count": len(ws), "round_count": n, "round_share": n / len(ws)}

    return windows(focus_rows(rows, side, group_by), window, m)


def velocity_spike(
    rows: Sequence[Row],
    window: timedelta,
    history: timedelta,
    side: str = "out",
    group_by: str = "account",
) -> Windows:
    current = windows(
        focus_rows(rows, side, group_by),
        window,
        lambda ws: {"window_total": total(ws), "count": len(ws)},
    )
    out: Windows = {}
    for (focus, t), w in current.items():
        past = [
            v["window_total"]
            for (f, s), v in current.items()
            if f == focus and t - window - history < s <= t - window
        ]
        out[(focus, t)] = {
            **w,
            "history_windows": len(past),
            "history_mean": statistics.fmean(past) if past else None,
            "history_std": statistics.pstdev(past) if past else None,
            "previous_max": max(past) if past else None,
            "factor": w["window_total"] / max(past) if past else None,
        }
    return out


def dormant_then_active(
    rows: Sequence[Row], window: timedelta, side: str = "both", group_by: str = "account"
) -> Windows:
    frows = focus_rows(rows, side, group_by)
    out = windows(frows, window, lambda ws: {"count": len(ws), "total": total(ws)})
    for (focus, _), w in out.items():
        before = [r["ts"] for r in frows if r["focus"] == focus and r["ts"] < w["start"]]
        w["gap"] = int((w["start"] - max(before)).total_seconds()) if before else None
    return out
