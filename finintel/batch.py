"""``finintel.run``: the whole batch — validate rules, ingest, detect, write the outputs.

Rules are loaded and validated before any data is read. The outputs are written into a
temporary folder that replaces ``out_dir`` only when everything succeeded, so a failed run
leaves the previous output (or nothing) and never a partial one.

With a store (``store=``) a run is the cron job's unit of work: it holds the store's lock (a
second run fails at once with exit code 4), ingests only the files not yet in the store,
detects over the whole stored history (so patterns spanning drops and changed rules are
always evaluated in full), records itself in the store's run history, and keeps the current
alert set in the store. ``incremental=True`` then writes to ``out_dir`` only the alerts that are
new or updated since the previous run (``status`` column). ``as_of`` reruns against an earlier
store version: exactly the data a past report read.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

import finintel
from finintel.atomic import atomic_dir
from finintel.errors import FinintelError, UsageError
from finintel.hashing import digest_text
from finintel.ingest.fx import DEFAULT_MAX_STALENESS

Paths = str | Path | Sequence[str | Path]
log = logging.getLogger("finintel.run")

#: Alert columns whose change makes an alert "updated" in an incremental run.
CHANGE_COLUMNS = ("last_ts", "n_transfers", "amount_base", "score", "metrics", "rule_version")


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
    new_alerts: int = 0
    updated_alerts: int = 0
    skipped: list[str] = field(default_factory=list)
    deferred: list[dict[str, str]] = field(default_factory=list)
    highlights: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "out_dir": self.out_dir,
            "store": self.store,
            "store_version": self.store_version,
            "inputs": self.inputs,
            "skipped": self.skipped,
            "deferred": self.deferred,
            "totals": self.totals,
            "alerts": self.alerts,
            "new_alerts": self.new_alerts,
            "updated_alerts": self.updated_alerts,
            "alerts_by_typology": self.alerts_by_typology,
            "highlights": self.highlights,
            "outputs": self.outputs,
            "timings": self.timings,
        }


def _run_id(
    inputs: Iterable[dict[str, Any]], rules: Iterable[dict[str, Any]], version: int | None
) -> str:
    drops = sorted(str(i.get("drop_id")) for i in inputs)
    fingerprints = sorted(f"{r['id']}@{r['version']}:{r.get('fingerprint')}" for r in rules)
    key = "|".join(drops) + "#" + "|".join(fingerprints) + f"#{version}"
    return "R-" + digest_text(key, 16)


def alert_changes(current: pl.DataFrame, previous: pl.DataFrame) -> pl.DataFrame:
    """``current`` with a ``status`` column: ``new``, ``updated`` or ``unchanged`` vs ``previous``.

    Alert ids are stable (rule, focus, period start), so an alert that grew keeps its id and is
    ``updated``; an alert whose id was never seen is ``new``.
    """
    if previous.is_empty():
        return current.with_columns(pl.lit("new").alias("status"))
    prev = previous.select("alert_id", *[pl.col(c).alias(f"_prev_{c}") for c in CHANGE_COLUMNS])
    joined = current.join(prev, on="alert_id", how="left", maintain_order="left")
    changed = pl.any_horizontal(
        [pl.col(c).ne_missing(pl.col(f"_prev_{c}")) for c in CHANGE_COLUMNS]
    )
    status = (
        pl.when(pl.col("_prev_last_ts").is_null() & pl.col("_prev_n_transfers").is_null())
        .then(pl.lit("new"))
        .when(changed)
        .then(pl.lit("updated"))
        .otherwise(pl.lit("unchanged"))
    )
    return joined.with_columns(status.alias("status")).drop([f"_prev_{c}" for c in CHANGE_COLUMNS])


def run(
    paths: Paths,
    rules: Any,
    out_dir: str | Path,
    *,
    store: str | Path | None = None,
    incremental: bool = False,
    as_of: int | None = None,
    profile: str | Path | None = None,
    base_currency: str = "EUR",
    source: str | None = None,
    timezone: str | None = None,
    fx: Iterable[str | Path] | None = None,
    max_fx_staleness: timedelta = DEFAULT_MAX_STALENESS,
    profiles_dir: str | Path | None = None,
    strict: bool = False,
    progress: Callable[[int, int, str], None] | None = None,
    formats: str | Sequence[str] = ("json", "parquet", "html"),
    sources: str | Path | None = None,
    exclude_handling: Sequence[str] = (),
    pseudonymise: str | Path | None = None,
    run_id: str | None = None,
    deterministic: bool = False,
    decisions: str | Path | None = None,
    engine: str = "polars",
    spark_master: str | None = None,
    spark_shards: int | None = None,
    spark_chunk_windows: int | None = None,
    spark_time_buckets: int | None = None,
    time_chunks: int | str | None = None,
) -> RunSummary:
    """Ingest ``paths``, run ``rules`` (a RuleSet or rule paths), write ``out_dir``.

    Writes ``alerts.parquet``, ``quarantine.parquet`` and ``report.json`` (run metadata: inputs
    with content fingerprints, rule ids/versions/fingerprints and parameters, counts, alerts).
    With ``store``, data is ingested into (and read back from) that Delta store under its lock;
    without it the data is validated in memory. See the module docstring for ``incremental`` and
    ``as_of``. The link report (entities, links, networks, scores) is written in ``formats``
    (json and parquet always); ``sources`` (a source manifest), ``exclude_handling`` and
    ``pseudonymise`` (a key file) are checked before any data is read. ``run_id`` names the run
    (default: a hash of the inputs and rules); ``deterministic`` leaves the run's times and
    durations out of report.json, so a rerun on the same input writes identical files.
    When a rule groups by ``entity``, a watchlist has ``resolve: true`` or a ``decisions`` file is
    given, the parties are resolved once (:func:`finintel.resolve`, honouring the analyst
    ``decisions`` file) before detection (on either engine); the report's persons then come from that resolution
    (else from the report's parties, see :mod:`finintel.persons`).
    ``engine="spark"`` detects on Apache Spark (``spark_master``, ``spark_shards`` focus
    shards, ``spark_chunk_windows`` lookbacks per time chunk, ``spark_time_buckets`` time
    buckets per focus shard; see ``docs/spark.md``): the same
    alerts as the default local ``polars`` engine. ``time_chunks`` (local engine: an int ≥ 1
    or ``"auto"``) detects the history in that many time chunks, one after the other, in
    bounded memory (:mod:`finintel.typology.chunked`; the same alerts).
    """
    from finintel.link import check_exclusions
    from finintel.provenance import load_sources
    from finintel.pseudonym import load_key
    from finintel.report import parse_formats
    from finintel.typology.loader import RuleSet, load_rules

    t0 = time.perf_counter()
    ruleset = rules if isinstance(rules, RuleSet) else load_rules(rules)
    manifest = load_sources(sources) if sources is not None else None
    report_opts: dict[str, Any] = {
        "formats": tuple(dict.fromkeys(("json", "parquet", *parse_formats(formats)))),
        "sources": manifest,
        "exclude_handling": check_exclusions(exclude_handling, manifest),
        "pseudonymise": load_key(pseudonymise) if pseudonymise is not None else None,
        "run_id": run_id,
        "deterministic": deterministic,
        "decisions": decisions,
    }
    report_opts["engine"] = _engine(
        engine, spark_master, spark_shards, spark_chunk_windows, spark_time_buckets
    )
    report_opts["time_chunks"] = _time_chunks(time_chunks, engine)
    rules_s = time.perf_counter() - t0
    out = Path(out_dir)
    if store is None and (incremental or as_of is not None):
        raise UsageError(
            "FI061", "--incremental and --as-of need --store (the history lives there)"
        )
    if store is not None and Path(store).resolve().is_relative_to(out.resolve()):
        raise UsageError(
            "FI060",
            f"--store {store} must not be inside --out {out_dir} (the output folder is replaced)",
        )
    options: dict[str, Any] = {
        "progress": progress,
        "profile": profile,
        "base_currency": base_currency,
        "source": source,
        "timezone": timezone,
        "fx": fx,
        "max_fx_staleness": max_fx_staleness,
        "profiles_dir": profiles_dir,
        "strict": strict,
    }
    if store is None:
        return _run(paths, ruleset, out, None, incremental, as_of, options, rules_s, report_opts)
    from finintel.store import Store

    st = Store(store)
    with st.lock():
        started = datetime.now(UTC)
        try:
            summary = _run(
                paths, ruleset, out, st, incremental, as_of, options, rules_s, report_opts
            )
        except FinintelError as err:
            st.record_run(
                {
                    "run_id": "R-failed-" + digest_text(started.isoformat(), 8),
                    "started_at": started,
                    "finished_at": datetime.now(UTC),
                    "outcome": f"failed: {err.code} {err.message}"[:500],
                    "inputs": [str(p) for p in _as_list(paths)],
                    "counts": "{}",
                    "store_version": st.version(),
                }
            )
            raise
        st.record_run(
            {
                "run_id": summary.run_id,
                "started_at": started,
                "finished_at": datetime.now(UTC),
                "outcome": "ok",
                "inputs": [str(i.get("file")) for i in summary.inputs],
                "counts": json.dumps(
                    {
                        "totals": summary.totals,
                        "alerts": summary.alerts,
                        "new_alerts": summary.new_alerts,
                        "updated_alerts": summary.updated_alerts,
                        "rules": {r["id"]: r.get("fingerprint") for r in summary.rules},
                    },
                    sort_keys=True,
                ),
                "store_version": summary.store_version,
            }
        )
        return summary


def _as_list(paths: Paths) -> list[str | Path]:
    return [paths] if isinstance(paths, str | Path) else list(paths)


def _run(
    paths: Paths,
    ruleset: Any,
    out: Path,
    st: Any,
    incremental: bool,
    as_of: int | None,
    options: dict[str, Any],
    rules_s: float,
    report_opts: dict[str, Any],
) -> RunSummary:
    from finintel.link import link
    from finintel.typology.engine import Alerts, detect, needs_entities

    timings: dict[str, float] = {"rules": rules_s}
    started = datetime.now(UTC)
    t0 = time.perf_counter() - rules_s
    t = time.perf_counter()
    skipped: list[str] = []
    deferred: list[dict[str, str]] = []
    if st is not None:
        if as_of is None:
            ingested = finintel.ingest_to_store(
                paths, st.path, skip_unreadable=incremental, **options
            )
            inputs = [f.to_dict() for f in ingested.files]
            skipped = list(ingested.skipped)
            deferred = list(ingested.deferred)
            totals = ingested.totals()
        else:
            inputs, totals = [], {}
        ds = finintel.load_store(st.path, as_of=as_of, base_currency=options["base_currency"])
        store_version: int | None = ds.store_version
    else:
        ds = finintel.load(paths, **{k: v for k, v in options.items() if k != "progress"})
        inputs = [f.to_dict() for f in ds.files]
        totals = ds.totals()
        store_version = None
    timings["ingest"] = time.perf_counter() - t
    entities = None
    if needs_entities(ruleset) or report_opts["decisions"] is not None:
        t = time.perf_counter()
        from finintel.resolve import account_holders

        entities = finintel.resolve(
            ds.parties, report_opts["decisions"], accounts=account_holders(ds.transfers)
        )
        timings["resolve"] = time.perf_counter() - t
    t = time.perf_counter()
    if report_opts["engine"] is None:
        alerts = detect(
            ds,
            ruleset,
            progress=options["progress"],
            entities=entities,
            time_chunks=report_opts["time_chunks"],
        )
    else:
        alerts = _spark_detect(ds, ruleset, st, as_of, report_opts["engine"], entities)
    timings["detect"] = time.perf_counter() - t
    table = alerts.table
    new = updated = 0
    if st is not None:
        changes = alert_changes(
            table, st.alerts() if as_of is None else pl.DataFrame(schema=table.schema)
        )
        new = changes.filter(pl.col("status") == "new").height
        updated = changes.filter(pl.col("status") == "updated").height
        if incremental:
            table = changes.filter(pl.col("status") != "unchanged")
    run_id = report_opts["run_id"] or _run_id(
        [{"drop_id": d} for d in _store_drop_ids(st)] if st is not None else inputs,
        alerts.rules,
        store_version,
    )
    t = time.perf_counter()
    with atomic_dir(out) as tmp:
        if report_opts["pseudonymise"] is None:  # raw rejected rows never go out pseudonymised
            ds.quarantine.write_parquet(tmp / "quarantine.parquet")
        meta = {
            "finintel": finintel.__version__,
            "run": {
                "run_id": run_id,
                "started_at": None if report_opts["deterministic"] else started.isoformat(),
                "finished_at": None
                if report_opts["deterministic"]
                else datetime.now(UTC).isoformat(),
                "timings_s": None
                if report_opts["deterministic"]
                else {k: round(v, 3) for k, v in timings.items()},
                "incremental": incremental,
            },
            "parameters": {
                "base_currency": ds.base_currency,
                "max_fx_staleness_days": options["max_fx_staleness"].days,
                "timezone": options["timezone"],
                "profile": str(options["profile"]) if options["profile"] else None,
                "source": options["source"],
                "strict": options["strict"],
            },
            "store": {"path": str(st.path), "version": store_version, "as_of": as_of}
            if st is not None
            else None,
            "inputs": inputs,
            "skipped": skipped,
            "deferred": deferred,
            "totals": totals,
            "rules": alerts.rules,
            "counts": {
                "transfers": ds.count_transfers(),
                "parties": ds.count_parties(),
                "quarantined": ds.quarantine.height,
                "alerts": len(alerts),
                "new_alerts": new,
                "updated_alerts": updated,
                "alerts_by_typology": alerts.counts(),
            },
        }
        report = link(
            Alerts(table, alerts.rules, alerts.base_currency),
            dataset=ds,
            sources=report_opts["sources"],
            exclude_handling=report_opts["exclude_handling"],
            pseudonymise=report_opts["pseudonymise"],
            meta=meta,
            resolved=entities,
        )
        report.write(tmp, report_opts["formats"])
        highlights = _highlights(report)
        timings["write"] = time.perf_counter() - t
        timings["total"] = time.perf_counter() - t0
        outputs = sorted(p.name for p in tmp.iterdir())
    if st is not None and as_of is None:
        st.replace_alerts(alerts.table)
    log.info(
        "run %s: %d alerts (%d new, %d updated) in %.1fs",
        run_id, len(alerts), new, updated, timings["total"],
        extra={"event": "run.done", "run_id": run_id, "timings": timings,
               "counts": {"alerts": len(alerts), "new": new, "updated": updated}},
    )  # fmt: skip
    return RunSummary(
        run_id=run_id,
        out_dir=str(out),
        inputs=inputs,
        totals=totals,
        alerts=len(alerts),
        alerts_by_typology=alerts.counts(),
        outputs=[str(out / o) for o in outputs],
        timings={k: round(v, 3) for k, v in timings.items()},
        store=str(st.path) if st is not None else None,
        store_version=store_version,
        rules=alerts.rules,
        new_alerts=new,
        updated_alerts=updated,
        skipped=skipped,
        deferred=deferred,
        highlights=highlights,
    )


def _engine(
    engine: str,
    master: str | None,
    shards: int | None,
    chunk_windows: int | None,
    time_buckets: int | None = None,
) -> dict[str, Any] | None:
    """The Spark options (and session: fails now when pyspark or Java is missing); None for
    the local engine."""
    if engine not in ("polars", "spark"):
        raise UsageError("FI182", f"unknown engine {engine!r} (polars or spark)")
    if engine == "polars":
        if any(v is not None for v in (master, shards, chunk_windows, time_buckets)):
            raise UsageError("FI182", "the --spark-* options need --engine spark")
        return None
    from finintel.spark import DEFAULT_CHUNK_WINDOWS, session

    return {
        "spark": session(master, shards),
        "shards": shards,
        "chunk_windows": DEFAULT_CHUNK_WINDOWS if chunk_windows is None else chunk_windows,
        "time_buckets": 1 if time_buckets is None else time_buckets,
    }


def _time_chunks(value: int | str | None, engine: str) -> int | str | None:
    """The checked ``time_chunks`` (local engine only; Spark has its own time buckets)."""
    from finintel.typology.chunked import time_chunks_option

    checked = time_chunks_option(value)
    if checked is not None and engine != "polars":
        raise UsageError(
            "FI183", "--time-chunks is for the local engine (Spark: --spark-time-buckets)"
        )
    return checked


def _spark_detect(
    ds: Any, ruleset: Any, st: Any, as_of: int | None, opts: dict[str, Any], entities: Any
) -> Any:
    from finintel.spark import detect

    return detect(
        ds,
        ruleset,
        opts["spark"],
        store=st.path if st is not None else None,
        as_of=as_of,
        shards=opts["shards"],
        chunk_windows=opts["chunk_windows"],
        entities=entities,
        time_buckets=opts["time_buckets"],
    )


def _highlights(report: Any, top: int = 5) -> dict[str, Any]:
    """Counts of the link report and its top networks and links by score (for the summary)."""
    networks = report.networks.sort(
        ["score", "total_base", "network_id"], descending=[True, True, False], nulls_last=True
    ).head(top)
    links = report.links.sort(
        ["score", "total_base", "link_id"], descending=[True, True, False], nulls_last=True
    ).head(top)
    return {
        "entities": report.entities.height,
        "links": report.links.height,
        "networks": report.networks.height,
        "top_networks": [
            {"network_id": r["network_id"], "members": r["n_members"], "total_base": r["total_base"],
             "typologies": r["typologies"], "score": r["score"]}
            for r in networks.iter_rows(named=True)
        ],
        "top_links": [
            {"src": r["src_key"], "dst": r["dst_key"], "transfers": r["n_transfers"],
             "total_base": r["total_base"], "typologies": r["typologies"], "score": r["score"]}
            for r in links.iter_rows(named=True)
        ],
    }  # fmt: skip


def _store_drop_ids(st: Any) -> list[str]:
    drops: pl.DataFrame = st.drops()
    return [str(d) for d in drops["drop_id"].to_list()]


@dataclass
class StoreStatus:
    """What ``finintel status`` shows: drops, runs, the last outcome and pending files."""

    store: str
    store_version: int
    drops: list[dict[str, Any]]
    runs: list[dict[str, Any]]
    pending: list[str]
    alerts: int

    def to_dict(self) -> dict[str, Any]:
        last = self.runs[-1] if self.runs else None
        return {
            "store": self.store,
            "store_version": self.store_version,
            "drops": len(self.drops),
            "rows": sum(int(d.get("rows_accepted") or 0) for d in self.drops),
            "runs": len(self.runs),
            "last_run": last,
            "last_outcome": last["outcome"] if last else None,
            "pending": self.pending,
            "alerts": self.alerts,
            "recent_drops": self.drops[-10:],
            "recent_runs": self.runs[-10:],
        }


def status(store: str | Path, inboxes: Sequence[str | Path] = ()) -> StoreStatus:
    """The store's drops and runs, and the files in ``inboxes`` not ingested yet."""
    from finintel.ingest.reader import discover, file_digest
    from finintel.store import Store

    st = Store(store, create=False)
    drops = st.drops()
    known = set(drops["drop_id"].to_list())
    pending = []
    for inbox in inboxes:
        for inp in discover([inbox]):
            if file_digest(inp.path)[0] not in known:
                pending.append(inp.display)
    return StoreStatus(
        store=str(store),
        store_version=st.version(),
        drops=[_jsonable(r) for r in drops.to_dicts()],
        runs=[_jsonable(r) for r in st.runs().to_dicts()],
        pending=pending,
        alerts=st.alerts().height,
    )


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}


def watch(
    inbox: str | Path,
    rules: Any,
    out_dir: str | Path,
    *,
    store: str | Path,
    interval: float = 60.0,
    max_runs: int | None = None,
    max_polls: int | None = None,
    sleep: Any = time.sleep,
) -> Iterator[RunSummary]:
    """Poll ``inbox``; whenever it holds files not yet in the store, run incrementally.

    Yields each run's summary. Rules are validated once, before the first look. A run that
    finds the store locked waits for the next poll.
    """
    from finintel.errors import LockedError
    from finintel.typology.loader import RuleSet, load_rules

    ruleset = rules if isinstance(rules, RuleSet) else load_rules(rules)
    runs = polls = 0
    while True:
        polls += 1
        pending = status(store, [inbox]).pending if Path(store).exists() else ["(new store)"]
        if pending:
            try:
                summary = run(inbox, ruleset, out_dir, store=store, incremental=True)
            except LockedError as err:
                log.warning("%s", err)
            else:
                runs += 1
                yield summary
        if (max_runs is not None and runs >= max_runs) or (
            max_polls is not None and polls >= max_polls
        ):
            return
        sleep(interval)
