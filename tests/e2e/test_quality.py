"""The quality bar of the shipped rule library on a generated drop (issue #3).

On 200k generated transfers (fixed seed) every injected windowed family must be recalled
(≥ 0.95) with account-level precision ≥ 0.8 and no near miss flagged by more than a quarter.
A family that does not reach the precision bar goes in PRECISION_GAPS (a strict expected
failure, so the day it passes the test says so).
"""

from __future__ import annotations

from pathlib import Path

import pytest

import finintel
from finintel.backtest import Evaluation, evaluate_files

SIZE, SEED = 200_000, 7
FAMILIES = (
    "structuring", "fan_in", "fan_out", "pass_through", "corridor", "funnel_account",
    "agent_hopping", "many_payout_agents", "shared_identifier", "complicit_agent",
    "smuggling_network",
    # graph families (issue #4)
    "cycle", "ring", "scatter_gather", "gather_scatter", "bipartite", "stack", "layering_chain",
)  # fmt: skip
#: Families whose account-level precision is still below 0.8 with the shipped defaults; they run
#: as strict expected failures. (Cycles and rings were here — companies paying each other back and
#: forth, suppliers invoicing in rings — until their rules demanded a member whose business in the
#: meantime is mostly the cycle, ``flow_share_max``: seed 7 cycle 0.74 -> 1.0, ring 0.59 -> 0.90.)
PRECISION_GAPS: tuple[str, ...] = ()


@pytest.fixture(scope="module")
def evaluation(tmp_path_factory: pytest.TempPathFactory) -> Evaluation:
    root = tmp_path_factory.mktemp("quality")
    finintel.generate(root / "gen", transfers=SIZE, seed=SEED)
    finintel.run(root / "gen" / "drop", "rules", root / "out")
    return evaluate_files(root / "gen" / "truth.parquet", root / "out" / "alerts.parquet")


@pytest.mark.slow
@pytest.mark.parametrize("family", FAMILIES)
def test_recall(evaluation: Evaluation, family: str) -> None:
    score = evaluation.by_family()[family]
    assert score.cases >= 6
    assert score.alert_recall is not None and score.alert_recall >= 0.95, score.to_dict()
    assert score.account_recall is not None and score.account_recall >= 0.95, score.to_dict()


@pytest.mark.slow
@pytest.mark.parametrize(
    "family",
    [
        pytest.param(
            f, marks=pytest.mark.xfail(strict=True, reason="precision gap, see PRECISION_GAPS")
        )
        if f in PRECISION_GAPS
        else f
        for f in FAMILIES
    ],
)
def test_account_precision(evaluation: Evaluation, family: str) -> None:
    score = evaluation.by_family()[family]
    assert score.account_precision is not None and score.account_precision >= 0.8, score.to_dict()
    assert score.near_miss_flagged <= max(1, score.near_miss_cases // 4), score.to_dict()


def test_truth_families_are_all_covered_by_a_rule() -> None:
    rules = finintel.load_rules(Path(__file__).resolve().parents[2] / "rules")
    assert set(FAMILIES) <= {r.family for r in rules.rules}
