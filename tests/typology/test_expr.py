"""The rule expression language: parsing, compilation to polars, errors, and a reference evaluator."""

from __future__ import annotations

import math
import re
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from finintel.errors import ConfigError, ErrorList, FinintelError
from finintel.schema import TRANSFERS
from finintel.typology.expr import (
    KEYWORDS,
    Between,
    Binary,
    Boolean,
    Call,
    ExprError,
    In,
    InList,
    IsNull,
    Like,
    Name,
    Neg,
    Node,
    Not,
    Null,
    Number,
    Pos,
    String,
    caret,
    check_expr,
    compile_expr,
    compile_text,
    parse,
    referenced_lists,
    referenced_names,
    thresholds,
    to_sql,
    walk,
)
from finintel.yamlpos import load_text

# a small transfers-like frame ------------------------------------------------------------

NAMES: dict[str, pl.DataType] = {
    "tx_id": pl.String(),
    "amount": pl.Float64(),
    "amount_base": pl.Float64(),
    "dst_country": pl.String(),
    "reference": pl.String(),
    "n": pl.Int64(),
    "distinct_senders": pl.UInt32(),
    "ts": pl.Datetime("us", "UTC"),
    "flag": pl.Boolean(),
}
LISTS = {"transit_countries": ["LY", "TR"], "round_amounts": [1000, 5000], "none": []}


def _ts(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


FRAME = pl.DataFrame(
    {
        "tx_id": ["t0", "t1", "t2", "t3", "t4", "t5"],
        "amount": [950.0, 1000.0, 999.99, None, 12.5, 5000.0],
        "amount_base": [950.0, 1000.0, 999.99, None, 12.5, 5000.0],
        "dst_country": ["LY", "FR", "TR", "LY", None, "ly"],
        "reference": ["inv. (1)", "a_b", "50%", None, "it's", "INV.X1"],
        "n": [1, 2, None, 4, 5, -3],
        "distinct_senders": pl.Series([5, 1, 7, 0, 2, 3], dtype=pl.UInt32),
        "ts": [
            _ts(2025, 1, 6, 13, 5),  # Monday
            _ts(2025, 1, 12, 23, 59),  # Sunday
            _ts(2025, 1, 7, 0, 0),
            None,
            _ts(2024, 12, 31, 9, 30),
            _ts(2025, 1, 10, 18, 0),
        ],
        "flag": [True, False, None, True, None, False],
    },
    schema=NAMES,
)


def rows(text: str, lists: dict[str, list[Any]] | None = None) -> list[str]:
    """The tx ids of FRAME for which the condition is true."""
    expr = compile_text(text, NAMES, LISTS if lists is None else lists)
    return FRAME.lazy().filter(expr).collect()["tx_id"].to_list()


def values(text: str) -> list[Any]:
    """The value of a (not necessarily true/false) expression on every row of FRAME."""
    expr = compile_text(text, NAMES, LISTS, condition=False)
    return FRAME.with_columns(expr.alias("_v"))["_v"].to_list()


# parsing ---------------------------------------------------------------------------------


def full(node: Node) -> str:
    """Fully parenthesised rendering, to make precedence visible."""
    match node:
        case Binary(op=op, left=left, right=right):
            return f"({full(left)} {op} {full(right)})"
        case Not(operand=o):
            return f"(not {full(o)})"
        case Neg(operand=o):
            return f"(-{full(o)})"
        case Between(operand=o, low=lo, high=hi, negated=neg):
            return f"({full(o)} {'not ' * neg}between {full(lo)} and {full(hi)})"
        case In(operand=o, values=vs, negated=neg):
            return f"({full(o)} {'not ' * neg}in ({', '.join(full(v) for v in vs)}))"
        case IsNull(operand=o, negated=neg):
            return f"({full(o)} is {'not ' * neg}null)"
        case Like() | InList() | Call():
            return f"[{to_sql(node)}]"
        case _:
            return to_sql(node)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a or b and c", "(a or (b and c))"),
        ("a and b or c", "((a and b) or c)"),
        ("a or b or c", "((a or b) or c)"),
        ("not a and b", "((not a) and b)"),
        ("not a or not b", "((not a) or (not b))"),
        ("not not a", "(not (not a))"),
        ("not a = 1", "(not (a = 1))"),
        ("a = 1 and b = 2 or c = 3", "(((a = 1) and (b = 2)) or (c = 3))"),
        ("a + b * c", "(a + (b * c))"),
        ("a * b + c", "((a * b) + c)"),
        ("a - b - c", "((a - b) - c)"),
        ("a / b * c % d", "(((a / b) * c) % d)"),
        ("(a + b) * c", "((a + b) * c)"),
        ("-a * b", "((-a) * b)"),
        ("- -a", "(-(-a))"),
        ("a - -1", "(a - (-1))"),
        ("a + 1 > b * 2", "((a + 1) > (b * 2))"),
        ("a between 1 and 2 and b", "((a between 1 and 2) and b)"),
        ("a not between 1 + 1 and 2 * 3 or c", "((a not between (1 + 1) and (2 * 3)) or c)"),
        ("a in (1, 2) and b is not null", "((a in (1, 2)) and (b is not null))"),
        ("not a is null", "(not (a is null))"),
        ("a == 1 or a <> 2", "((a = 1) or (a != 2))"),
        ("AND_X = 1 AND Or_y = 2", "((AND_X = 1) and (Or_y = 2))"),
    ],
)
def test_precedence(text: str, expected: str) -> None:
    assert full(parse(text)) == expected


def test_ast_shapes() -> None:
    node = parse("dst_country NOT IN $transit_countries AND Lower(ref) LIKE 'a!%%' ESCAPE '!'")
    assert node == Binary(
        "and",
        InList(Name("dst_country"), "transit_countries", negated=True),
        Like(Call("lower", (Name("ref"),)), "a!%%", escape="!"),
    )
    assert parse("1_000 + 0.9 + .5 + 1e3") == Binary(
        "+",
        Binary("+", Binary("+", Number(1000), Number(0.9)), Number(0.5)),
        Number(1000.0),
    )
    assert isinstance(parse("1_000").value, int)  # type: ignore[attr-defined]
    assert parse("'it''s'") == String("it's")
    assert parse("TRUE or False or NULL") == Binary(
        "or", Binary("or", Boolean(True), Boolean(False)), Null()
    )
    assert parse("x is not null") == IsNull(Name("x"), negated=True)
    assert parse("x not like 'a'") == Like(Name("x"), "a", negated=True)
    assert parse("x in ('a', -1)") == In(Name("x"), (String("a"), Neg(Number(1))))


def test_positions_are_kept_but_not_compared() -> None:
    node = parse("a = 1 and\n  bb > 2")
    assert isinstance(node, Binary)
    assert node.op_at == Pos(0, 6)
    assert node.right.at == Pos(1, 2)
    assert isinstance(node.right, Binary)
    assert node.right.op_at == Pos(1, 5)
    assert node == parse("a=1 and bb>2")


def test_referenced_names_and_lists() -> None:
    node = parse(
        "dst_country in $transit_countries and amount_base between 900 and 999.99 "
        "or lower(reference) like 'x%' and src_country not in $high_risk and abs(n) > 1"
    )
    assert referenced_names(node) == {"dst_country", "amount_base", "reference", "src_country", "n"}
    assert referenced_lists(node) == {"transit_countries", "high_risk"}
    assert [type(n).__name__ for n in walk(parse("-a + f(b)"))] == [
        "Binary",
        "Neg",
        "Name",
        "Call",
        "Name",
    ]


def test_thresholds() -> None:
    node = parse("distinct_senders >= 5 and 2 < n and (x between -1 and 9.5 and y = 'a') or z > 1")
    assert thresholds(node) == []  # an 'or' at the top: no threshold is required
    node = parse("distinct_senders >= 5 and 2 < n and (x between -1 and 9.5 and y = 'a')")
    assert thresholds(node) == [
        ("distinct_senders", ">=", 5),
        ("n", ">", 2),
        ("x", ">=", -1),
        ("x", "<=", 9.5),
    ]
    assert thresholds(parse("a + 1 > 2 and not b > 3 and c != 0")) == [("c", "!=", 0)]


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("A=1", "A = 1"),
        ("NOT (a = 1 OR b)", "not (a = 1 or b)"),
        ("(a = 1)", "a = 1"),
        ("((a)) + (b)", "a + b"),
        ("a - (b - c)", "a - (b - c)"),
        ("a - (b + c) * d", "a - (b + c) * d"),
        ("-(a + 1)", "-(a + 1)"),
        ("- (-1)", "- -1"),
        ("(not a) = b", "(not a) = b"),
        ("(a = b) = c", "(a = b) = c"),
        ("a in ((b = 1), 2)", "a in (b = 1, 2)".replace("b = 1", "(b = 1)")),
        ("x BETWEEN (a and b) AND c", "x between (a and b) and c"),
        ("x like 'it''s' escape '!'", "x like 'it''s' escape '!'"),
        ("COALESCE(a,b , 1_000)", "coalesce(a, b, 1000)"),
        ("a > 1.50", "a > 1.5"),
        ("a > 1e3", "a > 1000.0"),
        ("a <> 1 or a == 2", "a != 1 or a = 2"),
        ("(a or b) and c", "(a or b) and c"),
        ("a or (b and c)", "a or b and c"),
        ("a and (b and c)", "a and (b and c)"),
    ],
)
def test_to_sql(text: str, canonical: str) -> None:
    assert to_sql(parse(text)) == canonical
    assert parse(canonical) == parse(text)


# evaluation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # comparisons; null compares to null and is filtered out
        ("amount_base = 1000", ["t1"]),
        ("amount_base == 1000", ["t1"]),
        ("amount_base != 1000", ["t0", "t2", "t4", "t5"]),
        ("amount_base <> 1000", ["t0", "t2", "t4", "t5"]),
        ("amount_base < 999.99", ["t0", "t4"]),
        ("amount_base <= 999.99", ["t0", "t2", "t4"]),
        ("amount_base > 999.99", ["t1", "t5"]),
        ("amount_base >= 1_000", ["t1", "t5"]),
        ("dst_country = 'LY'", ["t0", "t3"]),  # exact: 'ly' does not match
        ("dst_country != 'LY'", ["t1", "t2", "t5"]),
        ("dst_country < 'M'", ["t0", "t1", "t3"]),
        ("flag", ["t0", "t3"]),
        ("flag = false", ["t1", "t5"]),
        ("n = 1.0", ["t0"]),
        ("amount = amount_base and n > 1", ["t1", "t4"]),
        # in: values, named lists, numbers, negation; a null operand is never in or not in
        ("dst_country in ('LY', 'TR')", ["t0", "t2", "t3"]),
        ("dst_country not in ('LY', 'TR')", ["t1", "t5"]),
        ("dst_country in $transit_countries", ["t0", "t2", "t3"]),
        ("dst_country not in $transit_countries", ["t1", "t5"]),
        ("amount_base in $round_amounts", ["t1", "t5"]),
        ("n in $round_amounts", []),
        ("n in (1, -3)", ["t0", "t5"]),
        ("n in (1.0, 2.5, 5)", ["t0", "t4"]),
        ("amount in (n * 1000, 12.5)", ["t4"]),
        ("dst_country not in $none", ["t0", "t1", "t2", "t3", "t5"]),
        ("dst_country in $none", []),
        # between is inclusive on both ends
        ("amount_base between 950 and 1000", ["t0", "t1", "t2"]),
        ("amount_base between 950.0 and 999.99", ["t0", "t2"]),
        ("amount_base not between 950 and 1000", ["t4", "t5"]),
        ("n between amount / 1000 and 4", ["t0", "t1"]),
        ("n not between n and n", []),
        # is null
        ("amount is null", ["t3"]),
        ("dst_country is not null and flag is null", ["t2"]),
        # like
        ("reference like 'inv%'", ["t0"]),
        ("lower(reference) like 'inv%'", ["t0", "t5"]),
        ("reference like 'a_b'", ["t1"]),
        ("reference like '%_%'", ["t0", "t1", "t2", "t4", "t5"]),
        ("reference like 'inv. (_)'", ["t0"]),  # '.' and '(' are literal
        ("reference like 'inv_ (1)'", ["t0"]),
        ("reference like 'inv.%'", ["t0"]),
        ("upper(reference) like 'INV.X_'", ["t5"]),
        ("reference like 'INV.X'", []),
        ("reference like '%1'", ["t5"]),
        ("reference like '%(%'", ["t0"]),
        ("reference like '%'", ["t0", "t1", "t2", "t4", "t5"]),
        ("reference not like '%'", []),
        ("reference like '%''%'", ["t4"]),
        ("reference like 'a!_b' escape '!'", ["t1"]),
        ("reference like 'a!_' escape '!'", []),
        ("reference like 'a!_%' escape '!'", ["t1"]),
        ("reference like '50!%' escape '!'", ["t2"]),
        ("reference like '%!%' escape '!'", ["t2"]),
        ("reference not like '%.%'", ["t1", "t2", "t4"]),
        ("reference like '[%'", []),
        # several likes on one operand in an 'or' are one regex: the same rows, nulls as null
        (
            "reference like 'inv%' or reference like 'a!_b' escape '!' or reference like '%''%'",
            ["t0", "t1", "t4"],
        ),
        ("lower(reference) like 'x%' or n = 4 or lower(reference) like 'inv._1'", ["t3", "t5"]),
        ("not (lower(reference) like 'inv%' or lower(reference) like '50%')", ["t1", "t4"]),
        ("reference like 'zz%' or reference like 'yy%' or flag", ["t0", "t3"]),
        ("reference like '[%' or reference like '(%' or reference like '50!%' escape '!'", ["t2"]),
        # logic: Kleene three-valued and/or/not
        ("flag or amount_base > 4000", ["t0", "t3", "t5"]),
        ("not flag", ["t1", "t5"]),
        ("not (flag and amount_base < 100)", ["t0", "t1", "t2", "t5"]),
        ("flag and null", []),
        ("flag or null", ["t0", "t3"]),
        ("not null", []),
        ("null", []),
        # metrics: UInt32 counts do not wrap below zero
        ("distinct_senders >= 5 and n >= 1", ["t0"]),
        ("distinct_senders - 3 < 0", ["t1", "t3", "t4"]),
        # arithmetic and functions
        ("amount_base * 2 - 1 > 1998", ["t1", "t2", "t5"]),
        ("amount_base % 1000 = 0", ["t1", "t5"]),
        ("n / 0 is null", ["t0", "t1", "t2", "t3", "t4", "t5"]),
        ("abs(n) = 3", ["t5"]),
        ("-n = 3", ["t5"]),
        ("round(amount_base) = 1000", ["t1", "t2"]),
        ("round(amount_base, 1) = 1000", ["t1", "t2"]),
        ("round(amount_base, 2) = 999.99", ["t2"]),
        ("length(dst_country) = 2 and upper(dst_country) = 'LY'", ["t0", "t3", "t5"]),
        ("coalesce(dst_country, 'XX') = 'XX'", ["t4"]),
        ("coalesce(amount, n, 0) = 0", []),
        ("least(amount_base, 1000) = 1000", ["t1", "t3", "t5"]),  # nulls are skipped
        ("greatest(n, 3) = 3", ["t0", "t1", "t2", "t5"]),
        ("hour(ts) >= 18", ["t1", "t5"]),
        ("weekday(ts) = 1", ["t0"]),
        ("weekday(ts) in (6, 7)", ["t1"]),
        ("date(ts) = '2025-01-07'", ["t2"]),
        ("date(ts) between '2025-01-06' and '2025-01-07'", ["t0", "t2"]),
        ("'2025-01-01' > date(ts)", ["t4"]),
        ("ts >= '2025-01-12 23:59'", ["t1"]),
        ("ts < '2025-01-06T14:06:00+01:00'", ["t0", "t4"]),
        ("date(ts) in ('2024-12-31', '2025-01-10')", ["t4", "t5"]),
        # the examples of docs/expressions.md
        ("dst_country in $transit_countries and amount_base between 900 and 999.99", ["t0", "t2"]),
        ("distinct_senders >= 5 and n >= 1", ["t0"]),
    ],
)
def test_evaluate(text: str, expected: list[str]) -> None:
    assert rows(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("n + 1", [2, 3, None, 5, 6, -2]),
        ("n / 2", [0.5, 1.0, None, 2.0, 2.5, -1.5]),
        ("7 / n", [7.0, 3.5, None, 1.75, 1.4, -7 / 3]),
        ("n % 3", [1, 2, None, 1, 2, 0]),
        ("-7 % n", [0, 1, None, 1, 3, -1]),  # the sign of the divisor, as in Python
        ("5.5 % n", [0.5, 1.5, None, 1.5, 0.5, -0.5]),
        ("n % 0", [None] * 6),
        ("amount_base / (n - 1)", [None, 1000.0, None, None, 3.125, -1250.0]),
        ("round(n * 1.25, 1)", [1.3, 2.5, None, 5.0, 6.3, -3.8]),  # half away from zero
        ("round(0.5 + n)", [2.0, 3.0, None, 5.0, 6.0, -3.0]),
        ("round(n, 2)", [1, 2, None, 4, 5, -3]),
        ("least(n, 2, amount / 1000)", [0.95, 1.0, 0.99999, 2.0, 0.0125, -3.0]),
        ("greatest(n, null)", [1, 2, None, 4, 5, -3]),
        ("coalesce(n, -1) * 10", [10, 20, -10, 40, 50, -30]),
        ("length(reference)", [8, 3, 3, None, 4, 6]),
        ("lower(dst_country)", ["ly", "fr", "tr", "ly", None, "ly"]),
        ("hour(ts)", [13, 23, 0, None, 9, 18]),
        ("weekday(ts)", [1, 7, 2, None, 2, 5]),
        (
            "date(ts)",
            [
                date(2025, 1, 6),
                date(2025, 1, 12),
                date(2025, 1, 7),
                None,
                date(2024, 12, 31),
                date(2025, 1, 10),
            ],
        ),
        ("null + n", [None] * 6),
        ("n between 2 and amount / 100", [False, True, None, None, False, False]),
        ("not (n between amount / 1000 and 2)", [False, False, None, True, True, True]),
        ("(n in (1, 2)) is null", [False, False, True, False, False, False]),
    ],
)
def test_values(text: str, expected: list[Any]) -> None:
    got = values(text)
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        if isinstance(e, float) and g is not None:
            assert g == pytest.approx(e)
        else:
            assert g == e


def test_null_semantics_of_comparisons() -> None:
    """A comparison with a null value is null, so the row is filtered out either way."""
    assert rows("amount_base > 0") == ["t0", "t1", "t2", "t4", "t5"]
    assert rows("not (amount_base > 0)") == []
    assert rows("amount_base > 0 or amount_base <= 0") == ["t0", "t1", "t2", "t4", "t5"]
    assert rows("dst_country != 'LY'") == ["t1", "t2", "t5"]  # t4 (null) is not "not LY"


def test_categorical_and_small_integer_columns() -> None:
    frame = pl.DataFrame(
        {
            "c": pl.Series(["LY", "FR", None], dtype=pl.Categorical),
            "k": pl.Series([1, 200, 3], dtype=pl.UInt8),
        }
    )
    names = {"c": pl.Categorical(), "k": pl.UInt8}
    expr = compile_text(
        "lower(c) like 'l%' or c in $transit_countries or k * 100 > 10000",
        names,
        LISTS,
    )
    assert frame.with_row_index().filter(expr)["index"].to_list() == [0, 1]


def test_compile_expr_separately_from_parse() -> None:
    node = parse("amount_base between 950 and 1000", file="r.yaml", line=3, col=9)
    expr = compile_expr(node, NAMES, file="r.yaml", line=3, col=9)
    assert FRAME.filter(expr)["tx_id"].to_list() == ["t0", "t1", "t2"]
    assert set(compile_expr(node, NAMES, None).meta.root_names()) == {"amount_base"}


def test_likes_on_one_operand_compute_it_once() -> None:
    text = " or ".join(f"lower(reference) like '{p}%'" for p in ("salary", "wages", "payroll"))
    expr = compile_text(f"{text} or lower(dst_country) like 'l%'", NAMES)
    assert str(expr).count("to_lowercase") == 2  # reference once, dst_country once
    assert FRAME.filter(expr)["tx_id"].to_list() == ["t0", "t3", "t5"]


def test_lists_are_plain_sequences() -> None:
    assert rows("dst_country in $c", {"c": ("FR", "TR")}) == ["t1", "t2"]
    assert rows("n in $c", {"c": [4, 5.0]}) == ["t3", "t4"]


def test_compiled_expressions_are_lazy_and_pushable() -> None:
    expr = compile_text("dst_country in $transit_countries and amount_base > 900", NAMES, LISTS)
    plan = FRAME.lazy().select("tx_id", "dst_country", "amount_base").filter(expr).explain()
    assert "FILTER" in plan or "SELECTION" in plan


# errors ----------------------------------------------------------------------------------


def error_of(text: str, **kwargs: Any) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        compile_text(text, NAMES, LISTS, **kwargs)
    assert not isinstance(info.value, ErrorList)
    return info.value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("amount = (1", "1:12: FI020 expected ')' to close the '(' at 1:10, got end of expression"),
        (
            "a in (1, 2 and 3)",
            "1:12: FI020 expected ',' or ')' after a value in the 'in' list, got 'and'",
        ),
        ("round(a, 2 b", "1:12: FI020 expected ',' or ')' after an argument of round(), got 'b'"),
        ("(a = 1 b", "1:8: FI020 expected ')' to close the '(' at 1:1, got 'b'"),
        ("a = 1 AND", "1:10: FI020 unexpected end of expression"),
        ("a =", "1:4: FI020 unexpected end of expression"),
        ("", "1:1: FI020 empty expression"),
        ("a = 'it''s", "1:5: FI020 unterminated string"),
        ('a = "LY"', "1:5: FI020 unexpected '\"': write text in single quotes, like 'LY'"),
        ("a ! b", "1:3: FI020 unexpected character '!' (use '!=' or 'not')"),
        ("a # b", "1:3: FI020 unexpected character '#'"),
        ("a = 1 b", "1:7: FI020 expected an operator or the end of the expression, got 'b'"),
        ("a = 1)", "1:6: FI020 unmatched ')'"),
        (
            "1 < a < 3",
            "1:7: FI020 unexpected '<' after a comparison (join comparisons with 'and', "
            "or use 'between')",
        ),
        ("a is 5", "1:6: FI020 expected 'null' or 'not null' after 'is', got '5'"),
        ("a not null", "1:7: FI020 expected 'in', 'between' or 'like' after 'not', got 'null'"),
        ("a in x", "1:6: FI020 expected '(' or a named list like $high_risk after 'in', got 'x'"),
        ("a in ()", "1:7: FI020 the list after 'in' is empty"),
        (
            "a between 1 or 2",
            "1:13: FI020 expected 'and' after the lower bound of 'between', got 'or'",
        ),
        ("a like b", "1:8: FI020 expected a text pattern like 'AB%' after 'like', got 'b'"),
        (
            "a like 'x!' escape '!'",
            "1:8: FI020 in a 'like' pattern the escape '!' must be followed by %, _ or itself",
        ),
        (
            "a like 'x' escape 'ab'",
            "1:19: FI020 expected a single character in quotes after 'escape', like '!', "
            "got text 'ab'",
        ),
        ("$x = 1", "1:1: FI020 a named list ($x) can only follow 'in'"),
        ("a in $", "1:6: FI020 expected a list name after '$', like $high_risk"),
        ("a > 1__0", "1:5: FI020 invalid number '1__0'"),
        ("a > 10abc", "1:5: FI020 invalid number '10abc'"),
        ("a > 1.2.3", "1:5: FI020 invalid number '1.2.3'"),
        ("a > 99999999999999999999", "1:5: FI020 number 99999999999999999999 is too large"),
        ("a > 1e999", "1:5: FI020 number 1e999 is too large"),
        ("a.b = 1", "1:2: FI020 unexpected character '.'"),
        ("a = +1", "1:5: FI020 expected a value, a column or '(', got '+'"),
        ("a = and", "1:5: FI020 expected a value, a column or '(', got 'and'"),
    ],
)
def test_syntax_errors(text: str, expected: str) -> None:
    err = error_of(text)
    assert err.code == "FI020"
    assert str(err) == expected
    with pytest.raises(ConfigError):
        parse(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("amout > 5", "1:1: FI021 unknown column or metric 'amout' (did you mean 'amount'?)"),
        ("Amount > 5", "1:1: FI021 unknown column or metric 'Amount' (did you mean 'amount'?)"),
        ("zzz > 5", "1:1: FI021 unknown column or metric 'zzz'"),
        (
            "dst_country in $transit_countrys",
            "1:16: FI022 unknown list '$transit_countrys' (did you mean '$transit_countries'?); "
            "known lists: $none, $round_amounts, $transit_countries",
        ),
        (
            "dst_country in $x",
            "1:16: FI022 unknown list '$x'; known lists: $none, $round_amounts, $transit_countries",
        ),
        ("dst_country = 5", "1:15: FI023 cannot compare dst_country (text) with 5 (a number)"),
        ("5 < dst_country", "1:5: FI023 cannot compare 5 (a number) with dst_country (text)"),
        ("ts > 5", "1:6: FI023 cannot compare ts (a timestamp) with 5 (a number)"),
        ("flag = 1", "1:8: FI023 cannot compare flag (true/false) with 1 (a number)"),
        (
            "amount in ('a', 1)",
            "1:12: FI023 cannot compare amount (a number) with 'a' (text)",
        ),
        (
            "dst_country between 'A' and 3",
            "1:29: FI023 cannot compare dst_country (text) with 3 (a number)",
        ),
        ("dst_country + 1 > 2", "1:1: FI023 '+' needs numbers, but dst_country is text"),
        ("-dst_country = 'x'", "1:2: FI023 '-' needs a number, but dst_country is text"),
        ("amount * 'x' > 2", "1:10: FI023 '*' needs numbers, but 'x' is text"),
        ("amount like 'a%'", "1:1: FI023 'like' needs text, but amount is a number"),
        ("amount and flag", "1:1: FI023 'and' needs true/false, but amount is a number"),
        ("not amount", "1:5: FI023 'not' needs true/false, but amount is a number"),
        ("amount + 1", "1:1: FI023 a condition must be true or false, but amount + 1 is a number"),
        (
            "lowr(dst_country) = 'x'",
            "1:1: FI023 unknown function 'lowr' (did you mean 'lower'?); functions: abs, "
            "coalesce, date, greatest, hour, least, length, lower, round, upper, weekday",
        ),
        ("round(amount, 1, 2) > 1", "1:1: FI023 round() takes 1 or 2 arguments, got 3"),
        ("abs() > 1", "1:1: FI023 abs() takes 1 argument, got 0"),
        ("coalesce(amount) > 1", "1:1: FI023 coalesce() takes at least 2 arguments, got 1"),
        ("hour(amount) = 1", "1:6: FI023 hour() needs a timestamp, but amount is a number"),
        ("upper(n) = 'X'", "1:7: FI023 upper() needs text, but n is a number"),
        (
            "round(amount, n) > 1",
            "1:15: FI023 round() takes a whole number of decimal places (0 or more) as its "
            "second argument, got n",
        ),
        (
            "least(amount, dst_country) > 1",
            "1:15: FI023 least() needs arguments of one type, but dst_country is text and "
            "earlier ones are a number",
        ),
        (
            "dst_country in $round_amounts",
            "1:16: FI023 dst_country is text, but list $round_amounts holds numbers",
        ),
        (
            "amount = null",
            "1:10: FI023 comparison with null is never true; use 'is null' or 'is not null'",
        ),
        (
            "null != amount",
            "1:1: FI023 comparison with null is never true; use 'is null' or 'is not null'",
        ),
        (
            "amount in (1, null)",
            "1:15: FI023 null in an 'in' list never matches; use 'is null' or 'is not null'",
        ),
        (
            "amount between 1 and null",
            "1:22: FI023 'between' with a null bound is never true; use 'is null' or 'is not null'",
        ),
        ("date(ts) = 'x'", "1:12: FI023 'x' is not a date (expected YYYY-MM-DD)"),
        (
            "ts > '2025-13-01'",
            "1:6: FI023 '2025-13-01' is not a timestamp (expected YYYY-MM-DD or "
            "YYYY-MM-DD HH:MM:SS)",
        ),
    ],
)
def test_semantic_errors(text: str, expected: str) -> None:
    assert str(error_of(text)) == expected


def test_mixed_named_lists_are_rejected() -> None:
    with pytest.raises(ConfigError) as info:
        compile_text("n in $l", NAMES, {"l": [1, "1", None]})
    assert str(info.value) == (
        "1:6: FI023 list $l mixes null and numbers and text; "
        "a list must hold only text or only numbers"
    )


def test_no_lists_defined() -> None:
    with pytest.raises(ConfigError) as info:
        compile_text("dst_country in $transit", NAMES)
    assert str(info.value) == "1:16: FI022 unknown list '$transit'; no lists are defined"


def test_error_position_in_a_yaml_file() -> None:
    """An expression whose first character is at line 7, column 13 of rule.yaml."""
    err = error_of("amount_base > 9 and amout < 5", file="rule.yaml", line=7, col=13)
    assert str(err) == (
        "rule.yaml:7:33: FI021 unknown column or metric 'amout' (did you mean 'amount'?)"
    )
    assert err.location is not None
    assert (err.location.file, err.location.line, err.location.col) == ("rule.yaml", 7, 33)
    assert isinstance(err, ExprError)
    assert err.snippet == "amount_base > 9 and amout < 5\n                    ^"
    err = error_of("amount_base > (9 and", file="rule.yaml", line=7, col=13)
    assert str(err) == "rule.yaml:7:33: FI020 unexpected end of expression"
    err = error_of("amount_base > (9 + 1", file="rule.yaml", line=7, col=13)
    assert str(err) == (
        "rule.yaml:7:33: FI020 expected ')' to close the '(' at 7:27, got end of expression"
    )


def test_error_positions_in_a_multi_line_expression() -> None:
    # as in a YAML block scalar whose text starts at line 7, column 13:
    #     having: |
    #       distinct_senders >= 5
    #         and dst_country = 5
    #         and amout > 1 and 'x'
    text = "distinct_senders >= 5\n  and dst_country = 5\n  and amout > 1 and 'x'"
    with pytest.raises(ErrorList) as info:
        compile_text(text, NAMES, LISTS, file="r.yaml", line=7, col=13)
    assert str(info.value) == (
        "r.yaml:8:33: FI023 cannot compare dst_country (text) with 5 (a number)\n"
        "r.yaml:9:19: FI021 unknown column or metric 'amout' (did you mean 'amount'?)\n"
        "r.yaml:9:33: FI023 'and' needs true/false, but 'x' is text"
    )
    assert all(e.code.startswith("FI02") for e in info.value.errors)
    assert info.value.errors[0].snippet == "  and dst_country = 5\n                    ^"  # type: ignore[attr-defined]
    with pytest.raises(ConfigError) as syntax:
        parse("a = 1\n  and (b = 2\n  or", file="r.yaml", line=7, col=13)
    assert str(syntax.value) == "r.yaml:9:17: FI020 unexpected end of expression"


def test_all_semantic_errors_of_one_expression_are_raised_together() -> None:
    text = "amout > 5 and dst_contry in $transit and upper(n) = 'x' or nope(1)"
    with pytest.raises(ErrorList) as info:
        compile_text(text, NAMES, LISTS)
    assert [str(e) for e in info.value.errors] == [
        "1:1: FI021 unknown column or metric 'amout' (did you mean 'amount'?)",
        "1:15: FI021 unknown column or metric 'dst_contry' (did you mean 'dst_country'?)",
        "1:29: FI022 unknown list '$transit' (did you mean '$transit_countries'?); "
        "known lists: $none, $round_amounts, $transit_countries",
        "1:48: FI023 upper() needs text, but n is a number",
        "1:60: FI023 unknown function 'nope'; functions: abs, coalesce, "
        "date, greatest, hour, least, length, lower, round, upper, weekday",
    ]
    assert info.value.code == "FI021"
    node = parse(text)
    assert [e.code for e in check_expr(node, NAMES, LISTS)] == [
        "FI021",
        "FI021",
        "FI022",
        "FI023",
        "FI023",
    ]
    assert check_expr(parse("amount > 1"), NAMES) == []


def test_errors_are_finintel_errors_with_locations() -> None:
    err = error_of("amout > 1", file="f.yaml", line=2, col=3)
    assert isinstance(err, FinintelError)
    assert err.to_dict() == {
        "code": "FI021",
        "message": "unknown column or metric 'amout' (did you mean 'amount'?)",
        "file": "f.yaml",
        "row": None,
        "column": None,
        "line": 2,
        "col": 3,
    }


def test_caret() -> None:
    assert caret("a = 1\n\tb = x", Pos(1, 5)) == "\tb = x\n\t    ^"
    assert caret("", Pos(0, 0)) == "\n^"


# a reference evaluator, and random expressions -------------------------------------------

NUM_COLS = ("i", "f")
TEXT_COLS = ("s", "t")
RANDOM_NAMES: dict[str, pl.DataType] = {
    "i": pl.Int64(),
    "f": pl.Float64(),
    "s": pl.String(),
    "t": pl.String(),
    "b": pl.Boolean(),
}
RANDOM_LISTS: dict[str, list[Any]] = {
    "ints": [1, 2, -3],
    "reals": [0.5, 2, -2.5],
    "words": ["a", "b.", "%", "a(b"],
    "empty": [],
}
ALPHABET = "ab.%_(x' \\[$^*+?{|#-!\n"


def _kleene_and(a: Any, b: Any) -> Any:
    if a is False or b is False:
        return False
    if a is None or b is None:
        return None
    return True


def _kleene_or(a: Any, b: Any) -> Any:
    if a is True or b is True:
        return True
    if a is None or b is None:
        return None
    return False


def _like(value: str, pattern: str, escape: str | None) -> bool:
    out = []
    chars = iter(pattern)
    for ch in chars:
        if escape is not None and ch == escape:
            out.append(re.escape(next(chars)))
        elif ch == "%":
            out.append(".*")
        elif ch == "_":
            out.append(".")
        else:
            out.append(re.escape(ch))
    return re.fullmatch("".join(out), value, re.DOTALL) is not None


def _round(x: Any, n: int) -> Any:
    if isinstance(x, int):
        return x
    m = 10.0**n
    r = x * m
    a = abs(r)
    fl = math.floor(a)
    return math.copysign(fl + 1 if a - fl >= 0.5 else fl, r) / m


def _numeric(values: list[Any]) -> list[Any]:
    """Mixed ints and floats become floats, as polars' supertype does."""
    if any(isinstance(v, float) for v in values):
        return [float(v) if v is not None else None for v in values]
    return values


def evaluate(node: Node, row: dict[str, Any]) -> Any:
    """The obviously-correct meaning of an expression on one row (None is SQL null)."""
    ev = evaluate
    match node:
        case Number(value=v) | String(value=v) | Boolean(value=v):
            return v
        case Null():
            return None
        case Name(name=name):
            return row[name]
        case Neg(operand=o):
            v = ev(o, row)
            return None if v is None else -v
        case Not(operand=o):
            v = ev(o, row)
            return None if v is None else not v
        case Binary(op="and", left=left, right=right):
            return _kleene_and(ev(left, row), ev(right, row))
        case Binary(op="or", left=left, right=right):
            return _kleene_or(ev(left, row), ev(right, row))
        case Binary(op=op, left=left, right=right):
            a, b = ev(left, row), ev(right, row)
            if a is None or b is None:
                return None
            if op == "=":
                return a == b
            if op == "!=":
                return a != b
            if op == "<":
                return a < b
            if op == "<=":
                return a <= b
            if op == ">":
                return a > b
            if op == ">=":
                return a >= b
            if op == "+":
                return a + b
            if op == "-":
                return a - b
            if op == "*":
                return a * b
            if b == 0:
                return None  # division and remainder by zero are null
            if op == "/":
                return a / b
            if isinstance(a, float) or isinstance(b, float):
                q = a / b  # polars' float remainder; an overflowing quotient stays infinite
                return a - b * (q if math.isinf(q) else math.floor(q))
            return a % b
        case In(operand=o, values=vs, negated=neg):
            v = ev(o, row)
            hit = False  # x in (a, b) is x = a or x = b, with SQL's nulls
            for x in vs:
                e = ev(x, row)
                hit = _kleene_or(hit, None if v is None or e is None else v == e)
            return None if hit is None else (not hit if neg else hit)
        case InList(operand=o, name=name, negated=neg):
            v = ev(o, row)
            if v is None:
                return None
            hit = v in RANDOM_LISTS[name]
            return not hit if neg else hit
        case Between(operand=o, low=lo, high=hi, negated=neg):
            v, a, b = ev(o, row), ev(lo, row), ev(hi, row)
            ge = None if v is None or a is None else v >= a
            le = None if v is None or b is None else v <= b
            r = _kleene_and(ge, le)
            return None if r is None else (not r if neg else r)
        case IsNull(operand=o, negated=neg):
            return (ev(o, row) is not None) if neg else (ev(o, row) is None)
        case Like(operand=o, pattern=p, negated=neg, escape=esc):
            v = ev(o, row)
            if v is None:
                return None
            hit = _like(v, p, esc)
            return not hit if neg else hit
        case Call(name=name, args=args):
            vs = [ev(a, row) for a in args]
            if name == "coalesce":
                return next((v for v in _numeric(vs) if v is not None), None)
            if name in ("least", "greatest"):
                present = [v for v in _numeric(vs) if v is not None]
                if not present:
                    return None
                return min(present) if name == "least" else max(present)
            if vs[0] is None:
                return None
            if name == "abs":
                return abs(vs[0])
            if name == "round":
                return _round(vs[0], vs[1] if len(vs) > 1 else 0)
            if name == "lower":
                return vs[0].lower()
            if name == "upper":
                return vs[0].upper()
            if name == "length":
                return len(vs[0])
    raise AssertionError(f"no reference meaning for {node!r}")


INTS = st.integers(min_value=0, max_value=20).map(Number)
FLOATS = st.sampled_from([0.0, 0.5, 1.0, 2.5, 3.25, 7.0, 0.1, 100.0]).map(Number)
TEXTS = st.text(alphabet=ALPHABET, max_size=4).map(String)


def _num(depth: int) -> st.SearchStrategy[Node]:
    leaf: st.SearchStrategy[Node] = st.one_of(st.sampled_from(NUM_COLS).map(Name), INTS, FLOATS)
    if depth == 0:
        return leaf
    sub = _num(depth - 1)
    sub_or_null = st.one_of(sub, st.just(Null()))
    return st.one_of(
        leaf,
        st.builds(Binary, st.sampled_from("+-*/%"), sub_or_null, sub_or_null),
        st.builds(Neg, sub),
        st.builds(lambda a: Call("abs", (a,)), sub_or_null),
        st.builds(lambda a, n: Call("round", (a, Number(n))), sub, st.integers(0, 3)),
        st.builds(lambda a: Call("round", (a,)), sub),
        st.builds(
            lambda name, xs: Call(name, tuple(xs)),
            st.sampled_from(["coalesce", "least", "greatest"]),
            st.lists(sub_or_null, min_size=2, max_size=3),
        ),
        st.builds(lambda a: Call("length", (a,)), _text(depth - 1)),
    )


def _text(depth: int) -> st.SearchStrategy[Node]:
    leaf: st.SearchStrategy[Node] = st.one_of(st.sampled_from(TEXT_COLS).map(Name), TEXTS)
    if depth == 0:
        return leaf
    sub = _text(depth - 1)
    return st.one_of(
        leaf,
        st.builds(lambda name, a: Call(name, (a,)), st.sampled_from(["lower", "upper"]), sub),
        st.builds(lambda xs: Call("coalesce", tuple(xs)), st.lists(sub, min_size=2, max_size=3)),
    )


@st.composite
def _like_pattern(draw: st.DrawFn) -> tuple[str, str | None]:
    escape = draw(st.sampled_from([None, "!"]))
    pieces = list("ab.(x'\\[$^*+?{|#-\n%_") + (["!%", "!_", "!!"] if escape else [])
    return "".join(draw(st.lists(st.sampled_from(pieces), max_size=5))), escape


def _bool(depth: int) -> st.SearchStrategy[Node]:
    leaf: st.SearchStrategy[Node] = st.one_of(st.just(Name("b")), st.booleans().map(Boolean))
    if depth == 0:
        return leaf
    sub = _bool(depth - 1)
    num, text = _num(depth - 1), _text(depth - 1)
    ops = st.sampled_from(["=", "!=", "<", "<=", ">", ">="])
    return st.one_of(
        leaf,
        st.builds(Binary, ops, num, num),
        st.builds(Binary, ops, text, text),
        st.builds(Binary, st.sampled_from(["=", "!="]), sub, sub),
        st.builds(Binary, st.sampled_from(["and", "or"]), sub, st.one_of(sub, st.just(Null()))),
        st.builds(Not, st.one_of(sub, st.just(Null()))),
        st.builds(
            In,
            num,
            st.lists(
                st.one_of(INTS, FLOATS, st.builds(Neg, INTS), num), min_size=1, max_size=3
            ).map(tuple),
            st.booleans(),
        ),
        st.builds(In, text, st.lists(TEXTS, min_size=1, max_size=3).map(tuple), st.booleans()),
        st.builds(InList, num, st.sampled_from(["ints", "reals", "empty"]), st.booleans()),
        st.builds(InList, text, st.sampled_from(["words", "empty"]), st.booleans()),
        st.builds(Between, num, num, num, st.booleans()),
        st.builds(IsNull, st.one_of(num, text, sub, st.just(Null())), st.booleans()),
        st.builds(
            lambda subject, pe, neg: Like(subject, pe[0], neg, pe[1]),
            text,
            _like_pattern(),
            st.booleans(),
        ),
    )


EXPRESSIONS = st.one_of(_bool(3), _num(3), _text(2))

ROWS = st.lists(
    st.fixed_dictionaries(
        {
            "i": st.one_of(st.none(), st.integers(-20, 20)),
            "f": st.one_of(
                st.none(),
                st.sampled_from([0.0, -1.0, 2.5, 0.1, 1e3]),
                st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False),
            ),
            "s": st.one_of(st.none(), st.text(alphabet=ALPHABET, max_size=4)),
            "t": st.one_of(st.none(), st.sampled_from(["a", "b.", "%", "a(b", "AB"])),
            "b": st.one_of(st.none(), st.booleans()),
        }
    ),
    min_size=1,
    max_size=6,
)


def _same(got: Any, want: Any) -> bool:
    if got is None or want is None:
        return got is None and want is None
    if isinstance(want, bool) or isinstance(got, bool):
        return got is want
    if isinstance(want, float) or isinstance(got, float):
        # a few ulps: polars 2.1 divides a column with nulls by a constant through its
        # reciprocal (17 / 3 gives 5.666666666666666)
        return math.isclose(float(got), float(want), rel_tol=4 * sys.float_info.epsilon)
    return bool(got == want)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(node=EXPRESSIONS, data=ROWS)
def test_polars_agrees_with_the_reference_evaluator(node: Node, data: list[dict[str, Any]]) -> None:
    # lazy, as the engine runs them (polars 2.1's eager engine fails on `0.0 = coalesce(i, 0)`
    # when i is all null: it returns one row instead of broadcasting)
    frame = pl.LazyFrame(data, schema=RANDOM_NAMES)
    expr = compile_expr(node, RANDOM_NAMES, RANDOM_LISTS, condition=False)
    got = frame.with_columns(expr.alias("_v")).collect()["_v"].to_list()
    want = [evaluate(node, row) for row in data]
    assert all(_same(g, w) for g, w in zip(got, want, strict=True)), (to_sql(node), got, want)
    if not check_expr(node, RANDOM_NAMES, RANDOM_LISTS):  # a condition: use it as a filter
        condition = compile_expr(node, RANDOM_NAMES, RANDOM_LISTS)
        kept = frame.with_row_index().filter(condition).collect()
        assert kept["index"].to_list() == [k for k, w in enumerate(want) if w is True]


# canonical text round trip ---------------------------------------------------------------

IDENTIFIERS = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,6}", fullmatch=True).filter(
    lambda s: s.lower() not in KEYWORDS
)


def _any_tree() -> st.SearchStrategy[Node]:
    leaves: st.SearchStrategy[Node] = st.one_of(
        st.integers(min_value=0, max_value=2**63 - 1).map(Number),
        st.floats(min_value=0, allow_nan=False, allow_infinity=False).map(Number),
        st.text(max_size=5).map(String),
        st.booleans().map(Boolean),
        st.just(Null()),
        IDENTIFIERS.map(Name),
    )

    def extend(sub: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
        ops = st.sampled_from(
            ["or", "and", "=", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "%"]
        )
        return st.one_of(
            st.builds(Binary, ops, sub, sub),
            st.builds(Neg, sub),
            st.builds(Not, sub),
            st.builds(In, sub, st.lists(sub, min_size=1, max_size=3).map(tuple), st.booleans()),
            st.builds(InList, sub, IDENTIFIERS, st.booleans()),
            st.builds(Between, sub, sub, sub, st.booleans()),
            st.builds(IsNull, sub, st.booleans()),
            st.builds(
                lambda s, pe, neg: Like(s, pe[0], neg, pe[1]), sub, _like_pattern(), st.booleans()
            ),
            st.builds(
                Call,
                IDENTIFIERS.map(str.lower),
                st.lists(sub, max_size=3).map(tuple),
            ),
        )

    return st.recursive(leaves, extend, max_leaves=12)


@settings(max_examples=400, deadline=None)
@given(node=_any_tree())
def test_to_sql_round_trips(node: Node) -> None:
    text = to_sql(node)
    again = parse(text)
    assert again == node, text
    assert to_sql(again) == text
    assert [type(n.value) for n in walk(again) if isinstance(n, Number)] == [
        type(n.value) for n in walk(node) if isinstance(n, Number)
    ]


@settings(max_examples=100, deadline=None)
@given(node=_bool(3))
def test_parse_of_to_sql_of_parse(node: Node) -> None:
    """Keywords in any case and extra parentheses parse to the same tree."""
    text = to_sql(node)
    shouted = re.sub(
        r"\b(and|or|not|in|between|is|null|like|true|false)\b(?=(?:[^']*'[^']*')*[^']*$)",
        lambda m: m.group(0).upper(),
        text,
    )
    assert parse(f"( {shouted} )") == parse(text) == node
    assert parse(to_sql(parse(text))) == parse(text)


# the documentation -----------------------------------------------------------------------

DOC = Path(__file__).resolve().parents[2] / "docs" / "expressions.md"


def _doc_examples() -> list[str]:
    found, in_yaml = [], False
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_yaml = line == "```yaml"
            continue
        match = re.match(r"(?:filter|having): (.+)", line) if in_yaml else None
        if match and match.group(1) != "|":
            found.append(match.group(1))
    return found


def test_documented_examples_compile() -> None:
    examples = _doc_examples()
    assert len(examples) >= 8
    names = {**TRANSFERS, "distinct_senders": pl.UInt32(), "distinct_src_countries": pl.UInt32()}
    lists = {"transit_countries": ["LY", "TR"], "high_risk": ["XX", "KP"]}
    frame = pl.LazyFrame(schema=TRANSFERS).with_columns(
        pl.lit(0, dtype=pl.UInt32).alias("distinct_senders"),
        pl.lit(0, dtype=pl.UInt32).alias("distinct_src_countries"),
    )
    for text in examples:
        frame.filter(compile_text(text, names, lists)).collect()


def test_documented_block_scalar_positions() -> None:
    text = "id: smurfing\nhaving: |\n  distinct_senders >= 5\n    and dst_country = 5\n"
    doc = load_text(text, "r.yaml")
    bar_line, _ = doc.lc.value("having")  # 0-based position of the '|'
    first = text.splitlines()[bar_line + 1]
    line, col = bar_line + 2, len(first) - len(first.lstrip(" ")) + 1
    with pytest.raises(ConfigError) as info:
        compile_text(
            doc["having"],
            {"distinct_senders": pl.UInt32(), **TRANSFERS},
            file="r.yaml",
            line=line,
            col=col,
        )
    assert str(info.value) == (
        "r.yaml:4:23: FI023 cannot compare dst_country (text) with 5 (a number)"
    )
