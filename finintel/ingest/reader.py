"""Input discovery and the per-file read: which files, what each one is, canonical rows.

Inputs are files, folders (every ``*.parquet`` below, recursively) and hive-partitioned
datasets (``key=value`` folders become columns). Each file's schema is read with
``collect_schema()`` and checked before any row is read. A file is recognised by its columns:
canonical transfers, canonical parties, or the export of a known source profile.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from finintel.errors import DataError, FinintelError, Location, did_you_mean
from finintel.ingest.parties import attach_parties, merge_parties, read_parties_file
from finintel.ingest.profile import SourceProfile
from finintel.ingest.result import FileBatch, FileCounts
from finintel.ingest.transfers import Options, Split, plan_transfers, raise_unzoned, split
from finintel.schema import (
    PARTIES,
    PARTIES_INPUT,
    QUARANTINE,
    TRANSFERS,
    TRANSFERS_INPUT,
    TRANSFERS_REQUIRED,
    check_schema,
)

_HIVE = re.compile(r"^([^=]+)=(.*)$")

#: Rows of a file canonicalised at a time (:func:`read_file`).
BATCH_ROWS = 500_000


@dataclass(frozen=True)
class InputFile:
    """One Parquet file to ingest, with the hive partition values found in its path."""

    path: Path
    hive: Mapping[str, str] = field(default_factory=dict)

    @property
    def display(self) -> str:
        return str(self.path)


def discover(paths: Iterable[str | Path]) -> list[InputFile]:
    """Expand files and folders into the Parquet files to read, in a stable order."""
    found: list[InputFile] = []
    for given in paths:
        p = Path(given)
        if p.is_dir():
            files = sorted(
                f for f in p.rglob("*.parquet") if f.is_file() and not f.name.startswith(".")
            )
            if not files:
                raise DataError("FI001", "no *.parquet files in this folder", Location(str(p)))
            for f in files:
                rel = f.relative_to(p).parts[:-1]
                hive = {m.group(1): m.group(2) for part in rel if (m := _HIVE.match(part))}
                found.append(InputFile(f, hive))
        elif p.is_file():
            found.append(InputFile(p))
        else:
            raise DataError("FI001", "no such file or folder", Location(str(p)))
    seen: set[Path] = set()
    unique: list[InputFile] = []
    for inp in found:
        key = inp.path.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(inp)
    return unique


def file_digest(path: Path) -> tuple[str, int]:
    """SHA-256 of the file's bytes and its size."""
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def scan(inp: InputFile) -> tuple[pl.LazyFrame, pl.Schema]:
    """Open a Parquet file lazily and read its schema (no rows); corrupt files raise FI002."""
    try:
        lf = pl.scan_parquet(inp.path, hive_partitioning=False)
        schema = lf.collect_schema()
    except (pl.exceptions.PolarsError, pl.exceptions.PanicException, OSError) as exc:
        raise DataError(
            "FI002",
            f"cannot read Parquet file (corrupt, truncated or not Parquet): {_short(exc)}",
            Location(inp.display),
        ) from None
    if inp.hive:
        lf = lf.with_columns([pl.lit(v).alias(k) for k, v in inp.hive.items() if k not in schema])
        schema = lf.collect_schema()
    return lf, schema


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


@dataclass(frozen=True)
class Kind:
    """What a file holds: ``transfers`` (with a profile or canonical) or ``parties``."""

    table: str
    profile: SourceProfile | None = None

    @property
    def profile_name(self) -> str:
        return (
            self.profile.name
            if self.profile
            else ("canonical" if self.table == "transfers" else "parties")
        )


def identify(
    schema: Mapping[str, pl.DataType],
    file: str,
    profiles: Mapping[str, SourceProfile],
    forced: SourceProfile | None = None,
) -> Kind:
    """Recognise a file by its columns; every mismatch is reported at once when nothing fits."""
    cols = set(schema)
    if forced is not None:
        missing = sorted(forced.required_columns() - cols)
        if missing:
            errors: list[FinintelError] = [
                DataError(
                    "FI003",
                    f"missing column {c!r}{did_you_mean(c, sorted(cols))} required by profile "
                    f"{forced.name!r}",
                    Location(file, column=c),
                )
                for c in missing
            ]
            from finintel.errors import raise_all

            raise_all(errors)
        return Kind("transfers", forced)
    if set(TRANSFERS_REQUIRED) <= cols:
        return Kind("transfers")
    if set(PARTIES_INPUT.required) <= cols and not (cols & {"tx_id", "amount"}):
        return Kind("parties")
    matches = [
        p for p in profiles.values() if p.detect_columns() <= cols and p.required_columns() <= cols
    ]
    if matches:
        matches.sort(key=lambda p: (-len(p.detect_columns()), p.name))
        return Kind("transfers", matches[0])
    # Nothing fits: explain against the closest candidate (canonical transfers or a profile).
    candidates: list[tuple[int, str, list[str]]] = [
        (
            len(set(TRANSFERS_REQUIRED) & cols),
            "canonical transfers",
            sorted(set(TRANSFERS_REQUIRED) - cols),
        )
    ]
    for p in profiles.values():
        need = p.detect_columns() | p.required_columns()
        candidates.append((len(need & cols), f"profile {p.name!r}", sorted(need - cols)))
    candidates.sort(key=lambda t: (-t[0], len(t[2]), t[1]))
    _, label, missing = candidates[0]
    extra = sorted(cols - set(TRANSFERS) - set(PARTIES))
    details = "; ".join(f"missing {c!r}{did_you_mean(c, extra)}" for c in missing)
    raise DataError(
        "FI005",
        f"cannot tell what this file holds: closest is {label} — {details} "
        f"(or name a profile with --profile)",
        Location(file),
    )


def default_source(inp: InputFile, kind: Kind) -> str:
    """``<profile>:<file stem>`` (``canonical:<stem>`` for canonical files)."""
    return f"{kind.profile_name}:{inp.path.stem}"


def read_file(
    inp: InputFile,
    opts: Options,
    profiles: Mapping[str, SourceProfile],
    forced: SourceProfile | None = None,
    digest: tuple[str, int] | None = None,
    batch_rows: int = BATCH_ROWS,
) -> FileBatch:
    """Read, canonicalise and validate one file (no de-duplication across files yet).

    Rows are processed ``batch_rows`` at a time (in file order), so the memory of the
    intermediate, wide frames is that of one batch; the result does not depend on it.
    """
    lf, schema = scan(inp)
    kind = identify(schema, inp.display, profiles, forced)
    drop_id, size = digest or file_digest(inp.path)
    source = opts.source or default_source(inp, kind)
    if kind.table == "transfers" and kind.profile is None:
        from finintel.errors import raise_all

        raise_all(check_schema(schema, TRANSFERS_INPUT, inp.display))
    elif kind.table == "parties":
        from finintel.errors import raise_all

        raise_all(check_schema(schema, PARTIES_INPUT, inp.display))
    raw = lf.with_row_index("_row")
    try:
        if kind.table == "parties":
            parties, quarantine, dups = read_parties_file(raw, source, inp.display, opts.source)
            rows_in = parties.height + dups + quarantine.height
            counts = FileCounts(
                file=inp.display,
                source=source,
                profile=kind.profile_name,
                drop_id=drop_id,
                size_bytes=size,
                rows_in=rows_in,
                rows_accepted=parties.height,
                rows_duplicate=dups,
                rows_quarantined=quarantine.height,
                parties=parties.height,
                kind="parties",
            )
            empty = pl.DataFrame(schema={**TRANSFERS, "row_hash": pl.String, "row": pl.Int64})
            return FileBatch(counts, empty, parties, quarantine.select(list(QUARANTINE)))
        total = raw.select(pl.len()).collect().item()
        parts = [
            _read_rows(raw.slice(offset, batch_rows), kind, source, opts, inp.display)
            for offset in range(0, max(total, 1), batch_rows)
        ]
    except (pl.exceptions.PolarsError, pl.exceptions.PanicException, OSError) as exc:
        raise DataError(
            "FI002",
            f"cannot read rows (corrupt or truncated file?): {_short(exc)}",
            Location(inp.display),
        ) from None
    raise_unzoned([p.split for p in parts], inp.display, f"profile {kind.profile_name!r}")
    transfers = pl.concat([p.transfers for p in parts])
    parties = merge_parties([p.parties for p in parts])
    quarantine = pl.concat([p.split.quarantine for p in parts])
    counts = FileCounts(
        file=inp.display,
        source=source,
        profile=kind.profile_name,
        drop_id=drop_id,
        size_bytes=size,
        rows_in=sum(p.split.rows_in for p in parts),
        rows_accepted=transfers.height,
        rows_duplicate=0,
        rows_quarantined=quarantine.height,
        parties=parties.height,
    )
    return FileBatch(counts, transfers, parties, quarantine.select(list(QUARANTINE)))


@dataclass(frozen=True)
class _Part:
    """One batch of a file's rows, canonical: accepted rows with their hash, parties, split."""

    transfers: pl.DataFrame
    parties: list[pl.DataFrame]  # per side of the profile
    split: Split


def _read_rows(raw: pl.LazyFrame, kind: Kind, source: str, opts: Options, file: str) -> _Part:
    """Canonicalise, check and hash one batch of a transfers file (``raw`` has ``_row``)."""
    from finintel.ingest.dedupe import row_hash_expr

    plan = plan_transfers(raw, kind.profile, source, opts, file)
    result = split(plan, file)
    transfers, parties = attach_parties(result.accepted, kind.profile)
    transfers = transfers.with_columns(row_hash_expr().alias("row_hash")).select(
        [*TRANSFERS, "row_hash", "row"]
    )
    # the wide accepted rows are not kept: only the counts and the quarantine of the batch
    return _Part(transfers, parties, dataclasses.replace(result, accepted=result.accepted.clear()))


__all__ = ("BATCH_ROWS", "InputFile", "Kind", "discover", "identify", "read_file", "scan")
