"""Source profiles: how a provider's export maps onto the canonical columns.

A profile is a YAML file in ``rules/sources/`` (README, "Writing a source profile"). It is
validated like a rule: unknown keys, wrong types and unknown canonical columns are reported with
``file:line:col`` before any data is read.

>>> p = parse_profile('''
... profile: tiny
... layout: transfer
... timezone: UTC
... columns: {tx_id: id, ts: when, src_account: from, dst_account: to, amount: amt, currency: ccy}
... ''', "tiny.yaml")
>>> sorted(p.required_columns())
['amt', 'ccy', 'from', 'id', 'to', 'when']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

from finintel.errors import ConfigError, FinintelError, Location, UsageError, did_you_mean
from finintel.schema import PARTIES, STATUSES, TRANSFERS
from finintel.yamlpos import Reader, load_file, load_text

LAYOUTS = ("transfer", "statement")
TRANSFORMS = ("strip", "upper", "lower", "iban_country")
#: Canonical transfer columns a profile maps directly (the rest are derived).
MAPPABLE = tuple(
    c for c in TRANSFERS if c not in ("amount_base", "source", "status", "src_party", "dst_party")
)
STATEMENT_OWN = ("src_account", "dst_account", "src_country", "dst_country")
PARTY_FIELDS = tuple(c for c in PARTIES if c != "source")
SIDES = {"transfer": ("src", "dst"), "statement": ("account", "counterparty")}


@dataclass(frozen=True)
class ColumnSource:
    """Where a canonical value comes from: a raw column, a constant, or the first non-null."""

    columns: tuple[str, ...] = ()
    value: str | None = None
    transform: str | None = None

    def expr(self) -> pl.Expr:
        if self.value is not None:
            return pl.lit(self.value, dtype=pl.String)
        if len(self.columns) == 1:
            e = pl.col(self.columns[0])
        else:
            e = pl.coalesce([pl.col(c).cast(pl.String) for c in self.columns])
        if self.transform is None:
            return e
        e = e.cast(pl.String).str.strip_chars()
        if self.transform == "upper":
            return e.str.to_uppercase()
        if self.transform == "lower":
            return e.str.to_lowercase()
        if self.transform == "iban_country":
            return e.str.slice(0, 2).str.to_uppercase()
        return e

    def raw_columns(self) -> set[str]:
        return set(self.columns)


@dataclass(frozen=True)
class Direction:
    """How a statement row says whether money left (debit) or arrived (credit)."""

    column: str | None = None
    debit: tuple[str, ...] = ()
    credit: tuple[str, ...] = ()
    sign_of: str | None = None  # the amount column: negative = debit


@dataclass(frozen=True)
class StatementSpec:
    account: ColumnSource
    counterparty: ColumnSource
    direction: Direction
    account_country: ColumnSource | None = None
    counterparty_country: ColumnSource | None = None


@dataclass(frozen=True)
class StatusSpec:
    column: str
    values: Mapping[str, str]  # raw value → canonical status


@dataclass(frozen=True)
class SourceProfile:
    """A validated source profile."""

    name: str
    file: str
    layout: str = "transfer"
    title: str = ""
    description: str = ""
    channel: ColumnSource | None = None
    timezone: str | None = None
    timestamp_format: str | None = None
    decimal_comma: bool = False
    detect: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    columns: Mapping[str, ColumnSource] = field(default_factory=dict)
    status: StatusSpec | None = None
    statement: StatementSpec | None = None
    parties: Mapping[str, Mapping[str, ColumnSource]] = field(default_factory=dict)

    def referenced_columns(self) -> set[str]:
        cols: set[str] = set()
        for src in self.columns.values():
            cols |= src.raw_columns()
        if self.channel:
            cols |= self.channel.raw_columns()
        if self.status:
            cols.add(self.status.column)
        if self.statement:
            st = self.statement
            for s in (st.account, st.counterparty, st.account_country, st.counterparty_country):
                if s is not None:
                    cols |= s.raw_columns()
            if st.direction.column:
                cols.add(st.direction.column)
        for side in self.parties.values():
            for src in side.values():
                cols |= src.raw_columns()
        return cols

    def required_columns(self) -> set[str]:
        """Raw columns an export must have (everything referenced but the optional ones)."""
        return self.referenced_columns() - set(self.optional)

    def detect_columns(self) -> set[str]:
        return set(self.detect) if self.detect else self.required_columns()


def _column_source(r: Reader, key: str) -> ColumnSource | None:
    value = r.raw(key)
    if value is None:
        return None
    if isinstance(value, str):
        return ColumnSource(columns=(value,))
    if isinstance(value, dict):
        m = r.mapping(key)
        assert m is not None
        column = m.string("column")
        first_of = m.strings("first_of")
        const = m.string("value")
        transform = m.string("transform", choices=TRANSFORMS)
        m.finish(["column", "first_of", "value", "transform"])
        chosen = [x for x in (column, first_of or None, const) if x is not None]
        if len(chosen) != 1:
            r.error(
                "FI017", f"{m.path!r} needs exactly one of 'column', 'first_of' or 'value'", key
            )
            return None
        if const is not None:
            return ColumnSource(value=const)
        cols = (column,) if column is not None else tuple(first_of)
        return ColumnSource(columns=cols, transform=transform)
    r.error(
        "FI012", f"{r.path + '.' if r.path else ''}{key!r} expects a column name or a mapping", key
    )
    return None


def _check_zone(r: Reader, key: str, zone: str | None) -> None:
    if zone is None:
        return
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        r.error("FI018", f"unknown time zone {zone!r} (use an IANA name like 'Europe/Berlin')", key)


def _read_profile(r: Reader) -> SourceProfile:
    name = r.string("profile", required=True) or "?"
    layout = r.string("layout", "transfer", choices=LAYOUTS) or "transfer"
    title = r.string("title", "") or ""
    description = r.string("description", "") or ""
    channel = _column_source(r, "channel")
    timezone = r.string("timezone")
    _check_zone(r, "timezone", timezone)
    ts_format = r.string("timestamp_format")
    decimal_comma = bool(r.boolean("decimal_comma", False))
    detect = tuple(r.strings("detect"))
    optional = tuple(r.strings("optional"))

    columns: dict[str, ColumnSource] = {}
    cols = r.mapping("columns", required=True)
    if cols is not None:
        allowed = [c for c in MAPPABLE if layout == "transfer" or c not in STATEMENT_OWN]
        for key, _value, loc in cols.items():
            if key not in allowed:
                why = (
                    " (statements take accounts and countries from 'statement:')"
                    if key in STATEMENT_OWN
                    else did_you_mean(key, allowed)
                )
                cols.errors.append(
                    ConfigError(
                        "FI019",
                        f"{key!r} is not a canonical column a profile can map{why}",
                        loc,
                    )
                )
                continue
            src = _column_source(cols, key)
            if src is not None:
                columns[key] = src
        needed = ["tx_id", "ts", "amount", "currency"]
        if layout == "transfer":
            needed += ["src_account", "dst_account"]
        missing = [c for c in needed if not cols.has(c)]
        if missing:
            cols.error("FI013", f"'columns' must map {', '.join(repr(c) for c in missing)}")

    status = None
    st = r.mapping("status")
    if st is not None:
        column = st.string("column", required=True)
        values: dict[str, str] = {}
        vm = st.mapping("values", required=True)
        if vm is not None:
            for raw_value, canonical, loc in vm.items():
                if canonical not in STATUSES:
                    vm.errors.append(
                        ConfigError(
                            "FI014",
                            f"status {raw_value!r} maps to {canonical!r}; canonical statuses are "
                            f"{', '.join(STATUSES)}{did_you_mean(str(canonical), STATUSES)}",
                            loc,
                        )
                    )
                else:
                    values[raw_value] = str(canonical)
        st.finish(["column", "values"])
        if column is not None:
            status = StatusSpec(column, values)

    statement = None
    sm = r.mapping("statement", required=layout == "statement")
    if sm is not None and layout != "statement":
        r.error("FI017", "'statement' only applies to layout: statement", "statement")
    elif sm is not None:
        account = _column_source(sm, "account")
        counterparty = _column_source(sm, "counterparty")
        if account is None:
            sm.error("FI013", "'statement' must name the 'account' column")
        if counterparty is None:
            sm.error("FI013", "'statement' must name the 'counterparty' column")
        direction = Direction()
        dm = sm.mapping("direction", required=True)
        if dm is not None:
            direction = Direction(
                column=dm.string("column"),
                debit=tuple(dm.strings("debit")),
                credit=tuple(dm.strings("credit")),
                sign_of=dm.string("sign_of"),
            )
            dm.finish(["column", "debit", "credit", "sign_of"])
            if (direction.column is None) == (direction.sign_of is None):
                dm.error(
                    "FI017",
                    "'direction' needs either 'column' (with debit/credit values) or 'sign_of'",
                )
            elif direction.column is not None and not (direction.debit and direction.credit):
                dm.error(
                    "FI013", "'direction' with 'column' needs 'debit' and 'credit' value lists"
                )
        acc_country = _column_source(sm, "account_country")
        cp_country = _column_source(sm, "counterparty_country")
        sm.finish(
            ["account", "counterparty", "direction", "account_country", "counterparty_country"]
        )
        if account is not None and counterparty is not None:
            statement = StatementSpec(account, counterparty, direction, acc_country, cp_country)

    parties: dict[str, dict[str, ColumnSource]] = {}
    pm = r.mapping("parties")
    if pm is not None:
        sides = SIDES[layout]
        for side, _value, loc in pm.items():
            if side not in sides:
                pm.errors.append(
                    ConfigError(
                        "FI016",
                        f"unknown party side {side!r} for layout {layout}; use "
                        f"{' or '.join(sides)}{did_you_mean(side, sides)}",
                        loc,
                    )
                )
                continue
            sr = pm.mapping(side)
            assert sr is not None
            fields: dict[str, ColumnSource] = {}
            for key in list(sr.data):
                if key in PARTY_FIELDS:
                    src = _column_source(sr, key)
                    if src is not None:
                        fields[key] = src
            sr.finish(PARTY_FIELDS)
            if "party_id" not in fields and "name" not in fields:
                sr.error("FI013", f"party side {side!r} needs 'party_id' or 'name'")
            parties[side] = fields

    r.finish(
        [
            "profile", "layout", "title", "description", "channel", "timezone",
            "timestamp_format", "decimal_comma", "detect", "optional", "columns", "status",
            "statement", "parties",
        ]
    )  # fmt: skip
    return SourceProfile(
        name=name,
        file=r.file,
        layout=layout,
        title=title,
        description=description,
        channel=channel,
        timezone=timezone,
        timestamp_format=ts_format,
        decimal_comma=decimal_comma,
        detect=detect,
        optional=optional,
        columns=columns,
        status=status,
        statement=statement,
        parties=parties,
    )


def parse_profile(text: str, file: str) -> SourceProfile:
    """Parse and validate profile text; raises every problem of the file at once."""
    r = Reader(load_text(text, file), file)
    profile = _read_profile(r)
    r.raise_errors()
    return profile


def load_profile(path: str | Path) -> SourceProfile:
    """Load and validate one profile file."""
    r = Reader(load_file(path), str(path))
    profile = _read_profile(r)
    r.raise_errors()
    return profile


def load_profiles(directory: str | Path) -> dict[str, SourceProfile]:
    """Every ``*.yaml`` profile in ``directory`` by name; duplicate names are an error."""
    found: dict[str, SourceProfile] = {}
    errors: list[FinintelError] = []
    for path in sorted(Path(directory).glob("*.y*ml")):
        try:
            p = load_profile(path)
        except FinintelError as exc:
            errors.extend(getattr(exc, "errors", [exc]))
            continue
        if p.name in found:
            errors.append(
                ConfigError(
                    "FI019",
                    f"profile name {p.name!r} is also used by {found[p.name].file}",
                    Location(str(path)),
                )
            )
        found[p.name] = p
    if errors:
        from finintel.errors import raise_all

        raise_all(errors)
    return found


def resolve_profile(spec: str | Path | SourceProfile, directory: str | Path) -> SourceProfile:
    """A profile given as an object, a YAML path, or a name in ``directory``."""
    if isinstance(spec, SourceProfile):
        return spec
    path = Path(spec)
    if path.suffix in (".yaml", ".yml") and path.exists():
        return load_profile(path)
    profiles = load_profiles(directory)
    if str(spec) in profiles:
        return profiles[str(spec)]
    raise UsageError(
        "FI007",
        f"unknown profile {str(spec)!r}; known: {', '.join(sorted(profiles)) or 'none'}"
        f"{did_you_mean(str(spec), profiles)}",
    )
