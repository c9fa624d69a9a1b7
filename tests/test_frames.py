"""compacted: a frame picked out of a larger one stops holding the larger one's buffers."""

from datetime import UTC, datetime

import polars as pl
from polars.testing import assert_frame_equal

from finintel.frames import compacted


def _buffer_bytes(frame: pl.DataFrame) -> int:
    return int(frame.to_arrow(compat_level=pl.CompatLevel.newest()).get_total_buffer_size())


def test_rows_picked_from_a_scan_hold_only_their_own_bytes(tmp_path):
    path = tmp_path / "big.parquet"
    pl.DataFrame({"id": [f"{i:064d}" for i in range(200_000)], "n": range(200_000)}).write_parquet(
        path
    )
    # a join keeps views into every buffer the scan read (the store's case)
    few = pl.DataFrame({"n": [7, 150_007]})
    picked = pl.scan_parquet(path).join(few.lazy(), on="n").collect()
    assert _buffer_bytes(picked) > 1_000_000  # the premise: the views pin the column
    kept = compacted(picked)
    assert _buffer_bytes(kept) < 2_000
    assert_frame_equal(kept, picked)


def test_types_and_an_empty_frame_survive():
    frame = pl.DataFrame(
        {
            "ts": [datetime(2025, 1, 1, tzinfo=UTC)],
            "kind": pl.Series(["person"], dtype=pl.Categorical),
            "ids": [["a", "b"]],
            "amount": [1.5],
        }
    )
    assert_frame_equal(compacted(frame), frame)
    empty = frame.clear()
    assert_frame_equal(compacted(empty), empty)
