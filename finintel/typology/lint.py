"""Lint: rules that load but are probably wrong (``finintel rules check``).

Each finding is an :class:`~.model.Issue` with a severity:

====== ======= =================================================================================
FI150  error   the rule can never trigger: its bounds contradict each other. Found in the
               conjunction (``and``) of comparisons of one name with numbers in ``having``
               together with the kind's own thresholds (``Primitive.thresholds``), and in
               ``scope.where``; counts (integer metrics, names like ``count``/``distinct_*``)
               cannot be negative and amounts are positive. Also ``min_x`` greater than
               ``max_x`` among the parameters.
FI151  warning a duration parameter shorter than the data's time resolution (``data_resolution``;
               date-only data: 1d): transfers within it cannot be told apart.
FI152  warning ``min_*countries*`` greater than ``min_counterparties`` (or ``min_senders``,
               ``min_receivers``, ``min_parties``): every country needs a counterparty, so the
               smaller threshold has no effect — usually a typo.
FI153  warning a rule without ``references`` (a typology should cite its public source).
FI154  info    ``tunable`` is empty: nothing marks which values are defaults to tune.
FI159  warning no rule files were found (``check_rules`` only).
====== ======= =================================================================================

Duplicate ids are not lint: they are FI108 errors, and the rules do not load.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from finintel.errors import FinintelError
from finintel.schema import TRANSFERS
from finintel.typology.expr import Node, thresholds
from finintel.typology.model import Issue, Rule, RuleSet
from finintel.typology.primitives.base import Primitive
from finintel.yamlpos import format_duration

__all__ = ["lint"]

_COUNTERPARTS = ("min_counterparties", "min_senders", "min_receivers", "min_parties")
_POSITIVE_COLUMNS = ("amount", "amount_base")


def lint(
    ruleset: RuleSet,
    *,
    data_resolution: timedelta | None = None,
    kinds: Mapping[str, Primitive] | None = None,
) -> list[Issue]:
    """The issues of every rule in ``ruleset``, rule by rule in load order."""
    if kinds is None:
        from finintel.typology.loader import registry

        kinds = registry()
    issues: list[Issue] = []
    for rule in ruleset.rules:
        prim = kinds.get(rule.kind)
        issues += _never_triggers(rule, prim)
        issues += _resolution(rule, prim, data_resolution)
        issues += _countries(rule)
        if not rule.references:
            issues.append(
                Issue(
                    "FI153",
                    "warning",
                    f"rule {rule.id!r} has no references",
                    rule.location("id"),
                    rule.id,
                )
            )
        if not rule.tunable:
            where = rule.location("tunable") if "tunable" in rule.locations else rule.location()
            issues.append(
                Issue(
                    "FI154",
                    "info",
                    f"rule {rule.id!r} names no tunable parameters",
                    where,
                    rule.id,
                )
            )
    return issues


# bounds -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Bound:
    value: float
    inclusive: bool
    text: str  # the condition it comes from, for the message
    origin: str  # "having", "scope.where", "pattern" or "implicit"


def _tighter_low(a: _Bound | None, b: _Bound) -> _Bound:
    if a is None or b.value > a.value or (b.value == a.value and not b.inclusive):
        return b
    return a


def _tighter_high(a: _Bound | None, b: _Bound) -> _Bound:
    if a is None or b.value < a.value or (b.value == a.value and not b.inclusive):
        return b
    return a


def _integral(op: str, value: float) -> tuple[str, float]:
    """A bound on a whole-number quantity as an inclusive one (``x > 4.5`` → ``x >= 5``)."""
    if op == ">":
        return ">=", math.floor(value) + 1
    if op == ">=":
        return ">=", math.ceil(value)
    if op == "<":
        return "<=", math.ceil(value) - 1
    if op == "<=":
        return "<=", math.floor(value)
    return op, value


class _Bounds:
    """Lower and upper bounds per name, from a conjunction of comparisons."""

    def __init__(self, integral: set[str]) -> None:
        self.integral = integral
        self.low: dict[str, _Bound] = {}
        self.high: dict[str, _Bound] = {}

    def add(self, name: str, op: str, value: float, text: str, origin: str) -> None:
        if name in self.integral:
            if op == "=" and not float(value).is_integer():
                self.low[name] = _Bound(math.inf, True, text, origin)
                self.high[name] = _Bound(-math.inf, True, text, origin)
                return
            op, value = _integral(op, value)
        if op in (">", ">=", "="):
            self.low[name] = _tighter_low(
                self.low.get(name), _Bound(value, op != ">", text, origin)
            )
        if op in ("<", "<=", "="):
            self.high[name] = _tighter_high(
                self.high.get(name), _Bound(value, op != "<", text, origin)
            )

    def contradictions(self) -> Iterator[tuple[str, _Bound, _Bound]]:
        for name, low in self.low.items():
            high = self.high.get(name)
            if high is None:
                continue
            if low.value > high.value or (
                low.value == high.value and not (low.inclusive and high.inclusive)
            ):
                yield name, low, high


def _comparisons(node: Node) -> Iterator[tuple[str, str, float, str]]:
    """``(name, op, value, text)`` for each conjunct comparing a name with a number."""
    for name, op, value in thresholds(node):
        yield name, op, float(value), f"{name} {op} {_num(value)}"


def _is_count(name: str, dtype: Any) -> bool:
    try:
        if dtype is not None and dtype.is_integer():
            return True
    except AttributeError:
        pass
    return (
        name in ("count", "n")
        or name.startswith(("count_", "n_", "num_", "distinct_"))
        or name.endswith("_count")
    )


def _never_triggers(rule: Rule, prim: Primitive | None) -> list[Issue]:
    issues: list[Issue] = []
    if rule.where is not None:
        bounds = _Bounds({c for c, t in TRANSFERS.items() if t.is_integer()})
        for column in _POSITIVE_COLUMNS:
            bounds.add(column, ">", 0.0, f"{column} > 0 (amounts are positive)", "implicit")
        for name, op, value, text in _comparisons(rule.where):
            bounds.add(name, op, value, text, "scope.where")
        issues += _contradiction_issues(rule, bounds)
    metrics: Mapping[str, Any] = {}
    builtin = []
    if prim is not None:
        try:
            metrics = prim.metrics(rule.params)
            builtin = prim.thresholds(rule.params)
        except FinintelError:  # the loader has reported it
            return issues
    integral = {m for m, t in metrics.items() if _is_count(m, t)}
    bounds = _Bounds(integral)
    for m in integral:
        bounds.add(m, ">=", 0.0, f"{m} >= 0 (a count)", "implicit")
    for t in builtin:
        text = f"{t.metric} {t.op} {_num(t.value)} (the kind's threshold)"
        bounds.add(t.metric, t.op, float(t.value), text, "pattern")
    if rule.having is not None:
        for name, op, value, text in _comparisons(rule.having):
            bounds.add(name, op, value, text, "having")
    found = _contradiction_issues(rule, bounds)
    issues += found
    if not found:
        issues += _min_max(rule)
    return issues


def _contradiction_issues(rule: Rule, bounds: _Bounds) -> list[Issue]:
    out = []
    for _, low, high in bounds.contradictions():
        origins = {low.origin, high.origin}
        key = next((k for k in ("having", "scope.where") if k in origins), "pattern")
        out.append(
            Issue(
                "FI150",
                "error",
                f"rule {rule.id!r} can never trigger: {low.text} contradicts {high.text}",
                rule.location(key),
                rule.id,
            )
        )
    return out


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _measure(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, timedelta):
        return value.total_seconds()
    return None


def _show(value: Any) -> str:
    return format_duration(value) if isinstance(value, timedelta) else _num(float(value))


def _min_max(rule: Rule) -> list[Issue]:
    out = []
    for name, low in rule.params.items():
        if not name.startswith("min_"):
            continue
        other = "max_" + name[4:]
        high = rule.params.get(other)
        lo, hi = _measure(low), _measure(high)
        if lo is not None and hi is not None and lo > hi:
            out.append(
                Issue(
                    "FI150",
                    "error",
                    f"rule {rule.id!r} can never trigger: {name} ({_show(low)}) is greater than "
                    f"{other} ({_show(high)})",
                    rule.location(f"pattern.{name}")
                    if f"pattern.{name}" in rule.locations
                    else rule.location("pattern"),
                    rule.id,
                )
            )
    return out


# other checks -------------------------------------------------------------------------------


def _resolution(rule: Rule, prim: Primitive | None, resolution: timedelta | None) -> list[Issue]:
    if resolution is None or prim is None:
        return []
    out = []
    for name, spec in prim.params.items():
        value = rule.params.get(name)
        if spec.type != "duration" or not isinstance(value, timedelta):
            continue
        if timedelta(0) < value < resolution:
            key = f"pattern.{name}"
            given = key in rule.locations
            out.append(
                Issue(
                    "FI151",
                    "warning",
                    f"{key!r} ({format_duration(value)}{'' if given else ', the default'}) is "
                    f"shorter than the data's time resolution ({format_duration(resolution)}): "
                    "transfers within it cannot be told apart",
                    rule.location(key if given else "pattern"),
                    rule.id,
                )
            )
    return out


def _countries(rule: Rule) -> list[Issue]:
    counterpart = next((c for c in _COUNTERPARTS if _measure(rule.params.get(c)) is not None), None)
    if counterpart is None:
        return []
    limit = _measure(rule.params[counterpart])
    out = []
    for name, value in rule.params.items():
        v = _measure(value)
        if not name.startswith("min_") or "countr" not in name or v is None or limit is None:
            continue
        if v > limit:
            key = f"pattern.{name}"
            out.append(
                Issue(
                    "FI152",
                    "warning",
                    f"{name} ({_num(v)}) is greater than {counterpart} ({_num(limit)}): every "
                    f"country needs a counterparty, so {counterpart} has no effect",
                    rule.location(key if key in rule.locations else "pattern"),
                    rule.id,
                )
            )
    return out
