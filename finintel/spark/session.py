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
    memory = local_driver_memory(master)
    if memory is not None:
        builder = builder.config("spark.driver.memory", memory)
    spark = builder.getOrCreate()
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    if master is not None and master.startswith("local"):
        spark.sparkContext.setLogLevel("ERROR")
    return spark


def fetched(frame: Any) -> list[dict[str, Any]]:
    """The rows of a Spark DataFrame as dicts, fetched as Arrow.

    Not ``collect()``: PySpark's ``collect`` reads the rows the driver's JVM serves until the
    socket closes and never asks how the serving ended, so a serving thread that runs out of
    heap hands over part of the rows without an error (a 10M run on ``local[2]`` lost 433
    alerts of its time-chunked rules that way). ``toArrow`` joins its serving thread and
    raises the JVM's error."""
    rows: list[dict[str, Any]] = frame.toArrow().to_pylist()
    return rows


def local_driver_memory(master: str | None) -> str | None:
    """The driver heap of a local Spark (its executors live in the driver's JVM; Spark's 1g
    default runs out on a million transfers): a quarter of the machine's memory, at least 2g,
    since the rest is shared with this Python process (the run's data, the alerts, the report)
    and the executors' Python workers (a shard or chunk each, materialised in polars). None
    when not local or already set (``SPARK_DRIVER_MEMORY``, ``--driver-memory`` in
    ``PYSPARK_SUBMIT_ARGS``, or ``spark-submit``).

    >>> local_driver_memory("spark://host:7077") is None
    True
    """
    if master is not None and not master.startswith("local"):
        return None
    if os.environ.get("SPARK_DRIVER_MEMORY") or "--driver-memory" in os.environ.get(
        "PYSPARK_SUBMIT_ARGS", ""
    ):
        return None
    if master is None and os.environ.get("SPARK_ENV_LOADED"):  # under spark-submit
        return None
    total_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    return f"{max(2048, total_mb // 4)}m"
