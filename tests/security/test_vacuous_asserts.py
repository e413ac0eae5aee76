"""Assertions that cannot fail are flagged, whatever their shape (issue 9, item 1).

The static rules refuse the plain tautologies (`x == x`, `f() or True`); every other assert
that holds whatever the tool answers is found by the probe (sandbox/probe.py): the test runs
again against other answers, and an assert none of them made fail fails its test. Each
case below keeps a check that looks real and holds for a wrong tool; honest checks,
relations between calls included, still pass a right tool.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from toolforge.cli.app import app
from toolforge.safety.checker import check_source
from toolforge.sandbox.limits import Limits
from toolforge.validation.pipeline import ValidationInput, ValidationOptions, validate
from toolforge.validation.report import ValidationReport

LIMITS = Limits(wall_time_s=10, cpu_time_s=5, memory_mb=256)
RIGHT = '''
def add(a: int, b: int) -> int:
    """Add two integers."""
    if a < 0 or b < 0:
        raise ValueError(f"negative input: {min(a, b)}")
    return a + b
'''
WRONG = RIGHT.replace("return a + b", "return a + b + (1 if (a, b) == (2, 2) else 0)")
FLAGGED = "holds whatever the tool answers"

# Each passes the static rules, and holds for the wrong tool (2 + 2 = 5) and for any other.
VACUOUS = {
    "a literal in any()": "assert any([add(2, 2) == 4, True])",
    "identity of a comparison": "assert (add(2, 2) == 4) is not None",
    "a conditional with a true arm": "assert add(2, 2) == 4 if add(2, 2) == 4 else True",
    "an f-string": "assert f'{add(2, 2) == 4}'",
    "the text of a bool": "assert str(add(2, 2) == 4)",
    "the length of a one-item list": "assert len([add(2, 2) == 4]) == 1",
    "the type of a comparison": "assert type(add(2, 2) == 4) is bool",
    "isinstance of a comparison": "assert isinstance(add(2, 2) == 4, bool)",
    "a chain around a bool": "assert -1 < (add(2, 2) == 4) < 2",
    "a sort on both sides": "assert sorted([add(2, 2), 4]) == sorted([4, add(2, 2)])",
    "either side of a number": "assert add(2, 2) >= 4 or add(2, 2) <= 4",
    "min below max": "assert min(add(2, 2), 4) <= max(add(2, 2), 4)",
    "a lookup with both keys": "assert {True: 1, False: 1}[add(2, 2) == 4]",
    "a one-item set": "assert len({add(2, 2)}) == 1",
    "an int is below infinity": "assert add(2, 2) < float('inf')",
    "a count of itself": "assert [add(2, 2)].count(add(2, 2)) == 1",
    # audit (issue 9): algebra and containers that hold whatever the answer is
    "the answer cancels out": "assert add(2, 2) == 4 + (add(2, 2) - 4)",
    "a difference with itself": "assert add(2, 2) - add(2, 2) == 0",
    "times zero": "assert add(2, 2) * 0 == 0",
    "a bool is True or False": "assert (add(2, 2) == 4) in (True, False)",
    "a bool is at most True": "assert (add(2, 2) == 4) <= True",
    "a lookup of its own key": "assert {add(2, 2): 1}.get(add(2, 2)) == 1",
    "a non-empty text": "assert str(add(2, 2) == 4) != ''",
    "the other item of a pair": "assert (add(2, 2), 4)[1] == 4",
    "an exception's class twice": (
        "with pytest.raises(ValueError) as info:\n        add(-1, 2)\n"
        "    assert type(info.value) is type(info.value)"),
}
HONEST = {
    "a value": "assert add(2, 2) == 4",
    "commutativity": "assert add(2, 3) == add(3, 2)",
    "two calls that agree": "assert add(1, 3) == add(2, 2)",
    "a relation": "assert add(2, 3) > add(2, 2)",
    "not None": "assert add(2, 2) is not None",
    "a type": "assert isinstance(add(2, 2), int) and type(add(0, 0)) is int",
    "a composition": "assert add(add(1, 1), 2) == add(2, add(1, 1))",
    "an exception's message": (
        "with pytest.raises(ValueError) as info:\n        add(-1, 2)\n"
        "    assert str(info.value) == 'negative input: -1'"),
    "a check after a step that fails on odd answers": (
        "total = add(2, 2)\n    half = [0, 1, 2, 3, 4][total] // 2\n    assert half == 2"),
}


def run(body: str, code: str) -> ValidationReport:
    tests = f"import pytest\nfrom tool import add\n\n\ndef test_it():\n    {body}\n"
    assert check_source(tests, filename="test_tool.py", is_test=True, entrypoint="add") == []
    item = ValidationInput(tool="add", code=code, tests=tests)
    return validate(item, ValidationOptions(backend="bwrap", limits=LIMITS, fuzz=False))


@pytest.mark.parametrize("body", list(VACUOUS.values()), ids=list(VACUOUS))
def test_an_assert_that_cannot_fail_fails_its_test(body: str) -> None:
    report = run(body, WRONG)
    tests = report.layer("tests")
    assert report.verdict == "failed" and tests is not None, report.failure_summary()
    assert FLAGGED in tests.tests[0]["message"], tests.tests[0]


@pytest.mark.parametrize("body", list(HONEST.values()), ids=list(HONEST))
def test_honest_checks_pass_a_right_tool(body: str) -> None:
    report = run(body, RIGHT)
    assert report.verdict == "passed", report.failure_summary()


def test_the_flag_reaches_the_user_and_nothing_is_promoted(tmp_path: Path) -> None:
    library, tool = tmp_path / "lib", tmp_path / "add"
    runner = CliRunner()
    assert runner.invoke(app, ["init", str(library)]).exit_code == 0
    tool.mkdir()
    (tool / "tool.py").write_text(WRONG)
    (tool / "test_tool.py").write_text(
        "from tool import add\n\n\ndef test_it():\n    assert isinstance(add(2, 2) == 4, bool)\n")
    added = runner.invoke(app, ["add", str(tool), "-L", str(library), "--json"])
    assert added.exit_code == 1, added.output
    envelope = json.loads(added.stdout)
    assert FLAGGED in json.dumps(envelope["result"]["details"]["validation"])
    assert runner.invoke(app, ["promote", "add", "-L", str(library)]).exit_code == 1
