"""``expr:`` steps (``ops.Expression``): every text is checked in bounded time,
constant parts are computed at check time within limits, and valid
expressions evaluate as before."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bigimg.pipeline import ops
from bigimg.pipeline.ops import FUNCTIONS, Expression

#: a hang guard, not a speed test: checks take well under a millisecond
BOUND = 1.0


@pytest.mark.parametrize(
    ("text", "culprit"),
    [
        ("image * 9 ** 9 ** 9", "'9 ** 9 ** 9' is too large"),
        ("image * 10 ** 10 ** 10", "'10 ** 10 ** 10' is too large"),
        ("image * 2 ** " + "9" * 400, "is too large (at least"),  # no float estimate
        ("image + 2 ** 9999 * 2 ** 9999", "'2 ** 9999 * 2 ** 9999' is too large"),
        ("image ** 10 ** 100", "'10 ** 100' is an integer of 333 bits"),
        ("image + 2 ** 64", "'2 ** 64' is an integer of 65 bits"),
        ("image * 99999999999999999999999", "'99999999999999999999999' is an integer"),
        ("astype(2 ** 70, 'uint8')", "'2 ** 70'"),
        ("image * (1 / 0)", "'1 / 0' divides by zero"),
        ("image + 5 % 0", "'5 % 0' divides by zero"),
        ("image + 0 ** -1", "divides by zero"),
        ("image * 1e309", "'1e309' overflows a float"),
        ("image * (1e308 * 10 - 1e308 * 10)", "'1e+308 * 10' overflows a float"),
        ("image * 10.0 ** 400", "'10.0 ** 400' is too large for a float"),
        ("image * (2 ** 5000 / 3)", "'2 ** 5000 / 3' is too large for a float"),
        ("image * (-8) ** 0.5", "'(-8) ** 0.5' is not a real number"),
        ("image + (1.5 & 2)", "'1.5 & 2'"),
        ("image + ~1.5", "'~1.5'"),
    ],
)
def test_constants_that_cannot_be_computed_or_held_are_refused(text: str, culprit: str) -> None:
    start = time.perf_counter()
    with pytest.raises(ValueError) as info:
        Expression(text)
    assert time.perf_counter() - start < BOUND
    message = str(info.value)
    assert message.startswith(f"expr {text[:40]!r}"[:-1]), message  # long texts cut short
    assert culprit in message, message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a" + " + a" * 6000, "longer than 10000 characters"),
        ("(" * 300 + "a" + ")" * 300, "too many nested parentheses"),
        ("-" * 5000 + "a", "nested too deeply"),
        ("a" + "+1" * 3000, "nested too deeply"),
        ("a" + " ** 2" * 150, "too complex"),
        ("+".join(["a"] * 1500), "too complex"),
        ("a\x00", "null bytes"),
        ("9" * 5000, "digits"),
    ],
)
def test_texts_too_long_or_deep_are_refused(text: str, message: str) -> None:
    start = time.perf_counter()
    with pytest.raises(ValueError, match=message) as info:
        Expression(text)
    assert time.perf_counter() - start < BOUND
    assert len(str(info.value)) < 400  # the text is cut short in the message


ARRAYS = {
    "a": np.array([-2.0, -0.5, 0.0, 0.5, 3.0]),
    "b": np.array([1.0, 2.0, -1.0, 0.0, 7.5]),
    "image": np.array([0.25, 1.0, 2.0, 0.0, -1.5]),
}


def _python(text: str) -> Any:
    """``text`` evaluated by Python itself, the reference."""

    def astype(x: Any, dtype: str) -> Any:
        return np.asarray(x).astype(dtype)

    return eval(text, {"__builtins__": {}}, {**FUNCTIONS, **ARRAYS, "astype": astype})


@pytest.mark.parametrize(
    "text",
    [
        "image ** 1000000",
        "image ** 10 ** 18",
        "image + 2 ** 63",
        "image - 2 ** 63",
        "-9223372036854775808 + image",
        "2 ** 70 // 2 ** 10 * image",
        "2 ** -10000 * a",
        "(2 ** 9999) % 7 * a",
        "a + 2 * b",
        "3 * 4 + a",
        "where(1 < 2, a, b)",
        "hypot(a, b) / (1 + 2 ** 0.5)",
        "a * -(-3) ** 2",
        "astype(a > 0, 'uint8') + 2 ** 7",
    ],
)
def test_valid_expressions_evaluate_as_python_does(text: str) -> None:
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(Expression(text).evaluate(ARRAYS), _python(text))


def test_constant_parts_are_computed_once_at_check_time() -> None:
    e = Expression("2 ** 10 * a + (3 - 1)")
    assert e.names == ("a",)
    np.testing.assert_array_equal(e.evaluate(ARRAYS), 1024 * ARRAYS["a"] + 2)
    assert Expression("2 + 3").evaluate({}) == 5


NAMES = st.sampled_from(["image", "a", "b"])
NUMBERS = st.one_of(
    st.integers(min_value=0, max_value=12).map(str),
    st.integers(min_value=0, max_value=2**80).map(str),
    st.sampled_from(["9", "10", "2", "0", "0.5", "1e308", "1e309", "9" * 400]),
    st.floats(allow_nan=False, allow_infinity=False, min_value=0).map(repr),
)
BINARY = st.sampled_from(["+", "-", "*", "/", "//", "%", "**", "&", "|", "^", "<", "==", "<<"])
UNARY = st.sampled_from(["-", "+", "~"])


def _grammar(valid_only: bool) -> st.SearchStrategy[str]:
    ops_ = BINARY.filter(lambda o: o not in "&|^<<") if valid_only else BINARY

    def extend(kids: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        parts = [
            st.tuples(kids, ops_, kids).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(UNARY.filter(lambda u: u != "~"), kids).map(lambda t: f"{t[0]}({t[1]})"),
            st.tuples(st.sampled_from(["sqrt", "exp", "abs", "log"]), kids).map(
                lambda t: f"{t[0]}({t[1]})"
            ),
            st.tuples(st.sampled_from(["hypot", "minimum", "maximum"]), kids, kids).map(
                lambda t: f"{t[0]}({t[1]}, {t[2]})"
            ),
        ]
        if not valid_only:  # no parentheses: power towers, chained comparisons, ...
            parts.append(st.tuples(kids, ops_, kids).map(lambda t: f"{t[0]} {t[1]} {t[2]}"))
            parts.append(st.tuples(UNARY, kids).map(lambda t: f"{t[0]}{t[1]}"))
            parts.append(st.tuples(st.sampled_from(["foo", "astype", "where"]), kids).map(
                lambda t: f"{t[0]}({t[1]})"
            ))  # fmt: skip
        return st.one_of(*parts)

    leaves = st.one_of(NAMES, NUMBERS)
    return st.recursive(leaves, extend, max_leaves=30)


HOSTILE = st.one_of(
    _grammar(valid_only=False),
    st.text(alphabet="()*+-~/%<>=&|^ 0123456789.eabsqrt,'", max_size=300),
    st.integers(min_value=1, max_value=6000).flatmap(
        lambda n: st.sampled_from(
            ["(" * n + "a" + ")" * n, "-" * n + "a", "a" + " ** 9" * n, "9 **" * n + " 9"]
        )
    ),
)


@given(HOSTILE)
def test_any_text_is_checked_in_bounded_time(text: str) -> None:
    start = time.perf_counter()
    try:
        Expression(text)
    except ValueError:
        pass
    assert time.perf_counter() - start < BOUND, text[:200]


@given(_grammar(valid_only=True))
def test_checked_expressions_evaluate_as_python_does(text: str) -> None:
    try:
        expression = Expression(text)
    except ValueError:
        return  # refused in bounded time; the property above
    with np.errstate(all="ignore"):
        try:
            expected = _python(text)
        except (ArithmeticError, ValueError, TypeError) as exc:
            with pytest.raises(type(exc)):
                expression.evaluate(ARRAYS)
            return
        np.testing.assert_array_equal(expression.evaluate(ARRAYS), expected)


def test_the_limits_are_documented() -> None:
    for name in ("MAX_EXPR_TEXT", "MAX_EXPR_DEPTH", "MAX_CONSTANT_BITS"):
        assert name in (Expression.__doc__ or "")
        assert isinstance(getattr(ops, name), int)
