"""report.html at scale: whole-column cell formatting gives the per-cell text (checked against a
per-cell reference on the demo and on hostile values), diagrams for the highest-scoring
networks only, a connected core of a very large network, capped long tables."""

from __future__ import annotations

import html
import json
import math
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import finintel
from finintel.ingest.load import Dataset
from finintel.link import LinkReport, link
from finintel.report import _html_table
from finintel.report._html_table import table
from finintel.report._tables import jsonable, merge_text
from finintel.report.html_writer import _DETAILED, _MAX_NODES, _core, render
from finintel.schema import ALERTS, PARTIES, QUARANTINE, TRANSFERS
from tests.report import case
from tests.report.test_html import CHROMIUM, _chromium

ROOT = Path(__file__).resolve().parents[2]

# --------------------------------------------------------------------------------------------
# the per-cell reference: how report.html formatted one value at a time before


def _ref_num(column: str, value: float) -> str:
    if math.isnan(value):
        return ""
    return f"{value:.3f}" if column in ("score", "contribution", "centrality") else f"{value:,.2f}"


def _ref_item(value: Any) -> str:
    if isinstance(value, dict):
        if set(value) == {"type", "value"}:
            text = str(value["value"])
            return text if text.startswith(f"{value['type']}:") else f"{value['type']}: {text}"
        if set(value) == {"account", "role"}:
            return f"{value['account']} ({value['role']})"
        if "party_a" in value and "rule" in value:
            return merge_text(value)
        return json.dumps(jsonable(value), sort_keys=True, ensure_ascii=False)
    return str(value)


def _ref_cell(column: str, dtype: pl.DataType, value: Any) -> tuple[str, str | None]:
    def e(v: Any) -> str:
        return html.escape(str(v), quote=True)

    if value is None:
        return "", None
    if isinstance(dtype, pl.Datetime):
        return e(value.strftime("%Y-%m-%d %H:%M:%S")), e(value.isoformat())
    if dtype.is_float():
        return e(_ref_num(column, value)), e(repr(float(value)))
    if dtype.is_integer():
        return e(f"{value:,}"), e(str(int(value)))
    if isinstance(dtype, pl.List):
        items = [_ref_item(v) for v in value]
        if not items:
            return "", None
        joined = "<br>".join(e(i) for i in items)
        if len(items) > 6:
            return f"<details><summary>{len(items):,} items</summary>{joined}</details>", None
        return joined, None
    return e(value), None


def _ref_body(name: str, frame: pl.DataFrame) -> str:
    """The <tbody> content, one Python call per cell (classes as table() writes them)."""
    page = table("t", name, frame, frame.columns, caption="c", limit=10**9)
    heads = re.findall(r"<th scope=\"col\"([^>]*)>", page)
    first_row = re.search(r"<tbody><tr>(.*?)</tr>", page)
    classes = re.findall(r"<td( class=\"[^\"]*\")?[ >]", first_row.group(1)) if first_row else []
    assert not first_row or len(classes) == len(heads)
    rows = []
    for row in frame.iter_rows():
        tds = []
        for cls, c, value in zip(classes, frame.columns, row, strict=True):
            text, key = _ref_cell(c, frame.schema[c], value)
            attrs = cls if key is None else f'{cls} data-sort="{key}"'
            tds.append(f"<td{attrs}>{text}</td>")
        rows.append("<tr>" + "".join(tds) + "</tr>")
    return "".join(rows)


def _body(name: str, frame: pl.DataFrame) -> str:
    page = table("t", name, frame, frame.columns, caption="c", limit=10**9)
    return page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]


EVIL = "<script>alert(\"x\")</script> & 'quotes'"

HOSTILE = pl.DataFrame(
    {
        "text": [EVIL, "=cmd|' /C calc'!A0", None, ""],
        "n": [1234567, -1234, None, 0],
        "amount": [1234.5, float("nan"), None, -0.005],
        "score": [0.12345, 1.0, None, 0.0],
        "ts": [
            datetime(2025, 3, 1, 12, 0, tzinfo=UTC),
            datetime(2025, 3, 1, 12, 0, 0, 1500, tzinfo=UTC),
            None,
            datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC),
        ],
        "tx_ids": [[EVIL, None], [f"t{i}" for i in range(7)], None, []],
        "identifiers": [
            [{"type": "phone", "value": "phone:+49<1>"}, {"type": "email", "value": EVIL}],
            [],
            None,
            [{"type": None, "value": None}],
        ],
        "roles": [[{"account": EVIL, "role": "mule"}], None, [], [{"account": "A", "role": None}]],
        "flag": [True, False, None, True],
    },
    schema_overrides={"ts": pl.Datetime("us", "UTC")},
)


def test_whole_column_cells_equal_the_per_cell_reference_on_hostile_values() -> None:
    body = _body("links", HOSTILE)
    assert body == _ref_body("links", HOSTILE)
    assert "<script" not in body and html.escape(EVIL) in body
    assert "1,234,567" in body and "-1,234" in body and 'data-sort="nan"' in body
    assert 'data-sort="2025-03-01T12:00:00.001500+00:00"' in body
    assert "<details><summary>7 items</summary>" in body


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> LinkReport:
    """The demo's link report, read back from the Parquet tables of a run."""
    out = tmp_path_factory.mktemp("demo") / "out"
    finintel.run(
        ROOT / "fixtures/demo/drop", ROOT / "rules", out, formats="parquet", deterministic=True
    )
    frames = {p.stem: pl.read_parquet(p) for p in out.glob("*.parquet")}
    return LinkReport(
        **{k: frames[k] for k in ("entities", "links", "networks", "scores", "transfers")},
        alerts=frames["alerts"],
        sources=frames["sources"],
        shared=frames["shared"],
        persons=frames["persons"],
    )


def test_whole_column_cells_equal_the_per_cell_reference_on_the_demo(demo: LinkReport) -> None:
    for name, frame in demo.tables().items():
        assert frame.height, name
        assert _body(name, frame) == _ref_body(name, frame), name


# --------------------------------------------------------------------------------------------
# caps


def _pairs_report(pairs: list[tuple[str, str, float, float]]) -> LinkReport:
    """One transfer and one alert (with that score) per (src, dst, amount, score)."""
    t0 = datetime(2025, 3, 1, tzinfo=UTC)
    records = pl.DataFrame(
        {
            "tx_id": [f"t{i}" for i in range(len(pairs))],
            "ts": [t0 + timedelta(hours=i) for i in range(len(pairs))],
            "src_account": [p[0] for p in pairs],
            "dst_account": [p[1] for p in pairs],
            "amount": [p[2] for p in pairs],
            "currency": "EUR",
            "amount_base": [p[2] for p in pairs],
            "source": "bank",
            "status": "completed",
        }
    )
    records = records.with_columns(
        [pl.lit(None, dtype=t).alias(c) for c, t in TRANSFERS.items() if c not in records.columns]
    ).select([pl.col(c).cast(t) for c, t in TRANSFERS.items()])
    alerts = pl.DataFrame(
        [
            {
                "alert_id": f"a{i:03d}",
                "typology": "pair",
                "score": score,
                "focus": src,
                "focus_kind": "account",
                "accounts": sorted({src, dst}),
                "roles": [{"account": src, "role": "sender"}, {"account": dst, "role": "receiver"}],
                "tx_ids": [f"t{i}"],
                "sources": ["bank"],
                "n_transfers": 1,
                "amount_base": amount,
            }
            for i, (src, dst, amount, score) in enumerate(pairs)
        ],
        schema=ALERTS,
    )
    parties = pl.DataFrame(schema=PARTIES)
    return link(alerts, dataset=Dataset(records, parties, pl.DataFrame(schema=QUARANTINE)))


def test_diagrams_for_the_highest_scoring_networks_and_every_network_in_a_table() -> None:
    n = _DETAILED + 10
    report = _pairs_report([(f"S{i}", f"R{i}", 100.0 + i, (i + 1) / (n + 1)) for i in range(n)])
    assert report.networks.height == n
    page = render(report)
    assert page.count('<svg class="diagram"') == _DETAILED
    assert page.count('<details class="network"') == _DETAILED
    top = report.networks.head(_DETAILED)["network_id"].to_list()
    drawn = re.findall(r"<dt>network id</dt><dd>(N-[^<]+)</dd>", page)
    assert drawn == top  # the highest-scoring networks, highest first
    assert f"Diagrams, timelines and links for the {_DETAILED} highest-scoring networks" in page
    assert f"all {n:,} networks are in the" in page and "networks.parquet" in page
    networks_table = page.split('id="t-networks"', 1)[1].split("</table>", 1)[0]
    assert networks_table.count("<tr>") == n + 1  # the head and every network


def test_a_small_report_has_no_network_note_or_table() -> None:
    page = render(_pairs_report([("S", "R", 1.0, 0.5), ("X", "Y", 2.0, 0.7)]))
    assert page.count('<svg class="diagram"') == 2
    assert "highest-scoring networks" not in page and 'id="t-networks"' not in page


def test_a_very_large_network_draws_a_connected_core() -> None:
    n = _MAX_NODES + 10  # senders of one collector; the larger amounts are the central ones
    report = _pairs_report([(f"S{i:03d}", "HUB", 10.0 + i, 0.5) for i in range(n)])
    page = render(report)
    svg = page.split('<svg class="diagram"', 1)[1].split("</svg>", 1)[0]
    assert svg.count('<g class="node"') == _MAX_NODES
    assert svg.count("marker-end=") == _MAX_NODES - 1  # the links among the drawn accounts
    assert "S000" not in svg and f"S{n - 1:03d}" in svg and "HUB" in svg
    assert f"{_MAX_NODES} of the {n + 1:,} accounts are drawn" in page


def test_the_drawn_core_grows_from_the_most_central_account_along_links() -> None:
    def m(eid: str, c: float) -> dict[str, Any]:
        return {"entity_id": eid, "centrality": c}

    def lk(s: str, d: str) -> dict[str, Any]:
        return {"src": s, "dst": d}

    members = [m("A", 0.5), m("B", 0.3), m("C", 0.01), m("D", 0.2), m("E", 0.1)]
    links = [lk("A", "C"), lk("C", "B"), lk("D", "E")]
    # D is more central than C, but C links A to B: the drawn part stays connected
    assert _core(members, links, 3) == {"A", "B", "C"}
    # a part used up, the next starts from the most central account left
    assert _core(members, links, 4) == {"A", "B", "C", "D"}


def test_a_long_table_keeps_its_highest_scoring_rows_and_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_html_table, "MAX_ROWS", 2)
    report = link(case.alerts(), dataset=case.dataset(), sources=case.manifest())
    page = render(report)
    links = page.split('id="t-links"', 1)[1].split("</table>", 1)[0]
    best = report.links.sort("score", descending=True).head(2)
    assert links.count("<tr>") == 3
    for row in best.iter_rows(named=True):
        assert f"<td>{row['src_key']}</td><td>{row['dst_key']}</td>" in links
    assert '<span class="count" data-count-for="t-links">2 of 4 rows</span>' in page
    assert (
        "The 2 highest-scoring of 4 rows are shown here, in the table's order; all rows "
        "are in links.parquet, links.csv and report.json." in page
    )
    # a table without a score keeps its first rows
    transfers = page.split('id="t-transfers"', 1)[1].split("</table>", 1)[0]
    assert transfers.count("<tr>") == 3 and ">t1<" in transfers and ">t2<" in transfers


def test_tables_keep_their_classes_and_assessment_marks() -> None:
    page = table("t-x", "links", HOSTILE.select("text", "score"), ["text", "score"], caption="x")
    assert '<th scope="col" class="assessment" title="click to sort">assessment · score</th>' in (
        page
    )
    assert '<td class="assessment nw num" data-sort="0.12345">0.123</td>' in page


@pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Chromium is not installed (apt-get install -y chromium)"
)
def test_a_capped_page_works_in_a_real_browser(tmp_path: Path) -> None:
    n = _DETAILED + 10
    report = _pairs_report([(f"S{i}", f"R{i}", 100.0 + i, (i + 1) / (n + 1)) for i in range(n)])
    (path,) = report.write(tmp_path / "out", ("html",))
    done = _chromium(tmp_path, path, "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    assert f'<p id="js-status" data-ready="yes" data-networks="{n}">' in dom
    assert dom.count('<svg class="diagram"') == _DETAILED
    assert '<table id="t-networks" class="data sortable">' in dom
    assert "Uncaught" not in done.stderr and "Refused" not in done.stderr
