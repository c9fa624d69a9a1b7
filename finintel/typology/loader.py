"""Loading and validating typology rule files and list files (``finintel.load_rules``).

A rule file is read through :class:`~finintel.yamlpos.Reader`, so every problem is recorded
with its ``file:line:col`` and a whole file's problems are reported at once, sorted by position;
the problems of several files are all reported. Pattern kinds are looked up in the primitive
registry at call time; parameters are typed by the kind's :class:`~.primitives.base.ParamSpec`;
expressions (``scope.where``, ``having``, expression parameters) are parsed and name-checked
against the transfer columns, the kind's metrics and the loaded lists, with errors at the exact
column inside the YAML (quoted, folded and block scalars included).

Codes FI100–FI114 are listed in :mod:`finintel.typology.model` and ``docs/typologies.md``.

>>> rules = load_rules("rules")  # doctest: +SKIP
>>> report = check_rules(["rules/typologies/fan-in.yaml"], data_resolution=timedelta(days=1))  # doctest: +SKIP
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from finintel.errors import (
    ConfigError,
    ErrorList,
    FinintelError,
    Location,
    did_you_mean,
    raise_all,
)
from finintel.schema import CHANNELS, RULE_COLUMNS
from finintel.typology.expr import ExprError, Node, Pos, caret, check_expr, parse
from finintel.typology.model import (
    ID_PATTERN,
    LIST_KEYS,
    LIST_NAME_PATTERN,
    LIST_TYPES,
    RULE_KEYS,
    SCOPE_KEYS,
    SEVERITIES,
    CheckReport,
    FrozenMap,
    Issue,
    NamedList,
    Rule,
    RuleSet,
)
from finintel.typology.positions import scalar_positions
from finintel.typology.primitives.base import GROUP_BY, FileRef, ParamSpec, Primitive
from finintel.yamlpos import Reader, format_duration, load_text, parse_duration

__all__ = [
    "EXPR_CODES",
    "RULE_CODES",
    "CheckReport",
    "Issue",
    "NamedList",
    "Rule",
    "RuleSet",
    "check_rules",
    "format_errors",
    "load_rules",
    "registry",
]

#: The generic YAML codes of :mod:`finintel.yamlpos` as rule-file codes.
RULE_CODES: dict[str, str] = {
    "FI001": "FI100",
    "FI010": "FI100",
    "FI011": "FI111",
    "FI012": "FI102",
    "FI013": "FI103",
    "FI014": "FI112",
    "FI015": "FI105",
    "FI016": "FI101",
}
#: The expression module's codes as rule-file codes (the message is kept as it is).
EXPR_CODES: dict[str, str] = {
    "FI020": "FI106",
    "FI021": "FI106",
    "FI022": "FI107",
    "FI023": "FI106",
}

_MISSING: Any = object()
_YAML_SUFFIXES = (".yaml", ".yml")
_PARAM_IN_MESSAGE = re.compile(r"parameter '([^']+)'")
PathLike = str | Path


def registry() -> Mapping[str, Primitive]:
    """The primitive registry, after importing every kind (looked up at each call)."""
    import finintel.typology.primitives  # noqa: F401 - its __init__ registers every kind
    from finintel.typology.primitives import base

    return base.REGISTRY


# public API ---------------------------------------------------------------------------------


def load_rules(
    paths: PathLike | Sequence[PathLike], *, kinds: Mapping[str, Primitive] | None = None
) -> RuleSet:
    """Load and validate rule files and lists; raise every problem at once.

    ``paths`` are files or folders. A folder holding ``typologies/`` or ``lists/`` (like
    ``rules/``) gives ``typologies/**/*.yaml`` and ``lists/*.yaml``; any other folder gives
    all its ``*.yaml`` files, each recognised as a list file (a ``list:`` key) or a rule.
    When no list file is among them, the default lists (``<rules dir>/lists``) are loaded.
    Raises a :class:`~finintel.errors.ConfigError` (one problem) or an
    :class:`~finintel.errors.ErrorList` (several, in file order then by position).
    ``kinds`` replaces the primitive registry (tests).
    """
    result = _Load(kinds).run(paths)
    raise_all(result.errors)
    return result.ruleset


def check_rules(
    paths: PathLike | Sequence[PathLike],
    *,
    data_resolution: timedelta | None = None,
    kinds: Mapping[str, Primitive] | None = None,
) -> CheckReport:
    """Validate like :func:`load_rules`, then lint the valid rules; never raises for rule problems.

    ``data_resolution`` is the time resolution of the data the rules will run on (date-only
    data: one day); windows shorter than it are reported.
    """
    from finintel.typology.lint import lint

    load = _Load(kinds)
    result = load.run(paths)
    issues = lint(result.ruleset, data_resolution=data_resolution, kinds=load.kinds)
    if result.rule_files == 0 and not result.errors:
        issues.insert(0, Issue("FI159", "warning", "no rule files found"))
    return CheckReport(
        errors=tuple(result.errors),
        issues=tuple(issues),
        ruleset=result.ruleset,
        rules=result.rule_files,
        files=result.ruleset.files,
    )


# files --------------------------------------------------------------------------------------


@dataclass
class _Source:
    """One file: its text and parsed YAML (or the error that stopped reading it)."""

    path: Path
    role: str | None  # "rule", "list" or None (decided by content)
    text: str = ""
    data: Any = None
    error: FinintelError | None = None

    @property
    def file(self) -> str:
        return str(self.path)


def _yaml_files(folder: Path, recursive: bool = True) -> list[Path]:
    if not folder.is_dir():
        return []
    found = folder.rglob("*") if recursive else folder.glob("*")
    return sorted(
        p
        for p in found
        if p.suffix in _YAML_SUFFIXES
        and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def _discover(paths: PathLike | Sequence[PathLike]) -> tuple[list[_Source], list[FinintelError]]:
    items = [paths] if isinstance(paths, str | Path) else list(paths)
    sources: list[_Source] = []
    errors: list[FinintelError] = []
    seen: set[Path] = set()

    def add(path: Path, role: str | None) -> None:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            sources.append(_Source(path, role))

    for item in items:
        p = Path(item)
        if p.is_dir():
            typologies, lists = p / "typologies", p / "lists"
            if typologies.is_dir() or lists.is_dir():
                for f in _yaml_files(typologies):
                    add(f, "rule")
                for f in _yaml_files(lists, recursive=False):
                    add(f, "list")
            else:
                for f in _yaml_files(p):
                    add(f, None)
        elif p.is_file():
            add(p, None)
        else:
            errors.append(ConfigError("FI100", "no such file or folder", Location(str(p))))
    return sources, errors


def _read(src: _Source) -> None:
    try:
        src.text = src.path.read_text(encoding="utf-8")
    except OSError as exc:
        src.error = ConfigError("FI100", f"cannot read file: {exc.strerror}", Location(src.file))
        return
    except UnicodeDecodeError:
        src.error = ConfigError("FI100", "not UTF-8 text", Location(src.file))
        return
    try:
        src.data = load_text(src.text, src.file)
    except FinintelError as exc:
        src.error = ConfigError(RULE_CODES.get(exc.code, exc.code), exc.message, exc.location)
        return
    if src.role is None:
        is_list = isinstance(src.data, dict) and "list" in src.data and "id" not in src.data
        # a watchlist's targets file found in a folder of rules: read by the rule naming it
        is_targets = isinstance(src.data, dict) and "targets" in src.data and "id" not in src.data
        src.role = "list" if is_list else "targets" if is_targets else "rule"
    if src.data is not None and not isinstance(src.data, dict):
        line, col = 1, 1
        if isinstance(src.data, CommentedSeq):
            line, col = src.data.lc.line + 1, src.data.lc.col + 1
        what = "a list file (list: …, values: …)" if src.role == "list" else "a rule file"
        src.error = ConfigError(
            "FI102",
            f"{what} must be a mapping of keys, got {_what(src.data)}",
            Location(src.file, line=line, col=col),
        )


def _order(e: FinintelError) -> tuple[int, int]:
    loc = e.location
    return (loc.line or 0, loc.col or 0) if loc else (0, 0)


def _what(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def _plain(value: Any) -> Any:
    """ruamel's commented containers as plain dicts and lists (for primitives)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _number_text(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


# the load -----------------------------------------------------------------------------------


@dataclass
class _Result:
    ruleset: RuleSet
    errors: list[FinintelError]
    rule_files: int


class _Load:
    def __init__(self, kinds: Mapping[str, Primitive] | None) -> None:
        self.kinds: Mapping[str, Primitive] = registry() if kinds is None else kinds

    def run(self, paths: PathLike | Sequence[PathLike]) -> _Result:
        sources, path_errors = _discover(paths)
        for src in sources:
            _read(src)
        sources = [s for s in sources if s.role != "targets"]
        if not any(s.role == "list" for s in sources):
            from finintel.paths import default_rules_dir

            for f in _yaml_files(default_rules_dir() / "lists", recursive=False):
                if all(f.resolve() != s.path.resolve() for s in sources):
                    src = _Source(f, "list")
                    _read(src)
                    sources.append(src)
        by_file: dict[str, list[FinintelError]] = {s.file: [] for s in sources}
        for src in sources:
            if src.error is not None:
                by_file[src.file].append(src.error)

        # lists first: rules' expressions are checked against them
        named: dict[str, NamedList] = {}
        values: dict[str, tuple[object, ...]] = {}
        for src in sources:
            if src.role != "list" or src.error is not None:
                continue
            errs = by_file[src.file]
            nl = _ListFile(src, errs).read()
            if nl is None:
                continue
            first = named.get(nl.name)
            if first is not None:
                errs.append(
                    ConfigError(
                        "FI108",
                        f"list {nl.name!r} is defined twice (also at {first.file}:{first.line})",
                        Location(src.file, line=nl.line, col=_name_col(src, "list")),
                    )
                )
                continue
            # a list with bad values still counts as known, so rules do not report it unknown
            values[nl.name] = nl.values
            named[nl.name] = nl

        rules: list[Rule] = []
        first_ids: dict[str, tuple[str, int]] = {}
        rule_files = 0
        for src in sources:
            if src.role != "rule":
                continue
            rule_files += 1
            if src.error is not None:
                continue
            errs = by_file[src.file]
            reader = _RuleFile(src, values, self.kinds, errs)
            rule = reader.read()
            rid, id_pos = reader.rule_id, reader.id_pos
            if rid is not None and ID_PATTERN.match(rid):
                prev = first_ids.get(rid)
                if prev is not None:
                    errs.append(
                        ConfigError(
                            "FI108",
                            f"duplicate id {rid!r}: also defined at {prev[0]}:{prev[1]}",
                            Location(src.file, line=id_pos[0], col=id_pos[1]),
                        )
                    )
                    continue
                first_ids[rid] = (src.file, id_pos[0])
            if rule is not None and not errs:
                rules.append(rule)

        errors: list[FinintelError] = list(path_errors)
        for src in sources:
            errors += sorted(by_file[src.file], key=_order)
        ruleset = RuleSet(
            rules=tuple(rules),
            lists={k: values[k] for k in named},
            files=tuple(s.file for s in sources),
            list_info=dict(named),
        )
        return _Result(ruleset, errors, rule_files)


def _name_col(src: _Source, key: str) -> int | None:
    data = src.data
    if isinstance(data, CommentedMap) and key in data:
        try:
            return int(data.lc.value(key)[1]) + 1
        except (KeyError, TypeError):
            return None
    return None


def _item_pos(seq: Any, index: int, fallback: tuple[int, int]) -> tuple[int, int]:
    if isinstance(seq, CommentedSeq):
        try:
            line, col = seq.lc.item(index)
            return int(line) + 1, int(col) + 1
        except (KeyError, TypeError):
            pass
    return fallback


def _pos(r: Reader, key: str | None = None) -> tuple[int, int]:
    loc = r.location(key)
    return (loc.line or 1, loc.col or 1)


# list files ---------------------------------------------------------------------------------


class _ListFile:
    def __init__(self, src: _Source, errors: list[FinintelError]) -> None:
        self.src = src
        self.errors = errors
        self.r = Reader(src.data, src.file, errors, codes=RULE_CODES)

    def error(self, code: str, message: str, pos: tuple[int, int]) -> None:
        self.errors.append(
            ConfigError(code, message, Location(self.src.file, line=pos[0], col=pos[1]))
        )

    def read(self) -> NamedList | None:
        r = self.r
        name = r.string("list", required=True)
        if name is not None and not LIST_NAME_PATTERN.match(name):
            r.error(
                "FI108",
                f"bad list name {name!r}: use lower-case letters, digits and '_', starting with "
                "a letter (it is written $name in expressions)",
                "list",
            )
            name = None
        description = _text(r, "description", required=True)
        kind = r.string("type", None, choices=LIST_TYPES)
        if kind is None:
            words = (description or "").lower()
            kind = (
                "countries" if "countr" in words else "currencies" if "currenc" in words else "text"
            )
        raw = r.raw("values", _MISSING, required=True)
        values: list[object] = []
        if raw is not _MISSING:
            if not isinstance(raw, list):
                r.error("FI102", f"'values' expects a list, got {_what(raw)}", "values")
            else:
                values = self.values(raw, kind, _pos(r, "values"))
        source = _text(r, "source")
        as_of_raw = r.raw("as_of", _MISSING)
        as_of: str | None = None
        if isinstance(as_of_raw, date):
            as_of = as_of_raw.isoformat()
        elif as_of_raw is not _MISSING:
            try:
                as_of = date.fromisoformat(str(as_of_raw)).isoformat()
            except ValueError:
                r.error(
                    "FI102",
                    f"'as_of' expects a date like 2025-06-13, got {_what(as_of_raw)}",
                    "as_of",
                )
        r.finish(LIST_KEYS)
        if name is None or description is None:
            return None
        line = r.key_location("list").line or 1
        return NamedList(name, description, kind, tuple(values), self.src.file, line, source, as_of)

    def values(self, raw: list[Any], kind: str, fallback: tuple[int, int]) -> list[object]:
        from finintel.ingest.codes import countries, currencies

        out: list[object] = []
        first: dict[object, int] = {}
        codes = {"countries": countries, "currencies": currencies}.get(kind)
        what = {
            "countries": "an ISO 3166-1 alpha-2 country code",
            "currencies": "an ISO 4217 currency code",
        }.get(kind, "")
        for i, item in enumerate(raw):
            pos = _item_pos(raw, i, fallback)
            if kind == "numbers":
                if isinstance(item, bool) or not isinstance(item, int | float):
                    self.error(
                        "FI114", f"{_what(item)} is not a number (the list's type is numbers)", pos
                    )
                    continue
            elif not isinstance(item, str):
                hint = (
                    f"; write it in quotes: '{item}'"
                    if isinstance(item, int | float) and not isinstance(item, bool)
                    else ""
                )
                self.error(
                    "FI114", f"{_what(item)} is not text (the list's type is {kind}){hint}", pos
                )
                continue
            elif codes is not None and item not in codes():
                close = item.strip().upper()
                hint = f" (did you mean {close!r}?)" if close in codes() else ""
                self.error("FI114", f"{item!r} is not {what}{hint}", pos)
                continue
            if item in first:
                self.error("FI114", f"{item!r} is listed twice (first on line {first[item]})", pos)
                continue
            first[item] = pos[0]
            out.append(item)
        return out


def _text(r: Reader, key: str, required: bool = False) -> str | None:
    """A text value that must not be empty when given."""
    value = r.string(key, required=required)
    if value is not None and not value.strip():
        r.error("FI112", f"{r._label(key)!r} is empty", key)
        return None
    return value


# rule files ---------------------------------------------------------------------------------


def _fingerprint(text: str, params: Mapping[str, Any]) -> str:
    """SHA-256 of the rule text and of the files it names (editing a targets file changes it)."""
    h = hashlib.sha256(text.encode("utf-8"))
    for name in sorted(params):
        if isinstance(params[name], FileRef):
            h.update(f"\0{name}\0{params[name].sha256}".encode())
    return h.hexdigest()


def _default(spec: ParamSpec) -> Any:
    value = spec.default
    if value is None:
        return None
    if spec.type == "duration":
        if isinstance(value, str):
            return parse_duration(value)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return timedelta(seconds=value)
        return value
    if spec.type == "strings" and isinstance(value, list | tuple):
        return tuple(value)
    if spec.type == "expression" and isinstance(value, str):
        return parse(value)
    return copy.deepcopy(value)


class _RuleFile:
    """Reads one rule file, recording every problem in ``errors``."""

    def __init__(
        self,
        src: _Source,
        lists: Mapping[str, tuple[object, ...]],
        kinds: Mapping[str, Primitive],
        errors: list[FinintelError],
    ) -> None:
        self.src = src
        self.file = src.file
        self.lines = src.text.splitlines()
        self.lists = lists
        self.kinds = kinds
        self.errors = errors
        self.r = Reader(src.data, src.file, errors, codes=RULE_CODES)
        self.locations: dict[str, tuple[int, int]] = {}
        self.rule_id: str | None = None
        self.id_pos: tuple[int, int] = _pos(self.r)

    # helpers ----------------------------------------------------------------------------
    def error(self, code: str, message: str, pos: tuple[int, int]) -> None:
        self.errors.append(ConfigError(code, message, Location(self.file, line=pos[0], col=pos[1])))

    def note(self, r: Reader, key: str) -> None:
        if r.has(key):
            self.locations[r._label(key)] = _pos(r, key)

    def texts(self, r: Reader, key: str) -> list[tuple[str, tuple[int, int]]] | None:
        """A list of text values (or one text value) with each item's position."""
        value = r.raw(key, _MISSING)
        if value is _MISSING:
            return None
        pos = _pos(r, key)
        label = r._label(key)
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            return [(str(value), pos)]
        if not isinstance(value, list):
            self.error("FI102", f"{label!r} expects a list of text values, got {_what(value)}", pos)
            return None
        out = []
        for i, item in enumerate(value):
            ipos = _item_pos(value, i, pos)
            if isinstance(item, bool) or not isinstance(item, str | int | float):
                self.error(
                    "FI102",
                    f"{label!r} expects a list of text values, got {_what(item)} as an item",
                    ipos,
                )
                continue
            out.append((str(item), ipos))
        return out

    def expression(
        self,
        r: Reader,
        key: str,
        names: Mapping[str, Any] | None,
    ) -> tuple[Node | None, str | None, tuple[int, int] | None]:
        """Parse (and with ``names``, name-check) an expression value; errors at exact columns."""
        value = r.raw(key, _MISSING)
        label = r._label(key)
        if value is _MISSING:
            return None, None, None
        pos = _pos(r, key)
        if not isinstance(value, str):
            self.error("FI102", f"{label!r} expects an expression (text), got {_what(value)}", pos)
            return None, None, None
        text = str(value)
        if not text.strip():
            self.error("FI112", f"{label!r} is empty", pos)
            return None, None, None
        chars = scalar_positions(self.lines, pos[0] - 1, pos[1] - 1, text)
        origin = chars[0] if chars else pos
        self.locations[label] = origin
        try:
            node = parse(text, file=self.file, line=origin[0], col=origin[1])
        except ExprError as exc:
            self.expr_error(exc, text, origin, chars)
            return None, text, origin
        if names is not None:
            problems = check_expr(
                node, names, self.lists, file=self.file, line=origin[0], col=origin[1]
            )
            for problem in problems:
                self.expr_error(problem, text, origin, chars)
            if problems:
                return None, text, origin
        return node, text, origin

    def expr_error(
        self,
        exc: ExprError,
        text: str,
        origin: tuple[int, int],
        chars: list[tuple[int, int]] | None,
    ) -> None:
        loc = exc.location
        line, col = origin
        if loc is not None and loc.line is not None and loc.col is not None:
            line, col = loc.line, loc.col
            at_line, at_col = loc.line - origin[0], loc.col - origin[1]
            starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]
            if chars is not None and 0 <= at_line < len(starts):
                offset = starts[at_line] + at_col
                if 0 <= offset < len(chars):
                    line, col = chars[offset]
        snippet = (
            caret(self.lines[line - 1], Pos(0, col - 1)) if 0 < line <= len(self.lines) else None
        )
        code = EXPR_CODES.get(exc.code, exc.code)
        self.errors.append(
            ExprError(code, exc.message, Location(self.file, line=line, col=col), snippet)
        )

    # the rule ---------------------------------------------------------------------------
    def read(self) -> Rule | None:
        r = self.r
        start = len(self.errors)
        rid = r.string("id", required=True)
        if r.has("id"):
            self.id_pos = _pos(r, "id")
            self.locations["id"] = self.id_pos
        if rid is not None and not ID_PATTERN.match(rid):
            r.error(
                "FI108",
                f"bad id {rid!r}: use lower-case letters, digits and '-', starting with a "
                "letter or digit",
                "id",
            )
        self.rule_id = rid
        version = r.integer("version", 1)
        if version is not None and version < 1:
            r.error("FI112", f"'version' must be at least 1, got {version}", "version")
        title = _text(r, "title")
        family = _text(r, "family", required=True)
        severity = r.string("severity", "medium", choices=SEVERITIES)
        description = _text(r, "description", required=True)
        rationale = _text(r, "rationale")
        references = tuple(t for t, _ in self.texts(r, "references") or [])
        tags = tuple(t for t, _ in self.texts(r, "tags") or [])
        for key in ("references", "tags"):
            self.note(r, key)

        channels: tuple[str, ...] = ()
        where: Node | None = None
        where_text: str | None = None
        where_pos: tuple[int, int] | None = None
        scope = r.mapping("scope")
        if scope is not None:
            self.note(r, "scope")
            found = []
            for ch, pos in self.texts(scope, "channels") or []:
                if ch not in CHANNELS:
                    hint = did_you_mean(ch, CHANNELS)
                    self.error(
                        "FI112",
                        f"'scope.channels' must be among {', '.join(CHANNELS)}; got {ch!r}{hint}",
                        pos,
                    )
                else:
                    found.append(ch)
            channels = tuple(found)
            self.note(scope, "channels")
            where, where_text, where_pos = self.expression(scope, "where", RULE_COLUMNS)
            scope.finish(SCOPE_KEYS)

        group_by_given = r.has("group_by")
        if group_by_given and r.data["group_by"] not in GROUP_BY:
            group_by_given = False  # reported as FI112 below; do not judge it against the kind
        group_by = r.string("group_by", "account", choices=GROUP_BY) or "account"
        self.note(r, "group_by")

        kind: str | None = None
        params: dict[str, Any] = {}
        metrics: Mapping[str, Any] | None = None
        prim: Primitive | None = None
        pattern = r.mapping("pattern", required=True)
        if pattern is not None:
            self.locations["pattern"] = _pos(r, "pattern")
            kind, prim, params, metrics = self.pattern(pattern, group_by, group_by_given)

        having, having_text, having_pos = self.expression(r, "having", metrics)

        tunable: list[str] = []
        self.note(r, "tunable")
        for name, pos in self.texts(r, "tunable") or []:
            if prim is not None and name not in prim.params:
                hint = did_you_mean(name, prim.params)
                self.error(
                    "FI110",
                    f"tunable {name!r} is not a parameter of {kind}{hint}; parameters: "
                    f"{', '.join(prim.params) or 'none'}",
                    pos,
                )
            elif name in tunable:
                self.error("FI112", f"tunable {name!r} is listed twice", pos)
            else:
                tunable.append(name)
        r.finish(RULE_KEYS)

        if len(self.errors) > start or prim is None:
            return None
        assert rid is not None and family is not None and description is not None
        assert kind is not None and severity is not None and version is not None
        return Rule(
            id=rid,
            version=version,
            title=title or rid,
            family=family,
            severity=severity,
            description=description,
            rationale=rationale,
            references=references,
            tags=tags,
            channels=channels,
            where=where,
            where_text=where_text,
            group_by=group_by,
            kind=kind,
            params=FrozenMap(params),
            having=having,
            having_text=having_text,
            tunable=tuple(tunable),
            file=self.file,
            line=self.id_pos[0],
            fingerprint=_fingerprint(self.src.text, params),
            where_pos=where_pos,
            having_pos=having_pos,
            locations=FrozenMap(self.locations),
        )

    def pattern(
        self, p: Reader, group_by: str, group_by_given: bool
    ) -> tuple[str | None, Primitive | None, dict[str, Any], Mapping[str, Any] | None]:
        kind = p.string("kind", required=True)
        self.note(p, "kind")
        if kind is None:
            for key in p.data:  # the kind is unknown, so its keys cannot be judged
                p.seen.add(str(key))
            return None, None, {}, None
        prim = self.kinds.get(kind)
        if prim is None:
            known = ", ".join(sorted(self.kinds)) or "none registered"
            p.error(
                "FI104",
                f"unknown pattern kind {kind!r}{did_you_mean(kind, sorted(self.kinds))}; "
                f"known kinds: {known}",
                "kind",
            )
            return kind, None, {}, None
        start = len(self.errors)
        params = {name: self.param(p, kind, name, spec) for name, spec in prim.params.items()}
        p.finish(["kind", *prim.params])
        if group_by not in prim.group_by and (group_by_given or not self.r.has("group_by")):
            supported = " or ".join(prim.group_by) or "nothing"
            if group_by_given:
                self.r.error(
                    "FI109",
                    f"kind {kind!r} groups by {supported}, not by {group_by!r}",
                    "group_by",
                )
            else:
                p.error(
                    "FI109",
                    f"kind {kind!r} groups by {supported}, not by {group_by!r} (the default); "
                    f"set group_by",
                    "kind",
                )
        if len(self.errors) > start:
            return kind, prim, params, None
        return kind, prim, params, self.primitive_checks(p, kind, prim, params)

    def primitive_checks(
        self, p: Reader, kind: str, prim: Primitive, params: Mapping[str, Any]
    ) -> Mapping[str, Any] | None:
        """Let the primitive judge the parameters together; its metrics name ``having``."""
        frozen = FrozenMap(params)
        problems: list[FinintelError] = []
        metrics: dict[str, Any] | None = None
        try:
            metrics = dict(prim.metrics(frozen))
            prim.condition(frozen)
            prim.thresholds(frozen)
            prim.lookback(frozen)
            validate = getattr(prim, "validate", None)
            if callable(validate):
                problems += list(validate(frozen))
        except FinintelError as exc:
            problems.append(exc)
        for problem in problems:
            if problem.location is not None and problem.location.file not in (None, self.file):
                self.errors.append(problem)  # positioned in a file the rule names (targets)
                continue
            found = _PARAM_IN_MESSAGE.search(problem.message)
            name = found.group(1) if found else None
            key = name if name is not None and p.has(name) else "kind"
            p.error("FI113", problem.message, key)
        return None if problems else metrics

    def param(self, p: Reader, kind: str, name: str, spec: ParamSpec) -> Any:
        label = p._label(name)
        if not p.has(name) or p.data[name] is None:
            p.seen.add(name)
            if spec.required:
                doc = f" ({spec.doc})" if spec.doc else ""
                p.error("FI103", f"missing required key {label!r} of kind {kind}{doc}")
            return _default(spec)
        self.note(p, name)
        value = p.data[name]
        pos = _pos(p, name)
        t = spec.type
        if t == "expression":
            node, _, _ = self.expression(p, name, RULE_COLUMNS)
            return node
        p.seen.add(name)
        if t == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                self.error("FI102", f"{label!r} expects an integer, got {_what(value)}", pos)
                return None
            return self.at_least(label, int(value), spec, pos)
        if t == "number":
            if isinstance(value, bool) or not isinstance(value, int | float):
                self.error("FI102", f"{label!r} expects a number, got {_what(value)}", pos)
                return None
            return self.at_least(label, float(value), spec, pos)
        if t == "duration":
            return self.duration(label, value, spec, pos)
        if t == "bool":
            if not isinstance(value, bool):
                self.error("FI102", f"{label!r} expects true or false, got {_what(value)}", pos)
                return None
            return value
        if t == "string":
            if isinstance(value, bool) or not isinstance(value, str | int | float):
                self.error("FI102", f"{label!r} expects text, got {_what(value)}", pos)
                return None
            text = str(value)
            if spec.choices and text not in spec.choices:
                self.error(
                    "FI112",
                    f"{label!r} must be one of {', '.join(spec.choices)}; got {text!r}"
                    f"{did_you_mean(text, spec.choices)}",
                    pos,
                )
                return None
            return text
        if t == "file":
            if isinstance(value, bool) or not isinstance(value, str) or not value.strip():
                self.error(
                    "FI102", f"{label!r} expects a file path (text), got {_what(value)}", pos
                )
                return None
            return self.file_ref(label, value.strip(), pos)
        if t == "strings":
            out = []
            for item, ipos in self.texts(p, name) or []:
                if item.startswith("$"):
                    if item[1:] not in self.lists:
                        hint = did_you_mean(item[1:], sorted(self.lists))
                        hint = hint.replace("'", "'$", 1) if hint else ""
                        self.error(
                            "FI107",
                            f"unknown list {item!r} in {label!r}{hint}; known lists: "
                            f"{', '.join('$' + k for k in sorted(self.lists)) or 'none'}",
                            ipos,
                        )
                        continue
                elif spec.choices and item not in spec.choices:
                    self.error(
                        "FI112",
                        f"{label!r} items must be among {', '.join(spec.choices)}; got {item!r}"
                        f"{did_you_mean(item, spec.choices)}",
                        ipos,
                    )
                    continue
                out.append(item)
            return tuple(out)
        # a type of the primitive's own (e.g. a mapping of measures): the primitive checks it
        return _plain(value)

    def file_ref(self, label: str, text: str, pos: tuple[int, int]) -> FileRef | None:
        """Find ``text`` next to the rule file, else in a ``lists/`` folder above it."""
        rule_dir = Path(self.file).parent
        places = [rule_dir, *[d / "lists" for d in (rule_dir, *rule_dir.parents)]]
        for place in places:
            candidate = place / text
            if candidate.is_file():
                digest = hashlib.sha256(candidate.read_bytes()).hexdigest()
                return FileRef(text, str(candidate.resolve()), digest)
        lists = [str(d) for d in places[1:] if d.is_dir()]
        where = f" or in {', '.join(lists)}" if lists else ""
        self.error(
            "FI115", f"{label!r}: no file {text!r} next to the rule ({rule_dir}){where}", pos
        )
        return None

    def at_least(self, label: str, value: float, spec: ParamSpec, pos: tuple[int, int]) -> Any:
        if spec.minimum is not None and value < spec.minimum:
            self.error(
                "FI112",
                f"{label!r} must be at least {_number_text(spec.minimum)}, got {_number_text(value)}",
                pos,
            )
            return None
        return value

    def duration(self, label: str, value: Any, spec: ParamSpec, pos: tuple[int, int]) -> Any:
        if isinstance(value, str):
            try:
                delta = parse_duration(value)
            except ValueError:
                self.error(
                    "FI105",
                    f"{label!r} is not a duration: {value!r}; write it like '7d', '36h' or '90m'",
                    pos,
                )
                return None
        elif isinstance(value, int | float) and not isinstance(value, bool):
            n = _number_text(value)
            self.error(
                "FI105", f"{label!r} needs a unit: write '{n}d', '{n}h' or '{n}m', got {n}", pos
            )
            return None
        else:
            self.error(
                "FI102",
                f"{label!r} expects a duration like '7d', '36h' or '90m', got {_what(value)}",
                pos,
            )
            return None
        if spec.minimum is not None and delta.total_seconds() < spec.minimum:
            least = format_duration(timedelta(seconds=spec.minimum))
            self.error("FI112", f"{label!r} must be at least {least}, got {value}", pos)
            return None
        return delta


def format_errors(error: FinintelError) -> str:
    """Every error of ``error`` (one, or an :class:`ErrorList`), one per line with snippets."""
    errors = error.errors if isinstance(error, ErrorList) else [error]
    lines = []
    for e in errors:
        lines.append(str(e))
        snippet = getattr(e, "snippet", None)
        if snippet:
            lines += ["    " + s for s in snippet.split("\n")]
    return "\n".join(lines)
