"""``finintel.run``: the whole batch — validate rules, ingest, detect, write the outputs.

Rules are loaded and validated before any data is read. The outputs are written into a
temporary folder that replaces ``out_dir`` only when everything succeeded, so a failed run
leaves the previous output (or nothing) and never a partial one.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

import finintel
from finintel.atomic import atomic_dir
from finintel.errors import UsageError
from finintel.hashing import digest_text
from finintel.ingest.fx import DEFAULT_MAX_STALENESS

Paths = str | Path | Sequence[str | Path]


@dataclass
class RunSummary:
    """What a run read, found and wrote."""

    run_id: str
    out_dir: str
    inputs: list[dict[str, Any]]
    totals: dict[str, int]
    alerts: int
    alerts_by_typology: dict[str, int]
    outputs: list[str]
    timings: dict[str, float]
    store: str | None = None
    store_version: int | None = None
    rules: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "out_dir": self.out_dir,
            "store": self.store,
            "store_version": self.store_version,
            "inputs": self.inputs,
            "totals": self.totals,
            "alerts": self.alerts,
            "alerts_by_typology": self.alerts_by_typology,
            "outputs": self.outputs,
            "timings": self.timings,
        }


def _run_id(inputs: Iterable[dict[str, Any]], rules: Iterable[dict[str, Any]]) -> str:
    drops = sorted(str(i.get("drop_id")) for i in inputs)
    fingerprints = sorted(f"{r['id']}@{r['version']}:{r.get('fingerprint')}" for r in rules)
    return "R-" + digest_text("|".join(drops) + "#" + "|".join(fingerprints), 16)


def run(
    paths: Paths,
    rules: Any,
    out_dir: str | Path,
    *,
    store: str | Path | None = None,
    profile: str | Path | None = None,
    base_currency: str = "EUR",
    source: str | None = None,
    timezone: str | None = None,
    fx: Iterable[str | Path] | None = None,
    max_fx_staleness: timedelta = DEFAULT_MAX_STALENESS,
    profiles_dir: str | Path | None = None,
    strict: bool = False,
) -> RunSummary:
    """Ingest ``paths``, run ``rules`` (a RuleSet or rule paths), write ``out_dir``.

    Writes ``alerts.parquet``, ``quarantine.parquet`` and ``report.json`` (run metadata: inputs
    with content fingerprints, rule ids/versions/fingerprints and parameters, counts, alerts).
    With ``store``, data is ingested into (and read back from) that Delta store; without it the
    data is validated in memory.
    """
    from finintel.typology.engine import detect
    from finintel.typology.loader import RuleSet, load_rules

    timings: dict[str, float] = {}
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    ruleset = rules if isinstance(rules, RuleSet) else load_rules(rules)
    timings["rules"] = time.perf_counter() - t0
    out = Path(out_dir)
    if store is not None and Path(store).resolve().is_relative_to(out.resolve()):
        raise UsageError(
            "FI060",
            f"--store {store} must not be inside --out {out_dir} (the output folder is replaced)",
        )
    t = time.perf_counter()
    kwargs: dict[str, Any] = {
        "profile": profile,
        "base_currency": base_currency,
        "source": source,
        "timezone": timezone,
        "fx": fx,
        "max_fx_staleness": max_fx_staleness,
        "profiles_dir": profiles_dir,
        "strict": strict,
    }
    if store is not None:
        ingested = finintel.ingest_to_store(paths, store, **kwargs)
        ds = finintel.load_store(store, base_currency=ingested.base_currency)
        inputs = [f.to_dict() for f in ingested.files] + [
            {"file": s, "skipped": True} for s in ingested.skipped
        ]
        totals = ingested.totals()
        store_version: int | None = ingested.store_version
    else:
        ds = finintel.load(paths, **kwargs)
        inputs = [f.to_dict() for f in ds.files]
        totals = ds.totals()
        store_version = None
    timings["ingest"] = time.perf_counter() - t
    t = time.perf_counter()
    alerts = detect(ds, ruleset)
    timings["detect"] = time.perf_counter() - t
    run_id = _run_id(inputs, alerts.rules)
    t = time.perf_counter()
    outputs = ["alerts.parquet", "quarantine.parquet", "report.json"]
    with atomic_dir(out) as tmp:
        alerts.table.write_parquet(tmp / "alerts.parquet")
        ds.quarantine.write_parquet(tmp / "quarantine.parquet")
        timings["write"] = time.perf_counter() - t
        timings["total"] = time.perf_counter() - t0
        report = {
            "finintel": finintel.__version__,
            "run": {
                "run_id": run_id,
                "started_at": started.isoformat(),
                "finished_at": datetime.now(UTC).isoformat(),
                "timings_s": {k: round(v, 3) for k, v in timings.items()},
            },
            "parameters": {
                "base_currency": ds.base_currency,
                "max_fx_staleness_days": max_fx_staleness.days,
                "timezone": timezone,
                "profile": str(profile) if profile else None,
                "source": source,
                "strict": strict,
            },
            "store": {"path": str(store), "version": store_version} if store is not None else None,
            "inputs": inputs,
            "totals": totals,
            "rules": alerts.rules,
            "counts": {
                "transfers": ds.records.filter(pl.col("status") == "completed").height,
                "parties": ds.parties.height,
                "quarantined": ds.quarantine.height,
                "alerts": len(alerts),
                "alerts_by_typology": alerts.counts(),
            },
            "alerts": alerts.table.to_dicts(),
        }
        (tmp / "report.json").write_text(
            json.dumps(report, indent=2, default=str, ensure_ascii=False) + "\n"
        )
    return RunSummary(
        run_id=run_id,
        out_dir=str(out),
        inputs=inputs,
        totals=totals,
        alerts=len(alerts),
        alerts_by_typology=alerts.counts(),
        outputs=[str(out / o) for o in outputs],
        timings={k: round(v, 3) for k, v in timings.items()},
        store=str(store) if store is not None else None,
        store_version=store_version,
        rules=alerts.rules,
    )
