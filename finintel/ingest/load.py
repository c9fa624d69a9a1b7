"""``finintel.load``: files → a canonical, validated, de-duplicated :class:`Dataset` in memory,
and ``finintel.ingest_to_store``: the same into a Delta store, incrementally.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl

from finintel.errors import DataError, UsageError
from finintel.ingest.fx import DEFAULT_MAX_STALENESS, fx_table
from finintel.ingest.profile import SourceProfile, load_profiles, resolve_profile
from finintel.ingest.reader import BATCH_ROWS, discover, read_file
from finintel.ingest.result import FileBatch, FileCounts
from finintel.ingest.transfers import Options
from finintel.paths import default_fx_tables, default_profiles_dir
from finintel.schema import MOVED_STATUS, PARTIES, QUARANTINE, TRANSFERS

Paths = str | Path | Sequence[str | Path]
log = logging.getLogger("finintel.ingest")


@dataclass
class Dataset:
    """Canonical data: every record, the parties, the quarantine and per-file row accounting.

    ``transfers`` is the lazy table of money movements (status ``completed``); ``records``
    holds every accepted row, including cancelled or refunded MTO orders. ``records`` and
    ``parties`` are DataFrames for :func:`load`, lazy scans of the store's files for
    :func:`load_store` (nothing is read until a query collects it: a time-chunked detection
    reads one chunk at a time, a report only its own parties).
    """

    records: pl.DataFrame | pl.LazyFrame
    parties: pl.DataFrame | pl.LazyFrame
    quarantine: pl.DataFrame
    files: list[FileCounts] = field(default_factory=list)
    base_currency: str = "EUR"
    store_version: int | None = None

    @property
    def transfers(self) -> pl.LazyFrame:
        return self.records.lazy().filter(pl.col("status") == MOVED_STATUS)

    def count_transfers(self) -> int:
        """How many moved transfers (counted lazily for a store-backed dataset)."""
        return int(self.transfers.select(pl.len()).collect().item())

    def count_parties(self) -> int:
        """How many party rows (counted lazily for a store-backed dataset)."""
        return int(self.parties.lazy().select(pl.len()).collect().item())

    def totals(self) -> dict[str, int]:
        keys = ("rows_in", "rows_accepted", "rows_duplicate", "rows_quarantined")
        return {k: sum(int(getattr(f, k)) for f in self.files) for k in keys}

    def summary(self) -> dict[str, object]:
        return {
            "files": [f.to_dict() for f in self.files],
            "totals": self.totals(),
            "transfers": self.count_transfers(),
            "records": int(self.records.lazy().select(pl.len()).collect().item()),
            "parties": self.count_parties(),
            "base_currency": self.base_currency,
            "store_version": self.store_version,
        }


def _as_list(paths: Paths) -> list[str | Path]:
    if isinstance(paths, str | Path):
        return [paths]
    return list(paths)


def make_options(
    base_currency: str = "EUR",
    fx: Iterable[str | Path] | None = None,
    max_fx_staleness: timedelta = DEFAULT_MAX_STALENESS,
    timezone: str | None = None,
    source: str | None = None,
    ts_min: datetime | None = None,
    ts_max: datetime | None = None,
) -> Options:
    """Build validation options: FX table (ECB + shipped + given tables) and bounds."""
    from finintel.ingest.codes import currencies

    base = base_currency.upper()
    if base not in currencies():
        raise UsageError("FI008", f"base currency {base_currency!r} is not an ISO 4217 code")
    if timezone is not None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise UsageError("FI008", f"unknown time zone {timezone!r}") from None
    tables = [*default_fx_tables(), *(fx or ())]
    kwargs: dict[str, datetime] = {}
    if ts_min is not None:
        kwargs["ts_min"] = ts_min
    if ts_max is not None:
        kwargs["ts_max"] = ts_max
    return Options(
        fx=fx_table(tables),
        base_currency=base,
        max_fx_staleness=max_fx_staleness,
        timezone=timezone,
        source=source,
        **kwargs,
    )


def _profiles(
    profile: str | Path | SourceProfile | None, profiles_dir: str | Path | None
) -> tuple[dict[str, SourceProfile], SourceProfile | None]:
    directory = Path(profiles_dir) if profiles_dir else default_profiles_dir()
    profiles = load_profiles(directory) if directory.is_dir() else {}
    forced = resolve_profile(profile, directory) if profile is not None else None
    return profiles, forced


def read_batches(
    paths: Paths,
    opts: Options,
    profile: str | Path | SourceProfile | None = None,
    profiles_dir: str | Path | None = None,
    batch_rows: int = BATCH_ROWS,
) -> Iterable[FileBatch]:
    """Yield one validated batch per input file (files are found and profiles loaded first)."""
    profiles, forced = _profiles(profile, profiles_dir)
    for inp in discover(_as_list(paths)):
        yield read_file(inp, opts, profiles, forced, batch_rows=batch_rows)


def load(
    paths: Paths,
    profile: str | Path | SourceProfile | None = None,
    base_currency: str = "EUR",
    *,
    source: str | None = None,
    timezone: str | None = None,
    fx: Iterable[str | Path] | None = None,
    max_fx_staleness: timedelta = DEFAULT_MAX_STALENESS,
    profiles_dir: str | Path | None = None,
    strict: bool = False,
    ts_min: datetime | None = None,
    ts_max: datetime | None = None,
    batch_rows: int = BATCH_ROWS,
) -> Dataset:
    """Read Parquet files/folders into a canonical :class:`Dataset`.

    Each file is recognised by its columns (canonical transfers, canonical parties, or a source
    profile in ``rules/sources``), validated row by row (bad rows go to ``quarantine`` with a
    reason) and de-duplicated on ``(source, tx_id)`` across all files. A file's rows are
    canonicalised ``batch_rows`` at a time (this bounds the working memory, not the result).

    >>> ds = load("fixtures/demo/drop")  # doctest: +SKIP
    >>> ds.transfers.select("tx_id", "amount_base").head(2).collect()  # doctest: +SKIP
    """
    from finintel.ingest.dedupe import dedupe

    opts = make_options(base_currency, fx, max_fx_staleness, timezone, source, ts_min, ts_max)
    accepted: list[pl.DataFrame] = []
    parties: list[pl.DataFrame] = []
    quarantine: list[pl.DataFrame] = []
    files: list[FileCounts] = []
    existing: pl.DataFrame | None = None
    _check_batch_rows(batch_rows)
    for read in read_batches(paths, opts, profile, profiles_dir, batch_rows):
        batch = dedupe(read, existing)
        if batch.transfers.height:
            accepted.append(batch.transfers)
            existing = (
                pl.concat([existing, batch.transfers]) if existing is not None else batch.transfers
            )
        parties.append(batch.parties)
        quarantine.append(batch.quarantine)
        files.append(batch.counts)
    records = (
        pl.concat(accepted).select(list(TRANSFERS)) if accepted else pl.DataFrame(schema=TRANSFERS)
    )
    party_table = (
        pl.concat([p.select(list(PARTIES)) for p in parties]).unique(maintain_order=True)
        if parties
        else pl.DataFrame(schema=PARTIES)
    )
    q = pl.concat(quarantine) if quarantine else pl.DataFrame(schema=QUARANTINE)
    ds = Dataset(records, party_table, q, files, opts.base_currency)
    if strict:
        fail_if_quarantined(files)
    return ds


def _check_batch_rows(batch_rows: int) -> None:
    if batch_rows < 1:
        raise UsageError("FI008", f"batch_rows must be a positive number of rows, not {batch_rows}")


def fail_if_quarantined(files: Sequence[FileCounts]) -> None:
    """``--strict``: any quarantined row fails the run (after everything was recorded)."""
    bad = [f for f in files if f.rows_quarantined]
    if bad:
        total = sum(f.rows_quarantined for f in bad)
        names = ", ".join(f"{f.file} ({f.rows_quarantined})" for f in bad)
        raise DataError("FI009", f"--strict: {total} row(s) quarantined in {names}")


@dataclass
class IngestSummary:
    """What an ingest into a store did, file by file, and the store version it produced."""

    store: str
    files: list[FileCounts]
    skipped: list[str]
    store_version: int
    base_currency: str
    deferred: list[dict[str, str]] = field(default_factory=list)

    def totals(self) -> dict[str, int]:
        keys = ("rows_in", "rows_accepted", "rows_duplicate", "rows_quarantined")
        return {k: sum(int(getattr(f, k)) for f in self.files) for k in keys}

    def to_dict(self) -> dict[str, object]:
        return {
            "store": self.store,
            "store_version": self.store_version,
            "base_currency": self.base_currency,
            "files": [f.to_dict() for f in self.files],
            "skipped": self.skipped,
            "deferred": self.deferred,
            "totals": self.totals(),
        }


def ingest_to_store(
    paths: Paths,
    store: str | Path,
    profile: str | Path | SourceProfile | None = None,
    base_currency: str = "EUR",
    *,
    source: str | None = None,
    timezone: str | None = None,
    fx: Iterable[str | Path] | None = None,
    max_fx_staleness: timedelta = DEFAULT_MAX_STALENESS,
    profiles_dir: str | Path | None = None,
    strict: bool = False,
    now: datetime | None = None,
    skip_unreadable: bool = False,
    progress: Callable[[int, int, str], None] | None = None,
    batch_rows: int = BATCH_ROWS,
) -> IngestSummary:
    """Canonicalise files into the Delta store at ``store``; files already ingested are skipped.

    Each file is one atomic step: its rows, parties and quarantine are committed, then the drop
    is recorded; re-running after a crash redoes only unrecorded files, without duplicates.
    With ``skip_unreadable`` (the cron mode) a corrupt or half-copied file is left out with a
    warning (listed in ``deferred``) and tried again next time, instead of failing the run.
    ``progress(done, total, file)`` is called before each file and once at the end.
    Files are read ``batch_rows`` rows at a time, and de-duplicated against the store without
    reading the stored history into memory (see :meth:`finintel.store.Store.ingest`).
    """
    from finintel.ingest.reader import file_digest
    from finintel.store import Store

    _check_batch_rows(batch_rows)
    opts = make_options(base_currency, fx, max_fx_staleness, timezone, source)
    profiles, forced = _profiles(profile, profiles_dir)
    inputs = discover(_as_list(paths))
    st = Store(store)
    files: list[FileCounts] = []
    skipped: list[str] = []
    deferred: list[dict[str, str]] = []
    for done, inp in enumerate(inputs):
        if progress is not None:
            progress(done, len(inputs), inp.display)
        digest = file_digest(inp.path)
        if st.has_drop(digest[0]):
            skipped.append(inp.display)
            continue
        try:
            batch = read_file(inp, opts, profiles, forced, digest, batch_rows)
        except DataError as err:
            # a file still being copied (or corrupt) must not block the other drops: it is not
            # recorded, so the next run tries it again
            if not skip_unreadable or err.code != "FI002":
                raise
            deferred.append({"file": inp.display, "error": str(err)})
            log.warning("skipped unreadable file, will retry: %s", err)
            continue
        counts = st.ingest(batch, now=now)
        del batch  # stored: free the file's rows before the next file is read
        log.info(
            "ingested %s: %d in = %d accepted + %d duplicate + %d quarantined",
            inp.display, counts.rows_in, counts.rows_accepted, counts.rows_duplicate,
            counts.rows_quarantined,
            extra={"event": "ingest.file", "counts": counts.to_dict()},
        )  # fmt: skip
        files.append(counts)
    if progress is not None:
        progress(len(inputs), len(inputs), "")
    summary = IngestSummary(str(store), files, skipped, st.version(), opts.base_currency, deferred)
    if strict:
        fail_if_quarantined(files)
    return summary


def load_store(store: str | Path, as_of: int | None = None, base_currency: str = "EUR") -> Dataset:
    """The canonical data of a store (optionally as of an earlier transfers-table version).

    The records stay a lazy scan of the store's transfers table at that version: queries read
    only the rows and columns they need (a time chunk filters on ``ts``); so do the parties
    (a report reads only its own). The quarantine is read into memory.
    """
    from finintel.store import Store

    st = Store(store, create=False)
    return Dataset(
        records=st.transfers(as_of=as_of),
        parties=st.parties(as_of=as_of),
        quarantine=st.quarantine().collect(),
        files=[],
        base_currency=base_currency,
        store_version=as_of if as_of is not None else st.version(),
    )
