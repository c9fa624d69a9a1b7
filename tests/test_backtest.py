"""Back-testing: precision and recall per family on hand-computed cases."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from finintel.backtest import evaluate, evaluate_files
from finintel.cli import main
from finintel.errors import DataError

TRUTH = pl.DataFrame(
    {
        "case_id": ["f1", "f1", "f2", "f3", "s1"],
        "family": ["fan_in", "fan_in", "fan_in", "fan_in", "structuring"],
        "entity": ["C1", "S1", "C2", "C3", "X1"],
        "role": ["collector", "sender", "collector", "collector", "structurer"],
        "tx_ids": [["t1"], ["t1"], ["t2"], ["t3"], ["t9"]],
        "near_miss": [False, False, False, True, False],
    }
)
ALERTS = pl.DataFrame(
    {
        "alert_id": ["a1", "a2", "a3", "a4"],
        "family": ["fan_in", "fan_in", "fan_in", "structuring"],
        "focus": ["C1", "Z9", "C3", "Q"],
        "tx_ids": [["t1"], ["t7"], ["t3"], ["t9"]],
    }
)


def test_scores_per_family() -> None:
    result = evaluate(TRUTH, ALERTS).by_family()
    fan = result["fan_in"]
    # two real cases (f1, f2), one near miss (f3). a1 hits f1; a2 is noise; a3 hits the near miss.
    assert (fan.cases, fan.alerts, fan.alerts_correct, fan.cases_hit) == (2, 3, 1, 1)
    assert fan.alert_precision == pytest.approx(1 / 3, abs=1e-4)
    assert fan.alert_recall == 0.5
    assert (fan.accounts_flagged, fan.accounts_correct) == (3, 1)
    assert fan.account_recall == 0.5
    assert (fan.near_miss_cases, fan.near_miss_flagged) == (1, 1)
    st = result["structuring"]
    # found through shared evidence although the focus is another entity
    assert (st.alert_precision, st.alert_recall, st.account_precision) == (1.0, 1.0, 0.0)


def test_eval_cli_and_bad_files(tmp_path: Path) -> None:
    TRUTH.write_parquet(tmp_path / "truth.parquet")
    ALERTS.write_parquet(tmp_path / "alerts.parquet")
    result = CliRunner().invoke(
        main,
        [
            "eval",
            "--truth",
            str(tmp_path / "truth.parquet"),
            "--alerts",
            str(tmp_path / "alerts.parquet"),
        ],
    )
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0].startswith("family")
    assert "fan_in" in result.stdout
    ALERTS.drop("focus").write_parquet(tmp_path / "bad.parquet")
    with pytest.raises(DataError) as info:
        evaluate_files(tmp_path / "truth.parquet", tmp_path / "bad.parquet")
    assert info.value.code == "FI051" and "focus" in info.value.message


def test_a_collector_network_is_also_a_fan_in() -> None:
    truth = pl.DataFrame(
        {"case_id": ["n1", "f1"], "family": ["smuggling_network", "fan_in"], "entity": ["K", "C"],
         "role": ["collector", "collector"], "tx_ids": [["t1"], ["t2"]], "near_miss": [False, False]}
    )  # fmt: skip
    alerts = pl.DataFrame(
        {
            "alert_id": ["a1", "a2"],
            "family": ["fan_in", "fan_in"],
            "focus": ["K", "C"],
            "tx_ids": [["t1"], ["t2"]],
        }
    )
    fan = evaluate(truth, alerts).by_family()["fan_in"]
    # both alerts are correct; recall counts only the fan_in case
    assert (fan.alerts_correct, fan.cases, fan.cases_hit, fan.account_precision) == (2, 1, 1, 1.0)
