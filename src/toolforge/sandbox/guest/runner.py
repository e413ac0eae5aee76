"""Test runner: runs ONE suite's tests inside its own sandbox, each in a forked child.

Runs as `python -I -S -B main.py runner IN_FD OUT_FD` (stdlib only). It decides nothing:
the parent (out of reach of the test code) compiled the test file, and judges every check.

1. read the init frame, apply rlimits (and, for the rlimit backend under root, drop to the
   sandbox uid) before any untrusted code exists in the process;
2. execute the test module once: it holds only imports, functions and literal constants
   (the parent refused anything else), and report that it loaded;
3. for each test the parent listed, in its order, fork: the child runs exactly the code
   object the parent compiled for that test, in a pristine copy of this process, so nothing
   a test does to modules, registries or caches reaches another test. It reports how the
   test ended and exits with `os._exit` (no atexit, no finalisers). This process reports
   how the child ended, then starts the next one.

What the test module sees:
- `tool`: a proxy module; calling the entrypoint sends JSON arguments to the parent, which
  relays them to the tool's own sandboxed process, and returns the freshly decoded JSON
  result. A builtin exception raised by the tool comes back as the same builtin class;
  another class as a `ToolError` subclass of the same name (also a subclass of its first
  builtin base, so `pytest.raises(ValueError)` still matches a `class ParseError(ValueError)`).
- `pytest`: a shim with `raises`, `approx` and `fail` (real pytest is not visible here).
- every assert, `pytest.raises`, `pytest.fail` and `info.match` was compiled into a call of
  an `@tf.` helper below, which sends what the check read to the parent and waits for its
  judgement: a failure is recorded there before the test could catch anything.
"""

from __future__ import annotations

import binascii
import builtins
import marshal
import os
import select
import sys

import judge
import wire

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

TEST_FILE = "test_tool.py"
_FUNCTION = type(lambda: None)
_CODE = type((lambda: None).__code__)
_GENERATOR_FLAGS = 0x20 | 0x80 | 0x100 | 0x200  # generator, coroutine, async generator


class _State:
    sources: dict[str, str] = {}  # noqa: RUF012 - one runner, one suite
    shapes: dict[str, Any] = {}  # noqa: RUF012
    check_bytes = 1 << 20
    channel: Channel | None = None
    capture: wire.CappedText | None = None


# --- talking to the parent ---------------------------------------------------------------


class Channel:
    """The child's side of the pipe: one request at a time, answered by the parent.

    Reports that need no answer wait here and go with the next request or the test's end,
    one write for all: every write wakes the parent, and a wake-up costs more than the
    report. A failing check always asks for its answer, so a failure never waits."""

    _HELD_BYTES = 1 << 16  # held back at most: a test looping over passing checks

    def __init__(self, rfd: int, wfd: int, generation: int) -> None:
        self.rfd, self.wfd, self.generation = rfd, wfd, generation
        self.calls = 0  # tool calls made by this test, numbered from 1
        self.raised: dict[int, tuple[BaseException, int, str]] = {}
        self.held: list[str] = []
        self.held_bytes = 0

    def send(self, message: dict[str, Any]) -> None:
        """A report the parent records without answering ("wait": False)."""
        text = wire.dumps({**message, "g": self.generation})
        self.held.append(text)
        self.held_bytes += len(text)
        if self.held_bytes > self._HELD_BYTES:
            self.flush()

    def flush(self) -> None:
        """Write every report held back, in order."""
        held, self.held, self.held_bytes = self.held, [], 0
        wire.write_raws(self.wfd, held)

    def request(self, message: dict[str, Any]) -> dict[str, Any]:
        """A report or a tool call the parent answers."""
        self.send({**message, "wait": True})
        self.flush()
        while True:
            reply = wire.read_frame(self.rfd)
            if reply is None:  # the parent is gone
                os._exit(70)
            # A reply meant for an earlier test that died before reading it: skip it.
            if reply.get("t") == "reply" and reply.get("g") == self.generation:
                return reply


def _channel() -> Channel:
    channel = _State.channel
    if channel is None:
        raise RuntimeError("the tool and checks are only available while a test runs")
    return channel


# --- the tool proxy ----------------------------------------------------------------------


class ToolError(Exception):
    """The tool raised an exception that is not a builtin one (or hit a limit)."""

    type_name = "ToolError"


class ToolLimitError(ToolError):
    """The tool's process was stopped: wall time, CPU, memory, output, crash..."""

    type_name = "ToolLimitError"


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


def _tool_class_name(cls: type) -> str | None:
    """How the parent names a class of the tool proxy (None: not one of ours)."""
    if cls is ToolError or cls is ToolLimitError or cls in _registry.values() or (
        cls in _combined.values()
    ):
        return "tool." + str(cls.__dict__.get("type_name") or getattr(cls, "type_name", ""))
    return None


def _exception_from(reply: dict[str, Any]) -> BaseException:
    name = reply.get("error_type")
    name = name if isinstance(name, str) and name.isidentifier() else "ToolError"
    message = wire.safe_str(reply.get("error_message") or "")
    limit = reply.get("limit_hit")
    exc: BaseException
    if limit:
        what = "crashed" if limit == "crash" else f"hit its {limit} limit"
        exc = ToolLimitError(f"the tool {what}: {message}")
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


def make_tool_module(entrypoint: str) -> Any:
    def call_tool(*args: Any, **kwargs: Any) -> Any:
        payload = {"t": "call", "args": list(args), "kwargs": kwargs}
        problem = wire.plain_json_problem(payload)
        if problem is not None:
            raise TypeError(f"tool arguments must be plain JSON values: {problem}")
        channel = _channel()
        channel.calls += 1
        reply = channel.request(payload)
        if reply.get("ok") is True:
            return reply.get("value")
        exc = _exception_from(reply)
        channel.raised[id(exc)] = (exc, channel.calls, wire.safe_str(exc))
        raise exc

    call_tool.__name__ = call_tool.__qualname__ = entrypoint
    call_tool.__doc__ = f"Calls {entrypoint} in its own sandbox (JSON in, JSON out)."
    module = type(sys)("tool")
    setattr(module, entrypoint, call_tool)
    module.__all__ = [entrypoint]
    module.ToolError = ToolError
    module.ToolLimitError = ToolLimitError

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


# --- checks (the parent compiled every check site into a call of these) ------------------


class Failed(AssertionError):
    """A check the parent judged failed (it has the details; `note` is the assert's message)."""

    def __init__(self, detail: str, note: str = "") -> None:
        super().__init__(f"{note}\n{detail}" if note else detail)
        self.note = note


class _Operands:
    """The operands of one assert, evaluated when `judge.walk` asks, sent as tagged JSON."""

    def __init__(self, thunks: tuple[Any, ...]) -> None:
        self.thunks = thunks
        self.sent: list[Any] = []
        self.room = _State.check_bytes

    def next(self) -> Any:
        if len(self.sent) >= len(self.thunks):
            raise judge.JudgeError("the assertion reads more values than it has")
        value = self.thunks[len(self.sent)]()
        data = judge.encode(value, limit=max(self.room, 1), class_name=_tool_class_name)
        self.room -= len(wire.dumps(data))
        self.sent.append(data)
        return judge.decode(data)


def tf_check(site: int, *thunks: Any, msg: Any = None) -> None:
    """Send the assert's operands to the parent, which judges them. The runner walks the
    same shape with the same code only to evaluate what Python would, and to know whether to
    wait for the parent's answer: a failure needs its details; a pass needs nothing (the
    parent's judgement is recorded either way, and it is the one that counts)."""
    operands = _Operands(thunks)
    channel = _channel()
    held = False
    try:
        held = judge.truth(judge.walk(_State.shapes.get(str(site)), operands))
    except judge.JudgeError:
        pass  # the parent reaches the same point with the same values and says why
    except BaseException as exc:
        # An operand raised: the assert did not hold. The parent records it now, so
        # catching the exception later changes nothing. It may tell the test to go on
        # (a probe for asserts that cannot fail wants to reach the later checks).
        record = channel.raised.get(id(exc))
        reply = channel.request({"t": "check", "id": site, "leaves": operands.sent,
                                 "raised": {"type": type(exc).__name__,
                                            "message": wire.safe_str(exc, 500),
                                            "call": record[1] if record is not None
                                            and record[0] is exc else None}})
        if reply.get("go_on") is True:
            return
        raise
    message = {"t": "check", "id": site, "leaves": operands.sent, "wait": not held}
    if held:
        channel.send(message)
        return
    reply = channel.request(message)
    if reply.get("ok") is not True:
        detail = wire.safe_str(reply.get("detail") or "assertion failed")
        raise Failed(detail, wire.safe_str(msg()) if msg is not None else "")


def tf_fail(site: int, reason: Any = "", pytrace: bool = True) -> None:
    text = wire.safe_str(reason)
    reply = _channel().request({"t": "fail", "id": site, "reason": text})
    raise Failed(wire.safe_str(reply.get("detail") or text))


class ExceptionInfo:
    """What `with pytest.raises(...) as info` holds after a matching exception."""

    def __init__(self) -> None:
        self.value: BaseException | None = None
        self.type: type | None = None
        self.call = 0  # the tool call that raised it

    @property
    def typename(self) -> str:
        return self.type.__name__ if self.type else ""

    def match(self, pattern: str) -> bool:
        raise RuntimeError("call info.match() on the name bound by `with pytest.raises(...) "
                           "as info`, or use pytest.raises(..., match=...)")

    def __repr__(self) -> str:
        return f"<ExceptionInfo {self.value!r}>"


def _search(pattern: Any, text: str) -> bool | str:
    """Whether `pattern` matches; the regex runs here, where a slow one only costs this test
    its wall time (the parent never runs patterns a test file wrote)."""
    import re

    try:
        return re.search(pattern, text) is not None
    except (re.error, TypeError) as exc:
        return f"bad pattern: {exc}"


class RaisesContext:
    def __init__(self, site: int, expected: Any, match: Any) -> None:
        classes = expected if type(expected) is tuple else (expected,)
        if not classes or not all(isinstance(c, type) and issubclass(c, BaseException)
                                  for c in classes):
            raise TypeError("pytest.raises needs an exception class or a tuple of them")
        self.site = site
        self.expected = [judge.encode(c, class_name=_tool_class_name) for c in classes]
        self.match = match
        self.info = ExceptionInfo()

    def __enter__(self) -> ExceptionInfo:
        _channel().send({"t": "raises", "id": self.site, "phase": "enter", "wait": False,
                         "expected": self.expected, "match": self.match is not None})
        return self.info

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        channel = _channel()
        record = channel.raised.get(id(exc)) if exc is not None else None
        call = record[1] if record is not None and record[0] is exc else None
        matched: bool | str | None = None
        if self.match is not None and call is not None and record is not None:
            matched = _search(self.match, record[2])
        reply = channel.request({
            "t": "raises", "id": self.site, "phase": "exit", "call": call,
            "raised": None if exc_type is None else str(getattr(exc_type, "__name__", "?")),
            "matched": matched,
        })
        if reply.get("ok") is True:
            self.info.value, self.info.type, self.info.call = exc, exc_type, call or 0
            return True
        raise Failed(wire.safe_str(reply.get("detail") or "pytest.raises failed")) from exc


def tf_raises(site: int, expected: Any, *args: Any, match: Any = None, **kwargs: Any) -> Any:
    context = RaisesContext(site, expected, match)
    if not args:
        return context
    with context:
        args[0](*args[1:], **kwargs)
    return context.info


def tf_match(site: int, info: Any, pattern: Any) -> bool:
    channel = _channel()
    record = None
    if type(info) is ExceptionInfo and info.value is not None:
        record = channel.raised.get(id(info.value))
    call = record[1] if record is not None and record[0] is info.value else None
    matched = _search(pattern, record[2]) if record is not None else None
    reply = channel.request({"t": "match", "id": site, "call": call, "matched": matched})
    if reply.get("ok") is not True:
        raise Failed(wire.safe_str(reply.get("detail") or "no match"))
    return True


def tf_call(site: int, function: Any, *args: Any, **kwargs: Any) -> Any:
    """A statement calling a function that checks: the parent follows the invocation and
    judges it as a whole (each of that function's checks must run)."""
    channel = _channel()
    channel.send({"t": "call_site", "id": site, "phase": "enter", "wait": False})
    try:
        result = function(*args, **kwargs)
    except BaseException:
        channel.send({"t": "call_site", "id": site, "phase": "raised", "wait": False})
        raise
    channel.send({"t": "call_site", "id": site, "phase": "returned", "wait": False})
    return result


def _not_rewritten(*_args: Any, **_kwargs: Any) -> Any:
    raise RuntimeError("pytest helpers must be called directly in test_tool.py")


def make_pytest_module() -> Any:
    module = type(sys)("pytest")
    for name, value in {
        "raises": _not_rewritten, "fail": _not_rewritten, "approx": judge.Approx,
        "__version__": "toolforge-sandbox-shim",
    }.items():
        setattr(module, name, value)
    return module


# --- running one test --------------------------------------------------------------------


def describe_failure(exc: BaseException) -> str:
    if type(exc) is Failed:  # the parent already holds the details
        return f"message: {exc.note}" if exc.note else ""
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
        text += f"\n  raised by the tool:\n{wire.safe_str(tool_tb)}"
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


def _test_code(module_code: Any, name: str) -> Any:
    for const in module_code.co_consts:
        if type(const) is _CODE and const.co_name == name:
            return const
    return None


def prepare_child(rfd: int, wfd: int, generation: int, name: str, module_code: Any,
                  namespace: dict[str, Any], max_output: int) -> Any:
    """What the child of test `generation` runs, made while it waits for its turn (no I/O):
    the first touches of a forked process's memory copy pages, and done here they are off
    the path the parent waits on. Returns the test's function, or the exception that says
    why there is none (raised when the turn comes)."""
    _State.channel = Channel(rfd, wfd, generation)
    _State.capture = wire.CappedText(max_output)
    code = _test_code(module_code, name)
    if code is None or code.co_argcount or code.co_kwonlyargcount or (
        code.co_flags & _GENERATOR_FLAGS
    ):
        return RuntimeError(f"{name} is not a plain test function")
    _rehearse()
    # Exactly the code the parent compiled for this test, whatever the name holds now.
    return _FUNCTION(code, namespace, name)


def _rehearse() -> None:
    """Run, on throwaway values, what a test's first check and tool call run here: a
    forked process's first pass over code and data faults its pages in, and done now it
    is off the path the parent waits on. Nothing is sent."""
    message = {"t": "call", "args": ["a b", 1, 2.5, None, True], "kwargs": {"k": [1, "x"]}}
    wire.plain_json_problem(message)
    wire.loads(wire.dumps(message))
    judge.truth(judge.walk(["cmp", ["=="]], _Operands((lambda: "a-b", lambda: "a-b"))))


def run_child(test: Any) -> None:
    """The child's whole life once its turn came: run one test (`prepare_child`'s), report,
    and leave without running anything else (`os._exit`: no atexit handlers, no
    finalisers, no buffered output)."""
    channel, capture = _State.channel, _State.capture
    assert channel is not None and capture is not None
    sys.stdout = sys.stderr = capture
    outcome, message = "returned", ""
    try:
        if isinstance(test, BaseException):
            raise test
        test()
    except BaseException as exc:  # SystemExit from a test is a failure, not an exit
        outcome, message = "raised", describe_failure(exc)
    try:
        channel.send({"t": "end", "outcome": outcome, "message": message,
                      "output": capture.getvalue()})
        channel.flush()
    finally:
        os._exit(0)


def _wait_for_child(pid: int, death: int, rfd: int, scope: str) -> int:
    """Wait for the child (its end of the `death` pipe closes when it exits: no pidfd, which
    the sandbox's seccomp filter refuses); if the parent goes away meanwhile, kill the whole
    sandbox."""
    poller = select.poll()
    poller.register(rfd, 0)  # POLLHUP only: the child is the one reading replies
    poller.register(death, select.POLLIN)
    while True:
        events = poller.poll()
        if any(fd == rfd and mask & (select.POLLHUP | select.POLLERR) for fd, mask in events):
            wire.kill_everything(scope)
        if any(fd == death for fd, _mask in events):
            break
    os.close(death)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def main(rfd: int, wfd: int) -> int:
    wire.close_other_fds({rfd, wfd})
    wire.write_frame(wfd, {"t": "ready"})  # booted: a warm pool may now hand us out
    init = wire.read_frame(rfd)
    if init is None:
        return 0
    wire.apply_limits(init["limits"], nproc_relative=bool(init.get("nproc_relative")))
    if init.get("uid") is not None:
        wire.drop_privileges(int(init["uid"]))
    scope = str(init.get("kill_scope") or "group")
    max_output = int(init["limits"]["max_output_bytes"])
    _State.sources[TEST_FILE] = str(init.get("source") or "")
    _State.shapes = dict(init.get("shapes") or {})
    _State.check_bytes = int(init.get("check_bytes") or max_output)
    sys.modules["pytest"] = make_pytest_module()
    sys.modules["tool"] = make_tool_module(str(init["entrypoint"]))
    module = type(sys)("test_tool")
    module.__file__ = TEST_FILE
    module.__dict__.update({"@tf.check": tf_check, "@tf.raises": tf_raises,
                            "@tf.fail": tf_fail, "@tf.match": tf_match, "@tf.call": tf_call})
    sys.modules["test_tool"] = module
    capture = wire.CappedText(max_output)
    saved = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = capture
    error = None
    try:
        code = marshal.loads(binascii.a2b_base64(init["code"]))
        exec(code, module.__dict__)
    except BaseException as exc:
        error = describe_failure(exc)
    finally:
        sys.stdout, sys.stderr = saved
    wire.write_frame(wfd, {"t": "loaded", "error": error, "output": capture.getvalue()})
    if error is not None:
        return 0
    # The tests the parent collected, in its order, back to back: this process never reads
    # the pipe again (the children do); it only watches it for the parent's end.
    names = [str(n) for n in init.get("tests") or []]

    def spawn(generation: int) -> tuple[int, int, int]:
        """Fork the process of test `generation`; it waits for its turn on a pipe of its own
        (forking the next test while one runs keeps the fork off the critical path) and
        holds the write end of a second pipe until it exits."""
        go_read, go_write = os.pipe()
        death_read, death_write = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(go_write)
                os.close(death_read)
                test = prepare_child(rfd, wfd, generation, names[generation], code,
                                     module.__dict__, max_output)
                if os.read(go_read, 1):  # end of file instead: this runner is gone
                    os.close(go_read)
                    run_child(test)
            finally:
                os._exit(0)
        os.close(go_read)
        os.close(death_write)
        return pid, go_write, death_read

    upcoming = spawn(0) if names else None
    for generation in range(len(names)):
        assert upcoming is not None
        pid, go, death = upcoming
        os.write(go, b"g")  # the previous test's process is gone: its turn
        os.close(go)
        upcoming = spawn(generation + 1) if generation + 1 < len(names) else None
        status = _wait_for_child(pid, death, rfd, scope)
        wire.write_frame(wfd, {"t": "reaped", "g": generation, "status": status})
    return 0
