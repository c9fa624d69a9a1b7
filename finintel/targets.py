"""Watchlist targets files: the people an investigation looks for (``finintel.load_targets``).

A targets file is YAML or CSV. YAML holds a ``targets`` list; each target has an ``id`` and any
of ``names``, ``birth_dates``, ``countries``, ``phones``, ``ids`` (``number`` with the issuing
``country``), ``accounts``, ``emails`` (one value or a list) and a free ``note``::

    targets:
      - id: T-001
        names: [Ahmed Karimi, Ahmad Karimi]
        birth_dates: [1985-03-12]
        countries: [AF]
        phones: ["+93 70 123 4567"]
        ids: [{number: P1234567, country: AF}]
        accounts: [DE89 3704 0044 0532 0130 00]

CSV has a header with ``id`` and any of ``name, birth_date, country, phone, id_number,
id_country, account, email, note``; one row per target or several rows with one ``id`` (their
values add up). Every problem is reported at once with its file, line (and column for CSV)
as FI115.

Values are normalised as the parties' are: phones to E.164 (a local number read with the
target's first country), ID numbers to upper-case letters and digits, e-mails trimmed and
lower-case, accounts (IBANs and others) upper-case without spaces or punctuation.

>>> t = load_targets_text("targets:\\n  - id: T1\\n    phones: ['0170 1234567']\\n    countries: [DE]\\n", "t.yaml")
>>> t.keys.rows()
[('T1', 'phone', '+491701234567', None, 3)]
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from finintel.errors import ConfigError, FinintelError, Location, did_you_mean, raise_all
from finintel.identifiers import e164
from finintel.yamlpos import load_text

__all__ = ["FIELDS", "Targets", "load_targets", "load_targets_text", "normalise_account"]

CODE = "FI115"
#: The exact identifiers a target may have, in order of strength.
FIELDS: tuple[str, ...] = ("account", "id_number", "email", "phone")
_YAML_KEYS = (
    "id",
    "names",
    "birth_dates",
    "countries",
    "phones",
    "ids",
    "accounts",
    "emails",
    "note",
)
_CSV_COLUMNS = (
    "id", "name", "birth_date", "country", "phone", "id_number", "id_country", "account",
    "email", "note",
)  # fmt: skip
_KEYS_SCHEMA = {
    "target": pl.String(),
    "field": pl.String(),
    "key": pl.String(),
    "id_country": pl.String(),
    "line": pl.Int64(),
}
_NAMES_SCHEMA = {"target": pl.String(), "name": pl.String(), "line": pl.Int64()}
_SUPPORT_SCHEMA = {
    "target": pl.String(),
    "birth_dates": pl.List(pl.Date()),
    "countries": pl.List(pl.String()),
}


@dataclass(frozen=True)
class Targets:
    """A parsed targets file: exact keys, names and supporting fields, each with its target."""

    file: str
    #: target, field (account / id_number / email / phone), key (normalised), id_country, line
    keys: pl.DataFrame
    #: target, name, line
    names: pl.DataFrame
    #: target, birth_dates, countries
    support: pl.DataFrame
    #: target ids in file order
    ids: tuple[str, ...]


def normalise_account(e: pl.Expr) -> pl.Expr:
    """An account number for comparison: upper-case letters and digits only (null if none).

    >>> pl.select(normalise_account(pl.lit(" de89 3704-0044 "))).item()
    'DE8937040044'
    """
    s = e.cast(pl.String).str.to_uppercase().str.replace_all(r"[^\p{L}\p{N}]", "")
    return pl.when(s.str.len_chars() > 0).then(s)


def normalise_id(e: pl.Expr) -> pl.Expr:
    """An ID document number: upper-case letters and digits (the same rule as accounts)."""
    return normalise_account(e)


def normalise_email(e: pl.Expr) -> pl.Expr:
    """An e-mail address: trimmed, lower-case (null if blank)."""
    s = e.cast(pl.String).str.strip_chars().str.to_lowercase()
    return pl.when(s.str.len_chars() > 0).then(s)


@dataclass
class _Entry:
    target: str
    field: str  # a FIELDS member, or name / birth_date / country / note
    value: str
    country: str | None  # id_country of an ID, or None
    loc: Location


class _Collector:
    """Turns entries into the :class:`Targets` tables, checking each value."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.entries: list[_Entry] = []
        self.errors: list[FinintelError] = []
        self.ids: dict[str, Location] = {}

    def error(self, message: str, loc: Location) -> None:
        self.errors.append(ConfigError(CODE, message, loc))

    def add(self, target: str, field: str, value: Any, loc: Location, country: Any = None) -> None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return
        if isinstance(value, bool) or not isinstance(value, str | int | float | date):
            self.error(f"{field} of target {target!r} expects text, got {value!r}", loc)
            return
        text = value.isoformat() if isinstance(value, date) else str(value).strip()
        if field == "birth_date":
            try:
                date.fromisoformat(text)
            except ValueError:
                self.error(
                    f"birth date {text!r} of target {target!r} is not a date (YYYY-MM-DD)", loc
                )
                return
        elif field == "country" and not (len(text) == 2 and text.isalpha()):
            self.error(f"country {text!r} of target {target!r} is not an ISO 3166 code", loc)
            return
        elif field == "email" and "@" not in text:
            self.error(f"e-mail {text!r} of target {target!r} has no '@'", loc)
            return
        cc = None if country is None or not str(country).strip() else str(country).strip()
        if cc is not None and not (len(cc) == 2 and cc.isalpha()):
            self.error(f"ID country {cc!r} of target {target!r} is not an ISO 3166 code", loc)
            return
        self.entries.append(_Entry(target, field, text, cc.upper() if cc else None, loc))

    def build(self) -> Targets:
        countries: dict[str, list[str]] = {}
        births: dict[str, list[date]] = {}
        for e in self.entries:
            if e.field == "country":
                countries.setdefault(e.target, []).append(e.value.upper())
            elif e.field == "birth_date":
                births.setdefault(e.target, []).append(date.fromisoformat(e.value))
        exact = [e for e in self.entries if e.field in FIELDS]
        raw = pl.DataFrame(
            {
                "target": [e.target for e in exact],
                "field": [e.field for e in exact],
                "value": [e.value for e in exact],
                "id_country": [e.country for e in exact],
                "region": [next(iter(countries.get(e.target, [])), None) for e in exact],
                "line": [e.loc.line for e in exact],
            },
            schema={
                "target": pl.String(),
                "field": pl.String(),
                "value": pl.String(),
                "id_country": pl.String(),
                "region": pl.String(),
                "line": pl.Int64(),
            },
        )
        phones = e164(raw, "value", "region")
        keys = raw.with_columns(
            pl.when(pl.col("field") == "phone")
            .then(phones)
            .when(pl.col("field") == "email")
            .then(normalise_email(pl.col("value")))
            .otherwise(normalise_account(pl.col("value")))
            .alias("key")
        )
        for row, e in zip(keys.iter_rows(named=True), exact, strict=True):
            if row["key"] is None:
                what = "a phone number" if e.field == "phone" else f"a usable {e.field}"
                self.error(f"{e.value!r} of target {e.target!r} is not {what}", e.loc)
        matchable = {e.target for e in self.entries if e.field in (*FIELDS, "name")}
        for target, loc in self.ids.items():
            if target not in matchable:
                self.error(f"target {target!r} has nothing to match (no name or identifier)", loc)
        raise_all(sorted(self.errors, key=_order))
        names = [e for e in self.entries if e.field == "name"]
        return Targets(
            file=self.file,
            keys=keys.select(list(_KEYS_SCHEMA)).unique(["target", "field", "key"], keep="first")
            .sort("target", "field", "key"),
            names=pl.DataFrame(
                {
                    "target": [e.target for e in names],
                    "name": [e.value for e in names],
                    "line": [e.loc.line for e in names],
                },
                schema=_NAMES_SCHEMA,
            ).unique(["target", "name"], keep="first").sort("target", "name"),
            support=pl.DataFrame(
                {
                    "target": list(self.ids),
                    "birth_dates": [sorted(set(births.get(t, []))) for t in self.ids],
                    "countries": [sorted(set(countries.get(t, []))) for t in self.ids],
                },
                schema=_SUPPORT_SCHEMA,
            ),
            ids=tuple(self.ids),
        )  # fmt: skip


def _order(e: FinintelError) -> tuple[int, int]:
    loc = e.location
    return (loc.line or 0, loc.col or 0) if loc else (0, 0)


def _bad_date(text: str, file: str) -> ConfigError:
    """The first date-like value of ``text`` that is no date, at its position."""
    for number, line in enumerate(text.splitlines(), 1):
        for m in re.finditer(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b", line):
            try:
                date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                where = Location(file, line=number, col=m.start() + 1)
                return ConfigError(CODE, f"{m[0]!r} is not a date (YYYY-MM-DD)", where)
    return ConfigError(CODE, "a value is not a valid date", Location(file))


def _loc(node: Any, key: Any, file: str) -> Location:
    """Position of ``node[key]`` (a mapping key or a list index) in the YAML."""
    try:
        if isinstance(node, CommentedMap):
            line, col = node.lc.value(key)
        elif isinstance(node, CommentedSeq):
            line, col = node.lc.item(key)
        else:
            return Location(file)
        return Location(file, line=line + 1, col=col + 1)
    except (KeyError, TypeError, IndexError):
        return Location(file, line=node.lc.line + 1, col=node.lc.col + 1)


def _from_yaml(text: str, file: str) -> Targets:
    out = _Collector(file)
    try:
        data = load_text(text, file)
    except FinintelError as exc:
        raise ConfigError(CODE, exc.message, exc.location) from None
    except ValueError:  # YAML reads 1988-13-07 as a timestamp and fails on it
        raise _bad_date(text, file) from None
    if not isinstance(data, CommentedMap) or "targets" not in data:
        raise ConfigError(
            CODE, "a targets file is a mapping with a 'targets' list", Location(file, line=1, col=1)
        )
    unknown = [k for k in data if k not in ("targets", "description")]
    for k in unknown:
        line, col = data.lc.key(k)
        out.error(
            f"unknown key {k!r}{did_you_mean(str(k), ['targets', 'description'])}",
            Location(file, line=line + 1, col=col + 1),
        )
    items = data["targets"]
    if not isinstance(items, CommentedSeq):
        raise ConfigError(CODE, "'targets' expects a list of targets", _loc(data, "targets", file))
    for i, item in enumerate(items):
        where = _loc(items, i, file)
        if not isinstance(item, CommentedMap):
            out.error(
                f"target {i + 1} expects a mapping (id, names, phones …), got {item!r}", where
            )
            continue
        tid = item.get("id")
        if tid is None or isinstance(tid, bool) or not str(tid).strip():
            out.error("target without 'id'", where)
            continue
        target = str(tid).strip()
        if target in out.ids:
            first = out.ids[target].line
            out.error(f"target id {target!r} is listed twice (first on line {first})", where)
            continue
        out.ids[target] = where
        for key in item:
            if key not in _YAML_KEYS:
                line, col = item.lc.key(key)
                out.error(
                    f"unknown key {key!r} in target {target!r}"
                    f"{did_you_mean(str(key), _YAML_KEYS)}; keys: {', '.join(_YAML_KEYS)}",
                    Location(file, line=line + 1, col=col + 1),
                )
        _yaml_target(out, target, item, file)
    return out.build()


def _values(item: CommentedMap, key: str, file: str) -> list[tuple[Any, Location]]:
    if key not in item or item[key] is None:
        return []
    value = item[key]
    if isinstance(value, CommentedSeq):
        return [(v, _loc(value, i, file)) for i, v in enumerate(value)]
    return [(value, _loc(item, key, file))]


def _yaml_target(out: _Collector, target: str, item: CommentedMap, file: str) -> None:
    singular = {
        "names": "name", "birth_dates": "birth_date", "countries": "country", "phones": "phone",
        "accounts": "account", "emails": "email",
    }  # fmt: skip
    for key, field in singular.items():
        for value, loc in _values(item, key, file):
            out.add(target, field, value, loc)
    for value, loc in _values(item, "ids", file):
        if isinstance(value, CommentedMap):
            extra = [k for k in value if k not in ("number", "country")]
            if extra or "number" not in value:
                out.error(
                    f"an ID of target {target!r} is a mapping with 'number' and 'country'"
                    f" (found: {', '.join(map(str, value)) or 'nothing'})",
                    loc,
                )
                continue
            out.add(target, "id_number", value["number"], loc, value.get("country"))
        else:
            out.add(target, "id_number", value, loc)


def _from_csv(text: str, file: str) -> Targets:
    out = _Collector(file)
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    if "id" not in header:
        raise ConfigError(
            CODE,
            f"the CSV header needs an 'id' column (found: {', '.join(header) or 'nothing'})",
            Location(file, line=1, col=1),
        )
    for name in header:
        if name not in _CSV_COLUMNS:
            raise ConfigError(
                CODE,
                f"unknown column {name!r}{did_you_mean(name, _CSV_COLUMNS)}; columns: "
                f"{', '.join(_CSV_COLUMNS)}",
                Location(file, line=1, column=name),
            )
    for row in reader:
        line = reader.line_num
        target = (row.get("id") or "").strip()
        if not target:
            out.error("row without 'id'", Location(file, line=line, column="id"))
            continue
        out.ids.setdefault(target, Location(file, line=line))
        for col in _CSV_COLUMNS[1:]:
            if col not in ("id_country", "note"):
                country = row.get("id_country") if col == "id_number" else None
                out.add(target, col, row.get(col), Location(file, line=line, column=col), country)
    return out.build()


def load_targets_text(text: str, file: str) -> Targets:
    """Parse a targets file's text (CSV when ``file`` ends in ``.csv``, else YAML)."""
    return _from_csv(text, file) if file.lower().endswith(".csv") else _from_yaml(text, file)


def load_targets(path: str | Path) -> Targets:
    """Read and parse a targets file; every problem raised at once (FI115)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(CODE, f"cannot read file: {exc.strerror}", Location(str(p))) from None
    except UnicodeDecodeError:
        raise ConfigError(CODE, "not UTF-8 text", Location(str(p))) from None
    return load_targets_text(text, str(p))
