"""The parent's judgement of test reports cannot be crashed or talked into a pass.

The reports come from the test's own process. Whatever they hold (any JSON, malformed
tags, wrong counts, unknown check ids, claims about exceptions), the parent either judges
them as plain values or refuses them: it never raises past the harness, and a value that
is not what the assertion compares never holds.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolforge.sandbox.guest import judge
from toolforge.sandbox.process import CallResult
from toolforge.sandbox.testfile import analyse
from toolforge.sandbox.verdict import ProtocolError, TestJudge

SHAPES = [
    ["leaf"], ["cmp", ["=="]], ["cmp", ["<", "<="]], ["not", ["leaf"]],
    ["and", [["leaf"], ["cmp", ["in"]]]], ["or", [["cmp", ["is"]], ["leaf"]]],
    ["isclose", ["rel_tol"]],
]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=20,
)
tags = st.sampled_from(["dict", "tuple", "set", "frozenset", "int", "float", "bytes",
                        "complex", "range", "approx", "class", "opaque", "error", "decimal",
                        "fraction", "datetime", "timedelta", "Counter", "deque", "nope"])
tagged = st.builds(lambda tag, body: {tag: body}, tags, json_values)
leaves = st.lists(json_values | tagged, max_size=6)


@settings(max_examples=300, deadline=None)
@given(shape=st.sampled_from(SHAPES), encoded=leaves)
def test_any_report_is_judged_or_refused_never_raised(shape: list[Any],
                                                      encoded: list[Any]) -> None:
    held, values, why = judge.judge(shape, encoded)
    assert isinstance(held, bool) and isinstance(values, list) and isinstance(why, str)
    if why:
        assert held is False


@pytest.mark.parametrize(("shape", "encoded"), [
    (["cmp", ["=="]], [5]),                                   # too few values
    (["cmp", ["=="]], [5, 5, 5]),                              # too many
    (["leaf"], [{"opaque": "Anything"}]),                      # no trustworthy truth
    (["cmp", ["=="]], [{"opaque": "X"}, {"opaque": "X"}]),     # equal to nothing else
    (["cmp", ["is"]], [[4], [4]]),                             # identity of values
    (["cmp", ["=="]], [{"dict": [[[1], 2]]}, {}]),             # unhashable key
    (["cmp", ["=="]], [{"float": "1e999"}, 1]),                # not a float tag
    (["leaf"], [{"approx": [4, None, None, False]}]),          # approx has no truth
    (["cmp", ["=="]], [5, {"approx": [4, "wide", None, False]}]),  # bad tolerance
    (["cmp", ["<"]], [{"decimal": "sNaN"}, 1]),                # signalling NaN
    (["isclose", []], ["a", "b"]),
    (["cmp", ["=="]], [{"error": "too large"}, 1]),
])
def test_malformed_or_undecidable_reports_do_not_hold(shape: list[Any],
                                                      encoded: list[Any]) -> None:
    assert judge.judge(shape, encoded)[0] is False


def test_values_round_trip_exactly() -> None:
    import collections
    import datetime
    import decimal
    import fractions

    values = [
        (1, 2), {3, 4}, frozenset({5}), b"\x00\xff", bytearray(b"x"), 3 + 4j, range(1, 9, 2),
        10**40, -(10**40), math.inf, -0.0, "\ud800", {(1, 2): {"a": [1, (2,)]}},
        decimal.Decimal("1.10"), fractions.Fraction(1, 3), datetime.date(2000, 1, 2),
        datetime.datetime(2000, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
        datetime.timedelta(days=1, microseconds=5), collections.Counter("abca"),
        collections.OrderedDict(b=1, a=2), collections.deque([1, 2]), ValueError, int,
    ]
    for value in values:
        back = judge.decode(judge.encode(value))
        assert type(back) is (judge.ClassRef if isinstance(value, type) else type(value))
        if not isinstance(value, type):
            assert back == value or (back != back and value != value), value


def test_objects_travel_as_opaque_and_lies_do_not_travel() -> None:
    class Liar(int):
        def __eq__(self, other: object) -> bool:
            return True

        __hash__ = int.__hash__

    encoded = judge.encode(Liar(5))
    assert set(encoded) == {"opaque"} and encoded["opaque"].endswith("<locals>.Liar")
    assert judge.judge(["cmp", ["=="]], [encoded, 4])[0] is False
    assert judge.judge(["cmp", ["=="]], [judge.encode([Liar(5)]), [4]])[0] is False
    assert "nested deeper" in judge.encode(_deep(150))["error"]


def _deep(n: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(n):
        value = [value]
    return value


def test_the_test_judge_refuses_reports_for_checks_that_do_not_exist() -> None:
    suite = analyse("candidate", "from tool import add\n\n\ndef test_a():\n"
                    "    assert add(1, 2) == 3\n", "add")
    verdict = TestJudge(suite, "test_a")
    for message in ({"id": 7, "leaves": []}, {"id": "0"}, {"id": True}, {}):
        with pytest.raises(ProtocolError):
            verdict.check(message)
    with pytest.raises(ProtocolError):
        verdict.raises({"id": 0, "phase": "exit"})  # not a raises site
    assert verdict.check({"id": 0, "leaves": [4, 3]})["ok"] is False
    assert verdict.outcome(0, "")[0] == "failed"  # the failure stays, whatever comes next


def test_pytest_raises_holds_only_for_the_tools_own_exception() -> None:
    suite = analyse("candidate", "import pytest\nfrom tool import add\n\n\ndef test_a():\n"
                    "    with pytest.raises(ValueError):\n        add('x', 1)\n", "add")
    raised = CallResult(ok=False, error_type="ParseError", error_builtin="ValueError",
                        error_message="no")
    expected = [judge.encode(ValueError)]

    def run(call: Any, result: CallResult | None = raised) -> bool:
        verdict = TestJudge(suite, "test_a")
        verdict.raises({"id": 0, "phase": "enter", "expected": expected, "match": False})
        if result is not None:
            verdict.tool_called(result, ["x", 1], {})
        return verdict.raises({"id": 0, "phase": "exit", "call": call, "raised": "X"})["ok"]

    assert run(1) is True
    assert run(None) is False  # raised by the test itself, not by a tool call
    assert run(2) is False  # a call that never happened
    assert run(1, CallResult(ok=True, value=3)) is False  # that call did not raise
    assert run(1, CallResult(ok=False, error_type="TimeoutError", error_builtin="TimeoutError",
                             limit_hit="wall_time")) is False  # a limit is not a raise
