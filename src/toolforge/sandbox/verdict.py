"""The parent's side of every check: it judges, counts and decides; the runner only reports.

For one test, `TestJudge` receives what the test's process sends (assert operands, the ends
of `pytest.raises` blocks, `pytest.fail`, `info.match`) and the results of the tool calls
this process relayed itself. It records a failure the moment a check fails, so a test that
catches the AssertionError has failed all the same. At the end a test passes only if:
- its process reported that the test function returned (and then exited cleanly);
- every check the parent judged held, and no tool call hit a limit;
- every check of the test's own body ran at least once, and every call of a function that
  checks (a helper) ran each of that function's checks at least once before it returned:
  an empty loop does not get past an assert (branches and early exits around checks are
  refused statically, see safety/test_rules.py);
- at least one check ran.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from typing import Any, Literal

from toolforge.sandbox.guest import judge
from toolforge.sandbox.process import CallResult
from toolforge.sandbox.testfile import TEST_FILE, CheckSite, SuiteFile

Outcome = Literal["passed", "failed", "error"]
_MAX_FAILURES = 20


class ProtocolError(Exception):
    """The test's process sent something no honest runner sends."""


@dataclass
class _Call:
    ok: bool
    error_type: str = ""
    error_builtin: str = ""
    message: str = ""
    limit: str | None = None


@dataclass
class _Frame:
    """One running function that checks: the test itself, or a call of a helper."""

    fid: int
    ran: set[int] = field(default_factory=set)
    site: CheckSite | None = None  # the call statement that started it (None: the test)


@dataclass
class _OpenRaises:
    site: CheckSite
    calls_before: int
    expected: list[Any]
    match: bool


@dataclass
class TestJudge:
    """Everything the parent knows about one test while it runs."""

    __test__ = False  # not a pytest test class

    suite: SuiteFile
    name: str
    calls: list[_Call] = field(default_factory=list)
    evaluated: set[int] = field(default_factory=set)
    failures: list[str] = field(default_factory=list)
    open_raises: list[_OpenRaises] = field(default_factory=list)
    ended: bool = False
    returned: bool = False
    runner_message: str = ""
    frames: list[_Frame] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.frames = [_Frame(self.suite.test_fids.get(self.name, -1))]

    # --- what the runner reports ------------------------------------------------------------

    def tool_called(self, result: CallResult, args: Any, kwargs: Any) -> None:
        self.calls.append(_Call(ok=result.ok, error_type=str(result.error_type or ""),
                                error_builtin=str(result.error_builtin or ""),
                                message=str(result.error_message or ""),
                                limit=result.limit_hit))
        if result.limit_hit:
            self._fail(f"the tool hit its {result.limit_hit} limit on call "
                       f"{len(self.calls)} ({_call_text(args, kwargs)}): "
                       f"{_short(result.error_message or '')}")

    def check(self, message: dict[str, Any]) -> dict[str, Any]:
        site = self._site(message, "assert")
        self._ran(site)
        raised = message.get("raised")
        if isinstance(raised, dict):
            # An operand raised: the assert did not hold, whoever catches the exception
            # later (a pytest.raises block included: an assert is not how a test expects
            # an exception).
            return self._refuse(f"assert {site.text}\n  raised "
                                f"{_short(str(raised.get('type')), 80)}: "
                                f"{_short(str(raised.get('message')))}{_where(site)}")
        held, values, why = judge.judge(site.shape, message.get("leaves"))  # type: ignore[arg-type]
        if held:
            return {"ok": True}
        return self._refuse(_assert_detail(site, values, why))

    def fail(self, message: dict[str, Any]) -> dict[str, Any]:
        site = self._site(message, "fail")
        self._ran(site)
        reason = _short(str(message.get("reason") or ""), 2000)
        return self._refuse(f"pytest.fail({reason!r}){_where(site)}")

    def raises(self, message: dict[str, Any]) -> dict[str, Any]:
        site = self._site(message, "raises")
        if message.get("phase") == "enter":
            try:
                expected = [judge.decode(e) for e in _list(message.get("expected"))]
            except judge.JudgeError:
                expected = []
            self.open_raises.append(_OpenRaises(site, len(self.calls), expected,
                                                bool(message.get("match"))))
            return {"ok": True}
        if message.get("phase") != "exit":
            raise ProtocolError("pytest.raises: unknown phase")
        block = next((b for b in reversed(self.open_raises) if b.site is site), None)
        if block is None:
            raise ProtocolError("pytest.raises: a block ended that never began")
        self.open_raises.remove(block)
        self._ran(site)
        problem = self._raises_problem(block, message)
        return {"ok": True} if problem is None else self._refuse(problem + _where(site))

    def match(self, message: dict[str, Any]) -> dict[str, Any]:
        site = self._site(message, "match")
        self._ran(site)
        call = self._call(message.get("call"), 0)
        matched = message.get("matched")
        if call is None or call.ok:
            return self._refuse(f"{site.text}: no exception of the tool to match{_where(site)}")
        if matched is not True:
            why = matched if isinstance(matched, str) else (
                f"the message {_short(call.message)!r} does not match")
            return self._refuse(f"{site.text}: {why}{_where(site)}")
        return {"ok": True}

    def call_site(self, message: dict[str, Any]) -> dict[str, Any]:
        """A statement calling a function that checks: each invocation must run every check
        of that function (an exception leaving it is judged where it is caught, which only
        pytest.raises may do)."""
        site = self._site(message, "call")
        phase = message.get("phase")
        if phase == "enter":
            self._ran(site)
            self.frames.append(_Frame(site.callee if site.callee is not None else -1,
                                      site=site))
            return {"ok": True}
        if phase not in ("returned", "raised"):
            raise ProtocolError("a call report with an unknown phase")
        if len(self.frames) < 2 or self.frames[-1].site is not site:
            raise ProtocolError("a call ended that never began")
        frame = self.frames.pop()
        if phase == "returned":
            missed = [i for i in self.suite.own_sites[frame.fid] if i not in frame.ran]
            if missed:
                self._fail(f"`{_short(site.text, 120)}` returned without running "
                           + _listed(self.suite, missed) + _where(site))
        return {"ok": True}

    def end(self, message: dict[str, Any]) -> None:
        if self.ended:
            raise ProtocolError("a test ended twice")
        self.ended = True
        self.returned = message.get("outcome") == "returned"
        self.runner_message = _short(str(message.get("message") or ""), 20_000)

    # --- the decision -----------------------------------------------------------------------

    def outcome(self, exit_status: int | None, stop_reason: str) -> tuple[Outcome, str]:
        """(outcome, message); `exit_status` None: the test's process was never reaped."""
        if self.failures:
            message = "\n".join(self.failures[:_MAX_FAILURES])
            if self.ended and not self.returned and self.runner_message:
                message += f"\n{self.runner_message}"  # the assert's message, or what raised
            return "failed", message
        if not self.ended:
            return "error", stop_reason if exit_status is None else _died(exit_status)
        if not self.returned:
            return "failed", self.runner_message or "the test raised an exception"
        if exit_status != 0:
            return "error", _died(exit_status or 0) if exit_status is not None else stop_reason
        if len(self.frames) != 1:
            return "error", "the test runner's report ended inside a call"
        root = self.frames[0]
        own = self.suite.own_sites[root.fid] if 0 <= root.fid < len(self.suite.own_sites) \
            else []
        missed = [i for i in own if i not in root.ran]
        if missed:
            return "failed", "the test returned without running " + _listed(self.suite, missed)
        if not any(self.suite.sites[i].kind != "call" for i in self.evaluated):
            return "failed", "the test passed without running any check"
        return "passed", ""

    # --- helpers ----------------------------------------------------------------------------

    def _site(self, message: dict[str, Any], kind: str) -> CheckSite:
        site_id = message.get("id")
        sites = self.suite.sites
        if type(site_id) is not int or not 0 <= site_id < len(sites) or (
            sites[site_id].kind != kind
        ):
            raise ProtocolError(f"a report for an unknown {kind} check")
        return sites[site_id]

    def _ran(self, site: CheckSite) -> None:
        """Record that `site` ran, in the innermost running invocation of its function."""
        self.evaluated.add(site.id)
        for frame in reversed(self.frames):
            if frame.fid == site.fid:
                frame.ran.add(site.id)
                return
        raise ProtocolError("a check of a function that is not running")

    def _call(self, number: Any, after: int) -> _Call | None:
        if type(number) is not int or not after < number <= len(self.calls):
            return None
        return self.calls[number - 1]

    def _fail(self, detail: str) -> None:
        if len(self.failures) < _MAX_FAILURES:
            self.failures.append(detail)

    def _refuse(self, detail: str) -> dict[str, Any]:
        self._fail(detail)
        return {"ok": False, "detail": detail}

    def _raises_problem(self, block: _OpenRaises, message: dict[str, Any]) -> str | None:
        wanted = " or ".join(_class_text(e) for e in block.expected) or "?"
        head = f"pytest.raises({wanted})"
        raised = message.get("raised")
        if raised is None:
            return f"{head}: DID NOT RAISE"
        call = self._call(message.get("call"), block.calls_before)
        if call is None or call.ok:
            return (f"{head}: the {_short(str(raised), 80)} was not raised by a call of the "
                    "tool inside the block (only the tool's own exceptions count)")
        if call.limit:
            return f"{head}: the tool hit its {call.limit} limit instead of raising"
        if not any(_matches(e, call) for e in block.expected):
            return f"{head}: the tool raised {call.error_type}: {_short(call.message)}"
        matched = message.get("matched")
        if block.match and matched is not True:
            why = matched if isinstance(matched, str) else "does not match"
            return f"{head}: the message {_short(call.message)!r}: {why}"
        return None


def _matches(expected: Any, call: _Call) -> bool:
    """Whether `pytest.raises(expected)` catches what the tool raised, as the runner's
    proxy classes would: a builtin error is itself, any other class a ToolError subclass
    named like it, also derived from its first builtin base."""
    if not isinstance(expected, judge.ClassRef):
        return False
    name = expected.name
    builtin = _builtin_error(call.error_builtin)
    is_builtin_error = call.error_type == call.error_builtin and builtin is not None
    if name.startswith("tool."):
        wanted = name[len("tool."):]
        if wanted == "ToolError":
            return not is_builtin_error
        return wanted == call.error_type and not is_builtin_error
    wanted_class = _builtin_error(name)
    if wanted_class is None:
        return False
    base = builtin if builtin is not None else Exception
    return issubclass(base, wanted_class) or (not is_builtin_error and wanted_class in (
        Exception, BaseException))


def _builtin_error(name: str) -> type[BaseException] | None:
    value = getattr(builtins, name, None) if name.isidentifier() else None
    if isinstance(value, type) and issubclass(value, Exception):
        return value
    if value is BaseException:
        return BaseException
    return None


def _assert_detail(site: CheckSite, values: list[Any], why: str) -> str:
    lines = [f"assert {site.text}"]
    shape = site.shape or []
    if shape and shape[0] == "cmp" and len(shape[1]) == 1 and len(values) == 2:
        lines.append(f"  left:  {judge.short_repr(values[0])}")
        lines.append(f"  right: {judge.short_repr(values[1])}")
        if shape[1] == ["=="] and type(values[0]) is list and type(values[1]) is tuple:
            lines.append("  (tool results are JSON: tuples come back as lists)")
    else:
        for text, value in zip(site.operands, values, strict=False):
            lines.append(f"  {_short(text, 80)}: {judge.short_repr(value)}")
    if why:
        lines.append(f"  cannot be checked: {why}")
    return "\n".join(lines) + _where(site)


def _listed(suite: SuiteFile, ids: list[int]) -> str:
    lines = [f"  `{_short(s.text, 120)}` at {TEST_FILE}:{s.line} in {s.function}"
             for s in (suite.sites[i] for i in ids[:10])]
    return ("checks that must run on every call (an empty loop passed over them):\n"
            + "\n".join(lines))


def _where(site: CheckSite) -> str:
    return f"\n  at {TEST_FILE}:{site.line} in {site.function}"


def _class_text(value: Any) -> str:
    if isinstance(value, judge.ClassRef):
        return value.name.removeprefix("tool.")
    return repr(value)


def _call_text(args: Any, kwargs: Any) -> str:
    parts = [judge.short_repr(a, 60) for a in (args if isinstance(args, list) else [])]
    if isinstance(kwargs, dict):
        parts += [f"{k}={judge.short_repr(v, 60)}" for k, v in kwargs.items()]
    return _short(", ".join(parts), 200)


def _died(status: int) -> str:
    if status < 0:
        from toolforge.sandbox.sandboxed import signal_name

        return f"the test's process was killed by {signal_name(-status)} (a limit, or a crash)"
    return f"the test's process exited with status {status} before reporting"


def _list(value: Any) -> list[Any]:
    return value if type(value) is list else []


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
