"""Reading a file in batches of rows gives exactly what reading it whole gives."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import finintel
from finintel.errors import DataError, UsageError
from finintel.store import Store

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "fixtures" / "demo" / "drop"
BAD = ROOT / "fixtures" / "bad"
NOW = datetime(2025, 6, 1, tzinfo=UTC)

#: file → (amount column, currency column, key column) of its profile
FILES = {
    "mto.parquet": ("principal", "send_currency", "mtcn"),
    "bank_transfers.parquet": ("amount", "currency", "uetr"),
    "bank_statements.parquet": ("amount", "currency", "booking_id"),
}


def _changed(frame: pl.DataFrame, amount: str) -> pl.DataFrame:
    col = pl.col(amount)
    new = col * 2 + 1 if frame.schema[amount].is_numeric() else col + "1"
    return frame.with_columns(new.alias(amount))


def _dirty_drop(out: Path, rows: int = 1500) -> Path:
    """The demo files' first ``rows`` rows with exact copies, conflicting versions and bad rows
    (unknown currency, missing key) spread over the file, shuffled."""
    out.mkdir()
    for name, (amount, currency, key) in FILES.items():
        df = pl.read_parquet(DEMO / name).head(rows)
        i = pl.int_range(pl.len())
        df = df.with_columns(
            pl.when(i % 97 == 5).then(pl.lit("QQQ")).otherwise(pl.col(currency)).alias(currency),
            pl.when(i % 89 == 7).then(None).otherwise(pl.col(key)).alias(key),
        )
        copies = df.gather_every(13, offset=3)
        versions = _changed(df.gather_every(29, offset=11), amount)
        dirty = pl.concat([df, copies, versions]).sample(fraction=1.0, shuffle=True, seed=1)
        dirty.write_parquet(out / name)
    return out


def _later_drop(first: Path, out: Path) -> Path:
    """Rows of ``first`` again (exact copies and changed versions) and new demo rows."""
    out.mkdir()
    for name, (amount, _, _) in FILES.items():
        old = pl.read_parquet(first / name)
        again = old.gather_every(7)
        changed = _changed(old.gather_every(31, offset=2), amount)
        new = pl.read_parquet(DEMO / name).slice(5000, 700)
        later = pl.concat([again, changed, new]).sample(fraction=1.0, shuffle=True, seed=2)
        later.write_parquet(out / name)
    return out


@pytest.fixture(scope="module")
def drops(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("drops")
    first = _dirty_drop(base / "first")
    return first, _later_drop(first, base / "later")


def test_batched_load_equals_whole_file_load(drops: tuple[Path, Path]) -> None:
    first, _ = drops
    whole = finintel.load(first)
    batched = finintel.load(first, batch_rows=250)
    t = whole.totals()
    assert t["rows_duplicate"] > 100 and t["rows_quarantined"] > 100  # the drop is dirty
    reasons = set(whole.quarantine["reason"])
    assert {"conflicting_duplicate", "unknown_currency", "missing"} <= reasons
    assert [f.to_dict() for f in batched.files] == [f.to_dict() for f in whole.files]
    assert_frame_equal(batched.records, whole.records)
    assert_frame_equal(batched.parties, whole.parties)
    assert_frame_equal(batched.quarantine, whole.quarantine)


def _tables(store: Path) -> dict[str, pl.DataFrame]:
    st = Store(store, create=False)
    return {
        "transfers": st.transfers().collect().sort("source", "tx_id"),
        "parties": st.parties().collect(),
        "quarantine": st.quarantine().collect().sort("drop_id", "file", "row", "message"),
        "drops": st.drops().drop("ingested_at"),
    }


def test_batched_ingest_equals_whole_file_ingest_across_drops(
    drops: tuple[Path, Path], tmp_path: Path
) -> None:
    first, later = drops
    summaries: dict[int, list[dict[str, object]]] = {}
    tables: dict[int, dict[str, pl.DataFrame]] = {}
    for batch_rows in (300, 1_000_000):
        store = tmp_path / f"store-{batch_rows}"
        runs = [
            finintel.ingest_to_store(d, store, now=NOW, batch_rows=batch_rows)
            for d in (first, later)
        ]
        summaries[batch_rows] = [{**s.to_dict(), "store": ""} for s in runs]
        tables[batch_rows] = _tables(store)
    assert summaries[300] == summaries[1_000_000]
    for name, frame in tables[1_000_000].items():
        assert_frame_equal(tables[300][name], frame)
    # the later drop's copies of stored rows are duplicates, its changed versions conflicts
    later_totals = summaries[300][1]["totals"]
    assert isinstance(later_totals, dict)
    assert later_totals["rows_duplicate"] > 200 and later_totals["rows_quarantined"] > 50
    q = tables[300]["quarantine"]
    stored_conflicts = q.filter(pl.col("message").str.contains("already stored"))
    assert stored_conflicts.height > 0
    assert all('"stored": true' in r for r in stored_conflicts["raw"])
    for run in summaries[300]:
        t = run["totals"]
        assert isinstance(t, dict)
        assert t["rows_in"] == t["rows_accepted"] + t["rows_duplicate"] + t["rows_quarantined"]


def test_zoneless_timestamps_are_counted_over_all_batches() -> None:
    with pytest.raises(DataError) as info:
        finintel.load(BAD / "naive_timestamps.parquet", batch_rows=1)
    assert info.value.code == "FI006"
    assert "2 timestamp(s) have no time zone (e.g. row 0)" in info.value.message


def test_batch_rows_must_be_positive() -> None:
    with pytest.raises(UsageError, match="batch_rows"):
        finintel.load(DEMO, batch_rows=0)


def test_raw_json_of_a_batched_quarantine_row_is_its_own(drops: tuple[Path, Path]) -> None:
    first, _ = drops
    q = finintel.load(first / "mto.parquet", batch_rows=100).quarantine
    raw = pl.read_parquet(first / "mto.parquet")
    bad = q.filter(pl.col("reason") == "unknown_currency").row(0, named=True)
    assert json.loads(bad["raw"])["mtcn"] == raw["mtcn"][bad["row"]]
