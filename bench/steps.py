"""The engine's own steps, each run by ``run.py`` in a fresh process (``--step NAME SIZE``).

``floor`` is S of the targets: a bare polars read of the drop's files. ``windowed`` and
``graph`` run ``finintel.detect`` with the shipped rules of that family (graph kinds are the
:class:`~finintel.typology.primitives.cycle.GraphKind` subclasses) over the canonical transfers;
``trace`` follows 100 seed accounts forward with every policy.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path
from typing import Any

from common import RULES, TreePeak, canonical_for, drop_for


def _floor(size: int) -> dict[str, Any]:
    import polars as pl

    rows = sum(pl.read_parquet(f).height for f in sorted(drop_for(size).glob("*.parquet")))
    return {"rows": rows}


def _load(size: int) -> dict[str, Any]:
    import finintel

    return {"rows": finintel.load(drop_for(size)).records.height}


def _ingest(size: int) -> dict[str, Any]:
    import finintel

    with tempfile.TemporaryDirectory() as tmp:
        summary = finintel.ingest_to_store(drop_for(size), Path(tmp) / "store")
        return {"rows": summary.totals()["rows_accepted"]}


def rules_of(family: str) -> Any:
    """The shipped rules whose kind is a graph kind (``"graph"``) or not (``"windowed"``)."""
    import finintel
    from finintel.typology.loader import registry
    from finintel.typology.primitives.cycle import GraphKind

    rules = finintel.load_rules(RULES)
    kinds = registry()
    chosen = tuple(
        r for r in rules.rules if isinstance(kinds[r.kind], GraphKind) == (family == "graph")
    )
    return dataclasses.replace(rules, rules=chosen)


def _detect(size: int, family: str) -> dict[str, Any]:
    import polars as pl

    import finintel

    rules = rules_of(family)
    frame = pl.read_parquet(canonical_for(size))
    start = time.perf_counter()
    alerts = finintel.detect(frame, rules)
    return {
        "seconds": time.perf_counter() - start,
        "rows": frame.height,
        "rules": len(rules.rules),
        "alerts": len(alerts),
    }


def seeds(frame: Any, n: int = 100) -> list[str]:
    """``n`` sending accounts spread evenly over the sorted distinct senders (deterministic)."""
    accounts = frame.get_column("src_account").drop_nulls().unique().sort()
    step = max(1, accounts.len() // n)
    return [str(a) for a in accounts.gather_every(step).head(n).to_list()]


def _trace(size: int) -> dict[str, Any]:
    import polars as pl

    import finintel

    frame = pl.read_parquet(canonical_for(size))
    chosen = seeds(frame)
    start = time.perf_counter()
    flows = finintel.trace(frame, chosen, direction="forward", max_hops=4, window="30d")
    return {
        "seconds": time.perf_counter() - start,
        "seeds": len(chosen),
        "flow_rows": flows.flows.height,
    }


def alert_ids_digest(alerts: Path) -> str:
    """SHA-256 of a run's sorted alert ids: two runs found the same alerts when equal."""
    import hashlib

    import polars as pl

    ids = pl.read_parquet(alerts, columns=["alert_id"]).get_column("alert_id").sort()
    return hashlib.sha256("\n".join(ids.to_list()).encode()).hexdigest()


def spark_shards(size: int) -> int:
    """Focus shards of the bench's Spark run: twice ``local[2]``'s cores (Spark's default),
    and more on big drops, so a shard (twice its share of the transfers: a transfer goes to
    its sender's and its receiver's shard) stays about a million rows in a Python worker."""
    return max(4, size // 500_000)


def _run(
    size: int, engine: str = "polars", store: bool = False, time_chunks: str | None = None
) -> dict[str, Any]:
    """``finintel.run`` of the drop with ``rules/``: in memory, or with a fresh ``store`` (the
    run ingests the drop into it, then detects over the stored history, read lazily, whole or
    in ``time_chunks``; Spark reads its Delta files). On Spark the session is started apart
    (``spark_session`` in the timings) and the peak memory and CPU time of its JVM and Python
    workers are sampled."""
    import finintel

    options: dict[str, Any] = {"time_chunks": time_chunks} if time_chunks else {}
    timings: dict[str, float] = {}
    if engine == "spark":
        from finintel.spark import session

        start = time.perf_counter()
        session("local[2]")  # run's "rules" timing would otherwise include the JVM's start
        timings["spark_session"] = round(time.perf_counter() - start, 3)
        options = {
            "engine": "spark",
            "spark_master": "local[2]",
            "spark_shards": spark_shards(size),
            # the shortest time chunks: on six months of history a chunk of the default four
            # 30-day lookbacks (plus the two before it) is the whole drop in one Python worker
            "spark_chunk_windows": 2,
        }
    with tempfile.TemporaryDirectory() as tmp, TreePeak() as tree:
        if store:
            options["store"] = Path(tmp) / "store"
        summary = finintel.run(drop_for(size), RULES, Path(tmp) / "out", **options)
        digest = alert_ids_digest(Path(tmp) / "out" / "alerts.parquet")
    out: dict[str, Any] = {
        "rows": summary.totals["rows_accepted"],
        "alerts": summary.alerts,
        "alert_ids_sha256": digest,
        "timings": timings | summary.timings,
    }
    if engine == "spark":
        out |= {
            "shards": options["spark_shards"],
            "chunk_windows": options["spark_chunk_windows"],
            **tree.peaks(),
        }
    return out


STEPS = {
    "floor": _floor,
    "load": _load,
    "ingest": _ingest,
    "windowed": lambda size: _detect(size, "windowed"),
    "graph": lambda size: _detect(size, "graph"),
    "trace": _trace,
    "run": _run,
    # the batch with a fresh store: ingest, then detection over the lazily read store
    "run-store": lambda size: _run(size, store=True),
    # the same detected in time chunks (one per 3M transfers): bounded memory, some overlap
    # read twice
    "run-chunks": lambda size: _run(size, store=True, time_chunks="auto"),
    # the same on Spark local[2]: its overhead on one machine (peak RSS is the driver's; the
    # JVM's and its Python workers' peaks are sampled apart)
    "run-spark": lambda size: _run(size, "spark", store=True),
}
