"""The property attack: fair inputs, blocking findings and warnings, hard budgets.

Most cases call small trusted tools in this process (InProcessTarget); the cases about time
caps, deadlines and hash seeds use the real sandbox, because that is where they hold.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable
from typing import Any

import jsonschema
import pytest

from toolforge.safety.fuzz import (
    AttackBudget,
    AttackReport,
    CallOutcome,
    InProcessTarget,
    attack,
)
from toolforge.sandbox.backends import select_backend
from toolforge.sandbox.limits import Limits
from toolforge.sandbox.pool import WarmPool
from toolforge.tools.contract import ToolSpec, load_tool_source
from toolforge.validation.attack import SandboxTarget


def load(source: str) -> tuple[ToolSpec, Callable[..., Any]]:
    """The spec and the function of a tool written as a real tool file (trusted code)."""
    source = textwrap.dedent(source)
    spec = load_tool_source(source)
    namespace: dict[str, Any] = {}
    exec(compile(source, "tool.py", "exec"), namespace)
    return spec, namespace[spec.name]


class Recording(InProcessTarget):
    """In-process calls, remembering every input."""

    def __init__(self, func: Callable[..., Any]) -> None:
        super().__init__(func)
        self.inputs: list[dict[str, Any]] = []

    def call(self, args: dict[str, Any], timeout_s: float) -> CallOutcome:
        self.inputs.append(args)
        return super().call(args, timeout_s)


def run(source: str, examples: list[dict[str, Any]] | None = None,
        **budget: Any) -> tuple[AttackReport, Recording, ToolSpec]:
    spec, func = load(source)
    target = Recording(func)
    return attack(spec, target, budget=AttackBudget(**budget), examples=examples), target, spec


def kinds(report: AttackReport, severity: str = "blocking") -> list[str]:
    return [f.kind for f in report.findings if f.severity == severity]


def sandboxed(source: str, examples: list[dict[str, Any]] | None = None, *,
              backend: str | None = None, pool: WarmPool | None = None,
              **budget: Any) -> AttackReport:
    source = textwrap.dedent(source)
    spec = load_tool_source(source)
    target = SandboxTarget(source, spec.name, limits=Limits(), backend=select_backend(backend),
                           pool=pool)
    try:
        return attack(spec, target, budget=AttackBudget(**budget), examples=examples)
    finally:
        target.close()


KINETIC = '''
def kinetic_energy(mass: float, speed: float) -> float:
    """Kinetic energy in joules.

    Args:
        mass: in kg.
        speed: in m/s.
    """
    return 0.5 * mass * speed ** 2
'''


def test_a_correct_formula_passes_on_physical_magnitudes() -> None:
    report, target, _ = run(KINETIC)
    assert report.verdict == "passed", report.findings
    assert kinds(report) == []
    assert report.examples_run >= report.min_examples == 30
    assert report.calls >= report.examples_run
    # Overflow near 1e300 is the float range's edge: a warning, never a failure.
    assert set(kinds(report, "warning")) <= {"range_edge"}
    magnitudes = [abs(v) for args in target.inputs for v in args.values()]
    fair = [m for m in magnitudes if m < 1e100]
    assert len(fair) >= 0.9 * len(magnitudes) and max(fair) < 1e16
    assert 0 in magnitudes and any(0 < m < 1 for m in magnitudes)


def test_every_input_stays_inside_the_declared_constraints() -> None:
    source = '''
    from typing import Annotated, Literal

    from pydantic import Field


    def dose(weight_kg: Annotated[float, Field(gt=0, le=500)], age: int,
             form: Literal["tablet", "syrup"], codes: list[str],
             note: str = "") -> float:
        """Dose in mg.

        Args:
            age (0 <= age <= 120): years.
            codes (non-empty, max_length=4): ATC codes.
            note (max_length=10): free text.
        """
        return weight_kg * (2 if form == "syrup" else 1) * len(codes) + len(note) + age * 0
    '''
    report, target, spec = run(source)
    validator = jsonschema.Draft202012Validator(spec.parameters_schema)
    bad = [args for args in target.inputs if not validator.is_valid(args)]
    assert bad == []
    assert any(a["weight_kg"] == 500 for a in target.inputs)  # the closed bound itself
    assert any(0 < a["weight_kg"] < 1e-6 for a in target.inputs)  # just inside the open one
    assert {a["form"] for a in target.inputs} == {"tablet", "syrup"}
    assert any(len(a["codes"]) == 1 for a in target.inputs)
    assert report.verdict == "failed"  # `age` never changes the result
    assert kinds(report) == ["ignored_parameter"]
    assert "`age`" in report.findings[0].detail


def test_strings_are_fair_sizes_and_include_unicode_and_empty() -> None:
    report, target, _ = run('''
    def shout(text: str) -> str:
        """Upper-case text."""
        return text.upper()
    ''')
    assert report.verdict == "passed", report.findings
    texts = [a["text"] for a in target.inputs]
    assert "" in texts and max(map(len, texts)) <= 2000
    assert any(not t.isascii() for t in texts) and any(len(t) == 1 for t in texts)
    assert sum(len(t) <= 40 for t in texts) >= 0.8 * len(texts)  # mostly small


def test_crash_on_empty_input_is_blocking_and_shrunk() -> None:
    report, _, _ = run('''
    def initials(text: str, upper: bool = True) -> str:
        """First letter of each word."""
        first = text[0]
        return first.upper() if upper else first
    ''')
    assert report.verdict == "failed"
    [finding] = report.blocking
    assert finding.kind == "crash" and finding.args == {"text": ""}
    assert "IndexError" in finding.detail and "ValueError" in finding.detail


PARSE = '''
import json


def parse_count(payload: str, limit: int) -> int:
    """Count the items of a JSON array.

    Raises:
        TypeError: if payload is not an array.
    """
    if limit < 0:
        raise {error}
    items = json.loads(payload)
    if not isinstance(items, list):
        raise TypeError("not an array")
    return min(len(items), limit)
'''


@pytest.mark.parametrize(
    ("error", "verdict"),
    [
        ('ValueError("limit must be >= 0")', "passed"),  # refusing input, with a reason
        ('TypeError("negative limit")', "passed"),  # documented under Raises:
        ('KeyError("limit")', "failed"),  # neither
        ("ValueError()", "failed"),  # refusing without saying why
    ],
)
def test_what_counts_as_refusing_input(error: str, verdict: str) -> None:
    # json.loads raises JSONDecodeError, a ValueError with a message: correct refusals.
    report, _, _ = run(PARSE.replace("{error}", error), examples=[
        {"payload": "[1, 2, 3]", "limit": 2}])
    assert report.verdict == verdict, report.findings
    if verdict == "failed":
        [finding] = report.blocking
        assert finding.kind == "crash" and finding.args["limit"] == -1  # shrunk


DENSITY = '''
from typing import Annotated

from pydantic import Field


def density(mass: {mass}, volume: {volume}) -> float:
    """Density in kg/m3."""
    return mass / {denominator}
'''


@pytest.mark.parametrize(
    ("mass", "volume", "denominator", "verdict", "warning"),
    [
        # Undeclared domain: a zero volume raising ZeroDivisionError is a warning.
        ("float", "float", "volume", "passed", "domain_error"),
        # Declared domain: zero is never generated, nothing to report.
        ("Annotated[float, Field(ge=0)]", "Annotated[float, Field(gt=0)]", "volume", "passed",
         None),
        # Declared domain, crash inside it: blocking.
        ("Annotated[float, Field(ge=0)]", "Annotated[float, Field(gt=0)]", "(volume - 1)",
         "failed", None),
    ],
)
def test_arithmetic_errors_depend_on_the_declared_domain(
    mass: str, volume: str, denominator: str, verdict: str, warning: str | None
) -> None:
    source = DENSITY.format(mass=mass, volume=volume, denominator=denominator)
    report, target, _ = run(source)
    assert report.verdict == verdict, report.findings
    if warning:
        assert warning in kinds(report, "warning")
        finding = next(f for f in report.findings if f.kind == warning)
        assert finding.args["volume"] == 0 and "`volume`" in finding.detail
    if verdict == "failed":
        [finding] = report.blocking
        assert finding.kind == "domain_error" and finding.args["volume"] == 1
        assert "inside the constraints" in finding.detail
    if "gt=0" in volume:
        assert all(a["volume"] > 0 for a in target.inputs)


def test_non_finite_results_inside_declared_constraints_block() -> None:
    report, _, _ = run('''
    from typing import Annotated

    from pydantic import Field


    def inverse(x: Annotated[float, Field(ge=0, le=10)]) -> float:
        """1/x."""
        return 1 / x if x else float("inf")
    ''')
    assert report.verdict == "failed"
    [finding] = report.blocking
    assert finding.kind == "non_finite_result" and finding.args == {"x": 0}


def test_wrong_return_types_and_non_json_results_block() -> None:
    report, _, _ = run('''
    def count_chars(text: str) -> int:
        """Number of characters."""
        if len(text) > 3:
            return str(len(text))
        if not text:
            return set()
        return len(text)
    ''')
    assert sorted(kinds(report)) == ["invalid_return", "non_json_result"]
    invalid = next(f for f in report.findings if f.kind == "invalid_return")
    assert len(invalid.args["text"]) == 4  # shrunk to the boundary
    assert next(f for f in report.findings if f.kind == "non_json_result").args == {"text": ""}


def test_return_constraints_catch_a_sign_error() -> None:
    source = '''
    from typing import Annotated

    from pydantic import Field


    def distance(x: float, y: float) -> Annotated[float, Field(ge=0)]:
        """Euclidean distance from the origin."""
        return {expr}
    '''
    good, _, _ = run(source.format(expr="(x * x + y * y) ** 0.5"))
    assert good.verdict == "passed", good.findings
    bad, _, _ = run(source.format(expr="x + y"))
    assert kinds(bad) == ["invalid_return"]


def test_an_ignored_parameter_is_found_and_a_used_one_is_not() -> None:
    source = '''
    def power(base: float, exponent: float = 2.0) -> float:
        """base raised to exponent.

        Raises:
            OverflowError: when the result is too large.
        """
        return base ** {exponent}
    '''
    bad, _, _ = run(source.format(exponent="2"))
    assert kinds(bad) == ["ignored_parameter"]
    [finding] = bad.blocking
    assert "`exponent`" in finding.detail and finding.other_args is not None
    assert finding.args["base"] == finding.other_args["base"]
    assert finding.args.get("exponent") != finding.other_args.get("exponent")
    good, _, _ = run(source.format(exponent="exponent"))
    assert "ignored_parameter" not in kinds(good)


def test_swapped_arguments_get_the_tests_values_of_other_parameters() -> None:
    """Variants of a test's call borrow values from other parameters of the same kind."""
    _, target, _ = run('''
    def convert(value: float, from_unit: str, to_unit: str) -> float:
        """Convert between m and km.

        Raises:
            KeyError: for unknown units.
        """
        factors = {"m": 1.0, "km": 1000.0}
        return value * factors[from_unit] / factors[to_unit]
    ''', examples=[{"value": 3.0, "from_unit": "km", "to_unit": "m"}])
    assert {"value": 3.0, "from_unit": "m", "to_unit": "m"} in target.inputs
    assert {"value": 3.0, "from_unit": "km", "to_unit": "km"} in target.inputs


def test_hidden_state_is_nondeterminism() -> None:
    report, _, _ = run('''
    _calls = [0]

    def tagged(text: str) -> str:
        """The text with a call number (a hidden-state bug)."""
        _calls[0] += 1
        return f"{text}#{_calls[0]}"
    ''')
    assert "nondeterministic" in kinds(report)


def test_seeded_runs_are_reproducible() -> None:
    one, first, _ = run(KINETIC, seed=7)
    two, second, _ = run(KINETIC, seed=7)
    assert first.inputs == second.inputs
    assert (one.examples_run, one.findings) == (two.examples_run, two.findings)
    _, other, _ = run(KINETIC, seed=8)
    assert other.inputs != first.inputs


def test_the_tests_calls_lead_a_parser_to_its_bug() -> None:
    """Random strings only reach the parser's refusal; edits of the test's valid input
    reach the crash (a missing minutes part)."""
    source = '''
    import re


    def duration_minutes(text: str) -> int:
        """Minutes in a duration such as "2h30m".

        Raises:
            ValueError: when the text is not a duration.
        """
        if not re.fullmatch(r"\\d+h(\\d+m)?", text):
            raise ValueError(f"not a duration: {text!r}")
        numbers = re.findall(r"\\d+", text)
        return int(numbers[0]) * 60 + int(numbers[1])  # "2h" has no minutes
    '''
    blind, _, _ = run(source)
    assert blind.verdict == "passed"
    seeded, _, _ = run(source, examples=[{"text": "2h30m"}])
    assert seeded.verdict == "failed"
    [finding] = seeded.blocking
    assert finding.kind == "crash" and "IndexError" in finding.detail
    assert finding.args["text"] == "2h"  # the test's input, cut short


# --- the real sandbox: hash seeds, time caps, deadlines ---------------------------------------

UNIQUE = '''
def unique_words(text: str) -> list[str]:
    """The distinct words of a text."""
    return {expr}
'''


@pytest.mark.parametrize("backend", ["bwrap", "landlock", "rlimit"])
def test_output_in_set_order_is_caught_every_time_across_hash_seeds(backend: str) -> None:
    # landlock and rlimit fork their guests from two fork servers: the second process must
    # come from the other one (forked siblings share their server's hash key), also when
    # a warm pool holds spares of both
    with WarmPool(select_backend(backend), size=2) as pool:
        for use in (None, pool, pool, None):
            report = sandboxed(UNIQUE.format(expr="list(set(text.split()))"),
                               examples=[{"text": "a b a"}], backend=backend, pool=use)
            assert kinds(report) == ["hash_order"], report.findings
            [finding] = report.findings
            assert "second process" in finding.detail and report.replayed >= 10
    fixed = sandboxed(UNIQUE.format(expr="sorted(set(text.split()))"), backend=backend)
    assert fixed.verdict == "passed", fixed.findings


def test_a_slow_input_is_a_finding_and_the_deadline_is_kept() -> None:
    """Slow on the first inputs (the old attack then stopped and passed)."""
    report = sandboxed('''
    import time


    def echo(text: str) -> str:
        """Echo, slowly for short texts."""
        if len(text) < 3:
            time.sleep(30)
        return text
    ''', per_input_s=0.5, deadline_s=8)
    assert report.verdict == "failed"
    slow = [f for f in report.blocking if f.kind == "slow_input"]
    assert slow and len(slow[0].args["text"]) < 3
    assert "0.5 s" in slow[0].detail


def test_too_few_inputs_before_the_deadline_is_inconclusive() -> None:
    report = sandboxed('''
    import time


    def slow_upper(text: str) -> str:
        """Upper-case, at 0.3 s a call."""
        time.sleep(0.3)
        return text.upper()
    ''', deadline_s=2, per_input_s=1, min_examples=30)
    assert report.verdict == "inconclusive"
    assert report.examples_run < 30 and report.cut_short
    assert "deadline" in report.cut_short
    assert report.blocking == []


def test_numbers_only_tools_still_get_a_second_process() -> None:
    report = sandboxed('''
    def order(a: float, b: float) -> list[str]:
        """Names of the two values in a set order (a bug: sets of strings are unordered)."""
        return [n for n in {"alpha", "beta", "gamma", "delta", "epsilon"}] if a else []
    ''')
    assert "hash_order" in kinds(report)


def test_math_is_finite_helper_inputs() -> None:
    """Sanity: no generated number is NaN or infinite (JSON cannot carry them)."""
    _, target, _ = run(KINETIC)
    assert all(math.isfinite(v) for args in target.inputs for v in args.values())
