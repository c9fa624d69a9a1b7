"""The CLI: exit codes, message texts, --json summaries; it only calls the public API."""

from __future__ import annotations

import json
from pathlib import Path

import click
import polars as pl
from click.testing import CliRunner

from finintel.cli import main
from finintel.graph.trace import DEFAULT_MAX_DEGREE

ROOT = Path(__file__).resolve().parent.parent
BAD = ROOT / "fixtures" / "bad"
PROFILES = ROOT / "fixtures" / "profiles"


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_ingest_json_summary_and_incremental_rerun(tmp_path: Path) -> None:
    store = tmp_path / "store"
    code, out, err = _run(
        "ingest", str(PROFILES), str(BAD / "bad_amounts.parquet"), "--store", str(store), "--json"
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["ok"] is True
    assert data["totals"] == {
        "rows_in": 12,
        "rows_accepted": 8,
        "rows_duplicate": 0,
        "rows_quarantined": 4,
    }
    for f in data["files"]:
        assert f["rows_in"] == f["rows_accepted"] + f["rows_duplicate"] + f["rows_quarantined"]
    version = data["store_version"]
    # again: every file is already in the store; nothing changes
    code, out, _ = _run("ingest", str(PROFILES), "--store", str(store), "--json")
    again = json.loads(out)
    assert code == 0 and again["files"] == [] and len(again["skipped"]) == 3
    assert again["store_version"] == version
    stored = pl.read_delta(str(store / "transfers"))
    assert stored.height == 8


def test_ingest_human_output(tmp_path: Path) -> None:
    code, out, _ = _run("ingest", str(BAD / "bad_amounts.parquet"), "--store", str(tmp_path / "s"))
    assert code == 0
    assert "rows_in" in out and "total" in out
    assert "4 row(s) quarantined with their reasons" in out


def test_strict_exit_code(tmp_path: Path) -> None:
    code, _, err = _run(
        "ingest", str(BAD / "bad_amounts.parquet"), "--store", str(tmp_path / "s"), "--strict"
    )
    assert code == 1
    assert "FI009 --strict: 4 row(s) quarantined" in err
    # the quarantine was still recorded
    assert pl.read_delta(str(tmp_path / "s" / "quarantine")).height == 4


def test_corrupt_file_is_named_and_no_traceback(tmp_path: Path) -> None:
    code, out, err = _run("ingest", str(BAD / "corrupt.parquet"), "--store", str(tmp_path / "s"))
    assert code == 1
    assert err.startswith(f"error: {BAD / 'corrupt.parquet'}: FI002 cannot read Parquet file")
    assert "Traceback" not in err + out


def test_errors_as_json(tmp_path: Path) -> None:
    code, out, _ = _run(
        "ingest", str(BAD / "misspelt_columns.parquet"), "--store", str(tmp_path / "s"), "--json"
    )
    assert code == 1
    data = json.loads(out)
    assert data["ok"] is False
    assert data["errors"][0]["code"] == "FI005"
    assert data["errors"][0]["file"] == str(BAD / "misspelt_columns.parquet")


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    code, _, err = _run("ingest", str(BAD / "good.parquet"))
    assert code == 2 and "Missing option '--store'" in err
    code, _, err = _run(
        "ingest", str(BAD / "good.parquet"), "--store", str(tmp_path / "s"), "--profile", "nope"
    )
    assert code == 2 and "FI007 unknown profile 'nope'" in err
    code, _, err = _run(
        "ingest", str(BAD / "good.parquet"), "--store", str(tmp_path / "s"), "--timezone", "Mars/X"
    )
    assert code == 2 and "unknown time zone 'Mars/X'" in err


def test_missing_input(tmp_path: Path) -> None:
    code, _, err = _run("ingest", str(tmp_path / "nope.parquet"), "--store", str(tmp_path / "s"))
    assert code == 1
    assert f"{tmp_path / 'nope.parquet'}: FI001 no such file or folder" in err


def test_not_a_store(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "notes.txt").write_text("mine")
    code, _, err = _run("ingest", str(BAD / "good.parquet"), "--store", str(tmp_path / "x"))
    assert code == 1 and "FI040" in err
    assert (tmp_path / "x" / "notes.txt").read_text() == "mine"


def test_every_command_is_documented() -> None:
    readme = (ROOT / "README.md").read_text()
    for name in main.commands:
        assert f"finintel {name}" in readme, name


def test_generate_command(tmp_path: Path) -> None:
    code, out, err = _run(
        "generate", "--out", str(tmp_path / "g"), "--transfers", "2000", "--seed", "3", "--json"
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["ok"] is True and data["seed"] == 3
    assert (tmp_path / "g" / "truth.parquet").exists()
    assert (
        sum(v for k, v in data["files"].items() if k.startswith("drop/") and "parties" not in k)
        >= 1900
    )
    code, _, err = _run("generate", "--out", str(tmp_path / "h"), "--transfers", "10")
    assert code == 2 and "--transfers" in err


def test_trace_command(tmp_path: Path) -> None:
    truth = pl.read_parquet(ROOT / "fixtures" / "demo" / "truth.parquet")
    case = truth.filter((pl.col("family") == "pass_through") & ~pl.col("near_miss"))
    mule = case.filter(pl.col("role") == "mule")["entity"][0]
    beneficiaries = set(
        case.filter(
            (pl.col("case_id") == case.filter(pl.col("entity") == mule)["case_id"][0])
            & (pl.col("role") == "beneficiary")
        )["entity"]
    )
    out = tmp_path / "t"
    code, stdout, err = _run("trace", str(ROOT / "fixtures" / "demo" / "drop"), "--seed", mule, "--out", str(out),
                             "--policy", "fifo,poison", "--json")  # fmt: skip
    assert code == 0, err
    data = json.loads(stdout)
    assert data["seed_accounts"] == [mule] and sorted(data["policies"]) == ["fifo", "poison"]
    endpoints = pl.read_parquet(out / "endpoints.parquet")
    assert beneficiaries <= set(endpoints.filter(pl.col("traced_amount") > 0)["account"])
    assert {"flows.parquet", "report.json"} <= {p.name for p in out.iterdir()}
    assert data["skipped_accounts"] == [] and data["parameters"]["max_degree"] == DEFAULT_MAX_DEGREE
    stop = sorted(beneficiaries)[0]
    code, stdout, err = _run("trace", str(ROOT / "fixtures" / "demo" / "drop"), "--seed", mule,
                             "--out", str(out), "--exclude", stop, "--max-degree", "0", "--json")  # fmt: skip
    assert code == 0, err
    data = json.loads(stdout)
    assert [(r["account"], r["reason"]) for r in data["skipped_accounts"]] == [(stop, "exclude")]
    assert data["parameters"]["max_degree"] is None
    report = json.loads((out / "report.json").read_text())
    assert report["skipped_accounts"] == data["skipped_accounts"]
    code, _, err = _run(
        "trace",
        str(ROOT / "fixtures" / "demo" / "drop"),
        "--seed",
        mule,
        "--out",
        str(out),
        "--policy",
        "fifa",
    )
    assert code == 2 and "FI080" in err and "fifo" in err


def _leaf_commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    out: list[tuple[str, click.Command]] = []
    for name, cmd in group.commands.items():
        if isinstance(cmd, click.Group):
            out += _leaf_commands(cmd, f"{prefix}{name} ")
        else:
            out.append((f"{prefix}{name}", cmd))
    return out


def test_every_command_takes_json() -> None:
    missing = [
        name for name, cmd in _leaf_commands(main) if "as_json" not in {p.name for p in cmd.params}
    ]
    assert missing == []
