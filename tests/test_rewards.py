"""Rewards: every built-in check, the bare-value shorthand, and score's never-raise promise."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolforge.evolve.rewards import (
    CallableCheck,
    ExactCheck,
    ExpectationError,
    JsonCheck,
    NumberCheck,
    RegexCheck,
    SetCheck,
    coerce_expectation,
    extract_number,
    is_failure,
    score,
)

# --- exact ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("answer", "reward"), [
    ("Paris", 1.0), ("  paris\n", 1.0), ("PARIS", 1.0), ("Paris, France", 0.0), ("", 0.0),
])
def test_exact_default_is_stripped_and_case_insensitive(answer: str, reward: float) -> None:
    assert score(answer, ExactCheck(value="Paris")) == reward


def test_exact_options() -> None:
    assert score("paris", ExactCheck(value="Paris", case_sensitive=True)) == 0.0
    assert score(" Paris", ExactCheck(value="Paris", strip=False)) == 0.0
    assert score("Paris", ExactCheck(value="Paris", case_sensitive=True, strip=False)) == 1.0


# --- number ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("42", (42.0, False)),
    ("The answer is 42.", (42.0, False)),
    ("first 3, then 7", (7.0, False)),  # the LAST number
    ("total: 1,234.5 USD", (1234.5, False)),
    ("1,234,567", (1234567.0, False)),
    ("x = -3e2", (-300.0, False)),
    ("2.5E-3", (0.0025, False)),
    ("\u22125 degrees", (-5.0, False)),  # unicode minus
    ("growth of 42%", (42.0, True)),
    ("42 %", (42.0, True)),
    ("pages 10-20", (20.0, False)),  # a hyphen is not a minus sign
    ("version 1.2.3", (1.2, False)),
    ("list: 1,5", (5.0, False)),  # not a thousands group: two numbers
    (".5", (0.5, False)),
    ("+7", (7.0, False)),
    ("no digits here", None),
    ("H2O and v2", None),  # digits glued to a word are not numbers
    # scientific notation as written in science answers
    ("6.022 × 10^23 mol⁻¹", (6.022e23, False)),
    ("3x10^8 m/s", (3e8, False)),
    ("2 * 10**5 Pa", (2e5, False)),
    ("1.0 x 10^(-4)", (1e-4, False)),
    ("1.6·10⁻¹⁹ C", (1.6e-19, False)),
    ("−1.5 × 10^−2", (-0.015, False)),
    ("2 × 3", (3.0, False)),  # a product of plain numbers is not an exponent
])
def test_extract_number(text: str, expected: tuple[float, bool] | None) -> None:
    got = extract_number(text)
    if expected is None:
        assert got is None
    else:
        assert got is not None
        assert got[0] == pytest.approx(expected[0])
        assert got[1] == expected[1]


def test_number_check_tolerances() -> None:
    assert score("3.14159", NumberCheck(value=3.14159)) == 1.0
    assert score("3.14", NumberCheck(value=3.14159)) == 0.0
    assert score("3.14", NumberCheck(value=3.14159, abs_tol=0.01)) == 1.0
    assert score("1000001", NumberCheck(value=1_000_000, rel_tol=1e-5)) == 1.0
    assert score("-0", NumberCheck(value=0)) == 1.0


def test_number_percent_matches_both_readings() -> None:
    assert score("42%", NumberCheck(value=42)) == 1.0
    assert score("42%", NumberCheck(value=0.42)) == 1.0
    assert score("42", NumberCheck(value=0.42)) == 0.0


def test_number_without_a_number_or_with_infinity() -> None:
    assert score("I don't know", NumberCheck(value=1)) == 0.0
    assert score("1e999", NumberCheck(value=1)) == 0.0  # overflows to inf: not close


def test_number_check_rejects_non_finite_values() -> None:
    with pytest.raises(ExpectationError):
        coerce_expectation({"kind": "number", "value": float("nan")})
    with pytest.raises(ExpectationError):
        coerce_expectation(float("inf"))


# --- set ------------------------------------------------------------------------------------


def test_set_split_and_normalised() -> None:
    check = SetCheck(value=["red", "green", "blue"])
    assert score("Blue, red; green", check) == 1.0
    assert score("red\ngreen\nblue\n", check) == 1.0
    assert score("- red\n- green\n- blue", check) == 1.0  # a bulleted list
    assert score("1. red\n2. green\n3. blue", check) == 1.0
    assert score('"red", "green", "blue"', check) == 1.0


def test_set_json_list_answer() -> None:
    assert score('The colours: ["red", "green", "blue"]', SetCheck(value=["red", "green",
                                                                            "blue"])) == 1.0
    assert score("[1, 2, 3]", SetCheck(value=["3", "2", "1"])) == 1.0
    assert score("[1, 2, 3]", coerce_expectation({"kind": "set", "value": [1, 2, 3]})) == 1.0


def test_set_partial_credit_is_jaccard() -> None:
    check = SetCheck(value=["a", "b", "c"])
    assert score("a, b", check) == pytest.approx(2 / 3)
    assert score("a, b, c, d", check) == pytest.approx(3 / 4)
    assert score("a, x", check) == pytest.approx(1 / 4)
    assert score("x, y", check) == 0.0
    assert score("a, a, b, c", check) == 1.0  # a set: repeats do not count


def test_set_case_and_empty() -> None:
    assert score("A, B", SetCheck(value=["a", "b"], case_sensitive=True)) == 0.0
    assert score("", SetCheck(value=[])) == 1.0
    assert score("a", SetCheck(value=[])) == 0.0
    assert score("", SetCheck(value=["a"])) == 0.0


# --- regex ----------------------------------------------------------------------------------


def test_regex_search_fullmatch_and_flags() -> None:
    assert score("order #A-123 shipped", RegexCheck(pattern=r"A-\d{3}")) == 1.0
    assert score("order #A-123 shipped", RegexCheck(pattern=r"A-\d{3}", fullmatch=True)) == 0.0
    assert score("  A-123 ", RegexCheck(pattern=r"A-\d{3}", fullmatch=True)) == 1.0
    assert score("a-123", RegexCheck(pattern=r"A-\d{3}")) == 0.0
    assert score("a-123", RegexCheck(pattern=r"A-\d{3}", flags="i")) == 1.0
    assert score("x\nend", RegexCheck(pattern=r"^end$", flags="m")) == 1.0


def test_regex_errors_are_caught_when_the_check_is_made() -> None:
    with pytest.raises(ExpectationError, match="invalid regex"):
        coerce_expectation({"kind": "regex", "pattern": "("})
    with pytest.raises(ExpectationError, match="unknown regex flag"):
        coerce_expectation({"kind": "regex", "pattern": "a", "flags": "q"})


# --- json -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("answer", "reward"), [
    ('{"a": 1, "b": [1, 2]}', 1.0),
    ('{"b": [1, 2], "a": 1.0}', 1.0),  # key order and 1 == 1.0
    ('Here you go:\n```json\n{"a": 1, "b": [1, 2]}\n```', 1.0),
    ("{'a': 1, 'b': [1, 2],}", 1.0),  # python-style, trailing comma
    ('{"a": 1, "b": [2, 1]}', 0.0),  # lists keep their order
    ('{"a": 1}', 0.0),
    ('{"a": true, "b": [1, 2]}', 0.0),  # true is not 1
    ('{"a": 1, "b": [1, 2', 0.0),  # truncated
    ("no json", 0.0),
])
def test_json_semantic_equality(answer: str, reward: float) -> None:
    assert score(answer, JsonCheck(value={"a": 1, "b": [1, 2]})) == reward


def test_json_float_tolerance_and_scalars() -> None:
    assert score('{"x": 0.30000000000000004}', JsonCheck(value={"x": 0.3})) == 1.0
    assert score('{"x": 0.31}', JsonCheck(value={"x": 0.3})) == 0.0
    assert score('{"x": 0.31}', JsonCheck(value={"x": 0.3}, abs_tol=0.02)) == 1.0
    assert score("null", JsonCheck(value=None)) == 1.0
    assert score("true", JsonCheck(value=True)) == 1.0
    assert score('"Paris"', JsonCheck(value="Paris")) == 1.0
    assert score("Paris", JsonCheck(value="Paris")) == 1.0


# --- python ---------------------------------------------------------------------------------


def test_callable_check() -> None:
    def long_enough(answer: str | None) -> bool:
        return answer is not None and len(answer) > 3

    check = CallableCheck(fn=long_enough)
    assert check.name.endswith("long_enough")
    assert check.model_dump(mode="json") == {"kind": "python", "name": check.name}
    assert score("hello", check) == 1.0
    assert score("hi", check) == 0.0
    assert score("x", CallableCheck(fn=lambda a: 0.25)) == 0.25
    assert score("x", CallableCheck(fn=lambda a: 7)) == 1.0  # clamped
    assert score("x", CallableCheck(fn=lambda a: float("nan"))) == 0.0
    assert score("x", CallableCheck(fn=lambda a: "yes")) == 0.0
    assert score("x", CallableCheck(fn=lambda a: 1 / 0)) == 0.0  # a buggy check scores 0
    assert score("hello", long_enough) == 1.0  # a bare function is a python check


def test_python_check_cannot_come_from_data() -> None:
    with pytest.raises(ExpectationError, match="python"):
        coerce_expectation({"kind": "python", "name": "os.system"})


# --- coercion and failure -------------------------------------------------------------------


def test_bare_values() -> None:
    assert coerce_expectation("Paris") == ExactCheck(value="Paris")
    assert coerce_expectation(42) == NumberCheck(value=42)
    assert coerce_expectation(2.5) == NumberCheck(value=2.5)
    assert coerce_expectation([1, 2]) == JsonCheck(value=[1, 2])
    assert coerce_expectation({"a": 1}) == JsonCheck(value={"a": 1})
    assert coerce_expectation(True) == JsonCheck(value=True)
    assert coerce_expectation(None) is None
    check = SetCheck(value=["a"])
    assert coerce_expectation(check) is check


def test_dicts_with_kind() -> None:
    assert coerce_expectation({"kind": "set", "value": ["a"]}) == SetCheck(value=["a"])
    wrapped = coerce_expectation({"kind": "json", "value": {"kind": "cat"}})
    assert wrapped == JsonCheck(value={"kind": "cat"})
    with pytest.raises(ExpectationError, match="unknown check kind 'cat'") as info:
        coerce_expectation({"kind": "cat"})
    assert info.value.hint and '"kind": "json"' in info.value.hint
    with pytest.raises(ExpectationError, match="invalid number check"):
        coerce_expectation({"kind": "number", "value": "lots"})
    with pytest.raises(ExpectationError, match="invalid exact check"):
        coerce_expectation({"kind": "exact", "value": "a", "typo": 1})


def test_score_none_and_non_text_answers() -> None:
    for check in (ExactCheck(value="a"), NumberCheck(value=1), SetCheck(value=["a"]),
                  RegexCheck(pattern=".*"), JsonCheck(value=None)):
        assert score(None, check) == 0.0
    assert score(42, NumberCheck(value=42)) == 1.0  # non-text answers are scored as JSON
    assert score(["a", "b"], SetCheck(value=["a", "b"])) == 1.0
    with pytest.raises(ExpectationError):
        score("a", None)


def test_is_failure() -> None:
    assert is_failure(0.49)
    assert not is_failure(0.5)
    assert is_failure(0.7, threshold=0.8)
    assert not is_failure(1.0)


_CHECKS = [
    ExactCheck(value="Paris"),
    NumberCheck(value=3.5),
    NumberCheck(value=-1e6, rel_tol=0.1),
    SetCheck(value=["a", "b", "c"]),
    SetCheck(value=[]),
    RegexCheck(pattern=r"^\d+$", fullmatch=True),
    RegexCheck(pattern=r"(a|b)*c", flags="is"),
    JsonCheck(value={"a": [1, 2.5, None, True]}),
    JsonCheck(value="text"),
    JsonCheck(value=[]),
]
# Text that looks like answers: digits, separators, brackets, quotes, fences, JSON words.
_TOKENS = [*"0123456789.,;-+eE%[]{}\"':`\n abc\u2212", "true", "null", "```json", "NaN",
           "1e999", "\\"]
_ANSWERY = st.lists(st.sampled_from(_TOKENS), max_size=60).map("".join)


@settings(max_examples=150, deadline=None)
@given(answer=st.one_of(st.text(), _ANSWERY, st.none()),
       index=st.integers(min_value=0, max_value=len(_CHECKS) - 1))
def test_score_never_raises_and_stays_in_range(answer: str | None, index: int) -> None:
    reward = score(answer, _CHECKS[index])
    assert isinstance(reward, float)
    assert 0.0 <= reward <= 1.0
