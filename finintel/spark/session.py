"""The SparkSession of a run: UTC timestamps, Arrow transfer, the shuffle width."""

from __future__ import annotations

import os
import shutil
import sys
from typing import Any

from finintel.errors import UsageError


def session(master: str | None = None, shards: int | None = None) -> Any:
    """The active SparkSession, created when there is none (``master``: e.g. ``local[2]``,
    ``spark://host:7077``, ``yarn``; None: what ``spark-submit`` set, else ``local[*]``)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise UsageError(
            "FI180",
            "--engine spark needs pyspark: pip install 'finintel[spark]' (and Java 17+)",
        ) from None
    if not os.environ.get("JAVA_HOME") and shutil.which("java") is None:
        raise UsageError("FI180", "--engine spark needs Java 17+ (no java on PATH, no JAVA_HOME)")
    if master is None or master.startswith("local"):
        # local executors are child processes of this interpreter: give them its packages
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName("finintel")
    if master is not None:
        builder = builder.master(master)
    builder = builder.config("spark.sql.session.timeZone", "UTC").config(
        "spark.ui.showConsoleProgress", "false"
    )
    if shards is not None:
        builder = builder.config("spark.sql.shuffle.partitions", str(shards))
    spark = builder.getOrCreate()
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    if master is not None and master.startswith("local"):
        spark.sparkContext.setLogLevel("ERROR")
    return spark
