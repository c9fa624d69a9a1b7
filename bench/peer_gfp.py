"""Peer 2: IBM's Graph Feature Preprocessor (``snapml``) on the canonical transfers.

GFP computes per-transfer graph features: fan-in/fan-out degrees, scatter-gather and temporal
cycle counts in a time window, on ``[edge id, src, dst, seconds]`` rows, with the same thread
count as the machine. Its features are histograms per edge (how many patterns of each size
the edge takes part in), not pattern instances, so only the time is compared with finintel's
graph kinds; the totals GFP finds are recorded alongside. When ``snapml`` is not installed
(or does not run here) the step records why.
"""

from __future__ import annotations

import os
import time
from typing import Any

from common import canonical_for

WINDOW_S = 7 * 86_400


FEATURES = ("fan", "scatter-gather", "temp-cycle")


def gfp(size: int, feature: str) -> dict[str, Any]:
    """One GFP feature family (``fan``, ``scatter-gather`` or ``temp-cycle``) of every
    transfer, timed (the graph is handed over as a numpy array, not timed)."""
    try:
        from snapml import GraphFeaturePreprocessor
    except ImportError as exc:  # recorded, not hidden
        return {"seconds": None, "error": f"snapml not available: {exc}"}
    import numpy as np
    import polars as pl

    frame = pl.read_parquet(
        canonical_for(size), columns=["src_account", "dst_account", "ts"]
    ).drop_nulls()
    ids = pl.concat([frame["src_account"], frame["dst_account"]]).unique().sort()
    codes = pl.DataFrame({"a": ids, "i": pl.int_range(ids.len(), eager=True)})
    edges = (
        frame.join(codes.rename({"a": "src_account", "i": "u"}), on="src_account")
        .join(codes.rename({"a": "dst_account", "i": "v"}), on="dst_account")
        .sort("ts")
        .select(pl.int_range(pl.len()).alias("e"), "u", "v", pl.col("ts").dt.epoch("s").alias("t"))
        .to_numpy()
        .astype(np.float64)
    )
    threads = os.cpu_count() or 1
    params: dict[str, Any] = {
        "num_threads": threads,
        "vertex_stats": False,
        "degree": False,
        "lc-cycle": False,
        **{f: f == feature for f in FEATURES},
        **{f"{f}_tw": WINDOW_S for f in FEATURES},
    }
    g = GraphFeaturePreprocessor()
    g.set_params(params)
    start = time.perf_counter()
    features = g.fit_transform(edges)
    seconds = time.perf_counter() - start
    extra = features[:, edges.shape[1] :]
    return {
        "seconds": seconds,
        "edges": int(edges.shape[0]),
        "threads": threads,
        "feature_columns": int(extra.shape[1]),
        "nonzero_cells": int(np.count_nonzero(extra)),
    }
