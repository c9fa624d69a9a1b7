"""The accounts a graph rule leaves out (``skipped``): counted by hash first, then by name."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from finintel.graph.tgraph import build
from finintel.typology.primitives.cycle import Cycle

KIND = Cycle()


def _transfers(seed: int, n: int = 3000) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    # a few hubs and many quiet accounts; some self-transfers and missing sides
    weights = np.r_[np.full(5, 40.0), np.ones(400)]
    names = np.array([f"ACC{i:04d}" for i in range(weights.size)])
    src = rng.choice(names, n, p=weights / weights.sum())
    dst = rng.choice(names, n, p=weights / weights.sum())
    frame = pl.DataFrame({"src_account": src, "dst_account": dst})
    return frame.with_columns(
        pl.when(pl.int_range(pl.len()) % 97 == 0)
        .then(None)
        .otherwise(pl.col("src_account"))
        .alias("src_account")
    )


def _naive(frame: pl.DataFrame, cap: int | None, excluded: list[str]) -> pl.DataFrame:
    moved = frame.filter(
        pl.col("src_account").is_not_null()
        & pl.col("dst_account").is_not_null()
        & (pl.col("src_account") != pl.col("dst_account"))
    )
    counts = pl.concat([moved["src_account"], moved["dst_account"]]).value_counts(name="degree")
    counts = counts.rename({counts.columns[0]: "account"}).cast({"degree": pl.Int64})
    over = pl.col("degree") > cap if cap is not None else pl.lit(False)
    return counts.filter(pl.col("account").is_in(excluded) | over).sort("account")


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("cap", [None, 0, 20, 200, 10_000])
def test_skipped_accounts_equal_a_count_by_name(seed: int, cap: int | None) -> None:
    frame = _transfers(seed)
    excluded = ["ACC0003", "ACC0300", "NOT-THERE"]
    params = {"max_degree": cap, "exclude": excluded}
    got = KIND.skipped(frame.lazy(), params).collect()
    want = _naive(frame, cap, excluded)
    assert got.to_dicts() == want.to_dicts()
    if cap == 200:  # the hubs, and the excluded quiet account with its whole degree
        assert 0 < got.height < 10 and "ACC0300" in got["account"].to_list()
    graph = build(
        frame.with_columns(
            tx_id=pl.int_range(pl.len()).cast(pl.String),
            ts=pl.lit(0).cast(pl.Datetime("us", "UTC")),
            amount_base=pl.lit(1.0),
            source=pl.lit("s"),
        ),
        max_degree=cap,
        exclude=excluded,
    )
    # the graph search leaves out the same accounts, with the same degrees
    there = got.filter(pl.col("account") != "NOT-THERE")
    assert dict(zip(graph.skipped, graph.skipped_degree, strict=True)) == dict(
        zip(there["account"], there["degree"], strict=True)
    )
