"""Odd values (issue 9, item 9): handled with a reason, never exit 3, a hang or a lost run.

Lone surrogates in a tool's output, return value and exception text; return values nested
1,000 deep; a 100,000-link attribute chain and a 200 KB expression (the parser's
RecursionError) wherever toolforge parses Python; odd values in a trajectory. Each gives a
failed validation or a recorded error that says why, through the real CLI, sandbox, git
library, state database and daemon.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import PYTHON, git, python_env, run_cli
from toolforge.safety.checker import check_source
from toolforge.sandbox.testfile import analyse
from toolforge.service.trajectory_service import TrajectoryService

SURROGATE_TOOL = '''
def odd(text: str) -> str:
    """Return text with a lone surrogate, print one, raise one.

    Args:
        text: anything.

    Returns:
        the text, oddly.
    """
    print("output \\ud800 here")
    if text == "raise":
        raise ValueError("bad \\udc80 value")
    return text + "\\ud800"
'''
SURROGATE_TESTS = '''
import pytest
from tool import odd


def test_value():
    assert odd("a") == "a\\ud800"


def test_error_text():
    with pytest.raises(ValueError, match="bad"):
        odd("raise")
'''
DEEP_TOOL = '''
def deep(n: int) -> list:
    """Nest an empty list n deep.

    Args:
        n: the depth.

    Returns:
        the nested list.
    """
    value: list = []
    for _ in range(n):
        value = [value]
    return value
'''
DEEP_TESTS = "from tool import deep\n\n\ndef test_deep():\n    assert deep(1000) != []\n"
CHAIN = "x" + ".a" * 100_000
BIG_EXPRESSION = "+".join(["1"] * 70_000)  # ~140 KB on one line


def _tool_with_body(expression: str) -> str:
    return ('def deep_source(x: int) -> int:\n    """Deep.\n\n    Args:\n        x: x.\n\n'
            f'    Returns:\n        x.\n    """\n    return {expression}\n')


def write_tool(base: Path, name: str, code: str, tests: str) -> Path:
    d = base / name
    d.mkdir()
    (d / "tool.py").write_text(code, encoding="utf-8", errors="surrogatepass")
    (d / "test_tool.py").write_text(tests, encoding="utf-8", errors="surrogatepass")
    return d


def result_of(stdout: str) -> dict[str, object]:
    """What a --json command returned (docs/json.md): the envelope's `result`."""
    return json.loads(stdout)["result"]  # type: ignore[no-any-return]


def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PYTHON, "-m", "toolforge", *map(str, args)], capture_output=True,
                          text=True, env=python_env(), timeout=300)


def test_lone_surrogates_fail_validation_with_a_reason(library: Path, tmp_path: Path) -> None:
    # escaped in the source: the files are valid UTF-8, the values they make are not
    tool = write_tool(tmp_path, "odd", SURROGATE_TOOL, SURROGATE_TESTS)
    added = cli("add", tool, "-L", library, "--json")
    assert added.returncode == 1, added.stderr  # added, and its validation failed
    report = result_of(added.stdout)["details"]["validation"]  # type: ignore[index]
    assert report["verdict"] == "failed"
    tests = {t["name"]: t for t in report["layers"][2]["tests"]}
    assert "lone surrogate is not UTF-8 text" in tests["test_value"]["message"]
    assert tests["test_error_text"]["outcome"] == "passed"  # the message is text: escaped
    shown = cli("validate", "odd", "-L", library, "--json")
    assert shown.returncode == 1 and result_of(shown.stdout)["verdict"] == "failed"
    assert "\\ud800" in shown.stdout or "\\\\ud800" in shown.stdout  # escaped, not dropped


def test_a_return_value_nested_1000_deep_fails_validation_with_a_reason(
        library: Path, tmp_path: Path) -> None:
    tool = write_tool(tmp_path, "deep", DEEP_TOOL, DEEP_TESTS)
    result = cli("validate", tool, "-L", library, "--json")
    assert result.returncode == 1, result.stderr
    report = result_of(result.stdout)
    [test] = report["layers"][2]["tests"]  # type: ignore[index]
    assert test["outcome"] == "failed" and "nested deeper than 100 levels" in test["message"]


@pytest.mark.parametrize("expression", [CHAIN, BIG_EXPRESSION], ids=["chain", "expression"])
def test_code_too_deep_to_parse_is_refused_everywhere_it_is_parsed(
        library: Path, tmp_path: Path, expression: str) -> None:
    code = _tool_with_body(expression)
    tool = write_tool(tmp_path, "deep_source", code,
                      "from tool import deep_source\n\n\ndef test_it():\n"
                      "    assert deep_source(1) == 1\n")
    for command in (("add", tool), ("validate", tool)):  # a refusal; a failed contract layer
        result = cli(*command, "-L", library)
        assert result.returncode == 1, (command, result.stdout, result.stderr)
        assert "nested too deeply to parse" in " ".join((result.stdout + result.stderr).split())
    # the checker and the test-file compiler say so too, as findings and problems
    assert [f.code for f in check_source(code)] == ["TF001 syntax-error"]
    deep_tests = f"from tool import add\n\n\ndef test_x():\n    assert add(1, 2) == {expression}\n"
    assert any("does not parse" in p for p in analyse("candidate", deep_tests, "add").problems)
    # a hand edit that makes an active tool this deep: list and show still answer
    base = library / "tools" / "upper"
    base.mkdir(parents=True)
    (base / "tool.py").write_text(code)
    for command in (("list",), ("show", "upper"), ("export", "--format", "openai")):
        result = cli(*command, "-L", library)
        assert result.returncode in (0, 1), (command, result.stderr)
        assert "Traceback" not in result.stderr and "internal error" not in result.stderr


def test_odd_values_in_trajectories_are_recorded_with_a_reason(library: Path,
                                                               tmp_path: Path) -> None:
    deep: list[object] = []
    for _ in range(1000):
        deep = [deep]
    runs = {
        "surrogates": {"task": "t\ud800", "final_answer": "a\udc80", "success": False,
                       "steps": [{"tool": "x\ud800", "error": "e\ud800",
                                  "arguments": {"k\ud800": "v"}}]},
        "deep": {"task": "t", "steps": [{"tool": "x", "result": deep}], "expected": deep,
                 "final_answer": "x"},
        "not json": {"task": "t", "expected": float("nan"), "final_answer": "x",
                     "metadata": {"inf": float("inf"), "set": {1, 2}, "obj": object()},
                     "steps": [{"tool": "x", "result": 10**5000}]},
    }
    service = TrajectoryService(library)
    try:
        ids = {name: service.record(doc).id for name, doc in runs.items()}
    finally:
        service.close()
    listing = run_cli("trajectories", "list", "-L", library, "--json")
    assert listing.exit_code == 0
    recorded = {t["id"]: t for t in listing.json["trajectories"]}
    assert set(ids.values()) <= set(recorded)
    notes = {name: " ".join(recorded[i]["metadata"]["recording_notes"]) for name, i in
             ids.items()}
    assert "lone surrogates, stored escaped" in notes["surrogates"]
    assert recorded[ids["surrogates"]]["task"] == "t\\ud800"
    assert "nested deeper than 64 levels, cut" in notes["deep"]
    assert "is not finite" in notes["not json"] and "integer of" in notes["not json"]
    assert "is not JSON" in notes["not json"]
    shown = run_cli("trajectories", "show", ids["deep"], "-L", library)
    assert shown.exit_code == 0


def test_odd_values_in_a_reported_file_are_recorded_or_refused_with_a_reason(
        library: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs.jsonl"
    deep = "[" * 5000 + "]" * 5000
    runs.write_text(
        '{"task": "lone \\ud800", "final_answer": "x", "success": false}\n'
        '{"task": "huge", "metadata": {"n": 1e999}, "success": true}\n'
        f'{{"task": "deep", "metadata": {{"d": {deep}}}, "success": true}}\n')
    result = run_cli("report", runs, "-L", library, "--json")
    assert result.exit_code in (0, 1), result.stdout
    if result.exit_code == 1:
        assert result.json["error"] == "report" and result.json["message"]
    else:
        listing = run_cli("trajectories", "list", "-L", library, "--json")
        assert listing.exit_code == 0 and listing.json["count"] == 3


# --- the same through the daemon --------------------------------------------------------------


@pytest.fixture
def daemon(library: Path, monkeypatch: pytest.MonkeyPatch,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    from test_daemon_process import kill_all

    monkeypatch.delenv("TOOLFORGE_NO_DAEMON", raising=False)
    yield
    kill_all(Path(os.environ["XDG_RUNTIME_DIR"]) / "toolforge", tmp_path_factory.getbasetemp())


def test_the_daemon_reports_odd_values_instead_of_failing(library: Path, tmp_path: Path,
                                                          daemon: None) -> None:
    tool = write_tool(tmp_path, "odd", SURROGATE_TOOL, SURROGATE_TESTS)
    added = cli("add", tool, "-L", library, "--json")
    assert added.returncode == 1, added.stderr  # added, and its validation failed
    assert result_of(added.stdout)["details"]["validation"]["verdict"] == "failed"  # type: ignore[index]
    deep = write_tool(tmp_path, "deep_source", _tool_with_body(CHAIN), DEEP_TESTS)
    refused = cli("add", deep, "-L", library)
    assert refused.returncode == 1 and "nested too deeply to parse" in refused.stderr
    assert "odd" in git(library, "log", "--format=%s")


def test_parsing_from_many_threads_at_once_never_fails_spuriously() -> None:
    """CPython 3.11 shares the AST conversion's depth counter between threads (gh-106905):
    concurrent parses, some of them too deep, made others fail with a SystemError (exit 3 in
    a daemon job or a parallel evolution cycle). Every parse goes through toolforge.pyast."""
    import gc
    import threading

    from toolforge.errors import ToolContractError
    from toolforge.tools.contract import load_tool_source

    class Churn:  # finalisers run Python code mid-parse, as hypothesis' gc callbacks do
        def __del__(self) -> None:
            pass

    def churn(phase: str, info: dict[str, int]) -> None:
        for _ in range(10):
            Churn()

    deep = _tool_with_body("x" + ".a" * 3000)
    wide = "\n".join(f"def f{i}(x):\n    return [[x, {{'a': (x, {i})}}]]" for i in range(200))
    errors: list[str] = []

    def work() -> None:
        for i in range(150):
            try:
                check_source(wide if i % 3 else deep)
                load_tool_source(deep)
            except ToolContractError:
                pass
            except SystemError as exc:  # pragma: no cover - the bug this test guards
                errors.append(str(exc))
                return

    gc.callbacks.append(churn)
    try:
        threads = [threading.Thread(target=work) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        gc.callbacks.remove(churn)
    assert errors == []
