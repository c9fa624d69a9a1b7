"""The scale run: a store grown drop by drop to ``size`` transfers, then one cron run over it.

One machine cannot generate a 100M-transfer drop in one piece (the generator holds its whole
world in memory, ~0.9 GB per million transfers), and a cron job never receives one: it
ingests a drop at a time. So ``--scale 100M`` (part size ``--part 10M``) generates
``size / part`` drops of ``part`` transfers, each with its own seed (``SEED + i``) and its own
182-day period: part 0 is the steps' cached drop (from 2025-01-01), part ``i`` the ``i``-th
period before it (10 parts: five years; the generator's FX history ends in 2026). It ingests
the parts oldest first into a Delta store, each in its own process (``scale-ingest:i``), and
then measures ``finintel.run`` with part 0 and the store (``scale-run``): it ingests the newest
drop and detects over the whole stored history in time chunks (``time_chunks="auto"``), as the
cron job does. Each step records wall and CPU seconds and peak RSS, like every other step.
"""

from __future__ import annotations

import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from common import CACHE, RULES, SEED, drop_for, size_label

#: One generated part's period (days), as ``finintel.generate``'s default.
PART_DAYS = 182


def scale_dir(size: int, part: int) -> Path:
    """Folder of the parts and the store of a scale run."""
    return CACHE / f"scale-{size_label(size)}-p{size_label(part)}-s{SEED}"


def parts(size: int, part: int) -> int:
    """How many drops of ``part`` transfers make ``size``."""
    if size % part:
        raise SystemExit(f"--scale {size} is not a multiple of --part {part}")
    return size // part


def part_drop(size: int, part: int, i: int) -> Path:
    """The ``i``-th part's drop folder (generated on first use, ``i`` periods before the first;
    the first is the steps' cached drop of that size: same seed, same period)."""
    if i == 0:
        return drop_for(part)
    out = scale_dir(size, part) / f"part-{i:02d}"
    if not (out / "drop").is_dir():
        import finintel

        start = date(2025, 1, 1) - timedelta(days=PART_DAYS * i)
        finintel.generate(out, transfers=part, seed=SEED + i, start=start, days=PART_DAYS)
    return out / "drop"


def store_path(size: int, part: int) -> Path:
    return scale_dir(size, part) / "store"


def ingest_part(size: int, part: int, i: int) -> dict[str, Any]:
    """Ingest part ``i`` into the scale store (after the older parts)."""
    import finintel

    summary = finintel.ingest_to_store(part_drop(size, part, i), store_path(size, part))
    totals = summary.totals()
    return {"part": i, "rows": totals["rows_accepted"], "duplicates": totals["rows_duplicate"]}


def run_last(size: int, part: int, time_chunks: str = "auto") -> dict[str, Any]:
    """``finintel.run`` with the newest part (0) and the store: ingest it, detect over all in
    ``time_chunks`` (``auto`` or a number). The run's log (each time chunk as it is done) goes
    to ``run.log`` in the scale folder."""
    import logging

    import finintel

    handler = logging.FileHandler(scale_dir(size, part) / "run.log", mode="w")
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
    logger = logging.getLogger("finintel")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    with tempfile.TemporaryDirectory() as tmp:
        summary = finintel.run(
            part_drop(size, part, 0),
            RULES,
            Path(tmp) / "out",
            store=store_path(size, part),
            time_chunks=time_chunks,
        )
        return {
            "rows": summary.totals.get("rows_accepted"),
            "alerts": summary.alerts,
            "timings": summary.timings,
            "store_version": summary.store_version,
        }
