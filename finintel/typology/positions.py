"""Exact file positions for every character of a YAML scalar (for expression errors).

YAML changes text on the way in: a quoted scalar starts one column after its quote and doubles
its quotes, a ``|`` block starts on the next line with its indentation removed, a ``>`` block or
a plain scalar spread over several lines is folded into one line. :func:`scalar_positions`
aligns the value ruamel returned with the file's text, so an error at character ``i`` of the
value is reported at the file line and column where that character is written.

>>> text = 'having: >\\n  a >= 5\\n  and b\\n'
>>> pos = scalar_positions(text.splitlines(), 0, 8, "a >= 5 and b\\n")
>>> pos[0], pos[7]
((2, 3), (3, 3))
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["scalar_positions"]

_SPACE = " \t"


def scalar_positions(
    lines: Sequence[str], line: int, col: int, value: str
) -> list[tuple[int, int]] | None:
    """1-based ``(line, col)`` of each character of ``value``, plus one for its end.

    ``line``/``col`` (0-based, as ruamel's ``lc``) are where the scalar's token starts: its
    first character, its opening quote, or its ``|``/``>`` indicator. Returns None when the
    value cannot be aligned with the text (escapes in double quotes, tags, anchors); the caller
    then falls back to an approximate position.
    """
    if line >= len(lines) or col > len(lines[line]):
        return None
    first = lines[line][col : col + 1]
    quote = first if first in ("'", '"') else ""
    if first in ("|", ">"):
        ln, c = line + 1, 0
        folding = first == ">"
    else:
        ln, c = line, col + (1 if quote else 0)
        folding = True
    out: list[tuple[int, int]] = []
    for ch in value:
        while True:
            if ln >= len(lines):
                return None
            text = lines[ln]
            s = text[c] if c < len(text) else "\n"
            if s == ch or (ch == " " and s == "\n" and folding):
                out.append((ln + 1, c + 1))
                ln, c = (ln + 1, 0) if s == "\n" else (ln, c + 1)
                break
            escape = (quote == "'" and s == "'") or (quote == '"' and s == "\\")
            if s in _SPACE or s == "\n" or escape:
                ln, c = (ln + 1, 0) if s == "\n" else (ln, c + 1)
                continue
            return None
    if out:
        end_line, end_col = out[-1]
        out.append((end_line, end_col + 1))
    else:
        out.append((ln + 1, c + 1))
    return out
