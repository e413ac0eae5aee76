"""A sandboxed process hosting ONE tool: many calls over a pipe, JSON in, JSON out.

The tool runs in `guest/worker.py` inside its own sandbox. Arguments go down as JSON; the
result comes back as serialised JSON text that the parent decodes with its own `json`, so
what a caller receives is always a fresh plain value, never an object made by the tool.
After a limit hit or a crash the sandbox is killed (whole tree) and the next call starts a
new one transparently.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from pydantic import BaseModel, Field

from toolforge.sandbox.backends import SandboxBackend, select_backend
from toolforge.sandbox.limits import Limits
from toolforge.sandbox.pool import WarmPool
from toolforge.sandbox.sandboxed import Received, SandboxedProcess, signal_name
from toolforge.textsafe import encodable

ROLE = "worker"
# Limits a reply from the worker may claim; anything else it says is ignored.
_WORKER_LIMITS = {"memory", "output", "non_json_result"}
_MAX_TEXT = 20_000


class CallResult(BaseModel):
    ok: bool
    value: Any = None
    error_type: str | None = None
    error_builtin: str | None = Field(
        default=None, description="first builtin exception class in its MRO, e.g. ValueError"
    )
    error_bases: list[str] = Field(
        default_factory=list, description="class names along its MRO, as the tool reported "
        "them (names only: a documented base class covers its subclasses)")
    error_args: list[Any] | None = Field(
        default=None, description="the exception's args, if plain JSON"
    )
    error_message: str | None = None
    traceback: str | None = None
    stdout: str = ""
    duration_ms: float = 0.0
    limit_hit: str | None = Field(
        default=None,
        description='"wall_time" | "cpu_time" | "memory" | "output" | "file_size" | "crash" '
        '| "non_json_result"',
    )
    backend: str = ""


def _text(value: Any, limit: int = _MAX_TEXT) -> str | None:
    if value is None:
        return None
    text = encodable(value if isinstance(value, str) else str(value))
    return text if len(text) <= limit else text[: limit - 3] + "..."


class ToolProcess:
    """A sandboxed process hosting one tool. Use as a context manager, or call `close()`.

    One call at a time (a lock serialises concurrent callers). `pool` may supply
    pre-started sandboxes (see `toolforge.sandbox.pool.WarmPool`).
    """

    def __init__(self, tool_source: str, entrypoint: str, *, limits: Limits | None = None,
                 backend: SandboxBackend | None = None, files: dict[str, str] | None = None,
                 pool: WarmPool | None = None, avoid_hash_key: int | None = None) -> None:
        self.tool_source = tool_source
        self.entrypoint = entrypoint
        self.limits = limits or Limits()
        self.backend = backend or select_backend()
        self.files = dict(files or {})
        self.pool = pool
        self.avoid_hash_key = avoid_hash_key  # hash strings unlike these processes
        self._proc: SandboxedProcess | None = None
        self._loaded = False
        self._load_error: CallResult | None = None
        self._import_output = ""
        self._next_id = 1
        self._lock = threading.RLock()
        self.restarts = 0

    # --- lifecycle ----------------------------------------------------------------------

    def __enter__(self) -> ToolProcess:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    @property
    def uid(self) -> int | None:
        """The unprivileged uid the current sandbox runs as (None when not root)."""
        return self._proc.uid if self._proc else None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def hash_key(self) -> int | None:
        """Its sandbox's string-hash key (see `SandboxedProcess.hash_key`)."""
        return self._proc.hash_key if self._proc else None

    @property
    def sandbox(self) -> SandboxedProcess | None:
        """The running sandbox, if any."""
        return self._proc

    def start(self) -> None:
        """Start the sandbox and send the tool, without waiting for it to be imported."""
        with self._lock:
            if self._proc is not None:
                return
            avoid = self.avoid_hash_key
            proc = (self.pool.take(ROLE, self.limits, self.backend, avoid_hash_key=avoid)
                    if self.pool is not None else None)
            if proc is None:
                proc = self.backend.spawn(ROLE, limits=self.limits, avoid_hash_key=avoid)
            init = {
                "source": self.tool_source, "entrypoint": self.entrypoint, "files": self.files,
                "limits": self.limits.for_sandbox(), **proc.init_extra,
            }
            self._proc = proc
            self._loaded = False
            if not proc.send(init, time.monotonic() + self.limits.wall_time_s):
                self._loaded = True  # the next recv reports the dead process

    def close(self) -> None:
        """Kill the whole sandbox tree and wait until it is gone. Safe to call twice."""
        self.begin_close()()

    def begin_close(self) -> Callable[[], None]:
        """Send the kill now; the returned callable waits until nothing is left."""
        with self._lock:
            proc, self._proc = self._proc, None
            return proc.begin_kill() if proc is not None else _nothing

    # --- calls --------------------------------------------------------------------------

    def load(self, timeout_s: float | None = None) -> CallResult | None:
        """Start the sandbox and wait until the tool is imported: the failure, or None.

        Calls do this themselves; waiting first keeps a slow import out of the first call's
        time (the property attack caps each call)."""
        timeout = self.limits.wall_time_s if timeout_s is None else timeout_s
        started = time.monotonic()
        with self._lock:
            if self._load_error is not None:
                return self._load_error.model_copy()
            if self._proc is None:
                self.restarts += self._next_id > 1
                self.start()
            failed = self._ensure_loaded(started + max(timeout, 0.001), timeout)
        if failed is not None:
            failed.duration_ms = (time.monotonic() - started) * 1000
            failed.backend = self.backend.name
        return failed

    def _ensure_loaded(self, deadline: float, timeout: float) -> CallResult | None:
        proc = self._proc
        assert proc is not None
        if self._loaded:
            return None
        loaded = proc.recv(deadline)
        if loaded.kind != "frame" or loaded.message is None:
            return self._failed(proc, loaded, timeout, during="starting the tool")
        self._loaded = True
        self._import_output = _text(loaded.message.get("stdout")) or ""
        if not loaded.message.get("ok"):
            self._load_error = self._error_result(loaded.message, proc)
            self.close()
            return self._load_error.model_copy()
        return None

    def call(self, args: dict[str, Any], timeout_s: float | None = None) -> CallResult:
        """Call the entrypoint with keyword arguments `args` (JSON values)."""
        return self.call_raw([], args, timeout_s)

    def call_raw(self, args: list[Any], kwargs: dict[str, Any],
                 timeout_s: float | None = None) -> CallResult:
        """Positional and keyword JSON arguments; what the test runner's proxy uses."""
        timeout = self.limits.wall_time_s if timeout_s is None else timeout_s
        started = time.monotonic()
        result = self._call(args, kwargs, started, started + max(timeout, 0.001), timeout)
        result.duration_ms = (time.monotonic() - started) * 1000
        result.backend = self.backend.name
        return result

    def _call(self, args: list[Any], kwargs: dict[str, Any], started: float, deadline: float,
              timeout: float) -> CallResult:
        with self._lock:
            if self._load_error is not None:
                return self._load_error.model_copy()
            if self._proc is None:
                self.restarts += self._next_id > 1
                self.start()
            proc = self._proc
            assert proc is not None
            failed = self._ensure_loaded(deadline, timeout)
            if failed is not None:
                return failed
            call_id = self._next_id
            self._next_id += 1
            try:
                sent = proc.send({"id": call_id, "args": args, "kwargs": kwargs}, deadline)
            except (TypeError, ValueError, RecursionError) as exc:  # raised before any write
                return CallResult(ok=False, error_type="TypeError",
                                  error_message=f"arguments are not plain JSON: {exc}")
            if not sent:
                return self._failed(proc, Received("closed"), timeout, during="the call")
            reply = proc.recv(deadline)
            if reply.kind != "frame" or reply.message is None:
                return self._failed(proc, reply, timeout, during="the call")
            message = reply.message
            if message.get("id") != call_id or not isinstance(message.get("ok"), bool):
                return self._failed(proc, Received("garbage"), timeout, during="the call")
            if message["ok"]:
                if "value" not in message:
                    return self._failed(proc, Received("garbage"), timeout, during="the call")
                return CallResult(ok=True, value=message["value"], stdout=self._stdout(message))
            result = self._error_result(message, proc)
            if result.limit_hit in ("memory", "output"):
                self.close()  # restart fresh: the process was pushed to a limit
            return result

    def _stdout(self, message: dict[str, Any]) -> str:
        assert self._proc is not None
        parts = [self._import_output, _text(message.get("stdout")) or "",
                 self._proc.take_output()]
        self._import_output = ""
        return _text("".join(parts), self.limits.max_output_bytes) or ""

    def _error_result(self, message: dict[str, Any], proc: SandboxedProcess) -> CallResult:
        limit = message.get("limit_hit")
        args = message.get("error_args")
        bases = message.get("error_bases")
        return CallResult(
            ok=False,
            error_type=_text(message.get("error_type"), 200) or "Exception",
            error_builtin=_text(message.get("error_builtin"), 200),
            error_bases=[_text(b, 200) or "" for b in bases[:12] if isinstance(b, str)]
            if isinstance(bases, list) else [],
            error_args=args if isinstance(args, list) else None,
            error_message=_text(message.get("error_message")),
            traceback=_text(message.get("traceback")),
            stdout=self._stdout(message) if self._proc is proc else proc.take_output(),
            limit_hit=limit if limit in _WORKER_LIMITS else None,
        )

    def _failed(self, proc: SandboxedProcess, received: Received, timeout: float,
                during: str) -> CallResult:
        """The sandbox did not answer properly: kill it, say why, restart on the next call."""
        kind = received.kind
        limit, error_type, message = "crash", "ToolCrashed", ""
        if kind == "timeout":
            limit, error_type = "wall_time", "TimeoutError"
            message = f"wall time limit of {timeout:g} s exceeded during {during}"
        elif kind in ("output", "oversize"):
            limit, error_type = "output", "OverflowError"
            message = f"output limit of {self.limits.max_output_bytes} bytes exceeded"
        elif kind == "garbage":
            message = f"the tool process broke the reply protocol during {during}"
        else:
            proc.wait_exit(1.0)
            signum = proc.exit_signal()
            if signum == 24:  # SIGXCPU
                limit, error_type = "cpu_time", "TimeoutError"
                message = f"CPU time limit of {self.limits.cpu_time_s} s exceeded"
            elif signum == 25:  # SIGXFSZ
                limit, error_type = "file_size", "OSError"
                message = f"file size limit of {self.limits.max_file_size_mb} MiB exceeded"
            elif proc.memory_exhausted():  # the cgroup's OOM killer: the tree's total
                limit, error_type = "memory", "MemoryError"
                message = (f"memory limit of {self.limits.memory_mb} MiB for the whole "
                           f"sandbox exceeded during {during}")
            elif signum is not None:
                message = f"the tool process was killed by {signal_name(signum)} during {during}"
            else:
                code = proc.popen.poll()
                message = f"the tool process exited (status {code}) during {during}"
        output = proc.take_output()
        if proc is self._proc:
            self.close()
        else:
            proc.kill()
        return CallResult(ok=False, error_type=error_type, error_builtin=None,
                          error_message=message, stdout=_text(output) or "", limit_hit=limit)


def _nothing() -> None:
    return None


def call_tool(tool_source: str, entrypoint: str, args: dict[str, Any], *,
              limits: Limits | None = None, backend: SandboxBackend | None = None,
              files: dict[str, str] | None = None) -> CallResult:
    """Start a sandbox, call the tool once, kill the sandbox."""
    with ToolProcess(tool_source, entrypoint, limits=limits, backend=backend,
                     files=files) as process:
        return process.call(args)
