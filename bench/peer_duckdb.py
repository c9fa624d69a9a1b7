"""Peer 1: DuckDB SQL for three windowed typologies, on the same canonical transfers.

Both sides compute the same windows (one row per focus and window end) and write them to
``peer-duckdb-<size>/<engine>-<typology>.parquet`` in normalised form; :func:`compare` checks
that they are equal. Windows are ``(t - w, t]`` (finintel's convention): in SQL a RANGE frame
over microseconds of ``w - 1`` preceding. Amounts are compared in cents.

* ``fan_in``: distinct senders in a rolling 7 days per receiver, windows with >= 5 kept;
* ``structuring`` (split): transfers under 10,000 per sender in a rolling day, kept when
  at least 2 of them sum to 10,000 or more;
* ``pass_through``: inflows of >= 1,000 passed on (90%, at most 100%, within 24 h), their
  30-day windows. DuckDB does it the textbook way: an equality-plus-time-range join of each
  inflow to the outflows of its account in the next 24 h.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from common import CACHE, canonical_for

TYPOLOGIES = ("fan_in", "structuring", "pass_through")
DAY_US = 86_400_000_000

PARAMS: dict[str, dict[str, Any]] = {
    "fan_in": {"window": timedelta(days=7), "min_counterparties": 5, "min_countries": 0},
    "structuring": {"mode": "split", "threshold": 10_000, "min_count": 2, "window": "1d"},
    "pass_through": {
        "max_delay": "24h",
        "min_ratio": 0.9,
        "fee_tolerance": 0.1,
        "max_ratio": 1.0,
        "min_amount": 1000,
        "window": "30d",
    },
}

#: Normalised result columns per typology (compared after sorting on all of them).
COLUMNS = {
    "fan_in": ["focus", "end_us", "distinct_senders"],
    "structuring": ["focus", "end_us", "n", "sum_cents"],
    "pass_through": ["focus", "end_us", "n", "in_cents", "out_cents"],
}


def out_dir(size: int) -> Path:
    path = CACHE / f"peer-duckdb-{size}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _ours_frame(name: str, windows: Any) -> Any:
    import polars as pl

    end = pl.col("end").dt.epoch("us").alias("end_us")
    cents = lambda c: (pl.col(c) * 100).round().cast(pl.Int64)  # noqa: E731
    if name == "fan_in":
        return windows.select("focus", end, "distinct_senders")
    if name == "structuring":
        return windows.select("focus", end, pl.col("count_below").alias("n"),
                              cents("sum_amount").alias("sum_cents"))  # fmt: skip
    return windows.select("focus", end, pl.col("count").alias("n"),
                          cents("in_amount").alias("in_cents"),
                          cents("out_amount").alias("out_cents"))  # fmt: skip


def ours(size: int) -> dict[str, Any]:
    """finintel's primitives over the canonical transfers (read into memory first, as
    DuckDB's table is): seconds per typology."""
    import polars as pl

    from finintel.typology.loader import registry
    from finintel.typology.primitives.base import RunContext

    kinds = registry()
    # in memory before the clock starts, as DuckDB's table (its load is timed apart)
    frame = pl.read_parquet(canonical_for(size)).filter(pl.col("status") == "completed")
    seconds: dict[str, float] = {}
    rows: dict[str, int] = {}
    for name in TYPOLOGIES:
        start = time.perf_counter()
        prim = kinds[name]
        windows = prim.plan(frame.lazy(), PARAMS[name], RunContext()).windows
        if name != "pass_through":
            windows = windows.filter(prim.condition(PARAMS[name]))
        result = _ours_frame(name, windows).collect()
        seconds[name] = round(time.perf_counter() - start, 3)
        rows[name] = result.height
        result.write_parquet(out_dir(size) / f"ours-{name}.parquet")
    return {"seconds": sum(seconds.values()), "typologies": seconds, "result_rows": rows}


_BASE = """
CREATE TEMP TABLE t AS
SELECT tx_id, source, src_account, dst_account, epoch_us(ts) AS ts, amount_base
FROM read_parquet('{path}') WHERE status = 'completed'
"""

SQL = {
    "fan_in": f"""
SELECT focus, end_us, distinct_senders FROM (
  SELECT dst_account AS focus, ts AS end_us,
         count(DISTINCT src_account) OVER (PARTITION BY dst_account ORDER BY ts
           RANGE BETWEEN {7 * DAY_US - 1} PRECEDING AND CURRENT ROW) AS distinct_senders,
         row_number() OVER (PARTITION BY dst_account, ts) AS k
  FROM t WHERE dst_account IS NOT NULL)
WHERE k = 1 AND distinct_senders >= 5
""",
    "structuring": f"""
SELECT focus, end_us, n, sum_cents FROM (
  SELECT src_account AS focus, ts AS end_us,
         count(*) OVER w AS n, round(sum(amount_base) OVER w * 100)::BIGINT AS sum_cents,
         sum(amount_base) OVER w AS total,
         row_number() OVER (PARTITION BY src_account, ts) AS k
  FROM t WHERE src_account IS NOT NULL AND amount_base < 10000
  WINDOW w AS (PARTITION BY src_account ORDER BY ts
               RANGE BETWEEN {DAY_US - 1} PRECEDING AND CURRENT ROW))
WHERE k = 1 AND n >= 2 AND total >= 10000
""",
    "pass_through": f"""
WITH c AS (
  SELECT *, round(amount_base * 100)::BIGINT AS cents FROM t
  WHERE amount_base IS NOT NULL AND src_account IS DISTINCT FROM dst_account),
inflows AS (
  SELECT source, tx_id, dst_account AS focus, ts, cents FROM c
  WHERE dst_account IS NOT NULL AND amount_base >= 1000 AND cents > 0),
outflows AS (
  SELECT src_account AS focus, ts, sum(cents) AS cents FROM c
  WHERE src_account IS NOT NULL GROUP BY ALL),
pairs AS (
  SELECT i.source, i.tx_id, i.focus, i.ts, i.cents, o.ts AS out_ts,
         sum(o.cents) OVER (PARTITION BY i.source, i.tx_id ORDER BY o.ts) AS cum
  FROM inflows i JOIN outflows o
    ON o.focus = i.focus AND o.ts BETWEEN i.ts AND i.ts + {DAY_US}),
done AS (
  SELECT focus, ts, cents, min(out_ts) AS done_ts, arg_min(cum, out_ts) AS raw FROM pairs
  WHERE cum >= greatest(1, ceil(cents * 0.9 - 1e-6))
  GROUP BY source, tx_id, focus, ts, cents),
hits AS (
  SELECT focus, ts, cents, done_ts,
         CASE WHEN raw <= cents * 1.1 THEN raw ELSE cents END AS out_cents
  FROM done WHERE raw <= cents * 1.0)
SELECT DISTINCT focus, max(done_ts) OVER w AS end_us, count(*) OVER w AS n,
       sum(cents) OVER w AS in_cents, sum(out_cents) OVER w AS out_cents, ts
FROM hits
WINDOW w AS (PARTITION BY focus ORDER BY ts RANGE BETWEEN {30 * DAY_US - 1} PRECEDING AND CURRENT ROW)
""",
}


def duck(size: int) -> dict[str, Any]:
    """The same three typologies in DuckDB (all cores): seconds per typology."""
    import os

    import duckdb
    import polars as pl

    con = duckdb.connect()
    con.execute(f"SET threads = {os.cpu_count() or 1}")
    start = time.perf_counter()
    con.execute(_BASE.format(path=canonical_for(size)))
    load_s = time.perf_counter() - start
    seconds: dict[str, float] = {}
    rows: dict[str, int] = {}
    for name in TYPOLOGIES:
        start = time.perf_counter()
        result = pl.from_arrow(con.sql(SQL[name]).arrow())
        seconds[name] = round(time.perf_counter() - start, 3)
        assert isinstance(result, pl.DataFrame)
        result = result.select(
            pl.col(c).cast(pl.String if c == "focus" else pl.Int64) for c in COLUMNS[name]
        )
        rows[name] = result.height
        result.write_parquet(out_dir(size) / f"duckdb-{name}.parquet")
    return {
        "seconds": load_s + sum(seconds.values()),
        "load_seconds": round(load_s, 3),
        "typologies": seconds,
        "result_rows": rows,
    }


def compare(size: int) -> dict[str, bool]:
    """Per typology: are finintel's and DuckDB's windows equal (as sorted rows)?"""
    import polars as pl

    out = {}
    for name in TYPOLOGIES:
        cols = COLUMNS[name]
        a, b = (
            pl.read_parquet(out_dir(size) / f"{who}-{name}.parquet")
            .select(pl.col(c).cast(pl.String if c == "focus" else pl.Int64) for c in cols)
            .sort(cols)
            for who in ("ours", "duckdb")
        )
        out[name] = a.equals(b)
    return out
