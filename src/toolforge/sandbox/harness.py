"""Validation runs: a tool against one or more test suites, with an unforgeable verdict.

Per suite there are two sandboxed processes, both fresh:
- the tool host (`ToolProcess`, guest/worker.py), which only ever sends JSON text back;
- the test runner (guest/runner.py), whose `tool` module is a proxy: a call goes to the
  parent on the runner's private pipe, the parent relays it to the tool host, and the
  runner gets back freshly decoded JSON. No object made by the tool reaches a check.
The test file is checked and compiled here (`testfile.analyse`): this process knows the
tests and every check site before anything runs. It asks the runner to run each test in a
fresh fork; the test's process sends the operands of each check and this process judges
them (`verdict.TestJudge`), counts them, and decides. Nothing the runner says about itself
("passed", how many asserts) is trusted; silence is an error. stdout of either sandbox is
captured and capped and never parsed.

Earlier promoted versions' tests run as separate suites in separate runners (a candidate
test file cannot reach a regression suite), each against a fresh tool process.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, Field

from toolforge.sandbox.backends import SandboxBackend, select_backend
from toolforge.sandbox.guest import judge as shapes
from toolforge.sandbox.limits import Limits
from toolforge.sandbox.pool import WarmPool
from toolforge.sandbox.probe import PROBES, ProbeEvidence, call_key, perturb, perturb_error
from toolforge.sandbox.process import CallResult, ToolProcess
from toolforge.sandbox.sandboxed import SandboxedProcess, finish_later
from toolforge.sandbox.testfile import TEST_FILE, CheckSite, SuiteFile, analyse, analysed
from toolforge.sandbox.verdict import ProtocolError, TestJudge
from toolforge.textsafe import encodable

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
    text = encodable(text)  # the sandbox's text may hold lone surrogates
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
        # A test file checked before (the static layer does) is decided at once, and a
        # refused one costs no sandbox. A new one takes milliseconds to check: its suite's
        # tool host imports the tool meanwhile, and only the runner waits for the check.
        for run in runs:
            if not run.analysed(entrypoint):
                run.start_tool(tool_source, entrypoint, backend, pool)
        for run in runs:
            run.analyse(entrypoint)
            report.problems.extend(run.suite.problems)
        usable = [run for run in runs if run.suite.code_b64 is not None]
        for run in usable:  # every usable suite gets its own fresh pair of sandboxes
            run.start_tool(tool_source, entrypoint, backend, pool)
            run.start_runner(backend, pool)
        for run in usable:  # after every start: cold sandboxes boot side by side
            run.send_init(entrypoint)
        for run in runs:
            run.drive(report)
    finally:
        # Every sandbox is killed before the verdict; waiting for them to exit and removing
        # what they leave happens off the caller's path (`sandboxed.drain` waits for it),
        # but for a sandbox whose kill does not reach all of it at once.
        closing = [pair for run in runs for pair in run.begin_close()]
        for proc, wait in closing:
            if not proc.killed_at_once():
                wait()
        finish_later([wait for proc, wait in closing if proc.killed_at_once()])
    report.duration_ms = (time.monotonic() - started) * 1000
    report.passed = (bool(report.tests) and not report.problems
                     and all(t.outcome == "passed" for t in report.tests))
    return report


class _SuiteRun:
    def __init__(self, label: str, source: str, limits: Limits) -> None:
        self.suite = SuiteFile(label, source)
        self.checked = False  # `suite` is the analysis, not only the source
        self.limits = limits
        self.tool: ToolProcess | None = None
        self.owns_tool = True
        self.runner: SandboxedProcess | None = None
        self.deadline = 0.0
        self.answers: dict[str, CallResult] = {}  # the real run's calls, for the probes
        self.salts: dict[str, int] = {}  # each distinct call's own perturbation

    def start_tool(self, tool_source: str, entrypoint: str, backend: SandboxBackend,
                   pool: WarmPool | None) -> None:
        """Start the tool host (a warm one when the pool has it) and send it the tool."""
        if self.tool is None:
            self.tool = ToolProcess(tool_source, entrypoint, limits=self.limits,
                                    backend=backend, pool=pool)
        self.tool.start()

    def analysed(self, entrypoint: str) -> bool:
        """Take the test file's analysis if it is cached; whether it was."""
        found = analysed(self.suite.label, self.suite.source, entrypoint)
        if found is not None:
            self.suite, self.checked = found, True
        return self.checked

    def analyse(self, entrypoint: str) -> None:
        """Check and compile the test file (`suite.code_b64` is None if it is refused)."""
        if not self.checked:
            self.suite, self.checked = analyse(self.suite.label, self.suite.source,
                                               entrypoint), True

    def start_runner(self, backend: SandboxBackend, pool: WarmPool | None) -> None:
        """Start the test runner (a warm one when the pool has it)."""
        runner = pool.take(ROLE, self.limits, backend) if pool is not None else None
        self.runner = runner or backend.spawn(ROLE, limits=self.limits)

    def send_init(self, entrypoint: str) -> None:
        """Hand the compiled test file to the runner."""
        assert self.runner is not None and self.suite.code_b64 is not None
        self.deadline = time.monotonic() + self.limits.wall_time_s
        init = {"entrypoint": entrypoint, "code": self.suite.code_b64,
                "source": self.suite.source, "limits": self.limits.for_sandbox(),
                "shapes": self.suite.shapes(), "check_bytes": self.limits.max_output_bytes,
                "tests": self._generations(),
                **self.runner.init_extra}
        self.runner.send(init, self.deadline)

    def _generations(self) -> list[str]:
        """What the runner runs, in order: each test, then PROBES more rounds of them all
        (the runner forks them back to back; it cannot tell a probe from a run)."""
        names = self.suite.test_names[:_MAX_TESTS]
        return names * (1 + PROBES)

    def begin_close(self) -> list[tuple[SandboxedProcess, Callable[[], None]]]:
        """Kill this suite's sandboxes (not a caller's tool host): each, and its wait."""
        closing = []
        if self.tool is not None and self.owns_tool and self.tool.sandbox is not None:
            closing.append((self.tool.sandbox, self.tool.begin_close()))
        if self.runner is not None:
            closing.append((self.runner, self.runner.begin_kill()))
        return closing

    def drive(self, report: TestRunReport) -> None:
        """Run the tests one by one, relaying tool calls and judging every check."""
        label, runner, names = self.suite.label, self.runner, self.suite.test_names
        if len(names) > _MAX_TESTS:
            report.problems.append(f"{label}: more than {_MAX_TESTS} tests")
            names = names[:_MAX_TESTS]
        if self.suite.code_b64 is None or runner is None:
            for name in names:  # the parser already reported why
                report.tests.append(TestOutcome(name=name, suite=label, outcome="error",
                                                message="not run: test_tool.py was refused "
                                                "(see the problems)"))
            return
        self.deadline = time.monotonic() + self.limits.wall_time_s  # per suite, from its start
        stop = self._load(report)
        suite_calls = 0
        ran: list[tuple[TestOutcome, TestJudge]] = []
        for generation, name in enumerate(names):
            if stop is not None:
                report.tests.append(TestOutcome(name=name, suite=label, outcome="error",
                                                message=f"not run: {stop}"))
                continue
            test, judge, stop = self._run_test(generation, name, report)
            suite_calls += test.tool_calls
            report.tests.append(test)
            ran.append((test, judge))
        if stop is None and names and suite_calls == 0:
            report.problems.append(f"{label}: test_tool.py never calls the tool")
        if stop is None and any(test.outcome == "passed" for test, _ in ran):
            self._probe_all(names, ran)

    def _probe_all(self, names: list[str], ran: list[tuple[TestOutcome, TestJudge]]) -> None:
        """Run the probes (see sandbox/probe.py) and fail each passing test that holds an
        assert no probe could make fail, or whose probes could not finish."""
        evidence = ProbeEvidence()
        # The probes get one more suite's worth of wall time: a test that stalls on odd
        # answers runs out of it and fails, rather than passing unprobed.
        self.deadline = time.monotonic() + self.limits.wall_time_s
        generation = len(names)
        passing = [(test.name, self._held(judge)) for test, judge in ran
                   if test.outcome == "passed"]
        for k in range(PROBES):
            for name in names:
                if not self._run_probe(generation, name, k, evidence):
                    evidence.finished = False
                    break
                generation += 1
            if not evidence.finished:
                break
            # Evidence only grows: once every passing test has failed on some probe and
            # each of its asserts has been false on one, more rounds cannot change a
            # verdict. Good tests settle after the first round, at a fraction of the cost.
            if all(name in evidence.failing and held <= evidence.can_fail
                   for name, held in passing):
                break
        for test, judge in ran:
            if test.outcome == "passed":
                problem = self._probe_problem(test.name, judge, evidence)
                if problem:
                    test.outcome, test.message = "failed", problem

    def _probe_problem(self, name: str, judge: TestJudge, evidence: ProbeEvidence) -> str:
        """Why a test that passed does not count, after the probes ("" if it counts)."""
        if not evidence.finished:
            return ("the probe for checks that cannot fail did not finish: the tests ran out "
                    "of time on other answers of the tool")
        sites = self.suite.sites
        vacuous = sorted(evidence.vacuous(self._held(judge)))
        if vacuous:
            return "\n".join(
                f"assert {sites[i].text}\n  holds whatever the tool answers (it held for "
                "every other answer tried): it cannot tell a right tool from a wrong one\n"
                f"  at {TEST_FILE}:{sites[i].line} in {sites[i].function}" for i in vacuous[:10])
        if name not in evidence.failing:
            return ("the test passes whatever the tool answers (it passed for every other "
                    "answer tried): it cannot tell a right tool from a wrong one")
        return ""

    def _held(self, judge: TestJudge) -> set[int]:
        """The assert sites a test's real run evaluated, and held (exempt ones aside)."""
        sites = self.suite.sites
        return {i for i in judge.evaluated if sites[i].kind == "assert" and not sites[i].exempt}

    def _load(self, report: TestRunReport) -> str | None:
        """Wait until the runner has imported the test module; why not, if it did not."""
        assert self.runner is not None
        received = self.runner.recv(self.deadline)
        message = received.message or {}
        if received.kind != "frame" or message.get("t") != "loaded":
            reason = (self._stop_reason(received.kind, report.limit_hits)
                      if received.kind != "frame" else "the test runner broke the protocol")
            report.problems.append(f"{self.suite.label}: the test runner stopped before "
                                   f"running any test ({reason})")
            return reason
        if message.get("error"):
            report.problems.append(f"{self.suite.label}: importing test_tool.py failed: "
                                   f"{_text(message['error'])}")
            return "importing test_tool.py failed"
        return None

    def _run_test(self, generation: int, name: str, report: TestRunReport
                  ) -> tuple[TestOutcome, TestJudge, str | None]:
        """Run one test; (its outcome, its judge, why the suite cannot go on, or None)."""
        assert self.runner is not None
        runner, label = self.runner, self.suite.label
        judge = TestJudge(self.suite, name)
        started = time.monotonic()
        output = [runner.take_output()]

        def end(message: dict[str, Any]) -> None:
            judge.end(message)
            output.append(_text(message.get("output")))

        status, stop = self._exchange(
            generation, lambda kind, message: self._answer(kind, message, judge, report, output),
            end, lambda: judge.ended, report.limit_hits)
        output.append(runner.take_output())
        outcome, text = judge.outcome(status, stop or "")
        test = TestOutcome(name=name, suite=label, outcome=outcome, message=_text(text),
                           output=_text("".join(output)),
                           duration_ms=(time.monotonic() - started) * 1000,
                           tool_calls=len(judge.calls))
        return test, judge, stop

    def _run_probe(self, generation: int, name: str, k: int, evidence: ProbeEvidence) -> bool:
        """Run one probe of one test; whether it ran to its end."""
        assert self.runner is not None
        ended: list[dict[str, Any]] = []
        failed = False

        def answer(kind: Any, message: dict[str, Any]) -> dict[str, Any]:
            nonlocal failed
            if kind == "call":
                return self._probe_call(message, k)
            if kind == "check" and "raised" in message:
                self._probe_site(message.get("id"))
                failed = True  # an assert that raises fails its test...
                return {"ok": True, "go_on": True}  # ...but says nothing: on to the next
            if kind == "check":
                site = self._probe_site(message.get("id"))
                held, _, why = shapes.judge(site.shape, message.get("leaves"))  # type: ignore[arg-type]
                if not why:  # "could not compare" is no evidence either way
                    evidence.reached.add(site.id)
                if not held:
                    failed = True
                    if not why:
                        evidence.can_fail.add(site.id)
            elif kind == "fail":
                failed = True  # pytest.fail() ran
            elif kind == "raises" and message.get("phase") == "exit" and (
                    message.get("raised") is None or message.get("matched") is False
                    or isinstance(message.get("matched"), str)):
                failed = True  # DID NOT RAISE, or the message did not match
            return {"ok": True}  # every check "holds": the test goes on to its next check

        status, stop = self._exchange(generation, answer, ended.append, lambda: bool(ended), [])
        self.runner.take_output()
        if stop is not None or status is None:
            return False
        if failed or status != 0 or not ended or ended[0].get("outcome") != "returned":
            evidence.failing.add(name)
        return True

    def _probe_site(self, site_id: Any) -> CheckSite:
        sites = self.suite.sites
        if type(site_id) is not int or not 0 <= site_id < len(sites) or (
            sites[site_id].kind != "assert"
        ):
            raise ProtocolError("a report for an unknown assert")
        return sites[site_id]

    def _probe_call(self, message: dict[str, Any], k: int) -> dict[str, Any]:
        """The tool's answer to this call (from the real run when it made the same call),
        changed for probe `k`; an exception stays of the same class, with other words, or
        (probe 1) becomes an answer."""
        args, kwargs = message.get("args"), message.get("kwargs")
        key = call_key(args, kwargs)
        result = self.answers.get(key) if key is not None else None
        if result is None:
            result = self._relay(args, kwargs)
        salt = self.salts.setdefault(key, len(self.salts)) if key is not None else 0
        if not result.ok:
            if k == 1 and not result.limit_hit:
                return {"ok": True, "value": None}  # it answers instead of raising
            return perturb_error(_reply(result), k, salt)
        return {"ok": True, "value": perturb(result.value, k, salt)}

    def _exchange(self, generation: int,
                  answer: Callable[[Any, dict[str, Any]], dict[str, Any]],
                  end: Callable[[dict[str, Any]], None], ended: Callable[[], bool],
                  limit_hits: list[str]) -> tuple[int | None, str | None]:
        """Serve one test's process until it is reaped: (its exit status, why the suite
        cannot go on, or None)."""
        assert self.runner is not None
        runner = self.runner
        status: int | None = None
        stop: str | None = None
        while stop is None:
            received = runner.recv(self.deadline)
            if received.kind != "frame" or received.message is None:
                stop = self._stop_reason(received.kind, limit_hits)
                break
            message = received.message
            kind = message.get("t")
            if message.get("g") != generation or (ended() and kind != "reaped"):
                stop = f"the test runner broke the protocol ({_text(kind, 40)!r})"
                break
            if kind == "reaped":
                status = message.get("status") if type(message.get("status")) is int else -1
                break
            try:  # a malformed report is the runner's fault: it ends the suite, never us
                if kind == "end":
                    end(message)
                    continue
                reply = answer(kind, message)
            except (ProtocolError, TypeError, ValueError, KeyError, AttributeError) as exc:
                stop = f"the test runner broke the protocol ({_text(exc, 200)})"
                break
            if message.get("wait") is False:
                continue  # recorded; the runner goes on without an answer
            if not runner.send({"t": "reply", "g": generation, **reply}, self.deadline):
                stop = "the test runner stopped while a check was answered"
        return status, stop

    def _answer(self, kind: Any, message: dict[str, Any], judge: TestJudge,
                report: TestRunReport, output: list[str]) -> dict[str, Any]:
        if kind == "call":
            _record_call(report, self.suite.label, judge.name, message)
            args, kwargs = message.get("args"), message.get("kwargs")
            result = self._relay(args, kwargs)
            key = call_key(args, kwargs)
            if key is not None and key not in self.answers:
                self.answers[key] = result  # what the probes answer, changed
            judge.tool_called(result, args, kwargs)
            if result.stdout:
                output.append(result.stdout)
            if result.limit_hit:
                report.limit_hits.append(f"{self.suite.label}: {judge.name}: "
                                         f"{result.limit_hit}")
            return _reply(result)
        handlers = {"check": judge.check, "raises": judge.raises, "fail": judge.fail,
                    "match": judge.match, "call_site": judge.call_site}
        handler = handlers.get(kind) if isinstance(kind, str) else None
        if handler is None:
            raise ProtocolError(f"unknown message {_text(kind, 40)!r}")
        return handler(message)

    def _relay(self, args: Any, kwargs: Any) -> CallResult:
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            return CallResult(ok=False, error_type="TypeError",
                              error_message="malformed tool call", limit_hit=None)
        remaining = max(0.001, min(self.limits.wall_time_s, self.deadline - time.monotonic()))
        assert self.tool is not None
        return self.tool.call_raw(args, kwargs, remaining)

    def _stop_reason(self, kind: str, limit_hits: list[str]) -> str:
        assert self.runner is not None
        if kind == "timeout":
            limit_hits.append(f"{self.suite.label}: wall_time")
            return f"the suite ran out of wall time ({self.limits.wall_time_s:g} s)"
        if kind in ("output", "oversize"):
            limit_hits.append(f"{self.suite.label}: output")
            return "the test runner exceeded the output limit"
        if kind == "garbage":
            return "the test runner sent a malformed message"
        self.runner.wait_exit(1.0)
        code = self.runner.popen.poll()
        return f"the test runner exited (status {code})"


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
