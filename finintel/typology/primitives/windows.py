"""Rolling windows over event time, shared by the windowed primitives.

The window convention (every windowed kind keeps it)
----------------------------------------------------
The window of length ``w`` ending at a transfer at time ``t`` holds the transfers of the same
focus with ``t - w < ts <= t``: open at the start, closed at the end (polars ``closed="right"``).
Every transfer with the same timestamp as ``t`` is inside, whatever its order, so a window is a
function of ``(focus, t)`` only and the windows of tied transfers are identical. With date-only
data (every ``ts`` at midnight) a ``7d`` window therefore covers seven calendar days: the end day
and the six before it. Durations are exact (``1d`` = 24 h; timestamps are UTC).

A windows frame (see :mod:`.base`) has one row per distinct ``(focus, end)``: ``end`` is the
window's end (the transfer time it was computed at), ``start`` the earliest transfer time in it.

The building blocks
-------------------
:func:`focus_frame`
    picks the focus (the account or party the windows belong to) and the counterparty of each
    transfer, for inflows (``side="in"``: focus = receiver), outflows (``"out"``: focus =
    sender) or both, drops rows without a focus and sorts by ``focus, ts, tx_id, source``;
    :func:`focus_rows` is the same rows unsorted (to prune or filter before :func:`in_order`
    sorts them, and for the evidence).
:func:`rolling_by_focus`
    rolling aggregates per focus, one row per ``(focus, end)``; distinct counts through its
    ``distinct=`` argument (run flags in one pass, O(n log n) even for a busy focus).
:func:`prune_foci`
    drops the foci whose rows, all taken together, fall short of a count a window needs to
    fire (a window holds some of its focus's rows): their windows are never built.
:func:`evidence_frame`
    the evidence rows of :mod:`.base` from a focus frame.
:func:`distinct`, :func:`count`, :func:`total`
    the aggregate expressions used everywhere (nulls are not a distinct value).
:func:`param`, :func:`as_duration`, :func:`param_error`, :func:`fmt_number`, :func:`fmt_count`
    parameters with their defaults (durations as timedelta, given as text or timedelta), the
    FI113 error of a parameter the primitive rejects, numbers in explanations.

>>> from datetime import datetime, timedelta, timezone
>>> day = lambda d: datetime(2024, 1, d, tzinfo=timezone.utc)
>>> lf = pl.LazyFrame({
...     "tx_id": ["1", "2", "3", "4"], "ts": [day(1), day(1), day(3), day(8)],
...     "src_account": ["x", "y", "x", "y"], "dst_account": ["A", "A", "A", "A"],
...     "amount_base": [1.0, 2.0, 3.0, 4.0], "source": "bank",
... })
>>> frame = focus_frame(lf, "in", "account")
>>> w = rolling_by_focus(frame, timedelta(days=7), {"n": count()}, distinct={"senders": COUNTERPARTY})
>>> [(r[0].day, r[1], r[2]) for r in w.select("end", "n", "senders").collect().rows()]
[(1, 2, 2), (3, 3, 2), (8, 2, 2)]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

import polars as pl

from finintel.errors import ConfigError
from finintel.schema import TRANSFERS, UTC_TS
from finintel.typology.primitives.base import EVIDENCE_SCHEMA, GROUP_BY, ParamSpec, Plan
from finintel.yamlpos import parse_duration

__all__ = [
    "COUNTERPARTY",
    "COUNTERPARTY_ACCOUNT",
    "DIRECTION",
    "END",
    "FOCUS",
    "FOCUS_ACCOUNT",
    "FOCUS_FRAME",
    "ORDER",
    "ROLE",
    "SIDES",
    "START",
    "as_duration",
    "count",
    "distinct",
    "empty_plan",
    "evidence_frame",
    "fmt_count",
    "fmt_number",
    "focus_frame",
    "focus_rows",
    "in_order",
    "param",
    "param_error",
    "polars_duration",
    "prune_foci",
    "rolling_by_focus",
    "rows_with_windows",
    "total",
]

FOCUS = "focus"
START = "start"
END = "end"
#: The other side of the transfer, as seen from the focus: its party (falling back to its
#: account when the party is null) when grouping by party, its account otherwise.
COUNTERPARTY = "counterparty"
#: The focus's own account and the counterparty's account (always accounts).
FOCUS_ACCOUNT = "focus_account"
COUNTERPARTY_ACCOUNT = "counterparty_account"
#: ``"in"`` (money arrives at the focus) or ``"out"`` (money leaves the focus).
DIRECTION = "direction"
#: The counterparty's role: ``"sender"`` for inflows, ``"receiver"`` for outflows.
ROLE = "role"

SIDES = ("in", "out", "both")

#: Columns :func:`focus_frame` adds to the canonical transfer columns, with their types. The
#: counterparty's and the focus's country and agent are there too, so that a kind (or a measure
#: of ``aggregate``) can say ``distinct(counterparty_country)`` whatever the side.
FOCUS_FRAME: dict[str, pl.DataType] = {
    FOCUS: pl.String(),
    COUNTERPARTY: pl.String(),
    FOCUS_ACCOUNT: pl.String(),
    COUNTERPARTY_ACCOUNT: pl.String(),
    "focus_country": pl.String(),
    "counterparty_country": pl.String(),
    "focus_agent": pl.String(),
    "counterparty_agent": pl.String(),
    DIRECTION: pl.String(),
    ROLE: pl.String(),
}

#: Sort order that makes every result deterministic (``tx_id`` is unique within ``source``).
ORDER = (FOCUS, "ts", "tx_id", "source")

#: The integer id of a focus (its rank in the sorted frame) used to group rolling windows.
_FID = "_fid"

#: The rule model's code for "a parameter the primitive itself rejects".
_PARAM_CODE = "FI113"


# parameters ---------------------------------------------------------------------------------


def param_error(kind: str, name: str, message: str) -> ConfigError:
    """A parameter problem found by a primitive (the rule loader adds the position)."""
    return ConfigError(_PARAM_CODE, f"{kind}: parameter {name!r} {message}")


def as_duration(value: Any, kind: str = "", name: str = "") -> timedelta:
    """A duration parameter as a timedelta: a timedelta, text like ``"7d"`` or seconds.

    >>> as_duration("2d4h")
    datetime.timedelta(days=2, seconds=14400)
    """
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise param_error(kind, name, f"expects a duration like '7d', got {value!r}")
    if isinstance(value, int | float):
        return timedelta(seconds=float(value))
    if isinstance(value, str):
        try:
            return parse_duration(value)
        except ValueError:
            pass
    raise param_error(kind, name, f"expects a duration like '7d', got {value!r}")


def param(
    params: Mapping[str, Any], specs: Mapping[str, ParamSpec], name: str, kind: str = ""
) -> Any:
    """The value of a parameter, its default when absent or null; durations as timedelta.

    Raises a :class:`ConfigError` for a missing required parameter.
    """
    spec = specs[name]
    value = params.get(name)
    if value is None:
        if spec.required:
            raise param_error(kind, name, "is required")
        value = spec.default
    if value is not None and spec.type == "duration":
        return as_duration(value, kind, name)
    return value


def polars_duration(delta: timedelta) -> str:
    """An exact polars duration string (microseconds: no calendar or time-zone arithmetic).

    >>> polars_duration(timedelta(days=1))
    '86400000000us'
    """
    us = delta // timedelta(microseconds=1)
    return f"{us}us"


def fmt_number(value: float | int | None) -> str:
    """A metric or threshold for explanations: thousands separators, at most 2 decimals.

    >>> fmt_number(12400), fmt_number(0.8), fmt_number(1.256), fmt_number(None)
    ('12,400', '0.8', '1.26', '?')
    """
    if value is None:
        return "?"
    x = float(value)
    if math.isnan(x):
        return "?"
    if x.is_integer():
        return f"{int(x):,}"
    return f"{x:,.2f}".rstrip("0").rstrip(".")


def fmt_count(value: float | int | None, singular: str, plural: str | None = None) -> str:
    """A count with its noun: ``"1 transfer"``, ``"3 transfers"``, ``"? transfers"``."""
    word = singular if value == 1 else (plural or singular + "s")
    return f"{fmt_number(value)} {word}"


# frames -------------------------------------------------------------------------------------


def _keys(group_by: str) -> tuple[str, str]:
    if group_by not in GROUP_BY:
        raise ValueError(f"group_by must be one of {', '.join(GROUP_BY)}, got {group_by!r}")
    return ("account", "party") if group_by == "account" else ("party", "party")


def _side(transfers: pl.LazyFrame, side: str, group_by: str) -> pl.LazyFrame:
    me, other = ("dst", "src") if side == "in" else ("src", "dst")
    names = transfers.collect_schema().names()

    def col(name: str) -> pl.Expr:
        if name in names:
            return pl.col(name)
        return pl.lit(None, dtype=TRANSFERS.get(name, pl.String()))

    if group_by == "account":
        focus = col(f"{me}_account")
        cp = col(f"{other}_account")
    else:
        _keys(group_by)
        focus = col(f"{me}_party")
        cp = pl.coalesce(col(f"{other}_party"), col(f"{other}_account"))
    return transfers.with_columns(
        focus.cast(pl.String).alias(FOCUS),
        cp.cast(pl.String).alias(COUNTERPARTY),
        col(f"{me}_account").cast(pl.String).alias(FOCUS_ACCOUNT),
        col(f"{other}_account").cast(pl.String).alias(COUNTERPARTY_ACCOUNT),
        col(f"{me}_country").cast(pl.String).alias("focus_country"),
        col(f"{other}_country").cast(pl.String).alias("counterparty_country"),
        col(f"{me}_agent").cast(pl.String).alias("focus_agent"),
        col(f"{other}_agent").cast(pl.String).alias("counterparty_agent"),
        pl.lit(side, dtype=pl.String).alias(DIRECTION),
        pl.lit("sender" if side == "in" else "receiver", dtype=pl.String).alias(ROLE),
    ).filter(pl.col(FOCUS).is_not_null())


def focus_frame(transfers: pl.LazyFrame, side: str, group_by: str) -> pl.LazyFrame:
    """Transfers as seen from their focus, with the :data:`FOCUS_FRAME` columns added.

    ``side="in"``: focus = receiver (dst), counterparty = sender; ``"out"``: focus = sender,
    counterparty = receiver; ``"both"``: each transfer once per side. A transfer whose two
    sides are the same focus (an account paying itself, two accounts of one party) is kept once
    for ``"both"``, as an outflow. ``group_by`` is ``"account"`` or ``"party"``. Rows without a
    focus are dropped; optional canonical columns that are missing are taken as null. Sorted by
    ``focus, ts, tx_id, source``.
    """
    return in_order(focus_rows(transfers, side, group_by))


def in_order(rows: pl.LazyFrame) -> pl.LazyFrame:
    """Focus rows (:func:`focus_rows`, perhaps filtered row by row or pruned) sorted by
    :data:`ORDER`, as :func:`focus_frame` gives them."""
    return rows.sort(*ORDER, nulls_last=True, maintain_order=True)


def focus_rows(transfers: pl.LazyFrame, side: str, group_by: str) -> pl.LazyFrame:
    """:func:`focus_frame` without its sort, for plans that regroup or re-sort the rows anyway
    (a sort by the string ``focus`` is most of a simple rule's time), prune foci before
    sorting (:func:`in_order`) or build their evidence (:func:`evidence_frame`)."""
    _keys(group_by)
    if side not in SIDES:
        raise ValueError(f"side must be one of {', '.join(SIDES)}, got {side!r}")
    if "source" not in transfers.collect_schema().names():
        transfers = transfers.with_columns(pl.lit(None, dtype=pl.String).alias("source"))
    if side == "both":
        out = _side(transfers, "out", group_by)
        inflow = _side(transfers, "in", group_by).filter(
            pl.col(COUNTERPARTY).is_null() | (pl.col(COUNTERPARTY) != pl.col(FOCUS))
        )
        return pl.concat([out, inflow], how="vertical_relaxed")
    return _side(transfers, side, group_by)


def count() -> pl.Expr:
    """Transfers in the window (Int64)."""
    return pl.len().cast(pl.Int64)


def total(column: str = "amount_base") -> pl.Expr:
    """Sum of ``column`` in the window (Float64; 0 for no rows)."""
    return pl.col(column).sum().cast(pl.Float64)


def distinct(column: str) -> pl.Expr:
    """Distinct non-null values of ``column`` in the window (Int64), as an aggregation.

    Costs O(rows in the window) per window: fine for short windows, quadratic for a busy
    focus; ``rolling_by_focus(..., distinct={name: column})`` gives the same numbers in
    O(n log n)."""
    return pl.col(column).drop_nulls().n_unique().cast(pl.Int64)


def rolling_by_focus(
    frame: pl.LazyFrame,
    window: timedelta,
    aggs: Mapping[str, pl.Expr] | Sequence[pl.Expr],
    *,
    offset: timedelta | None = None,
    index: str = "ts",
    distinct: Mapping[str, str] | None = None,
    presorted: bool = False,
) -> pl.LazyFrame:
    """Rolling aggregates per focus: one row per distinct ``(focus, end)``.

    For each row of ``frame`` (which needs ``focus`` and ``index``) the window is
    ``(t - window, t]`` with ``t`` its ``index`` value; with ``offset`` (a negative duration)
    it is ``(t + offset, t + offset + window]`` instead, e.g. ``offset=-(w + h)`` with
    ``window=h`` gives the ``h`` before the window of length ``w`` ending at ``t``.
    The result has ``focus``, ``end`` (= ``t``), ``start`` (earliest ``index`` in the window,
    null for an empty offset window), the ``aggs`` (a mapping gives their names), then one
    Int64 column per entry ``name: column`` of ``distinct``: the distinct non-null values of
    ``column`` in the window. Sorted by ``focus, end``. Tied rows give identical windows, so
    one of them is kept. Foci are grouped as integer ids (rank in the sorted frame), not as
    text. ``presorted``: ``frame`` is already in :data:`ORDER` (a :func:`focus_frame`, then
    only filtered or semi-joined in order), so it is not sorted again.

    Prefer ``distinct=`` to a :func:`distinct` aggregation: it is computed from per-row run
    flags (:func:`_run_flags`) in O(n log n), where a distinct count over each window's rows
    costs O(rows in the window) per window — quadratic for a busy focus.
    """
    named = [e.alias(n) for n, e in aggs.items()] if isinstance(aggs, Mapping) else list(aggs)
    kw: dict[str, Any] = {}
    if offset is not None:
        kw["offset"] = _signed(offset)
    focus = pl.col(FOCUS)
    if presorted and index != "ts":
        raise ValueError("presorted frames are in focus, ts order: index must be 'ts'")
    ordered = frame if presorted else frame.sort(FOCUS, index, maintain_order=True)
    rows = ordered.with_columns(
        (focus.ne_missing(focus.shift(1)) | (pl.int_range(pl.len()) == 0))
        .cum_sum()
        .cast(pl.Int64)
        .alias(_FID)
    )
    counts: list[pl.Expr] = []
    for i, (name, column) in enumerate((distinct or {}).items()):
        rows = _run_flags(rows, window, column, index, i)
        open_runs, ended = pl.col(f"_open{i}"), pl.col(f"_ended{i}")
        counts.append((open_runs.last() + ended.sum()).fill_null(0).cast(pl.Int64).alias(name))
    fid, t = pl.col(_FID), pl.col(index)
    first_of_tie = ~((fid == fid.shift(1)) & (t == t.shift(1))).fill_null(False)
    return (
        rows.rolling(
            index_column=index,
            period=polars_duration(window),
            closed="right",
            group_by=[_FID, FOCUS],  # grouped by the integer id, the focus carried along
            **kw,
        )
        .agg(t.first().alias(START), *named, *counts)
        .filter(first_of_tie)
        .rename({index: END})
        .select(FOCUS, START, END, *_names(named), *(distinct or {}))
        .with_columns(pl.col(START).cast(UTC_TS), pl.col(END).cast(UTC_TS))
    )


def _signed(delta: timedelta) -> str:
    return ("-" if delta < timedelta(0) else "") + polars_duration(abs(delta))


def _run_flags(
    rows: pl.LazyFrame, window: timedelta, column: str, index: str, i: int
) -> pl.LazyFrame:
    """``rows`` with columns ``_open{i}``, ``_ended{i}`` from which the distinct non-null values of
    ``column`` in any window ``(q - window, q]`` follow (``rows`` sorted by focus id, time).

    A value occurring at ``s`` is in the windows ending in ``[s, s + window)``; the occurrences
    of one value of one focus less than ``window`` apart form a run, active in the windows
    ending in ``[first, last + window)``. A run is active at ``q`` iff it has an occurrence in
    the window, so the distinct values in the window are the runs still open at ``q`` (started
    at or before ``q``, last occurrence after ``q``) plus the runs whose last occurrence is in
    the window. ``_ended`` flags the last occurrence of a run; ``_open`` is the running sum of
    "starts a run" minus ``_ended`` (the flags of a focus add up to zero, so one running sum
    over all foci restarts at zero for each). For a window, ``last(_open) + sum(_ended)`` over
    its rows is the distinct count: its last row is the last one at or before ``q``. Runs come
    from one stable arg-sort of integer keys (focus id, value code) — no joins.
    """
    value = pl.col(column)
    if rows.collect_schema()[column] == pl.String:  # one UInt64 key: focus id, value code
        code = value.cast(pl.Categorical).to_physical().cast(pl.UInt64)
        keys = [pl.col(_FID).cast(pl.UInt64) * (1 << 32) + code]
    else:
        keys = [pl.col(_FID), value]
    # the rows in (focus, value, time) order: a stable arg-sort of the rows (sorted by time)
    order = pl.col("_order")
    by_value = [k.gather(order).alias(f"_k{j}") for j, k in enumerate(keys)]
    t = pl.col("_t")
    same_prev = pl.all_horizontal(
        pl.col(f"_k{j}") == pl.col(f"_k{j}").shift(1) for j in range(len(keys))
    )
    same_next = pl.all_horizontal(
        pl.col(f"_k{j}") == pl.col(f"_k{j}").shift(-1) for j in range(len(keys))
    )
    present = pl.col("_p")
    starts = present & ~(same_prev & ((t - t.shift(1)) < window)).fill_null(False)
    ends = present & ~(same_next & ((t.shift(-1) - t) < window)).fill_null(False)
    back = pl.col("_back")  # the inverse permutation: flags back in the rows' order
    temps = ["_order", "_back", "_t", "_p", "_s", "_e", *(f"_k{j}" for j in range(len(keys)))]
    return (
        rows.with_columns(pl.arg_sort_by(keys, maintain_order=True).alias("_order"))
        .with_columns(
            *by_value,
            pl.col(index).gather(order).alias("_t"),
            value.is_not_null().gather(order).alias("_p"),
            order.arg_sort().alias("_back"),
        )
        .with_columns(starts.cast(pl.Int64).alias("_s"), ends.cast(pl.Int64).alias("_e"))
        .with_columns(
            (pl.col("_s") - pl.col("_e")).gather(back).cum_sum().alias(f"_open{i}"),
            pl.col("_e").gather(back).alias(f"_ended{i}"),
        )
        .drop(temps)
    )


def prune_foci(frame: pl.LazyFrame, *needs: pl.Expr) -> pl.LazyFrame:
    """The rows of ``frame`` whose focus meets every one of ``needs`` over all its rows.

    A need is a boolean aggregation over a focus's rows, e.g. ``pl.len() >= 3``. A window
    holds some of its focus's rows, so a count (or a distinct count) over all of them bounds
    the count of each of its windows: a kind whose trigger implies ``count >= n`` in a window
    keeps only the foci with at least ``n`` in all (the others, often most accounts, could
    never fire) and builds no windows for the rest. Row order is kept.
    """
    named = [need.alias(f"_need{i}") for i, need in enumerate(needs)]
    enough = (
        frame.group_by(FOCUS)
        .agg(named)
        .filter(*(pl.col(f"_need{i}") for i in range(len(named))))
        .select(FOCUS)
    )
    return frame.join(enough, on=FOCUS, how="semi", maintain_order="left")


def _names(exprs: Sequence[pl.Expr]) -> list[str]:
    return [e.meta.output_name() for e in exprs]


def rows_with_windows(frame: pl.LazyFrame, windows: pl.LazyFrame) -> pl.LazyFrame:
    """Each row of ``frame`` with the metrics of the window ending at it (joined on focus, ts)."""
    w = windows.drop(START).rename({END: "ts"})
    return frame.join(w, on=[FOCUS, "ts"], how="left", maintain_order="left")


def evidence_frame(rows: pl.LazyFrame, group_by: str, focus_role: str) -> pl.LazyFrame:
    """Evidence rows (see :mod:`.base`) from focus rows, in their order.

    One row per transfer naming the counterparty's account with its role (``sender`` or
    ``receiver``); when grouping by party, a second row names the focus's own account with
    ``focus_role`` (an account-focused alert gets its focus from the engine). Give it the
    unsorted :func:`focus_rows` (with the kind's row filters): the engine joins the evidence
    with the few periods that alert and orders what it keeps, so sorting every transfer of
    every focus for it would be wasted.
    """
    cols = (FOCUS, "ts", "tx_id", "source")
    cp = rows.select(
        *cols,
        pl.col(COUNTERPARTY_ACCOUNT).alias("account"),
        pl.col(ROLE).alias("role"),
        pl.col("amount_base").cast(pl.Float64),
    )
    if group_by == "account":
        return cp
    own = rows.select(
        *cols,
        pl.col(FOCUS_ACCOUNT).alias("account"),
        pl.lit(focus_role, dtype=pl.String).alias("role"),
        pl.col("amount_base").cast(pl.Float64),
    )
    return pl.concat([cp, own])


def empty_plan(metrics: Mapping[str, pl.DataType]) -> Plan:
    """A plan with no windows and no evidence (a kind with nothing to look at)."""
    windows = pl.LazyFrame(schema={FOCUS: pl.String(), START: UTC_TS, END: UTC_TS, **metrics})
    return Plan(windows, pl.LazyFrame(schema=EVIDENCE_SCHEMA))
