"""Frames that hold only their own rows' bytes.

polars keeps strings as views into shared buffers. A frame picked out of a larger one — a
filter, a join, a streamed query's few result rows — still points into the buffers its rows
were read from, and keeps all of them alive: 659 rows picked out of a store's 59M parties held
1 GB, and the windows kept from each time chunk would hold every chunk's transfers to the end of
a run. Results that outlive the data they came from are compacted.
"""

from __future__ import annotations

import io

import polars as pl

__all__ = ["compacted"]


def compacted(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` in buffers of its own (written to Arrow IPC in memory and read back: the
    only copy that drops the unused bytes of a view's buffers; ``rechunk`` and
    ``shrink_to_fit`` keep them).

    >>> big = pl.DataFrame({"s": [f"{i:0100d}" for i in range(10_000)]})
    >>> one = compacted(big.tail(1))
    >>> one.to_arrow(compat_level=pl.CompatLevel.newest()).get_total_buffer_size() < 1_000
    True
    """
    out = io.BytesIO()
    frame.write_ipc(out)
    return pl.read_ipc(out.getvalue())
