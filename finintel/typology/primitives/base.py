"""The contract every typology primitive keeps (DESIGN §4, §8).

A primitive is a pure function of a LazyFrame of canonical transfers (already narrowed to the
rule's scope) and its parameters. It returns two lazy tables:

``windows``
    One row per candidate window (typically one per transaction: the rolling window ending at
    it), with columns ``focus`` (String: the account / party / agent the window belongs to),
    ``start`` and ``end`` (Datetime(us, UTC): first and last transaction time inside the
    window) and one column per metric in :attr:`Primitive.metrics`. Windows may overlap; the
    engine keeps those where ``condition(params)`` (and the rule's ``having``) holds, merges
    overlapping kept windows of one focus into one period, and builds one alert per period.
    A kind may leave out every window of a focus none of whose windows can meet its
    condition (see :func:`.windows.prune_foci`).

``evidence``
    The transfers that can serve as evidence: columns ``focus``, ``ts``, ``tx_id``, ``source``,
    ``account`` (the other account involved: counterparty, or the focus's own account when the
    focus is a party or agent), ``role`` (String: that account's role, e.g. ``sender``,
    ``receiver``, ``collector``, ``mule``), ``amount_base``, in any order. The engine attaches
    to each period the evidence rows of its focus with ``start <= ts <= end`` and orders what
    it keeps, so a kind need not sort all its transfers for them.

Keeping both as functions of the transfers touching a focus within the lookback is what lets an
engine shard by focus (DESIGN §8). No Python loop over rows: polars plans only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, ClassVar, Protocol

import polars as pl

from finintel.graph.tgraph import GraphCache
from finintel.schema import UTC_TS

#: Types a parameter may have in YAML. ``measures``: mapping name → measure text (aggregate);
#: ``thresholds``: mapping text (e.g. a country) → number (structuring); ``weights``: mapping
#: identifier → number (shared_identifier); ``file``: a path relative to the rule file or to a
#: ``lists/`` folder above it, read as a :class:`FileRef` (watchlist targets).
PARAM_TYPES = (
    "int", "number", "duration", "string", "strings", "bool", "expression",
    "measures", "thresholds", "weights", "file",
)  # fmt: skip

#: What a primitive can group by. ``entity`` (a person resolved by :func:`finintel.resolve`) is
#: ``party`` with each side's party replaced by its entity: the engine does that before planning,
#: so a kind supporting ``party`` sees ``group_by="party"`` and supports ``entity`` as well.
GROUP_BY = ("account", "party", "entity")


@dataclass(frozen=True)
class ParamSpec:
    """One parameter of a primitive: its YAML type, default, whether required, and meaning."""

    type: str
    default: Any = None
    required: bool = False
    doc: str = ""
    minimum: float | None = None  # for int/number/duration (duration in seconds)
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class FileRef:
    """A ``file`` parameter: the path as written, where it was found, and its content digest
    (part of the rule's fingerprint, so editing the file is a change of the rule)."""

    text: str
    path: str
    sha256: str

    def __str__(self) -> str:
        return self.text


#: The evidence frame of every kind: the transfers behind a focus's windows, with its role.
EVIDENCE_SCHEMA: dict[str, pl.DataType] = {
    "focus": pl.String(),
    "ts": UTC_TS,
    "tx_id": pl.String(),
    "source": pl.String(),
    "account": pl.String(),
    "role": pl.String(),
    "amount_base": pl.Float64(),
}


@dataclass(frozen=True)
class Plan:
    """What a primitive returns (see the module docstring)."""

    windows: pl.LazyFrame
    evidence: pl.LazyFrame


@dataclass(frozen=True)
class Threshold:
    """A metric compared with a parameter, for scores and explanations: ``metric op value``."""

    metric: str
    op: str  # ">=", ">", "<=", "<"
    value: float
    label: str = ""  # how to say the metric in an explanation ("distinct senders")


@dataclass(frozen=True)
class RunContext:
    """Settings a primitive may need beyond its parameters."""

    group_by: str = "account"
    base_currency: str = "EUR"
    lists: Mapping[str, tuple[object, ...]] = field(default_factory=dict)
    parties: pl.LazyFrame | None = None  # canonical parties (for identifier-based kinds)
    graphs: GraphCache | None = None  # transaction graphs shared by the graph kinds of a run
    #: party_id → entity_id of the run's resolved parties, for kinds that resolve themselves
    entities: pl.DataFrame | None = None
    #: the transfers are all the run's data (not a time chunk of it): a kind may then drop
    #: evidence of foci that cannot alert (a chunk must keep it: an instance crossing into the
    #: next chunk brings its evidence to that chunk's alert)
    complete: bool = False


class Primitive(Protocol):
    """A pattern ``kind``: parameters, metrics, the plan, thresholds and explanation."""

    kind: ClassVar[str]
    doc: ClassVar[str]
    params: ClassVar[Mapping[str, ParamSpec]]
    group_by: ClassVar[tuple[str, ...]]  # which of GROUP_BY it supports
    focus_role: ClassVar[str]  # the focus's role in an alert ("collector", "structurer", ...)
    # Optional members, looked up with getattr: ``focus_kind: ClassVar[str]`` when the focus is
    # not what ``group_by`` names (an agent, an identifier),
    # ``validate(params) -> list[FinintelError]`` for checks across parameters (FI113), and
    # ``resolves_entities(params) -> bool`` for kinds working on party records that use the
    # resolved entities themselves (they get the raw transfers and ``RunContext.entities``).

    def metrics(self, params: Mapping[str, Any]) -> Mapping[str, pl.DataType]:
        """Metric columns of ``windows`` (names usable in ``having`` and explanations)."""
        ...

    def lookback(self, params: Mapping[str, Any]) -> timedelta:
        """How far back a window reaches (for incremental runs and time sharding)."""
        ...

    def plan(self, transfers: pl.LazyFrame, params: Mapping[str, Any], ctx: RunContext) -> Plan:
        """The windows and evidence plans (lazy; nothing is collected here)."""
        ...

    def condition(self, params: Mapping[str, Any]) -> pl.Expr:
        """The built-in trigger condition on metric columns (e.g. ``distinct_senders >= 5``)."""
        ...

    def thresholds(self, params: Mapping[str, Any]) -> list[Threshold]:
        """The thresholded metrics, for the score (how far past) and the explanation."""
        ...

    def explain(
        self,
        metrics: Mapping[str, Any],
        params: Mapping[str, Any],
        span: timedelta,
        amount: float,
        currency: str,
    ) -> str:
        """One line with observed values against thresholds, e.g.
        ``"7 distinct senders (≥ 5) from 3 countries (≥ 2) within 2d 4h, 12,400 EUR"``."""
        ...


def format_amount(amount: float, currency: str) -> str:
    """An amount for explanations: whole units with thousands separators; under 10 keeps cents.

    >>> format_amount(12400.5, "EUR")
    '12,400 EUR'
    >>> format_amount(9.5, "EUR")
    '9.50 EUR'
    """
    if abs(amount) < 10:
        return f"{amount:,.2f} {currency}"
    return f"{round(amount):,} {currency}"


#: kind → primitive instance; filled by :mod:`finintel.typology.primitives`.
REGISTRY: dict[str, Primitive] = {}

#: Query options of plans streamed over a long history (or all of a store's parties): no
#: common subplan is cached (the plans of several rules, or two sides of one, read the same
#: rows: a cache would hold them all in memory; each reads them again instead).
STREAMED = pl.QueryOptFlags(comm_subplan_elim=False)


def register(primitive: Primitive) -> Primitive:
    """Add a primitive to :data:`REGISTRY` (a kind may be registered once)."""
    if primitive.kind in REGISTRY:
        raise ValueError(f"primitive kind {primitive.kind!r} registered twice")
    REGISTRY[primitive.kind] = primitive
    return primitive
