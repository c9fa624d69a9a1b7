"""finintel run end to end on the committed demo drop: outputs, determinism, failure modes."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from click.testing import CliRunner

from finintel.cli import main
from finintel.schema import ALERTS

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "fixtures" / "demo" / "drop"


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_run_writes_alerts_and_report_deterministically(tmp_path: Path) -> None:
    code, out, err = _run(
        "run", str(DEMO), "--rules", str(ROOT / "rules"), "--out", str(tmp_path / "a"), "--json"
    )
    assert code == 0, err
    summary = json.loads(out)
    alerts = pl.read_parquet(tmp_path / "a" / "alerts.parquet")
    assert dict(alerts.schema) == ALERTS
    assert alerts.height == summary["alerts"] > 0
    assert alerts["alert_id"].n_unique() == alerts.height
    report = json.loads((tmp_path / "a" / "report.json").read_text())
    assert {i["drop_id"] for i in report["inputs"]} == {i["drop_id"] for i in summary["inputs"]}
    assert all(len(i["drop_id"]) == 64 for i in report["inputs"])
    assert {r["id"] for r in report["rules"]} == set(report["counts"]["alerts_by_typology"])
    assert all(r["fingerprint"] and r["version"] >= 1 for r in report["rules"])
    assert report["counts"]["alerts"] == alerts.height
    # every alert explains itself and carries its evidence
    assert alerts.filter(pl.col("explanation").str.len_chars() < 10).height == 0
    assert alerts.filter(pl.col("n_transfers") != pl.col("tx_ids").list.len()).height == 0
    # a rerun on the same input writes identical alerts, and the same run id
    code, out2, _ = _run(
        "run", str(DEMO), "--rules", str(ROOT / "rules"), "--out", str(tmp_path / "b"), "--json"
    )
    assert code == 0
    assert (tmp_path / "a" / "alerts.parquet").read_bytes() == (
        tmp_path / "b" / "alerts.parquet"
    ).read_bytes()
    assert json.loads(out2)["run_id"] == summary["run_id"]


def test_rules_are_checked_before_any_data_is_read(tmp_path: Path) -> None:
    bad = tmp_path / "rules" / "typologies"
    bad.mkdir(parents=True)
    (bad / "x.yaml").write_text(
        "id: x\ntitle: t\nfamily: f\ndescription: d\npattern:\n  kind: fan_inn\n"
    )
    code, _, err = _run(
        "run",
        str(tmp_path / "no-such-drop"),
        "--rules",
        str(tmp_path / "rules"),
        "--out",
        str(tmp_path / "o"),
    )
    assert code == 1
    assert "FI104" in err and "fan_inn" in err and "did you mean 'fan_in'" in err
    assert "no-such-drop" not in err
    assert not (tmp_path / "o").exists()


def test_failed_run_leaves_previous_output(tmp_path: Path) -> None:
    out = tmp_path / "o"
    assert _run("run", str(ROOT / "fixtures" / "bad" / "good.parquet"), "--out", str(out))[0] == 0
    before = (out / "alerts.parquet").read_bytes()
    code, _, err = _run(
        "run", str(ROOT / "fixtures" / "bad" / "corrupt.parquet"), "--out", str(out)
    )
    assert code == 1 and "FI002" in err
    assert (out / "alerts.parquet").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o"]


def test_rules_commands(tmp_path: Path) -> None:
    code, out, _ = _run("rules", "check", str(ROOT / "rules"), "--json")
    assert code == 0 and json.loads(out)["counts"]["errors"] == 0
    code, out, _ = _run("rules", "list", "--json")
    ids = [r["id"] for r in json.loads(out)["rules"]]
    assert len(ids) >= 20 and "mss-transit-collector" in ids
    code, out, _ = _run("rules", "schema")
    schema = json.loads(out)
    assert code == 0 and "$schema" in schema
    broken = tmp_path / "r.yaml"
    broken.write_text(
        "id: r\ntitle: t\nfamily: f\ndescription: d\npattern:\n  kind: fan_in\n  window: [1]\n"
    )
    code, _, err = _run("rules", "check", str(broken))
    assert code == 1
    assert f"{broken}:7:11: FI102" in err or f"{broken}:7:11: FI105" in err, err


def test_rules_check_data_resolution_and_fail_on_issues(tmp_path: Path) -> None:
    rule = tmp_path / "r.yaml"
    rule.write_text(
        "id: r\ntitle: t\nfamily: f\ndescription: d\nreferences: [x]\ntunable: [window]\n"
        "pattern:\n  kind: agent_concentration\n  window: 12h\n"
    )
    code, _, err = _run("rules", "check", str(rule))
    assert code == 0, err
    code, _, err = _run("rules", "check", str(rule), "--data-resolution", "1d")
    assert code == 0 and "FI151" in err  # a warning: reported, not failing by default
    code, _, err = _run("rules", "check", str(rule), "--data-resolution", "1d", "--fail-on-issues")
    assert code == 1 and "FI151" in err
    code, _, err = _run("rules", "check", str(rule), "--data-resolution", "soon")
    assert code == 2 and "--data-resolution" in err


def test_deterministic_reruns_write_identical_files(tmp_path: Path) -> None:
    for name in ("a", "b"):
        code, _, err = _run("run", str(DEMO), "--out", str(tmp_path / name), "--deterministic", "--run-id", "JIT-7",
                            "--format", "json,parquet,csv,graphml,gexf")  # fmt: skip
        assert code == 0, err
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert "report.json" in files and "links.csv" in files
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    report = json.loads((tmp_path / "a" / "report.json").read_text())
    assert report["run"]["run_id"] == "JIT-7" and report["run"]["started_at"] is None
