"""The canonical store: Delta Lake tables of transfers, parties, quarantine, drops and runs.

Layout of a store folder ``DIR`` (every table is a Delta table; Spark, DuckDB and polars read
them as they are)::

    DIR/finintel-store.json   marker: {"format": "finintel-store", "version": 1}
    DIR/transfers/            TRANSFERS + row_hash + drop_id + month, partitioned by month
    DIR/parties/              PARTIES + drop_id (not partitioned: parties have no event time)
    DIR/quarantine/           QUARANTINE + drop_id
    DIR/drops/                one row per ingested file (DROPS); the commit log of the store
    DIR/runs/                 run history of the batch runner (RUNS), created empty

``month`` is ``YYYY-MM`` of ``ts`` in UTC. A new store is built in a temporary sibling folder
and renamed into place, so a folder either is a complete store (it has the marker) or is not.

Ingesting a file is a sequence of Delta commits: delete leftovers of this drop, append
transfers, parties, quarantine (a table's rows ``_APPEND_ROWS`` at a time, a commit each: the
Delta writer's working copy is a slice's, not the file's), and finally the ``drops`` row.
**The drops row is the commit point**: rows whose ``drop_id`` is not in ``drops`` (a run killed
half-way) are invisible to every reader here and are deleted when that file is ingested again.
One process writes to a store at a time (the batch runner holds the lock).

Versions: :meth:`Store.version` is the version of the ``transfers`` table. Every ingested file
commits to ``transfers`` at least once (an append, possibly of no rows), so each drop records
its own ``transfers_version`` and ``as_of=V`` means exactly "the drops recorded with
``transfers_version <= V``": transfers are read at Delta version ``V`` (Spark:
``versionAsOf``), parties and drops filtered to those drops.

>>> import tempfile
>>> store = Store(tempfile.mkdtemp() + "/store")
>>> store.version(), store.drops().height
(0, 0)
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
from deltalake import DeltaTable
from deltalake.exceptions import DeltaError

from finintel.atomic import atomic_dir
from finintel.errors import DataError, FinintelError, Location, LockedError, UsageError
from finintel.ingest.dedupe import dedupe
from finintel.ingest.result import FileBatch, FileCounts
from finintel.schema import ALERTS, PARTIES, QUARANTINE, TRANSFERS, UTC_TS, conform

__all__ = [
    "DROPS",
    "RUNS",
    "STORED_PARTIES",
    "STORED_QUARANTINE",
    "STORED_TRANSFERS",
    "IngestCounts",
    "Store",
]

MARKER = "finintel-store.json"
FORMAT = {"format": "finintel-store", "version": 1}

#: ``transfers/`` on disk.
STORED_TRANSFERS: dict[str, pl.DataType] = {
    **TRANSFERS,
    "row_hash": pl.String(),
    "drop_id": pl.String(),
    "month": pl.String(),
}
#: ``parties/`` on disk.
STORED_PARTIES: dict[str, pl.DataType] = {**PARTIES, "drop_id": pl.String()}
#: ``quarantine/`` on disk.
STORED_QUARANTINE: dict[str, pl.DataType] = {**QUARANTINE, "drop_id": pl.String()}
#: ``drops/``: one row per ingested file.
DROPS: dict[str, pl.DataType] = {
    "drop_id": pl.String(),  # sha256 of the file's bytes
    "file": pl.String(),
    "source": pl.String(),
    "profile": pl.String(),
    "kind": pl.String(),
    "size_bytes": pl.Int64(),
    "rows_in": pl.Int64(),
    "rows_accepted": pl.Int64(),
    "rows_duplicate": pl.Int64(),
    "rows_quarantined": pl.Int64(),
    "parties": pl.Int64(),
    "ingested_at": UTC_TS,
    "transfers_version": pl.Int64(),  # the transfers table version after this file
}
#: ``runs/``: written by the batch runner.
RUNS: dict[str, pl.DataType] = {
    "run_id": pl.String(),
    "started_at": UTC_TS,
    "finished_at": UTC_TS,
    "outcome": pl.String(),
    "inputs": pl.List(pl.String()),
    "counts": pl.String(),  # JSON text
    "store_version": pl.Int64(),
}

_TABLES: dict[str, dict[str, pl.DataType]] = {
    "transfers": STORED_TRANSFERS,
    "parties": STORED_PARTIES,
    "quarantine": STORED_QUARANTINE,
    "drops": DROPS,
    "runs": RUNS,
    "alerts": ALERTS,
}
#: Tables added after format version 1 was first written: created when missing.
_ADDED_TABLES = ("alerts",)
LOCK_FILE = ".lock"
_PARTITIONS: dict[str, list[str]] = {"transfers": ["month"]}
_DATA_TABLES = ("transfers", "parties", "quarantine")
_COUNT_FIELDS = tuple(f.name for f in dataclasses.fields(FileCounts))
#: Rows written per Delta commit when a file's rows are appended (3M-transfer ingest: peak
#: 2.37 -> 1.94 GB against one commit per table).
_APPEND_ROWS = 500_000


@dataclass
class IngestCounts(FileCounts):
    """:class:`FileCounts` of one :meth:`Store.ingest`, with what the store did.

    ``skipped`` is true when the file (its ``drop_id``) was already in the store: nothing was
    changed and the counts are those recorded when it was first ingested (``file`` included).
    ``transfers_version`` is the transfers table version recorded for the drop.
    """

    skipped: bool = False
    transfers_version: int | None = None


class Store:
    """A finintel store folder (see the module docs for the layout and the guarantees).

    Parameters
    ----------
    path
        The store folder.
    create
        Create the store when ``path`` does not exist or is an empty folder; with ``False``
        such a path is an error (FI041).

    Raises
    ------
    DataError
        FI040 when ``path`` exists but is not a finintel store; FI041 when there is no store
        and ``create`` is false; FI042 when a table cannot be read or written.
    """

    def __init__(self, path: str | Path, create: bool = True) -> None:
        self.path = Path(path)
        marker = self.path / MARKER
        if marker.is_file():
            self._check_marker(marker)
        elif self.path.exists() and not (self.path.is_dir() and not any(self.path.iterdir())):
            raise DataError(
                "FI040",
                f"{self.path} is not a finintel store (no {MARKER}); give an empty or new "
                "folder to create one",
                Location(str(self.path)),
            )
        elif not create:
            raise DataError("FI041", f"no finintel store at {self.path}", Location(str(self.path)))
        else:
            self._create()
        for name in _ADDED_TABLES:
            if not (self._table(name) / "_delta_log").is_dir():
                with self._errors(name, "create"):
                    pl.DataFrame(schema=_TABLES[name]).write_delta(
                        str(self._table(name)), mode="error"
                    )
        for name in _TABLES:
            if not (self._table(name) / "_delta_log").is_dir():
                raise DataError(
                    "FI042",
                    f"store table {name!r} is missing from {self.path}",
                    Location(str(self._table(name))),
                )

    # ---------------------------------------------------------------- reading

    def has_drop(self, drop_id: str) -> bool:
        """Whether the file with this ``drop_id`` (sha256 of its bytes) is in the store."""
        return not self.drops().filter(pl.col("drop_id") == drop_id).is_empty()

    def drops(self) -> pl.DataFrame:
        """The ingested files (DROPS columns), in ingest order."""
        with self._errors("drops", "read"):
            frame = self._scan("drops").collect()
        return frame.sort("transfers_version", "ingested_at", "drop_id")

    def runs(self) -> pl.DataFrame:
        """The run history (RUNS columns), oldest first."""
        with self._errors("runs", "read"):
            return self._scan("runs").collect().sort("started_at", "run_id")

    def alerts(self) -> pl.DataFrame:
        """The current alerts of the store (ALERTS columns), as the last run left them."""
        with self._errors("alerts", "read"):
            return self._scan("alerts").collect().sort("typology", "focus", "first_ts", "alert_id")

    def replace_alerts(self, alerts: pl.DataFrame) -> None:
        """Make ``alerts`` the store's current alert set (one atomic overwrite)."""
        with self._errors("alerts", "write"):
            alerts.select(list(ALERTS)).write_delta(str(self._table("alerts")), mode="overwrite")

    def record_run(self, run: Mapping[str, Any]) -> None:
        """Append one row to the run history (RUNS columns)."""
        row = {c: run.get(c) for c in RUNS}
        self._append("runs", pl.DataFrame([row], schema=RUNS))

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the store's lock for a run; a second run fails at once with :class:`LockedError`.

        An OS file lock (``flock``): it is released when the process ends, so a killed run never
        leaves the store locked.
        """
        path = self.path / LOCK_FILE
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = path.read_text(encoding="utf-8").strip() or "another run"
                raise LockedError(
                    "FI044",
                    f"the store is locked by {holder}; runs never overlap, try again later",
                    Location(str(self.path)),
                ) from None
            os.ftruncate(fd, 0)
            os.write(fd, f"pid {os.getpid()}".encode())
            yield
        finally:
            os.close(fd)

    def version(self) -> int:
        """The transfers table version: what a report records and ``as_of`` takes back."""
        with self._errors("transfers", "read"):
            return int(DeltaTable(str(self._table("transfers"))).version())

    def transfers(self, as_of: int | None = None) -> pl.LazyFrame:
        """The stored transfers (canonical TRANSFERS columns, every status).

        ``as_of``: a :meth:`version`; the transfers of the drops recorded up to it.
        """
        ids = self._drop_ids(as_of)
        with self._errors("transfers", "read"):
            lf = self._scan("transfers", as_of)
        return lf.filter(pl.col("drop_id").is_in(ids.implode())).select(list(TRANSFERS))

    def transfer_files(self, as_of: int | None = None) -> tuple[list[str], list[str]]:
        """The transfers table's Parquet file URIs at ``as_of`` (default: now) and the ids of
        the drops recorded up to it: what another engine (Spark) reads as :meth:`transfers`."""
        ids = self._drop_ids(as_of)
        with self._errors("transfers", "read"):
            uris = DeltaTable(str(self._table("transfers")), version=as_of).file_uris()
        return [str(u) for u in uris], [str(i) for i in ids.to_list()]

    def parties(self, as_of: int | None = None) -> pl.LazyFrame:
        """The stored parties (PARTIES columns), of the drops recorded up to ``as_of``."""
        ids = self._drop_ids(as_of)
        with self._errors("parties", "read"):
            lf = self._scan("parties")
        lf = lf.filter(pl.col("drop_id").is_in(ids.implode()))
        return conform(lf, PARTIES)

    def quarantine(self) -> pl.LazyFrame:
        """The quarantined rows (QUARANTINE columns and the ``drop_id`` of their file)."""
        ids = self._drop_ids(None)
        with self._errors("quarantine", "read"):
            lf = self._scan("quarantine")
        return lf.filter(pl.col("drop_id").is_in(ids.implode())).select(list(STORED_QUARANTINE))

    # ---------------------------------------------------------------- writing

    def ingest(self, batch: FileBatch, *, now: datetime | None = None) -> IngestCounts:
        """Store one file: de-duplicate it against the store and append it.

        A file already in ``drops`` changes nothing and gives its recorded counts with
        ``skipped=True``. Otherwise the rows a killed earlier ingest of this file left behind
        are deleted, the transfers are de-duplicated (:func:`finintel.ingest.dedupe.dedupe`)
        against the stored transfers with the same ``(source, tx_id)``, then transfers,
        new parties (content not yet stored for that source) and quarantine are appended and
        the ``drops`` row is written last. The stored transfers are scanned lazily for the
        batch's keys only, so memory follows the batch, not the stored history.

        ``now`` (default: the current time; naive means UTC) is the recorded ``ingested_at``,
        the only time-dependent value in the store.
        """
        drop_id = batch.counts.drop_id
        drops = self.drops()
        recorded = drops.filter(pl.col("drop_id") == drop_id)
        if not recorded.is_empty():
            row = recorded.row(0, named=True)
            return IngestCounts(
                **{f: row[f] for f in _COUNT_FIELDS},
                skipped=True,
                transfers_version=row["transfers_version"],
            )
        ingested_at = _utc(now)
        committed = drops["drop_id"]

        for name in _DATA_TABLES:
            self._delete_drop(name, drop_id)

        existing = self._existing(batch.transfers, committed)
        with self._errors("transfers", "read"):
            result = dedupe(batch, existing)

        transfers = _conformed(result.transfers, STORED_TRANSFERS).with_columns(
            pl.lit(drop_id, pl.String).alias("drop_id"),
            pl.col("ts").dt.strftime("%Y-%m").alias("month"),
        )
        # Always commit, even no rows: every drop gets its own transfers version.
        self._append("transfers", transfers)
        version = self.version()

        parties = self._new_parties(result.parties, committed)
        if not parties.is_empty():
            self._append(
                "parties", parties.with_columns(pl.lit(drop_id, pl.String).alias("drop_id"))
            )
        if not result.quarantine.is_empty():
            quarantine = _conformed(result.quarantine, QUARANTINE).with_columns(
                pl.lit(drop_id, pl.String).alias("drop_id")
            )
            self._append("quarantine", quarantine)

        counts = result.counts
        drop = {**counts.to_dict(), "ingested_at": ingested_at, "transfers_version": version}
        self._append("drops", pl.DataFrame([{c: drop[c] for c in DROPS}], schema=DROPS))
        return IngestCounts(
            file=counts.file,
            source=counts.source,
            profile=counts.profile,
            drop_id=counts.drop_id,
            size_bytes=counts.size_bytes,
            rows_in=counts.rows_in,
            rows_accepted=counts.rows_accepted,
            rows_duplicate=counts.rows_duplicate,
            rows_quarantined=counts.rows_quarantined,
            parties=counts.parties,
            kind=counts.kind,
            skipped=False,
            transfers_version=version,
        )

    # ---------------------------------------------------------------- internals

    def _table(self, name: str) -> Path:
        return self.path / name

    def _scan(self, name: str, version: int | None = None) -> pl.LazyFrame:
        # Open the log here, so that a broken table fails inside ``_errors``, not at collect.
        return pl.scan_delta(DeltaTable(str(self._table(name)), version=version))

    @contextlib.contextmanager
    def _errors(self, table: str, action: str) -> Iterator[None]:
        """Turn a Delta/Arrow/IO failure on ``table`` into a FinintelError naming it."""
        try:
            yield
        except FinintelError:
            raise
        except (DeltaError, OSError, pl.exceptions.PolarsError, pa.ArrowException) as exc:
            raise DataError(
                "FI042",
                f"cannot {action} store table {table!r}: {exc}",
                Location(str(self._table(table))),
            ) from exc

    def _check_marker(self, marker: Path) -> None:
        try:
            content: Any = json.loads(marker.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DataError(
                "FI040", f"{self.path} is not a finintel store: {exc}", Location(str(marker))
            ) from exc
        if not isinstance(content, dict) or content.get("format") != FORMAT["format"]:
            raise DataError(
                "FI040",
                f"{self.path} is not a finintel store ({MARKER} is not a store marker)",
                Location(str(marker)),
            )
        if content.get("version") != FORMAT["version"]:
            raise DataError(
                "FI040",
                f"{self.path} is a finintel store of format version {content.get('version')}, "
                f"this finintel reads version {FORMAT['version']}",
                Location(str(marker)),
            )

    def _create(self) -> None:
        try:
            with atomic_dir(self.path) as tmp:
                for name, schema in _TABLES.items():
                    pl.DataFrame(schema=schema).write_delta(
                        str(tmp / name),
                        mode="error",
                        delta_write_options={"partition_by": _PARTITIONS[name]}
                        if name in _PARTITIONS
                        else None,
                    )
                (tmp / MARKER).write_text(json.dumps(FORMAT) + "\n", encoding="utf-8")
        except (DeltaError, OSError, pl.exceptions.PolarsError, pa.ArrowException) as exc:
            raise DataError(
                "FI042", f"cannot create a store at {self.path}: {exc}", Location(str(self.path))
            ) from exc

    def _append(self, name: str, frame: pl.DataFrame) -> None:
        options: dict[str, Any] = {"partition_by": _PARTITIONS[name]} if name in _PARTITIONS else {}
        if name == "parties":
            # stores made before device_id / ip_address gain the columns (older rows: null)
            options["schema_mode"] = "merge"
        with self._errors(name, "write"):
            rows = frame.select(list(_TABLES[name]))
            # no rows is one commit still: every drop gets its own transfers version
            for part in rows.iter_slices(_APPEND_ROWS) if rows.height else [rows]:
                part.write_delta(
                    str(self._table(name)), mode="append", delta_write_options=options or None
                )

    def _delete_drop(self, name: str, drop_id: str) -> None:
        """Delete the rows of ``drop_id`` from a data table (no commit when there are none)."""
        literal = drop_id.replace("'", "''")
        with self._errors(name, "clean up"):
            DeltaTable(str(self._table(name))).delete(f"drop_id = '{literal}'")

    def _drop_ids(self, as_of: int | None) -> pl.Series:
        drops = self.drops()
        if as_of is not None:
            current = self.version()
            if not 0 <= as_of <= current:
                raise UsageError(
                    "FI043",
                    f"store version {as_of} does not exist (versions 0 to {current})",
                    Location(str(self.path)),
                )
            drops = drops.filter(pl.col("transfers_version") <= as_of)
        return drops["drop_id"]

    def _existing(self, transfers: pl.DataFrame, committed: pl.Series) -> pl.LazyFrame | None:
        """Stored transfers that share a source and a tx_id with ``transfers`` (lazy).

        Not pruned by month: a conflicting version may carry another ``ts``.
        """
        if transfers.is_empty():
            return None
        with self._errors("transfers", "read"):
            lf = self._scan("transfers")
        return lf.filter(
            pl.col("source").is_in(transfers["source"].unique().implode())
            & pl.col("tx_id").is_in(transfers["tx_id"].unique().implode())
            & pl.col("drop_id").is_in(committed.implode())
        )

    def _new_parties(self, parties: pl.DataFrame, committed: pl.Series) -> pl.DataFrame:
        """Rows of ``parties`` (distinct, as a FileBatch holds them) whose full content is not
        stored for their source.

        Compared ``_COMPARE_ROWS`` rows at a time, so the memory of the comparison follows the
        slice, not the file.
        """
        batch = _conformed(parties, PARTIES)
        if batch.is_empty():
            return batch
        with self._errors("parties", "read"):
            stored = (
                self._scan("parties")
                .filter(
                    pl.col("source").is_in(batch["source"].unique().implode())
                    & pl.col("party_id").is_in(batch["party_id"].unique().implode())
                    & pl.col("drop_id").is_in(committed.implode())
                )
                .pipe(conform, PARTIES)
                .collect()
            )
        if stored.is_empty():
            return batch
        return pl.concat(
            part.join(
                stored.filter(pl.col("party_id").is_in(part["party_id"].implode())),
                on=list(PARTIES),
                how="anti",
                nulls_equal=True,
                maintain_order="left",
            )
            for part in batch.iter_slices(_COMPARE_ROWS)
        )


def _conformed(frame: pl.DataFrame, columns: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """``frame`` with exactly ``columns``; a frame of no rows (maybe no columns) gives none."""
    if frame.is_empty():
        return pl.DataFrame(schema=dict(columns))
    return conform(frame.lazy(), columns).collect()


#: Rows of a file's parties compared with the stored ones at a time (:meth:`Store._new_parties`).
_COMPARE_ROWS = 250_000


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        return now.replace(tzinfo=UTC)
    return now.astimezone(UTC)
