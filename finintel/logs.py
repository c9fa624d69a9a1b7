"""Logging for people and for log shippers: text on a terminal, JSON lines with ``--log-format json``.

Quiet by default (warnings and errors only: cron mails stay empty; a terminal shows progress
bars instead); ``-v`` logs each file and run. JSON lines carry the structured fields the engine attaches (``event``, ``run_id``,
``counts``, ``timings``).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

_FIELDS = ("event", "run_id", "counts", "timings", "file")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the structured fields."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in _FIELDS:
            if hasattr(record, name):
                data[name] = getattr(record, name)
        return json.dumps(data, default=str)


def setup(log_format: str = "text", verbose: int = 0) -> None:
    """Configure the ``finintel`` loggers on stderr (idempotent)."""
    logger = logging.getLogger("finintel")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter() if log_format == "json" else logging.Formatter("%(levelname)s %(message)s")
    )
    logger.addHandler(handler)
    logger.propagate = False
    # warnings only unless asked: cron mails stay empty, a terminal gets progress bars instead
    logger.setLevel(logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING)
