"""The property-based attack: real small tools, called in process, and what it finds."""

from __future__ import annotations

import json
import math
import statistics
import textwrap
from collections.abc import Callable
from typing import Any

import jsonschema
import pytest
from hypothesis import find
from hypothesis.errors import NoSuchExample

from toolforge.safety.fuzz import (
    CallOutcome,
    FuzzReport,
    fuzz_tool,
    in_process_call,
    strategy_for_schema,
)
from toolforge.tools.contract import ToolSpec, load_tool_source

Call = Callable[[dict[str, Any]], CallOutcome]


def load(source: str) -> tuple[ToolSpec, Callable[..., Any]]:
    """The spec and the function of a tool written as a real tool file (trusted code)."""
    source = textwrap.dedent(source)
    spec = load_tool_source(source)
    namespace: dict[str, Any] = {}
    exec(compile(source, "tool.py", "exec"), namespace)
    return spec, namespace[spec.name]


def tool(source: str) -> tuple[ToolSpec, Call]:
    """The spec and an in-process caller for a tool written as a real tool file."""
    spec, func = load(source)
    return spec, in_process_call(func)


def kinds(report: FuzzReport) -> list[str]:
    return [c.kind for c in report.counterexamples]


def test_a_correct_tool_passes() -> None:
    spec, call = tool(
        '''
        import re

        def slug_stats(text: str, max_words: int | None = None) -> dict[str, int | str]:
            """Slugify text and count its words.

            Raises:
                ValueError: if max_words is negative.
            """
            if max_words is not None and max_words < 0:
                raise ValueError("max_words must be >= 0")
            words = re.findall(r"\\w+", text.lower())[:max_words]
            return {"slug": "-".join(words), "words": len(words)}
        '''
    )
    report = fuzz_tool(spec, call)
    assert report.passed, report.counterexamples
    assert report.counterexamples == []
    assert report.examples_run >= 50 and not report.timed_out


def test_crash_on_empty_string_is_shrunk_to_the_empty_string() -> None:
    spec, call = tool(
        '''
        def initials(text: str, upper: bool = True) -> str:
            """First letter of each word."""
            first = text[0]
            return first.upper() if upper else first
        '''
    )
    report = fuzz_tool(spec, call)
    assert not report.passed
    [example] = report.counterexamples
    assert example.kind == "undocumented_exception"
    assert example.args == {"text": ""}
    assert "IndexError" in example.detail


def test_documented_exceptions_are_allowed_and_undocumented_ones_caught() -> None:
    source = '''
    import json

    def parse_count(payload: str, limit: int) -> int:
        """Count the items of a JSON array.

        Raises:
            ValueError: if payload is not JSON (JSONDecodeError is a ValueError).
            TypeError: if payload is not an array.
        """
        if limit < 0:
            raise {error}("negative limit")
        items = json.loads(payload)
        if not isinstance(items, list):
            raise TypeError("not an array")
        return min(len(items), limit)
    '''
    documented_spec, documented = tool(source.replace("{error}", "ValueError"))
    assert fuzz_tool(documented_spec, documented).passed

    spec, call = tool(source.replace("{error}", "KeyError"))
    report = fuzz_tool(spec, call)
    [example] = report.counterexamples
    assert example.kind == "undocumented_exception"
    assert "KeyError" in example.detail and "ValueError" in example.detail
    assert example.args["limit"] == -1  # shrunk to the smallest negative limit
    # documenting Exception does not excuse everything
    broad_spec, broad = tool(
        source.replace("{error}", "KeyError").replace("TypeError: if", "Exception: if")
    )
    assert "undocumented_exception" in kinds(fuzz_tool(broad_spec, broad))


def test_nan_and_infinity_inputs_are_sent_and_handled() -> None:
    seen: list[float] = []
    spec, call = tool(
        '''
        def halve(x: float) -> float:
            """Half of x."""
            return x / 2
        '''
    )

    def recording(args: dict[str, Any]) -> CallOutcome:
        seen.append(args["x"])
        return call(args)

    # NaN in, NaN out is IEEE propagation, not a bug
    assert fuzz_tool(spec, recording).passed
    assert any(math.isnan(x) for x in seen) and math.inf in seen and -math.inf in seen

    to_int_spec, to_int = tool(
        '''
        def to_int(x: float) -> int:
            """x rounded down."""
            return int(x)
        '''
    )
    report = fuzz_tool(to_int_spec, to_int)
    found = {c.detail.split(":")[0] for c in report.counterexamples}
    assert found == {"raised ValueError", "raised OverflowError"}  # NaN and inf, separately
    nan_example = next(c for c in report.counterexamples if "ValueError" in c.detail)
    assert math.isnan(nan_example.args["x"])


def test_non_finite_result_from_finite_input_is_not_json() -> None:
    spec, call = tool(
        '''
        import math

        def square(x: float) -> float:
            """x squared.

            Raises:
                ValueError: if x is not finite.
            """
            if not math.isfinite(x):
                raise ValueError("not finite")
            return x * x
        '''
    )
    report = fuzz_tool(spec, call)
    [example] = report.counterexamples
    assert example.kind == "non_json_result"
    assert math.isfinite(example.args["x"]) and math.isinf(example.args["x"] * example.args["x"])


def test_wrong_return_type_and_non_json_results_are_caught() -> None:
    spec, call = tool(
        '''
        def count_chars(text: str) -> int:
            """Number of characters."""
            if len(text) > 3:
                return str(len(text))
            if not text:
                return set()
            return len(text)
        '''
    )
    report = fuzz_tool(spec, call)
    assert sorted(kinds(report)) == ["invalid_return", "non_json_result"]
    invalid = next(c for c in report.counterexamples if c.kind == "invalid_return")
    assert 4 <= len(invalid.args["text"]) <= 8  # shrunk near the 4-character boundary
    assert "`int`" in invalid.detail
    non_json = next(c for c in report.counterexamples if c.kind == "non_json_result")
    assert non_json.args == {"text": ""}


def test_non_determinism_is_caught() -> None:
    spec, call = tool(
        '''
        _calls = [0]

        def tagged(text: str) -> str:
            """The text with a call number (a hidden-state bug)."""
            _calls[0] += 1
            return f"{text}#{_calls[0]}"
        '''
    )
    report = fuzz_tool(spec, call)
    [example] = report.counterexamples
    assert example.kind == "nondeterministic"
    assert example.args == {"text": ""}
    assert "then" in example.detail


def test_optional_parameters_receive_none_and_are_omitted() -> None:
    received: list[dict[str, Any]] = []
    spec, call = tool(
        '''
        def pad(text: str, width: int | None = None) -> str:
            """Pad text to a width."""
            return text if width is None else text.ljust(max(0, min(width, 100)))
        '''
    )

    def recording(args: dict[str, Any]) -> CallOutcome:
        received.append(args)
        return call(args)

    assert fuzz_tool(spec, recording).passed
    assert any("width" not in a for a in received)
    assert any("width" in a and a["width"] is None for a in received)
    assert any(isinstance(a.get("width"), int) for a in received)


def test_sandbox_limits_fail_the_tool_with_a_small_input() -> None:
    spec, _ = tool(
        '''
        def echo(text: str) -> str:
            """Echo."""
            return text
        '''
    )

    def sandbox(args: dict[str, Any]) -> CallOutcome:  # a stand-in for the real adapter
        if len(args["text"]) > 20:
            return CallOutcome(ok=False, limit_hit="wall_time")
        return CallOutcome(ok=True, value=args["text"])

    report = fuzz_tool(spec, sandbox)
    [example] = report.counterexamples
    assert example.kind == "limit_exceeded" and "wall_time" in example.detail
    assert len(example.args["text"]) == 21


def test_each_failure_kind_is_reported_once() -> None:
    spec, call = tool(
        '''
        def first(items: list[int]) -> int:
            """First item."""
            return items[0]
        '''
    )
    report = fuzz_tool(spec, call, max_examples=200)
    assert kinds(report) == ["undocumented_exception"]
    assert report.counterexamples[0].args == {"items": []}


def test_seeded_runs_are_reproducible_and_time_is_bounded() -> None:
    spec, call = tool(
        '''
        def shout(text: str, times: int) -> str:
            """Repeat text, upper-cased."""
            return text.upper() * max(0, min(times, 3))
        '''
    )
    one = fuzz_tool(spec, call, seed=7)
    two = fuzz_tool(spec, call, seed=7)
    assert (one.examples_run, one.counterexamples) == (two.examples_run, two.counterexamples)

    calls: list[int] = []

    def slow(args: dict[str, Any]) -> CallOutcome:
        calls.append(1)
        import time

        time.sleep(0.05)
        return call(args)

    bounded = fuzz_tool(spec, slow, deadline_s=0.5)
    assert bounded.timed_out and bounded.passed
    assert len(calls) < 20  # the deadline stops the attack (its speed is for bench/, not tests)


def test_strict_json_transport_like_the_sandbox_wire() -> None:
    """An adapter shaped like the sandbox's: strict-JSON args, CallResult-shaped replies."""
    spec, mean = load(
        '''
        import statistics

        def mean(values: list[float]) -> float:
            """Arithmetic mean.

            Raises:
                ValueError: if there are no values.
            """
            if not values:
                raise statistics.StatisticsError("mean requires at least one data point")
            return sum(values) / len(values)
        '''
    )

    def sandbox(args: dict[str, Any]) -> CallOutcome:
        wire = json.loads(json.dumps(args, allow_nan=False))  # raises on NaN, as the wire does
        reply: dict[str, Any] = {"ok": True, "stdout": "", "duration_ms": 1.0, "backend": "x"}
        try:
            reply["value"] = mean(**wire)
        except statistics.StatisticsError as exc:  # reported with its builtin base class
            reply = {"ok": False, "error_type": "StatisticsError", "error_builtin": "ValueError",
                     "error_message": str(exc), "traceback": "..."}  # fmt: skip
        if reply["ok"] and not math.isfinite(reply["value"]):
            reply = {"ok": False, "limit_hit": "non_json_result", "error_message": "inf"}
        return CallOutcome.model_validate(reply)

    report = fuzz_tool(spec, sandbox, allow_non_finite=False)
    # documented ValueError covers StatisticsError; the bug is a sum overflowing to infinity
    [example] = report.counterexamples
    assert example.kind == "non_json_result"
    values = example.args["values"]
    assert all(math.isfinite(x) for x in values) and math.isinf(sum(values))


def test_a_failing_harness_is_not_blamed_on_the_tool() -> None:
    spec, _ = tool(
        '''
        def echo(text: str) -> str:
            """Echo."""
            return text
        '''
    )

    def broken(args: dict[str, Any]) -> CallOutcome:
        raise ConnectionError("sandbox went away")

    with pytest.raises(ConnectionError):
        fuzz_tool(spec, broken)


# --- strategies -------------------------------------------------------------------------------

SCHEMAS: list[dict[str, Any]] = [
    {"type": "string"},
    {"type": "integer", "minimum": -5, "maximum": 5},
    {"type": "array", "items": {"type": "number"}, "maxItems": 4},
    {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}],
     "minItems": 2, "maxItems": 2},
    {"type": "object", "additionalProperties": {"type": "boolean"}},
    {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"],
     "additionalProperties": False},
    {"anyOf": [{"type": "string"}, {"type": "null"}]},
    {"enum": ["red", "green", 3]},
    {"const": "fixed"},
    {"$defs": {"Pair": {"type": "array", "items": {"$ref": "#/$defs/Pair"}, "maxItems": 2}},
     "$ref": "#/$defs/Pair"},
    {},
]  # fmt: skip


@pytest.mark.parametrize("schema", SCHEMAS)
def test_generated_values_match_their_schema(schema: dict[str, Any]) -> None:
    validator = jsonschema.Draft202012Validator(schema)
    strategy = strategy_for_schema(schema)
    with pytest.raises(NoSuchExample):  # no generated value is invalid
        find(strategy, lambda v: not validator.is_valid(v), settings=_quick())


@pytest.mark.parametrize(
    ("schema", "hostile"),
    [
        ({"type": "string"}, lambda s: s == ""),
        ({"type": "string"}, lambda s: "\x00" in s),
        ({"type": "string"}, lambda s: "\u202e" in s or "\u200f" in s),
        ({"type": "string"}, lambda s: "\u200b" in s),
        ({"type": "string"}, lambda s: any(ord(c) > 0xFFFF for c in s)),
        ({"type": "string"}, lambda s: len(s) >= 1000),
        ({"type": "integer"}, lambda n: n >= 2**63),
        ({"type": "integer"}, lambda n: n <= -(2**63)),
        ({"type": "number"}, lambda x: isinstance(x, float) and math.isnan(x)),
        ({"type": "number"}, lambda x: x == -math.inf),
        ({"type": "number"}, lambda x: x == 0 and math.copysign(1, x) < 0),
        ({"type": "number"}, lambda x: 0 < abs(x) < 2.2250738585072014e-308),
        ({"type": "array", "items": {"type": "integer"}}, lambda v: v == []),
        ({"type": "object", "additionalProperties": {}}, lambda v: v == {}),
        ({}, lambda v: json.dumps(v).count("[") + json.dumps(v).count("{") >= 10),
        ({"anyOf": [{"type": "integer"}, {"type": "null"}]}, lambda v: v is None),
    ],
)
def test_strategies_reach_hostile_values(schema: dict[str, Any], hostile: Any) -> None:
    # find raises NoSuchExample when no generated value is hostile in this way
    assert hostile(find(strategy_for_schema(schema), hostile, settings=_quick()))


def test_strings_stay_bounded_and_surrogate_free() -> None:
    strategy = strategy_for_schema({"type": "string"})
    with pytest.raises(NoSuchExample):
        find(
            strategy,
            lambda s: len(s) > 10_000 or any(0xD800 <= ord(c) <= 0xDFFF for c in s),
            settings=_quick(),
        )


def _quick() -> Any:
    from hypothesis import HealthCheck, settings

    return settings(
        max_examples=300, database=None, derandomize=True,
        suppress_health_check=list(HealthCheck),
    )  # fmt: skip
