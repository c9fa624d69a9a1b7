"""Parquet tables: ``alerts``, ``entities``, ``links``, ``networks`` (DESIGN §7) plus
``scores``, ``transfers`` and ``sources``.

Each file's key-value metadata says which section it belongs to (``finintel.section``:
``facts`` or ``assessments``) and which of its columns are assessments
(``finintel.assessment_columns``, a JSON list), so facts and assessments stay apart.
"""

from __future__ import annotations

import json
from pathlib import Path

from finintel.atomic import atomic_path
from finintel.link import LinkReport
from finintel.report._tables import ASSESSMENT_TABLES, assessment_columns


def write(report: LinkReport, out_dir: Path) -> list[Path]:
    """Write one ``<table>.parquet`` per table of the report."""
    written = []
    for name, frame in report.tables().items():
        whole = name in ASSESSMENT_TABLES
        meta = {
            "finintel.section": "assessments" if whole else "facts",
            "finintel.assessment_columns": json.dumps(
                frame.columns if whole else assessment_columns(name, frame)
            ),
        }
        target = out_dir / f"{name}.parquet"
        with atomic_path(target) as tmp:
            frame.write_parquet(tmp, metadata=meta)
        written.append(target)
    return written
