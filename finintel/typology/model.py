"""The typed rule model: what a typology rule file, a list file and a check report hold.

A rule file (``rules/typologies/**/*.yaml``) becomes one frozen :class:`Rule`; list files
(``rules/lists/*.yaml``) become :class:`NamedList` values; a :class:`RuleSet` holds both. The
key tables here (:data:`RULE_KEYS`, :data:`SCOPE_KEYS`, :data:`LIST_KEYS`) are the one place
that says which keys exist: the loader, the JSON Schema and the docs read them.

Codes (stable; ``docs/typologies.md`` lists them with examples):

====== ===========================================================================
FI100  the file cannot be read, is not valid YAML, or the path does not exist
FI101  unknown key (with "did you mean")
FI102  a value of the wrong type ("'pattern.window' expects a duration …, got a list")
FI103  a required key is missing
FI104  unknown pattern kind (lists the known kinds and the nearest)
FI105  a duration that cannot be read (``7 days``, ``30`` without a unit)
FI106  a bad expression in ``scope.where``, ``having`` or an expression parameter:
       syntax, unknown column or metric, type (FI020/FI021/FI023 of the expression module)
FI107  an unknown named list (``$name`` in an expression or a ``strings`` parameter; FI022)
FI108  a bad rule id or list name, or one defined twice in the loaded set
FI109  ``group_by`` not supported by the pattern kind
FI110  ``tunable`` names something that is not a parameter of the pattern
FI111  a key written twice in one mapping
FI112  a value that is not allowed: not one of the choices, below the minimum, empty
FI113  a parameter the primitive itself rejects (checks across parameters)
FI114  a bad value in a list file (not an ISO country / currency code, wrong type, twice)
FI115  a file a rule names (watchlist targets) not found, or a bad entry in it
====== ===========================================================================

Lint issues (:class:`Issue`, from ``check_rules``) use FI150–FI159, see :mod:`.lint`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

from finintel.errors import FinintelError, Location
from finintel.schema import CHANNELS
from finintel.typology.expr import Node, to_sql
from finintel.typology.primitives.base import GROUP_BY, FileRef
from finintel.yamlpos import format_duration

__all__ = [
    "CODES",
    "ID_PATTERN",
    "LIST_KEYS",
    "LIST_NAME_PATTERN",
    "LIST_TYPES",
    "RULE_KEYS",
    "SCOPE_KEYS",
    "SEVERITIES",
    "CheckReport",
    "FrozenMap",
    "Issue",
    "IssueLevel",
    "KeySpec",
    "NamedList",
    "Rule",
    "RuleSet",
    "json_value",
]

#: A rule id: lower-case letters, digits and ``-``, starting with a letter or digit.
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*$")
#: A list name, usable as ``$name`` in expressions.
LIST_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
SEVERITIES: tuple[str, ...] = ("low", "medium", "high", "critical")
LIST_TYPES: tuple[str, ...] = ("countries", "currencies", "text", "numbers")

CODES: dict[str, str] = {
    "FI100": "file cannot be read, invalid YAML, or no such path",
    "FI101": "unknown key",
    "FI102": "wrong type",
    "FI103": "missing required key",
    "FI104": "unknown pattern kind",
    "FI105": "bad duration",
    "FI106": "bad expression",
    "FI107": "unknown list",
    "FI108": "bad or duplicate rule id / list name",
    "FI109": "group_by not supported by the kind",
    "FI110": "tunable names a non-parameter",
    "FI111": "duplicate key",
    "FI112": "value not allowed",
    "FI113": "parameter rejected by the primitive",
    "FI114": "bad list value",
    "FI115": "bad or missing targets file",
}


@dataclass(frozen=True)
class KeySpec:
    """One key of a rule or list file: its type (for the JSON Schema), default and meaning."""

    type: str  # text, int, texts, choice, choices, expression, mapping, date
    required: bool = False
    default: Any = None
    doc: str = ""
    choices: tuple[str, ...] = ()
    minimum: int | None = None


#: Top-level keys of a rule file, in the order the docs present them.
RULE_KEYS: dict[str, KeySpec] = {
    "id": KeySpec("text", True, doc="unique id: lower-case letters, digits and '-'"),
    "version": KeySpec(
        "int", False, 1, "bump when the logic changes; recorded in reports", minimum=1
    ),
    "title": KeySpec("text", False, None, "one line for lists and reports (default: the id)"),
    "family": KeySpec("text", True, doc="typology family, e.g. fan_in; evaluation groups by it"),
    "severity": KeySpec("choice", False, "medium", "base of the alert score", SEVERITIES),
    "description": KeySpec("text", True, doc="what the pattern is and why it matters"),
    "rationale": KeySpec("text", False, None, "why these thresholds; known false positives"),
    "references": KeySpec("texts", False, (), "public sources (advisories, reports)"),
    "tags": KeySpec("texts", False, (), "free labels for selecting rules"),
    "scope": KeySpec("mapping", False, None, "which transfers the pattern sees"),
    "group_by": KeySpec("choice", False, "account", "the focus of an alert", GROUP_BY),
    "pattern": KeySpec("mapping", True, doc="kind: a primitive, and its parameters"),
    "having": KeySpec("expression", False, None, "extra condition over the kind's metrics"),
    "tunable": KeySpec("texts", False, (), "parameters whose values are defaults to tune"),
}

SCOPE_KEYS: dict[str, KeySpec] = {
    "channels": KeySpec("choices", False, (), "only these channels (default: all)", CHANNELS),
    "where": KeySpec("expression", False, None, "condition over the transfer columns"),
}

#: Keys of a list file (``rules/lists/*.yaml``).
LIST_KEYS: dict[str, KeySpec] = {
    "list": KeySpec("text", True, doc="the list's name, used as $name in expressions"),
    "description": KeySpec("text", True, doc="what is in the list, its source and date"),
    "type": KeySpec(
        "choice",
        False,
        None,
        "how values are checked (default: countries or currencies when the description says "
        "so, else text)",
        LIST_TYPES,
    ),
    "values": KeySpec("values", True, doc="the values"),
    "source": KeySpec("text", False, None, "where the values come from (a URL or a document)"),
    "as_of": KeySpec("date", False, None, "the date the values were last checked"),
}


def json_value(value: Any) -> Any:
    """A parameter value as JSON: durations as ``"7d"`` text, expressions as canonical text."""
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, Node):
        return to_sql(value)
    if isinstance(value, tuple | list):
        return [json_value(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, FileRef):
        return value.text
    return value


class FrozenMap(dict[str, Any]):
    """A read-only dict: rules stay immutable, yet pickle (for workers) and compare as dicts.

    >>> m = FrozenMap({"window": 7})
    >>> m["window"] = 8
    Traceback (most recent call last):
    TypeError: FrozenMap is read-only
    """

    def _read_only(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("FrozenMap is read-only")

    __setitem__ = __delitem__ = _read_only
    clear = pop = popitem = setdefault = update = _read_only
    __ior__ = _read_only

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenMap, (dict(self),))

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(sorted(self.items(), key=lambda kv: kv[0])))


def _frozen(mapping: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    return FrozenMap(mapping or {})


@dataclass(frozen=True)
class Rule:
    """One validated typology. ``params`` are resolved: defaults filled in, durations as
    :class:`~datetime.timedelta`, expression parameters as parsed :class:`~.expr.Node`,
    ``strings`` as tuples (``$list`` items as written); parameters of other types (a kind's
    own, e.g. ``measures``) as read, as plain dicts and lists.

    ``where_pos``/``having_pos`` are the file ``(line, col)`` of the expression's first
    character (what :func:`~.expr.compile_expr` takes); ``locations`` maps dotted keys
    (``"pattern.window"``, ``"having"``) to the ``(line, col)`` of their values.
    """

    id: str
    version: int
    title: str
    family: str
    severity: str
    description: str
    rationale: str | None
    references: tuple[str, ...]
    tags: tuple[str, ...]
    channels: tuple[str, ...]
    where: Node | None
    where_text: str | None
    group_by: str
    kind: str
    params: Mapping[str, Any] = field(hash=False)
    having: Node | None
    having_text: str | None
    tunable: tuple[str, ...]
    file: str
    line: int
    fingerprint: str  # sha256 of the file's text
    where_pos: tuple[int, int] | None = None
    having_pos: tuple[int, int] | None = None
    locations: Mapping[str, tuple[int, int]] = field(
        default_factory=_frozen, hash=False, compare=False, repr=False
    )

    def location(self, key: str | None = None) -> Location:
        """Where ``key`` (dotted, e.g. ``"pattern.window"``) is, else where the rule starts."""
        line, col = self.locations.get(key, (self.line, 1)) if key else (self.line, 1)
        return Location(self.file, line=line, col=col)

    def params_json(self) -> dict[str, Any]:
        """The resolved parameters as JSON values (for reports: ``"7d"``, expression text)."""
        return {k: json_value(v) for k, v in self.params.items()}

    def to_dict(self) -> dict[str, Any]:
        """Everything a report records about the rule, as JSON values."""
        return {
            "id": self.id,
            "version": self.version,
            "title": self.title,
            "family": self.family,
            "severity": self.severity,
            "kind": self.kind,
            "group_by": self.group_by,
            "channels": list(self.channels),
            "where": self.where_text,
            "params": self.params_json(),
            "having": self.having_text,
            "tunable": list(self.tunable),
            "references": list(self.references),
            "tags": list(self.tags),
            "file": self.file,
            "line": self.line,
            "fingerprint": self.fingerprint,
        }


@dataclass(frozen=True)
class NamedList:
    """A reference list (``rules/lists/*.yaml``), e.g. ``transit_countries``."""

    name: str
    description: str
    type: str
    values: tuple[object, ...]
    file: str
    line: int
    source: str | None = None
    as_of: str | None = None  # ISO date text

    def to_dict(self) -> dict[str, Any]:
        return {
            "list": self.name,
            "description": self.description,
            "type": self.type,
            "values": list(self.values),
            "file": self.file,
            "source": self.source,
            "as_of": self.as_of,
        }


@dataclass(frozen=True)
class RuleSet:
    """Validated rules and the named lists their expressions may use."""

    rules: tuple[Rule, ...]
    lists: Mapping[str, tuple[object, ...]] = field(default_factory=_frozen, hash=False)
    files: tuple[str, ...] = ()
    list_info: Mapping[str, NamedList] = field(
        default_factory=_frozen, hash=False, compare=False, repr=False
    )

    def __len__(self) -> int:
        return len(self.rules)

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    def get(self, rule_id: str) -> Rule | None:
        """The rule with this id, or None."""
        return next((r for r in self.rules if r.id == rule_id), None)

    def families(self) -> dict[str, tuple[Rule, ...]]:
        """Rules grouped by family (in load order)."""
        out: dict[str, list[Rule]] = {}
        for r in self.rules:
            out.setdefault(r.family, []).append(r)
        return {k: tuple(v) for k, v in out.items()}


IssueLevel = Literal["error", "warning", "info"]
_LEVELS: dict[str, int] = {"info": 0, "warning": 1, "error": 2}


@dataclass(frozen=True)
class Issue:
    """A lint finding: the rule loads, but something about it is probably wrong.

    >>> print(Issue("FI153", "warning", "rule 'x' has no references", Location("x.yaml", line=1, col=1), "x"))
    x.yaml:1:1: warning FI153 rule 'x' has no references
    """

    code: str
    severity: IssueLevel
    message: str
    location: Location | None = None
    rule: str | None = None

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        return f"{where}{self.severity} {self.code} {self.message}"

    def to_dict(self) -> dict[str, Any]:
        loc = self.location
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "rule": self.rule,
            "file": loc.file if loc else None,
            "line": loc.line if loc else None,
            "col": loc.col if loc else None,
        }


@dataclass(frozen=True)
class CheckReport:
    """What ``check_rules`` found: hard errors (the rules do not load) and lint issues.

    ``rules`` is the number of rule files checked; ``ruleset`` holds those that are valid.
    """

    errors: tuple[FinintelError, ...]
    issues: tuple[Issue, ...]
    ruleset: RuleSet
    rules: int
    files: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """No errors and no error-level issues."""
        return not self.failed()

    def failed(self, fail_on: IssueLevel = "error") -> bool:
        """True when there are errors, or issues at ``fail_on`` severity or above.

        ``rules check`` fails by default on errors and error-level issues;
        ``--fail-on-issues`` means ``fail_on="warning"`` (info never fails a check).
        """
        floor = _LEVELS[fail_on]
        return bool(self.errors) or any(_LEVELS[i.severity] >= floor for i in self.issues)

    def counts(self) -> dict[str, int]:
        out = {"errors": len(self.errors), "error": 0, "warning": 0, "info": 0}
        for i in self.issues:
            out[i.severity] += 1
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "rules": self.rules,
            "valid_rules": len(self.ruleset.rules),
            "rule_ids": [r.id for r in self.ruleset.rules],
            "lists": sorted(self.ruleset.lists),
            "files": list(self.files),
            "counts": self.counts(),
            "errors": [e.to_dict() for e in self.errors],
            "issues": [i.to_dict() for i in self.issues],
        }
