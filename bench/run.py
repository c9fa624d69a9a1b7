"""``make bench``: wall time and peak memory of each engine step and of its peers.

Every step runs in its own process (so peak RSS is that step's own) on drops generated once
with ``finintel.generate`` and cached in ``bench/cache/``: ``floor`` (S, a bare polars read of
the drop), ``load`` (validate + de-duplicate in memory), ``ingest`` (into a fresh Delta store),
``windowed`` and ``graph`` (the shipped rules of each family, ``finintel.detect``), ``trace``
(100 seeds), ``run`` (the whole batch), ``run-store`` (the batch with a fresh store),
``run-chunks`` (that batch detected in time chunks) and, with
pyspark installed, ``run-spark`` (that batch on Spark ``local[2]``) for every size; on the
first size of at least 1M the peers: DuckDB SQL for three windowed typologies
(:mod:`peer_duckdb`, results checked equal), IBM's Graph Feature Preprocessor
(:mod:`peer_gfp`); the networkx cycle reference (:mod:`peer_networkx`) on the 1M drop;
start-up of ``import finintel`` and ``--help``.

``python bench/run.py --sizes 1M,3M`` (``make bench SIZES=1M,3M,10M``). Results go to
``bench/results/<date>-<host>.json``, a Markdown table and a PNG plot (:mod:`report`).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import resource
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    CYCLE_REF_SIZE,
    RESULTS,
    ROOT,
    SEED,
    canonical_for,
    parse_size,
    size_label,
    timed,
)

LOCAL_STEPS = ("floor", "load", "ingest", "windowed", "graph", "trace", "run", "run-store")
ENGINE_STEPS = (*LOCAL_STEPS, "run-chunks") + (
    ("run-spark",) if importlib.util.find_spec("pyspark") else ()
)


def step(name: str, size: int) -> dict[str, Any]:
    """Run one step in this process (polars and finintel imported before the clock starts)."""
    import polars  # noqa: F401

    import finintel  # noqa: F401

    if name in ("peer_ours", "peer_duckdb"):
        import peer_duckdb

        return timed(lambda: (peer_duckdb.ours if name == "peer_ours" else peer_duckdb.duck)(size))
    if name.startswith("gfp:"):
        import peer_gfp

        return timed(lambda: peer_gfp.gfp(size, name[4:]))
    if name == "columns":
        return {"bytes": column_bytes(size)}
    if name.startswith("scale-"):
        import scale

        kind, part, *index = name.split(":")
        if kind == "scale-generate":
            return timed(lambda: {"drop": str(scale.part_drop(size, int(part), int(index[0])))})
        if kind == "scale-ingest":
            return timed(lambda: scale.ingest_part(size, int(part), int(index[0])))
        chunks = index[0] if index else "auto"
        return timed(lambda: scale.run_last(size, int(part), chunks))
    if name == "nx_cycles":
        import peer_networkx

        return timed(lambda: peer_networkx.cycles(size))
    from steps import STEPS

    return timed(lambda: STEPS[name](size))


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def sub(name: str, size: int, timeout: float | None = None, quiet: bool = False) -> dict[str, Any]:
    """Run ``name`` in a fresh process; a failure or timeout is recorded, not raised."""
    cmd = [sys.executable, __file__, "--step", name, str(size)]
    try:
        out = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, env=_env(), check=False
        )
    except subprocess.TimeoutExpired:
        r: dict[str, Any] = {
            "seconds": None,
            "timed_out": timeout,
            "error": f"timed out after {timeout:.0f} s",
        }
    else:
        if out.returncode == 0:
            r = json.loads(out.stdout.strip().splitlines()[-1])
        else:
            # the last line that says something (not a backtrace frame or note)
            said = [
                line
                for line in out.stderr.strip().splitlines()
                if line.strip()
                and not line.startswith((" ", "note:", "stack backtrace"))
                and "backtrace" not in line
            ]
            tail = (said or ["?"])[-1]
            if out.returncode == -signal.SIGKILL and not said:
                tail = "killed (SIGKILL: the kernel's OOM killer, if dmesg says so)"
            r = {"seconds": None, "error": f"exit {out.returncode}: {tail}"}
    r.update(step=name, size=size)
    if quiet:
        return r
    shown = "—" if r.get("seconds") is None else f"{r['seconds']:8.2f} s"
    print(f"{size:>10,} {name:<16} {shown:>10} {r.get('peak_rss_mb', 0):>8.0f} MB"
          f"  {r.get('error', '')}", flush=True)  # fmt: skip
    return r


def startup(repeat: int = 3) -> list[dict[str, Any]]:
    """Best of ``repeat`` wall times of ``import finintel`` and ``finintel --help``."""
    out = []
    for name, args in (
        ("import finintel", ["-c", "import finintel"]),
        ("finintel --help", ["-m", "finintel.cli", "--help"]),
    ):
        best = float("inf")
        for _ in range(repeat):
            start = time.perf_counter()
            subprocess.run([sys.executable, *args], check=True, capture_output=True, env=_env())
            best = min(best, time.perf_counter() - start)
        out.append({"step": name, "size": 0, "seconds": round(best, 3)})
        print(f"{'':>10} {name:<16} {best:8.2f} s", flush=True)
    return out


def column_bytes(size: int) -> int:
    """In-memory size of the canonical columns the engine uses (polars' estimate)."""
    import polars as pl

    return int(pl.read_parquet(canonical_for(size)).estimated_size())


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--step":
        limit = int(os.environ.get("BENCH_MEM_LIMIT_MB", "0"))
        if limit:  # a step over the cap fails (recorded) instead of waking the OOM killer
            resource.setrlimit(resource.RLIMIT_AS, (limit * 2**20, limit * 2**20))
        print(json.dumps(step(sys.argv[2], int(sys.argv[3]))))
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default=os.environ.get("SIZES", "1M,3M"))
    ap.add_argument("--gfp-timeout", type=float, default=180.0, help="seconds per GFP feature")
    ap.add_argument("--no-peers", action="store_true", help="engine steps only")
    ap.add_argument(
        "--steps",
        default=",".join(ENGINE_STEPS),
        help=f"engine steps to run, in this order (default: {','.join(ENGINE_STEPS)})",
    )
    ap.add_argument(
        "--mem-limit",
        type=float,
        default=0.0,
        help="address-space cap of each step, as a share of the machine's memory (default 0:"
        " none; polars reserves far more address space than it uses, so a cap of 0.8 failed"
        " 3M steps that peak at 4 GB resident)",
    )
    ap.add_argument(
        "--scale",
        help="instead of the steps: grow a store drop by drop to this many transfers (e.g."
        " 100M) and time one cron run over it (bench/scale.py)",
    )
    ap.add_argument("--part", default="10M", help="transfers per generated drop of --scale")
    ap.add_argument(
        "--resume",
        action="store_true",
        help="continue the latest interrupted --scale run of this size (any date): keep its"
        " store, its results file and its measured steps",
    )
    ap.add_argument(
        "--time-chunks",
        default="auto",
        help="time chunks of the --scale cron run (default auto: one per 3M transfers; fewer"
        " chunks re-read less overlap and need more memory)",
    )
    args = ap.parse_args()
    if args.scale:
        scale_run(parse_size(args.scale), parse_size(args.part), args.resume, args.time_chunks)
        return
    if args.mem_limit:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        os.environ["BENCH_MEM_LIMIT_MB"] = str(int(total * args.mem_limit / 2**20))
    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    chosen = [name.strip() for name in args.steps.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(ENGINE_STEPS))
    if unknown:
        raise SystemExit(
            f"--steps: unknown {', '.join(unknown)} (known: {', '.join(ENGINE_STEPS)})"
        )
    peer_size = next((s for s in sizes if s >= 1_000_000), sizes[0])
    meta = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "seed": SEED,
        "sizes": sizes,
        "peer_size": peer_size,
        "column_bytes": {},
        "load_average_at_start": [round(x, 1) for x in os.getloadavg()],
        "date": date.today().isoformat(),
        "host": platform.node() or "host",
    }
    doc: dict[str, Any] = {"meta": meta, "results": [], "peers": {}}
    stem = RESULTS / f"{meta['date']}-{meta['host']}"
    # The peer size first, then its peers, then the other sizes; the files are rewritten
    # after every step, so an interrupted run still leaves what it measured.
    for size in sorted(sizes, key=lambda s: (s != peer_size, s)):
        canonical_for(size)  # generate and load once, outside the measured steps
        meta["column_bytes"][str(size)] = sub("columns", size, quiet=True)["bytes"]
        for name in chosen:
            doc["results"].append(sub(name, size))
            save(doc, stem)
        if size == peer_size and not args.no_peers:
            peers(doc, stem, peer_size, args.gfp_timeout)
            doc["results"] += startup()
    save(doc, stem, with_plot=True)
    print(f"results: {stem}.json, .md, .png")


def scale_run(size: int, part: int, resume: bool = False, time_chunks: str = "auto") -> None:
    """Generate the parts (not measured), ingest the older ones one by one (oldest first)
    into a fresh store, then the cron run with the newest (in ``time_chunks``); results in
    ``<date>-<host>-scale-<size>``. ``resume`` continues the latest such results file (of
    any date): it keeps the store and the steps that completed, and runs the others."""
    import shutil

    import report
    import scale

    n = scale.parts(size, part)
    meta = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "seed": SEED,
        "size": size,
        "part": part,
        "parts": n,
        "time_chunks": time_chunks,
        "load_average_at_start": [round(x, 1) for x in os.getloadavg()],
        "date": date.today().isoformat(),
        "host": platform.node() or "host",
    }
    doc: dict[str, Any] = {"meta": meta, "results": []}
    stem = RESULTS / f"{meta['date']}-{meta['host']}-scale-{size_label(size)}"
    earlier_runs = sorted(RESULTS.glob(f"*-{meta['host']}-scale-{size_label(size)}.json"))
    resume = resume and scale.store_path(size, part).exists()  # a store gone: start afresh
    if resume and earlier_runs:  # the run goes on in the file (and under the date) it began
        stem = earlier_runs[-1].with_suffix("")
    for i in range(n):
        generated = sub(f"scale-generate:{part}:{i}", size)
        if generated.get("error"):
            raise SystemExit(f"generating part {i} failed: {generated['error']}")
    done: dict[str, dict[str, Any]] = {}
    if resume and stem.with_suffix(".json").exists():
        earlier = json.loads(stem.with_suffix(".json").read_text())
        meta["load_average_at_start"] = earlier["meta"]["load_average_at_start"]
        meta["date"] = earlier["meta"]["date"]
        meta["resumed"] = [*earlier["meta"].get("resumed", []), date.today().isoformat()]
        if earlier["meta"].get("notes"):  # what was written about the earlier attempts
            meta["notes"] = earlier["meta"]["notes"]
        done = {r["step"]: r for r in earlier["results"] if not r.get("error")}
    else:
        shutil.rmtree(scale.store_path(size, part), ignore_errors=True)
    steps = [f"scale-ingest:{part}:{i}" for i in range(n - 1, 0, -1)]
    steps.append(f"scale-run:{part}:{time_chunks}")
    for name in steps:
        doc["results"].append(done[name] if name in done else sub(name, size))
        meta["load_average_at_end"] = [round(x, 1) for x in os.getloadavg()]
        RESULTS.mkdir(parents=True, exist_ok=True)
        stem.with_suffix(".json").write_text(json.dumps(doc, indent=2) + "\n")
        stem.with_suffix(".md").write_text(report.scale_markdown(doc))
        if doc["results"][-1].get("error"):
            break
    print(f"results: {stem}.json, .md")


def peers(doc: dict[str, Any], stem: Path, size: int, gfp_timeout: float) -> None:
    """DuckDB (results compared), GFP (each feature under a timeout), networkx cycles."""
    import peer_duckdb
    import peer_gfp

    doc["results"] += [sub("peer_ours", size), sub("peer_duckdb", size)]
    doc["peers"]["duckdb_equal"] = peer_duckdb.compare(size)
    save(doc, stem)
    for f in peer_gfp.FEATURES:
        doc["results"].append(sub(f"gfp:{f}", size, gfp_timeout))
        save(doc, stem)
    canonical_for(CYCLE_REF_SIZE)
    doc["results"].append(sub("nx_cycles", CYCLE_REF_SIZE))
    save(doc, stem)


def save(doc: dict[str, Any], stem: Path, with_plot: bool = False) -> None:
    """Write the JSON, the Markdown (with the targets so far) and, at the end, the plot."""
    import report

    doc["meta"]["load_average_at_end"] = [round(x, 1) for x in os.getloadavg()]
    scales = sorted(RESULTS.glob("*-scale-*.json"))  # the latest scale run (make bench-scale)
    if scales:
        doc["scale"] = {"file": scales[-1].name, **json.loads(scales[-1].read_text())}
    doc["targets"] = report.targets(doc)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem.with_suffix(".json").write_text(json.dumps(doc, indent=2) + "\n")
    stem.with_suffix(".md").write_text(report.markdown(doc))
    if with_plot:
        report.plot(doc, stem.with_suffix(".png"))


if __name__ == "__main__":
    main()
