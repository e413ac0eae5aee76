"""Test runner: runs ONE suite's test functions inside its own sandbox.

Runs as `python -I -S -B runner.py IN_FD OUT_FD` (stdlib only). The test module sees:
- `tool`: a proxy module; calling the entrypoint sends JSON arguments to the parent, which
  relays them to the tool's own sandboxed process, and returns the freshly decoded JSON
  result, so no object made by the tool ever reaches a comparison here. A builtin
  exception raised by the tool comes back as the same builtin class; another class comes
  back as a `ToolError` subclass of the same name (also a subclass of its first builtin
  base, so `pytest.raises(ValueError)` still matches a `class ParseError(ValueError)`).
- `pytest`: a small shim (raises, approx, fail, skip, mark.parametrize, param, fixture),
  because importing real pytest costs ~200 ms and it is not visible here anyway.

The parent compiles the test file (with asserts rewritten to explain failures) and sends
the code object; the runner reports each test's start and end on the private pipe. The
parent decides the verdict: a test passes only if its "passed" report arrived.
"""

from __future__ import annotations

import _thread
import binascii
import builtins
import marshal
import os
import sys

import wire

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

TEST_FILE = "test_tool.py"
_FUNCTION = type(lambda: None)
_CO_COROUTINE = 0x80
_MISSING = object()


class _State:
    asserts = 0
    sources: dict[str, str] = {}  # noqa: RUF012 - one runner, one suite


# --- talking to the parent ---------------------------------------------------------------


class Channel:
    def __init__(self, inbox: wire.Lifeline, wfd: int) -> None:
        self.inbox, self.wfd = inbox, wfd
        self.lock = _thread.allocate_lock()

    def send(self, message: dict[str, Any]) -> None:
        wire.write_frame(self.wfd, message)

    def request(self, message: dict[str, Any]) -> dict[str, Any]:
        with self.lock:  # test code may call the tool from several threads
            self.send(message)
            return self.inbox.get()


# --- the tool proxy ----------------------------------------------------------------------


class ToolError(Exception):
    """The tool raised an exception that is not a builtin one (or hit a limit)."""

    type_name = "ToolError"


class ToolLimitError(ToolError):
    """The tool's process was stopped: wall time, CPU, memory, output, crash..."""


_registry: dict[str, type] = {}
_combined: dict[tuple[str, str], type] = {}


def _named_error(name: str) -> type:
    cls = _registry.get(name)
    if cls is None:
        cls = _registry[name] = type(name, (ToolError,), {"type_name": name})
    return cls


def _error_class(name: str, builtin_name: str | None) -> type:
    base = getattr(builtins, builtin_name, None) if builtin_name else None
    if not (isinstance(base, type) and issubclass(base, Exception)):
        return _named_error(name)
    if name == builtin_name:
        return base
    key = (name, base.__name__)
    cls = _combined.get(key)
    if cls is None:
        try:
            cls = type(name, (_named_error(name), base), {"type_name": name})
        except TypeError:  # incompatible layouts; the name still matches
            cls = _named_error(name)
        _combined[key] = cls
    return cls


def _exception_from(reply: dict[str, Any]) -> BaseException:
    name = reply.get("error_type")
    name = name if isinstance(name, str) and name.isidentifier() else "ToolError"
    message = wire.safe_str(reply.get("error_message") or "")
    limit = reply.get("limit_hit")
    exc: BaseException
    if limit:
        what = "crashed" if limit == "crash" else f"hit its {limit} limit"
        exc = ToolLimitError(f"the tool {what}: {message}")
        exc.limit = limit  # type: ignore[attr-defined]
    else:
        builtin = reply.get("error_builtin")
        cls = _error_class(name, builtin if isinstance(builtin, str) else None)
        args = reply.get("error_args")
        try:
            exc = cls(*args) if isinstance(args, list) else cls(message)
        except Exception:
            exc = _named_error(name)(message)
    exc.tool_traceback = reply.get("traceback") or ""  # type: ignore[attr-defined]
    return exc


def make_tool_module(channel: Channel, entrypoint: str) -> Any:
    def call_tool(*args: Any, **kwargs: Any) -> Any:
        payload = {"t": "call", "args": list(args), "kwargs": kwargs}
        problem = wire.plain_json_problem(payload)
        if problem is not None:
            raise TypeError(f"tool arguments must be plain JSON values: {problem}")
        reply = channel.request(payload)
        if reply.get("ok") is True:
            return reply.get("value")
        raise _exception_from(reply)

    call_tool.__name__ = call_tool.__qualname__ = entrypoint
    call_tool.__doc__ = f"Calls {entrypoint} in its own sandbox (JSON in, JSON out)."
    module = type(sys)("tool")
    setattr(module, entrypoint, call_tool)
    module.__all__ = [entrypoint]
    module.ToolError = ToolError

    def __getattr__(name: str) -> Any:
        # Exception classes of the tool (`from tool import ParseError`) become proxies that
        # match what the tool raises by name; anything else is not available here.
        if name[:1].isupper() and name.isidentifier():
            return _named_error(name)
        raise AttributeError(
            f"module 'tool' has no attribute {name!r}: tests see only {entrypoint}()"
        )

    module.__getattr__ = __getattr__
    return module


# --- the pytest shim ---------------------------------------------------------------------


class Failed(AssertionError):
    pass


class Skipped(Exception):
    pass


class ExceptionInfo:
    def __init__(self) -> None:
        self.value: BaseException | None = None
        self.type: type | None = None
        self.tb: Any = None

    @property
    def typename(self) -> str:
        return self.type.__name__ if self.type else ""

    def match(self, pattern: str) -> bool:
        import re

        if not re.search(pattern, str(self.value)):
            raise Failed(f"Regex pattern {pattern!r} does not match {str(self.value)!r}.")
        return True

    def __repr__(self) -> str:
        return f"<ExceptionInfo {self.value!r}>"


class RaisesContext:
    def __init__(self, expected: Any, match: str | None) -> None:
        self.expected = expected
        self.match_pattern = match
        self.info = ExceptionInfo()

    def __enter__(self) -> ExceptionInfo:
        _State.asserts += 1
        return self.info

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        if exc_type is None:
            raise Failed(f"DID NOT RAISE {_names(self.expected)}")
        if not issubclass(exc_type, self.expected):
            return False
        self.info.value, self.info.type, self.info.tb = exc, exc_type, tb
        if self.match_pattern is not None:
            self.info.match(self.match_pattern)
        return True


def _names(expected: Any) -> str:
    if isinstance(expected, tuple):
        return " or ".join(getattr(e, "__name__", str(e)) for e in expected)
    return getattr(expected, "__name__", str(expected))


def raises(expected: Any, *args: Any, match: str | None = None, **kwargs: Any) -> Any:
    context = RaisesContext(expected, match)
    if not args:
        return context
    with context:
        args[0](*args[1:], **kwargs)
    return context.info


class approx:
    def __init__(self, expected: Any, rel: float | None = None, abs: float | None = None,
                 nan_ok: bool = False) -> None:
        self.expected, self.rel, self.abs, self.nan_ok = expected, rel, abs, nan_ok

    def _close(self, actual: Any, expected: Any) -> bool:
        if isinstance(expected, (list, tuple)):
            return (isinstance(actual, (list, tuple)) and len(actual) == len(expected)
                    and all(self._close(a, e) for a, e in zip(actual, expected, strict=True)))
        if isinstance(expected, dict):
            return (isinstance(actual, dict) and actual.keys() == expected.keys()
                    and all(self._close(actual[k], expected[k]) for k in expected))
        numbers = (int, float)
        if (type(expected) is bool or type(actual) is bool or not isinstance(expected, numbers)
                or not isinstance(actual, numbers)):
            return bool(actual == expected)
        if actual == expected:
            return True
        if expected != expected:
            return self.nan_ok and actual != actual
        if expected in (float("inf"), float("-inf")):
            return False
        tolerance = 1e-12 if self.abs is None else self.abs
        if not (self.rel is None and self.abs is not None):
            rel = 1e-6 if self.rel is None else self.rel
            tolerance = max(tolerance, rel * (expected if expected >= 0 else -expected))
        difference = actual - expected
        return (difference if difference >= 0 else -difference) <= tolerance

    def __eq__(self, actual: object) -> bool:
        return self._close(actual, self.expected)

    def __ne__(self, actual: object) -> bool:
        return not self.__eq__(actual)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"approx({self.expected!r})"


def fail(reason: str = "", pytrace: bool = True) -> None:
    raise Failed(reason)


def skip(reason: str = "") -> None:
    raise Skipped(reason)


class _Param:
    def __init__(self, values: tuple[Any, ...], id: str | None) -> None:
        self.values, self.id = values, id


def param(*values: Any, id: str | None = None, marks: Any = ()) -> _Param:
    return _Param(values, id)


class _Mark:
    def parametrize(self, argnames: Any, argvalues: Any, ids: Any = None,
                    **_ignored: Any) -> Callable[[Any], Any]:
        names = ([n.strip() for n in argnames.split(",") if n.strip()]
                 if isinstance(argnames, str) else list(argnames))
        cases = []
        for index, value in enumerate(argvalues):
            case_id = None
            if isinstance(value, _Param):
                case_id, value = value.id, value.values
            elif len(names) == 1:
                value = (value,)
            if ids is not None and not callable(ids) and index < len(ids):
                case_id = ids[index]
            cases.append((dict(zip(names, value, strict=True)), case_id))

        def decorate(function: Any) -> Any:
            existing = getattr(function, "__tf_params__", [])
            function.__tf_params__ = [*existing, cases]
            return function

        return decorate

    def __getattr__(self, name: str) -> Any:
        def mark(*args: Any, **kwargs: Any) -> Any:
            if len(args) == 1 and callable(args[0]) and not kwargs:
                return args[0]
            return lambda function: function

        return mark


def fixture(function: Any = None, **_options: Any) -> Any:
    def decorate(f: Any) -> Any:
        f.__tf_fixture__ = _options
        return f

    return decorate(function) if callable(function) else decorate


def make_pytest_module() -> Any:
    module = type(sys)("pytest")
    for name, value in {
        "raises": raises, "approx": approx, "fail": fail, "skip": skip, "param": param,
        "mark": _Mark(), "fixture": fixture, "ExceptionInfo": ExceptionInfo,
        "__version__": "toolforge-sandbox-shim",
    }.items():
        setattr(module, name, value)
    return module


# --- assert support (the parent rewrote `assert` statements to call these) ----------------

_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
    "is": lambda a, b: a is b, "is not": lambda a, b: a is not b,
    "in": lambda a, b: a in b, "not in": lambda a, b: a not in b,
}


def tf_compare(left: Any, right: Any, op: str) -> str | None:
    _State.asserts += 1
    if _OPERATORS[op](left, right):
        return None
    detail = f"  left:  {wire.short_repr(left)}\n  right: {wire.short_repr(right)}"
    if op == "==" and isinstance(left, list) and isinstance(right, tuple):
        detail += "\n  (tool results are JSON: tuples come back as lists)"
    return detail


def tf_truth(value: Any) -> bool:
    _State.asserts += 1
    return bool(value)


def tf_failure(source: str, detail: str | None, message: Any = None) -> AssertionError:
    text = f"assert {source}" + (f"\n{detail}" if detail else "")
    if message is not None:
        text = f"{wire.safe_str(message)}\n{text}"
    return AssertionError(text)


# --- collecting and running ----------------------------------------------------------------


def _case_id(kwargs: dict[str, Any], index: int) -> str:
    parts = []
    for name, value in kwargs.items():
        if type(value) in (int, float, bool) or value is None or (
            type(value) is str and len(value) <= 30 and value.isprintable()
        ):
            parts.append(str(value))
        else:
            parts.append(f"{name}{index}")
    return "-".join(parts) or str(index)


def collect(namespace: dict[str, Any]) -> list[tuple[str, Any, dict[str, Any]]]:
    tests = []
    for name, function in list(namespace.items()):
        if not name.startswith("test") or type(function) is not _FUNCTION:
            continue
        if getattr(function, "__tf_fixture__", None) is not None:
            continue
        combos: list[tuple[dict[str, Any], list[str]]] = [({}, [])]
        for cases in getattr(function, "__tf_params__", []):
            expanded = []
            for kwargs, ids in combos:
                for index, (case, case_id) in enumerate(cases):
                    label = str(case_id) if case_id is not None else _case_id(case, index)
                    expanded.append(({**kwargs, **case}, [*ids, label]))
            combos = expanded
        for kwargs, ids in combos:
            tests.append((f"{name}[{'-'.join(ids)}]" if ids else name, function, kwargs))
    return tests


class FixtureError(Exception):
    pass


class Fixtures:
    def __init__(self, namespace: dict[str, Any]) -> None:
        self.namespace = namespace
        self.values: dict[str, Any] = {}
        self.teardowns: list[Any] = []

    def resolve(self, name: str, stack: tuple[str, ...] = ()) -> Any:
        if name in self.values:
            return self.values[name]
        if name in stack:
            raise FixtureError(f"fixture {name!r} depends on itself")
        if name == "tmp_path":
            import pathlib
            import tempfile

            value: Any = pathlib.Path(tempfile.mkdtemp(dir=os.getcwd()))
        else:
            function = self.namespace.get(name)
            if getattr(function, "__tf_fixture__", None) is None:
                raise FixtureError(
                    f"fixture {name!r} not found (the sandbox runner supports "
                    "@pytest.fixture functions in test_tool.py, parametrize and tmp_path)"
                )
            value = function(**self.arguments(function, (*stack, name), {}))
            if type(value).__name__ == "generator":
                generator = value
                value = next(generator)
                self.teardowns.append(generator)
        self.values[name] = value
        return value

    def arguments(self, function: Any, stack: tuple[str, ...], given: dict[str, Any]
                  ) -> dict[str, Any]:
        code = function.__code__
        names = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
        defaults = set(names[len(names) - len(function.__defaults__ or ()) :])
        kwargs = {}
        for name in names:
            if name in given:
                kwargs[name] = given[name]
            elif name not in defaults:
                kwargs[name] = self.resolve(name, stack)
        return kwargs

    def autouse(self) -> None:
        for name, function in self.namespace.items():
            options = getattr(function, "__tf_fixture__", None)
            if isinstance(options, dict) and options.get("autouse"):
                self.resolve(name)

    def teardown(self) -> None:
        for generator in reversed(self.teardowns):
            try:
                next(generator)
            except StopIteration:
                pass


def describe_failure(exc: BaseException) -> str:
    if isinstance(exc, AssertionError):
        text = wire.safe_str(exc) or "assert failed"
        if type(exc) is not AssertionError and not isinstance(exc, Failed):
            text = f"{type(exc).__name__}: {text}"
    else:
        text = f"{type(exc).__name__}: {wire.safe_str(exc)}"
    location = _test_location(exc.__traceback__)
    if location:
        text += f"\n  at {location}"
    tool_tb = getattr(exc, "tool_traceback", "")
    if tool_tb:
        text += f"\n  raised by the tool:\n{tool_tb}"
    return text


def _test_location(tb: Any) -> str:
    where = ""
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_filename == TEST_FILE:
            line = ""
            source_lines = _State.sources.get(TEST_FILE, "").splitlines()
            if 0 < tb.tb_lineno <= len(source_lines):
                line = ": " + source_lines[tb.tb_lineno - 1].strip()
            where = f"{TEST_FILE}:{tb.tb_lineno} in {code.co_name}{line}"
        tb = tb.tb_next
    return where


def run_test(function: Any, params: dict[str, Any], namespace: dict[str, Any],
             max_output: int) -> tuple[str, str, str]:
    capture = wire.CappedText(max_output)
    saved = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = capture
    fixtures = Fixtures(namespace)
    outcome, message = "passed", ""
    try:
        if function.__code__.co_flags & _CO_COROUTINE:
            raise FixtureError("async tests are not supported")
        fixtures.autouse()
        function(**fixtures.arguments(function, (), params))
    except (FixtureError, Skipped) as exc:
        kind = "skipped" if isinstance(exc, Skipped) else "setup failed"
        outcome, message = "error", f"{kind}: {wire.safe_str(exc)}"
    except BaseException as exc:  # SystemExit from a test is a failure, not an exit
        outcome, message = "failed", describe_failure(exc)
    finally:
        try:
            fixtures.teardown()
        except BaseException as exc:
            if outcome == "passed":
                outcome, message = "error", f"fixture teardown failed: {describe_failure(exc)}"
        sys.stdout, sys.stderr = saved
    return outcome, message, capture.getvalue()


def main(rfd: int, wfd: int) -> int:
    wire.close_other_fds({rfd, wfd})
    wire.write_frame(wfd, {"t": "ready"})  # booted: a warm pool may now hand us out
    init = wire.read_frame(rfd)
    if init is None:
        return 0
    wire.apply_limits(init["limits"], nproc_relative=bool(init.get("nproc_relative")))
    if init.get("uid") is not None:
        wire.drop_privileges(int(init["uid"]))
    channel = Channel(wire.Lifeline(rfd, str(init.get("kill_scope") or "group")), wfd)
    max_output = int(init["limits"]["max_output_bytes"])
    _State.sources[TEST_FILE] = str(init.get("source") or "")
    sys.modules["pytest"] = make_pytest_module()
    sys.modules["tool"] = make_tool_module(channel, str(init["entrypoint"]))
    module = type(sys)("test_tool")
    module.__file__ = TEST_FILE
    module.__dict__.update(__tf_compare__=tf_compare, __tf_truth__=tf_truth,
                           __tf_failure__=tf_failure)
    sys.modules["test_tool"] = module
    capture = wire.CappedText(max_output)
    saved = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = capture
    try:
        code = marshal.loads(binascii.a2b_base64(init["code"]))
        exec(code, module.__dict__)
        tests = collect(module.__dict__)
    except BaseException as exc:
        sys.stdout, sys.stderr = saved
        channel.send({"t": "collected", "tests": [], "error": describe_failure(exc),
                      "output": capture.getvalue()})
        return 0
    finally:
        sys.stdout, sys.stderr = saved
    channel.send({"t": "collected", "tests": [name for name, _, _ in tests],
                  "output": capture.getvalue()})
    for name, function, params in tests:
        channel.send({"t": "start", "name": name})
        _State.asserts = 0
        outcome, message, output = run_test(function, params, module.__dict__, max_output)
        channel.send({"t": "end", "name": name, "outcome": outcome, "message": message,
                      "output": output, "asserts": _State.asserts})
    channel.send({"t": "done"})
    return 0

