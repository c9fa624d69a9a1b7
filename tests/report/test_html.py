"""report.html: renders the hand-made case, escapes every value, same bytes for the same
report, registered as a format, and works in a real headless Chromium (script ran, diagram
drawn, injected markup stays text, no console errors)."""

from __future__ import annotations

import html
import json
import re
import subprocess
from pathlib import Path

import polars as pl
import pytest

from finintel.ingest.load import Dataset
from finintel.link import LinkReport, link
from finintel.report import parse_formats
from finintel.report.html_writer import HANDLING_MEANING, render, script_json
from finintel.schema import ALERTS, QUARANTINE
from tests.report import case

EVIL_NAME = "<img src=x onerror=alert(1)>"
EVIL_ACCOUNT = '"><script>alert(1)</script>'
EVIL_RUN = "</script><script>alert(2)</script>"
CHROMIUM = Path("/usr/bin/chromium")


def _evil_report() -> LinkReport:
    """The case with the collector's holder named EVIL_NAME and account A2 renamed EVIL_ACCOUNT."""

    def acc(col: str) -> pl.Expr:
        return pl.col(col).replace("A2", EVIL_ACCOUNT)

    records = case.records().with_columns(acc("src_account"), acc("dst_account"))
    alerts = case.alerts().with_columns(
        acc("focus"),
        pl.col("accounts").list.eval(pl.element().replace("A2", EVIL_ACCOUNT)),
        pl.col("roles").list.eval(
            pl.struct(
                pl.element().struct.field("account").replace("A2", EVIL_ACCOUNT),
                pl.element().struct.field("role"),
            )
        ),
    )
    dataset = Dataset(records, case.parties(EVIL_NAME), pl.DataFrame(schema=QUARANTINE))
    return link(alerts, dataset=dataset, sources=case.manifest(), meta={"run_id": EVIL_RUN})


def _report() -> LinkReport:
    return link(
        case.alerts(), dataset=case.dataset(), sources=case.manifest(), meta={"run_id": "R-test"}
    )


def test_the_case_renders_with_facts_and_assessments_apart() -> None:
    r = _report()
    page = render(r)
    assert page.startswith("<!DOCTYPE html>") and page.endswith("</html>\n")
    # summary with the strictest handling code and what it means
    assert "Handling code H2" in page and html.escape(HANDLING_MEANING["H2"]) in page
    assert "R-test" in page
    # one diagram and one timeline per network, with a node per member
    assert page.count('<svg class="diagram"') == r.networks.height == 2
    assert page.count('<svg class="timeline"') == 2
    assert page.count('<g class="node"') == r.networks["n_members"].sum()
    assert 'data-role="collector"' in page
    # facts and assessments in separate, marked parts
    facts, assessments = page.index('id="facts"'), page.index('id="assessments"')
    assert facts < page.index('id="t-transfers"') < assessments < page.index('id="t-alerts"')
    assert page.index('id="t-scores"') > assessments
    assert "assessment · score" in page and 'class="assessment"' in page
    # evidence per link: the A1 → C link rests on t1 and t3; explanations are shown
    row = next(r for r in page.split("<tr>") if "<td>A1</td><td>C</td>" in r)
    assert "t1<br>t3" in row
    assert "fan-in on C" in page
    # no network access: nothing external is referenced
    assert not re.search(r"(?:src|href)=\"(?:https?:)?//", page)
    assert "default-src &#x27;none&#x27;" in page  # a Content Security Policy


def test_every_value_is_escaped() -> None:
    page = render(_evil_report())
    assert EVIL_NAME not in page and html.escape(EVIL_NAME) in page
    assert EVIL_ACCOUNT not in page and html.escape(EVIL_ACCOUNT) in page
    assert "<script>alert" not in page and "<img" not in page
    assert page.count("<script") == 2  # the JSON data block and the page's own script
    # no event-handler attribute anywhere, built from data or not
    assert not re.search(r"<[a-zA-Z][^>]*\son[a-z]+\s*=", page)
    # the run id also sits in the JSON data block: no </script> can end it early
    data = page.split('id="finintel-data">', 1)[1].split("</script>", 1)[0]
    assert json.loads(data)["run_id"] == EVIL_RUN
    assert "<" not in data


def test_script_json_escapes_every_less_than() -> None:
    text = script_json({"a": "</script><!--", "b": ["<x>"]})
    assert "<" not in text and json.loads(text) == {"a": "</script><!--", "b": ["<x>"]}


def test_same_report_same_bytes(tmp_path: Path) -> None:
    a = _evil_report().write(tmp_path / "a", ("html",))
    b = _evil_report().write(tmp_path / "b", ("html",))
    assert [p.name for p in a] == [p.name for p in b] == ["report.html"]
    assert a[0].read_bytes() == b[0].read_bytes()


def test_html_is_a_registered_format(tmp_path: Path) -> None:
    assert parse_formats("json,parquet,html") == ("json", "parquet", "html")
    files = _report().write(tmp_path, ("json", "html"))
    assert [p.name for p in files] == ["report.html", "report.json"]


def test_an_empty_report_renders(tmp_path: Path) -> None:
    r = link(pl.DataFrame(schema=ALERTS), dataset=case.dataset())
    (path,) = r.write(tmp_path, ("html",))
    page = path.read_text()
    assert "No networks." in page and "No handling code recorded" in page


def _chromium(tmp_path: Path, page: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / "profile"
    profile.mkdir(exist_ok=True)
    return subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            *args,
            page.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Chromium is not installed (Debian: apt-get install -y chromium); "
    "the real-browser test of report.html needs /usr/bin/chromium",
)
def test_a_real_browser_runs_the_page_and_nothing_injected(tmp_path: Path) -> None:
    (path,) = _evil_report().write(tmp_path / "out", ("html",))
    done = _chromium(tmp_path, path, "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    dom, log = done.stdout, done.stderr
    # the page's script ran: it adds the status element
    assert re.search(r'<p id="js-status" data-ready="yes" data-networks="2">', dom), dom[:2000]
    # the diagram is drawn, with its nodes
    assert '<svg class="diagram"' in dom and dom.count('<g class="node"') >= 4
    assert dom.count("<circle") >= 4
    # the injected markup is text, not elements
    assert "<img" not in dom and "onerror=alert" not in dom.replace(
        html.escape(EVIL_NAME), ""
    ).replace(html.escape(EVIL_NAME, quote=False), "")
    assert "<script>alert" not in dom
    assert "&lt;img src=x onerror=alert(1)&gt;" in dom
    # no console errors, no blocked (CSP) script
    console = [line for line in log.splitlines() if "CONSOLE" in line]
    assert not any("Uncaught" in line or "Refused" in line for line in console), console
    assert "Uncaught" not in log
    # a screenshot renders too
    shot = tmp_path / "shot.png"
    done = _chromium(tmp_path, path, f"--screenshot={shot}", "--window-size=1280,2000")
    assert done.returncode == 0, done.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


_PROBE = """<script>
(function () {
  var out = {};
  var table = document.getElementById("t-links");
  var heads = table.tHead.rows[0].cells;
  var col = -1;
  for (var i = 0; i < heads.length; i++) {
    if (heads[i].textContent === "total_base") { col = i; }
  }
  heads[col].click();
  out.asc = Array.prototype.map.call(table.tBodies[0].rows, function (r) {
    return r.cells[col].textContent; });
  heads[col].click();
  out.desc = Array.prototype.map.call(table.tBodies[0].rows, function (r) {
    return r.cells[col].textContent; });
  var input = document.querySelector('input.filter[data-table="t-links"]');
  input.value = "t3";
  input.dispatchEvent(new Event("input"));
  out.shown = Array.prototype.filter.call(table.tBodies[0].rows, function (r) {
    return !r.hidden; }).length;
  out.count = document.querySelector('[data-count-for="t-links"]').textContent;
  var pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>"""


@pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Chromium is not installed (apt-get install -y chromium)"
)
def test_tables_sort_and_filter_in_a_real_browser(tmp_path: Path) -> None:
    """A copy of the page with a probe script (its CSP removed to allow the probe) clicks a
    heading twice and types into a filter; the probe writes what it saw into the DOM."""
    (path,) = _report().write(tmp_path / "out", ("html",))
    page = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", path.read_text())
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", _PROBE + "</body>"))
    done = _chromium(tmp_path, probe, "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    found = re.search(r'<pre id="probe">(.*?)</pre>', done.stdout)
    assert found, done.stdout[-2000:]
    out = json.loads(html.unescape(found.group(1)))
    assert out["asc"] == ["100.00", "150.00", "200.00", "1,000.00"]
    assert out["desc"] == list(reversed(out["asc"]))
    assert out["shown"] == 1 and out["count"] == "1 of 4 rows"
    assert "Uncaught" not in done.stderr
