"""The ``watchlist`` kind and targets files: exact and fuzzy matches, positioned errors, and
every new transfer touching a target surfacing as a new alert in incremental runs."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import polars as pl
import pytest

import finintel
from finintel.errors import ErrorList, FinintelError
from finintel.schema import PARTIES, TRANSFERS
from finintel.targets import load_targets_text
from finintel.typology.engine import detect
from finintel.typology.loader import load_rules

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2025, 3, 1, 9, tzinfo=UTC)
H = timedelta(hours=1)

TARGETS = """\
targets:
  - id: T-1
    accounts: ["de89 3704-0044 0532 0130 00"]
  - id: T-2
    ids: [{number: "p-123 456", country: de}]
  - id: T-3
    emails: [" Boss@Example.ORG "]
  - id: T-4
    phones: ["0170 1234567"]
    countries: [DE]
  - id: T-5
    names: [Zeinab Darwish]
    birth_dates: [1988-10-07]
    countries: [IT]
"""

RULE = """\
id: wl
family: watchlist
severity: high
description: transfers touching a target
pattern:
  kind: watchlist
  targets: {targets}
{extra}"""


def _rules(tmp: Path, targets: str = TARGETS, name: str = "t.yaml", extra: str = "") -> Any:
    (tmp / "lists").mkdir(exist_ok=True)
    (tmp / "lists" / name).write_text(targets)
    rule = tmp / "typologies" / "wl.yaml"
    rule.parent.mkdir(exist_ok=True)
    rule.write_text(RULE.format(targets=name, extra=extra))
    return load_rules([rule])


def _party(pid: str, name: str, **kw: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(PARTIES)
    row.update(party_id=pid, name=name, source="s", **kw)
    return row


def _tx(
    i: int, src: str, dst: str, src_party: str | None = None, dst_party: str | None = None
) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(TRANSFERS)
    row.update(
        tx_id=f"t{i}", ts=T0 + i * H, src_account=src, dst_account=dst, amount=100.0 * i,
        amount_base=100.0 * i, currency="EUR", channel="mto", source="s", status="completed",
        src_party=src_party, dst_party=dst_party,
    )  # fmt: skip
    return row


PARTY_ROWS = [
    _party("p-id", "Hans Weber", id_number="P123456", id_country="DE"),
    _party("p-id-other-country", "Hans Weber", id_number="P123456", id_country="AT"),
    _party("p-mail", "Ann Boss", email="boss@example.org"),
    _party("p-phone", "Karl Kurz", phone="+49 170 1234567", country="DE"),
    _party("p-zaynab", "Zaynab Darweesh", birth_date=date(1988, 10, 7), country="IT"),
    _party("p-zainab-no-dob", "Zainab Darwish", country="IT"),
    _party("p-zainab-other-dob", "Zainab Darwish", birth_date=date(1990, 1, 2), country="IT"),
    _party("p-zainab-no-support", "Zainab Darwish", country="FR"),
    _party("p-omar", "Omar Darwish", birth_date=date(1988, 10, 7), country="IT"),
    _party("p-x", "Nobody Special"),
]

TX_ROWS = [
    _tx(1, "X1", "DE89370400440532013000"),  # T-1 by account (receiver)
    _tx(2, "X1", "X2", "p-id", None),  # T-2 by ID with country
    _tx(3, "X1", "X2", "p-id-other-country", None),  # other issuing country: no match
    _tx(4, "X1", "X2", None, "p-mail"),  # T-3 by e-mail
    _tx(5, "X1", "X2", "p-phone", None),  # T-4 by phone (local form in the targets file)
    _tx(6, "X1", "X2", "p-zaynab", None),  # T-5 by name + birth date + country
    _tx(7, "X1", "X2", "p-zainab-no-dob", None),  # T-5 by name + country
    _tx(8, "X1", "X2", "p-zainab-other-dob", None),  # another birth date: no match
    _tx(9, "X1", "X2", "p-zainab-no-support", None),  # no supporting field: no match
    _tx(10, "X1", "X2", "p-omar", None),  # another given name: no match
    _tx(11, "X1", "X2", "p-x", "p-x"),  # nobody
]


def _data() -> SimpleNamespace:
    return SimpleNamespace(
        transfers=pl.DataFrame(TX_ROWS, schema=TRANSFERS, orient="row").lazy(),
        parties=pl.DataFrame(PARTY_ROWS, schema=PARTIES, orient="row"),
        base_currency="EUR",
    )


def test_each_transfer_touching_a_target_is_one_alert_with_its_explanation(tmp_path: Path) -> None:
    alerts = detect(_data(), _rules(tmp_path)).table
    got = {r["tx_ids"][0]: (r["focus"], r["explanation"]) for r in alerts.iter_rows(named=True)}
    assert got == {
        "t1": ("T-1", "receiver matches target T-1 on account (exact)"),
        "t2": ("T-2", "sender matches target T-2 on id number (exact)"),
        "t4": ("T-3", "receiver matches target T-3 on email (exact)"),
        "t5": ("T-4", "sender matches target T-4 on phone (exact)"),
        "t6": ("T-5", "sender matches target T-5 by name, score 0.9 (≥ 0.85), with birth date, country"),
        "t7": ("T-5", "sender matches target T-5 by name, score 0.93 (≥ 0.85), with country"),
    }  # fmt: skip
    assert alerts.height == 6 and set(alerts["focus_kind"]) == {"target"}
    t1 = alerts.filter(pl.col("focus") == "T-1").row(0, named=True)
    assert t1["roles"] == [{"account": "DE89370400440532013000", "role": "target"}]
    # exact: score 1 against 0.85, so high + (1 − high) × (1 / 0.85 − 1) = 0.753
    assert t1["amount_base"] == 100.0 and t1["score"] == 0.753
    metrics = json.loads(alerts.filter(pl.col("tx_ids").list.first() == "t6")["metrics"][0])
    assert metrics == {"field": "name", "match": "fuzzy", "score": 0.9, "side": "sender",
                       "support": "birth_date,country", "target": "T-5", "resolved": False}  # fmt: skip


def test_options_restrict_what_matches(tmp_path: Path) -> None:
    extra = "  match_on: [name]\n  require_support: false\n  min_name_score: 0.92\n"
    alerts = detect(_data(), _rules(tmp_path, extra=extra)).table
    # only names; without support the FR party matches; 0.92 drops Zaynab Darweesh (0.9)
    assert sorted(alerts["tx_ids"].list.first()) == ["t7", "t9"]


def test_csv_targets_rows_add_up(tmp_path: Path) -> None:
    csv = (
        "id,name,birth_date,country,phone,id_number,id_country,account,email,note\n"
        "T-1,,,,,,,DE89370400440532013000,,\n"
        "T-2,,,,,P123456,DE,,,from a seized phone\n"
        "T-2,,,,,,,,boss@example.org,\n"
    )
    alerts = detect(_data(), _rules(tmp_path, csv, "t.csv")).table
    got = sorted(zip(alerts["focus"], alerts["tx_ids"].list.first(), strict=True))
    assert got == [("T-1", "t1"), ("T-2", "t2"), ("T-2", "t4")]


def _errors(exc: FinintelError) -> list[str]:
    return [str(e) for e in (exc.errors if isinstance(exc, ErrorList) else [exc])]


def test_bad_yaml_targets_are_reported_at_their_lines(tmp_path: Path) -> None:
    bad = """\
targets:
  - id: A
    nmes: [X]
    birth_dates: ["07.10.1988"]
  - id: A
    phones: [abc]
  - id: B
    phones: ["12"]
    emails: [nobody]
  - id: C
    countries: [IT]
"""
    with pytest.raises(FinintelError) as info:
        _rules(tmp_path, bad)
    f = str(tmp_path / "lists" / "t.yaml")
    assert _errors(info.value) == [
        f"{f}:2:5: FI115 target 'A' has nothing to match (no name or identifier)",
        f"{f}:3:5: FI115 unknown key 'nmes' in target 'A' (did you mean 'names'?); keys: id, "
        "names, birth_dates, countries, phones, ids, accounts, emails, note",
        f"{f}:4:19: FI115 birth date '07.10.1988' of target 'A' is not a date (YYYY-MM-DD)",
        f"{f}:5:5: FI115 target id 'A' is listed twice (first on line 2)",
        f"{f}:8:14: FI115 '12' of target 'B' is not a phone number",
        f"{f}:9:14: FI115 e-mail 'nobody' of target 'B' has no '@'",
        f"{f}:10:5: FI115 target 'C' has nothing to match (no name or identifier)",
    ]
    with pytest.raises(FinintelError) as info:  # YAML reads it as a timestamp and fails
        _rules(tmp_path, "targets:\n  - id: A\n    birth_dates: [1988-13-07]\n")
    assert _errors(info.value) == [f"{f}:3:19: FI115 '1988-13-07' is not a date (YYYY-MM-DD)"]


def test_bad_csv_targets_name_line_and_column(tmp_path: Path) -> None:
    with pytest.raises(FinintelError) as info:
        _rules(tmp_path, "id,nme\nT-1,X\n", "t.csv")
    f = str(tmp_path / "lists" / "t.csv")
    assert _errors(info.value) == [
        f"{f}:1 (column 'nme'): FI115 unknown column 'nme' (did you mean 'name'?); columns: id, "
        "name, birth_date, country, phone, id_number, id_country, account, email, note"
    ]
    with pytest.raises(FinintelError) as info:
        _rules(tmp_path, "id,name,birth_date\nT-1,X,1990-01-01\nT-2,Y,07.10.1988\n,Z,\n", "t.csv")
    assert _errors(info.value) == [
        f"{f}:3 (column 'birth_date'): FI115 birth date '07.10.1988' of target 'T-2' is not a "
        "date (YYYY-MM-DD)",
        f"{f}:4 (column 'id'): FI115 row without 'id'",
    ]


def test_missing_targets_file_is_reported_at_the_rule(tmp_path: Path) -> None:
    rule = tmp_path / "wl.yaml"
    rule.write_text(RULE.format(targets="nowhere.yaml", extra=""))
    with pytest.raises(FinintelError) as info:
        load_rules([rule])
    assert _errors(info.value) == [
        f"{rule}:7:12: FI115 'pattern.targets': no file 'nowhere.yaml' next to the rule "
        f"({tmp_path})"
    ]


def test_editing_the_targets_file_changes_the_rule_fingerprint(tmp_path: Path) -> None:
    before = _rules(tmp_path).rules[0].fingerprint
    after = _rules(tmp_path, TARGETS.replace("T-1", "T-9")).rules[0].fingerprint
    assert before != after
    assert _rules(tmp_path).rules[0].params_json()["targets"] == "t.yaml"


def test_targets_normalise_like_parties() -> None:
    t = load_targets_text(TARGETS, "t.yaml")
    assert t.keys.select("target", "field", "key", "id_country").rows() == [
        ("T-1", "account", "DE89370400440532013000", None),
        ("T-2", "id_number", "P123456", "DE"),
        ("T-3", "email", "boss@example.org", None),
        ("T-4", "phone", "+491701234567", None),
    ]
    assert t.ids == ("T-1", "T-2", "T-3", "T-4", "T-5")


TIME_COLUMNS = {
    "bank_statements.parquet": "booking_time",
    "bank_transfers.parquet": "settlement_time",
    "mto.parquet": "send_time",
}


def test_new_transfers_touching_a_target_are_new_alerts_in_incremental_runs(tmp_path: Path) -> None:
    drop = ROOT / "fixtures" / "demo" / "drop"
    first, second = tmp_path / "d1", tmp_path / "d2"
    first.mkdir()
    second.mkdir()
    for name, col in TIME_COLUMNS.items():
        frame = pl.read_parquet(drop / name)
        key = pl.col(col).cast(pl.String).str.slice(0, 10)
        frame.filter(key < "2025-04-01").write_parquet(first / name)
        frame.filter(key >= "2025-04-01").write_parquet(second / name)
    shutil.copy(drop / "parties.parquet", first / "parties.parquet")
    rules = tmp_path / "rules"
    (rules / "typologies").mkdir(parents=True)
    shutil.copytree(ROOT / "rules" / "lists", rules / "lists")
    shutil.copy(ROOT / "rules" / "typologies" / "general" / "watchlist.yaml", rules / "typologies")
    store = tmp_path / "store"
    one = finintel.run(first, rules, tmp_path / "o1", store=store, incremental=True)
    assert (one.alerts, one.new_alerts, one.updated_alerts) == (3, 3, 0)
    two = finintel.run([first, second], rules, tmp_path / "o2", store=store, incremental=True)
    assert (two.alerts, two.new_alerts, two.updated_alerts) == (6, 3, 0)
    delta = pl.read_parquet(tmp_path / "o2" / "alerts.parquet")
    assert set(delta["status"]) == {"new"}
    assert delta.sort("first_ts")["first_ts"].dt.strftime("%Y-%m-%d").to_list() == [
        "2025-04-02", "2025-04-07", "2025-06-16",
    ]  # fmt: skip


def test_a_target_matched_on_one_record_flags_the_other_records_of_the_person(
    tmp_path: Path,
) -> None:
    # p-id matches T-2 on its passport; p-id-2 is the same name and birth date (resolution:
    # name+birth_date) without the passport, so it matches only through the resolved person
    dob = date(1975, 6, 14)
    rows = [
        _party("p-id", "Hans Weber", id_number="P123456", id_country="DE", birth_date=dob),
        _party("p-id-2", "Hans Weber", birth_date=dob),
        _party("p-other", "Hans Weber", birth_date=date(1980, 2, 3)),
    ]
    data = SimpleNamespace(
        transfers=pl.DataFrame(
            [_tx(1, "X1", "X2", "p-id"), _tx(2, "X3", "X2", "p-id-2"), _tx(3, "X4", "X2", "p-other")],
            schema=TRANSFERS, orient="row",
        ).lazy(),
        parties=pl.DataFrame(rows, schema=PARTIES, orient="row"),
        base_currency="EUR",
    )  # fmt: skip
    plain = detect(data, _rules(tmp_path)).table
    assert plain["tx_ids"].list.first().to_list() == ["t1"]
    for extra in ("  resolve: true\n", "group_by: entity\n"):
        rules = _rules(tmp_path, extra=extra)
        alerts = detect(data, rules).table.sort("first_ts")
        got = [(r["tx_ids"][0], r["explanation"]) for r in alerts.iter_rows(named=True)]
        assert got == [
            ("t1", "sender matches target T-2 on id number (exact)"),
            ("t2", "sender matches target T-2 through another record of the same resolved "
                   "person on id number (exact)"),
        ], extra  # fmt: skip
        assert [json.loads(m)["resolved"] for m in alerts["metrics"]] == [False, True]
