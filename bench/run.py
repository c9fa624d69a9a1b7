"""``make bench``: wall time and peak memory of each engine step on generated drops.

Each step runs in its own process (so peak RSS is that step's own), on drops generated once
and cached in ``bench/cache/``. Results go to ``bench/results/<date>-<host>.json`` and a
Markdown table next to it. Sizes: ``BENCH_SIZES`` (comma-separated transfer counts, default
1,000,000). Steps so far: the floor (a bare polars read of the drop's files), ``load``
(validate + de-duplicate in memory), ``ingest`` (into a fresh Delta store) and ``run`` (the
whole batch with the shipped rule library); with pyspark installed also ``run-spark`` (the same
batch with ``--engine spark`` on ``local[2]``: Spark's overhead on one machine; the peak RSS is
the driver's, the JVM and its Python workers are not counted). The peers and the remaining targets of the
benchmark issue come with it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = HERE / "cache"
RESULTS = HERE / "results"
SEED = 11
STEPS = ("floor", "load", "ingest", "run") + (
    ("run-spark",) if importlib.util.find_spec("pyspark") else ()
)


def drop_for(size: int) -> Path:
    """The cached generated drop of ``size`` transfers (generated on first use)."""
    out = CACHE / f"drop-{size}-s{SEED}"
    if not (out / "drop").is_dir():
        import finintel

        finintel.generate(out, transfers=size, seed=SEED)
    return out / "drop"


def step(name: str, drop: Path) -> dict[str, object]:
    """Run one step in this process; returns its timing (peak RSS read by the caller)."""
    import polars as pl

    start = time.perf_counter()
    rows = 0
    if name == "floor":
        for f in sorted(drop.glob("*.parquet")):
            rows += pl.read_parquet(f).height
    elif name == "load":
        import finintel

        rows = finintel.load(drop).records.height
    elif name == "ingest":
        import finintel

        with tempfile.TemporaryDirectory() as tmp:
            summary = finintel.ingest_to_store(drop, Path(tmp) / "store")
            rows = summary.totals()["rows_accepted"]
    elif name in ("run", "run-spark"):
        import finintel

        spark = {"engine": "spark", "spark_master": "local[2]"} if name == "run-spark" else {}
        with tempfile.TemporaryDirectory() as tmp:
            summary = finintel.run(drop, HERE.parent / "rules", Path(tmp) / "out", **spark)
            rows = summary.totals["rows_accepted"]
    else:
        raise SystemExit(f"unknown step {name!r}")
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "step": name,
        "seconds": round(seconds, 3),
        "peak_rss_mb": round(peak_mb, 1),
        "rows": rows,
    }


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--step":
        print(json.dumps(step(sys.argv[2], Path(sys.argv[3]))))
        return
    sizes = [int(s) for s in os.environ.get("BENCH_SIZES", "1000000").split(",")]
    results = []
    for size in sizes:
        drop = drop_for(size)
        floor = None
        for name in STEPS:
            out = subprocess.run(
                [sys.executable, __file__, "--step", name, str(drop)],
                check=True,
                capture_output=True,
                text=True,
            )
            r = json.loads(out.stdout.strip().splitlines()[-1])
            r["size"] = size
            if name == "floor":
                floor = r["seconds"]
            r["x_floor"] = round(r["seconds"] / floor, 1) if floor else None
            results.append(r)
            print(
                f"{size:>10} {name:<8} {r['seconds']:>8.2f} s {r['peak_rss_mb']:>8.0f} MB  ×{r['x_floor']}"
            )
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = f"{date.today().isoformat()}-{platform.node() or 'host'}"
    meta = {"python": platform.python_version(), "cpus": os.cpu_count(), "seed": SEED}
    (RESULTS / f"{stem}.json").write_text(json.dumps({"meta": meta, "results": results}, indent=2))
    lines = ["| size | step | seconds | peak RSS MB | × floor |", "|---:|---|---:|---:|---:|"]
    lines += [
        f"| {r['size']:,} | {r['step']} | {r['seconds']:.2f} | {r['peak_rss_mb']:.0f} | {r['x_floor']} |"
        for r in results
    ]
    (RESULTS / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print(f"results: {RESULTS / (stem + '.json')}")


if __name__ == "__main__":
    main()
