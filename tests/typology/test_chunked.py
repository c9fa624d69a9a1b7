"""Time-chunked local detection (``time_chunks``) gives exactly the un-chunked alerts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from click.testing import CliRunner
from polars.testing import assert_frame_equal

import finintel
from finintel.cli import main
from finintel.errors import UsageError
from finintel.schema import MOVED_STATUS
from finintel.typology.chunks import Grid

RULES = Path(__file__).resolve().parents[2] / "rules"
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def _same(a: finintel.Alerts, b: finintel.Alerts) -> None:
    assert_frame_equal(a.table, b.table)
    assert a.rules == b.rules


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any, finintel.Alerts]:
    root = tmp_path_factory.mktemp("gen")
    finintel.generate(root, transfers=30_000, seed=7)
    ds = finintel.load(root / "drop")
    rules = finintel.load_rules(RULES)
    return ds, rules, finintel.detect(ds, rules)


@pytest.mark.parametrize("n", [2, 3, 7])
def test_generated_drop_chunked_equals_whole(generated: Any, n: int) -> None:
    ds, rules, whole = generated
    assert len(whole) > 200  # every family alerts on the generated drop
    _same(finintel.detect(ds, rules, time_chunks=n), whole)


# ------------------------------------------------------------------ hand-built boundaries


def _day(d: float) -> datetime:
    return T0 + timedelta(days=d)


def _rows() -> list[dict[str, Any]]:
    """Background at day 0 and 360 (so 4 chunks border at days 90, 180 and 270) and four
    patterns across those borders."""
    rows: list[tuple[str, float, str, str, float]] = [
        ("bg0", 0, "X1", "X2", 10.0),
        ("bg1", 360, "X2", "X1", 10.0),
    ]
    # fan-in: six senders pay R between day 86 and 94 (the 30d window straddles day 90)
    rows += [(f"f{k}", 86 + 1.6 * k, f"S{k}", "R", 100.0) for k in range(6)]
    # structuring: 950 EUR a day from day 176 to 184: 2d windows merge across day 180
    rows += [(f"s{k}", 176 + k + 0.5, "STR", f"P{k}", 950.0) for k in range(9)]
    # cycle A -> B -> C -> A around day 270
    rows += [
        ("c1", 268, "A", "B", 10_000.0),
        ("c2", 271, "B", "C", 9_900.0),
        ("c3", 273, "C", "A", 9_800.0),
    ]
    # dormancy: D active on day 1, quiet until day 200 (the gap spans two borders)
    rows += [("d0", 1, "D", "Q0", 50.0)]
    rows += [(f"d{k}", 200 + 0.2 * k, "D", f"Q{k}", 3_000.0) for k in range(1, 4)]
    return [
        {
            "tx_id": tx, "ts": _day(day), "src_account": src, "dst_account": dst,
            "amount": amount, "currency": "EUR", "amount_base": amount, "source": "bank",
            "channel": "bank", "status": "completed", "src_country": "NL", "dst_country": "NL",
        }
        for tx, day, src, dst, amount in rows
    ]  # fmt: skip


RULE_FILES = {
    "fan.yaml": """
id: t-fan-in
version: 1
title: fan-in
family: fan_in
severity: medium
description: test
pattern: {kind: fan_in, window: 30d, min_counterparties: 5, min_countries: 0}
""",
    "structuring.yaml": """
id: t-structuring
version: 1
title: structuring
family: structuring
severity: medium
description: test
pattern: {kind: structuring, threshold: 1000, band: 0.1, min_count: 2, window: 2d, side: out}
""",
    "cycle.yaml": """
id: t-cycle
version: 1
title: cycle
family: ring
severity: medium
description: test
pattern: {kind: cycle, min_length: 3, max_length: 4, window: 30d}
""",
    "dormant.yaml": """
id: t-dormant
version: 1
title: dormant
family: dormant_then_active
severity: low
description: test
pattern: {kind: dormant_then_active, dormancy: 90d, window: 7d, min_count: 3, min_amount: 5000}
""",
}


@pytest.fixture(scope="module")
def boundary(tmp_path_factory: pytest.TempPathFactory) -> tuple[pl.DataFrame, Any]:
    root = tmp_path_factory.mktemp("rules")
    for name, text in RULE_FILES.items():
        (root / name).write_text(text.lstrip(), encoding="utf-8")
    return pl.DataFrame(_rows()), finintel.load_rules(root)


def test_boundary_grid_is_as_built() -> None:
    lo = int(_day(0).timestamp() * 1e6)
    grid = Grid.over(lo, int(_day(360).timestamp() * 1e6), 4)
    borders = [(grid.bounds(c)[0] - lo) / 86_400e6 for c in range(1, 4)]
    assert [round(b) for b in borders] == [90, 180, 270]


@pytest.mark.parametrize("n", [2, 3, 4, 5, 7])
def test_patterns_across_chunk_borders_found_once(boundary: Any, n: int) -> None:
    frame, rules = boundary
    whole = finintel.detect(frame, rules)
    found = {(r["typology"], r["focus"]): r for r in whole.table.iter_rows(named=True)}
    assert sorted(found) == [
        ("t-cycle", "cycle:A>B>C"),
        ("t-dormant", "D"),
        ("t-fan-in", "R"),
        ("t-structuring", "STR"),
    ]
    assert found[("t-fan-in", "R")]["n_transfers"] == 6
    assert found[("t-structuring", "STR")]["n_transfers"] == 9  # one period across day 180
    assert found[("t-cycle", "cycle:A>B>C")]["tx_ids"] == ["c1", "c2", "c3"]
    gap = (_day(200.2) - _day(1)).total_seconds()  # from day 1 to the burst's first transfer
    assert json.loads(found[("t-dormant", "D")]["metrics"])["gap"] == gap
    _same(finintel.detect(frame, rules, time_chunks=n), whole)


def test_bad_time_chunks_value(boundary: Any) -> None:
    frame, rules = boundary
    for bad in (0, -2, "two", 1.5):
        with pytest.raises(UsageError) as err:
            finintel.detect(frame, rules, time_chunks=bad)
        assert err.value.code == "FI183"


# ------------------------------------------------------------------ store and CLI


def test_store_backed_run_with_time_chunks(generated: Any, tmp_path: Path) -> None:
    _, rules, whole = generated
    drop = tmp_path / "gen"
    finintel.generate(drop, transfers=30_000, seed=7)
    store = tmp_path / "store"
    finintel.ingest_to_store(drop / "drop", store)
    ds = finintel.load_store(store)
    # nothing read until a query collects it
    assert isinstance(ds.records, pl.LazyFrame) and isinstance(ds.parties, pl.LazyFrame)
    in_memory = finintel.load(drop / "drop")
    assert ds.count_parties() == in_memory.count_parties() == in_memory.parties.height > 0
    _same(finintel.detect(ds, rules, time_chunks=3), finintel.detect(ds, rules))
    chunked = finintel.run(drop / "drop", rules, tmp_path / "a", store=store, time_chunks=3)
    plain = finintel.run(drop / "drop", rules, tmp_path / "b", store=store)
    loaded = finintel.run(drop / "drop", rules, tmp_path / "c")
    assert chunked.alerts == plain.alerts == loaded.alerts == len(whole)
    # the report of a store (lazy records and parties) is the in-memory run's (the store's
    # quarantine also names each row's drop)
    written = sorted(p.name for p in (tmp_path / "c").glob("*.parquet"))
    written.remove("quarantine.parquet")
    assert {"alerts.parquet", "links.parquet", "shared.parquet"} <= set(written)
    for name in written:
        for other in ("a", "b"):
            assert_frame_equal(
                pl.read_parquet(tmp_path / other / name), pl.read_parquet(tmp_path / "c" / name)
            )


def test_cli_bad_time_chunks(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["run", str(tmp_path), "--rules", str(RULES), "--out", str(tmp_path / "o"),
         "--time-chunks", "zero"],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "FI183" in result.output and "--time-chunks" in result.output
    assert not (tmp_path / "o").exists()


def test_streamed_degree_count_with_party_kinds_equals_the_full_join(
    generated: Any, tmp_path: Path
) -> None:
    """A graph rule whose scope reads the party kinds counts its left-out accounts over the
    transfers touching the accounts it could leave out (with only their parties' kinds): the
    same accounts and degrees as over every transfer joined to every party's kind."""
    from finintel.typology.engine import prepare, skipped_accounts, streamed_skipped

    ds, _, _ = generated
    moved = ds.transfers.filter(pl.col("status") == MOVED_STATUS).collect()
    unscoped = (
        pl.concat([moved.select(a="src_account"), moved.select(a="dst_account")])
        .drop_nulls()
        .group_by("a")
        .len()
        .sort("len", "a", descending=[True, False])
    )
    busiest = unscoped.get_column("a").to_list()
    (tmp_path / "gs.yaml").write_text(
        f"""
id: t-gather-scatter
version: 1
title: gather-scatter among persons
family: gather_scatter
severity: high
description: test
scope:
  where: "src_party_kind is null or src_party_kind = 'person'"
pattern:
  kind: gather_scatter
  max_degree: 40
  exclude: [{busiest[300]!r}, no-such-account]
""".lstrip(),
        encoding="utf-8",
    )
    rules = finintel.load_rules(tmp_path)
    prepared = prepare(ds, rules)
    assert prepared.kinds is not None and prepared.kinds.height > 0
    want = skipped_accounts(rules.rules, prepared.transfers.collect().lazy(), prepared.lists)
    got = streamed_skipped(rules.rules, prepared)
    assert_frame_equal(got[0], want[0])
    found = dict(want[0].iter_rows())
    assert busiest[300] in found  # excluded, under the cap
    over = [a for a, n in found.items() if n > 40]
    assert len(over) >= 5
    # the scope matters: some hub has fewer transfers in it than in all the data
    total = dict(unscoped.iter_rows())
    assert any(found[a] < total[a] for a in over)
