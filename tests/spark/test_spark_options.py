"""Engine options are checked before any data is read; a missing pyspark is a clear error."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import finintel
from finintel.errors import UsageError
from finintel.spark import placement, session


def test_unknown_engine_and_stray_spark_options_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="unknown engine 'flink'") as err:
        finintel.run(tmp_path / "missing", "rules", tmp_path / "out", engine="flink")
    assert err.value.code == "FI182"
    with pytest.raises(UsageError, match="need --engine spark"):
        finintel.run(tmp_path / "missing", "rules", tmp_path / "out", spark_master="local[2]")
    assert not (tmp_path / "out").exists()


def test_missing_pyspark_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyspark", None)
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    with pytest.raises(UsageError, match=r"pip install 'finintel\[spark\]'") as err:
        session("local[2]")
    assert err.value.code == "FI180"


@pytest.mark.parametrize(
    ("kind", "where"),
    [
        ("fan_in", "focus"),
        ("structuring", "focus"),
        ("pass_through", "focus"),
        ("cycle", "time"),
        ("gather_scatter", "time"),
        ("agent_concentration", "time"),
        ("bipartite", "blocks"),
        ("shared_identifier", "driver"),
        ("watchlist", "driver"),
    ],
)
def test_placement(kind: str, where: str) -> None:
    assert placement(kind) == where


def test_import_finintel_does_not_import_pyspark() -> None:
    import subprocess

    code = "import finintel, finintel.spark, sys; print('pyspark' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        env={"PYTHONPATH": str(Path(finintel.__file__).parent.parent)},
    )  # fmt: skip
    assert out.stdout.strip() == "False"


def test_trace_refuses_an_unknown_engine_before_reading() -> None:
    with pytest.raises(UsageError, match="unknown engine 'flink'") as err:
        finintel.trace(object(), "S", engine="flink")  # the data is never read
    assert err.value.code == "FI182"


def test_a_local_driver_gets_a_quarter_of_the_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    module = importlib.import_module("finintel.spark.session")  # the package exports session()
    for name in ("SPARK_DRIVER_MEMORY", "PYSPARK_SUBMIT_ARGS", "SPARK_ENV_LOADED"):
        monkeypatch.delenv(name, raising=False)
    pages = {"SC_PAGE_SIZE": 4096, "SC_PHYS_PAGES": 24 * 2**30 // 4096}
    monkeypatch.setattr(module.os, "sysconf", lambda name: pages[name])
    assert module.local_driver_memory("local[2]") == "6144m"  # 24 GiB / 4
    assert module.local_driver_memory(None) == "6144m"
    assert module.local_driver_memory("spark://host:7077") is None
    pages["SC_PHYS_PAGES"] = 4 * 2**30 // 4096
    assert module.local_driver_memory("local[2]") == "2048m"  # at least 2g
    monkeypatch.setenv("PYSPARK_SUBMIT_ARGS", "--driver-memory 3g pyspark-shell")
    assert module.local_driver_memory("local[2]") is None
    monkeypatch.delenv("PYSPARK_SUBMIT_ARGS")
    monkeypatch.setenv("SPARK_DRIVER_MEMORY", "5g")
    assert module.local_driver_memory("local[2]") is None
