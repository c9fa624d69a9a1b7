"""Report writers: one module per format; each only reads a :class:`~finintel.link.LinkReport`.

>>> sorted(FORMATS)
['csv', 'ftm', 'gexf', 'goaml', 'graphml', 'html', 'json', 'parquet']
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from finintel.errors import UsageError, did_you_mean

if TYPE_CHECKING:
    from finintel.link import LinkReport

__all__ = ["FORMATS", "parse_formats", "write"]

#: format name → (module, function); each ``function(report, out_dir) -> [paths]``.
FORMATS: dict[str, tuple[str, str]] = {
    "json": ("json_writer", "write"),
    "parquet": ("parquet_writer", "write"),
    "csv": ("csv_writer", "write"),
    "graphml": ("graph_writer", "write_graphml"),
    "gexf": ("graph_writer", "write_gexf"),
    "ftm": ("ftm_writer", "write"),
    "goaml": ("goaml_writer", "write"),
    "html": ("html_writer", "write"),
}


#: Formats named in the issue that later parts add.
def parse_formats(text: str | Sequence[str]) -> tuple[str, ...]:
    """``"json, csv"`` (or a list) → checked, de-duplicated format names in the given order."""
    items = text.split(",") if isinstance(text, str) else list(text)
    out: list[str] = []
    for item in items:
        name = item.strip().lower()
        if not name:
            continue
        if name not in FORMATS:
            hint = did_you_mean(name, FORMATS)
            raise UsageError(
                "FI095", f"unknown format {name!r}{hint}; formats: {', '.join(FORMATS)}"
            )
        if name not in out:
            out.append(name)
    return tuple(out)


def write(
    report: LinkReport, out_dir: str | Path, formats: str | Sequence[str] = ("json", "parquet")
) -> list[Path]:
    """Write ``report`` in every format into ``out_dir``; returns the files written (sorted)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name in parse_formats(formats):
        module, function = FORMATS[name]
        writer: Callable[[LinkReport, Path], list[Path]] = getattr(
            importlib.import_module(f"finintel.report.{module}"), function
        )
        written += writer(report, out)
    return sorted(written)
