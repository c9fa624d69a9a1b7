"""YAML that remembers where every value came from.

Profiles and typologies are read through :class:`Reader`, whose typed getters record a
:class:`~finintel.errors.ConfigError` at the value's ``file:line:col`` instead of raising, so a
whole file's problems are reported at once. Duplicate keys are rejected with their position.

>>> r = Reader.from_text("window: 7d\\nmin: x\\n", "rule.yaml")
>>> r.duration("window")
datetime.timedelta(days=7)
>>> r.integer("min"); print(r.errors[0])
rule.yaml:2:6: FI012 'min' expects an integer, got 'x'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError

from finintel.errors import ConfigError, FinintelError, Location, did_you_mean, raise_all

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(w|d|h|m|s)")
_UNITS = {"w": 604800.0, "d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}
_MISSING = object()


def parse_duration(text: str) -> timedelta:
    """``"7d"``, ``"36h"``, ``"90m"``, ``"2d4h"``, ``"45s"``, ``"1w"`` → timedelta.

    >>> parse_duration("2d4h")
    datetime.timedelta(days=2, seconds=14400)
    """
    s = text.strip().lower()
    pos = 0
    total = 0.0
    for m in _DURATION.finditer(s):
        if m.start() != pos and s[pos : m.start()].strip():
            raise ValueError(text)
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if pos == 0 or s[pos:].strip():
        raise ValueError(text)
    return timedelta(seconds=total)


def format_duration(delta: timedelta) -> str:
    """The inverse of :func:`parse_duration`, in the largest whole units.

    >>> format_duration(timedelta(days=2, hours=4))
    '2d 4h'
    """
    secs = int(delta.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if secs >= size:
            parts.append(f"{secs // size}{unit}")
            secs %= size
    return " ".join(parts) or "0s"


def _yaml() -> YAML:
    y = YAML(typ="rt")
    y.allow_duplicate_keys = False
    return y


def load_text(text: str, file: str) -> Any:
    """Parse YAML text; syntax errors and duplicate keys become positioned ConfigErrors."""
    try:
        return _yaml().load(text)
    except DuplicateKeyError as exc:
        mark = exc.problem_mark
        key = re.search(r'found duplicate key "([^"]*)"', str(exc))
        name = key.group(1) if key else "?"
        raise ConfigError(
            "FI011",
            f"duplicate key {name!r}",
            Location(
                file, line=mark.line + 1 if mark else None, col=mark.column + 1 if mark else None
            ),
        ) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(
            "FI010",
            f"invalid YAML: {problem}",
            Location(
                file, line=mark.line + 1 if mark else None, col=mark.column + 1 if mark else None
            ),
        ) from None


def load_file(path: str | Path) -> Any:
    """Read and parse a YAML file (see :func:`load_text`)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError("FI001", f"cannot read file: {exc.strerror}", Location(str(p))) from None
    except UnicodeDecodeError:
        raise ConfigError("FI010", "not UTF-8 text", Location(str(p))) from None
    return load_text(text, str(p))


def _type_name(value: Any) -> str:
    if isinstance(value, CommentedMap | dict):
        return "a mapping"
    if isinstance(value, CommentedSeq | list):
        return "a list"
    if value is None:
        return "nothing"
    return repr(value)


class Reader:
    """Typed, position-aware access to one YAML mapping; errors accumulate in ``errors``."""

    def __init__(
        self,
        data: Any,
        file: str,
        errors: list[FinintelError] | None = None,
        line: int | None = None,
        col: int | None = None,
        path: str = "",
        codes: Mapping[str, str] | None = None,
    ) -> None:
        self.file = file
        self.errors: list[FinintelError] = [] if errors is None else errors
        self.path = path
        #: Renames this reader's codes (e.g. ``{"FI016": "FI101"}`` for rule files); inherited
        #: by nested readers.
        self.codes: Mapping[str, str] = codes or {}
        self._line, self._col = line, col
        if isinstance(data, CommentedMap):
            self._line, self._col = data.lc.line + 1, data.lc.col + 1
        if data is None:
            data = CommentedMap()
        if not isinstance(data, dict):
            self.error("FI012", f"{path or 'document'} expects a mapping, got {_type_name(data)}")
            data = CommentedMap()
        self.data = data
        self.seen: set[str] = set()

    @classmethod
    def from_text(cls, text: str, file: str) -> Reader:
        return cls(load_text(text, file), file)

    @classmethod
    def from_file(cls, path: str | Path) -> Reader:
        return cls(load_file(path), str(path))

    # positions ---------------------------------------------------------------------------
    def location(self, key: str | None = None) -> Location:
        """Position of ``key``'s value (or of the mapping itself)."""
        if key is not None and isinstance(self.data, CommentedMap) and key in self.data:
            try:
                line, col = self.data.lc.value(key)
                return Location(self.file, line=line + 1, col=col + 1)
            except (KeyError, TypeError):
                line, col = self.data.lc.key(key)
                return Location(self.file, line=line + 1, col=col + 1)
        return Location(self.file, line=self._line, col=self._col)

    def key_location(self, key: str) -> Location:
        if isinstance(self.data, CommentedMap) and key in self.data:
            line, col = self.data.lc.key(key)
            return Location(self.file, line=line + 1, col=col + 1)
        return self.location()

    def error(self, code: str, message: str, key: str | None = None) -> None:
        self.errors.append(ConfigError(self.codes.get(code, code), message, self.location(key)))

    def _label(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    # getters -----------------------------------------------------------------------------
    def has(self, key: str) -> bool:
        return key in self.data

    def raw(self, key: str, default: Any = None, required: bool = False) -> Any:
        self.seen.add(key)
        if key not in self.data or self.data[key] is None:
            if required:
                self.error("FI013", f"missing required key {self._label(key)!r}")
            return default
        return self.data[key]

    def string(
        self,
        key: str,
        default: str | None = None,
        required: bool = False,
        choices: Sequence[str] | None = None,
    ) -> str | None:
        value = self.raw(key, _MISSING, required)
        if value is _MISSING:
            return default
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            self.error("FI012", f"{self._label(key)!r} expects text, got {_type_name(value)}", key)
            return default
        text = str(value)
        if choices is not None and text not in choices:
            hint = did_you_mean(text, choices)
            self.error(
                "FI014",
                f"{self._label(key)!r} must be one of {', '.join(choices)}; got {text!r}{hint}",
                key,
            )
            return default
        return text

    def integer(self, key: str, default: int | None = None, required: bool = False) -> int | None:
        value = self.raw(key, _MISSING, required)
        if value is _MISSING:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(
                "FI012", f"{self._label(key)!r} expects an integer, got {_type_name(value)}", key
            )
            return default
        return int(value)

    def number(
        self, key: str, default: float | None = None, required: bool = False
    ) -> float | None:
        value = self.raw(key, _MISSING, required)
        if value is _MISSING:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.error(
                "FI012", f"{self._label(key)!r} expects a number, got {_type_name(value)}", key
            )
            return default
        return float(value)

    def boolean(self, key: str, default: bool | None = None) -> bool | None:
        value = self.raw(key, _MISSING)
        if value is _MISSING:
            return default
        if not isinstance(value, bool):
            self.error(
                "FI012", f"{self._label(key)!r} expects true or false, got {_type_name(value)}", key
            )
            return default
        return value

    def duration(
        self, key: str, default: timedelta | None = None, required: bool = False
    ) -> timedelta | None:
        value = self.raw(key, _MISSING, required)
        if value is _MISSING:
            return default
        if isinstance(value, str):
            try:
                return parse_duration(value)
            except ValueError:
                pass
        self.error(
            "FI015",
            f"{self._label(key)!r} expects a duration like '7d', '36h' or '90m', got {_type_name(value)}",
            key,
        )
        return default

    def strings(
        self, key: str, default: list[str] | None = None, required: bool = False
    ) -> list[str]:
        """A list of text values; a single text value is taken as a one-item list."""
        value = self.raw(key, _MISSING, required)
        if value is _MISSING:
            return list(default or [])
        if isinstance(value, str | int) and not isinstance(value, bool):
            return [str(value)]
        if not isinstance(value, list) or not all(
            isinstance(v, str | int) and not isinstance(v, bool) for v in value
        ):
            self.error(
                "FI012",
                f"{self._label(key)!r} expects a list of text values, got {_type_name(value)}",
                key,
            )
            return list(default or [])
        return [str(v) for v in value]

    def mapping(self, key: str, required: bool = False) -> Reader | None:
        value = self.raw(key, _MISSING, required)
        if value is _MISSING:
            return None
        loc = self.location(key)
        return Reader(
            value, self.file, self.errors, loc.line, loc.col, self._label(key), self.codes
        )

    def items(self) -> Iterable[tuple[str, Any, Location]]:
        """Every key with its value and position (marks all keys as seen)."""
        for key in list(self.data):
            self.seen.add(str(key))
            yield str(key), self.data[key], self.location(str(key))

    def finish(self, known: Iterable[str] | None = None) -> None:
        """Report keys that were never read (or are not in ``known``) as unknown."""
        allowed = set(known) if known is not None else self.seen
        for key in self.data:
            k = str(key)
            if k not in allowed:
                hint = did_you_mean(k, sorted(allowed))
                where = f" in {self.path!r}" if self.path else ""
                code = self.codes.get("FI016", "FI016")
                self.errors.append(
                    ConfigError(code, f"unknown key {k!r}{where}{hint}", self.key_location(k))
                )

    def raise_errors(self) -> None:
        """Raise every recorded error at once, in file order."""

        def order(e: FinintelError) -> tuple[int, int]:
            loc = e.location
            return (loc.line or 0, loc.col or 0) if loc else (0, 0)

        raise_all(sorted(self.errors, key=order))
