"""Tool host: imports ONE tool and answers calls over a private pipe pair.

Runs inside the sandbox under guest/main.py (`python -I -S -B`, stdlib only).

1. read the init frame; apply rlimits (and, for the rlimit backend under root, drop to the
   sandbox uid) before any untrusted code exists in the process;
2. write the tool's files into the private work dir and execute tool.py as module `tool`;
3. for each call frame: call the entrypoint with JSON arguments, check that the result is
   plain JSON (exact types, so no custom `__eq__` survives), serialise it and send the text.

Nothing here is a security boundary against the tool: it runs in this very process and can
rewrite anything, including this loop. What it cannot do is reach the test runner or the
parent, which decode its replies with their own `json` and compare values themselves.
"""

from __future__ import annotations

import _signal
import os
import sys

import wire

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

TOOL_FILE = "tool.py"
_THIS_FILE = (lambda: None).__code__.co_filename


class ToolHost:
    def __init__(self, init: dict[str, Any]) -> None:
        self.source = str(init["source"])
        self.entrypoint = str(init["entrypoint"])
        self.max_output = int(init["limits"]["max_output_bytes"])
        self.function: Any = None
        self.load_error: dict[str, Any] | None = None

    def load(self, files: dict[str, str]) -> dict[str, Any]:
        capture = wire.CappedText(self.max_output)
        saved = sys.stdout, sys.stderr
        try:
            for name, content in files.items():
                _write_file(name, content)
            _write_file(TOOL_FILE, self.source)
            sys.path.insert(0, os.getcwd())
            sys.meta_path.append(ContractShim)
            module = type(sys)("tool")
            module.__file__ = os.path.abspath(TOOL_FILE)
            sys.modules["tool"] = module
            code = compile(self.source, TOOL_FILE, "exec", dont_inherit=True)
            sys.stdout = sys.stderr = capture
            exec(code, module.__dict__)
            function = module.__dict__.get(self.entrypoint)
            if not callable(function):
                raise AttributeError(f"tool.py defines no function {self.entrypoint!r}")
            self.function = function
        except BaseException as exc:
            self.load_error = self.error_reply(None, exc, capture)
            return self.load_error
        finally:
            sys.stdout, sys.stderr = saved
        return {"ok": True, "stdout": capture.getvalue()}

    def call(self, request: dict[str, Any]) -> str:
        call_id = request.get("id")
        if self.load_error is not None:
            return wire.dumps({**self.load_error, "id": call_id})
        args = request.get("args") or []
        kwargs = request.get("kwargs") or {}
        capture = wire.CappedText(self.max_output)
        saved = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = capture
        try:
            value = self.function(*args, **kwargs)
        except BaseException as exc:
            sys.stdout, sys.stderr = saved
            return wire.dumps(self.error_reply(call_id, exc, capture))
        finally:
            sys.stdout, sys.stderr = saved
        return self.value_reply(call_id, value, capture)

    def value_reply(self, call_id: Any, value: Any, capture: wire.CappedText) -> str:
        problem = wire.plain_json_problem(value)
        text = ""
        if problem is None:
            try:
                text = wire.dumps(value)
            except (ValueError, TypeError, RecursionError, OverflowError, MemoryError) as exc:
                problem = wire.safe_str(exc, 500)
        if problem is not None:
            return wire.dumps(self._failure(
                call_id, "TypeError", f"result is not plain JSON: {problem}", "non_json_result",
                capture,
            ))
        if len(text) > self.max_output:
            return wire.dumps(self._failure(
                call_id, "OverflowError",
                f"result is {len(text)} bytes of JSON, over the {self.max_output} byte limit",
                "output", capture,
            ))
        head = wire.dumps({"id": call_id, "ok": True, "stdout": capture.getvalue()})
        # Send the serialised text, never an object: the parent decodes it afresh.
        return head[:-1] + ',"value":' + text + "}"

    def _failure(self, call_id: Any, error_type: str, message: str, limit: str | None,
                 capture: wire.CappedText) -> dict[str, Any]:
        return {"id": call_id, "ok": False, "error_type": error_type, "error_builtin": error_type,
                "error_args": [message], "error_message": message, "traceback": None,
                "limit_hit": limit, "stdout": capture.getvalue()}

    def error_reply(self, call_id: Any, exc: BaseException, capture: wire.CappedText
                    ) -> dict[str, Any]:
        kind = type(exc)
        builtin = "Exception"
        for cls in kind.__mro__:
            if cls.__module__ == "builtins":
                builtin = cls.__name__
                break
        args: list[Any] | None = list(exc.args)
        if wire.plain_json_problem(args) is not None or len(wire.short_repr(args, 5000)) >= 5000:
            args = None
        tb = exc.__traceback__
        # Drop this file's frames: the tool author needs the tool's, not ours.
        while tb is not None and tb.tb_frame.f_code.co_filename == _THIS_FILE:
            tb = tb.tb_next
        limit = None
        if isinstance(exc, MemoryError):
            limit = "memory"
        elif capture.exceeded:
            limit = "output"
        return {
            "id": call_id, "ok": False, "error_type": kind.__name__, "error_builtin": builtin,
            "error_bases": [cls.__name__ for cls in kind.__mro__[1:]][:12],
            "error_args": args, "error_message": wire.safe_str(exc),
            "traceback": wire.format_traceback(tb, {TOOL_FILE: self.source}) + "\n"
            + f"{kind.__name__}: {wire.safe_str(exc, 1000)}",
            "limit_hit": limit, "stdout": capture.getvalue(),
        }


class FieldInfo:
    """What `Field(gt=0)` stands for inside the sandbox: the constraints, as data. The
    parent read them statically and checks arguments before every call, so a tool never
    needs them to act."""

    def __init__(self, **constraints: Any) -> None:
        self.constraints = constraints

    def __repr__(self) -> str:
        return "Field(" + ", ".join(f"{k}={v!r}" for k, v in self.constraints.items()) + ")"


class ContractShim:
    """Supplies `pydantic` (only `Field`) when no real pydantic is visible in the sandbox:
    the last finder on sys.meta_path, so a library that allows pydantic gets the real one."""

    @classmethod
    def find_spec(cls, name: str, path: Any = None, target: Any = None) -> Any:
        if name != "pydantic":
            return None
        import _frozen_importlib

        return _frozen_importlib.ModuleSpec(name, cls, origin="toolforge sandbox stand-in")

    @staticmethod
    def create_module(spec: Any) -> None:
        return None

    @staticmethod
    def exec_module(module: Any) -> None:
        module.Field = FieldInfo
        module.__all__ = ["Field"]


def _write_file(name: str, content: str) -> None:
    parts = name.split("/")
    if not name or name.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"refusing file name {name!r}")
    if len(parts) > 1:
        os.makedirs("/".join(parts[:-1]), exist_ok=True)
    with open(name, "w", encoding="utf-8") as f:
        f.write(content)


def main(rfd: int, wfd: int) -> int:
    wire.close_other_fds({rfd, wfd})
    # The interpreter's first compile() builds the AST types (~1 ms): do it before saying
    # "ready", so that a warm tool host only compiles the tool when its turn comes.
    compile("", TOOL_FILE, "exec", dont_inherit=True)
    wire.write_frame(wfd, {"t": "ready"})  # booted: a warm pool may now hand us out
    init = wire.read_frame(rfd)
    if init is None:
        return 0
    wire.apply_limits(init["limits"], nproc_relative=bool(init.get("nproc_relative")))
    # Oversized writes should fail with EFBIG, not kill the host with SIGXFSZ.
    _signal.signal(_signal.SIGXFSZ, _signal.SIG_IGN)
    if init.get("uid") is not None:
        wire.drop_privileges(int(init["uid"]))
    inbox = wire.Lifeline(rfd, str(init.get("kill_scope") or "group"))
    host = ToolHost(init)
    wire.write_frame(wfd, host.load(dict(init.get("files") or {})))
    while True:
        wire.write_raw(wfd, host.call(inbox.get()))

