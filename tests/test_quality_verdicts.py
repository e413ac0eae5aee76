"""Verdicts on a small slice of the quality benchmark (bench/quality.py runs all of it):
correct tools with one example test pass, and each layer stops the broken variants it should.
Also: an inconclusive attack is not a pass, and promotion says so."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from toolforge.sandbox.backends import select_backend
from toolforge.sandbox.pool import WarmPool
from toolforge.validation.pipeline import ValidationInput, validate
from toolforge.validation.report import ValidationReport

DATA = Path(__file__).resolve().parents[1] / "bench" / "quality"


@cache
def mutants() -> dict[str, dict[str, Any]]:
    lines = (DATA / "mutants.jsonl").read_text(encoding="utf-8").splitlines()
    return {m["id"]: m for m in map(json.loads, lines)}


def reference(name: str) -> tuple[str, str]:
    d = DATA / "tools" / name
    return (d / "tool.py").read_text(encoding="utf-8"), (d / "test_tool.py").read_text(
        encoding="utf-8")


@pytest.fixture(scope="module")
def pool() -> Iterator[WarmPool]:
    with WarmPool(select_backend(), size=2) as warm:
        yield warm


def decided_by(report: ValidationReport) -> str:
    for layer in report.layers:
        if layer.verdict != "passed":
            kinds = [c["kind"] for c in layer.blocking]
            return f"{layer.name}: {kinds[0]}" if kinds else layer.name
    return "-"


@pytest.mark.parametrize("name", ["density", "molar_mass", "parse_semver",
                                  "unique_sorted_words", "compound_interest", "haversine_km",
                                  "dedupe_preserving_order", "miles_to_km",
                                  # docstring claims the attack checks, kept by the tool:
                                  "pressure_from_force", "parallel_resistance",
                                  "beaufort_scale", "relative_change_percent", "au_to_km",
                                  "sample_variance", "mass_percent", "kelvin_to_celsius",
                                  "count_vowels", "empirical_ratio", "ph_category",
                                  "grade_letter", "compass_direction"])
def test_correct_tools_with_one_example_test_pass(name: str, pool: WarmPool) -> None:
    code, tests = reference(name)
    report = validate(ValidationInput(tool=name, code=code, tests=tests), pool=pool)
    assert report.verdict == "passed", report.failure_summary()
    attack = report.layer("property")
    assert attack is not None and attack.stats["examples_run"] >= 30
    # Warnings only: the single test varies no parameter; undeclared domains.
    coverage = report.layer("coverage")
    assert coverage is not None and coverage.warning_findings
    assert "never varied by any test" in coverage.warning_findings[0]["detail"]


@pytest.mark.parametrize(
    ("mutant", "expected"),
    [
        ("absorbance#2", "tests"),  # the result scaled by 0.001: the example catches it
        ("buoyant_force#0", "property: ignored_parameter"),  # gravity fixed at its default
        ("average_power#8", "property: rounded_result"),  # rounded to 1 decimal
        ("au_to_km#0", "property: crash"),  # round(decimals, result): TypeError
        # Rounded to 2 decimals at magnitudes where a nudge cannot show it: every result of
        # a full-precision input sits on the 0.01 grid.
        ("reynolds_number#2", "property: rounded_result"),
        ("au_to_km#2", "property: rounded_result"),  # decimals=None means "no rounding"
        # "Raises: ValueError: when the area is not positive": area 0 raised
        # ZeroDivisionError instead (`< 0` for `<= 0`).
        ("pressure_from_force#6", "property: missing_raise"),
        ("weighted_mean#0", "property: missing_raise"),  # "the weights sum to zero"
        # "... a resistance is not positive": 0.5 refused as not positive (`<= 1`).
        ("parallel_resistance#0", "property: refused_in_domain"),
        ("beaufort_scale#6", "property: out_of_range"),  # 13 where Returns: says 0-12
        ("sample_variance#6", "property: refused_in_domain"),  # two values: "fewer than two"
        ("mass_percent#5", "property: refused_in_domain"),  # equal masses: "heavier than"
        ("kelvin_to_celsius#7", "property: missing_raise"),  # -0.5 K: "below absolute zero"
        ("count_vowels#4", "property: case_sensitive"),  # "either case"
        ("compound_interest#0", "property: rounded_result"),  # 3 decimals: "rounded to 0.01"
        ("empirical_ratio#5", "property: rounded_result"),  # to 0.1 where it says 0.01
        ("ph_category#2", "property: stated_band"),  # 7 is "neutral (7)", not acidic
        ("grade_letter#0", "property: stated_band"),  # 90 is "A (90+)"
        ("compass_direction#9", "property: not_periodic"),  # "taken modulo 360"
    ],
)
def test_mutants_are_stopped_by_the_layer_that_should(mutant: str, expected: str,
                                                      pool: WarmPool) -> None:
    record = mutants()[mutant]
    _, tests = reference(record["tool"])
    report = validate(ValidationInput(tool=record["tool"], code=record["code"], tests=tests),
                      pool=pool)
    assert report.verdict == "failed"
    assert decided_by(report) == expected, report.failure_summary()


def test_set_order_is_stopped_even_when_the_test_passes(pool: WarmPool) -> None:
    code, tests = reference("dedupe_preserving_order")
    # Built through a set: the example may pass or fail by hash-seed luck; never both layers.
    broken = code.replace("    return out", "    return list(set(out))")
    assert broken != code
    report = validate(ValidationInput(tool="dedupe", code=broken, tests=tests), pool=pool)
    assert report.verdict == "failed"
    assert decided_by(report) in ("tests", "determinism: hash_order")


SLOW = '''
import time


def slow_upper(text: str) -> str:
    """Upper-case a text (slowly).

    Args:
        text: the text.
    """
    time.sleep(0.3)
    return text.upper()
'''
SLOW_TESTS = '''
from tool import slow_upper


def test_upper():
    assert slow_upper("abc") == "ABC"
'''


def test_an_inconclusive_attack_is_not_validated(cli: Any, library: Path, tmp_path: Path
                                                 ) -> None:
    from toolforge.service.library_service import LibraryService

    d = tmp_path / "slow_upper"
    d.mkdir()
    (d / "tool.py").write_text(SLOW)
    (d / "test_tool.py").write_text(SLOW_TESTS)
    assert cli("add", d, "--library", library, "--no-validate").exit_code == 0
    svc = LibraryService(library)
    try:  # 0.3 s a call: 2 s cannot hold the 20 inputs asked for
        report = svc.validate("slow_upper", attack_budget={
            "deadline_s": 2, "min_examples": 20, "examples": 40})
    finally:
        svc.close()
    assert report.verdict == "inconclusive", report.failure_summary()
    attack = report.layer("property")
    assert attack is not None and attack.verdict == "inconclusive"
    assert attack.stats["examples_run"] < 20 and "deadline" in attack.stats["cut_short"]

    listed = cli("list", "--library", library, "--json")
    assert {t["tool"]: t["verdict"] for t in listed.json["tools"]}["slow_upper"] == \
        "inconclusive"
    promoted = cli("promote", "slow_upper", "--library", library, "--json")
    assert promoted.exit_code == 1
    message = json.dumps(promoted.json) if promoted.stdout.strip() else promoted.stderr
    assert "inconclusive" in message and "not validated" in message


DOCTEST_TOOL = '''
def word_initials(name: str) -> str:
    """Initials of a name.

    >>> word_initials("Ada Lovelace")
    'AL'

    Args:
        name: words separated by spaces.

    Returns:
        The first letter of each word, upper-cased.
    """
    return "".join(word[0].upper() for word in name.split())
'''
DOCTEST_TESTS = '''
from tool import word_initials


def test_one_word():
    assert word_initials("ada") == "A"
'''
ARROW_TOOL = '''
def span(text: str) -> list[int]:
    """Expand "2-4" into [2, 3, 4].

    Args:
        text: a range written a-b.

    Returns:
        The numbers from a to b.
    """
    start, end = (int(x) for x in text.split("-"))
    return list(range(start, end + 1))
'''
ARROW_TESTS = '''
from tool import span


def test_single():
    assert span("5-5") == [5]
'''


@pytest.mark.parametrize(("code", "tests", "broken"), [
    # Only the first word's initial: the test's one word cannot tell.
    (DOCTEST_TOOL, DOCTEST_TESTS, ("word[0].upper() for word in name.split()",
                                   "word[0].upper() for word in name.split()[:1]")),
    # The last number dropped unless the range is a single number.
    (ARROW_TOOL, ARROW_TESTS, ("range(start, end + 1)",
                               "range(start, end + (start == end))")),
])
def test_the_docstrings_own_examples_are_an_oracle(code: str, tests: str,
                                                   broken: tuple[str, str],
                                                   pool: WarmPool) -> None:
    report = validate(ValidationInput(tool="t", code=code, tests=tests), pool=pool)
    assert report.verdict == "passed", report.failure_summary()
    mutant = code.replace(*broken)
    assert mutant != code
    report = validate(ValidationInput(tool="t", code=mutant, tests=tests), pool=pool)
    assert report.verdict == "failed"
    assert decided_by(report) == "property: docstring_example", report.failure_summary()
