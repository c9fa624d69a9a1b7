"""Golden report on the demo fixture: a deterministic run writes exactly the recorded files.

Text formats are compared by SHA-256 against ``tests/e2e/golden_demo.json``; a change in any
output is a failing test until the golden file is rewritten on purpose:
``FININTEL_REGOLDEN=1 make test`` (or ``make golden``).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

import finintel

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).with_name("golden_demo.json")
FORMATS = "json,parquet,html,csv,graphml,gexf,ftm,goaml"
TEXT = (".json", ".csv", ".graphml", ".gexf", ".xml", ".html")


def test_demo_report_matches_golden(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # paths in the report are as given: relative, like make run's
    finintel.run(
        "fixtures/demo/drop", "rules", tmp_path / "out",
        formats=FORMATS, deterministic=True, run_id="demo",
    )  # fmt: skip
    digests = {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((tmp_path / "out").iterdir())
        if p.name.endswith(TEXT)
    }
    if os.environ.get("FININTEL_REGOLDEN"):
        GOLDEN.write_text(json.dumps(digests, indent=2, sort_keys=True) + "\n")
    expected = json.loads(GOLDEN.read_text())
    assert set(digests) == set(expected)
    changed = sorted(name for name in digests if digests[name] != expected[name])
    assert not changed, f"outputs changed: {changed} (rewrite on purpose with FININTEL_REGOLDEN=1)"
