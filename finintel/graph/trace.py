"""Flow tracing: follow money from seed accounts hop by hop, time-respecting (DESIGN §5, issue #4).

Two stages. First a vectorised frontier expansion (polars, one join per hop) finds every transfer
reachable from the seeds along time-respecting paths: a hop leaves an account at or after traced
money arrived there (equal timestamps count as in order), within ``max_hop_delay`` of that arrival,
inside ``window`` from the start, up to ``max_hops``. Then, on that reduced subgraph only, an ordered
sweep over the reached accounts' ledgers computes how much of each transfer is traced money under
each policy (``poison``, ``proportional``, ``fifo``, ``lifo``). Funds already on an account before
the traced money arrived are "unknown origin": they dilute (proportional) or queue ahead (fifo) of
the traced money, and are never counted as traced. Backward runs the same expansion on the
time-reversed graph, then hands each traced payment back to the inflows it drew on. See
docs/tracing.md for the exact semantics.

>>> import polars as pl
>>> from datetime import datetime, UTC
>>> t = pl.DataFrame({
...     "tx_id": ["1", "2"], "src_account": ["A", "B"], "dst_account": ["B", "C"],
...     "ts": [datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC)],
...     "amount_base": [100.0, 60.0]})
>>> f = trace(t, ["A"], policy="fifo")
>>> f.endpoints.select("account", "traced_amount").rows()
[('B', 40.0), ('C', 60.0)]
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import polars as pl

from finintel.errors import Location, UsageError, did_you_mean
from finintel.graph.policies import SourcedPool, SourcedQueue, TracedPool, TracedQueue

__all__ = ["DEFAULT_MAX_DEGREE", "POLICIES", "Flows", "TraceError", "trace"]

POLICIES: tuple[str, ...] = ("poison", "proportional", "fifo", "lifo")
#: Accounts with more transfers (in + out) are hubs a trace does not go through (clearing
#: accounts, payment processors): replaying their ledgers would swamp the trace.
DEFAULT_MAX_DEGREE = 10_000
_EPS = 1e-9
_US = 1_000_000

Direction = Literal["forward", "backward"]


class TraceError(UsageError):
    """Bad tracing parameters or seeds (codes FI080–FI085)."""


def _err(code: str, message: str, param: str) -> TraceError:
    """A parameter error; only a missing transfer column has a location (that column)."""
    return TraceError(code, message, Location(column=param) if code == "FI084" else None)


# ---------------------------------------------------------------- result


@dataclass
class Flows:
    """The result of :func:`trace`: traced transfers, endpoints and the run's parameters."""

    flows: pl.DataFrame
    endpoints: pl.DataFrame
    seeds: list[str]
    seed_accounts: list[str]
    parameters: dict[str, Any]
    policies: list[str]
    conservation: dict[str, dict[str, Any]] = field(default_factory=dict)
    unknown_seeds: list[str] = field(default_factory=list)
    skipped_accounts: list[dict[str, Any]] = field(default_factory=list)

    def totals(self) -> dict[str, dict[str, float]]:
        """Per policy: money leaving the seeds (hop 1), money moved in all hops, and ended."""
        out: dict[str, dict[str, float]] = {}
        for p in self.policies:
            fl = self.flows.filter(pl.col("policy") == p)
            ep = self.endpoints.filter(pl.col("policy") == p)
            out[p] = {
                "seeded": _r(fl.filter(pl.col("hop") == 1)["traced_amount"].sum()),
                "moved": _r(fl["traced_amount"].sum()),
                "ended": _r(ep["traced_amount"].sum()),
            }
        return out

    def summary(self) -> dict[str, Any]:
        """Counts, totals per policy and the conservation check, as plain JSON-able data."""
        return {
            "seeds": self.seeds,
            "seed_accounts": self.seed_accounts,
            "unknown_seeds": self.unknown_seeds,
            "skipped_accounts": self.skipped_accounts,
            "parameters": self.parameters,
            "policies": self.policies,
            "counts": {
                "flows": self.flows.height,
                "transfers": self.flows["tx_id"].n_unique() if self.flows.height else 0,
                "endpoints": self.endpoints["account"].n_unique() if self.endpoints.height else 0,
                "max_hop": int(self.flows["hop"].max() or 0) if self.flows.height else 0,  # type: ignore[arg-type]
            },
            "totals": self.totals(),
            "conservation": self.conservation,
        }

    def to_dict(self) -> dict[str, Any]:
        """The summary plus both tables as lists of rows (timestamps as ISO strings)."""
        d = self.summary()
        d["flows"] = _rows(self.flows)
        d["endpoints"] = _rows(self.endpoints)
        return d

    def write(self, out_dir: str | Path) -> dict[str, str]:
        """Write ``flows.parquet``, ``endpoints.parquet`` and ``report.json``; replace atomically."""
        from finintel.atomic import atomic_dir

        target = Path(out_dir)
        with atomic_dir(target) as tmp:
            self.flows.write_parquet(tmp / "flows.parquet", statistics=False)
            self.endpoints.write_parquet(tmp / "endpoints.parquet", statistics=False)
            text = json.dumps(self.summary(), indent=2, sort_keys=True, ensure_ascii=False)
            (tmp / "report.json").write_text(text + "\n", encoding="utf-8")
        return {n: str(target / n) for n in ("flows.parquet", "endpoints.parquet", "report.json")}


def _r(x: Any) -> float:
    return round(float(x or 0.0), 6)


def _rows(df: pl.DataFrame) -> list[dict[str, Any]]:
    conv = df.with_columns(pl.col(pl.Datetime).dt.to_string("%Y-%m-%dT%H:%M:%S%.fZ"))
    return conv.to_dicts()


# ---------------------------------------------------------------- parameters


def _duration(value: str | timedelta, param: str) -> int:
    from finintel.yamlpos import format_duration, parse_duration

    if isinstance(value, timedelta):
        delta = value
    else:
        try:
            delta = parse_duration(str(value))
        except ValueError:
            raise _err(
                "FI082", f"{param} expects a duration like '7d' or '36h', got {value!r}", param
            ) from None
    if delta < timedelta(0):
        raise _err("FI082", f"{param} must not be negative, got {format_duration(delta)}", param)
    return int(delta / timedelta(microseconds=1))


def _policies(policy: str | Sequence[str] | None) -> list[str]:
    names = (
        list(POLICIES) if policy is None else [policy] if isinstance(policy, str) else list(policy)
    )
    if not names:
        raise _err("FI080", "policy list is empty; choose from " + ", ".join(POLICIES), "policy")
    for n in names:
        if n not in POLICIES:
            hint = did_you_mean(n, POLICIES)
            raise _err(
                "FI080", f"unknown policy {n!r}{hint}; known: {', '.join(POLICIES)}", "policy"
            )
    return [p for p in POLICIES if p in names]


def _start_us(start: datetime | str | None) -> int | None:
    if start is None:
        return None
    if isinstance(start, str):
        try:
            start = datetime.fromisoformat(start.replace("Z", "+00:00"))
        except ValueError:
            raise _err("FI085", f"start expects an ISO timestamp, got {start!r}", "start") from None
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    return int((start - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(microseconds=1))


def _edges(data: Any) -> pl.DataFrame:
    """Transfers as an edge table: eid, tx_id, source, src, dst, t (µs), amount, parties."""
    return _index(edge_frame(data).collect())


def _index(edges: pl.DataFrame) -> pl.DataFrame:
    """The edges in trace order, numbered (``eid``)."""
    return (
        edges.sort("t", "source", "tx_id", "src", "dst", "amount")
        .with_row_index("eid")
        .with_columns(pl.col("eid").cast(pl.Int64))
    )


def edge_frame(data: Any) -> pl.LazyFrame:
    """The transfers a trace reads (a Dataset, a DataFrame or a LazyFrame) as unnumbered edges:
    tx_id, source, src, dst, ts, amount, src_party, dst_party, t (µs); no self-transfer, no
    missing account, amounts > 0."""
    if hasattr(data, "transfers"):
        data = data.transfers
    if isinstance(data, pl.DataFrame):
        data = data.lazy()
    if not isinstance(data, pl.LazyFrame):
        raise _err("FI084", "trace expects a Dataset, a DataFrame or a LazyFrame", "dataset")
    names = data.collect_schema().names()
    missing = [c for c in ("tx_id", "ts", "src_account", "dst_account") if c not in names]
    if "amount_base" not in names and "amount" not in names:
        missing.append("amount_base")
    if missing:
        hint = "".join(did_you_mean(m, names) for m in missing[:1])
        raise _err(
            "FI084",
            f"transfers lack column(s) {', '.join(missing)}{hint}; found {', '.join(names)}",
            missing[0],
        )
    amount = "amount_base" if "amount_base" in names else "amount"
    opt = {
        c: (pl.col(c).cast(pl.String) if c in names else pl.lit(None, pl.String))
        for c in ("src_party", "dst_party")
    }
    src = pl.col("source").cast(pl.String).fill_null("") if "source" in names else pl.lit("")
    return (
        data.select(
            pl.col("tx_id").cast(pl.String),
            src.alias("source"),
            pl.col("src_account").cast(pl.String).alias("src"),
            pl.col("dst_account").cast(pl.String).alias("dst"),
            pl.col("ts").cast(pl.Datetime("us", "UTC")).alias("ts"),
            pl.col(amount).cast(pl.Float64).alias("amount"),
            *(e.alias(c) for c, e in opt.items()),
        )
        .filter(
            pl.col("amount") > 0,
            pl.col("src").is_not_null(),
            pl.col("dst").is_not_null(),
            pl.col("src") != pl.col("dst"),  # a transfer to itself moves no money
        )
        .with_columns(pl.col("ts").dt.epoch("us").alias("t"))
    )


def _seed_accounts(edges: pl.DataFrame, seeds: list[str], kind: str) -> tuple[list[str], list[str]]:
    if kind == "account":
        hits = edges.filter(pl.col("src").is_in(seeds) | pl.col("dst").is_in(seeds))
        present = set(hits["src"].to_list()) | set(hits["dst"].to_list())
        accounts = sorted(s for s in set(seeds) if s in present)
        unknown = sorted(s for s in set(seeds) if s not in present)
    else:  # party
        frm = edges.filter(pl.col("src_party").is_in(seeds)).select("src_party", acct="src")
        to = edges.filter(pl.col("dst_party").is_in(seeds)).select("dst_party", acct="dst")
        found = set(frm["src_party"].to_list()) | set(to["dst_party"].to_list())
        accounts = sorted(set(frm["acct"].to_list()) | set(to["acct"].to_list()))
        unknown = sorted(set(seeds) - found)
    _found(accounts, seeds, kind)
    return accounts, unknown


def _found(accounts: list[str], seeds: list[str], kind: str) -> None:
    if not accounts:
        raise _err("FI083", f"no seed {kind} found in the transfers: {', '.join(seeds)}", "seeds")


# ---------------------------------------------------------------- stage 1: frontier


def _degrees(edges: pl.DataFrame) -> pl.DataFrame:
    """Each account's transfers in + out (``account``, ``degree``)."""
    return (
        pl.concat([edges.select(account="src"), edges.select(account="dst")])
        .group_by("account")
        .agg(degree=pl.len().cast(pl.Int64))
    )


def _hubs(
    degree: pl.DataFrame, seeds: list[str], max_degree: int | None, exclude: list[str]
) -> pl.DataFrame:
    """The accounts a trace does not go through (``account``, ``degree``, ``reason``): over
    ``max_degree`` transfers in + out in the input (``max_degree``), or listed in ``exclude``;
    never a seed. ``degree`` (:func:`_degrees`) may omit every other account."""
    listed = pl.col("account").is_in(exclude)
    over = pl.col("degree") > max_degree if max_degree is not None else pl.lit(False)
    return (
        degree.filter((listed | over) & ~pl.col("account").is_in(seeds))
        .with_columns(
            reason=pl.when(listed).then(pl.lit("exclude")).otherwise(pl.lit("max_degree"))
        )
        .sort("account")
    )


def _expand(
    edges: pl.DataFrame,
    seeds: list[str],
    t0: int,
    t_end: int,
    max_hops: int,
    delay: int,
    min_amount: float,
    stops: list[str],
) -> pl.DataFrame:
    """Every transfer reachable from the seeds by a time-respecting path, with its hop (≥ 1).
    Money reaching a seed or an account of ``stops`` (hubs) is not followed further."""
    usable = edges.lazy().filter(
        pl.col("t") >= t0, pl.col("t") <= t_end, pl.col("amount") >= min_amount
    )
    seed_set = list(seeds)
    first = (
        usable.filter(pl.col("src").is_in(seed_set), ~pl.col("dst").is_in(seed_set))
        .select("eid", "dst", "t", hop=pl.lit(1, pl.Int32))
        .collect()
    )
    reached = [first]
    visited = first.select("eid")
    new = first
    for hop in range(2, max_hops + 1):
        arrivals = new.filter(~pl.col("dst").is_in(seed_set + stops)).select(acct="dst", r="t")
        if arrivals.height == 0:
            break
        # Merge each account's [arrival, arrival + delay] ranges into disjoint intervals, so a
        # backward as-of join finds the one interval a candidate outflow may fall into.
        intervals = (
            arrivals.lazy()
            .unique()
            .sort("acct", "r")
            .with_columns(end=pl.col("r") + delay)
            .with_columns(prev=pl.col("end").cum_max().shift(1).over("acct"))
            .with_columns(grp=(pl.col("prev").is_null() | (pl.col("r") > pl.col("prev"))).cum_sum())
            .group_by("acct", "grp")
            .agg(start=pl.col("r").min(), end=pl.col("end").max())
            .select("acct", "start", "end")
            .sort("start")
        )
        cand = (
            usable.join(arrivals.lazy().select(src="acct").unique(), on="src", how="semi")
            .join(visited.lazy(), on="eid", how="anti")
            .select("eid", "src", "dst", "t")
            .sort("t")
        )
        new = (
            cand.join_asof(
                intervals,
                left_on="t",
                right_on="start",
                by_left="src",
                by_right="acct",
                check_sortedness=False,
            )
            .filter(pl.col("end").is_not_null(), pl.col("t") <= pl.col("end"))
            .select("eid", "dst", "t", hop=pl.lit(hop, pl.Int32))
            .collect()
        )
        if new.height == 0:
            break
        reached.append(new)
        visited = pl.concat([visited, new.select("eid")])
    return pl.concat(reached).select("eid", "hop")


# ---------------------------------------------------------------- stage 2: ledgers and policies


def _ledgers(
    edges: pl.DataFrame,
    reached: pl.DataFrame,
    seeds: list[str],
    t_end: int,
    delay: int,
    lookback: int,
) -> tuple[pl.DataFrame, dict[str, float]]:
    """The ledger events of the reached accounts, and each account's opening unknown balance.

    An account's ledger runs from its first traced arrival to its last traced arrival plus
    ``max_hop_delay`` (no traced outflow can follow later). Movements in the ``lookback`` before
    the first arrival are folded into one opening lot of unknown-origin money: the running
    balance reflected at zero (an outflow larger than what was seen drew on unseen funds).
    """
    r = edges.join(reached, on="eid")
    seed_set = list(seeds)
    span = (
        r.filter(~pl.col("dst").is_in(seed_set))
        .group_by(acct="dst")
        .agg(first=pl.col("t").min(), last=(pl.col("t").max() + delay).clip(upper_bound=t_end))
    )
    ev = edges.select("eid", "src", "dst", "t", "amount")
    outs = ev.join(span, left_on="src", right_on="acct").select(
        "eid", "t", "first", "last", acct="src", delta=-pl.col("amount")
    )
    ins = ev.join(span, left_on="dst", right_on="acct").select(
        "eid", "t", "first", "last", acct="dst", delta=pl.col("amount")
    )
    both = pl.concat([outs, ins]).filter(
        pl.col("t") >= pl.col("first") - lookback, pl.col("t") <= pl.col("last")
    )
    pre = both.filter(pl.col("t") < pl.col("first"))
    opening = (
        pre.sort("acct", "t", "delta", "eid", descending=[False, False, True, False])
        .with_columns(s=pl.col("delta").cum_sum().over("acct"))
        .group_by("acct")
        .agg(bal=pl.col("s").last() - pl.col("s").min().clip(upper_bound=0.0))
    )
    body = both.filter(pl.col("t") >= pl.col("first")).select("eid", "acct", "delta")
    return body, dict(zip(opening["acct"].to_list(), opening["bal"].to_list(), strict=True))


# ---------------------------------------------------------------- the API


def trace(
    dataset_or_transfers: Any,
    seeds: str | Iterable[str],
    direction: Direction = "forward",
    max_hops: int = 4,
    window: str | timedelta = "30d",
    policy: str | Sequence[str] | None = None,
    max_hop_delay: str | timedelta = "7d",
    min_amount: float = 0.0,
    seed_kind: Literal["account", "party"] = "account",
    start: datetime | str | None = None,
    lookback: str | timedelta | None = None,
    max_degree: int | None = DEFAULT_MAX_DEGREE,
    exclude: Iterable[str] = (),
    engine: str = "polars",
    spark_master: str | None = None,
) -> Flows:
    """Trace money from ``seeds`` forward (where did it go) or backward (where did it come from).

    ``policy`` is one name, a list, or ``None`` for all four (poison, proportional, fifo, lifo).
    ``lookback`` (default ``max_hop_delay``) is how far before the traced money arrived an
    account's earlier movements are read to size its pool of unknown-origin funds.
    Hubs — accounts with more than ``max_degree`` transfers (in + out) in the input (``None``: no
    cap), or listed in ``exclude`` — are not traced through: money reaching them ends there, and
    the ones the trace reached are listed in :attr:`Flows.skipped_accounts`. Seeds are never hubs.
    ``engine="spark"`` (``spark_master``, e.g. ``local[4]``) expands the frontier on Apache Spark
    and traces the reduced transfers here: the same result (see docs/spark.md).
    """
    seed_list = [seeds] if isinstance(seeds, str) else [str(s) for s in seeds]
    if not seed_list:
        raise _err("FI083", "at least one seed is needed", "seeds")
    if direction not in ("forward", "backward"):
        raise _err(
            "FI081", f"direction expects 'forward' or 'backward', got {direction!r}", "direction"
        )
    if seed_kind not in ("account", "party"):
        raise _err(
            "FI081", f"seed_kind expects 'account' or 'party', got {seed_kind!r}", "seed_kind"
        )
    if not isinstance(max_hops, int) or max_hops < 1:
        raise _err("FI085", f"max_hops must be a whole number ≥ 1, got {max_hops!r}", "max_hops")
    if not math.isfinite(min_amount) or min_amount < 0:
        raise _err("FI085", f"min_amount must be ≥ 0, got {min_amount!r}", "min_amount")
    if max_degree is not None and (not isinstance(max_degree, int) or max_degree < 1):
        raise _err(
            "FI085", f"max_degree must be a whole number ≥ 1, got {max_degree!r}", "max_degree"
        )
    excluded = sorted({str(a) for a in ([exclude] if isinstance(exclude, str) else exclude)})
    pols = _policies(policy)
    win = _duration(window, "window")
    delay = _duration(max_hop_delay, "max_hop_delay")
    look = delay if lookback is None else _duration(lookback, "lookback")
    start_us = _start_us(start)

    if engine == "spark":
        from finintel.spark.trace import reduce

        part = reduce(
            dataset_or_transfers, seed_list, seed_kind, direction, max_hops, win, delay, look,
            start_us, min_amount, max_degree, excluded, spark_master,
        )  # fmt: skip
        _found(part.seed_accounts, seed_list, seed_kind)
        edges, accounts, unknown = _index(part.edges), part.seed_accounts, part.unknown_seeds
        degrees = part.degrees
    elif engine == "polars":
        edges = _edges(dataset_or_transfers)
        accounts, unknown = _seed_accounts(edges, seed_list, seed_kind)
        degrees = _degrees(edges)
    else:
        raise UsageError("FI182", f"unknown engine {engine!r} (polars or spark)")
    hubs = _hubs(degrees, accounts, max_degree, excluded)
    stops = hubs["account"].to_list()
    real = edges
    if direction == "backward":
        # Backward is forward on the time-reversed graph: edges flipped, time negated.
        edges = edges.with_columns(src=pl.col("dst"), dst=pl.col("src"), t=-pl.col("t"))
        start_us = None if start_us is None else -start_us
    seed_set = list(accounts)
    seed_out = edges.filter(pl.col("src").is_in(seed_set), ~pl.col("dst").is_in(seed_set))
    if seed_out.height == 0:  # nothing left the seeds: anchor the window on any seed movement
        seed_out = edges.filter(pl.col("src").is_in(seed_set) | pl.col("dst").is_in(seed_set))
    first_out = int(seed_out["t"].min())  # type: ignore[arg-type]
    t0 = first_out if start_us is None else start_us
    t_end = t0 + win

    reached = _expand(edges, accounts, t0, t_end, max_hops, delay, min_amount, stops)
    ends = accounts + stops  # money reaching these ends there: their ledgers are not replayed
    if direction == "forward":
        carried_df = _forward(edges, reached, ends, pols, t_end, delay, look, max_hops, min_amount)
    else:
        carried_df = _backward(real, reached, ends, pols, delay, look, max_hops, min_amount)
    # the hubs the trace reached (money arrived there and was not followed further)
    hit = edges.join(reached, on="eid").select(account="dst").unique()
    skipped = hubs.join(hit, on="account", how="semi").sort("account").to_dicts()
    flows = _flow_table(real, reached, carried_df)
    endpoints = _endpoints(flows, accounts, pols, direction)
    conservation = _conservation(flows, accounts, pols, direction)
    params: dict[str, Any] = {
        "direction": direction,
        "max_hops": max_hops,
        "window": _fmt(win),
        "max_hop_delay": _fmt(delay),
        "lookback": _fmt(look),
        "min_amount": min_amount,
        "seed_kind": seed_kind,
        "start": _iso(t0 if direction == "forward" else -t0),
        "end": _iso(t_end if direction == "forward" else -t_end),
        "max_degree": max_degree,
        "exclude": excluded,
    }
    return Flows(
        flows=flows,
        endpoints=endpoints,
        seeds=sorted(set(seed_list)),
        seed_accounts=accounts,
        parameters=params,
        policies=pols,
        conservation=conservation,
        unknown_seeds=unknown,
        skipped_accounts=skipped,
    )


def _forward(
    edges: pl.DataFrame,
    reached: pl.DataFrame,
    accounts: list[str],
    pols: list[str],
    t_end: int,
    delay: int,
    look: int,
    max_hops: int,
    min_amount: float,
) -> pl.DataFrame:
    """Traced amount of each reached transfer per policy: one time-ordered sweep per policy."""
    body, opening = _ledgers(edges, reached, accounts, t_end, delay, look)
    ev = (
        edges.join(pl.concat([reached.select("eid"), body.select("eid")]).unique(), on="eid")
        .join(reached, on="eid", how="left")
        .join(
            body.filter(pl.col("delta") < 0).select("eid", out=pl.lit(True)), on="eid", how="left"
        )
        .join(
            body.filter(pl.col("delta") > 0).select("eid", inn=pl.lit(True)), on="eid", how="left"
        )
        .with_columns(rank=pl.col("hop").fill_null(0))
        .sort("t", "rank", "source", "tx_id", "eid")
    )
    hops = dict(zip(reached["eid"].to_list(), reached["hop"].to_list(), strict=True))
    events = list(
        zip(
            ev["eid"].to_list(),
            ev["src"].to_list(),
            ev["dst"].to_list(),
            ev["amount"].to_list(),
            ev["t"].to_list(),
            ev["out"].fill_null(False).to_list(),
            ev["inn"].fill_null(False).to_list(),
            ev["hop"].is_not_null().to_list(),
            strict=True,
        )
    )
    frames = []
    for p in pols:
        carried = _sweep_with_hops(p, events, hops, opening, delay, max_hops, min_amount)
        frames.append(_carried(carried, p))
    return pl.concat(frames).filter(pl.col("traced_amount") > 0)


def _carried(carried: dict[int, float], policy: str) -> pl.DataFrame:
    return pl.DataFrame(
        {"eid": list(carried), "traced_amount": list(carried.values()), "policy": policy},
        schema={"eid": pl.Int64, "traced_amount": pl.Float64, "policy": pl.String},
    )


def _backward(
    edges: pl.DataFrame,
    reached: pl.DataFrame,
    accounts: list[str],
    pols: list[str],
    delay: int,
    look: int,
    max_hops: int,
    min_amount: float,
) -> pl.DataFrame:
    """Backward attribution: which earlier inflows funded each traced outflow, per policy.

    Each upstream account's ledger is replayed forward in time (inflows as lots, outflows
    consuming them by the policy) to know which lots every outflow drew on; then a sweep
    backward in time hands each traced outflow's amount to those lots in proportion to what it
    drew from each. Lots older than ``max_hop_delay`` or of unknown origin absorb their share.
    """
    r = edges.join(reached, on="eid")
    span = (
        r.filter(~pl.col("src").is_in(accounts))
        .group_by(acct="src")
        .agg(first=pl.col("t").min() - delay, last=pl.col("t").max())
    )
    ev = edges.select("eid", "src", "dst", "t", "amount", "source", "tx_id")
    outs = ev.join(span, left_on="src", right_on="acct").with_columns(
        acct="src", kind=pl.lit(1, pl.Int8)
    )
    ins = ev.join(span, left_on="dst", right_on="acct").with_columns(
        acct="dst", kind=pl.lit(0, pl.Int8)
    )
    both = (
        pl.concat([outs, ins])
        .filter(pl.col("t") >= pl.col("first") - look, pl.col("t") <= pl.col("last"))
        .sort("acct", "t", "kind", "source", "tx_id", "eid")
    )
    pre = both.filter(pl.col("t") < pl.col("first"))
    opening = (
        pre.with_columns(
            s=pl.when(pl.col("kind") == 0).then(pl.col("amount")).otherwise(-pl.col("amount"))
        )
        .with_columns(s=pl.col("s").cum_sum().over("acct"))
        .group_by("acct")
        .agg(bal=pl.col("s").last() - pl.col("s").min().clip(upper_bound=0.0))
    )
    open_bal = dict(zip(opening["acct"].to_list(), opening["bal"].to_list(), strict=True))
    body = both.filter(pl.col("t") >= pl.col("first"))
    rows = list(
        zip(
            body["acct"].to_list(),
            body["eid"].to_list(),
            body["kind"].to_list(),
            body["amount"].to_list(),
            body["t"].to_list(),
            strict=True,
        )
    )
    hops = dict(zip(reached["eid"].to_list(), reached["hop"].to_list(), strict=True))
    times = dict(zip(r["eid"].to_list(), r["t"].to_list(), strict=True))
    amounts = dict(zip(r["eid"].to_list(), r["amount"].to_list(), strict=True))
    order = r.sort("t", "hop", "source", "tx_id", descending=[True, False, False, False])
    sweep = order["eid"].to_list()
    frames = []
    for p in pols:
        if p == "poison":
            frames.append(_carried({e: amounts[e] for e in sweep}, p))
            continue
        comp = _compositions(p, rows, open_bal, hops, delay)
        got: dict[int, float] = {}
        carried: dict[int, float] = {}
        for e in sweep:
            hop = hops[e]
            a = amounts[e] if hop == 1 else got.get(e, 0.0)
            if a < min_amount or a <= _EPS:
                a = 0.0
            carried[e] = a
            if a == 0.0 or hop >= max_hops:
                continue
            for lot, y in comp.get(e, ()):
                if lot in hops and times[e] - times[lot] <= delay:
                    got[lot] = got.get(lot, 0.0) + a * y / amounts[e]
        frames.append(_carried(carried, p))
    return pl.concat(frames).filter(pl.col("traced_amount") > 0)


def _compositions(
    policy: str,
    rows: list[tuple[str, int, int, float, int]],
    opening: dict[str, float],
    wanted: dict[int, int],
    delay: int,
) -> dict[int, list[tuple[int, float]]]:
    """Replay each account's ledger; for each wanted outflow, the (inflow eid, amount) it drew."""
    comp: dict[int, list[tuple[int, float]]] = {}
    pool: SourcedQueue | SourcedPool = SourcedPool(delay)
    current = None
    for acct, eid, kind, amount, t in rows:
        if acct != current:
            current = acct
            pool = (
                SourcedPool(delay) if policy == "proportional" else SourcedQueue(policy == "fifo")
            )
            pool.add(opening.get(acct, 0.0), -1, 0)
        if kind == 0:
            pool.add(amount, eid if eid in wanted else -1, t)
            continue
        pieces = pool.draw(amount, t, eid in wanted)
        if pieces:
            comp[eid] = pieces
    return comp


def _sweep_with_hops(
    policy: str,
    events: list[tuple[int, str, str, float, int, bool, bool, bool]],
    hops: dict[int, int],
    opening: dict[str, float],
    delay: int,
    max_hops: int,
    min_amount: float,
) -> dict[int, float]:
    """Forward: the traced amount of each reached transfer, in one time-ordered sweep."""

    def new_pool() -> TracedQueue | TracedPool:
        if policy == "proportional":
            return TracedPool(delay, max_hops)
        return TracedQueue(policy == "fifo", delay, max_hops)

    pools: dict[str, TracedQueue | TracedPool] = {}
    for acct, bal in opening.items():
        pools[acct] = new_pool()
        pools[acct].add(bal, 0.0, 0, 0)
    carried: dict[int, float] = {}
    for eid, src, dst, amount, t, is_out, is_in, known in events:
        hop = hops.get(eid, 0)
        traced = 0.0
        if known and (hop == 1 or policy == "poison"):
            traced = amount  # a seed's outflow is all traced; poison flags whole transfers
        elif is_out and policy != "poison":
            pool = pools.get(src)
            if pool is None:
                pool = pools[src] = new_pool()
            traced = pool.draw(amount, t)
        if known:
            if traced < min_amount or traced <= _EPS:
                traced = 0.0
            carried[eid] = traced
        if is_in and policy != "poison":
            pool = pools.get(dst)
            if pool is None:
                pool = pools[dst] = new_pool()
            pool.add(amount, traced, t, hop)
    return carried


def _fmt(us: int) -> str:
    from finintel.yamlpos import format_duration

    return format_duration(timedelta(microseconds=us))


def _iso(us: int) -> str:
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)).isoformat()


def _flow_table(edges: pl.DataFrame, reached: pl.DataFrame, carried: pl.DataFrame) -> pl.DataFrame:
    fl = carried.join(reached, on="eid").join(edges, on="eid")
    order = {p: i for i, p in enumerate(POLICIES)}
    return (
        fl.with_columns(k=pl.col("policy").replace_strict(order, return_dtype=pl.Int8))
        .sort("k", "hop", "ts", "source", "tx_id")
        .select(
            "hop",
            "tx_id",
            "source",
            src_account="src",
            dst_account="dst",
            ts="ts",
            amount_base="amount",
            traced_amount="traced_amount",
            policy="policy",
        )
    )


def _per_account(flows: pl.DataFrame, seeds: list[str], direction: str) -> pl.DataFrame:
    """Per account and policy: traced received, traced passed on (in the trace's direction)."""
    into, outof = ("dst_account", "src_account")
    if direction == "backward":
        into, outof = outof, into
    rec = flows.group_by(account=into, policy="policy").agg(received=pl.col("traced_amount").sum())
    sent = flows.group_by(account=outof, policy="policy").agg(sent=pl.col("traced_amount").sum())
    return (
        rec.join(sent, on=["account", "policy"], how="full", coalesce=True)
        .fill_null(0.0)
        .with_columns(is_seed=pl.col("account").is_in(list(seeds)))
    )


def _endpoints(
    flows: pl.DataFrame, seeds: list[str], pols: list[str], direction: str
) -> pl.DataFrame:
    acc = _per_account(flows, seeds, direction).with_columns(
        traced_amount=pl.when(pl.col("is_seed") | (pl.col("policy") == "poison"))
        .then(pl.col("received"))
        .otherwise((pl.col("received") - pl.col("sent")).clip(lower_bound=0.0))
    )
    acc = acc.with_columns(
        pl.when(pl.col("traced_amount") > 1e-6).then(pl.col("traced_amount")).otherwise(0.0)
    )
    names = acc.filter(pl.col("traced_amount") > 0).select("account").unique()
    grid = names.join(pl.DataFrame({"policy": pols}), how="cross").join(
        acc.select("account", "policy", "received", "traced_amount"),
        on=["account", "policy"],
        how="left",
    )
    grid = grid.fill_null(0.0).with_columns(pl.col("traced_amount").round(6))
    lo, hi = (
        pl.col("traced_amount").min().over("account"),
        pl.col("traced_amount").max().over("account"),
    )
    order = {p: i for i, p in enumerate(POLICIES)}
    grid = grid.with_columns(lower=lo, upper=hi).with_columns(
        lower_policy=pl.col("policy")
        .filter(pl.col("traced_amount") == pl.col("lower"))
        .str.join(",")
        .over("account"),
        upper_policy=pl.col("policy")
        .filter(pl.col("traced_amount") == pl.col("upper"))
        .str.join(",")
        .over("account"),
        k=pl.col("policy").replace_strict(order, return_dtype=pl.Int8),
    )
    return grid.sort("account", "k").select(
        "account",
        "policy",
        "traced_amount",
        "received",
        "lower",
        "upper",
        "lower_policy",
        "upper_policy",
    )


def _conservation(
    flows: pl.DataFrame, seeds: list[str], pols: list[str], direction: str
) -> dict[str, dict[str, Any]]:
    """Per policy: does any non-seed account pass on more traced money than it received?"""
    acc = _per_account(flows, seeds, direction).filter(~pl.col("is_seed"))
    out: dict[str, dict[str, Any]] = {}
    for p in pols:
        a = acc.filter(pl.col("policy") == p)
        excess = float((a["sent"] - a["received"]).max() or 0.0) if a.height else 0.0  # type: ignore[arg-type]
        if p == "poison":
            out[p] = {"applies": False, "note": "poison is a taint flag, not an amount"}
        else:
            out[p] = {
                "applies": True,
                "ok": excess <= 1e-6,
                "max_excess": round(max(excess, 0.0), 6),
            }
    return out
