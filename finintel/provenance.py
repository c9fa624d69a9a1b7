"""Source manifests: who supplied each source, its handling code and its evaluation grade.

A manifest (``--sources FILE``) is YAML::

    sources:
      - source: "mto:*"              # a source name, or a glob pattern (first match wins)
        agency: BKA
        country: DE
        handling: H2
        handling_note: not to be passed on without the permission of BKA
        grade: {scheme: europol, source: B, information: 2}
    default: {agency: unknown, handling: H3}   # optional: sources not listed

Handling codes (Europol SIENA) are ordered by strictness, least strict first:
``H0`` (law-enforcement use only) < ``H1`` (not for judicial proceedings without permission)
< ``H2`` (not to be passed on without permission) < ``H3`` (other restrictions, stated in free
text: a machine cannot know they are weaker, so H3 counts as the strictest). A derived item
carries the strictest code of its sources. Grades are kept with their scheme and never compared
across schemes.

>>> m = SourceManifest.from_text("sources:\\n  - {source: 'mto:*', agency: X, handling: H1}\\n")
>>> m.lookup("mto:mto").handling, strictest(["H0", "H2", None])
('H1', 'H2')
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from finintel.errors import DataError, Location, did_you_mean
from finintel.yamlpos import Reader, load_file, load_text

__all__ = [
    "HANDLING_CODES",
    "Grade",
    "SourceInfo",
    "SourceManifest",
    "load_sources",
    "strictest",
]

#: Handling codes from least to most strict.
HANDLING_CODES: tuple[str, ...] = ("H0", "H1", "H2", "H3")
HANDLING_RANK: dict[str, int] = {c: i for i, c in enumerate(HANDLING_CODES)}

#: Known grading schemes and their allowed values (source reliability, information accuracy).
#: Other scheme names are accepted with free-text grades.
SCHEMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "europol": (("A", "B", "C", "X"), ("1", "2", "3", "4")),
    "uk-3x5x2": (("1", "2", "3"), ("A", "B", "C", "D", "E")),
}

_CODES = {"FI012": "FI091", "FI013": "FI091", "FI014": "FI092", "FI016": "FI090"}
_ENTRY_KEYS = ("source", "agency", "country", "handling", "handling_note", "grade")

#: Columns of :meth:`SourceManifest.table` (one row per source seen in a report).
SOURCES: dict[str, pl.DataType] = {
    "source": pl.String(),
    "agency": pl.String(),
    "country": pl.String(),
    "handling": pl.String(),
    "handling_note": pl.String(),
    "grade_scheme": pl.String(),
    "grade_source": pl.String(),
    "grade_information": pl.String(),
}


def strictest(codes: Iterable[str | None]) -> str | None:
    """The strictest handling code among ``codes`` (None when there is none)."""
    ranks = [HANDLING_RANK[c] for c in codes if c is not None]
    return HANDLING_CODES[max(ranks)] if ranks else None


@dataclass(frozen=True)
class Grade:
    """An evaluation grade; comparable only within its ``scheme``."""

    scheme: str
    source: str
    information: str


@dataclass(frozen=True)
class SourceInfo:
    """One manifest entry: a source name or glob pattern and what is known of it."""

    pattern: str
    agency: str
    handling: str
    country: str | None = None
    handling_note: str | None = None
    grade: Grade | None = None
    location: Location | None = None


def _entry(r: Reader, pattern_required: bool) -> SourceInfo | None:
    pattern = r.string("source", required=pattern_required) or "*"
    agency = r.string("agency", required=True)
    handling = r.string("handling", required=True, choices=HANDLING_CODES)
    country = r.string("country")
    if country is not None:
        from finintel.ingest.codes import countries

        if country.upper() not in countries():
            r.error(
                "FI092", f"'country' must be an ISO 3166-1 alpha-2 code, got {country!r}", "country"
            )
        country = country.upper()
    note = r.string("handling_note")
    grade = None
    g = r.mapping("grade")
    if g is not None:
        scheme = g.string("scheme", required=True)
        src = g.string("source", required=True)
        info = g.string("information", required=True)
        g.finish(("scheme", "source", "information"))
        if scheme is not None and src is not None and info is not None:
            allowed = SCHEMES.get(scheme.lower())
            if allowed is not None:
                for key, value, ok in (
                    ("source", src, allowed[0]),
                    ("information", info, allowed[1]),
                ):
                    if value.upper() not in ok:
                        g.error(
                            "FI092",
                            f"grade {key} {value!r} is not in the {scheme} scheme ({', '.join(ok)})",
                            key,
                        )
                src, info = src.upper(), info.upper()
            grade = Grade(scheme.lower(), src, info)
    r.finish(_ENTRY_KEYS if pattern_required else _ENTRY_KEYS[1:])
    if agency is None or handling is None:
        return None
    return SourceInfo(pattern, agency, handling, country, note, grade, r.location())


@dataclass
class SourceManifest:
    """The validated manifest; :meth:`lookup` finds the entry of a source name."""

    entries: list[SourceInfo]
    default: SourceInfo | None = None
    file: str | None = None

    @classmethod
    def from_data(cls, data: Any, file: str) -> SourceManifest:
        """Validate parsed YAML; every problem is reported at once with its position."""
        top = Reader(data, file, codes=_CODES)
        entries: list[SourceInfo] = []
        raw = top.raw("sources", required=True)
        if raw is not None and not isinstance(raw, list):
            top.error("FI091", "'sources' expects a list of mappings", "sources")
        elif raw is not None:
            for i, item in enumerate(raw):
                line = col = None
                if hasattr(raw, "lc"):
                    line, col = (v + 1 for v in raw.lc.item(i))
                sub = Reader(item, file, top.errors, line, col, f"sources[{i}]", _CODES)
                e = _entry(sub, pattern_required=True)
                if e is not None:
                    entries.append(e)
        default = None
        d = top.mapping("default")
        if d is not None:
            default = _entry(d, pattern_required=False)
        top.finish(("sources", "default"))
        top.raise_errors()
        return cls(entries, default, file)

    @classmethod
    def from_text(cls, text: str, file: str = "<sources>") -> SourceManifest:
        return cls.from_data(load_text(text, file), file)

    def lookup(self, source: str) -> SourceInfo:
        """The entry for ``source``: an exact name first, then the first matching pattern."""
        for e in self.entries:
            if e.pattern == source:
                return e
        for e in self.entries:
            if fnmatch.fnmatchcase(source, e.pattern):
                return e
        if self.default is not None:
            return self.default
        hint = did_you_mean(source, [e.pattern for e in self.entries])
        raise DataError(
            "FI093",
            f"source {source!r} is not in the source manifest{hint}; add it or a 'default' entry",
            Location(self.file),
        )

    def table(self, sources: Iterable[str]) -> pl.DataFrame:
        """One row per source (sorted) with its agency, country, handling and grade."""
        rows = []
        for s in sorted(set(sources)):
            e = self.lookup(s)
            g = e.grade
            rows.append(
                {
                    "source": s,
                    "agency": e.agency,
                    "country": e.country,
                    "handling": e.handling,
                    "handling_note": e.handling_note,
                    "grade_scheme": g.scheme if g else None,
                    "grade_source": g.source if g else None,
                    "grade_information": g.information if g else None,
                }
            )
        return pl.DataFrame(rows, schema=SOURCES)


def load_sources(path: str | Path) -> SourceManifest:
    """Read and validate a source manifest file (errors: ``file:line:col: FI09x …``)."""
    return SourceManifest.from_data(load_file(path), str(path))


def unknown_sources_table(sources: Iterable[str]) -> pl.DataFrame:
    """The sources table when no manifest was given: names only."""
    names = sorted(set(sources))
    return pl.DataFrame({"source": names}, schema={"source": pl.String()}).with_columns(
        [pl.lit(None, dtype=t).alias(c) for c, t in SOURCES.items() if c != "source"]
    )
