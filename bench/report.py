"""The bench's targets (met / missed), Markdown table and PNG plot from a results document."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from common import CYCLE_REF_SIZE, size_label

Doc = dict[str, Any]


def _get(doc: Doc, name: str, size: int) -> dict[str, Any] | None:
    return next((r for r in doc["results"] if r["step"] == name and r["size"] == size), None)


def _s(doc: Doc, name: str, size: int) -> float | None:
    r = _get(doc, name, size)
    return None if r is None else r.get("seconds")


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else a / b


def _target(
    name: str, want: str, ratio: float | None, limit: float, *, higher: bool = False, note: str = ""
) -> dict[str, Any]:
    met = None if ratio is None else (ratio >= limit if higher else ratio <= limit)
    return {"target": name, "want": want, "measured": ratio, "met": met, "note": note}


def targets(doc: Doc) -> list[dict[str, Any]]:
    """Each target of the benchmark issue with the measured ratio and met / missed."""
    sizes: list[int] = doc["meta"]["sizes"]
    big, p = max(sizes), doc["meta"]["peer_size"]
    # the largest size whose whole run completed (a run that failed is shown as a step error)
    ran = max((n for n in sizes if _s(doc, "run", n) is not None), default=big)
    floor_p = _s(doc, "floor", p)
    out = [
        _target(f"whole run at {size_label(ran)}", "≤ 30× S",
                _ratio(_s(doc, "run", ran), _s(doc, "floor", ran)), 30),
    ]  # fmt: skip
    ours = (_get(doc, "peer_ours", p) or {}).get("typologies", {})
    duck = (_get(doc, "peer_duckdb", p) or {}).get("typologies", {})
    equal = doc.get("peers", {}).get("duckdb_equal", {})
    for typ in ("fan_in", "structuring", "pass_through"):
        out.append(
            _target(f"{typ} at {size_label(p)}", "≤ 10× S", _ratio(ours.get(typ), floor_p), 10)
        )
    for typ, limit in (("fan_in", 0.5), ("pass_through", 0.25), ("structuring", None)):
        r = _ratio(ours.get(typ), duck.get(typ))
        same = (
            "not run" if typ not in equal else "results equal" if equal[typ] else "RESULTS DIFFER"
        )
        if limit is None:
            out.append({"target": f"{typ} vs DuckDB", "want": "(no target)", "measured": r,
                        "met": None, "note": same})  # fmt: skip
        else:
            t = _target(f"{typ} vs DuckDB", f"≤ {limit}× DuckDB", r, limit, note=same)
            t["met"] = t["met"] and bool(equal.get(typ))
            out.append(t)
    gfp = {f: _get(doc, f"gfp:{f}", p) or {} for f in ("fan", "scatter-gather", "temp-cycle")}
    # a GFP feature that timed out took at least the timeout: the ratio is then an upper bound
    spent = {f: g.get("seconds") or g.get("timed_out") for f, g in gfp.items()}
    counts = "time only: GFP gives per-edge histograms, not instances (counts not compared)"
    for label, mine, parts in (
        ("fan_in (7d) vs GFP fan", ours.get("fan_in"), ("fan",)),
        ("graph kinds (all graph rules) vs GFP scatter-gather + temporal cycles",
         _s(doc, "graph", p), ("scatter-gather", "temp-cycle")),
    ):  # fmt: skip
        theirs = None if any(spent[f] is None for f in parts) else sum(spent[f] for f in parts)
        errors = "; ".join(f"{f} {gfp[f]['error']}" for f in parts if gfp[f].get("error"))
        note = counts + (f"; GFP {errors} (ratio is an upper bound)" if errors else "")
        out.append(_target(label, "< 1× GFP", _ratio(mine, theirs), 1.0, note=note))
    nx = _get(doc, "nx_cycles", CYCLE_REF_SIZE) or {}
    out.append(
        _target(
            f"temporal cycles vs networkx ({size_label(CYCLE_REF_SIZE)})",
            "≥ 50× faster",
            _ratio(nx.get("networkx_seconds"), nx.get("seconds")),
            50,
            higher=True,
            note="not run"
            if not nx
            else "same instances"
            if nx.get("equal")
            else "INSTANCES DIFFER",
        )
    )
    trace = _s(doc, "trace", big)
    out.append(_target(f"trace 100 seeds at {size_label(big)} (s)", "≤ 10 s (at 10M)", trace, 10))
    small = min(sizes)
    if big > small:
        bound = 1.2 * big / small
        out.append(
            _target(
                f"run time {size_label(big)} / {size_label(small)}",
                f"≤ {bound:g}× (10M/1M: ≤ 12×)",
                _ratio(_s(doc, "run", big), _s(doc, "run", small)),
                bound,
            )
        )
    cols = doc["meta"]["column_bytes"].get(str(ran))
    for name, how in (("run", "run"), ("run-chunks", "run in time chunks")):
        rss = (_get(doc, name, ran) or {}).get("peak_rss_mb")
        out.append(
            _target(
                f"{how} peak RSS at {size_label(ran)} / columns in memory",
                "≤ 3×",
                None if rss is None or not cols else rss * 2**20 / cols,
                3,
                note=f"columns: {cols / 2**20:.0f} MB" if cols else "",
            )
        )
    out.append(_target("finintel --help (s)", "≤ 1 s", _s(doc, "finintel --help", 0), 1))
    out.append(_scale_target(doc.get("scale")))
    return out


def _scale_target(scale: Doc | None) -> dict[str, Any]:
    """The 100M target from the latest scale run (``make bench-scale``), when there is one."""
    target = {"target": "100M transfers on this machine", "want": "completes", "measured": None,
              "met": None, "note": "no scale run yet (make bench-scale)"}  # fmt: skip
    if scale is None:
        return target
    m = scale["meta"]
    run = next((r for r in scale["results"] if r["step"].startswith("scale-run")), None)
    if m["size"] < 100_000_000 or run is None:
        return target
    peak = max(r.get("peak_rss_mb") or 0 for r in scale["results"])
    target["met"] = run.get("error") is None
    target["measured"] = run.get("seconds")
    target["note"] = (
        f"{scale['file']}: cron run over {size_label(m['size'])} stored transfers "
        + (f"failed: {run['error']}" if run.get("error") else
           f"in {_fmt(run.get('seconds'))} s, highest step peak RSS {_fmt(peak, 0)} MB")
    )  # fmt: skip
    return target


def _fmt(x: float | None, digits: int = 2) -> str:
    return "—" if x is None else f"{x:,.{digits}f}"


def _notes(r: dict[str, Any]) -> str:
    """A step's counts; a run's own timings (all but the total) and, on Spark, the sampled
    peaks of the JVM and of its Python workers and their CPU time."""
    notes = [
        f"{k} {v}"
        for k, v in r.items()
        if k in ("rows", "alerts", "rules", "shards", "chunk_windows", "seeds", "flow_rows", "instances",
                 "reference_instances", "networkx_seconds", "equal", "edges", "typologies")
    ]  # fmt: skip
    timings = r.get("timings") or {}
    notes += [f"{k} {v:,.1f} s" for k, v in timings.items() if k != "total"]
    notes += [
        f"{who} peak {r[key]:,.0f} MB"
        for who, key in (("JVM", "jvm_peak_rss_mb"), ("workers", "workers_peak_rss_mb"))
        if key in r
    ]
    if "children_cpu_seconds" in r:
        notes.append(f"JVM + workers CPU {r['children_cpu_seconds']:,.1f} s")
    return ", ".join(notes)


def markdown(doc: Doc) -> str:
    """The results as Markdown: steps per size, peers, targets."""
    m = doc["meta"]
    lines = [
        f"# make bench — {m['date']} on {m['host']} ({m['cpus']} CPUs, Python {m['python']})",
        "",
        "## Steps (each in its own process)",
        "",
        f"Load average at start / end: {m['load_average_at_start']} / "
        f"{m['load_average_at_end']} (a shared machine: compare ratios, and CPU seconds).",
        "",
        *([str(m["notes"]), ""] if m.get("notes") else []),
        "| size | step | seconds | CPU s | peak RSS MB | × S | notes |",
        "|---:|---|---:|---:|---:|---:|---|",
    ]
    for r in doc["results"]:
        floor = _s(doc, "floor", r["size"]) if r["size"] else None
        notes = r.get("error") or _notes(r)
        lines.append(
            f"| {size_label(r['size']) if r['size'] else ''} | {r['step']} | "
            f"{_fmt(r.get('seconds'))} | {_fmt(r.get('cpu_seconds'))} | "
            f"{_fmt(r.get('peak_rss_mb'), 0)} | "
            f"{_fmt(_ratio(r.get('seconds'), floor), 1)} | {notes} |"
        )
    eq = doc.get("peers", {}).get("duckdb_equal", {})
    if eq:
        lines += ["", "DuckDB results equal to finintel's: "
                  + ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in eq.items())]  # fmt: skip
    lines += _same_alerts(doc)
    lines += [
        "",
        "## Targets",
        "",
        "| target | wanted | measured | status | note |",
        "|---|---|---:|---|---|",
    ]
    for t in doc["targets"]:
        status = {True: "met", False: "**missed**", None: "n/a"}[t["met"]]
        lines.append(
            f"| {t['target']} | {t['want']} | {_fmt(t['measured'])} | {status} | {t['note']} |"
        )
    return "\n".join(lines) + "\n"


def _same_alerts(doc: Doc) -> list[str]:
    """Per size: did the other run steps find the same alert ids as ``run``?"""
    said = []
    for size in doc["meta"]["sizes"]:
        ref = (_get(doc, "run", size) or {}).get("alert_ids_sha256")
        others = [
            f"{name} {'yes' if r['alert_ids_sha256'] == ref else 'NO'}"
            for name in ("run-store", "run-chunks", "run-spark")
            if (r := _get(doc, name, size)) and r.get("alert_ids_sha256") and ref
        ]
        if others:
            said.append(f"{size_label(size)}: {', '.join(others)}")
    return ["", "Same alert ids as `run`: " + "; ".join(said)] if said else []


def scale_markdown(doc: Doc) -> str:
    """The scale run (bench/scale.py) as Markdown: one row per step, then the totals."""
    m = doc["meta"]
    lines = [
        f"# make bench-scale — {m['date']} on {m['host']} ({m['cpus']} CPUs, Python {m['python']})",
        "",
        f"{size_label(m['size'])} transfers as {m['parts']} generated drops of "
        f"{size_label(m['part'])} (seeds {m['seed']}…{m['seed'] + m['parts'] - 1}, consecutive "
        "182-day periods), ingested one by one, oldest first, into a Delta store; the last step "
        "is the cron run: it ingests the newest drop and detects over the whole store in time "
        f"chunks ({m.get('time_chunks', 'auto')}).",
        "",
        f"Load average at start / end: {m['load_average_at_start']} / "
        f"{m.get('load_average_at_end')}.",
        "",
        *([str(m["notes"]), ""] if m.get("notes") else []),
        "| step | seconds | CPU s | peak RSS MB | notes |",
        "|---|---:|---:|---:|---|",
    ]
    for r in doc["results"]:
        notes = r.get("error") or ", ".join(
            f"{k} {v}"
            for k, v in r.items()
            if k in ("rows", "duplicates", "alerts", "timings", "store_version")
        )
        lines.append(
            f"| {r['step']} | {_fmt(r.get('seconds'))} | {_fmt(r.get('cpu_seconds'))} | "
            f"{_fmt(r.get('peak_rss_mb'), 0)} | {notes} |"
        )
    done = [r for r in doc["results"] if r.get("seconds") is not None]
    if done:
        peak = max(r["peak_rss_mb"] for r in done)
        lines += [
            "",
            f"Total: {_fmt(sum(r['seconds'] for r in done))} s wall, "
            f"{_fmt(sum(r['cpu_seconds'] for r in done))} CPU s; highest peak RSS of a step "
            f"{_fmt(peak, 0)} MB.",
        ]
    return "\n".join(lines) + "\n"


def plot(doc: Doc, path: Path) -> None:
    """Time and peak RSS of each engine step against size (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = doc["meta"]["sizes"]
    fig, (ax_t, ax_c, ax_m) = plt.subplots(1, 3, figsize=(15, 4.5))
    names = dict.fromkeys(r["step"] for r in doc["results"] if r["size"] in sizes)
    for name in names:
        pts = [
            (r["size"] / 1e6, r["seconds"], r.get("cpu_seconds"), r["peak_rss_mb"])
            for r in doc["results"]
            if r["step"] == name and r["size"] in sizes and r.get("seconds") is not None
        ]
        if len(pts) < 2:
            continue
        x, t, cpu, mem = zip(*pts, strict=True)
        ax_t.plot(x, t, marker="o", label=name)
        ax_c.plot(x, cpu, marker="o", label=name)
        ax_m.plot(x, mem, marker="o", label=name)
    ax_t.set(xlabel="transfers (millions)", ylabel="seconds", title="wall time")
    ax_c.set(xlabel="transfers (millions)", ylabel="seconds", title="CPU time (all threads)")
    ax_m.set(xlabel="transfers (millions)", ylabel="MB", title="peak RSS")
    if ax_t.lines:
        ax_t.legend(fontsize=8)
    fig.suptitle(f"make bench {doc['meta']['date']} ({doc['meta']['cpus']} CPUs)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
