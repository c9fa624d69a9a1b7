"""The SQL-like expression language of rule filters and ``having`` conditions.

``text ─► tokens ─► AST (frozen dataclasses) ─► pl.Expr``, plus :func:`to_sql` back to canonical
text. Hand-written tokenizer and recursive-descent parser; the compiler dispatches on node type
and never calls Python ``eval``. The language is described in ``docs/expressions.md``.

Positions: ``parse``/``compile_expr`` take the ``line``/``col`` (1-based) of the expression's first
character in its YAML file; every error points at the offending token. Continuation lines of a
multi-line expression are taken to be indented like the first one (a YAML ``|`` block scalar,
whose common indentation is stripped), so a token at column ``c`` (0-based) of any line of the
text is reported at file column ``col + c``.

>>> import polars as pl
>>> names = {"dst_country": pl.String(), "amount_base": pl.Float64()}
>>> lists = {"transit_countries": ["LY", "TR"]}
>>> text = "dst_country in $transit_countries and amount_base between 900 and 999.99"
>>> df = pl.DataFrame({"dst_country": ["LY", "LY", "FR"], "amount_base": [950.0, 10.0, 950.0]})
>>> df.filter(compile_text(text, names, lists)).height
1
>>> to_sql(parse("NOT a=1 OR b IN (1,2)"))
'not a = 1 or b in (1, 2)'
>>> compile_text("amout > 5", {"amount": pl.Float64()}, file="r.yaml", line=7, col=13)
Traceback (most recent call last):
finintel.typology.expr.ExprError: r.yaml:7:13: FI021 unknown column or metric 'amout' (did you mean 'amount'?)
"""

from __future__ import annotations

import functools
import math
import operator
import re
from bisect import bisect_right
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import NamedTuple

import polars as pl

from finintel.errors import ConfigError, Location, did_you_mean, raise_all

__all__ = [
    "FUNCTIONS",
    "KEYWORDS",
    "Between",
    "Binary",
    "Boolean",
    "Call",
    "ExprError",
    "In",
    "InList",
    "IsNull",
    "Like",
    "Name",
    "Neg",
    "Node",
    "Not",
    "Null",
    "Number",
    "Pos",
    "String",
    "caret",
    "check_expr",
    "compile_expr",
    "compile_text",
    "parse",
    "referenced_lists",
    "referenced_names",
    "thresholds",
    "to_sql",
    "walk",
]

SYNTAX = "FI020"
UNKNOWN_NAME = "FI021"
UNKNOWN_LIST = "FI022"
TYPE_ERROR = "FI023"


# errors ------------------------------------------------------------------------------------


class Pos(NamedTuple):
    """A position inside the expression text: 0-based line and column."""

    line: int
    col: int


_ORIGIN = Pos(0, 0)


class ExprError(ConfigError):
    """A :class:`ConfigError` in an expression; ``snippet`` is the text line with a ``^`` marker."""

    def __init__(
        self, code: str, message: str, location: Location, snippet: str | None = None
    ) -> None:
        super().__init__(code, message, location)
        self.snippet = snippet


def caret(text: str, at: Pos) -> str:
    """The line of ``text`` holding ``at`` and a ``^`` under it, for CLI display.

    >>> print(caret("a = 1 and (b", Pos(0, 12)))
    a = 1 and (b
                ^
    """
    lines = text.split("\n")
    src = lines[at.line].rstrip("\r") if at.line < len(lines) else ""
    pad = "".join("\t" if ch == "\t" else " " for ch in src[: at.col])
    return f"{src}\n{pad}{' ' * (at.col - len(src[: at.col]))}^"


class _Origin(NamedTuple):
    """Where the expression text sits in its file, and the text when known (for snippets)."""

    file: str | None
    line: int
    col: int
    text: str | None

    def error(self, code: str, message: str, at: Pos) -> ExprError:
        loc = Location(self.file, line=self.line + at.line, col=self.col + at.col)
        snippet = caret(self.text, at) if self.text is not None else None
        return ExprError(code, message, loc, snippet)


# AST ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    """Base of every AST node. ``at`` (start in the text) is ignored by ``==``."""

    at: Pos = field(default=_ORIGIN, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True)
class Number(Node):
    value: int | float


@dataclass(frozen=True)
class String(Node):
    value: str


@dataclass(frozen=True)
class Boolean(Node):
    value: bool


@dataclass(frozen=True)
class Null(Node):
    pass


@dataclass(frozen=True)
class Name(Node):
    """A column or metric name."""

    name: str


@dataclass(frozen=True)
class Neg(Node):
    operand: Node


@dataclass(frozen=True)
class Not(Node):
    operand: Node


@dataclass(frozen=True)
class Binary(Node):
    """``op`` is one of ``or and = != < <= > >= + - * / %`` (``==`` → ``=``, ``<>`` → ``!=``)."""

    op: str
    left: Node
    right: Node
    op_at: Pos = field(default=_ORIGIN, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True)
class In(Node):
    """``operand [not] in (v1, v2, …)``."""

    operand: Node
    values: tuple[Node, ...]
    negated: bool = False


@dataclass(frozen=True)
class InList(Node):
    """``operand [not] in $name``: membership in a named list supplied by the caller."""

    operand: Node
    name: str
    negated: bool = False
    name_at: Pos = field(default=_ORIGIN, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True)
class Between(Node):
    """``operand [not] between low and high``, both bounds included."""

    operand: Node
    low: Node
    high: Node
    negated: bool = False


@dataclass(frozen=True)
class IsNull(Node):
    operand: Node
    negated: bool = False


@dataclass(frozen=True)
class Like(Node):
    """``operand [not] like 'pattern' [escape 'c']`` (``%`` any run, ``_`` one character)."""

    operand: Node
    pattern: str
    negated: bool = False
    escape: str | None = None


@dataclass(frozen=True)
class Call(Node):
    """A function call; ``name`` is lower-cased."""

    name: str
    args: tuple[Node, ...]


def walk(node: Node) -> Iterator[Node]:
    """``node`` and all its descendants, depth first, left to right."""
    yield node
    for f in fields(node):
        value = getattr(node, f.name)
        if isinstance(value, Node):
            yield from walk(value)
        elif isinstance(value, tuple):
            for item in value:
                if isinstance(item, Node):
                    yield from walk(item)


def referenced_names(node: Node) -> set[str]:
    """Column and metric names the expression reads.

    >>> sorted(referenced_names(parse("lower(b) = 'x' and a > 1")))
    ['a', 'b']
    """
    return {n.name for n in walk(node) if isinstance(n, Name)}


def referenced_lists(node: Node) -> set[str]:
    """Named lists the expression uses, without the ``$``.

    >>> referenced_lists(parse("c in $high_risk"))
    {'high_risk'}
    """
    return {n.name for n in walk(node) if isinstance(n, InList)}


_FLIPPED = {"=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


def thresholds(node: Node) -> list[tuple[str, str, int | float]]:
    """``(name, op, number)`` for each conjunct that compares a name with a number.

    For explanations ("7 distinct senders (≥ 5)"): the top-level ``and`` chain is searched;
    ``5 <= x`` is given as ``x >= 5`` and ``x between a and b`` as two thresholds.

    >>> thresholds(parse("distinct_senders >= 5 and 2 < n and x between 1 and 9.5"))
    [('distinct_senders', '>=', 5), ('n', '>', 2), ('x', '>=', 1), ('x', '<=', 9.5)]
    >>> thresholds(parse("distinct_senders >= 5 and distinct_src_countries >= 2"))
    [('distinct_senders', '>=', 5), ('distinct_src_countries', '>=', 2)]
    """
    if isinstance(node, Binary) and node.op == "and":
        return thresholds(node.left) + thresholds(node.right)
    if isinstance(node, Binary) and node.op in _COMPARISONS:
        left, right = _number_constant(node.left), _number_constant(node.right)
        if isinstance(node.left, Name) and right is not None:
            return [(node.left.name, node.op, right)]
        if isinstance(node.right, Name) and left is not None:
            return [(node.right.name, _FLIPPED[node.op], left)]
    if isinstance(node, Between) and not node.negated and isinstance(node.operand, Name):
        low, high = _number_constant(node.low), _number_constant(node.high)
        if low is not None and high is not None:
            return [(node.operand.name, ">=", low), (node.operand.name, "<=", high)]
    return []


def _number_constant(node: Node) -> int | float | None:
    if isinstance(node, Number):
        return node.value
    if isinstance(node, Neg) and isinstance(node.operand, Number):
        return -node.operand.value
    return None


# tokens ------------------------------------------------------------------------------------

KEYWORDS = frozenset({"and", "or", "not", "in", "between", "is", "null", "like", "true", "false"})
_OPERATORS = ("<=", ">=", "<>", "!=", "==", "=", "<", ">", "+", "-", "*", "/", "%", "(", ")", ",")
_CANONICAL_OP = {"==": "=", "<>": "!="}
_COMPARISONS = frozenset({"=", "!=", "<", "<=", ">", ">="})
_NUMBER_START = re.compile(r"\d|\.\d")
_NUMBER = re.compile(r"(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d+)?")
_NUMBER_OK = re.compile(r"(?:\d+(?:_\d+)*(?:\.(?:\d+(?:_\d+)*)?)?|\.\d+(?:_\d+)*)(?:[eE][+-]?\d+)?")
_INT_MAX = 2**63 - 1


class _Tok(NamedTuple):
    kind: str  # num, str, name, kw, list, op, eof
    value: str | int | float  # number value, string content, lower-cased keyword, list name, op
    text: str  # as written
    start: int
    end: int


def _show(tok: _Tok) -> str:
    """A token as quoted in a message."""
    if tok.kind == "eof":
        return "end of expression"
    text = tok.text if len(tok.text) <= 30 else tok.text[:29] + "…"
    return f"text {text}" if tok.kind == "str" else f"'{text}'"


class _Source:
    def __init__(self, text: str, origin: _Origin) -> None:
        self.text = text
        self.origin = origin
        self.starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]

    def pos(self, offset: int) -> Pos:
        line = bisect_right(self.starts, offset) - 1
        return Pos(line, offset - self.starts[line])

    def error(self, code: str, message: str, offset: int) -> ExprError:
        return self.origin.error(code, message, self.pos(offset))


def _is_name_start(ch: str) -> bool:
    return ch == "_" or ch.isalpha()


def _is_name_char(ch: str) -> bool:
    return ch == "_" or ch.isalnum()


def _tokenize(src: _Source) -> list[_Tok]:
    text = src.text
    n = len(text)
    out: list[_Tok] = []
    i = 0
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif _NUMBER_START.match(text, i):
            out.append(_number(src, i))
            i = out[-1].end
        elif _is_name_start(ch):
            j = i + 1
            while j < n and _is_name_char(text[j]):
                j += 1
            word = text[i:j]
            if word.lower() in KEYWORDS:
                out.append(_Tok("kw", word.lower(), word, i, j))
            else:
                out.append(_Tok("name", word, word, i, j))
            i = j
        elif ch == "'":
            out.append(_string(src, i))
            i = out[-1].end
        elif ch == "$":
            j = i + 1
            if j >= n or not _is_name_start(text[j]):
                raise src.error(SYNTAX, "expected a list name after '$', like $high_risk", i)
            while j < n and _is_name_char(text[j]):
                j += 1
            out.append(_Tok("list", text[i + 1 : j], text[i:j], i, j))
            i = j
        else:
            for op in _OPERATORS:
                if text.startswith(op, i):
                    out.append(_Tok("op", _CANONICAL_OP.get(op, op), op, i, i + len(op)))
                    i += len(op)
                    break
            else:
                if ch == '"':
                    msg = "unexpected '\"': write text in single quotes, like 'LY'"
                elif ch == "!":
                    msg = "unexpected character '!' (use '!=' or 'not')"
                else:
                    msg = f"unexpected character {ch!r}"
                raise src.error(SYNTAX, msg, i)
    end = out[-1].end if out else 0
    out.append(_Tok("eof", "", "", end, end))
    return out


def _number(src: _Source, i: int) -> _Tok:
    text = src.text
    match = _NUMBER.match(text, i)
    j = match.end() if match else i + 1
    k = j  # swallow what sticks to the number so '10abc' is reported whole
    while k < len(text) and (_is_name_char(text[k]) or text[k] == "."):
        k += 1
    word = text[i:k]
    if k != j or not _NUMBER_OK.fullmatch(word):
        raise src.error(SYNTAX, f"invalid number {word!r}", i)
    digits = word.replace("_", "")
    value: int | float
    if any(c in digits for c in ".eE"):
        value = float(digits)
        if not math.isfinite(value):
            raise src.error(SYNTAX, f"number {word} is too large", i)
    else:
        value = int(digits)
        if value > _INT_MAX:
            raise src.error(SYNTAX, f"number {word} is too large", i)
    return _Tok("num", value, word, i, k)


def _string(src: _Source, i: int) -> _Tok:
    text = src.text
    parts: list[str] = []
    j = i + 1
    while True:
        k = text.find("'", j)
        if k < 0:
            raise src.error(SYNTAX, "unterminated string", i)
        parts.append(text[j:k])
        if text.startswith("''", k):
            parts.append("'")
            j = k + 2
            continue
        return _Tok("str", "".join(parts), text[i : k + 1], i, k + 1)


# parser ------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, src: _Source) -> None:
        self.src = src
        self.toks = _tokenize(src)
        self.i = 0

    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def advance(self) -> _Tok:
        tok = self.toks[self.i]
        if tok.kind != "eof":
            self.i += 1
        return tok

    def at_kw(self, *words: str) -> bool:
        return self.tok.kind == "kw" and self.tok.value in words

    def at_op(self, *ops: str) -> bool:
        return self.tok.kind == "op" and self.tok.value in ops

    def pos(self, tok: _Tok) -> Pos:
        return self.src.pos(tok.start)

    def fail(self, message: str, tok: _Tok | None = None) -> ExprError:
        return self.src.error(SYNTAX, message, (tok or self.tok).start)

    def expected(self, what: str) -> ExprError:
        return self.fail(f"expected {what}, got {_show(self.tok)}")

    # grammar, lowest precedence first
    def parse(self) -> Node:
        if self.tok.kind == "eof":
            raise self.fail("empty expression")
        node = self.disjunction()
        if self.tok.kind != "eof":
            if self.at_op(")"):
                raise self.fail("unmatched ')'")
            raise self.expected("an operator or the end of the expression")
        return node

    def disjunction(self) -> Node:
        node = self.conjunction()
        while self.at_kw("or"):
            op = self.advance()
            node = Binary("or", node, self.conjunction(), at=node.at, op_at=self.pos(op))
        return node

    def conjunction(self) -> Node:
        node = self.negation()
        while self.at_kw("and"):
            op = self.advance()
            node = Binary("and", node, self.negation(), at=node.at, op_at=self.pos(op))
        return node

    def negation(self) -> Node:
        if self.at_kw("not"):
            tok = self.advance()
            return Not(self.negation(), at=self.pos(tok))
        return self.comparison()

    def comparison(self) -> Node:
        left = self.additive()
        node = self.comparison_tail(left)
        if node is not left and (
            (self.tok.kind == "op" and self.tok.value in _COMPARISONS)
            or self.at_kw("in", "between", "is", "like", "not")
        ):
            raise self.fail(
                f"unexpected {_show(self.tok)} after a comparison "
                "(join comparisons with 'and', or use 'between')"
            )
        return node

    def comparison_tail(self, left: Node) -> Node:
        at = left.at
        tok = self.tok
        if tok.kind == "op" and tok.value in _COMPARISONS:
            self.advance()
            right = self.additive()
            return Binary(str(tok.value), left, right, at=at, op_at=self.pos(tok))
        if self.at_kw("is"):
            self.advance()
            negated = self.at_kw("not")
            if negated:
                self.advance()
            if not self.at_kw("null"):
                raise self.expected("'null' or 'not null' after 'is'")
            self.advance()
            return IsNull(left, negated, at=at)
        negated = False
        if self.at_kw("not"):
            self.advance()
            negated = True
            if not self.at_kw("in", "between", "like"):
                raise self.expected("'in', 'between' or 'like' after 'not'")
        if self.at_kw("in"):
            self.advance()
            return self.in_tail(left, negated)
        if self.at_kw("between"):
            self.advance()
            low = self.additive()
            if not self.at_kw("and"):
                raise self.expected("'and' after the lower bound of 'between'")
            self.advance()
            high = self.additive()
            return Between(left, low, high, negated, at=at)
        if self.at_kw("like"):
            self.advance()
            return self.like_tail(left, negated)
        return left

    def in_tail(self, left: Node, negated: bool) -> Node:
        if self.tok.kind == "list":
            tok = self.advance()
            return InList(left, str(tok.value), negated, at=left.at, name_at=self.pos(tok))
        if not self.at_op("("):
            raise self.expected("'(' or a named list like $high_risk after 'in'")
        self.advance()
        if self.at_op(")"):
            raise self.fail("the list after 'in' is empty")
        values = [self.additive()]
        while self.at_op(","):
            self.advance()
            values.append(self.additive())
        if not self.at_op(")"):
            raise self.expected("',' or ')' after a value in the 'in' list")
        self.advance()
        return In(left, tuple(values), negated, at=left.at)

    def like_tail(self, left: Node, negated: bool) -> Node:
        if self.tok.kind != "str":
            raise self.expected("a text pattern like 'AB%' after 'like'")
        pattern_tok = self.advance()
        escape: str | None = None
        if self.tok.kind == "name" and str(self.tok.value).lower() == "escape":
            self.advance()
            if self.tok.kind != "str" or len(str(self.tok.value)) != 1:
                raise self.expected("a single character in quotes after 'escape', like '!'")
            escape = str(self.advance().value)
        pattern = str(pattern_tok.value)
        try:
            _like_parts(pattern, escape)
        except ValueError as exc:
            raise self.fail(str(exc), pattern_tok) from None
        return Like(left, pattern, negated, escape, at=left.at)

    def additive(self) -> Node:
        node = self.multiplicative()
        while self.at_op("+", "-"):
            op = self.advance()
            right = self.multiplicative()
            node = Binary(str(op.value), node, right, at=node.at, op_at=self.pos(op))
        return node

    def multiplicative(self) -> Node:
        node = self.unary()
        while self.at_op("*", "/", "%"):
            op = self.advance()
            right = self.unary()
            node = Binary(str(op.value), node, right, at=node.at, op_at=self.pos(op))
        return node

    def unary(self) -> Node:
        if self.at_op("-"):
            tok = self.advance()
            return Neg(self.unary(), at=self.pos(tok))
        return self.primary()

    def primary(self) -> Node:
        tok = self.tok
        at = self.pos(tok)
        if tok.kind == "num":
            self.advance()
            assert isinstance(tok.value, int | float)
            return Number(tok.value, at=at)
        if tok.kind == "str":
            self.advance()
            return String(str(tok.value), at=at)
        if tok.kind == "kw" and tok.value in ("true", "false"):
            self.advance()
            return Boolean(tok.value == "true", at=at)
        if tok.kind == "kw" and tok.value == "null":
            self.advance()
            return Null(at=at)
        if tok.kind == "name":
            self.advance()
            if self.at_op("("):
                return self.call(tok)
            return Name(str(tok.value), at=at)
        if self.at_op("("):
            self.advance()
            node = self.disjunction()
            if not self.at_op(")"):
                where = self.src.origin
                raise self.expected(
                    f"')' to close the '(' at {where.line + at.line}:{where.col + at.col}"
                )
            self.advance()
            return node
        if tok.kind == "list":
            raise self.fail(f"a named list ({tok.text}) can only follow 'in'")
        if tok.kind == "eof":
            raise self.fail("unexpected end of expression")
        raise self.expected("a value, a column or '('")

    def call(self, name_tok: _Tok) -> Node:
        name = str(name_tok.value).lower()
        self.advance()  # (
        args: list[Node] = []
        if not self.at_op(")"):
            args.append(self.disjunction())
            while self.at_op(","):
                self.advance()
                args.append(self.disjunction())
            if not self.at_op(")"):
                raise self.expected(f"',' or ')' after an argument of {name}()")
        self.advance()
        return Call(name, tuple(args), at=self.pos(name_tok))


def parse(text: str, *, file: str | None = None, line: int = 1, col: int = 1) -> Node:
    """Parse an expression; the first syntax error is raised as an :class:`ExprError` (FI020).

    >>> parse("a + 1 > 2")
    Binary(op='>', left=Binary(op='+', left=Name(name='a'), right=Number(value=1)), right=Number(value=2))
    """
    return _Parser(_Source(text, _Origin(file, line, col, text))).parse()


# canonical text ----------------------------------------------------------------------------

_OR, _AND, _NOT, _CMP, _ADD, _MUL, _UNARY, _ATOM = range(1, 9)
_BINARY_PREC = {
    "or": _OR,
    "and": _AND,
    **dict.fromkeys(_COMPARISONS, _CMP),
    "+": _ADD,
    "-": _ADD,
    "*": _MUL,
    "/": _MUL,
    "%": _MUL,
}


def _prec(node: Node) -> int:
    if isinstance(node, Binary):
        return _BINARY_PREC[node.op]
    if isinstance(node, Not):
        return _NOT
    if isinstance(node, In | InList | Between | IsNull | Like):
        return _CMP
    if isinstance(node, Neg):
        return _UNARY
    return _ATOM


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _number_text(value: int | float) -> str:
    return str(value) if isinstance(value, int) else repr(float(value))


def to_sql(node: Node) -> str:
    """Canonical text: lower-case keywords, single spaces, only the parentheses needed.

    ``parse(to_sql(node)) == node`` for every tree the parser makes.

    >>> to_sql(parse("(A+B)*c <> 5 AND NOT (x IS NOT NULL)"))
    '(A + B) * c != 5 and not x is not null'
    """
    return _render(node, 0)


def _render(node: Node, min_prec: int) -> str:
    text = _render_bare(node)
    return f"({text})" if _prec(node) < min_prec else text


def _render_bare(node: Node) -> str:
    match node:
        case Number(value=value):
            return _number_text(value)
        case String(value=value):
            return _quote(value)
        case Boolean(value=value):
            return "true" if value else "false"
        case Null():
            return "null"
        case Name(name=name):
            return name
        case Neg(operand=operand):
            inner = _render(operand, _UNARY)
            return f"- {inner}" if inner.startswith("-") else f"-{inner}"
        case Not(operand=operand):
            return f"not {_render(operand, _NOT)}"
        case Binary(op=op, left=left, right=right):
            prec = _BINARY_PREC[op]
            left_min = prec + 1 if prec == _CMP else prec
            return f"{_render(left, left_min)} {op} {_render(right, prec + 1)}"
        case In(operand=operand, values=values, negated=negated):
            items = ", ".join(_render(v, _ADD) for v in values)
            return f"{_render(operand, _ADD)} {'not ' if negated else ''}in ({items})"
        case InList(operand=operand, name=name, negated=negated):
            return f"{_render(operand, _ADD)} {'not ' if negated else ''}in ${name}"
        case Between(operand=operand, low=low, high=high, negated=negated):
            return (
                f"{_render(operand, _ADD)} {'not ' if negated else ''}between "
                f"{_render(low, _ADD)} and {_render(high, _ADD)}"
            )
        case IsNull(operand=operand, negated=negated):
            return f"{_render(operand, _ADD)} is {'not ' if negated else ''}null"
        case Like(operand=operand, pattern=pattern, negated=negated, escape=escape):
            tail = f" escape {_quote(escape)}" if escape is not None else ""
            return (
                f"{_render(operand, _ADD)} {'not ' if negated else ''}like {_quote(pattern)}{tail}"
            )
        case Call(name=name, args=args):
            return f"{name}({', '.join(_render(a, 0) for a in args)})"
    raise TypeError(f"not an expression node: {node!r}")


# like patterns -----------------------------------------------------------------------------

_ANY, _ONE = object(), object()
_REGEX_META = frozenset("\\.+*?()|[]{}^$#&-~")


def _like_parts(pattern: str, escape: str | None) -> list[str | object]:
    """A LIKE pattern as literal runs and the ``_ANY``/``_ONE`` wildcards."""
    parts: list[str | object] = []
    literal: list[str] = []
    chars = iter(pattern)
    for ch in chars:
        if escape is not None and ch == escape:
            nxt = next(chars, None)
            if nxt not in ("%", "_", escape):
                raise ValueError(
                    f"in a 'like' pattern the escape {escape!r} must be followed by %, _ or itself"
                )
            literal.append(str(nxt))
        elif ch in "%_":
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append(_ANY if ch == "%" else _ONE)
        else:
            literal.append(ch)
    if literal:
        parts.append("".join(literal))
    return parts


def _like_expr(subject: pl.Expr, pattern: str, escape: str | None) -> pl.Expr:
    parts = _like_parts(pattern, escape)
    texts = [p for p in parts if isinstance(p, str)]
    if _ONE not in parts:
        # the common shapes need no regex: 'abc', 'abc%', '%abc', '%abc%'
        if not parts:
            return subject.eq(pl.lit(""))
        if len(texts) == len(parts) == 1:
            return subject.eq(pl.lit(texts[0]))
        if parts == [_ANY]:
            return subject.str.starts_with("")  # true, but null stays null
        if len(parts) == 2 and parts[1] is _ANY and texts:
            return subject.str.starts_with(texts[0])
        if len(parts) == 2 and parts[0] is _ANY and texts:
            return subject.str.ends_with(texts[0])
        if len(parts) == 3 and parts[0] is _ANY and parts[2] is _ANY and texts:
            return subject.str.contains(texts[0], literal=True)
    return subject.str.contains(f"(?s)^{_like_regex(parts)}$")


def _like_regex(parts: list[str | object]) -> str:
    """The regex (unanchored) of a LIKE pattern's parts."""
    regex = []
    for p in parts:
        if p is _ANY:
            regex.append(".*")
        elif p is _ONE:
            regex.append(".")
        else:  # a literal run: '.' or '(' in a pattern mean themselves
            regex.extend("\\" + c if c in _REGEX_META else c for c in str(p))
    return "".join(regex)


def _or_terms(node: Node) -> list[Node]:
    """The terms of a chain of ``or`` (``a or b or c``: ``[a, b, c]``)."""
    if isinstance(node, Binary) and node.op == "or":
        return _or_terms(node.left) + _or_terms(node.right)
    return [node]


# compiler ----------------------------------------------------------------------------------

# static types; INT and FLOAT are both "a number"
INT, FLOAT, TEXT, BOOL = "int", "float", "text", "boolean"
DATE, DATETIME, NULL, ANY = "date", "datetime", "null", "any"
_NUMERIC = frozenset({INT, FLOAT})
_TYPE_WORDS = {
    INT: "a number",
    FLOAT: "a number",
    TEXT: "text",
    BOOL: "true/false",
    DATE: "a date",
    DATETIME: "a timestamp",
    NULL: "null",
    ANY: "a value",
}
_NULL_DTYPE: dict[str, pl.DataType] = {
    INT: pl.Int64(),
    FLOAT: pl.Float64(),
    TEXT: pl.String(),
    BOOL: pl.Boolean(),
    DATE: pl.Date(),
    DATETIME: pl.Datetime("us", "UTC"),
}

#: The functions, with their (fewest, most) arguments; ``None`` means no upper bound.
FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "abs": (1, 1),
    "lower": (1, 1),
    "upper": (1, 1),
    "length": (1, 1),
    "coalesce": (2, None),
    "round": (1, 2),
    "least": (2, None),
    "greatest": (2, None),
    "date": (1, 1),
    "hour": (1, 1),
    "weekday": (1, 1),
}


_NULL_COMPARISON = "comparison with null is never true; use 'is null' or 'is not null'"
_NULL_IN = "null in an 'in' list never matches; use 'is null' or 'is not null'"
_NULL_BETWEEN = "'between' with a null bound is never true; use 'is null' or 'is not null'"


class _Typed(NamedTuple):
    expr: pl.Expr
    type: str
    dtype: pl.DataType | None = None  # the polars type where it matters (time zone)


def _kind(dtype: pl.DataType | type[pl.DataType]) -> str:
    if dtype.is_integer():
        return INT
    if dtype.is_float() or dtype == pl.Decimal:
        return FLOAT
    if dtype in (pl.String, pl.Categorical, pl.Enum):
        return TEXT
    if dtype == pl.Boolean:
        return BOOL
    if dtype == pl.Date:
        return DATE
    if dtype == pl.Datetime:
        return DATETIME
    if dtype == pl.Null:
        return NULL
    return ANY


def _describe(node: Node) -> str:
    text = to_sql(node)
    return text if len(text) <= 40 else text[:39] + "…"


def _compatible(a: str, b: str) -> bool:
    if a in (NULL, ANY) or b in (NULL, ANY):
        return True
    return (a in _NUMERIC and b in _NUMERIC) or a == b


def _join(a: str, b: str) -> str:
    """The type of a value that is either an ``a`` or a ``b`` (already compatible)."""
    if a in (NULL, ANY):
        return b if b != NULL else a
    if b in (NULL, ANY):
        return a
    if a in _NUMERIC and b in _NUMERIC:
        return INT if a == b == INT else FLOAT
    return a


def _list_type(values: Sequence[object]) -> str | None:
    """The type of a named list's values, or None when they mix types or hold other things."""
    kinds = set()
    for v in values:
        if isinstance(v, bool):
            kinds.add(BOOL)
        elif isinstance(v, int):
            kinds.add(INT)
        elif isinstance(v, float):
            kinds.add(FLOAT)
        elif isinstance(v, str):
            kinds.add(TEXT)
        else:
            return None
    if not kinds:
        return ANY
    if kinds <= _NUMERIC:
        return INT if kinds == {INT} else FLOAT
    return kinds.pop() if len(kinds) == 1 else None


def _list_words(values: Sequence[object]) -> str:
    kinds = sorted(
        {
            "null"
            if v is None
            else "true/false"
            if isinstance(v, bool)
            else "numbers"
            if isinstance(v, int | float)
            else "text"
            if isinstance(v, str)
            else type(v).__name__
            for v in values
        }
    )
    return " and ".join(kinds)


def _membership(subject: _Typed, values: Sequence[object], kind: str) -> pl.Expr | None:
    """``subject.is_in(values)`` with both sides cast to one polars type, or None if unsupported."""
    dtype: pl.DataType
    if kind == INT and subject.type == INT:
        dtype = pl.Int64()
    elif kind in _NUMERIC or (kind == ANY and subject.type in _NUMERIC):
        dtype = pl.Float64()
    elif TEXT in (kind, subject.type):
        dtype = pl.String()
    elif BOOL in (kind, subject.type):
        dtype = pl.Boolean()
    else:
        return None
    series = pl.Series(values, dtype=dtype, strict=False)
    result = subject.expr.cast(dtype).is_in(series.implode())
    # polars does not broadcast is_in of a literal (`1 in $list`); make it a scalar
    return result if subject.expr.meta.root_names() else result.first()


class _Compiler:
    def __init__(
        self,
        names: Mapping[str, pl.DataType | type[pl.DataType]],
        lists: Mapping[str, Sequence[object]],
        origin: _Origin,
    ) -> None:
        self.names = names
        self.lists = lists
        self.origin = origin
        self.errors: list[ExprError] = []

    def error(self, code: str, message: str, at: Pos) -> None:
        self.errors.append(self.origin.error(code, message, at))

    def mismatch(self, node: Node, t: _Typed, need: str, what: str) -> None:
        self.error(
            TYPE_ERROR,
            f"{what} needs {need}, but {_describe(node)} is {_TYPE_WORDS[t.type]}",
            node.at,
        )

    def want(self, node: Node, types: frozenset[str], need: str, what: str) -> _Typed:
        """Visit ``node`` and check its type is in ``types`` (null and unknown always pass)."""
        t = self.visit(node)
        if t.type not in types and t.type not in (NULL, ANY):
            self.mismatch(node, t, need, what)
            return _Typed(t.expr, ANY)
        return t

    def typed_null(self, t: _Typed, like: _Typed | str) -> pl.Expr:
        """``t``'s expression; a value that is always null is typed like ``like`` for polars."""
        if t.type != NULL:
            return t.expr
        if isinstance(like, _Typed):
            if like.dtype is not None and like.type in (DATE, DATETIME):
                return pl.lit(None, dtype=like.dtype)
            like = like.type
        dtype = _NULL_DTYPE.get(like)
        return pl.lit(None, dtype=dtype) if dtype is not None else t.expr

    def against(
        self,
        node: Node,
        target: _Typed,
        target_node: Node,
        null_message: str,
        visited: _Typed | None = None,
    ) -> _Typed:
        """Visit ``node`` as a value compared with ``target``: dates from text, type check."""
        if isinstance(node, Null):
            self.error(TYPE_ERROR, null_message, node.at)
            return _Typed(pl.lit(None), ANY)
        if isinstance(node, String) and target.type in (DATE, DATETIME):
            return self.temporal_literal(node, target)
        t = visited if visited is not None else self.visit(node)
        if not _compatible(target.type, t.type):
            self.error(
                TYPE_ERROR,
                f"cannot compare {_describe(target_node)} ({_TYPE_WORDS[target.type]}) with "
                f"{_describe(node)} ({_TYPE_WORDS[t.type]})",
                node.at,
            )
            return _Typed(t.expr, ANY)
        return _Typed(self.typed_null(t, target), t.type, t.dtype)

    def temporal_literal(self, node: String, target: _Typed) -> _Typed:
        try:
            if target.type == DATE:
                return _Typed(pl.lit(date.fromisoformat(node.value)), DATE)
            moment = datetime.fromisoformat(node.value)
        except ValueError:
            shape = "YYYY-MM-DD" if target.type == DATE else "YYYY-MM-DD or YYYY-MM-DD HH:MM:SS"
            self.error(
                TYPE_ERROR,
                f"{_quote(node.value)} is not {_TYPE_WORDS[target.type]} (expected {shape})",
                node.at,
            )
            return _Typed(pl.lit(None), ANY)
        # a naive text timestamp is in the column's zone; one with an offset is converted to it
        zone = getattr(target.dtype, "time_zone", None)
        expr = pl.lit(moment)
        if moment.tzinfo is None:
            if zone is not None:
                expr = expr.dt.replace_time_zone(zone)
        else:
            expr = expr.dt.convert_time_zone(zone) if zone else expr.dt.replace_time_zone(None)
        return _Typed(expr, DATETIME, target.dtype)

    # one method per node type --------------------------------------------------------------
    def visit(self, node: Node) -> _Typed:
        match node:
            case Number(value=value):
                return _Typed(pl.lit(value), INT if isinstance(value, int) else FLOAT)
            case String(value=value):
                return _Typed(pl.lit(value, dtype=pl.String()), TEXT)
            case Boolean(value=value):
                return _Typed(pl.lit(value), BOOL)
            case Null():
                return _Typed(pl.lit(None), NULL)
            case Name():
                return self.name(node)
            case Neg(operand=operand):
                t = self.want(operand, _NUMERIC, "a number", "'-'")
                return t if t.type == NULL else _Typed(-t.expr, t.type)
            case Not(operand=operand):
                t = self.want(operand, frozenset({BOOL}), "true/false", "'not'")
                return _Typed(~self.typed_null(t, BOOL), BOOL)
            case Binary():
                return self.binary(node)
            case In():
                return self.in_values(node)
            case InList():
                return self.in_list(node)
            case Between():
                return self.between(node)
            case IsNull(operand=operand, negated=negated):
                t = self.visit(operand)
                return _Typed(t.expr.is_not_null() if negated else t.expr.is_null(), BOOL)
            case Like():
                return self.like(node)
            case Call():
                return self.call(node)
        raise TypeError(f"not an expression node: {node!r}")

    def name(self, node: Name) -> _Typed:
        dtype = self.names.get(node.name)
        if dtype is None:
            hint = did_you_mean(node.name, self.names)
            self.error(UNKNOWN_NAME, f"unknown column or metric {node.name!r}{hint}", node.at)
            return _Typed(pl.lit(None), ANY)
        kind = _kind(dtype)
        expr = pl.col(node.name)
        # small and unsigned integers wrap around in arithmetic (UInt32 counts: 3 - 5)
        if kind == INT and dtype != pl.Int64:
            expr = expr.cast(pl.Int64)
        elif dtype == pl.Decimal:
            expr = expr.cast(pl.Float64)
        elif dtype in (pl.Categorical, pl.Enum):
            expr = expr.cast(pl.String)
        return _Typed(expr, kind, dtype if isinstance(dtype, pl.DataType) else None)

    def binary(self, node: Binary) -> _Typed:
        op = node.op
        if op == "or":
            return self.disjunction(_or_terms(node))
        if op == "and":
            left = self.want(node.left, frozenset({BOOL}), "true/false", f"'{op}'")
            right = self.want(node.right, frozenset({BOOL}), "true/false", f"'{op}'")
            a, b = self.typed_null(left, BOOL), self.typed_null(right, BOOL)
            return _Typed(a & b if op == "and" else a | b, BOOL)
        if op in _COMPARISONS:
            if isinstance(node.left, Null):
                self.error(TYPE_ERROR, _NULL_COMPARISON, node.left.at)
                self.visit(node.right)
                return _Typed(pl.lit(None, dtype=pl.Boolean()), BOOL)
            left = self.visit(node.left)
            visited = None
            if isinstance(node.left, String) and not isinstance(node.right, Null | String):
                # '2025-01-01' <= date(ts): the text takes the type of the other side
                visited = self.visit(node.right)
                if visited.type in (DATE, DATETIME):
                    left = self.temporal_literal(node.left, visited)
            right = self.against(node.right, left, node.left, _NULL_COMPARISON, visited)
            a, b = self.typed_null(left, right), right.expr
            compare = {"=": a.eq, "!=": a.ne, "<": a.lt, "<=": a.le, ">": a.gt, ">=": a.ge}[op]
            return _Typed(compare(b), BOOL)
        what = f"'{op}'"
        left = self.want(node.left, _NUMERIC, "numbers", what)
        right = self.want(node.right, _NUMERIC, "numbers", what)
        if left.type == NULL and right.type == NULL:
            return _Typed(pl.lit(None), NULL)
        kind = FLOAT if op == "/" else _join(left.type, right.type)
        a, b = self.typed_null(left, right), self.typed_null(right, left)
        if op == "+":
            return _Typed(a + b, kind)
        if op == "-":
            return _Typed(a - b, kind)
        if op == "*":
            return _Typed(a * b, kind)
        # division and remainder by zero give null (as in Spark), never inf or NaN
        quotient = a / b if op == "/" else a % b
        return _Typed(pl.when(b.ne(0)).then(quotient), kind)

    def in_values(self, node: In) -> _Typed:
        subject = self.visit(node.operand)
        values: list[_Typed] = []
        kind = subject.type
        for v in node.values:
            t = self.against(v, _Typed(subject.expr, kind, subject.dtype), node.operand, _NULL_IN)
            values.append(t)
            if t.type != ANY:
                kind = _join(kind, t.type)
        constants = [_constant(v) for v in node.values]
        result: pl.Expr | None = None
        if all(c is not _NOT_CONSTANT for c in constants):
            result = _membership(subject, constants, kind)
        if result is None:
            for t in values:
                test = self.typed_null(subject, t).eq(t.expr)
                result = test if result is None else result | test
        assert result is not None
        return _Typed(~result if node.negated else result, BOOL)

    def in_list(self, node: InList) -> _Typed:
        subject = self.visit(node.operand)
        values = self.lists.get(node.name)
        if values is None:
            hint = did_you_mean(f"${node.name}", [f"${k}" for k in self.lists])
            known = ", ".join(f"${k}" for k in sorted(self.lists))
            tail = f"; known lists: {known}" if known else "; no lists are defined"
            self.error(UNKNOWN_LIST, f"unknown list '${node.name}'{hint}{tail}", node.name_at)
            return _Typed(pl.lit(None, dtype=pl.Boolean()), BOOL)
        kind = _list_type(values)
        if kind is None:
            self.error(
                TYPE_ERROR,
                f"list ${node.name} mixes {_list_words(values)}; "
                "a list must hold only text or only numbers",
                node.name_at,
            )
            return _Typed(pl.lit(None, dtype=pl.Boolean()), BOOL)
        if not _compatible(subject.type, kind):
            self.error(
                TYPE_ERROR,
                f"{_describe(node.operand)} is {_TYPE_WORDS[subject.type]}, "
                f"but list ${node.name} holds {_list_words(values)}",
                node.name_at,
            )
            return _Typed(pl.lit(None, dtype=pl.Boolean()), BOOL)
        result = _membership(subject, list(values), kind)
        if result is None:  # an operand of unknown type and an empty list
            result = _membership(_Typed(subject.expr, TEXT), [], TEXT)
            assert result is not None
        return _Typed(~result if node.negated else result, BOOL)

    def between(self, node: Between) -> _Typed:
        subject = self.visit(node.operand)
        low = self.against(node.low, subject, node.operand, _NULL_BETWEEN)
        high = self.against(node.high, subject, node.operand, _NULL_BETWEEN)
        x = self.typed_null(subject, _Typed(low.expr, _join(low.type, high.type), low.dtype))
        # not is_between: its null bound makes null where SQL's Kleene 'and' can say false
        result = x.ge(low.expr) & x.le(high.expr)
        return _Typed(~result if node.negated else result, BOOL)

    def disjunction(self, terms: list[Node]) -> _Typed:
        """``a or b or …``. The ``like`` terms on one operand are one regex, so that the
        operand is computed once (``lower(reference) like 'salary%' or lower(reference) like
        'wages%'`` lower-cases each row once, not once per pattern)."""

        def plain_like(term: Node) -> Like | None:
            return term if isinstance(term, Like) and not term.negated else None

        groups: dict[str, list[Like]] = {}
        for term in terms:
            if (like := plain_like(term)) is not None:
                groups.setdefault(to_sql(like.operand), []).append(like)
        exprs: list[pl.Expr] = []
        for term in terms:  # in their order; a group where its first term stands
            like = plain_like(term)
            group = groups[to_sql(like.operand)] if like is not None else []
            if len(group) < 2:
                t = self.want(term, frozenset({BOOL}), "true/false", "'or'")
                exprs.append(self.typed_null(t, BOOL))
            elif term is group[0]:
                exprs.append(self.likes(group))
        return _Typed(functools.reduce(operator.or_, exprs), BOOL)

    def likes(self, group: list[Like]) -> pl.Expr:
        """Several ``operand like 'p'`` on one operand as one regex (null stays null)."""
        t = self.want(group[0].operand, frozenset({TEXT}), "text", "'like'")
        regexes = (_like_regex(_like_parts(n.pattern, n.escape)) for n in group)
        return self.typed_null(t, TEXT).str.contains(f"(?s)^(?:{'|'.join(regexes)})$")

    def like(self, node: Like) -> _Typed:
        t = self.want(node.operand, frozenset({TEXT}), "text", "'like'")
        expr = _like_expr(self.typed_null(t, TEXT), node.pattern, node.escape)
        return _Typed(~expr if node.negated else expr, BOOL)

    def call(self, node: Call) -> _Typed:
        name, args = node.name, node.args
        arity = FUNCTIONS.get(name)
        if arity is None:
            for a in args:
                self.visit(a)
            hint = did_you_mean(name, FUNCTIONS)
            self.error(
                TYPE_ERROR,
                f"unknown function {name!r}{hint}; functions: {', '.join(sorted(FUNCTIONS))}",
                node.at,
            )
            return _Typed(pl.lit(None), ANY)
        low, high = arity
        if len(args) < low or (high is not None and len(args) > high):
            for a in args:
                self.visit(a)
            if high is None:
                takes = f"at least {low} arguments"
            elif low == high:
                takes = f"{low} argument{'s' if low != 1 else ''}"
            else:
                takes = f"{low} or {high} arguments"
            self.error(TYPE_ERROR, f"{name}() takes {takes}, got {len(args)}", node.at)
            return _Typed(pl.lit(None), ANY)
        what = f"{name}()"
        if name in ("coalesce", "least", "greatest"):
            return self.variadic(node)
        if name == "round":
            return self.round(node)
        if name in ("date", "weekday"):
            t = self.want(args[0], frozenset({DATE, DATETIME}), "a date or timestamp", what)
        elif name == "hour":
            t = self.want(args[0], frozenset({DATETIME}), "a timestamp", what)
        elif name == "abs":
            t = self.want(args[0], _NUMERIC, "a number", what)
        else:
            t = self.want(args[0], frozenset({TEXT}), "text", what)
        if t.type == NULL:
            return t
        x = t.expr
        if name == "abs":
            return _Typed(x.abs(), t.type)
        if name == "lower":
            return _Typed(x.str.to_lowercase(), TEXT)
        if name == "upper":
            return _Typed(x.str.to_uppercase(), TEXT)
        if name == "length":
            return _Typed(x.str.len_chars().cast(pl.Int64), INT)
        if name == "date":
            return _Typed(x if t.type == DATE else x.dt.date(), DATE, pl.Date())
        if name == "hour":
            return _Typed(x.dt.hour().cast(pl.Int64), INT)
        return _Typed(x.dt.weekday().cast(pl.Int64), INT)  # weekday: 1 = Monday … 7 = Sunday

    def variadic(self, node: Call) -> _Typed:
        typed = [self.visit(a) for a in node.args]
        kind = NULL
        for arg, t in zip(node.args, typed, strict=True):
            if not _compatible(kind, t.type):
                self.error(
                    TYPE_ERROR,
                    f"{node.name}() needs arguments of one type, but {_describe(arg)} is "
                    f"{_TYPE_WORDS[t.type]} and earlier ones are {_TYPE_WORDS[kind]}",
                    arg.at,
                )
                return _Typed(pl.lit(None), ANY)
            kind = _join(kind, t.type)
        if kind in (NULL, ANY) and all(t.type == NULL for t in typed):
            return _Typed(pl.lit(None), NULL)
        if node.name != "coalesce" and kind in (BOOL,):
            self.error(TYPE_ERROR, f"{node.name}() needs numbers, text or dates", node.at)
            return _Typed(pl.lit(None), ANY)
        dtype_of = next((t.dtype for t in typed if t.dtype is not None), None)
        exprs = [self.typed_null(t, _Typed(pl.lit(None), kind, dtype_of)) for t in typed]
        if kind in _NUMERIC:
            # one polars type for all arguments: Int64 and Float64 mix to Float64
            dtype = pl.Int64() if kind == INT else pl.Float64()
            exprs = [e.cast(dtype) for e in exprs]
        if node.name == "coalesce":
            return _Typed(pl.coalesce(exprs), kind, dtype_of)
        horizontal = pl.min_horizontal if node.name == "least" else pl.max_horizontal
        return _Typed(horizontal(exprs), kind, dtype_of)

    def round(self, node: Call) -> _Typed:
        t = self.want(node.args[0], _NUMERIC, "a number", "round()")
        decimals = 0
        if len(node.args) == 2:
            arg = node.args[1]
            if not (isinstance(arg, Number) and isinstance(arg.value, int)):
                self.visit(arg)
                self.error(
                    TYPE_ERROR,
                    "round() takes a whole number of decimal places (0 or more) as its second "
                    f"argument, got {_describe(arg)}",
                    arg.at,
                )
                return _Typed(pl.lit(None), ANY)
            decimals = int(arg.value)
        if t.type in (NULL, INT):
            return t
        return _Typed(t.expr.round(decimals, mode="half_away_from_zero"), t.type)


_NOT_CONSTANT = object()


def _constant(node: Node) -> object:
    """The Python value of a literal (``-5`` included), else ``_NOT_CONSTANT``."""
    if isinstance(node, Number | String | Boolean):
        return node.value
    if isinstance(node, Neg) and isinstance(node.operand, Number):
        return -node.operand.value
    return _NOT_CONSTANT


def _check(
    node: Node,
    names: Mapping[str, pl.DataType | type[pl.DataType]],
    lists: Mapping[str, Sequence[object]] | None,
    origin: _Origin,
    condition: bool,
) -> tuple[pl.Expr, list[ExprError]]:
    compiler = _Compiler(names, lists or {}, origin)
    result = compiler.visit(node)
    if condition and result.type not in (BOOL, NULL, ANY):
        compiler.error(
            TYPE_ERROR,
            f"a condition must be true or false, but {_describe(node)} is "
            f"{_TYPE_WORDS[result.type]}",
            node.at,
        )
    errors = sorted(
        compiler.errors,
        key=lambda e: (e.location.line or 0, e.location.col or 0) if e.location else (0, 0),
    )
    expr = result.expr.cast(pl.Boolean) if condition and result.type == NULL else result.expr
    return expr, errors


def check_expr(
    node: Node,
    names: Mapping[str, pl.DataType | type[pl.DataType]],
    lists: Mapping[str, Sequence[object]] | None = None,
    *,
    file: str | None = None,
    line: int = 1,
    col: int = 1,
    condition: bool = True,
) -> list[ExprError]:
    """Every name, list and type error of ``node`` (FI021–FI023), in text order; no raising.

    For loaders that gather a whole file's problems before reporting (see ``yamlpos.Reader``).
    """
    return _check(node, names, lists, _Origin(file, line, col, None), condition)[1]


def compile_expr(
    node: Node,
    names: Mapping[str, pl.DataType | type[pl.DataType]],
    lists: Mapping[str, Sequence[object]] | None = None,
    *,
    file: str | None = None,
    line: int = 1,
    col: int = 1,
    condition: bool = True,
) -> pl.Expr:
    """A polars expression for ``node``; all its name/list/type errors are raised together.

    ``names`` maps each allowed column or metric to its polars type; ``lists`` maps list names
    (without ``$``) to their values. With ``condition`` (the default, for filters and ``having``)
    the expression must be true/false. Give the ``file``/``line``/``col`` that were given to
    :func:`parse`.
    """
    expr, errors = _check(node, names, lists, _Origin(file, line, col, None), condition)
    raise_all(errors)
    return expr


def compile_text(
    text: str,
    names: Mapping[str, pl.DataType | type[pl.DataType]],
    lists: Mapping[str, Sequence[object]] | None = None,
    *,
    file: str | None = None,
    line: int = 1,
    col: int = 1,
    condition: bool = True,
) -> pl.Expr:
    """:func:`parse` then :func:`compile_expr`; errors carry a ``snippet`` with a ``^``."""
    origin = _Origin(file, line, col, text)
    node = _Parser(_Source(text, origin)).parse()
    expr, errors = _check(node, names, lists, origin, condition)
    raise_all(errors)
    return expr
