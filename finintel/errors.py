"""One error family for everything finintel rejects.

Every error has a stable code (``FI001``…), a message and, where it applies, a location: a file
with a row and column of data, or a YAML position (line and column, 1-based). The CLI prints
``str(error)`` and exits with ``error.exit_code``; it never shows a traceback.

>>> print(FinintelError("FI010", "unknown key 'windw'", Location("r.yaml", line=3, col=5)))
r.yaml:3:5: FI010 unknown key 'windw'
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_NEW_ALERTS = 3  # only with --alert-exit-code: the run succeeded and found new alerts
EXIT_LOCKED = 4  # another run holds the store


@dataclass(frozen=True)
class Location:
    """Where a problem is: a file, and a data row/column or a YAML line/column."""

    file: str | None = None
    row: int | None = None
    column: str | None = None
    line: int | None = None
    col: int | None = None

    def __str__(self) -> str:
        parts: list[str] = []
        if self.file is not None:
            parts.append(self.file)
        if self.line is not None:
            parts.append(str(self.line))
            if self.col is not None:
                parts.append(str(self.col))
        where = ":".join(parts)
        extra: list[str] = []
        if self.row is not None:
            extra.append(f"row {self.row}")
        if self.column is not None:
            extra.append(f"column {self.column!r}")
        if extra:
            where = f"{where} ({', '.join(extra)})" if where else ", ".join(extra)
        return where


class FinintelError(Exception):
    """Base of every error finintel raises on bad input; carries a stable code."""

    exit_code = EXIT_FAILURE

    def __init__(self, code: str, message: str, location: Location | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.location = location

    def __str__(self) -> str:
        where = str(self.location) if self.location else ""
        return f"{where}: {self.code} {self.message}" if where else f"{self.code} {self.message}"

    def to_dict(self) -> dict[str, object]:
        loc = self.location
        return {
            "code": self.code,
            "message": self.message,
            "file": loc.file if loc else None,
            "row": loc.row if loc else None,
            "column": loc.column if loc else None,
            "line": loc.line if loc else None,
            "col": loc.col if loc else None,
        }


class DataError(FinintelError):
    """Input data that cannot be read or does not match what is expected."""


class ConfigError(FinintelError):
    """A rule, profile, list or FX file that is invalid."""


class UsageError(FinintelError):
    """Options that contradict each other or name things that do not exist."""

    exit_code = EXIT_USAGE


class LockedError(FinintelError):
    """Another run holds the store's lock: runs never overlap."""

    exit_code = EXIT_LOCKED


class ErrorList(FinintelError):  # noqa: N818 - a list of errors, raised as one
    """Several errors found in one pass (a whole file's problems are reported at once)."""

    def __init__(self, errors: Sequence[FinintelError]) -> None:
        if not errors:
            raise ValueError("ErrorList needs at least one error")
        first = errors[0]
        super().__init__(first.code, first.message, first.location)
        self.errors = list(errors)
        self.exit_code = max(e.exit_code for e in errors)

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)


def raise_all(errors: Sequence[FinintelError]) -> None:
    """Raise nothing, the single error, or an :class:`ErrorList` of all of them."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ErrorList(errors)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A ``" (did you mean 'x'?)"`` suffix for the closest choice, or ``""``.

    >>> did_you_mean("amout", ["amount", "currency"])
    " (did you mean 'amount'?)"
    """
    options = list(choices)
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in options}
        if word.lower() in lowered:
            close = [lowered[word.lower()]]
    return f" (did you mean {close[0]!r}?)" if close else ""
