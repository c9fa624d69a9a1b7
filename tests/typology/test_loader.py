"""Rule files: loading, validation errors at exact positions, lists, lint, JSON Schema.

The primitives are replaced by small fakes (``FAKES``) whose ParamSpecs cover every parameter
type, so these tests do not depend on the real kinds being written in parallel.

Golden files: ``invalid/*.yaml`` start with ``# expect: LINE:COL CODE`` lines, one per expected
error in order. After a deliberate change of messages or positions, rewrite them with
``.venv/bin/python tests/typology/test_loader.py --regolden`` (``make golden``).
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

import polars as pl
import pytest

from finintel.errors import ConfigError, ErrorList, FinintelError
from finintel.schema import CHANNELS
from finintel.typology.expr import Node, to_sql
from finintel.typology.jsonschema import DURATION_PATTERN, list_json_schema, rules_json_schema
from finintel.typology.loader import check_rules, format_errors, load_rules
from finintel.typology.model import CODES, Rule
from finintel.typology.positions import scalar_positions
from finintel.typology.primitives.base import ParamSpec, Plan, RunContext, Threshold
from finintel.typology.primitives.watchlist import Watchlist
from finintel.yamlpos import load_text

HERE = Path(__file__).resolve().parent
INVALID = HERE / "invalid"
VALID = HERE / "valid"
ROOT = HERE.parent.parent
LISTS = ROOT / "rules" / "lists"


# fake primitives ----------------------------------------------------------------------------


class _Fake:
    kind: ClassVar[str] = ""
    doc: ClassVar[str] = ""
    group_by: ClassVar[tuple[str, ...]] = ("account",)
    params: ClassVar[Mapping[str, ParamSpec]] = {}
    metric_types: ClassVar[Mapping[str, pl.DataType]] = {}

    def metrics(self, params: Mapping[str, Any]) -> Mapping[str, pl.DataType]:
        return dict(self.metric_types)

    def lookback(self, params: Mapping[str, Any]) -> timedelta:
        return timedelta(days=1)

    def plan(self, transfers: pl.LazyFrame, params: Mapping[str, Any], ctx: RunContext) -> Plan:
        raise NotImplementedError

    def condition(self, params: Mapping[str, Any]) -> pl.Expr:
        return pl.lit(True)

    def thresholds(self, params: Mapping[str, Any]) -> list[Threshold]:
        return []

    def explain(
        self,
        metrics: Mapping[str, Any],
        params: Mapping[str, Any],
        span: timedelta,
        amount: float,
        currency: str,
    ) -> str:
        return ""


class FakeFanIn(_Fake):
    """Every ParamSpec type, a custom type (``measures``) and a cross-parameter check."""

    kind = "fan_in"
    doc = "Many counterparties paying one focus within a rolling window (test double)."
    group_by = ("account", "party")
    params: ClassVar[Mapping[str, ParamSpec]] = {
        "window": ParamSpec("duration", "30d", doc="rolling window length", minimum=3600),
        "min_counterparties": ParamSpec("int", 5, doc="distinct counterparties", minimum=1),
        "min_countries": ParamSpec("int", 1, doc="distinct counterparty countries", minimum=1),
        "min_amount": ParamSpec("number", 0.0, doc="window total (base currency)", minimum=0),
        "side": ParamSpec("string", "in", doc="in or out", choices=("in", "out")),
        "countries": ParamSpec("strings", None, doc="counterparty countries or $list"),
        "roles": ParamSpec("strings", ("sender",), choices=("sender", "receiver")),
        "include_cash": ParamSpec("bool", False, doc="count cash deposits"),
        "filter": ParamSpec("expression", None, doc="which transfers count"),
        "measures": ParamSpec("measures", {}, doc="name: measure"),
    }
    metric_types: ClassVar[Mapping[str, pl.DataType]] = {
        "distinct_counterparties": pl.Int64(),
        "distinct_src_countries": pl.Int64(),
        "total_amount": pl.Float64(),
        "count": pl.Int64(),
    }

    def metrics(self, params: Mapping[str, Any]) -> Mapping[str, pl.DataType]:
        measures = params.get("measures") or {}
        for name in measures:
            if name in self.metric_types:
                raise ConfigError(
                    "FI030",
                    f"fan_in: parameter 'measures' {name!r} is a built-in metric; choose another name",
                )
        return {**self.metric_types, **{str(n): pl.Float64() for n in measures}}

    def thresholds(self, params: Mapping[str, Any]) -> list[Threshold]:
        return [
            Threshold("distinct_counterparties", ">=", params["min_counterparties"], "senders"),
            Threshold("distinct_src_countries", ">=", params["min_countries"], "countries"),
        ]


class FakePassThrough(_Fake):
    kind = "pass_through"
    doc = "Money in, then out again (test double)."
    params: ClassVar[Mapping[str, ParamSpec]] = {
        "max_delay": ParamSpec("duration", required=True, doc="inflow to outflow", minimum=0),
        "window": ParamSpec("duration", timedelta(days=30), minimum=1),
        "min_ratio": ParamSpec("number", 0.9, minimum=0),
        "max_ratio": ParamSpec("number", 1.1, minimum=0),
        "min_count": ParamSpec("int", 1, minimum=1),
    }
    metric_types: ClassVar[Mapping[str, pl.DataType]] = {
        "ratio": pl.Float64(),
        "delay": pl.Float64(),
        "count": pl.Int64(),
    }

    def thresholds(self, params: Mapping[str, Any]) -> list[Threshold]:
        return [Threshold("count", ">=", params["min_count"], "pass-throughs")]


class FakeSharedIdentifier(_Fake):
    kind = "shared_identifier"
    doc = "One identifier used under several names (test double)."
    group_by = ("party",)
    params: ClassVar[Mapping[str, ParamSpec]] = {
        "identifier": ParamSpec("string", "id_number", choices=("id_number", "phone", "address")),
        "min_names": ParamSpec("int", 2, minimum=2),
    }
    metric_types: ClassVar[Mapping[str, pl.DataType]] = {"names": pl.Int64()}


FAKES: dict[str, Any] = {
    p.kind: p() for p in (FakeFanIn, FakePassThrough, FakeSharedIdentifier, Watchlist)
}


def install_fakes() -> dict[str, Any]:
    """Point the registry at the fakes (after the real kinds registered themselves)."""
    import finintel.typology.primitives  # noqa: F401 - let real kinds register into the real dict
    from finintel.typology.primitives import base

    saved = base.REGISTRY
    base.REGISTRY = dict(FAKES)
    return saved


@pytest.fixture(autouse=True)
def fake_kinds(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    import finintel.typology.primitives  # noqa: F401
    from finintel.typology.primitives import base

    fakes = dict(FAKES)
    monkeypatch.setattr(base, "REGISTRY", fakes)
    monkeypatch.delenv("FININTEL_RULES", raising=False)
    yield fakes


# golden invalid files -----------------------------------------------------------------------

_EXPECT = re.compile(r"^#\s*expect:\s*(\S+)\s+(FI\d{3})\s*$")


def _expected(path: Path) -> list[str]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        m = _EXPECT.match(line)
        if m:
            out.append(f"{m.group(1)} {m.group(2)}")
    return out


def _observed(path: Path) -> list[str]:
    report = check_rules([path])
    return [
        f"{e.location.line if e.location else '?'}:{e.location.col if e.location else '?'} {e.code}"
        for e in report.errors
    ]


def regolden(paths: list[Path] | None = None) -> None:
    """Rewrite the ``# expect:`` header of each invalid file from the loader's current output."""
    saved = install_fakes()
    try:
        for path in paths or sorted(INVALID.glob("*.yaml")):
            lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
            body = [ln for ln in lines if not _EXPECT.match(ln.rstrip("\n"))]
            expect: list[str] = []
            for _ in range(5):  # the header shifts the lines it describes: repeat until stable
                path.write_text("".join(expect + body), encoding="utf-8")
                observed = [f"# expect: {item}\n" for item in _observed(path)]
                if observed == expect:
                    break
                expect = observed
            path.write_text("".join(expect + body), encoding="utf-8")
            print(f"{path.relative_to(ROOT)}: {len(expect)} error(s)")
    finally:
        from finintel.typology.primitives import base

        base.REGISTRY = saved


GOLDEN = sorted(INVALID.glob("*.yaml"))


@pytest.mark.parametrize("path", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_golden_invalid_files(path: Path) -> None:
    expected = _expected(path)
    assert expected, f"{path.name} has no '# expect:' header"
    assert _observed(path) == expected
    with pytest.raises(FinintelError):
        load_rules(path)


def _messages(name: str) -> list[str]:
    return [str(e) for e in check_rules([INVALID / name]).errors]


def _rel(path: Path) -> str:
    return str(path)


def test_unknown_key_messages_suggest_the_nearest() -> None:
    f = INVALID / "unknown-keys.yaml"
    assert _messages("unknown-keys.yaml") == [
        f"{f}:9:1: FI101 unknown key 'titel' (did you mean 'title'?)",
        f"{f}:13:3: FI101 unknown key 'channel' in 'scope' (did you mean 'channels'?)",
        f"{f}:17:3: FI101 unknown key 'windw' in 'pattern' (did you mean 'window'?)",
    ]


def test_wrong_type_messages() -> None:
    msgs = [m.split(": ", 1)[1] for m in _messages("wrong-types.yaml")]
    assert "FI102 'pattern.window' expects a duration like '7d', '36h' or '90m', got a list" in msgs
    assert "FI102 'pattern.min_counterparties' expects an integer, got 'five'" in msgs
    assert "FI102 'pattern.include_cash' expects true or false, got 'yes'" in msgs
    assert "FI102 'references' expects a list of text values, got a mapping" in msgs


def test_unknown_kind_lists_known_kinds() -> None:
    (msg,) = [m for m in _messages("unknown-kind.yaml") if "FI104" in m]
    assert msg.endswith(
        "FI104 unknown pattern kind 'fanin' (did you mean 'fan_in'?); "
        "known kinds: fan_in, pass_through, shared_identifier, watchlist"
    )


def test_duration_messages() -> None:
    msgs = [m.split(": ", 1)[1] for m in _messages("bad-durations.yaml")]
    assert msgs == [
        "FI105 'pattern.max_delay' needs a unit: write '36d', '36h' or '36m', got 36",
        "FI105 'pattern.window' is not a duration: '7 days'; write it like '7d', '36h' or '90m'",
    ]


def test_expression_errors_keep_the_expression_message() -> None:
    f = INVALID / "expression-names.yaml"
    msgs = _messages("expression-names.yaml")
    assert (
        msgs[0]
        == f"{f}:12:10: FI106 unknown column or metric 'amout_base' (did you mean 'amount_base'?)"
    )
    assert msgs[1].startswith(
        f"{f}:12:47: FI107 unknown list '$transit' (did you mean '$transit_countries'?)"
    )
    assert msgs[2] == (
        f"{f}:17:7: FI106 unknown column or metric 'distinct_countries' "
        "(did you mean 'distinct_src_countries'?)"
    )


def test_expression_errors_carry_a_snippet_of_the_yaml_line() -> None:
    try:
        load_rules(INVALID / "expression-syntax.yaml")
    except ErrorList as exc:
        text = format_errors(exc)
    assert '    where: "dst_country in $transit_countries and"\n' in text
    assert re.search(r"\n {4} {47}\^", text)


def test_group_by_and_tunable_messages() -> None:
    assert _messages("group-by.yaml")[0].endswith(
        "FI109 kind 'pass_through' groups by account, not by 'party'"
    )
    assert _messages("group-by-default.yaml")[0].endswith(
        "FI109 kind 'shared_identifier' groups by party, not by 'account' (the default); set group_by"
    )
    assert _messages("tunable.yaml")[0].endswith(
        "FI110 tunable 'min_senders' is not a parameter of fan_in; parameters: window, "
        "min_counterparties, min_countries, min_amount, side, countries, roles, include_cash, "
        "filter, measures"
    )


def test_primitive_rejection_is_positioned_at_the_parameter() -> None:
    f = INVALID / "primitive-rejects.yaml"
    assert _messages("primitive-rejects.yaml") == [
        f"{f}:11:5: FI113 fan_in: parameter 'measures' 'count' is a built-in metric; choose another name"
    ]


def test_list_file_messages() -> None:
    msgs = [m.split(": ", 1)[1] for m in _messages("list-bad-values.yaml")]
    assert "FI114 'ly' is not an ISO 3166-1 alpha-2 country code (did you mean 'LY'?)" in msgs
    assert "FI114 'LY' is listed twice (first on line 14)" in msgs
    assert "FI114 10 is not text (the list's type is countries); write it in quotes: '10'" in msgs


def test_duplicate_key_and_invalid_yaml() -> None:
    f = INVALID / "duplicate-key.yaml"
    assert _messages("duplicate-key.yaml") == [f"{f}:9:1: FI111 duplicate key 'family'"]
    (msg,) = _messages("invalid-yaml.yaml")
    assert " FI100 invalid YAML: " in msg


def test_every_code_has_a_golden_file() -> None:
    seen = {item.split()[1] for path in GOLDEN for item in _expected(path)}
    assert set(CODES) <= seen


# loading valid rules ------------------------------------------------------------------------


def _valid() -> dict[str, Rule]:
    return {r.id: r for r in load_rules(VALID).rules}


def test_valid_rules_load_with_resolved_params() -> None:
    rules = _valid()
    assert sorted(rules) == [
        "mss-collector-fan-in",
        "mule-pass-through",
        "shared-id-document",
        "split-small-transfers",
    ]
    r = rules["mss-collector-fan-in"]
    assert (r.version, r.family, r.severity, r.kind, r.group_by) == (
        2,
        "fan_in",
        "high",
        "fan_in",
        "account",
    )
    assert r.channels == ("mto",)
    assert r.params["window"] == timedelta(days=30)
    assert r.params["min_counterparties"] == 5
    assert r.params["min_amount"] == 0.0  # default
    assert r.params["roles"] == ("sender",)  # default, as a tuple
    assert r.params["countries"] == ("$transit_countries", "LY")
    assert r.params["filter"] is None
    assert r.tunable == ("window", "min_counterparties")
    assert isinstance(r.where, Node) and r.where_text is not None
    assert to_sql(r.where) == "dst_country in $transit_countries and amount_base > 0"
    assert r.having is not None and to_sql(r.having) == "distinct_src_countries >= 2"
    text = (VALID / "mss-collector-fan-in.yaml").read_text()
    assert r.fingerprint == hashlib.sha256(text.encode()).hexdigest()
    assert r.file == str(VALID / "mss-collector-fan-in.yaml")
    assert r.title.startswith("Many unrelated senders")
    assert r.references and r.rationale is None
    assert r.params_json()["window"] == "30d"
    json.dumps(r.to_dict())


def test_expression_positions_and_other_types() -> None:
    rules = _valid()
    fan_in = rules["mss-collector-fan-in"]
    assert fan_in.where_pos == (21, 11)  # inside the double quotes
    assert fan_in.locations["pattern.window"] == (27, 11)
    mule = rules["mule-pass-through"]
    assert mule.having_pos == (25, 3)  # first line of the | block
    assert mule.params["max_delay"] == timedelta(hours=36)
    assert mule.title == "mule-pass-through"  # no title: the id
    split = rules["split-small-transfers"]
    assert split.params["measures"] == {"agents": "distinct(src_agent)"}
    assert isinstance(split.params["filter"], Node)
    assert split.params["include_cash"] is True
    assert split.params["side"] == "out"
    assert split.params["min_amount"] == 900.0
    shared = rules["shared-id-document"]
    assert shared.group_by == "party" and shared.params["identifier"] == "phone"


def test_default_lists_come_with_a_single_rule_file() -> None:
    rs = load_rules(VALID / "mss-collector-fan-in.yaml")
    assert [r.id for r in rs] == ["mss-collector-fan-in"]
    assert {"transit_countries", "high_risk_jurisdictions", "gulf_mto_hubs", "eu_eea"} <= set(
        rs.lists
    )
    assert "LY" in rs.lists["transit_countries"]
    assert rs.files[0] == str(VALID / "mss-collector-fan-in.yaml")


def _rule(id_: str, pattern: str = "  kind: fan_in\n", extra: str = "") -> str:
    return f"id: {id_}\nfamily: fan_in\ndescription: d\nreferences: [r]\ntunable: [window]\npattern:\n{pattern}{extra}"


def test_given_lists_replace_the_default_lists(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(
        _rule("r", extra="having: total_amount > 0\nscope:\n  where: dst_country in $mine\n")
    )
    (tmp_path / "l.yaml").write_text("list: mine\ndescription: my countries\nvalues: [FR]\n")
    rs = load_rules([tmp_path / "r.yaml", tmp_path / "l.yaml"])
    assert dict(rs.lists) == {"mine": ("FR",)}
    assert rs.list_info["mine"].type == "countries"  # from the description
    with pytest.raises(ConfigError, match=r"r.yaml:10:25: FI107 unknown list '\$mine'"):
        load_rules(tmp_path / "r.yaml")


def test_a_rules_root_gives_typologies_and_lists(tmp_path: Path) -> None:
    (tmp_path / "typologies" / "mto" / "deep").mkdir(parents=True)
    (tmp_path / "lists").mkdir()
    (tmp_path / "sources").mkdir()
    (tmp_path / "typologies" / "mto" / "deep" / "a.yaml").write_text(_rule("a"))
    (tmp_path / "typologies" / "b.yml").write_text(_rule("b"))
    (tmp_path / "lists" / "x.yaml").write_text("list: x\ndescription: d\nvalues: [a]\n")
    (tmp_path / "sources" / "profile.yaml").write_text("profile: not a rule\n")
    rs = load_rules(tmp_path)
    assert [r.id for r in rs] == ["b", "a"] or [r.id for r in rs] == ["a", "b"]
    assert set(rs.lists) == {"x"}
    assert len(rs.files) == 3


def test_errors_of_several_files_are_all_reported(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(_rule("dup", extra="severity: hi\n"))
    (tmp_path / "b.yaml").write_text(_rule("dup", pattern="  kind: fan_in\n  window: 2\n"))
    (tmp_path / "c.yaml").write_text(_rule("ok"))
    with pytest.raises(ErrorList) as info:
        load_rules(tmp_path)
    assert [str(e).replace(str(tmp_path), "T") for e in info.value.errors] == [
        "T/a.yaml:8:11: FI112 'severity' must be one of low, medium, high, critical; got 'hi' (did you mean 'high'?)",
        "T/b.yaml:1:5: FI108 duplicate id 'dup': also defined at T/a.yaml:1",
        "T/b.yaml:8:11: FI105 'pattern.window' needs a unit: write '2d', '2h' or '2m', got 2",
    ]
    report = check_rules([tmp_path, tmp_path / "missing"])
    assert [e.code for e in report.errors] == ["FI100", "FI112", "FI108", "FI105"]
    assert report.rules == 3 and [r.id for r in report.ruleset] == ["ok"]
    assert report.failed() and not report.ok


def test_the_registry_is_read_at_call_time(tmp_path: Path, fake_kinds: dict[str, Any]) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(
        "id: r\nfamily: f\ndescription: d\ngroup_by: party\npattern:\n  kind: shared_identifier\n"
    )
    assert load_rules(path).rules[0].kind == "shared_identifier"
    del fake_kinds["shared_identifier"]
    with pytest.raises(ConfigError, match="FI104 unknown pattern kind 'shared_identifier'"):
        load_rules(path)


# lint ---------------------------------------------------------------------------------------


def _issues(tmp_path: Path, text: str, resolution: timedelta | None = None) -> list[str]:
    path = tmp_path / "r.yaml"
    path.write_text(text)
    report = check_rules(path, data_resolution=resolution)
    assert not report.errors, report.errors
    return [str(i).replace(str(path), "r.yaml") for i in report.issues]


def test_a_clean_rule_has_no_issues(tmp_path: Path) -> None:
    assert _issues(tmp_path, _rule("r", extra="having: distinct_counterparties <= 50\n")) == []


def test_lint_having_that_contradicts_the_kinds_threshold(tmp_path: Path) -> None:
    issues = _issues(
        tmp_path,
        _rule(
            "r",
            pattern="  kind: fan_in\n  min_counterparties: 5\n",
            extra="having: distinct_counterparties < 3 and total_amount > 0\n",
        ),
    )
    assert issues == [
        "r.yaml:9:9: error FI150 rule 'r' can never trigger: distinct_counterparties >= 5 "
        "(the kind's threshold) contradicts distinct_counterparties < 3"
    ]


def test_lint_counts_are_never_negative_and_amounts_positive(tmp_path: Path) -> None:
    issues = _issues(
        tmp_path,
        _rule("r", extra="having: count < 0\nscope:\n  where: amount_base <= 0 or amount > 5\n"),
    )
    assert issues == [
        "r.yaml:8:9: error FI150 rule 'r' can never trigger: count >= 0 (a count) contradicts count < 0"
    ]
    issues = _issues(
        tmp_path,
        _rule("r", extra="scope:\n  where: channel = 'mto' and amount_base between 1000 and 900\n"),
    )
    assert issues == [
        "r.yaml:9:10: error FI150 rule 'r' can never trigger: amount_base >= 1000 contradicts amount_base <= 900"
    ]


def test_lint_min_greater_than_max(tmp_path: Path) -> None:
    pattern = "  kind: pass_through\n  max_delay: 1d\n  min_ratio: 0.9\n  max_ratio: 0.5\n"
    assert _issues(tmp_path, _rule("r", pattern=pattern)) == [
        "r.yaml:9:14: error FI150 rule 'r' can never trigger: min_ratio (0.9) is greater than max_ratio (0.5)"
    ]


def test_lint_window_shorter_than_data_resolution(tmp_path: Path) -> None:
    pattern = "  kind: pass_through\n  max_delay: 6h\n"
    assert _issues(tmp_path, _rule("r", pattern=pattern), timedelta(days=1)) == [
        "r.yaml:8:14: warning FI151 'pattern.max_delay' (6h) is shorter than the data's time "
        "resolution (1d): transfers within it cannot be told apart"
    ]
    assert _issues(tmp_path, _rule("r", pattern=pattern), timedelta(hours=1)) == []


def test_lint_countries_above_counterparties(tmp_path: Path) -> None:
    pattern = "  kind: fan_in\n  min_counterparties: 3\n  min_countries: 4\n"
    assert _issues(tmp_path, _rule("r", pattern=pattern)) == [
        "r.yaml:9:18: warning FI152 min_countries (4) is greater than min_counterparties (3): "
        "every country needs a counterparty, so min_counterparties has no effect"
    ]


def test_lint_references_and_tunable(tmp_path: Path) -> None:
    text = "id: r\nfamily: f\ndescription: d\npattern:\n  kind: fan_in\n"
    assert _issues(tmp_path, text) == [
        "r.yaml:1:5: warning FI153 rule 'r' has no references",
        "r.yaml:1:1: info FI154 rule 'r' names no tunable parameters",
    ]
    report = check_rules(tmp_path / "r.yaml")
    assert not report.failed() and report.failed("warning") and report.counts()["info"] == 1
    assert json.loads(json.dumps(report.to_dict()))["issues"][0]["code"] == "FI153"


def test_check_rules_on_an_empty_folder(tmp_path: Path) -> None:
    report = check_rules(tmp_path)
    assert [i.code for i in report.issues] == ["FI159"] and report.rules == 0


# shipped lists ------------------------------------------------------------------------------


def test_shipped_lists_are_valid() -> None:
    report = check_rules(LISTS)
    assert not report.errors, report.errors
    lists = report.ruleset.lists
    assert set(lists) == {"transit_countries", "high_risk_jurisdictions", "gulf_mto_hubs", "eu_eea"}
    assert lists["gulf_mto_hubs"] == ("AE", "SA", "QA", "KW", "BH", "OM")
    assert len(lists["eu_eea"]) == 30 and "NO" in lists["eu_eea"] and "GR" in lists["eu_eea"]
    assert {"KP", "IR", "MM"} <= set(lists["high_risk_jurisdictions"])
    info = report.ruleset.list_info["high_risk_jurisdictions"]
    assert info.as_of is not None and "kept current" in info.description


# positions ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("yaml", "index", "expected"),
    [
        ("k: a > 1\n", 4, (1, 8)),
        ("k: 'a = ''x'' and b'\n", 8, (1, 15)),  # after the doubled quotes
        ('k: "a and b"\n', 6, (1, 11)),
        ("k: |\n\n  a and\n    b\n", 9, (4, 5)),  # leading blank line, more-indented line
        ("k: >-\n  a and\n  b\n", 6, (3, 3)),  # folded: the space stands for the line break
        ("k: a and\n  b\n", 6, (2, 3)),  # a plain scalar over two lines
        ("m: {k: 'a', j: b}\n", 0, (1, 9)),
    ],
)  # fmt: skip
def test_scalar_positions(yaml: str, index: int, expected: tuple[int, int]) -> None:
    data = load_text(yaml, "t")
    key = "k" if "k" in data else "m"
    node = data if key == "k" else data["m"]
    line, col = node.lc.value("k")
    pos = scalar_positions(yaml.splitlines(), line, col, str(node["k"]))
    assert pos is not None and pos[index] == expected


def test_scalar_positions_gives_up_on_escapes() -> None:
    assert scalar_positions(['k: "a\\tb"'], 0, 3, "a\tb") is None


# JSON Schema --------------------------------------------------------------------------------


def test_json_schema_has_one_branch_per_kind() -> None:
    schema = rules_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    branches = schema["properties"]["pattern"]["oneOf"]
    assert [b["$ref"] for b in branches] == [
        "#/$defs/pattern_fan_in", "#/$defs/pattern_pass_through", "#/$defs/pattern_shared_identifier",
        "#/$defs/pattern_watchlist",
    ]  # fmt: skip
    fan_in = schema["$defs"]["pattern_fan_in"]
    assert fan_in["properties"]["kind"] == {"const": "fan_in"}
    assert fan_in["properties"]["window"]["pattern"] == DURATION_PATTERN
    assert fan_in["properties"]["window"]["default"] == "30d"
    assert fan_in["properties"]["min_counterparties"]["minimum"] == 1
    assert fan_in["properties"]["side"]["enum"] == ["in", "out"]
    assert fan_in["properties"]["include_cash"]["type"] == "boolean"
    assert fan_in["additionalProperties"] is False
    assert schema["$defs"]["pattern_pass_through"]["required"] == ["kind", "max_delay"]
    assert schema["properties"]["scope"]["properties"]["channels"]["anyOf"][0]["enum"] == list(
        CHANNELS
    )
    json.dumps(schema)
    for text in ("7d", "36h", "90m", "2d 4h", "1.5h"):
        assert re.match(DURATION_PATTERN, text)
    assert not re.match(DURATION_PATTERN, "7 days")


def test_json_schema_validates_the_example_files() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = rules_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for path in sorted(VALID.rglob("*.yaml")):
        data = json.loads(json.dumps(load_text(path.read_text(), str(path)), default=str))
        assert not list(validator.iter_errors(data)), path
    bad = load_text((INVALID / "unknown-keys.yaml").read_text(), "x")
    assert list(validator.iter_errors(json.loads(json.dumps(bad))))
    lists = jsonschema.Draft202012Validator(list_json_schema())
    for path in sorted(LISTS.glob("*.yaml")):
        data = json.loads(json.dumps(load_text(path.read_text(), str(path)), default=str))
        assert not list(lists.iter_errors(data)), path


def test_rules_are_immutable_and_pickle() -> None:
    import pickle

    rs = load_rules(VALID)
    rule = rs.rules[0]
    with pytest.raises(TypeError):
        rule.params["window"] = timedelta(days=1)  # type: ignore[index]
    assert pickle.loads(pickle.dumps(rs)) == rs
    assert hash(pickle.loads(pickle.dumps(rule))) == hash(rule)


def test_reader_codes_rename_the_generic_yaml_codes() -> None:
    from finintel.yamlpos import Reader

    r = Reader.from_text("a: [1]\nb: {c: x}\n", "r.yaml")
    r.codes = {"FI012": "FI102", "FI016": "FI101"}
    r.integer("a")
    nested = r.mapping("b")
    assert nested is not None
    nested.finish([])
    assert [e.code for e in r.errors] == ["FI102", "FI101"]


if __name__ == "__main__":  # pragma: no cover - `make golden`
    if "--regolden" not in sys.argv[1:]:
        sys.exit("usage: python tests/typology/test_loader.py --regolden [FILE...]")
    files = [Path(a).resolve() for a in sys.argv[1:] if a != "--regolden"]
    regolden(files or None)
