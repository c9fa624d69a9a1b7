"""The cron mode: incremental runs over new drops, the lock, exit codes, status, --as-of."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

import finintel
from finintel.cli import main
from finintel.store import Store

ROOT = Path(__file__).resolve().parents[2]
RULES = str(ROOT / "rules")
SPLIT = "2025-04-01"
TIME_COLUMNS = {
    "bank_statements.parquet": "booking_time",
    "bank_transfers.parquet": "settlement_time",
    "mto.parquet": "send_time",
}


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def drops(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A generated drop cut in two by time (same file names: the same sources)."""
    root = tmp_path_factory.mktemp("cron")
    finintel.generate(root / "gen", transfers=30_000, seed=5)
    first, second = root / "drop1", root / "drop2"
    first.mkdir()
    second.mkdir()
    for name, col in TIME_COLUMNS.items():
        frame = pl.read_parquet(root / "gen" / "drop" / name)
        key = pl.col(col).cast(pl.String).str.slice(0, 10)
        frame.filter(key < SPLIT).write_parquet(first / name)
        frame.filter(key >= SPLIT).write_parquet(second / name)
    parties = pl.read_parquet(root / "gen" / "drop" / "parties.parquet")
    parties.write_parquet(first / "parties.parquet")
    return root, first, second


def test_incremental_runs_equal_one_full_run(
    drops: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    _, first, second = drops
    store = tmp_path / "store"
    code, out, err = _run("run", str(first), "--rules", RULES, "--store", str(store), "--out", str(tmp_path / "o1"),
                          "--incremental", "--json")  # fmt: skip
    assert code == 0, err
    one = json.loads(out)
    assert one["new_alerts"] == one["alerts"] > 0 and one["updated_alerts"] == 0
    code, out, err = _run("run", str(first), str(second), "--rules", RULES, "--store", str(store),
                          "--out", str(tmp_path / "o2"), "--incremental", "--json")  # fmt: skip
    assert code == 0, err
    two = json.loads(out)
    assert len(two["skipped"]) == 4  # the first drop's files are not ingested again
    delta = pl.read_parquet(tmp_path / "o2" / "alerts.parquet")
    assert set(delta["status"]) <= {"new", "updated"}
    assert delta.height == two["new_alerts"] + two["updated_alerts"] > 0
    # the same drops in one run: the same final alerts (ids and evidence)
    full = finintel.run([first, second], RULES, tmp_path / "full")
    assert full.alerts == two["alerts"]
    stored = Store(store).alerts().select("alert_id", "tx_ids").sort("alert_id")
    once = (
        pl.read_parquet(tmp_path / "full" / "alerts.parquet")
        .select("alert_id", "tx_ids")
        .sort("alert_id")
    )
    assert stored.equals(once)
    # an alert that straddles the cut is found (patterns spanning two drops)
    spans = pl.read_parquet(tmp_path / "full" / "alerts.parquet").filter(
        (pl.col("first_ts").dt.strftime("%Y-%m-%d") < SPLIT)
        & (pl.col("last_ts").dt.strftime("%Y-%m-%d") >= SPLIT)
    )
    assert spans.height > 0
    assert set(spans["alert_id"]) <= set(
        delta.filter(pl.col("status") == "updated")["alert_id"]
    ) | set(delta.filter(pl.col("status") == "new")["alert_id"])
    # nothing new: a third run reports no changes, and --alert-exit-code stays 0
    code, out, _ = _run("run", str(first), str(second), "--rules", RULES, "--store", str(store),
                        "--out", str(tmp_path / "o3"), "--incremental", "--alert-exit-code", "--json")  # fmt: skip
    assert code == 0
    assert (
        json.loads(out)["new_alerts"] == 0
        and pl.read_parquet(tmp_path / "o3" / "alerts.parquet").height == 0
    )
    # status: three runs, all ok, nothing pending
    code, out, _ = _run("status", "--store", str(store), str(first), str(second), "--json")
    status = json.loads(out)
    assert (
        code == 0
        and status["runs"] == 3
        and status["last_outcome"] == "ok"
        and status["pending"] == []
    )
    assert status["drops"] == 7


def test_alert_exit_code_and_as_of(drops: tuple[Path, Path, Path], tmp_path: Path) -> None:
    _, first, second = drops
    store = tmp_path / "store"
    code, out, _ = _run("run", str(first), "--rules", RULES, "--store", str(store), "--out", str(tmp_path / "a"),
                        "--alert-exit-code", "--json")  # fmt: skip
    assert code == 3
    version = json.loads(out)["store_version"]
    first_alerts = (
        pl.read_parquet(tmp_path / "a" / "alerts.parquet").select("alert_id").sort("alert_id")
    )
    assert (
        _run(
            "run",
            str(second),
            "--rules",
            RULES,
            "--store",
            str(store),
            "--out",
            str(tmp_path / "b"),
        )[0]
        == 0
    )
    # pending files are listed before they are ingested
    extra = tmp_path / "inbox"
    extra.mkdir()
    pl.read_parquet(first / "mto.parquet").head(10).write_parquet(extra / "late.parquet")
    code, out, _ = _run("status", "--store", str(store), str(extra), "--json")
    assert json.loads(out)["pending"] == [str(extra / "late.parquet")]
    # --as-of: exactly the data the first run read
    code, out, err = _run("run", str(first), "--rules", RULES, "--store", str(store), "--out", str(tmp_path / "c"),
                          "--as-of", str(version), "--json")  # fmt: skip
    assert code == 0, err
    again = pl.read_parquet(tmp_path / "c" / "alerts.parquet").select("alert_id").sort("alert_id")
    assert again.equals(first_alerts)


def test_runs_never_overlap(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    with store.lock():
        code, _, err = _run("run", str(ROOT / "fixtures" / "bad" / "good.parquet"), "--store", str(tmp_path / "store"),
                            "--out", str(tmp_path / "o"))  # fmt: skip
    assert code == 4
    assert "FI044 the store is locked by pid" in err
    assert not (tmp_path / "o").exists()
    # the lock is gone with its holder
    assert _run("run", str(ROOT / "fixtures" / "bad" / "good.parquet"), "--store", str(tmp_path / "store"),
                "--out", str(tmp_path / "o"))[0] == 0  # fmt: skip


def test_failed_run_is_recorded(tmp_path: Path) -> None:
    code, _, err = _run("run", str(ROOT / "fixtures" / "bad" / "corrupt.parquet"), "--store", str(tmp_path / "s"),
                        "--out", str(tmp_path / "o"))  # fmt: skip
    assert code == 1 and "FI002" in err
    runs = Store(tmp_path / "s").runs()
    assert runs["outcome"].to_list()[0].startswith("failed: FI002")


def test_incremental_needs_a_store(tmp_path: Path) -> None:
    code, _, err = _run(
        "run",
        str(ROOT / "fixtures" / "bad" / "good.parquet"),
        "--out",
        str(tmp_path / "o"),
        "--incremental",
    )
    assert code == 2 and "FI061" in err


def test_half_copied_file_is_retried_next_time(
    drops: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    _, first, _ = drops
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    data = (first / "mto.parquet").read_bytes()
    (inbox / "mto.parquet").write_bytes(data[: len(data) // 3])  # still being copied
    (inbox / "parties.parquet").write_bytes((first / "parties.parquet").read_bytes())
    store, out = str(tmp_path / "store"), str(tmp_path / "o")
    code, stdout, err = _run(
        "run", str(inbox), "--store", store, "--out", out, "--incremental", "--json"
    )
    assert code == 0, err
    summary = json.loads(stdout)
    assert [d["file"] for d in summary["deferred"]] == [str(inbox / "mto.parquet")]
    assert "FI002" in summary["deferred"][0]["error"]
    assert [i["file"] for i in summary["inputs"]] == [str(inbox / "parties.parquet")]
    (inbox / "mto.parquet").write_bytes(data)  # the copy finished
    code, stdout, _ = _run(
        "run", str(inbox), "--store", store, "--out", out, "--incremental", "--json"
    )
    summary = json.loads(stdout)
    assert code == 0 and summary["deferred"] == []
    assert [i["file"] for i in summary["inputs"]] == [str(inbox / "mto.parquet")]


def test_watch_runs_when_files_arrive_and_logs_json(
    drops: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    _, first, _ = drops
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "mto.parquet").write_bytes((first / "mto.parquet").read_bytes())
    args = ["--log-format", "json", "-v", "watch", str(inbox), "--store", str(tmp_path / "s"), "--out",
            str(tmp_path / "o"), "--rules", RULES, "--interval", "0.1", "--max-polls", "2"]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.stderr
    assert (
        len([line for line in result.stdout.splitlines() if line.startswith("R-")]) == 1
    )  # one run, then idle
    events = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert {"ingest.file", "run.done"} <= {e.get("event") for e in events}
    done = next(e for e in events if e.get("event") == "run.done")
    assert done["counts"]["new"] > 0 and "detect" in done["timings"]


@pytest.mark.parametrize("delay", [0.8, 2.0, 3.5])
def test_a_killed_run_leaves_the_store_consistent(
    drops: tuple[Path, Path, Path], tmp_path: Path, delay: float
) -> None:
    import signal
    import subprocess
    import sys
    import time

    _, first, second = drops
    store, out = tmp_path / "store", tmp_path / "o"
    cmd = [sys.executable, "-m", "finintel.cli", "run", str(first), str(second), "--rules", RULES,
           "--store", str(store), "--out", str(out), "--incremental"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # the next run finishes the job: no duplicates, no lost rows, the same alerts as a clean run
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    clean = finintel.run([first, second], RULES, tmp_path / "clean")
    got = Store(store).transfers().select("source", "tx_id").collect()
    assert got.height == got.unique().height == clean.totals["rows_accepted"] - _party_rows(clean)
    assert Store(store).alerts().height == clean.alerts


def _party_rows(summary: finintel.RunSummary) -> int:
    return sum(int(i["rows_accepted"]) for i in summary.inputs if i.get("kind") == "parties")


def test_a_rule_change_re_evaluates_the_history(
    drops: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    import shutil

    _, first, _ = drops
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    store, out = str(tmp_path / "store"), str(tmp_path / "o")
    args = [
        "run",
        str(first),
        "--rules",
        str(rules),
        "--store",
        store,
        "--out",
        out,
        "--incremental",
        "--json",
    ]
    assert _run(*args)[0] == 0
    rule = rules / "typologies" / "general" / "fan-out.yaml"
    text = rule.read_text()
    assert "  min_counterparties: 5\n" in text
    rule.write_text(
        text.replace("  min_counterparties: 5\n", "  min_counterparties: 3\n").replace(
            "version: 1", "version: 2"
        )
    )
    code, stdout, _ = _run(*args)
    summary = json.loads(stdout)
    assert code == 0 and summary["skipped"] and not summary["inputs"]  # no new data at all
    changed = pl.read_parquet(Path(out) / "alerts.parquet")
    assert changed.height == summary["new_alerts"] + summary["updated_alerts"] > 0
    assert set(changed["typology"]) == {"gen-fan-out"}
    assert set(changed["rule_version"]) == {2}
