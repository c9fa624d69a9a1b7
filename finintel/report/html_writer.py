"""``report.html``: one self-contained page an analyst can open offline and hand on.

The page holds a summary (run metadata, counts, the strictest handling code and what it
means), the networks with a diagram and a timeline of their flows (inline SVG laid out here in
Python: a seeded spring layout, so the same report draws the same picture), sortable and
filterable tables (entities, links with their evidence transaction ids, resolved persons with
their name variants and merge reasons, transfers, sources, alerts with their explanations,
scores; see :mod:`finintel.report._html_table`) and a small inline script for sorting and
filtering.

A browser must cope with the page of any report, so a large report is shown in part, saying so
on the page (every row stays in the machine-readable formats): the :data:`_DETAILED`
highest-scoring networks get a diagram, a timeline and tables of their own, and then every
network is listed in one table; a diagram draws at most :data:`_MAX_NODES` accounts (a
connected core around the most central, :func:`_core`); a table holds at most
:data:`~finintel.report._html_table.MAX_ROWS` rows.

Facts and assessments stay apart: the page has a *Facts* and an *Assessments* part; in tables
that mix both (entities, links, networks) the assessment columns are headed ``assessment ·``
and shaded. Nothing is fetched at run time (no CDN, no fonts, no images): a Content Security
Policy forbids any request and allows only the page's own script, by hash.

Every value from the data is escaped with :func:`html.escape`; JSON embedded in the page is
escaped against ``</script>`` (``<`` written as ``\\u003c``); no event handler attribute is
ever written. The same report gives the same bytes.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import json
import math
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import networkx as nx
import polars as pl

from finintel.atomic import write_text
from finintel.link import LinkReport
from finintel.provenance import HANDLING_CODES
from finintel.report._html_table import e, fmt_num, fmt_time, table
from finintel.report._tables import jsonable

__all__ = ["HANDLING_MEANING", "ROLE_COLOURS", "render", "script_json", "write"]

#: What each handling code means (Europol SIENA), for the banner.
HANDLING_MEANING: dict[str, str] = {
    "H0": "Law-enforcement use only.",
    "H1": "Not for use in judicial proceedings without the permission of the provider.",
    "H2": "Not to be passed on without the permission of the provider.",
    "H3": "Other restrictions, stated by the provider in free text (see the sources below).",
}
#: Node colours of the network diagrams by assessed network role.
ROLE_COLOURS: dict[str, str] = {
    "collector": "#c0392b",
    "distributor": "#2e6fba",
    "intermediary": "#e08e0b",
    "participant": "#8a8f98",
}
_SEED = 7
_W, _H = 720, 440  # diagram size (networks of up to _BIG accounts; larger ones get _BW × _BH)
_BW, _BH = 1100, 760
_BIG = 30
_LABELS = 12  # in larger networks only the most central accounts are labelled
_TW = 900  # timeline width
_LANES = 40  # at most this many links in a timeline
_OPEN_NETWORKS = 3  # the highest-scoring networks are shown unfolded
_DETAILED = 50  # networks shown with a diagram, a timeline and tables of their own
_MAX_NODES = 150  # a larger network's diagram draws a connected core of it (_core)
_NET_ROWS = 1_000  # rows of a network's own links table
_NETWORK_COLS = (
    "network_id", "n_members", "n_links", "n_transfers", "total_base", "first_ts", "last_ts",
    "sources", "handling", "typologies", "n_alerts", "score",
)  # fmt: skip


def script_json(value: Any) -> str:
    """JSON safe inside ``<script>``: every ``<`` (so ``</script>`` and ``<!--``) as ``\\u003c``.

    >>> script_json({"x": "</script><b>"})
    '{"x": "\\\\u003c/script>\\\\u003cb>"}'
    """
    text = json.dumps(jsonable(value), sort_keys=True, ensure_ascii=False, default=str)
    return text.replace("<", "\\u003c")


def _dl(items: Iterable[tuple[str, Any]]) -> str:
    return (
        "<dl>"
        + "".join(
            f"<dt>{e(k)}</dt><dd>{e(v) if v not in (None, '') else '—'}</dd>" for k, v in items
        )
        + "</dl>"
    )


# --------------------------------------------------------------------------------------------
# SVG: network diagram and timeline


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _layout(
    nodes: list[str], edges: list[tuple[str, str, float]], width: int, height: int
) -> dict[str, tuple[float, float]]:
    """Seeded spring layout scaled into the diagram box (rounded, so stable as text)."""
    g = nx.Graph()
    g.add_nodes_from(nodes)
    for s, d, w in edges:
        if g.has_edge(s, d):
            g[s][d]["weight"] += w
        else:
            g.add_edge(s, d, weight=w)
    if len(nodes) == 1:
        return {nodes[0]: (width / 2, height / 2)}
    if len(nodes) == 2:
        return {nodes[0]: (width * 0.25, height / 2), nodes[1]: (width * 0.75, height / 2)}
    k = 2.0 / math.sqrt(len(nodes))
    pos = nx.spring_layout(g, k=k, seed=_SEED, iterations=200, weight=None)
    xs = [float(p[0]) for p in pos.values()]
    ys = [float(p[1]) for p in pos.values()]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    m = 40.0
    out = {}
    for n in nodes:
        px, py = float(pos[n][0]), float(pos[n][1])
        x = m + (px - x0) / ((x1 - x0) or 1.0) * (width - 2 * m)
        y = m + (py - y0) / ((y1 - y0) or 1.0) * (height - 2 * m)
        out[n] = (round(x, 1), round(y, 1))
    return out


def _core(members: list[dict[str, Any]], links: list[dict[str, Any]], n: int) -> set[str]:
    """``n`` accounts grown from the most central one, the most central neighbour of those
    drawn first (again from the most central left when a part is used up): a connected core
    of the network, where the ``n`` most central alone could be scattered points."""
    rank = {m["entity_id"]: (-(m.get("centrality") or 0.0), m["entity_id"]) for m in members}
    near: dict[str, set[str]] = {}
    for lk in links:
        near.setdefault(lk["src"], set()).add(lk["dst"])
        near.setdefault(lk["dst"], set()).add(lk["src"])
    left = sorted(rank, key=rank.__getitem__)
    chosen: set[str] = set()
    queue: list[tuple[tuple[float, str], str]] = []
    while len(chosen) < n:
        if not queue:
            seed = next(a for a in left if a not in chosen)
            queue = [(rank[seed], seed)]
        _, account = heapq.heappop(queue)
        if account in chosen:
            continue
        chosen.add(account)
        for other in near.get(account, ()):
            if other not in chosen and other in rank:
                heapq.heappush(queue, (rank[other], other))
    return chosen


def _diagram(
    idx: int,
    members: list[dict[str, Any]],
    links: list[dict[str, Any]],
    currency: str,
) -> str:
    note = ""
    if len(members) > _MAX_NODES:
        drawn = _core(members, links, _MAX_NODES)
        note = (
            f'<p class="muted capped">{_MAX_NODES} of the {len(members):,} accounts are drawn '
            "(from the most central account outwards, the most central linked accounts first) "
            "with the links among them; every account and link is in the tables.</p>"
        )
        members = [m for m in members if m["entity_id"] in drawn]
    central = sorted(members, key=lambda m: (-(m.get("centrality") or 0.0), m["entity_id"]))
    nodes = [m["entity_id"] for m in members]
    known = set(nodes)
    links = [lk for lk in links if lk["src"] in known and lk["dst"] in known]
    big = len(nodes) > _BIG
    width, height = (_BW, _BH) if big else (_W, _H if len(nodes) > 4 else 280)
    edges = [(lk["src"], lk["dst"], lk["total_base"] or 0.0) for lk in links]
    pos = _layout(nodes, edges, width, height)
    top = max([lk["total_base"] or 0.0 for lk in links] + [1.0])
    labelled = {m["entity_id"] for m in (central if not big else central[:_LABELS])}
    radius = {
        m["entity_id"]: round(5 + 9 * math.sqrt(max(m.get("centrality") or 0.0, 0.0)), 1)
        for m in members
    }
    marker = f"arrow-{idx}"
    parts = [
        f'<svg class="diagram" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="network diagram">',
        f'<defs><marker id="{marker}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="9" '
        'markerHeight="9" markerUnits="userSpaceOnUse" orient="auto-start-reverse">'
        '<path d="M0,0L10,5L0,10z" fill="#4a525c"/></marker></defs>',
        f'<g class="edges{" many" if len(links) > 60 else ""}">',
    ]
    for lk in links:
        (x1, y1), (x2, y2) = pos[lk["src"]], pos[lk["dst"]]
        dx, dy = x2 - x1, y2 - y1
        dist = math.hypot(dx, dy) or 1.0
        ux, uy = dx / dist, dy / dist
        r1, r2 = radius[lk["src"]], radius[lk["dst"]] + 2
        sx, sy = x1 + ux * r1, y1 + uy * r1
        tx, ty = x2 - ux * r2, y2 - uy * r2
        # bend to the right of the direction of travel, so A→B and B→A do not overlap
        bend = min(30.0, dist * 0.15)
        cx, cy = (sx + tx) / 2 - uy * bend, (sy + ty) / 2 + ux * bend
        stroke = round(0.8 + 4 * math.log1p(lk["total_base"] or 0.0) / math.log1p(top), 2)
        title = (
            f"{lk['src_key']} → {lk['dst_key']}: {lk['n_transfers']} transfer(s), "
            f"{fmt_num('total_base', lk['total_base'])} {currency}"
        )
        parts.append(
            f'<path d="M{sx:.1f},{sy:.1f}Q{cx:.1f},{cy:.1f} {tx:.1f},{ty:.1f}" '
            f'stroke-width="{stroke}" marker-end="url(#{marker})"><title>{e(title)}</title></path>'
        )
    parts.append('</g><g class="nodes">')
    for m in members:
        x, y = pos[m["entity_id"]]
        role = m.get("network_role") or "participant"
        colour = ROLE_COLOURS.get(role, ROLE_COLOURS["participant"])
        title = (
            f"{m['key']} — {role}; in {fmt_num('in_base', m.get('in_base'))}, "
            f"out {fmt_num('out_base', m.get('out_base'))} {currency}"
        )
        if m.get("label") and m["label"] != m["key"]:
            title += f"; holder: {m['label']}"
        parts.append(
            f'<g class="node" data-role="{e(role)}"><circle cx="{x}" cy="{y}" '
            f'r="{radius[m["entity_id"]]}" fill="{colour}"><title>{e(title)}</title></circle>'
        )
        if m["entity_id"] in labelled:
            anchor = "start" if x < width - 160 else "end"
            off = radius[m["entity_id"]] + 3
            lx = x + off if anchor == "start" else x - off
            parts.append(
                f'<text x="{lx:.1f}" y="{y + 4:.1f}" text-anchor="{anchor}">'
                f"{e(_short(m['key'], 22 if big else 34))}</text>"
            )
        parts.append("</g>")
    parts.append("</g></svg>")
    return "".join(parts) + note


def _ticks(t0: float, t1: float, n: int) -> list[float]:
    if t1 <= t0:
        return [t0]
    return [t0 + (t1 - t0) * i / n for i in range(n + 1)]


def _timeline(
    links: list[dict[str, Any]], transfers: dict[str, list[dict[str, Any]]], currency: str
) -> str:
    """One lane per link (the largest links first), one dot per evidence transfer."""
    shown = sorted(links, key=lambda lk: (-(lk["total_base"] or 0.0), lk["link_id"]))[:_LANES]
    shown.sort(key=lambda lk: (lk["first_ts"], lk["link_id"]))
    txs = [t for lk in shown for t in transfers.get(lk["link_id"], []) if t["ts"] is not None]
    if not txs:
        return '<p class="muted">No dated transfers.</p>'
    stamps: list[float] = [float(t["ts"].timestamp()) for t in txs]
    t0, t1 = min(stamps), max(stamps)
    top = max([t["amount_base"] or 0.0 for t in txs] + [1.0])
    left, right, lane, axis = 290, 20, 16, 34
    pad = 8  # keep the first and last dots inside the plot
    height = len(shown) * lane + axis + 10
    span = (t1 - t0) or 1.0

    def x_of(stamp: float) -> float:
        if t1 == t0:
            return left + (_TW - left - right) / 2
        return left + pad + (stamp - t0) / span * (_TW - left - right - 2 * pad)

    parts = [
        f'<svg class="timeline" viewBox="0 0 {_TW} {height}" width="{_TW}" height="{height}" '
        'role="img" aria-label="timeline of the flows">'
    ]
    for i, lk in enumerate(shown):
        y = 8 + i * lane + lane / 2
        name = f"{lk['src_key']} → {lk['dst_key']}"
        short = f"{_short(lk['src_key'], 18)} → {_short(lk['dst_key'], 18)}"
        parts.append(
            f'<g class="lane"><line x1="{left}" x2="{_TW - right}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{e(short)}<title>{e(name)}</title></text>"
        )
        for t in transfers.get(lk["link_id"], []):
            if t["ts"] is None:
                continue
            r = round(2.5 + 5 * math.sqrt(max(t["amount_base"] or 0.0, 0.0) / top), 1)
            tip = (
                f"{t['tx_id']} · {fmt_time(t['ts'])} · "
                f"{fmt_num('amount_base', t['amount_base'])} {currency} · {t['source']}"
            )
            parts.append(
                f'<circle cx="{x_of(t["ts"].timestamp()):.1f}" cy="{y:.1f}" r="{r}">'
                f"<title>{e(tip)}</title></circle>"
            )
        parts.append("</g>")
    ybase = 8 + len(shown) * lane + 6
    parts.append(
        f'<g class="axis"><line x1="{left}" x2="{_TW - right}" y1="{ybase}" y2="{ybase}"/>'
    )
    long_span = t1 - t0 > 4 * 86400
    ticks = _ticks(t0, t1, 4 if long_span else 3)
    for k, stamp in enumerate(ticks):
        x = x_of(stamp)
        when = datetime.fromtimestamp(stamp, tz=txs[0]["ts"].tzinfo)
        label = when.strftime("%Y-%m-%d" if long_span else "%Y-%m-%d %H:%M")
        anchor = "start" if k == 0 else "end" if k == len(ticks) - 1 else "middle"
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{ybase}" y2="{ybase + 4}"/>'
            f'<text x="{x:.1f}" y="{ybase + 16}" text-anchor="{anchor}">{e(label)}</text>'
        )
    parts.append("</g></svg>")
    note = ""
    if len(links) > len(shown):
        note = (
            f'<p class="muted">The {len(shown)} largest of {len(links)} links are drawn; '
            "every link is in the table below.</p>"
        )
    return "".join(parts) + note


# --------------------------------------------------------------------------------------------
# sections


def _banner(report: LinkReport) -> str:
    code = report.meta.get("handling")
    if code in HANDLING_MEANING:
        ranked = " < ".join(HANDLING_CODES)
        return (
            f'<div class="banner handling-{e(code)}" id="handling">'
            f"<strong>Handling code {e(code)}</strong> — {e(HANDLING_MEANING[str(code)])} "
            f"This is the strictest code among the sources of this report ({e(ranked)}); "
            "every item below carries the strictest code of its own sources.</div>"
        )
    return (
        '<div class="banner handling-none" id="handling"><strong>No handling code recorded'
        "</strong> — no source manifest was given (<code>--sources</code>). Check with the "
        "providers of the data before passing this report on.</div>"
    )


def _summary(report: LinkReport) -> str:
    meta = report.meta
    run = meta.get("run") if isinstance(meta.get("run"), dict) else {}
    run = run or {}
    rules = meta.get("rules") or []
    inputs = meta.get("inputs") or []
    counts = meta.get("report_counts") or {}
    excl = meta.get("exclude_handling") or []
    items: list[tuple[str, Any]] = [
        ("run id", meta.get("run_id") or run.get("run_id")),
        ("started", run.get("started_at")),
        ("finished", run.get("finished_at")),
        ("finintel version", meta.get("finintel")),
        ("base currency", meta.get("base_currency")),
        ("inputs", len(inputs)),
        ("rules", len(rules)),
        (
            "pseudonymised",
            "yes (key id " + str(meta.get("key_id")) + ")" if meta.get("pseudonymised") else "no",
        ),
        ("excluded handling codes", ", ".join(map(str, excl)) or "none"),
        ("excluded sources", ", ".join(map(str, meta.get("excluded_sources") or [])) or "none"),
    ]
    count_items = [(k, f"{v:,}" if isinstance(v, int) else v) for k, v in sorted(counts.items())]
    parts = [
        '<section id="summary"><h2>Summary</h2><div class="cols">',
        "<div><h3>Run</h3>" + _dl(items) + "</div>",
        "<div><h3>Counts</h3>" + _dl(count_items) + "</div></div>",
    ]
    if inputs:
        frame = pl.DataFrame(
            [
                {k: i.get(k) for k in ("file", "source", "kind", "rows_in", "rows_accepted")}
                for i in inputs
                if isinstance(i, dict)
            ],
            schema={
                "file": pl.String,
                "source": pl.String,
                "kind": pl.String,
                "rows_in": pl.Int64,
                "rows_accepted": pl.Int64,
            },
            strict=False,
        )
        parts.append("<h3>Inputs</h3>")
        parts.append(table("t-inputs", "inputs", frame, frame.columns, caption="inputs"))
    if rules:
        frame = pl.DataFrame(
            [
                {k: str(r.get(k)) if r.get(k) is not None else None
                 for k in ("id", "version", "family", "severity", "fingerprint")}
                for r in rules
                if isinstance(r, dict)
            ],
            schema=dict.fromkeys(("id", "version", "family", "severity", "fingerprint"),
                                 pl.String),
        )  # fmt: skip
        parts.append(f"<details><summary><strong>Rules ({frame.height})</strong></summary>")
        parts.append(table("t-rules", "rules", frame, frame.columns, caption="rules"))
        parts.append("</details>")
    parts.append("</section>")
    return "".join(parts)


def _networks(report: LinkReport, currency: str) -> str:
    nets = report.networks
    if nets.height == 0:
        return '<section id="networks"><h2>Networks</h2><p>No networks.</p></section>'
    # only the detailed networks' entities, links and transfers are looked at row by row
    detailed = nets.head(_DETAILED)
    net_links = report.links.filter(pl.col("network_id").is_in(detailed["network_id"].implode()))
    member_ids = detailed["members"].explode().drop_nulls()
    ents = {
        r["entity_id"]: r
        for r in report.entities.filter(pl.col("entity_id").is_in(member_ids.implode())).iter_rows(
            named=True
        )
    }
    by_net: dict[str, list[dict[str, Any]]] = {}
    for lk in net_links.iter_rows(named=True):
        by_net.setdefault(lk["network_id"], []).append(lk)
    link_parts = {
        str(k[0]): frame for k, frame in net_links.partition_by("network_id", as_dict=True).items()
    }
    by_link: dict[str, list[dict[str, Any]]] = {}
    evidence = report.transfers.filter(pl.col("link_id").is_in(net_links["link_id"].implode()))
    for t in evidence.sort("ts", "source", "tx_id").iter_rows(named=True):
        by_link.setdefault(t["link_id"], []).append(t)
    legend = "".join(
        f'<span class="legend"><span class="swatch" style="background:{c}"></span>{e(r)}</span> '
        for r, c in ROLE_COLOURS.items()
    )
    capped = nets.height > _DETAILED
    parts = [
        '<section id="networks"><h2>Networks</h2>',
        f"<p>{nets.height:,} networks (connected groups of suspicious links), the highest "
        "score first. Diagram: arrows are links (width by amount); node colour is the "
        f'<span class="assessment-tag">assessed</span> role: {legend}</p>',
    ]
    if capped:
        parts.append(
            f'<p class="capped">Diagrams, timelines and links for the {_DETAILED} '
            f"highest-scoring networks; all {nets.height:,} networks are in the "
            '<a href="#all-networks">table of networks</a> below and in networks.parquet, '
            "networks.csv and report.json.</p>"
        )
    for i, n in enumerate(detailed.iter_rows(named=True)):
        members = []
        players = {p["entity_id"]: p for p in n["key_players"] or []}
        for mid in n["members"] or []:
            ent = ents.get(mid, {"entity_id": mid, "key": mid, "label": mid})
            members.append(
                {
                    **ent,
                    "centrality": (players.get(mid) or {}).get("centrality")
                    or _share(ent, n["total_base"]),
                }
            )
        links = by_net.get(n["network_id"], [])
        open_attr = " open" if i < _OPEN_NETWORKS else ""
        head = (
            f"Network {i + 1}: {n['n_members']} accounts, {n['n_links']} links, "
            f"{fmt_num('total_base', n['total_base'])} {currency} — score "
            f"{fmt_num('score', n['score'])}"
        )
        facts = _dl(
            [
                ("network id", n["network_id"]),
                ("accounts", n["n_members"]),
                ("parties", len(n["parties"] or [])),
                ("links", n["n_links"]),
                ("transfers", n["n_transfers"]),
                ("total", f"{fmt_num('total_base', n['total_base'])} {currency}"),
                ("first", fmt_time(n["first_ts"])),
                ("last", fmt_time(n["last_ts"])),
                ("sources", ", ".join(n["sources"] or [])),
                ("handling", n["handling"] or "none recorded"),
            ]
        )
        assess = _dl(
            [
                ("score", fmt_num("score", n["score"])),
                ("typologies", ", ".join(n["typologies"] or [])),
                ("alerts", n["n_alerts"]),
            ]
        )
        kp = pl.DataFrame(
            n["key_players"] or [],
            schema={
                "key": pl.String,
                "role": pl.String,
                "in_degree": pl.Int64,
                "out_degree": pl.Int64,
                "in_base": pl.Float64,
                "out_base": pl.Float64,
                "centrality": pl.Float64,
            },
            strict=False,
        )
        link_frame = link_parts.get(n["network_id"], report.links.clear())
        parts.append(
            f'<details class="network" id="net-{i + 1}"{open_attr}><summary>{e(head)}</summary>'
            '<div class="cols"><div class="facts"><h4>Facts</h4>'
            f"{facts}</div>"
            '<div class="assess"><h4>Assessment</h4>'
            f"{assess}<h5>Key players</h5>"
            + table(
                f"t-kp-{i + 1}",
                "key_players",
                kp,
                kp.columns,
                caption="key players",
                all_assessment=True,
            )
            + "</div></div>"
            f"<h4>Diagram</h4>{_diagram(i + 1, members, links, currency)}"
            f"<h4>Timeline of the flows</h4>{_timeline(links, by_link, currency)}"
            "<h4>Links and their evidence</h4>"
            + table(
                f"t-net-links-{i + 1}",
                "links",
                link_frame,
                [
                    "src_key",
                    "dst_key",
                    "n_transfers",
                    "total_base",
                    "first_ts",
                    "last_ts",
                    "tx_ids",
                    "handling",
                    "typologies",
                    "score",
                ],
                caption="links of this network",
                limit=_NET_ROWS,
            )
            + "</details>"
        )
    if capped:
        parts.append(
            '<h3 id="all-networks">All networks</h3>'
            + table("t-networks", "networks", nets, _NETWORK_COLS, caption="networks")
        )
    parts.append("</section>")
    return "".join(parts)


def _share(ent: dict[str, Any], total: float | None) -> float:
    if not total:
        return 0.0
    return ((ent.get("in_base") or 0.0) + (ent.get("out_base") or 0.0)) / (2 * total)


_ENTITY_COLS = (
    "entity_id", "kind", "key", "label", "names", "identifiers", "countries", "network_id",
    "in_degree", "out_degree", "in_base", "out_base", "sources", "handling",
    "roles", "network_role", "typologies", "n_alerts", "score",
)  # fmt: skip
_LINK_COLS = (
    "link_id", "src_key", "dst_key", "network_id", "n_transfers", "total_base", "first_ts",
    "last_ts", "tx_ids", "sources", "handling", "typologies", "alert_ids", "n_alerts", "score",
)  # fmt: skip
_SHARED_COLS = (
    "type", "value", "n_names", "n_parties", "names", "parties", "accounts", "network_ids",
    "sources", "handling",
)  # fmt: skip
_PERSON_COLS = (
    "person_id", "label", "n_parties", "resolved_parties", "names", "identifiers", "accounts",
    "parties", "merges", "decision", "network_ids", "sources", "handling", "typologies",
    "n_alerts", "score",
)  # fmt: skip
_ALERT_COLS = (
    "alert_id", "typology", "family", "severity", "score", "explanation", "focus", "focus_role",
    "roles", "n_transfers", "amount_base", "first_ts", "last_ts", "tx_ids", "sources", "metrics",
)  # fmt: skip


def _tables(report: LinkReport) -> str:
    return "".join(
        [
            '<section id="facts" class="part-facts"><h2>Facts</h2>'
            "<p>Records as the providers supplied them, and what follows from them by counting. "
            'Columns headed <span class="assessment-tag">assessment ·</span> are assessments '
            "kept beside the facts they concern.</p>",
            '<h3 id="entities">Entities</h3>',
            table("t-entities", "entities", report.entities, _ENTITY_COLS, caption="entities"),
            '<h3 id="links">Links (with evidence transaction ids)</h3>',
            table("t-links", "links", report.links, _LINK_COLS, caption="links"),
            '<h3 id="persons">Resolved persons (parties that are one person: every recorded '
            "name variant and why they were merged)</h3>",
            table("t-persons", "persons", report.persons, _PERSON_COLS, caption="persons"),
            '<h3 id="shared">Shared infrastructure (phones, e-mails, addresses, devices, IP '
            "addresses under different names)</h3>",
            table("t-shared", "shared", report.shared, _SHARED_COLS, caption="shared"),
            '<h3 id="transfers">Evidence transfers</h3>',
            table(
                "t-transfers",
                "transfers",
                report.transfers,
                report.transfers.columns,
                caption="transfers",
            ),
            '<h3 id="sources">Sources</h3>',
            table(
                "t-sources", "sources", report.sources, report.sources.columns, caption="sources"
            ),
            "</section>",
            '<section id="assessments" class="part-assessments"><h2>Assessments</h2>'
            "<p>Typology hits and scores: the engine's assessment of the facts, not facts "
            "themselves (EU Law Enforcement Directive, Art. 7).</p>",
            '<h3 id="alerts">Alerts</h3>',
            table("t-alerts", "alerts", report.alerts, _ALERT_COLS, caption="alerts"),
            '<h3 id="scores">Scores by rule</h3>',
            table("t-scores", "scores", report.scores, report.scores.columns, caption="scores"),
            "</section>",
        ]
    )


_CSS = """
:root{--fg:#1d2430;--muted:#5c6672;--line:#d5dae1;--ass:#fff5dc;--ass-line:#e6c36a;--fact:#eef4fb}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;
color:var(--fg);margin:0 auto;padding:0 24px 48px;max-width:1400px}
header{border-bottom:1px solid var(--line);padding:16px 0 8px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:19px;margin:28px 0 8px;padding-bottom:4px;
border-bottom:2px solid var(--line)}h3{font-size:16px;margin:20px 0 6px}h4{margin:14px 0 4px}
h5{margin:10px 0 4px}
nav a{margin-right:12px}
.muted{color:var(--muted)}
.banner{padding:10px 14px;border-radius:6px;margin:12px 0;border:1px solid}
.handling-H0{background:#eaf6ec;border-color:#6bb37a}
.handling-H1{background:#fff8e1;border-color:#e0b84a}
.handling-H2{background:#fdecea;border-color:#d9534f}
.handling-H3{background:#f3e8fd;border-color:#8e5cc4}
.handling-none{background:#f1f2f4;border-color:#9aa2ad}
.cols{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}.cols>div{flex:1 1 360px;min-width:0}.cols>.assess{flex:2 1 560px}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:0}
dt{color:var(--muted)}dd{margin:0;overflow-wrap:anywhere}
.part-facts>h2{border-color:#7aa3d6}
.part-assessments{background:var(--ass);border:1px solid var(--ass-line);padding:0 14px 14px;
border-radius:6px;margin-top:24px}
.part-assessments>h2{border-color:var(--ass-line)}
.facts{background:var(--fact);padding:4px 12px 10px;border-radius:6px}
.assess{background:var(--ass);border:1px solid var(--ass-line);padding:4px 12px 10px;
border-radius:6px}
.assessment-tag{background:var(--ass);border:1px solid var(--ass-line);padding:0 4px;
border-radius:3px}
details.network{border:1px solid var(--line);border-radius:6px;margin:10px 0;padding:6px 12px}
details.network>summary{cursor:pointer;font-weight:600}
.tablebox{margin:6px 0 12px}.tools{margin:4px 0}.count{color:var(--muted);margin-left:8px}
.scroll{max-height:480px;overflow:auto;border:1px solid var(--line);border-radius:4px}
table.data{border-collapse:collapse;font-size:12.5px;width:100%}
table.data caption{text-align:left;font-size:0;height:0}
table.data th{position:sticky;top:0;background:#f4f6f8;text-align:left;cursor:pointer;
border-bottom:1px solid var(--line);padding:4px 6px;white-space:nowrap}
table.data th.assessment{background:#fbe7b0}
table.data td{border-bottom:1px solid #eceff3;padding:3px 6px;vertical-align:top;
overflow-wrap:break-word;max-width:420px}
table.data td.assessment{background:var(--ass)}
table.data td.nw{white-space:nowrap}table.data td.num{text-align:right}table.data td.wide{min-width:280px}
table.data th[aria-sort=ascending]::after{content:" ▲"}
table.data th[aria-sort=descending]::after{content:" ▼"}
svg{max-width:100%;height:auto;border:1px solid var(--line);border-radius:4px;background:#fff}
svg.diagram .edges path{fill:none;stroke:#6d7682;stroke-opacity:.75}
svg.diagram .edges.many path{stroke-opacity:.35}
svg.diagram .node circle{stroke:#fff;stroke-width:1.5}
svg text{font:11px system-ui,"DejaVu Sans",sans-serif;fill:#1d2430}
svg.diagram text{paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}
svg.timeline line{stroke:#e1e5ea}svg.timeline .axis line{stroke:#8a929c}
svg.timeline circle{fill:#2e6fba;fill-opacity:.7}
.legend{white-space:nowrap}.swatch{display:inline-block;width:10px;height:10px;border-radius:50%;margin:0 3px 0 6px}
#js-status{color:var(--muted);font-size:12px}
""".strip()

_JS = r"""
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("finintel-data").textContent);
  function key(cell) {
    var s = cell.getAttribute("data-sort");
    if (s !== null && s !== "" && !isNaN(Number(s))) { return { n: Number(s) }; }
    return { t: s !== null ? s : cell.textContent.toLowerCase() };
  }
  function compare(a, b) {
    if (a.n !== undefined && b.n !== undefined) { return a.n - b.n; }
    if (a.n !== undefined) { return -1; }
    if (b.n !== undefined) { return 1; }
    return a.t < b.t ? -1 : a.t > b.t ? 1 : 0;
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var heads = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(heads, function (th, col) {
      th.addEventListener("click", function () {
        var asc = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows).map(function (r, i) {
          return { r: r, k: key(r.cells[col]), i: i };
        });
        rows.sort(function (x, y) {
          var c = compare(x.k, y.k);
          return c !== 0 ? (asc ? c : -c) : x.i - y.i;
        });
        var frag = document.createDocumentFragment();
        rows.forEach(function (x) { frag.appendChild(x.r); });
        body.appendChild(frag);
      });
    });
  });
  document.querySelectorAll("input.filter").forEach(function (input) {
    var table = document.getElementById(input.getAttribute("data-table"));
    var count = document.querySelector('[data-count-for="' + table.id + '"]');
    input.addEventListener("input", function () {
      var q = input.value.trim().toLowerCase();
      var shown = 0;
      Array.prototype.forEach.call(table.tBodies[0].rows, function (r) {
        var hit = q === "" || r.textContent.toLowerCase().indexOf(q) !== -1;
        r.hidden = !hit;
        if (hit) { shown += 1; }
      });
      if (count) { count.textContent = shown + " of " + table.tBodies[0].rows.length + " rows"; }
    });
  });
  var status = document.createElement("p");
  status.id = "js-status";
  status.setAttribute("data-ready", "yes");
  status.setAttribute("data-networks", String(data.networks));
  status.textContent = "Tables are sortable (click a heading) and filterable.";
  document.getElementById("status-slot").appendChild(status);
})();
""".strip()


def render(report: LinkReport) -> str:
    """The whole page as text (the same report gives the same text)."""
    currency = str(report.meta.get("base_currency") or "EUR")
    data = {
        "format": "finintel-link-report-html",
        "handling": report.meta.get("handling"),
        "run_id": report.meta.get("run_id") or (report.meta.get("run") or {}).get("run_id"),
        "networks": report.networks.height,
        "counts": report.meta.get("report_counts") or {},
    }
    digest = base64.b64encode(hashlib.sha256(_JS.encode()).digest()).decode()
    csp = (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"
    )
    run_id = data["run_id"] or "—"
    handling = report.meta.get("handling") or "none recorded"
    title = f"finintel link report {run_id}"
    return "".join(
        [
            "<!DOCTYPE html>\n",
            '<html lang="en"><head><meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{e(csp)}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            '<meta name="referrer" content="no-referrer">',
            f"<title>{e(title)}</title><style>{_CSS}</style></head><body>",
            f'<header><h1>Suspicious-link report</h1><p class="muted">run {e(run_id)} · '
            f"handling {e(handling)} · base currency {e(currency)}</p>",
            _banner(report),
            '<nav><a href="#summary">Summary</a><a href="#networks">Networks</a>'
            '<a href="#facts">Facts</a><a href="#entities">Entities</a>'
            '<a href="#links">Links</a><a href="#persons">Persons</a>'
            '<a href="#transfers">Transfers</a>'
            '<a href="#sources">Sources</a><a href="#assessments">Assessments</a>'
            '<a href="#alerts">Alerts</a><a href="#scores">Scores</a></nav>',
            '<div id="status-slot"></div></header><main>',
            _summary(report),
            _networks(report, currency),
            _tables(report),
            "</main>",
            f'<script type="application/json" id="finintel-data">{script_json(data)}</script>',
            f"<script>{_JS}</script>",
            "</body></html>\n",
        ]
    )


def write(report: LinkReport, out_dir: Path) -> list[Path]:
    """Write ``out_dir/report.html``."""
    target = out_dir / "report.html"
    write_text(target, render(report))
    return [target]
