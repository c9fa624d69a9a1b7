"""finintel — a batch engine for financial investigations.

The public API (DESIGN §5). Heavy modules load on first use, so ``import finintel`` is cheap.

>>> import finintel
>>> ds = finintel.load("fixtures/demo/drop")            # doctest: +SKIP
>>> finintel.ingest_to_store("fixtures/demo/drop", store="store")  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from finintel.errors import ConfigError, DataError, FinintelError, UsageError

__version__ = "0.1.0"

_LAZY = {
    "load": "finintel.ingest.load",
    "ingest_to_store": "finintel.ingest.load",
    "load_store": "finintel.ingest.load",
    "Dataset": "finintel.ingest.load",
    "IngestSummary": "finintel.ingest.load",
    "generate": "finintel.synth",
    "load_rules": "finintel.typology.loader",
    "RuleSet": "finintel.typology.loader",
    "detect": "finintel.typology.engine",
    "Alerts": "finintel.typology.engine",
    "run": "finintel.batch",
    "RunSummary": "finintel.batch",
    "evaluate": "finintel.backtest",
    "resolve": "finintel.resolve",
    "Entities": "finintel.resolve",
    "link": "finintel.link",
    "LinkReport": "finintel.link",
    "load_sources": "finintel.provenance",
    "SourceManifest": "finintel.provenance",
    "trace": "finintel.graph.trace",
    "Flows": "finintel.graph.trace",
    "xref": "finintel.xref",
    "Xref": "finintel.xref",
}

__all__ = [
    "Alerts",
    "ConfigError",
    "DataError",
    "Dataset",
    "Entities",
    "FinintelError",
    "Flows",
    "IngestSummary",
    "LinkReport",
    "RuleSet",
    "RunSummary",
    "SourceManifest",
    "UsageError",
    "Xref",
    "detect",
    "evaluate",
    "generate",
    "ingest_to_store",
    "link",
    "load",
    "load_rules",
    "load_sources",
    "load_store",
    "resolve",
    "run",
    "trace",
    "xref",
]

if TYPE_CHECKING:
    from finintel.backtest import evaluate
    from finintel.batch import RunSummary, run
    from finintel.graph.trace import Flows, trace
    from finintel.ingest.load import Dataset, IngestSummary, ingest_to_store, load, load_store
    from finintel.link import LinkReport, link
    from finintel.provenance import SourceManifest, load_sources
    from finintel.resolve import Entities, resolve
    from finintel.synth import generate
    from finintel.typology.engine import Alerts, detect
    from finintel.typology.loader import RuleSet, load_rules
    from finintel.xref import Xref, xref


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'finintel' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
