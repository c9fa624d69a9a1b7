"""The bench's helpers: sizes, targets (met / missed) and the Markdown table (bench/)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import report
from common import TreePeak, parse_size, size_label
from steps import alert_ids_digest, spark_shards


def test_sizes_read_and_print() -> None:
    assert [parse_size(s) for s in ("1M", "3m", "100k", "2500", "1.5M")] == [
        1_000_000, 3_000_000, 100_000, 2_500, 1_500_000,
    ]  # fmt: skip
    assert [size_label(n) for n in (1_000_000, 100_000, 2_500)] == ["1M", "100k", "2500"]


def _doc() -> dict[str, Any]:
    def r(step: str, size: int, seconds: float | None, **kw: Any) -> dict[str, Any]:
        return {"step": step, "size": size, "seconds": seconds, "peak_rss_mb": 100.0, **kw}

    m = 1_000_000
    return {
        "meta": {"sizes": [m, 3 * m], "peer_size": m, "column_bytes": {str(3 * m): 2**20 * 50},
                 "date": "d", "host": "h", "cpus": 2, "python": "3.11",
                 "load_average_at_start": [1], "load_average_at_end": [1]},
        "results": [
            r("floor", m, 1.0), r("floor", 3 * m, 2.0), r("run", m, 20.0), r("run", 3 * m, 80.0),
            r("trace", 3 * m, 4.0), r("graph", m, 5.0),
            r("peer_ours", m, 3.0, typologies={"fan_in": 1.0, "structuring": 1.0, "pass_through": 1.0}),
            r("peer_duckdb", m, 6.0, typologies={"fan_in": 4.0, "structuring": 1.0, "pass_through": 2.0}),
            r("gfp:fan", m, None, timed_out=180.0, error="timed out after 180 s"),
            r("gfp:scatter-gather", m, 2.0), r("gfp:temp-cycle", m, 8.0),
            r("nx_cycles", m, 1.0, networkx_seconds=60.0, equal=True),
            r("finintel --help", 0, 1.5),
        ],
        "peers": {"duckdb_equal": {"fan_in": True, "structuring": True, "pass_through": False}},
    }  # fmt: skip


def test_targets_are_judged_from_the_ratios() -> None:
    doc = _doc()
    got = {t["target"]: (t["measured"], t["met"]) for t in report.targets(doc)}
    assert got["whole run at 3M"] == (40.0, False)  # 80 s / S of 2 s
    assert got["fan_in at 1M"] == (1.0, True)
    assert got["fan_in vs DuckDB"] == (0.25, True)
    # faster than DuckDB, but the results differ: not met
    assert got["pass_through vs DuckDB"] == (0.5, False)
    # GFP timed out: its time is at least the timeout
    assert got["fan_in (7d) vs GFP fan"] == (pytest.approx(1 / 180), True)
    assert got["graph kinds (all graph rules) vs GFP scatter-gather + temporal cycles"] == (
        0.5,
        True,
    )
    assert got["temporal cycles vs networkx (1M)"] == (60.0, True)
    assert got["trace 100 seeds at 3M (s)"] == (4.0, True)
    assert got["run time 3M / 1M"] == (4.0, False)  # > 1.2 × 3
    assert got["run peak RSS at 3M / columns in memory"] == (2.0, True)
    assert got["run in time chunks peak RSS at 3M / columns in memory"] == (None, None)
    assert got["finintel --help (s)"] == (1.5, False)
    assert got["100M transfers on this machine"] == (None, None)


def test_markdown_lists_steps_and_targets() -> None:
    doc = _doc()
    doc["targets"] = report.targets(doc)
    md = report.markdown(doc)
    assert "| 3M | run | 80.00 | — | 100 | 40.0 |" in md
    assert "| whole run at 3M | ≤ 30× S | 40.00 | **missed** |" in md
    assert "pass_through NO" in md


def _scale(run: dict[str, Any]) -> dict[str, Any]:
    meta = {"size": 100_000_000, "part": 10_000_000, "parts": 10, "seed": 11, "date": "d",
            "host": "h", "cpus": 2, "python": "3.11", "load_average_at_start": [1],
            "load_average_at_end": [1], "notes": "nine parts ingested"}  # fmt: skip
    ingest = {"step": "scale-ingest:10000000:1", "size": 100_000_000, "seconds": 100.0,
              "cpu_seconds": 90.0, "peak_rss_mb": 7000.0, "rows": 10}  # fmt: skip
    return {"file": "d-h-scale-100M.json", "meta": meta,
            "results": [ingest, {"step": "scale-run:10000000", "size": 100_000_000, **run}]}  # fmt: skip


def test_the_100m_target_reads_the_latest_scale_run() -> None:
    doc = _doc()
    doc["scale"] = _scale({"seconds": None, "error": "exit -9"})
    got = {t["target"]: t for t in report.targets(doc)}["100M transfers on this machine"]
    assert (got["measured"], got["met"]) == (None, False)
    assert "failed: exit -9" in got["note"]
    doc["scale"] = _scale({"seconds": 3600.0, "cpu_seconds": 5000.0, "peak_rss_mb": 9000.0})
    got = {t["target"]: t for t in report.targets(doc)}["100M transfers on this machine"]
    assert (got["measured"], got["met"]) == (3600.0, True)
    assert "highest step peak RSS 9,000 MB" in got["note"]


def test_scale_markdown_has_every_step_and_the_totals() -> None:
    md = report.scale_markdown(
        _scale({"seconds": 50.0, "cpu_seconds": 40.0, "peak_rss_mb": 8000.0})
    )
    assert "nine parts ingested" in md
    assert "| scale-ingest:10000000:1 | 100.00 | 90.00 | 7,000 | rows 10 |" in md
    assert "Total: 150.00 s wall, 130.00 CPU s; highest peak RSS of a step 8,000 MB." in md


def test_peers_not_run_are_not_reported_as_differing() -> None:
    doc = _doc()
    del doc["peers"]
    doc["results"] = [r for r in doc["results"] if r["step"] != "nx_cycles"]
    notes = {t["target"]: t["note"] for t in report.targets(doc)}
    assert notes["fan_in vs DuckDB"] == "not run"
    assert notes["temporal cycles vs networkx (1M)"] == "not run"


def test_run_notes_show_the_run_timings_and_the_spark_peaks() -> None:
    doc = _doc()
    doc["results"].append(
        {"step": "run-spark", "size": 1_000_000, "seconds": 60.0, "peak_rss_mb": 2000.0,
         "rows": 10, "alerts": 3, "shards": 4, "jvm_peak_rss_mb": 3500.4,
         "workers_peak_rss_mb": 1200.0, "children_cpu_seconds": 90.0,
         "timings": {"spark_session": 4.0, "ingest": 10.25, "detect": 40.0, "total": 55.0}}
    )  # fmt: skip
    doc["targets"] = report.targets(doc)
    assert (
        "| 1M | run-spark | 60.00 | — | 2,000 | 60.0 | rows 10, alerts 3, shards 4, "
        "spark_session 4.0 s, ingest 10.2 s, detect 40.0 s, JVM peak 3,500 MB, "
        "workers peak 1,200 MB, JVM + workers CPU 90.0 s |" in report.markdown(doc)
    )


def test_markdown_says_whether_the_engines_found_the_same_alerts(tmp_path: Path) -> None:
    def digest(*ids: str) -> str:
        path = tmp_path / "alerts.parquet"
        pl.DataFrame({"alert_id": list(ids), "score": [1.0] * len(ids)}).write_parquet(path)
        return alert_ids_digest(path)

    assert digest("b", "a") == digest("a", "b") != digest("a")
    doc = _doc()
    m = 1_000_000
    for step, size, ids in (("run", m, "ab"), ("run-store", m, "ba"), ("run-chunks", m, "ab"),
                            ("run-spark", m, "abc"), ("run", 3 * m, "a")):  # fmt: skip
        r = next((r for r in doc["results"] if r["step"] == step and r["size"] == size), None)
        if r is None:
            r = {"step": step, "size": size, "seconds": 1.0, "peak_rss_mb": 1.0}
            doc["results"].append(r)
        r["alert_ids_sha256"] = digest(*ids)
    doc["targets"] = report.targets(doc)
    assert (
        "Same alert ids as `run`: 1M: run-store yes, run-chunks yes, run-spark NO\n"
        in report.markdown(doc)
    )


def test_spark_shards_grow_with_the_drop() -> None:
    assert [spark_shards(n) for n in (100_000, 1_000_000, 10_000_000)] == [4, 4, 20]


def test_tree_peak_sees_a_child_process() -> None:
    code = "import time; x = bytearray(200 * 2**20); t = time.process_time()\nwhile time.process_time() - t < 0.5: pass\ntime.sleep(0.5)"
    with TreePeak(every=0.1) as tree:
        subprocess.run([sys.executable, "-c", code], check=True)
    peaks = tree.peaks()
    assert peaks["workers_peak_rss_mb"] >= 200  # (a Spark test's JVM may be a child too)
    assert peaks["tree_peak_rss_mb"] > peaks["workers_peak_rss_mb"]
    assert peaks["children_cpu_seconds"] >= 0.4  # the child's half second of work, sampled
