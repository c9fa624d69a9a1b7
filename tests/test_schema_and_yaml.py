"""Schema checks, positioned YAML reading, durations, atomic writes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest

from finintel.atomic import atomic_dir, atomic_path
from finintel.errors import ConfigError
from finintel.schema import PARTIES_INPUT, TRANSFERS, TRANSFERS_INPUT, check_schema, conform
from finintel.yamlpos import Reader, format_duration, load_text, parse_duration


def test_schema_check_reports_every_mismatch() -> None:
    found = {
        "tx_id": pl.String(),
        "ts": pl.Boolean(),
        "src_acount": pl.String(),
        "amount": pl.List(pl.Int64()),
    }
    errors = check_schema(found, TRANSFERS_INPUT, "f.parquet")
    messages = [e.message for e in errors]
    assert [e.code for e in errors] == ["FI003", "FI003", "FI003", "FI004", "FI004"]
    assert messages[0].startswith("missing column 'src_account' (did you mean 'src_acount'?)")
    assert "missing column 'dst_account'" in messages[1]
    assert "missing column 'currency'" in messages[2]
    assert (
        messages[3] == "column 'ts' has type Boolean, expected a Datetime, Date or text timestamp"
    )
    assert (
        messages[4]
        == "column 'amount' has type List(Int64), expected a number (or text holding one)"
    )
    assert all(e.location is not None and e.location.file == "f.parquet" for e in errors)


def test_schema_check_accepts_coercible_types() -> None:
    found = {
        "tx_id": pl.Int64(), "ts": pl.String(), "src_account": pl.Categorical(),
        "dst_account": pl.String(), "amount": pl.String(), "currency": pl.String(), "extra": pl.Boolean(),
    }  # fmt: skip
    assert check_schema(found, TRANSFERS_INPUT, "f") == []
    assert check_schema({"party_id": pl.String(), "name": pl.String()}, PARTIES_INPUT, "p") == []


def test_conform_fills_absent_optional_columns() -> None:
    lf = pl.LazyFrame({"tx_id": ["a"], "amount": [1]})
    out = conform(lf, TRANSFERS).collect()
    assert out.columns == list(TRANSFERS)
    assert out["amount"].dtype == pl.Float64 and out["reference"].to_list() == [None]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("7d", timedelta(days=7)), ("36h", timedelta(hours=36)), ("90m", timedelta(minutes=90)),
     ("2d4h", timedelta(days=2, hours=4)), ("1w", timedelta(days=7)), ("45s", timedelta(seconds=45))],
)  # fmt: skip
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "7", "d7", "7 days", "7x", "-1d", "1d x"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_format_duration() -> None:
    assert format_duration(timedelta(days=2, hours=4)) == "2d 4h"
    assert format_duration(timedelta(0)) == "0s"


def test_reader_collects_positioned_errors() -> None:
    r = Reader.from_text("window: [1]\nmin: 3\nname: x\nextra: 1\n", "r.yaml")
    assert r.duration("window") is None
    assert r.integer("min") == 3
    assert r.string("name", choices=["y", "z"]) is None
    r.finish()
    assert [str(e) for e in r.errors] == [
        "r.yaml:1:9: FI015 'window' expects a duration like '7d', '36h' or '90m', got a list",
        "r.yaml:3:7: FI014 'name' must be one of y, z; got 'x'",
        "r.yaml:4:1: FI016 unknown key 'extra'",
    ]


def test_yaml_syntax_error_position() -> None:
    with pytest.raises(ConfigError) as info:
        load_text("a: [1, 2\nb: 3\n", "s.yaml")
    assert info.value.code == "FI010"
    assert info.value.location is not None and info.value.location.line == 2


def test_atomic_path_leaves_nothing_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_atomic_dir_replaces_whole(tmp_path: Path) -> None:
    target = tmp_path / "run"
    with atomic_dir(target) as tmp:
        (tmp / "a").write_text("1")
    with pytest.raises(RuntimeError), atomic_dir(target) as tmp:
        (tmp / "b").write_text("2")
        raise RuntimeError("boom")
    assert sorted(p.name for p in target.iterdir()) == ["a"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_atomic_outputs_get_normal_permissions(tmp_path: Path) -> None:
    import os

    mask = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "f.txt") as tmp:
            tmp.write_text("x")
        with atomic_dir(tmp_path / "d"):
            pass
    finally:
        os.umask(mask)
    assert (tmp_path / "f.txt").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "d").stat().st_mode & 0o777 == 0o755
