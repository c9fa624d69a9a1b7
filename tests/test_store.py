"""The canonical store (finintel.store): Delta tables, drops, de-duplication, versions."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from finintel.errors import DataError, UsageError
from finintel.ingest.dedupe import CONFLICT_REASON, row_hash_expr
from finintel.ingest.result import FileBatch, FileCounts
from finintel.schema import PARTIES, QUARANTINE, TRANSFERS, conform
from finintel.store import DROPS, RUNS, STORED_TRANSFERS, Store

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
KEY = ["source", "tx_id"]


def tx(tx_id: str, row: int, amount: float = 100.0, **kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "tx_id": tx_id,
        "ts": datetime(2025, 1, 15, 10, 30, tzinfo=UTC),
        "src_account": "DE01",
        "dst_account": "DE02",
        "amount": amount,
        "currency": "EUR",
        "amount_base": amount,
        "channel": "bank",
        "source": "bankA",
        "status": "completed",
        "row": row,
    }
    base.update(kw)
    return base


def party(party_id: str, name: str, **kw: Any) -> dict[str, Any]:
    return {"party_id": party_id, "name": name, "source": "bankA", **kw}


def make_batch(
    name: str,
    rows: list[dict[str, Any]],
    parties: list[dict[str, Any]] | None = None,
    rejects: int = 0,
) -> FileBatch:
    """One file's batch as the reader makes it; ``drop_id`` is derived from ``name``."""
    schema = {**TRANSFERS, "row": pl.Int64()}
    if rows:
        lf = conform(pl.LazyFrame(rows, schema_overrides={"row": pl.Int64}), schema)
    else:
        lf = pl.DataFrame(schema=schema).lazy()
    transfers = lf.with_columns(row_hash_expr()).collect()
    quarantine = pl.DataFrame(
        [
            {
                "source": "bankA",
                "file": name,
                "row": len(rows) + i,
                "column": "amount",
                "reason": "not_positive",
                "message": "amount must be > 0",
                "raw": '{"amount": -1}',
            }
            for i in range(rejects)
        ],
        schema=QUARANTINE,
    )
    party_frame = (
        conform(pl.LazyFrame(parties), PARTIES).collect()
        if parties
        else pl.DataFrame(schema=PARTIES)
    )
    counts = FileCounts(
        file=name,
        source="bankA",
        profile="canonical",
        drop_id=hashlib.sha256(name.encode()).hexdigest(),
        size_bytes=1000,
        rows_in=len(rows) + rejects,
        rows_accepted=len(rows),
        rows_quarantined=rejects,
        parties=party_frame.height,
        kind="transfers" if rows or not parties else "parties",
    )
    return FileBatch(counts, transfers, party_frame, quarantine)


def canonical(batch: FileBatch) -> pl.DataFrame:
    return batch.transfers.select(list(TRANSFERS))


def read(store: Store, as_of: int | None = None) -> pl.DataFrame:
    return store.transfers(as_of).collect().sort(KEY)


def feb(tx_id: str, row: int, **kw: Any) -> dict[str, Any]:
    return tx(tx_id, row, ts=datetime(2025, 2, 3, tzinfo=UTC), **kw)


FILE1 = make_batch(
    "jan.parquet",
    [tx("t1", 0), tx("t2", 1, amount=50.5, reference="rent"), feb("t3", 2)],
    parties=[party("p1", "Ann Lee", birth_date=date(1980, 5, 1)), party("p2", "Bo Chan")],
    rejects=1,
)
FILE2 = make_batch("feb.parquet", [feb("t4", 0, source="mtoB", channel="mto"), feb("t5", 1)])


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "store")


def test_new_store_has_the_tables_with_their_schemas(store: Store) -> None:
    assert store.version() == 0
    assert store.drops().schema == pl.Schema(DROPS)
    assert store.runs().schema == pl.Schema(RUNS)
    assert store.transfers().collect_schema() == pl.Schema(TRANSFERS)
    assert store.parties().collect_schema() == pl.Schema(PARTIES)
    assert store.quarantine().collect().is_empty()
    stored = pl.scan_delta(str(store.path / "transfers")).collect_schema()
    assert stored == pl.Schema(STORED_TRANSFERS)
    assert Store(store.path, create=False).version() == 0


def test_ingest_two_files_reads_back_the_input(store: Store) -> None:
    c1 = store.ingest(FILE1, now=NOW)
    c2 = store.ingest(FILE2, now=NOW)
    assert not c1.skipped and not c2.skipped
    assert (c1.rows_in, c1.rows_accepted, c1.rows_duplicate, c1.rows_quarantined) == (4, 3, 0, 1)
    assert c1.balanced and c2.balanced
    expected = pl.concat([canonical(FILE1), canonical(FILE2)]).sort(KEY)
    assert_frame_equal(read(store), expected)
    assert_frame_equal(store.parties().collect().sort("party_id"), FILE1.parties.sort("party_id"))
    q = store.quarantine().collect()
    assert q["reason"].to_list() == ["not_positive"]
    assert q["drop_id"].to_list() == [FILE1.counts.drop_id]

    drops = store.drops()
    assert drops["file"].to_list() == ["jan.parquet", "feb.parquet"]
    assert drops["ingested_at"].to_list() == [NOW, NOW]
    assert drops["transfers_version"].to_list() == [c1.transfers_version, c2.transfers_version]
    assert drops["transfers_version"].to_list() == [1, 2]
    assert store.version() == 2
    assert store.has_drop(FILE1.counts.drop_id)
    assert not store.has_drop("0" * 64)


def test_transfers_are_partitioned_by_month_on_disk(store: Store) -> None:
    store.ingest(FILE1, now=NOW)
    folders = sorted(p.name for p in (store.path / "transfers").iterdir() if p.is_dir())
    assert folders == ["_delta_log", "month=2025-01", "month=2025-02"]
    on_disk = pl.read_delta(str(store.path / "transfers"))
    assert sorted(on_disk["month"].unique()) == ["2025-01", "2025-02"]
    assert on_disk["row_hash"].to_list() != [None] * 3


def test_reingesting_a_drop_changes_nothing(store: Store) -> None:
    first = store.ingest(FILE1, now=NOW)
    versions = {name: _delta_version(store, name) for name in ("transfers", "parties", "drops")}
    again = store.ingest(FILE1, now=datetime(2030, 1, 1, tzinfo=UTC))
    assert again.skipped
    assert again.transfers_version == first.transfers_version
    assert again.to_dict() | {"skipped": False} == first.to_dict()
    assert {name: _delta_version(store, name) for name in versions} == versions
    assert store.drops().height == 1


def test_same_tx_in_another_file_of_the_source_is_a_duplicate(store: Store) -> None:
    store.ingest(FILE1, now=NOW)
    later = make_batch("jan-again.parquet", [tx("t1", 0), tx("t9", 1)])
    counts = store.ingest(later, now=NOW)
    assert (counts.rows_accepted, counts.rows_duplicate, counts.rows_quarantined) == (1, 1, 0)
    assert read(store).filter(pl.col("tx_id") == "t1").height == 1


def test_conflict_with_stored_is_quarantined_and_stored_stays(store: Store) -> None:
    store.ingest(FILE1, now=NOW)
    changed = make_batch("fix.parquet", [tx("t2", 7, amount=51.0, reference="rent")])
    counts = store.ingest(changed, now=NOW)
    assert (counts.rows_accepted, counts.rows_quarantined) == (0, 1)
    assert read(store).filter(pl.col("tx_id") == "t2")["amount"].to_list() == [50.5]
    q = store.quarantine().filter(pl.col("reason") == CONFLICT_REASON).collect()
    assert q["row"].to_list() == [7]
    assert q["file"].to_list() == ["fix.parquet"]
    assert q["drop_id"].to_list() == [changed.counts.drop_id]
    assert q["message"][0] == (
        "tx_id 't2' is already stored with different content: "
        "amount 50.5 (stored) vs 51.0 (this file)"
    )
    stored_version = json.loads(q["raw"][0])["conflicts_with"][0]
    assert stored_version["drop_id"] == FILE1.counts.drop_id


def test_conflict_across_months_is_found(store: Store) -> None:
    store.ingest(FILE1, now=NOW)
    moved = make_batch("moved.parquet", [feb("t1", 0)])  # t1 is stored in January
    counts = store.ingest(moved, now=NOW)
    assert counts.rows_quarantined == 1
    q = store.quarantine().filter(pl.col("drop_id") == moved.counts.drop_id).collect()
    assert q["message"].to_list() == [
        "tx_id 't1' is already stored with different content: "
        "ts 2025-01-15T10:30:00Z (stored) vs 2025-02-03T00:00:00Z (this file)"
    ]


def test_as_of_reads_an_earlier_version(store: Store) -> None:
    v1 = store.ingest(FILE1, now=NOW).transfers_version
    store.ingest(FILE2, now=NOW)
    assert v1 is not None
    assert_frame_equal(read(store, as_of=v1), canonical(FILE1).sort(KEY))
    assert read(store, as_of=0).is_empty()
    assert read(store).height == 5
    with pytest.raises(UsageError, match="store version 99 does not exist") as err:
        store.transfers(as_of=99)
    assert err.value.code == "FI043"


def test_a_file_is_appended_in_slices_and_committed_by_its_drops_row(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # two rows per Delta commit: FILE1's three transfers take two commits, FILE2's two one
    monkeypatch.setattr("finintel.store._APPEND_ROWS", 2)
    v1 = store.ingest(FILE1, now=NOW).transfers_version
    v2 = store.ingest(FILE2, now=NOW).transfers_version
    assert (v1, v2) == (2, 3)
    assert store.version() == 3
    assert_frame_equal(read(store), pl.concat([canonical(FILE1), canonical(FILE2)]).sort(KEY))
    # the version holding FILE1's first slice only is before FILE1's drops row: nothing of it
    assert read(store, as_of=1).is_empty()
    assert_frame_equal(read(store, as_of=v1), canonical(FILE1).sort(KEY))
    # a file with no transfers still commits once: its drop has a version of its own
    none = make_batch("empty.parquet", [])
    assert store.ingest(none, now=NOW).transfers_version == 4


def test_parties_are_distinct_by_content_within_source(store: Store) -> None:
    store.ingest(FILE1, now=NOW)
    v1 = store.version()
    update = make_batch(
        "kyc.parquet",
        [],
        parties=[
            party("p1", "Ann Lee", birth_date=date(1980, 5, 1)),  # the same: not stored again
            party("p2", "Bo Chan", address="1 Main St"),  # a new version of p2
            party("p1", "Ann Lee", source="mtoB", birth_date=date(1980, 5, 1)),  # other source
        ],
    )
    counts = store.ingest(update, now=NOW)
    assert counts.kind == "parties"
    # A parties-only drop still gets its own version, so as_of separates it.
    assert store.version() == counts.transfers_version == v1 + 1
    parties = store.parties().collect().sort("party_id", "address", nulls_last=False)
    assert parties.height == 4
    assert parties.filter(pl.col("party_id") == "p2")["address"].to_list() == [None, "1 Main St"]
    assert store.parties(as_of=v1).collect().height == 2


def test_a_store_made_before_devices_and_ip_addresses_gains_them(store: Store) -> None:
    store.ingest(FILE1, now=NOW)
    # the parties table as stores made before device_id / ip_address have it
    table = str(store.path / "parties")
    old = pl.read_delta(table).drop("device_id", "ip_address")
    old.write_delta(table, mode="overwrite", delta_write_options={"schema_mode": "overwrite"})
    assert "device_id" not in pl.read_delta(table).columns
    assert store.parties().collect()["device_id"].to_list() == [None, None]  # read as null
    update = make_batch(
        "app.parquet", [], parties=[party("p3", "Cy Dee", device_id="d-1", ip_address="10.0.0.1")]
    )
    store.ingest(update, now=NOW)
    got = store.parties().collect().sort("party_id").select("party_id", "device_id", "ip_address")
    assert got.rows() == [("p1", None, None), ("p2", None, None), ("p3", "d-1", "10.0.0.1")]


def test_killed_ingest_is_redone_without_duplicates(tmp_path: Path) -> None:
    clean = Store(tmp_path / "clean")
    clean.ingest(FILE2, now=NOW)
    clean.ingest(FILE1, now=NOW)

    store = Store(tmp_path / "killed")
    store.ingest(FILE2, now=NOW)
    # A run killed after writing FILE1's rows to every table but before its drops row:
    drop_id = FILE1.counts.drop_id
    tag = pl.lit(drop_id).alias("drop_id")
    month = pl.col("ts").dt.strftime("%Y-%m").alias("month")
    leftovers = {
        "transfers": conform(FILE1.transfers.lazy(), STORED_TRANSFERS).with_columns(tag, month),
        "parties": FILE1.parties.lazy().with_columns(tag),
        "quarantine": FILE1.quarantine.lazy().with_columns(tag),
    }
    for table, frame in leftovers.items():
        frame.collect().write_delta(
            str(store.path / table),
            mode="append",
            delta_write_options={"partition_by": ["month"]} if table == "transfers" else None,
        )
    assert not store.has_drop(drop_id)
    # The uncommitted rows are invisible.
    assert read(store).height == 2
    assert store.parties().collect().is_empty()
    assert store.quarantine().collect().is_empty()

    counts = store.ingest(FILE1, now=NOW)
    assert (counts.rows_accepted, counts.rows_duplicate, counts.rows_quarantined) == (3, 0, 1)
    assert_frame_equal(read(store), read(clean))
    # Only the version numbers differ: the killed run and its clean-up were commits too.
    version = "transfers_version"
    assert_frame_equal(store.drops().drop(version), clean.drops().drop(version))
    for table in ("transfers", "parties", "quarantine"):
        on_disk = pl.read_delta(str(store.path / table))
        assert on_disk.height == pl.read_delta(str(clean.path / table)).height, table


def test_same_files_same_order_same_contents(tmp_path: Path) -> None:
    def build(name: str) -> Store:
        s = Store(tmp_path / name)
        for batch in (FILE1, FILE2, FILE1):
            s.ingest(batch, now=NOW)
        return s

    a, b = build("a"), build("b")
    for table in ("transfers", "parties", "quarantine", "drops"):
        left = pl.read_delta(str(a.path / table))
        right = pl.read_delta(str(b.path / table))
        assert_frame_equal(left.sort(left.columns), right.sort(right.columns))


def test_a_folder_that_is_not_a_store_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "photos"
    other.mkdir()
    (other / "cat.jpg").write_bytes(b"\xff\xd8")
    with pytest.raises(DataError) as err:
        Store(other)
    assert err.value.code == "FI040"
    assert str(other) in str(err.value)
    assert [p.name for p in other.iterdir()] == ["cat.jpg"]

    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    with pytest.raises(DataError, match="FI040"):
        Store(a_file)


def test_missing_store_without_create(tmp_path: Path) -> None:
    with pytest.raises(DataError) as err:
        Store(tmp_path / "none", create=False)
    assert err.value.code == "FI041"
    assert not (tmp_path / "none").exists()


def test_empty_folder_becomes_a_store(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert Store(tmp_path / "empty").version() == 0


def test_a_broken_table_is_named(store: Store) -> None:
    for log in (store.path / "parties" / "_delta_log").iterdir():
        log.unlink()
    with pytest.raises(DataError, match="'parties'") as err:
        store.parties()
    assert err.value.code == "FI042"


def _delta_version(store: Store, table: str) -> int:
    from deltalake import DeltaTable

    return int(DeltaTable(str(store.path / table)).version())


def test_dedupe_against_the_store_reads_only_the_rows_of_the_batch_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import finintel.store as store_module

    store = Store(tmp_path / "store")
    store.ingest(make_batch("a", [tx(f"t{i}", i) for i in range(200)]), now=NOW)
    seen: dict[str, Any] = {}
    real = store_module.dedupe

    def spy(batch: FileBatch, existing: Any) -> FileBatch:
        seen["existing"] = existing
        return real(batch, existing)

    monkeypatch.setattr(store_module, "dedupe", spy)
    rows = [tx("t1", 0), tx("t2", 1, amount=5.0), tx("new", 2), tx("t1", 3)]
    counts = store.ingest(make_batch("b", rows), now=NOW)
    assert (counts.rows_accepted, counts.rows_duplicate, counts.rows_quarantined) == (1, 2, 1)
    assert counts.rows_in == counts.rows_accepted + counts.rows_duplicate + counts.rows_quarantined
    # the stored history is scanned lazily, filtered to the batch's keys: never read whole
    existing = seen["existing"]
    assert isinstance(existing, pl.LazyFrame)
    assert sorted(existing.collect()["tx_id"]) == ["t1", "t2"]
    assert sorted(store.transfers().collect()["tx_id"]) == sorted(
        [f"t{i}" for i in range(200)] + ["new"]
    )
