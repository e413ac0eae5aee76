"""Validation runs: a tool against one or more test suites, with an unforgeable verdict.

Per suite there are two sandboxed processes, both fresh:
- the tool host (`ToolProcess`, guest/worker.py), which only ever sends JSON text back;
- the test runner (guest/runner.py), whose `tool` module is a proxy: a call goes to the
  parent on the runner's private pipe, the parent relays it to the tool host, and the
  runner gets back freshly decoded JSON. No object made by the tool reaches a comparison.
The runner reports each test's start and end on its private pipe; this process, out of
reach of both, decides: a test passed only if its "passed" report arrived; a test that
never reported (runner killed, exited early, SystemExit, os._exit) is an error. stdout of
either sandbox is captured and capped and never parsed.

Earlier promoted versions' tests run as separate suites in separate runners (a candidate
test file cannot monkeypatch a regression suite), each against a fresh tool process.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, Field

from toolforge.sandbox.backends import SandboxBackend, select_backend
from toolforge.sandbox.limits import Limits
from toolforge.sandbox.pool import WarmPool
from toolforge.sandbox.process import CallResult, ToolProcess
from toolforge.sandbox.sandboxed import SandboxedProcess
from toolforge.sandbox.testfile import SuiteFile, analyse

ROLE = "runner"
_MAX_TESTS = 2000
_MAX_TEXT = 20_000


class TestOutcome(BaseModel):
    __test__ = False  # not a pytest test class

    name: str
    suite: str = Field(description='e.g. "candidate", "v2", "adversarial"')
    outcome: Literal["passed", "failed", "error"]
    message: str = ""
    output: str = ""
    duration_ms: float = 0.0
    tool_calls: int = 0


class RelayedCall(BaseModel):
    suite: str
    test: str | None
    args: list[Any]
    kwargs: dict[str, Any]


_MAX_CALLS = 1000
_MAX_CALL_CHARS = 20_000


class TestRunReport(BaseModel):
    __test__ = False

    backend: str
    isolated: bool
    limits: Limits
    tests: list[TestOutcome] = Field(default_factory=list)
    problems: list[str] = Field(default_factory=list)
    limit_hits: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    # The tool calls the tests made, as relayed (capped): which parameters the tests vary,
    # and fair starting points for the property attack.
    calls: list[RelayedCall] = Field(default_factory=list)
    duration_ms: float = 0.0
    passed: bool = False

    def promotable(self, *, allow_unisolated: bool = False) -> bool:
        """Passed, and on an isolating backend unless the user explicitly opted out."""
        return self.passed and (self.isolated or allow_unisolated)

    def summary(self) -> str:
        counts = {k: sum(t.outcome == k for t in self.tests) for k in ("passed", "failed", "error")}
        verdict = "PASSED" if self.passed else "FAILED"
        return (f"{verdict}: {counts['passed']} passed, {counts['failed']} failed, "
                f"{counts['error']} errors, {len(self.problems)} problems "
                f"[{self.backend}{'' if self.isolated else ', NOT isolated'}]")


def _text(value: Any, limit: int = _MAX_TEXT) -> str:
    text = value if isinstance(value, str) else ("" if value is None else str(value))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def run_tests(tool_source: str, entrypoint: str, suites: list[tuple[str, str]], *,
              limits: Limits | None = None, backend: SandboxBackend | None = None,
              pool: WarmPool | None = None,
              candidate_tool: ToolProcess | None = None) -> TestRunReport:
    """Validate `tool_source` against `suites` = [(label, test_file_source), ...].

    `candidate_tool`: the tool process for the first suite, owned (and closed) by the
    caller, who goes on using it (the property attack runs in it after the tests)."""
    started = time.monotonic()
    limits = limits or Limits()
    backend = backend or select_backend()
    report = TestRunReport(backend=backend.name, isolated=backend.isolating, limits=limits,
                           warnings=backend.warnings())
    if not suites:
        report.problems.append("no test suites given")
    runs = [_SuiteRun(label, source, limits) for label, source in suites]
    if runs and candidate_tool is not None:
        runs[0].tool, runs[0].owns_tool = candidate_tool, False
    try:
        # Sandboxes first, parsing while they boot; every run gets its own fresh pair.
        for run in runs:
            run.start(tool_source, entrypoint, backend, pool)
        for run in runs:
            run.analyse(entrypoint)
            report.problems.extend(run.suite.problems)
        for run in runs:
            run.drive(report)
    finally:
        # Signal every sandbox before waiting for any: teardown costs one wait, not many.
        for reap in [r for run in runs for r in run.begin_close()]:
            reap()
    report.duration_ms = (time.monotonic() - started) * 1000
    report.passed = (bool(report.tests) and not report.problems
                     and all(t.outcome == "passed" for t in report.tests))
    return report


class _SuiteRun:
    def __init__(self, label: str, source: str, limits: Limits) -> None:
        self.suite = SuiteFile(label, source)
        self.limits = limits
        self.tool: ToolProcess | None = None
        self.owns_tool = True
        self.runner: SandboxedProcess | None = None

    def start(self, tool_source: str, entrypoint: str, backend: SandboxBackend,
              pool: WarmPool | None) -> None:
        if self.tool is None:
            self.tool = ToolProcess(tool_source, entrypoint, limits=self.limits,
                                    backend=backend, pool=pool)
        self.tool.start()
        runner = pool.take(ROLE, self.limits, backend) if pool is not None else None
        self.runner = runner or backend.spawn(ROLE, limits=self.limits)

    def analyse(self, entrypoint: str) -> None:
        """Check and compile the test file, then hand it to the runner (if it is usable)."""
        self.suite = analyse(self.suite.label, self.suite.source, entrypoint)
        if self.suite.code_b64 is None or self.runner is None:
            return
        init = {"entrypoint": entrypoint, "code": self.suite.code_b64,
                "source": self.suite.source, "limits": self.limits.for_sandbox(),
                **self.runner.init_extra}
        self.runner.send(init, time.monotonic() + self.limits.wall_time_s)

    def begin_close(self) -> list[Callable[[], None]]:
        reaps = [self.tool.begin_close()] if self.tool is not None and self.owns_tool else []
        if self.runner is not None:
            reaps.append(self.runner.begin_kill())
        return reaps

    def drive(self, report: TestRunReport) -> None:
        """Relay the runner's tool calls and record its reports until done or out of time."""
        label, runner = self.suite.label, self.runner
        if self.suite.code_b64 is None or runner is None:
            return  # the parser already reported why
        deadline = time.monotonic() + self.limits.wall_time_s
        collected: list[str] | None = None
        outcomes: dict[str, TestOutcome] = {}
        current: str | None = None
        current_started = 0.0
        current_calls = 0
        current_output: list[str] = []
        suite_calls = 0
        finished = False
        stop_reason = "the test runner stopped before reporting this test"
        while True:
            received = runner.recv(deadline)
            if received.kind != "frame" or received.message is None:
                stop_reason = self._stop_reason(received.kind, runner, report)
                break
            message = received.message
            kind = message.get("t")
            if kind == "call":
                _record_call(report, label, current, message)
                result = self._relay(message, deadline)
                suite_calls += 1
                current_calls += 1
                if result.stdout:
                    current_output.append(result.stdout)
                if result.limit_hit:
                    report.limit_hits.append(f"{label}: {current or 'import'}: "
                                             f"{result.limit_hit}")
                if not runner.send(_reply(result), deadline):
                    stop_reason = "the test runner stopped during a tool call"
                    break
            elif kind == "collected" and collected is None:
                names = message.get("tests")
                if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                    stop_reason = "the test runner sent a malformed test list"
                    break
                collected = [_text(n, 300) for n in names[:_MAX_TESTS]]
                if message.get("error"):
                    report.problems.append(
                        f"{label}: importing test_tool.py failed: {_text(message['error'])}"
                    )
            elif kind == "start" and collected is not None and current is None:
                name = message.get("name")
                if name not in collected or name in outcomes:
                    stop_reason = "the test runner reported an unknown or repeated test"
                    break
                current, current_started, current_calls = name, time.monotonic(), 0
                current_output = [runner.take_output()]
            elif kind == "end" and current is not None and message.get("name") == current:
                reported = message.get("outcome")
                outcome: Literal["passed", "failed", "error"] = (
                    reported if reported in ("passed", "failed") else "error"
                )
                output = _text(message.get("output")) + "".join(current_output)
                output += runner.take_output()
                test = TestOutcome(
                    name=current, suite=label, outcome=outcome,
                    message=_text(message.get("message")), output=_text(output),
                    duration_ms=(time.monotonic() - current_started) * 1000,
                    tool_calls=current_calls,
                )
                if outcome == "passed" and message.get("asserts") == 0:
                    report.problems.append(
                        f"{label}: {current} passed without running any assertion"
                    )
                outcomes[current] = test
                current = None
            elif kind == "done" and current is None:
                finished = True
                break
            else:
                stop_reason = f"the test runner broke the protocol ({_text(kind, 40)!r})"
                break
        if current is not None:  # the runner died or ran out of time inside this test
            outcomes[current] = TestOutcome(
                name=current, suite=label, outcome="error", message=stop_reason,
                output=_text("".join(current_output) + runner.take_output()),
                duration_ms=(time.monotonic() - current_started) * 1000,
                tool_calls=current_calls,
            )
        self._finish(report, collected, outcomes, stop_reason,
                     suite_calls if finished else None)

    def _relay(self, message: dict[str, Any], deadline: float) -> CallResult:
        args, kwargs = message.get("args"), message.get("kwargs")
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            return CallResult(ok=False, error_type="TypeError",
                              error_message="malformed tool call", limit_hit=None)
        remaining = max(0.001, min(self.limits.wall_time_s, deadline - time.monotonic()))
        assert self.tool is not None
        return self.tool.call_raw(args, kwargs, remaining)

    def _stop_reason(self, kind: str, runner: SandboxedProcess, report: TestRunReport) -> str:
        if kind == "timeout":
            report.limit_hits.append(f"{self.suite.label}: wall_time")
            return f"the suite ran out of wall time ({self.limits.wall_time_s:g} s)"
        if kind in ("output", "oversize"):
            report.limit_hits.append(f"{self.suite.label}: output")
            return "the test runner exceeded the output limit"
        if kind == "garbage":
            return "the test runner sent a malformed message"
        runner.wait_exit(1.0)
        code = runner.popen.poll()
        return f"the test runner exited (status {code}) before reporting this test"

    def _finish(self, report: TestRunReport, collected: list[str] | None,
                outcomes: dict[str, TestOutcome], stop_reason: str,
                suite_calls: int | None) -> None:
        """Record every test; `suite_calls` is None when the runner did not finish."""
        label = self.suite.label
        names = list(collected or [])
        # Tests the parser saw but the runner never listed (deleted, renamed at import...).
        listed = {n.split("[", 1)[0] for n in names}
        names += [n for n in self.suite.test_names if n not in listed]
        if collected is None and not self.suite.test_names:
            report.problems.append(f"{label}: the test runner stopped before listing tests "
                                   f"({stop_reason})")
        for name in names:
            test = outcomes.get(name)
            if test is None:
                reason = stop_reason if collected is not None and name in collected else (
                    "not collected: " + stop_reason if collected is None
                    else "defined in test_tool.py but never collected")
                test = TestOutcome(name=name, suite=label, outcome="error", message=reason)
            report.tests.append(test)
        if suite_calls == 0 and names:  # only meaningful for a runner that finished
            report.problems.append(f"{label}: test_tool.py never calls the tool")


def _record_call(report: TestRunReport, label: str, test: str | None,
                 message: dict[str, Any]) -> None:
    args, kwargs = message.get("args"), message.get("kwargs")
    if len(report.calls) >= _MAX_CALLS or not isinstance(args, list) or not isinstance(
            kwargs, dict):
        return
    try:
        if len(json.dumps([args, kwargs])) > _MAX_CALL_CHARS:
            return
    except (TypeError, ValueError, RecursionError):
        return
    report.calls.append(RelayedCall(suite=label, test=test, args=args, kwargs=kwargs))


def _reply(result: CallResult) -> dict[str, Any]:
    if result.ok:
        return {"ok": True, "value": result.value}
    return {
        "ok": False, "error_type": result.error_type, "error_builtin": result.error_builtin,
        "error_args": result.error_args, "error_message": result.error_message,
        "traceback": result.traceback, "limit_hit": result.limit_hit,
    }
