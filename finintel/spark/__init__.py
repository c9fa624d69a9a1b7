"""Detection on Apache Spark (``finintel run --engine spark``); see ``docs/spark.md``.

The same typologies, the same polars primitives and the same alert ids as the local engine:
Spark only moves the transfers. pyspark is imported when a Spark run starts, never by
``import finintel``.
"""

from __future__ import annotations

from finintel.spark.session import session
from finintel.spark.shards import DEFAULT_CHUNK_WINDOWS, DEFAULT_MAX_CHUNK_ROWS, detect
from finintel.typology.chunks import BLOCKS, ON_DRIVER, TIME_CHUNKED, placement

__all__ = [
    "BLOCKS",
    "DEFAULT_CHUNK_WINDOWS",
    "DEFAULT_MAX_CHUNK_ROWS",
    "ON_DRIVER",
    "TIME_CHUNKED",
    "detect",
    "placement",
    "session",
]
