"""Shared pieces of ``make bench``: cached drops, sizes, and the per-step measurement."""

from __future__ import annotations

import os
import resource
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = HERE / "cache"
RESULTS = HERE / "results"
RULES = ROOT / "rules"
SEED = 11
#: Size of the drop of the networkx cycle reference (naive enumeration: about 45 s at 1M, where
#: the issue's 100k-1M range lets the comparison be made at a size the engine is built for; at
#: 100k finintel's fixed costs dominate its 0.06 s).
CYCLE_REF_SIZE = 1_000_000


def parse_size(text: str) -> int:
    """``"3M"`` -> 3_000_000, ``"100k"`` -> 100_000, ``"2500"`` -> 2500."""
    t = text.strip().lower()
    mult = {"k": 1_000, "m": 1_000_000}.get(t[-1:], 1)
    return int(float(t[:-1] if mult > 1 else t) * mult)


def size_label(size: int) -> str:
    """``3_000_000`` -> ``"3M"``."""
    for unit, div in (("M", 1_000_000), ("k", 1_000)):
        if size % div == 0:
            return f"{size // div}{unit}"
    return str(size)


def drop_dir(size: int) -> Path:
    """The cached generated drop of ``size`` transfers (generated on first use)."""
    out = CACHE / f"drop-{size}-s{SEED}"
    if not (out / "drop").is_dir():
        import finintel

        finintel.generate(out, transfers=size, seed=SEED)
    return out


def drop_for(size: int) -> Path:
    """The drop folder (the parquet files) of ``size`` transfers."""
    return drop_dir(size) / "drop"


def canonical_for(size: int) -> Path:
    """Canonical moved transfers of the drop (``finintel.load`` once), shared by the steps
    that measure detection, tracing and the peers on the same data."""
    path = drop_dir(size) / "canonical.parquet"
    if not path.exists():
        import polars as pl

        import finintel
        from finintel.schema import MOVED_STATUS

        ds = finintel.load(drop_for(size))
        frame = ds.transfers.filter(pl.col("status") == MOVED_STATUS).collect()
        tmp = path.with_suffix(".tmp")
        frame.write_parquet(tmp)
        tmp.replace(path)
    return path


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (MB).

    Linux's ``VmHWM`` belongs to the address space, which ``exec`` replaces; ``ru_maxrss``
    survives ``exec`` and so would count the parent's memory at ``fork`` (the orchestrator's).
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class TreePeak:
    """Peak resident memory and CPU time of this process's descendants (Spark's JVM, its Python
    workers), sampled from ``/proc`` every ``every`` seconds while the ``with`` block runs: the
    JVM's peak, the workers' (their sum at one sample), the whole tree's (this process
    included), and the descendants' CPU seconds (each one's last sampled user + system time:
    what a process spends after its last sample is missed). Sampling misses peaks shorter than
    ``every``; this process's own exact peak is :func:`peak_rss_mb`."""

    def __init__(self, every: float = 0.5) -> None:
        self.every = every
        self.peak = {"jvm": 0.0, "workers": 0.0, "tree": 0.0}
        self.cpu: dict[int, float] = {}  # descendant pid -> its user + system seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> TreePeak:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()

    def peaks(self) -> dict[str, float]:
        """``jvm_peak_rss_mb``, ``workers_peak_rss_mb``, ``tree_peak_rss_mb`` and
        ``children_cpu_seconds``."""
        out = {f"{k}_peak_rss_mb": round(v, 1) for k, v in self.peak.items()}
        return out | {"children_cpu_seconds": round(sum(self.cpu.values()), 3)}

    def _loop(self) -> None:
        while True:
            self.sample()
            if self._stop.wait(self.every):
                self.sample()
                return

    def sample(self) -> None:
        """One look at the tree under this process (processes that exit meanwhile are skipped)."""
        procs: dict[int, tuple[int, str, float, float]] = {}  # pid -> (parent, name, MB, CPU s)
        page_mb = os.sysconf("SC_PAGE_SIZE") / 2**20
        tick = os.sysconf("SC_CLK_TCK")
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                rss = int((entry / "statm").read_text().split()[1]) * page_mb
            except (OSError, IndexError, ValueError):
                continue
            name = stat[stat.index("(") + 1 : stat.rindex(")")]
            fields = stat[stat.rindex(")") + 2 :].split()
            cpu = (int(fields[11]) + int(fields[12])) / tick
            procs[int(entry.name)] = (int(fields[1]), name, rss, cpu)
        me = os.getpid()
        children: dict[int, list[int]] = {}
        for pid, (parent, *_) in procs.items():
            children.setdefault(parent, []).append(pid)
        below, todo = [], list(children.get(me, []))
        while todo:
            pid = todo.pop()
            below.append(pid)
            todo += children.get(pid, [])
        jvm = max((procs[p][2] for p in below if procs[p][1] == "java"), default=0.0)
        workers = sum(procs[p][2] for p in below if procs[p][1] != "java")
        tree = sum(procs[p][2] for p in below) + procs.get(me, (0, "", 0.0, 0.0))[2]
        for p in below:
            self.cpu[p] = procs[p][3]
        for key, value in (("jvm", jvm), ("workers", workers), ("tree", tree)):
            self.peak[key] = max(self.peak[key], value)


def cpu_seconds() -> float:
    """User + system CPU time of this process so far (all its threads)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def timed(fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run ``fn`` and add its wall time (``seconds``, unless ``fn`` timed its own core part),
    the CPU time of the whole call (``cpu_seconds``: steadier than wall time on a shared
    machine) and the process's peak RSS."""
    start, cpu = time.perf_counter(), cpu_seconds()
    out = fn()
    seconds = out.pop("seconds", None)
    out["seconds"] = round(time.perf_counter() - start if seconds is None else seconds, 3)
    out["cpu_seconds"] = round(cpu_seconds() - cpu, 3)
    out["peak_rss_mb"] = round(peak_rss_mb(), 1)
    return out
