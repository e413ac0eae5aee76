"""Validation runs and the unforgeable verdict, with the REAL sandbox (no mocks).

Each spoofing attempt is its own test: a tool (or test module) that fails honestly, plus
one trick, must still produce a report that is not passed.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from toolforge.sandbox.backends import SandboxBackend, select_backend
from toolforge.sandbox.harness import TestRunReport, run_tests
from toolforge.sandbox.limits import Limits
from toolforge.sandbox.pool import WarmPool
from toolforge.sandbox.sandboxed import SandboxedProcess, drain
from toolforge.sandbox.testfile import analyse

ADD = '''
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b
'''

# A tool that is simply wrong: add(2, 2) is 5.
WRONG_ADD = '''
def add(a: int, b: int) -> int:
    """Add two integers (badly)."""
    return a + b + (1 if (a, b) == (2, 2) else 0)
'''

TESTS = '''
import pytest
from tool import add


def test_small():
    assert add(1, 2) == 3


def test_two_and_two():
    assert add(2, 2) == 4


TABLE = [(0, 0, 0), (-1, 1, 0)]


def test_table():
    for a, b, total in TABLE:
        assert add(a, b) == total


def test_type_error():
    with pytest.raises(TypeError, match="unsupported operand|can only concatenate"):
        add("x", 1)


def test_approx():
    assert add(0.1, 0.2) == pytest.approx(0.3)
'''


@pytest.fixture(params=["bwrap", "landlock", "rlimit"])
def backend(request: pytest.FixtureRequest) -> SandboxBackend:
    return select_backend(request.param)


@pytest.fixture
def bwrap() -> SandboxBackend:
    return select_backend("bwrap")


def _outcomes(report: TestRunReport) -> dict[str, str]:
    return {f"{t.suite}:{t.name}": t.outcome for t in report.tests}


def _with_trick(trick: str, *, at_import: str = "") -> str:
    """WRONG_ADD plus `trick` run inside add() before it returns its wrong answer."""
    body = "".join(f"    {line}\n" for line in trick.strip().splitlines())
    return (
        f"{at_import}\n"
        "def add(a: int, b: int) -> int:\n"
        '    """Add two integers (badly)."""\n'
        f"{body}"
        "    return a + b + (1 if (a, b) == (2, 2) else 0)\n"
    )


def _assert_still_fails(report: TestRunReport) -> None:
    assert not report.passed, report
    assert _outcomes(report)["candidate:test_two_and_two"] != "passed", report


# --- honest runs ---------------------------------------------------------------------------


def test_a_correct_tool_passes(backend: SandboxBackend) -> None:
    report = run_tests(ADD, "add", [("candidate", TESTS)], backend=backend)
    assert report.passed, report
    assert report.backend == backend.name
    assert report.isolated is backend.isolating
    assert set(_outcomes(report).values()) == {"passed"}
    assert list(_outcomes(report)) == [f"candidate:{name}" for name in (
        "test_small", "test_two_and_two", "test_table", "test_type_error", "test_approx")]
    assert [t.tool_calls for t in report.tests] == [1, 1, 2, 1, 1]
    assert report.problems == report.limit_hits == []
    assert report.duration_ms > 0


def test_a_wrong_tool_fails_with_an_explanation(backend: SandboxBackend) -> None:
    report = run_tests(WRONG_ADD, "add", [("candidate", TESTS)], backend=backend)
    assert not report.passed
    failed = [t for t in report.tests if t.outcome != "passed"]
    assert [t.name for t in failed] == ["test_two_and_two"]
    assert failed[0].message == (
        "assert add(2, 2) == 4\n  left:  5\n  right: 4\n  at test_tool.py:11 in test_two_and_two")


def test_rlimit_reports_say_they_are_not_isolated_and_cannot_promote() -> None:
    report = run_tests(ADD, "add", [("candidate", TESTS)], backend=select_backend("rlimit"))
    assert report.passed
    assert report.isolated is False
    assert any("NOT isolated" in w for w in report.warnings)
    assert "NOT isolated" in report.summary()
    assert not report.promotable()
    assert report.promotable(allow_unisolated=True)
    bwrap_report = run_tests(ADD, "add", [("candidate", TESTS)], backend=select_backend("bwrap"))
    assert bwrap_report.promotable()


def test_tool_exceptions_keep_their_builtin_class_and_custom_names(bwrap: SandboxBackend) -> None:
    source = (
        "class ParseError(ValueError):\n    pass\n\n"
        "def parse(text: str) -> dict:\n"
        "    if text == 'bad':\n        raise ParseError('cannot parse bad')\n"
        "    if text == 'key':\n        raise KeyError('missing')\n"
        "    return {'text': text}\n"
    )
    tests = (
        "import pytest\nfrom tool import parse, ParseError\n\n"
        "def test_custom_by_builtin_base():\n"
        "    with pytest.raises(ValueError, match='cannot parse'):\n        parse('bad')\n\n"
        "def test_custom_by_name():\n"
        "    with pytest.raises(ParseError):\n        parse('bad')\n\n"
        "def test_key_error_message():\n"
        "    with pytest.raises(KeyError) as info:\n        parse('key')\n"
        "    assert str(info.value) == \"'missing'\"\n\n"
        "def test_value():\n    assert parse('ok') == {'text': 'ok'}\n"
    )
    report = run_tests(source, "parse", [("candidate", tests)], backend=bwrap)
    assert report.passed, report


def test_an_unexpected_tool_exception_shows_the_tool_traceback(bwrap: SandboxBackend) -> None:
    source = "def add(a: int, b: int) -> int:\n    return a / 0\n"
    report = run_tests(source, "add", [("candidate", TESTS)], backend=bwrap)
    message = _outcomes(report) and report.tests[0].message
    assert "ZeroDivisionError: division by zero" in message
    assert 'File "tool.py", line 2, in add' in message


def test_a_hanging_tool_fails_its_tests_at_wall_time(bwrap: SandboxBackend) -> None:
    source = _with_trick("import time\nif a == 2:\n    time.sleep(60)")
    report = run_tests(source, "add", [("candidate", TESTS)], backend=bwrap,
                       limits=Limits(wall_time_s=1.0))
    _assert_still_fails(report)
    assert any("wall_time" in hit for hit in report.limit_hits)


# --- regression suites ---------------------------------------------------------------------


def test_earlier_versions_tests_keep_running_and_regressions_fail(
    backend: SandboxBackend,
) -> None:
    v1_tests = "from tool import add\n\ndef test_v1_contract():\n    assert add(2, 2) == 4\n"
    candidate_tests = "from tool import add\n\ndef test_new():\n    assert add(1, 1) == 2\n"
    suites = [("candidate", candidate_tests), ("v1", v1_tests)]
    good = run_tests(ADD, "add", suites, backend=backend)
    bad = run_tests(WRONG_ADD, "add", suites, backend=backend)
    assert good.passed
    assert not bad.passed
    assert _outcomes(bad) == {"candidate:test_new": "passed", "v1:test_v1_contract": "failed"}


def test_a_candidate_test_file_cannot_patch_a_regression_suite(bwrap: SandboxBackend) -> None:
    sneaky_candidate = (
        "import builtins, sys\nfrom tool import add\n\n"
        "builtins.AssertionError = type('Nope', (Exception,), {})\n"
        "sys.modules['tool'].add = lambda a, b: 4\n\n"
        "def test_new():\n    assert add(1, 1) == 2\n"
    )
    v1_tests = "from tool import add\n\ndef test_v1_contract():\n    assert add(2, 2) == 4\n"
    report = run_tests(WRONG_ADD, "add", [("candidate", sneaky_candidate), ("v1", v1_tests)],
                       backend=bwrap)
    assert _outcomes(report)["v1:test_v1_contract"] == "failed"
    assert not report.passed


# --- test files that cannot validate anything ---------------------------------------------


@pytest.mark.parametrize(
    ("tests", "problem"),
    [
        ("from tool import add\n\nX = add(1, 2)\n", "TF407 no-tests"),
        ("from tool import add\n\ndef test_nothing():\n    add(1, 2)\n", "TF401"),
        ("def test_math():\n    assert 1 + 1 == 2\n", "TF402"),
        ("import tool\n\ndef test_math():\n    assert 1 + 1 == 2\n", "TF410"),
        ("from tool import add\n\ndef test_x(:\n", "does not parse"),
        ("from tool import add\n\nclass TestAdd:\n    def test_a(self):\n"
         "        assert add(1, 2) == 3\n\ndef test_b():\n    assert add(1, 2) == 3\n",
         "TF412 test-class"),
    ],
)
def test_useless_test_files_are_problems(bwrap: SandboxBackend, tests: str,
                                         problem: str) -> None:
    report = run_tests(ADD, "add", [("candidate", tests)], backend=bwrap)
    assert not report.passed
    assert any(problem in p for p in report.problems), report.problems
    assert all(t.outcome == "error" and "refused" in t.message for t in report.tests)


def test_a_refused_test_file_never_gets_a_test_runner(bwrap: SandboxBackend) -> None:
    """Only a test file that passed the check is handed to a runner. Checked before (as
    the static layer does), a refused file costs no sandbox at all; checked for the first
    time, at most the tool host that imported the tool meanwhile."""
    refused = "from tool import add\n\ndef test_nothing():\n    add(1, 2)\n"
    for checked_before in (False, True):
        tests = f"{refused}\n# {checked_before} {os.getpid()} {id(bwrap)}\n"
        if checked_before:
            analyse("candidate", tests, "add")
        recording = _Recording(bwrap)
        report = run_tests(ADD, "add", [("candidate", tests)],
                           backend=recording)  # type: ignore[arg-type]
        assert any("TF401" in p for p in report.problems), report.problems
        roles = [proc.role for proc in recording.started]
        assert roles == ([] if checked_before else ["worker"])


def test_a_check_that_never_runs_fails_its_test(bwrap: SandboxBackend) -> None:
    tests = (
        "from tool import add\n\nNONE = []\n\n"
        "def check():\n    for value in NONE:\n        assert value\n\n"
        "def test_helper_with_nothing_to_check():\n    assert add(1, 2) == 3\n    check()\n\n"
        "def test_empty_loop():\n    for value in []:\n        assert value\n"
        "    assert add(1, 1) == 2\n"
    )
    report = run_tests(ADD, "add", [("candidate", tests)], backend=bwrap)
    assert _outcomes(report) == {"candidate:test_helper_with_nothing_to_check": "failed",
                                 "candidate:test_empty_loop": "failed"}
    helper, loop = report.tests
    assert "`check()` returned without running checks that must run on every call" \
        in helper.message
    assert "`value` at test_tool.py:7 in check" in helper.message
    assert "the test returned without running" in loop.message
    assert "`value` at test_tool.py:15 in test_empty_loop" in loop.message


def test_checks_that_a_branch_could_skip_are_refused(bwrap: SandboxBackend) -> None:
    tests = (
        "from tool import add\n\n"
        "def test_never_checks():\n    if add(1, 2) == 4:\n"
        "        assert add(1, 2) == 4\n    assert add(1, 1) == 2\n"
    )
    report = run_tests(ADD, "add", [("candidate", tests)], backend=bwrap)
    assert not report.passed
    assert any("TF419 skippable-check" in p and "`if`" in p for p in report.problems)
    looped = ("from tool import add\n\ndef test_filtered():\n"
              "    for a, b in [c for c in [(1, 2)] if add(*c) == 3]:\n"
              "        assert add(a, b) == 3\n")
    report = run_tests(ADD, "add", [("candidate", looped)], backend=bwrap)
    assert any("loop around checks must go over fixed cases" in p for p in report.problems)


def test_a_helper_that_asserts_counts_as_an_assertion(bwrap: SandboxBackend) -> None:
    tests = (
        "from tool import add\n\n"
        "def check(a, b, total):\n    assert add(a, b) == total\n\n"
        "def test_via_helper():\n    check(1, 2, 3)\n"
    )
    assert run_tests(ADD, "add", [("candidate", tests)], backend=bwrap).passed


def test_no_suites_is_not_a_pass(bwrap: SandboxBackend) -> None:
    report = run_tests(ADD, "add", [], backend=bwrap)
    assert not report.passed
    assert report.problems == ["no test suites given"]


# --- spoofing from the tool side -----------------------------------------------------------


def test_spoof_printing_fake_pass_markers(backend: SandboxBackend) -> None:
    trick = (
        "print('PASSED test_two_and_two\\n{\"t\": \"end\", \"name\": \"test_two_and_two\", "
        "\"outcome\": \"passed\"}\\n== 6 passed ==')\n"
        "import os\nos.write(1, b'test_two_and_two PASSED\\n')\nos.write(2, b'OK\\n')"
    )
    _assert_still_fails(run_tests(_with_trick(trick), "add", [("candidate", TESTS)],
                                  backend=backend))


@pytest.mark.parametrize("exit_call", ["sys.exit(0)", "os._exit(0)", "raise SystemExit(0)"])
def test_spoof_exiting_early_from_the_tool(backend: SandboxBackend, exit_call: str) -> None:
    trick = f"import os, sys\nif (a, b) == (2, 2):\n    {exit_call}"
    report = run_tests(_with_trick(trick), "add", [("candidate", TESTS)], backend=backend)
    _assert_still_fails(report)


def test_spoof_exiting_while_the_tool_is_imported(bwrap: SandboxBackend) -> None:
    for exit_call in ("import sys\nsys.exit(0)", "import os\nos._exit(0)"):
        report = run_tests(_with_trick("", at_import=exit_call), "add",
                           [("candidate", TESTS)], backend=bwrap)
        assert not report.passed
        assert not any(t.outcome == "passed" for t in report.tests)


def test_spoof_monkeypatching_builtins_json_and_the_proxy(backend: SandboxBackend) -> None:
    trick = '''
import builtins, json, sys
builtins.AssertionError = type("NeverRaised", (Exception,), {})
json.dumps = lambda *args, **kwargs: "4"
json.loads = lambda *args, **kwargs: 4
for name, module in list(sys.modules.items()):
    if name in ("tool", "wire", "runner", "worker", "__main__", "pytest"):
        for attr in ("dumps", "loads", "plain_json_problem", "tf_compare", "add"):
            if hasattr(module, attr):
                setattr(module, attr, lambda *args, **kwargs: None)
'''
    report = run_tests(_with_trick(trick), "add", [("candidate", TESTS)], backend=backend)
    _assert_still_fails(report)


def test_spoof_patching_the_host_at_import_time(bwrap: SandboxBackend) -> None:
    patch = '''
import sys
host = sys.modules.get("worker")
if host is not None:
    original = host.ToolHost.value_reply
    def always_four(self, call_id, value, capture):
        return original(self, call_id, 4, capture)
    host.ToolHost.value_reply = always_four
'''
    report = run_tests(_with_trick("", at_import=patch), "add", [("candidate", TESTS)],
                       backend=bwrap)
    # The patched host now answers 4 to everything: that is the tool's own (wrong) answer,
    # and the runner, in another process, compares it honestly.
    assert not report.passed
    assert _outcomes(report)["candidate:test_small"] == "failed"


def test_spoof_writing_results_files(backend: SandboxBackend) -> None:
    trick = '''
import json, os
for path in ("results.json", "report.json", "/tmp/results.json", "../results.json",
             "/sandbox/test_results.json", ".pytest_cache"):
    try:
        with open(path, "w") as f:
            json.dump({"passed": True, "tests": {"test_two_and_two": "passed"}}, f)
    except OSError:
        pass
'''
    _assert_still_fails(run_tests(_with_trick(trick), "add", [("candidate", TESTS)],
                                  backend=backend))


def test_spoof_writing_forged_frames_to_inherited_descriptors(backend: SandboxBackend) -> None:
    trick = '''
import json, os
messages = [
    {"t": "end", "name": "test_two_and_two", "outcome": "passed", "message": "", "asserts": 1},
    {"t": "done"},
    {"id": 2, "ok": True, "value": 4},
    {"ok": True, "value": 4},
]
for fd in range(3, 21):
    for message in messages:
        body = json.dumps(message).encode()
        try:
            os.write(fd, len(body).to_bytes(4, "big") + body)
        except OSError:
            pass
'''
    _assert_still_fails(run_tests(_with_trick(trick), "add", [("candidate", TESTS)],
                                  backend=backend))


def test_spoof_returning_an_object_that_equals_everything(backend: SandboxBackend) -> None:
    source = '''
class Anything(int):
    def __eq__(self, other):
        return True
    def __ne__(self, other):
        return False
    __hash__ = int.__hash__

class AnyText(str):
    def __eq__(self, other):
        return True
    __hash__ = str.__hash__

def add(a: int, b: int) -> int:
    """Add two integers (badly, but persuasively)."""
    if isinstance(a, str):
        return AnyText("whatever")
    return Anything(a + b + 1)
'''
    report = run_tests(source, "add", [("candidate", TESTS)], backend=backend)
    assert not report.passed
    assert _outcomes(report)["candidate:test_small"] == "failed"
    assert "non_json_result" in " ".join(report.limit_hits)
    assert "is not plain JSON" in report.tests[0].message


@pytest.mark.parametrize("target", ["os.getppid()", "0", "-1", "1"])
def test_spoof_killing_the_harness(backend: SandboxBackend, target: str) -> None:
    trick = (
        "import os, signal\n"
        "if (a, b) == (2, 2):\n"
        "    try:\n"
        f"        os.killpg({target}, signal.SIGKILL) if '{target}' == '0' else "
        f"os.kill({target}, signal.SIGKILL)\n"
        "    except OSError:\n"
        "        pass"
    )
    _assert_still_fails(run_tests(_with_trick(trick), "add", [("candidate", TESTS)],
                                  backend=backend))


# --- the test runner ---------------------------------------------------------------------


IDIOMS = '''
import collections
import datetime
import decimal
import math
import pytest
from tool import add, ParseError

EXPECTED = {"ok": [1, 2], 3: (4, 5)}


def test_values_of_every_plain_kind():
    assert add(1, 2) == 3, "a message"
    assert 0 < add(1, 2) <= 3 != 4
    assert add(1, 2) in {3, 4} and add(1, 2) not in (5, 6)
    assert {"ok": [add(0, 1), 2], 3: (4, 5)} == EXPECTED
    assert add(b"ab".hex(), "") == "6162"
    assert decimal.Decimal(str(add(0.5, 0.25))) == decimal.Decimal("0.75")
    assert datetime.date(2000, 1, add(1, 1)) < datetime.date(2000, 1, 3)
    assert collections.Counter(str(add(110, 1))) == {"1": 3}
    assert add(1, 1) is not None and add(0, 0) is not True
    assert type(add(1, 1)) is int and isinstance(add(1, 1), int)
    assert not add(0, 0)


def test_tolerances():
    assert add(0.1, 0.2) == pytest.approx(0.3)
    assert [add(0.1, 0.2), 1] == pytest.approx([0.3, 1])
    assert {"x": add(0.1, 0.2)} == {"x": pytest.approx(0.3, rel=1e-9)}
    assert math.isclose(add(0.1, 0.2), 0.3, rel_tol=1e-9)


def test_exceptions():
    with pytest.raises(ValueError, match="bad") as info:
        add("bad", 1)
    assert info.type is ValueError and "bad" in str(info.value)
    info.match("ba+d")
    with pytest.raises(ParseError):
        add("parse", 1)
    pytest.raises(ValueError, add, "bad", 2)
    if add(1, 1) != 2:
        pytest.fail("unreachable when the tool is right")
'''

IDIOM_TOOL = '''
class ParseError(ValueError):
    pass


def add(a, b):
    """Add, or concatenate; refuses "bad" and "parse"."""
    if a == "bad":
        raise ValueError("bad input")
    if a == "parse":
        raise ParseError("cannot parse")
    return a + b
'''


def test_the_usual_pytest_idioms_work(backend: SandboxBackend) -> None:
    report = run_tests(IDIOM_TOOL, "add", [("candidate", IDIOMS)], backend=backend)
    assert report.passed, report


def test_a_failing_idiom_explains_itself_from_the_parent(bwrap: SandboxBackend) -> None:
    wrong = IDIOM_TOOL.replace("return a + b", "return a + b + (1 if a == 1 else 0)")
    report = run_tests(wrong, "add", [("candidate", IDIOMS)], backend=bwrap)
    first = report.tests[0]
    assert first.outcome == "failed"
    assert first.message.startswith("assert add(1, 2) == 3, \"a message\"") or (
        "assert add(1, 2) == 3\n  left:  4\n  right: 3" in first.message), first.message
    assert "message: a message" in first.message


def test_values_that_cannot_be_checked_fail_with_a_reason(bwrap: SandboxBackend) -> None:
    tests = (
        "import re\nfrom tool import add\n\n"
        "def test_match_object():\n    assert re.match(r'\\d', str(add(1, 2)))\n\n"
        "def test_identity_of_values():\n    assert [add(1, 2)] is [3]\n"
    )
    report = run_tests(ADD, "add", [("candidate", tests)], backend=bwrap)
    assert _outcomes(report) == {"candidate:test_match_object": "failed",
                                 "candidate:test_identity_of_values": "failed"}
    assert "truth of <re.Match object> cannot be checked" in report.tests[0].message
    assert "`is` compares identity" in report.tests[1].message


def test_each_test_runs_in_a_fresh_copy_of_the_runner(bwrap: SandboxBackend) -> None:
    """A test that empties a shared constant, or changes the decimal context, does not
    change what the next test sees."""
    tests = (
        "import decimal\nfrom tool import add\n\nCASES = [(1, 2, 3), (2, 2, 4)]\n\n"
        "def test_a_spoils_everything():\n    CASES.clear()\n"
        "    decimal.setcontext(decimal.Context(prec=1))\n    assert add(1, 1) == 2\n\n"
        "def test_b_still_sees_the_cases():\n    for a, b, total in CASES:\n"
        "        assert add(a, b) == total\n"
        "    assert str(decimal.Decimal(add(1, 2)) / 7)[:6] == '0.4285'\n"
    )
    good = run_tests(ADD, "add", [("candidate", tests)], backend=bwrap)
    assert good.passed, good
    bad = run_tests(WRONG_ADD, "add", [("candidate", tests)], backend=bwrap)
    assert _outcomes(bad)["candidate:test_b_still_sees_the_cases"] == "failed"


def test_a_test_killed_by_a_limit_is_an_error_and_the_rest_run(bwrap: SandboxBackend) -> None:
    tests = TESTS.replace(
        "def test_two_and_two():\n",
        "def test_two_and_two():\n    total = 0\n    while total >= 0:\n"
        "        total = total + 1\n",
    )
    report = run_tests(ADD, "add", [("candidate", tests)], backend=bwrap,
                       limits=Limits(cpu_time_s=1, wall_time_s=30))
    assert not report.passed
    outcomes = _outcomes(report)
    assert outcomes["candidate:test_two_and_two"] == "error"
    assert "killed by" in report.tests[1].message
    assert outcomes["candidate:test_small"] == outcomes["candidate:test_approx"] == "passed"


def test_passing_checks_held_back_in_batches_all_reach_the_parent(bwrap: SandboxBackend
                                                                   ) -> None:
    """A test's process sends passing checks with its next request or its end, at most
    64 KiB at a time: thousands of them, then a failing one, are all judged in order."""
    tests = TESTS + (
        "\n\ndef test_many_checks():\n    value = add(1, 1)\n    for _ in range(5000):\n"
        "        assert value == 2\n    assert value == 3\n"
        "\n\ndef test_many_passing_checks():\n    for i in range(3000):\n"
        "        assert add(i, 0) == i\n    value = add(1, 1)\n"
        "    for _ in range(5000):\n        assert value == 2\n"
    )
    report = run_tests(ADD, "add", [("candidate", tests)], backend=bwrap)
    outcomes = _outcomes(report)
    assert outcomes["candidate:test_many_checks"] == "failed"
    message = next(t.message for t in report.tests if t.name == "test_many_checks")
    assert message.startswith("assert value == 3\n  left:  2\n  right: 3")
    assert outcomes["candidate:test_small"] == outcomes["candidate:test_approx"] == "passed"
    assert outcomes["candidate:test_many_passing_checks"] == "passed"


def test_a_test_that_loops_forever_is_stopped_at_the_suite_wall_time(
    bwrap: SandboxBackend,
) -> None:
    tests = TESTS.replace("def test_approx():\n", "def test_approx():\n    while True:\n"
                                                   "        pass\n")
    report = run_tests(ADD, "add", [("candidate", tests)], backend=bwrap,
                       limits=Limits(wall_time_s=1.0))
    assert not report.passed
    assert _outcomes(report)["candidate:test_approx"] == "error"
    assert "wall time" in next(t.message for t in report.tests if t.name == "test_approx")


# --- the warm pool ---------------------------------------------------------------------------


def test_the_warm_pool_serves_validations_and_never_reuses_a_sandbox(
    bwrap: SandboxBackend,
) -> None:
    with WarmPool(bwrap, size=1) as pool:
        assert pool.wait_ready()
        first = run_tests(ADD, "add", [("candidate", TESTS)], backend=bwrap, pool=pool)
        assert pool.wait_ready()
        second = run_tests(WRONG_ADD, "add", [("candidate", TESTS)], backend=bwrap, pool=pool)
        assert pool.hits >= 4
    assert first.passed
    assert not second.passed


# --- the end of a run ------------------------------------------------------------------------


LINGERING = '''
import os
import time

LEFT = []


def add(a: int, b: int) -> int:
    """Add two integers, leaving a process behind that would outlive the call."""
    if not LEFT:
        LEFT.append(os.fork())
        while not LEFT[0]:
            time.sleep(0.01)
    return a + b
'''


class _Recording:
    """`backend`, keeping the sandboxes it starts, to look at them from outside."""

    def __init__(self, backend: SandboxBackend) -> None:
        self.backend = backend
        self.started: list[SandboxedProcess] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.backend, name)

    def spawn(self, role: str, *, limits: Limits,
              avoid_hash_key: int | None = None) -> SandboxedProcess:
        proc = self.backend.spawn(role, limits=limits, avoid_hash_key=avoid_hash_key)
        proc.role = role  # type: ignore[attr-defined]
        self.started.append(proc)
        return proc


def _members(proc: SandboxedProcess) -> set[int]:
    """The processes that run the sandbox's code: its cgroups' members, the descendants of
    the process we started, and (landlock, rlimit: the guest is that process, and no
    process of it can leave its group) its process group. bwrap's own monitor is not one:
    it runs no sandboxed code and exits once it has reaped the namespace's init."""
    pids = set()
    for directory in proc.cgroup.paths if proc.cgroup is not None else []:
        with contextlib.suppress(OSError):
            pids |= {int(p) for p in Path(directory, "cgroup.procs").read_text().split()}
    if proc.popen.returncode is not None:
        # Reaped: its pid (and group id) may already be another process's (pid_max is
        # small here). A reaped bwrap monitor means the namespace's init, and with it
        # every process of the namespace, is gone; the cgroups say the rest.
        return pids
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            parents[int(entry)] = int(fields[1])
            if proc.backend != "bwrap" and int(fields[2]) == proc.pid:
                pids.add(int(entry))
    found = {proc.pid}
    while True:
        more = {pid for pid, parent in parents.items() if parent in found} - found
        if not more:
            break
        found |= more
    return pids | (found - ({proc.pid} if proc.backend == "bwrap" else set()))


def _start_time(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _still_running(pid: int) -> bool:
    """Alive and not about to die: neither a zombie nor with a SIGKILL pending."""
    try:
        status = dict(line.split(":", 1) for line in
                      Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    except OSError:
        return False  # gone
    if status["State"].split()[0] in ("Z", "X"):
        return False
    pending = int(status["SigPnd"], 16) | int(status["ShdPnd"], 16)
    return not pending & (1 << (signal.SIGKILL - 1))


def test_every_sandbox_is_killed_before_the_verdict_and_cleaned_up_after(
    backend: SandboxBackend,
) -> None:
    """run_tests returns once every process of its sandboxes has been sent SIGKILL (one the
    tool left behind included); waiting for them to exit and removing their cgroups and
    work directories goes on in the background, and `drain` waits for it."""
    recording = _Recording(backend)
    report = run_tests(LINGERING, "add", [("candidate", TESTS)],
                       backend=recording)  # type: ignore[arg-type]
    running = {pid for proc in recording.started for pid in _members(proc)
               if _still_running(pid)}
    assert report.passed, report
    assert len(recording.started) == 2  # the tool host and the test runner
    assert not running, f"processes of the sandboxes still run after the verdict: {running}"
    assert drain(60)
    for proc in recording.started:
        assert proc.popen.returncode is not None
        assert proc.work_dir is None or not os.path.exists(proc.work_dir)
        leftover = [d for d in (proc.cgroup.paths if proc.cgroup else []) if os.path.exists(d)]
        assert not leftover


def test_a_process_that_exits_right_after_a_run_leaves_nothing_behind(tmp_path: Path) -> None:
    """The background clean-up is finished at exit: no sandbox process, cgroup or work
    directory outlives the process that ran the validation."""
    script = tmp_path / "run.py"
    script.write_text(
        "import json, sys\n"
        "from toolforge.sandbox.backends import select_backend\n"
        "from toolforge.sandbox.harness import run_tests\n"
        "backend = select_backend(sys.argv[1])\n"
        "started = []\n"
        "spawn = backend.spawn\n"
        "born = {}\n"
        "def recording(role, *, limits, avoid_hash_key=None):\n"
        "    started.append(spawn(role, limits=limits, avoid_hash_key=avoid_hash_key))\n"
        "    pid = started[-1].pid  # unreaped: its stat is its own\n"
        "    born[pid] = open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()[19]\n"
        "    return started[-1]\n"
        "backend.spawn = recording\n"
        f"report = run_tests({LINGERING!r}, 'add', [('candidate', {TESTS!r})], "
        "backend=backend)\n"
        "print(json.dumps({'passed': report.passed, 'pids': sorted(born.items()),\n"
        "    'dirs': [d for p in started for d in ([p.work_dir] if p.work_dir else [])\n"
        "             + (p.cgroup.paths if p.cgroup else [])]}))\n"
    )
    for name in ("landlock", "bwrap"):
        done = subprocess.run([sys.executable, str(script), name], capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        found = json.loads(done.stdout)
        assert found["passed"]
        assert [d for d in found["dirs"] if os.path.exists(d)] == []
        # a pid comes back soon here (pid_max 32768): the same pid started at another time
        # is another process
        assert not [pid for pid, born in found["pids"]
                    if _still_running(pid) and _start_time(pid) == born]
