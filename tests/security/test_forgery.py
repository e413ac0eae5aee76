"""Hostile test files cannot forge the verdict (issue 9, item 1), wherever they run.

Each file in `forgery/` is a model-written `test_tool.py` that keeps its visible assertion
(`assert add(2, 2) == 4`, or the same through a helper) and adds one trick meant to make it
pass for a wrong `add`. Its docstring says which layer must catch it:
- `caught_by: static TFnnn`: the test-file rules refuse it, with that finding, before any of
  it runs (the harness applies them whatever `static=` says: the verdict rests on them);
- `caught_by: runtime`: the file is accepted, runs, and the parent's judgement (checks
  judged out of the test's reach, every reachable check run, one fresh process per test)
  keeps the test from passing.
`tool: raises` picks a wrong tool that raises on (2, 2) instead of answering 5.

Every case runs as the candidate's own tests, as an earlier version's regression suite
and as the adversarial suite, through the real validation pipeline and sandbox; a few go
end to end through `toolforge add` and `promote`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from toolforge.cli.app import app
from toolforge.safety.checker import check_source
from toolforge.sandbox.limits import Limits
from toolforge.validation.pipeline import ValidationInput, ValidationOptions, validate
from toolforge.validation.report import ValidationReport

FORGERY = Path(__file__).resolve().parent / "forgery"
LIMITS = Limits(wall_time_s=10, cpu_time_s=5, memory_mb=256)

RIGHT = '''
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b
'''
WRONG_TOOLS = {
    "five": '''
def add(a: int, b: int) -> int:
    """Add two integers (badly: 2 + 2 is 5)."""
    return a + b + (1 if (a, b) == (2, 2) else 0)
''',
    "raises": '''
def add(a: int, b: int) -> int:
    """Add two integers (badly: refuses 2 + 2)."""
    if (a, b) == (2, 2):
        raise ValueError("no")
    return a + b
''',
}
# Honest but weak: both wrong tools pass it, so only the hostile suite can stand in their way.
WEAK_TESTS = "from tool import add\n\n\ndef test_one_and_two():\n    assert add(1, 2) == 3\n"


@dataclass(frozen=True)
class Case:
    name: str
    source: str
    layer: str  # "static" or "runtime"
    code: str | None  # the finding that refuses it, for static cases
    tool: str

    def __str__(self) -> str:
        return self.name


def load_cases() -> list[Case]:
    cases = []
    for path in sorted(FORGERY.glob("*.py")):
        source = path.read_text(encoding="utf-8")
        caught = re.search(r"caught_by: (static|runtime)(?: (TF\d{3}))?", source)
        tool = re.search(r"^tool: (\w+)$", source, re.M)
        assert caught, f"{path.name} says nothing about what catches it"
        cases.append(Case(path.stem, source, caught.group(1), caught.group(2),
                          tool.group(1) if tool else "five"))
    return cases


CASES = load_cases()
RUNTIME = [c for c in CASES if c.layer == "runtime"]
PLACEMENTS = ["candidate", "regression", "adversarial"]


def run(case: Case, placement: str, *, static: bool = False,
        code: str | None = None) -> ValidationReport:
    """Validate a wrong (or the given) tool with the case as the suite at `placement`."""
    hostile = [(suite_label(placement), case.source)]
    item = ValidationInput(
        tool="add", code=code or WRONG_TOOLS[case.tool],
        tests=case.source if placement == "candidate" else WEAK_TESTS,
        regression_suites=hostile if placement == "regression" else [],
        extra_suites=hostile if placement == "adversarial" else [],
    )
    options = ValidationOptions(backend="bwrap", limits=LIMITS, static=static, fuzz=False)
    return validate(item, options)


def suite_label(placement: str) -> str:
    return {"candidate": "candidate", "regression": "v1", "adversarial": "adversarial"}[
        placement]


def test_the_forgery_corpus_covers_the_classes() -> None:
    names = {c.name for c in CASES}
    assert {
        "decorator_swap", "rebinding_after_def", "module_level_monkeypatch", "custom_eq_class",
        "catch_assertion_error", "catch_through_a_helper", "early_return",
        "frames_on_the_runners_pipe", "runner_internals_through_dunders", "threads",
        "atexit_handler", "sys_modules_tampering", "exception_escaping_the_assert",
        "tautology", "shared_state_between_tests", "empty_loop",
    } <= names
    assert len(RUNTIME) >= 5
    for case in CASES:  # a visible check a wrong tool must fail stays in every one
        assert "assert " in case.source and re.search(r"\(2, 2\b", case.source), case


@pytest.mark.parametrize("case", CASES, ids=str)
def test_each_case_is_caught_by_the_layer_it_names(case: Case) -> None:
    codes = {f.code.split()[0] for f in check_source(
        case.source, filename="test_tool.py", is_test=True, entrypoint="add")}
    if case.layer == "static":
        assert case.code in codes, codes
    else:
        assert codes == set(), "a runtime case must pass the test-file rules"


# Static refusals do not depend on where the file runs: candidate and v1 prove them.
RUNS = [pytest.param(case, placement, id=f"{case}-{placement}") for case in CASES
        for placement in (PLACEMENTS if case.layer == "runtime" else PLACEMENTS[:2])]


@pytest.mark.parametrize(("case", "placement"), RUNS)
def test_a_hostile_test_file_does_not_pass_a_wrong_tool(case: Case, placement: str) -> None:
    """Static checks off (as the security corpus runs them): the harness alone decides."""
    report = run(case, placement)
    tests = report.layer("tests")
    assert report.verdict == "failed" and tests is not None, report.failure_summary()
    label = suite_label(placement)
    outcomes = {f"{t['suite']}:{t['name']}": t["outcome"] for t in tests.tests}
    if case.layer == "static":
        assert any(p.startswith(f"{label}: ") and case.code in p for p in tests.problems), (
            tests.problems)
        assert all(o != "passed" for k, o in outcomes.items() if k.startswith(label + ":"))
    else:  # accepted, ran, and judged failed by the parent (not an error of the harness)
        assert tests.problems == [], tests.problems
        assert outcomes[f"{label}:test_two_and_two"] == "failed", tests.summary


def test_runtime_cases_that_keep_an_honest_shape_pass_a_right_tool() -> None:
    """The parent's judgement is not a blanket refusal: the same files pass a right tool
    where their trick does not also defeat it."""
    for name in ("shared_state_between_tests",):
        case = next(c for c in CASES if c.name == name)
        report = run(case, "candidate", code=RIGHT)
        assert report.verdict == "passed", (name, report.failure_summary())


def test_layer_one_refuses_static_cases_before_anything_runs() -> None:
    for case in [c for c in CASES if c.layer == "static"][:6]:
        report = run(case, "candidate", static=True)
        assert report.verdict == "failed"
        assert report.layer("tests") is None, case
        static = report.layer("static")
        assert static is not None and any(case.code in f["code"] for f in static.findings)


@pytest.mark.parametrize("trick", ["catch_through_a_helper", "decorator_swap"])
def test_a_wrong_tool_with_hostile_tests_is_never_promoted(tmp_path: Path, trick: str) -> None:
    library = tmp_path / "lib"
    runner = CliRunner()
    assert runner.invoke(app, ["init", str(library)]).exit_code == 0
    tool_dir = tmp_path / "add"
    tool_dir.mkdir()
    (tool_dir / "tool.py").write_text(WRONG_TOOLS["five"])
    (tool_dir / "test_tool.py").write_text((FORGERY / f"{trick}.py").read_text())
    added = runner.invoke(app, ["add", str(tool_dir), "-L", str(library), "--json"])
    assert added.exit_code == 1, added.output  # added as a candidate, validation failed
    envelope = json.loads(added.stdout)
    assert envelope["error"]["kind"] == "validation_failed"
    assert envelope["result"]["details"]["validation"]["verdict"] == "failed"
    promoted = runner.invoke(app, ["promote", "add", "-L", str(library)])
    assert promoted.exit_code == 1, promoted.output
    listed = runner.invoke(app, ["list", "--status", "active", "-L", str(library), "--json"])
    assert '"add"' not in listed.output
