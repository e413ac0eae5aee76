"""The runtime: every tool call, whoever makes it, goes through `Runtime.call`.

One call:
1. `resolve`: which version runs (today the promoted active one: its tag's code);
2. the arguments are checked against the tool's JSON schema; nothing runs when they fail;
3. the call runs on a warm sandboxed host of that version (`ToolHosts`, fed by a `WarmPool`);
4. timeouts, memory and output limits, crashes, exceptions and results that break the
   tool's own return type become error kinds (`results.ErrorKind`);
5. the call is recorded in the library's usage store (tool, version, caller, outcome,
   duration, session, commit), off the caller's path.

`call` never raises for a bad call: the result says what happened. `ToolCallResult.unwrap()`
turns it into the value or a toolforge error.
"""

from __future__ import annotations

import difflib
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolforge.errors import BadArgumentsError, ToolforgeError, UnknownToolError
from toolforge.library.refs import git_head
from toolforge.library.store import CANDIDATES_DIR, Library
from toolforge.metrics.usage import CallEvent, UsageRecorder, UsageStore
from toolforge.names import is_valid_tool_name
from toolforge.runtime.catalog import ActiveTool, Catalog, CatalogReader
from toolforge.runtime.functions import ToolFunction, make_function
from toolforge.runtime.results import LIMIT_KINDS, CallError, ErrorKind, ToolCallResult
from toolforge.runtime.routing import choose_arm
from toolforge.runtime.search import find_tools
from toolforge.sandbox.access import NO_ACCESS, Access
from toolforge.sandbox.limits import Limits

if TYPE_CHECKING:
    from toolforge.runtime.processes import ToolHosts
    from toolforge.sandbox.pool import WarmPool
    from toolforge.sandbox.process import CallResult

# An incomplete catalog (a promotion whose tag is not written yet, or a tag that will never
# come) is read again, but not more often than this.
_REREAD_INCOMPLETE_S = 1.0


class Runtime:
    """Runs the promoted tools of one library. Thread-safe; `close()` kills its sandboxes.

    `pool`: pre-started sandboxes to share (the daemon's), or a function that gives them
    when the first call needs them; with `warm=True` and no pool the runtime starts its own
    on the first call. `record_usage=False` records nothing (benchmarks of the bare path)."""

    def __init__(self, root: Path, *, limits: Limits | None = None, backend: str | None = None,
                 access: Access = NO_ACCESS,
                 pool: WarmPool | Callable[[], WarmPool] | None = None, warm: bool = True,
                 caller: str = "python", record_usage: bool = True) -> None:
        self.root = root
        self.limits = limits or Limits()
        self.backend_name = backend
        self.access = access  # what the library's policy opens: third-party imports, network
        self.default_caller = caller
        self._pool: WarmPool | Callable[[], WarmPool] | None = pool
        self._own_pool = False
        self._warm = warm
        self._library = Library.open(root)
        self._reader = CatalogReader(self._library.git)
        self._catalog: Catalog | None = None
        self._catalog_key: str | None = None
        self._catalog_at = 0.0
        self._lock = threading.RLock()
        self._hosts: ToolHosts | None = None
        self._closed = False
        self.recorder = UsageRecorder(UsageStore.for_library(root)) if record_usage else None

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            hosts, self._hosts = self._hosts, None
        if hosts is not None:
            hosts.close()
        if self._own_pool and self._pool is not None and not callable(self._pool):
            self._pool.close()
        if self.recorder is not None:
            self.recorder.close()
        self._library.close()

    # --- the active tools ----------------------------------------------------------------------

    def catalog(self) -> Catalog:
        """The active tools as of the library's current HEAD (re-read when HEAD moved)."""
        key = git_head(self.root / ".git")
        with self._lock:
            current = self._catalog
            stale = (current is None or key != self._catalog_key or len(key) < 40
                     or (not current.complete
                         and time.monotonic() - self._catalog_at > _REREAD_INCOMPLETE_S))
            if stale:
                current = self._reader.read()
                self._catalog, self._catalog_key = current, key
                self._catalog_at = time.monotonic()
                if self._hosts is not None:
                    self._hosts.keep_only(
                        {(t.name, t.commit) for t in current.tools.values()}
                        | {(a.tool.name, a.tool.commit) for a in current.trials.values()})
            assert current is not None
            return current

    def active(self) -> dict[str, ActiveTool]:
        return self.catalog().tools

    def resolve(self, name: str, *, session: str | None = None) -> ActiveTool:
        """Which version of `name` runs for this call: the promoted active version, or,
        while a new version is on A/B trial, the new one for the trial's share of calls
        (`session` keeps a caller's arm stable; see routing.py). UnknownToolError when
        there is none; ToolforgeError ("unavailable") when the tool is active but cannot
        run."""
        catalog = self.catalog()
        tool = catalog.tools.get(name)
        if tool is not None:
            trial = catalog.trials.get(name)
            if trial is not None and choose_arm(trial.spec.id, trial.spec.share,
                                                session) == "candidate":
                return trial.tool
            return tool
        raise self._unknown(name, catalog)

    def find(self, query: str, k: int = 5) -> list[ActiveTool]:
        """The k active tools most relevant to `query`."""
        return find_tools(self.root, self.active(), query, max(0, k))

    def describe(self, name: str) -> ActiveTool:
        """The active version of `name`, as clients are shown it (its schema and docs);
        each call is still routed by `resolve`."""
        catalog = self.catalog()
        tool = catalog.tools.get(name)
        if tool is None:
            raise self._unknown(name, catalog)
        return tool

    def function(self, name: str, *, caller: str | None = None,
                 session: str | None = None) -> ToolFunction:
        """`name` as a Python function (see `runtime.functions`)."""
        return make_function(self.describe(name), self._invoker(caller, session))

    def functions(self, *, caller: str | None = None, session: str | None = None
                  ) -> list[ToolFunction]:
        invoke = self._invoker(caller, session)
        return [make_function(tool, invoke) for _, tool in sorted(self.active().items())]

    def _invoker(self, caller: str | None, session: str | None) -> Any:
        def invoke(name: str, arguments: dict[str, Any]) -> ToolCallResult:
            return self.call(name, arguments, caller=caller, session=session)

        return invoke

    # --- calls ---------------------------------------------------------------------------------

    def call(self, name: str, arguments: Any = None, *, caller: str | None = None,
             session: str | None = None, timeout_s: float | None = None) -> ToolCallResult:
        """Run one call; the result says how it went (it never raises for a bad call)."""
        started = time.perf_counter()
        tool: ActiveTool | None = None
        try:
            tool = self.resolve(name, session=session)
            args = tool.checker.check(arguments)
            result = self._run(tool, args, timeout_s)
        except UnknownToolError as exc:
            result = _failed(name, tool, "unknown_tool", exc)
        except BadArgumentsError as exc:
            result = _failed(name, tool, "bad_arguments", exc)
        except ToolforgeError as exc:  # the tool exists but cannot run (no sandbox, broken)
            result = _failed(name, tool, "unavailable", exc)
        result.caller = caller or self.default_caller
        result.session = session
        result.duration_ms = round((time.perf_counter() - started) * 1000, 3)
        self._record(result)
        return result

    def _run(self, tool: ActiveTool, args: dict[str, Any], timeout_s: float | None
             ) -> ToolCallResult:
        timeout = self.limits.wall_time_s if timeout_s is None else \
            max(0.001, min(float(timeout_s), self.limits.wall_time_s))
        with self.hosts().lease(tool) as host:
            raw = host.call(args, timeout)
        result = _from_sandbox(tool, raw, self.limits)
        if result.ok and not tool.result_validator.is_valid(result.value):
            from jsonschema.exceptions import best_match

            problem = best_match(tool.result_validator.iter_errors(result.value))
            result = ToolCallResult(
                tool=tool.name, version=tool.version, commit=tool.commit, ok=False,
                stdout=result.stdout,
                error=CallError(kind="bad_result",
                                message=f"returned a value that is not a "
                                        f"{tool.spec.returns_annotation}: "
                                        f"{getattr(problem, 'message', 'schema mismatch')}"[:2000],
                                hint="the tool broke its own signature; fix and promote it"))
        if tool.drift:
            result.warnings.append(tool.drift_warning())
        if tool.edited(self.root):
            result.warnings.append(tool.edit_warning())
        return result

    def hosts(self) -> ToolHosts:
        """The warm hosts (started on first use); BackendUnavailableError without a sandbox."""
        with self._lock:
            if self._closed:
                raise ToolforgeError("the runtime is closed")
            if self._hosts is None:
                from toolforge.runtime.processes import ToolHosts
                from toolforge.sandbox.backends import select_backend

                backend = select_backend(self.backend_name, access=self.access)
                if callable(self._pool):
                    self._pool = self._pool()
                if self._pool is None and self._warm:
                    from toolforge.sandbox.pool import WarmPool

                    self._pool = WarmPool(backend, size=1, limits=self.limits)
                    self._own_pool = True
                pool = self._pool if not callable(self._pool) else None
                self._hosts = ToolHosts(limits=self.limits, backend=backend, pool=pool)
            return self._hosts

    # --- usage ---------------------------------------------------------------------------------

    def _record(self, result: ToolCallResult) -> None:
        if self.recorder is None:
            return
        self.recorder.record(CallEvent(
            tool=result.tool[:200], version=result.version, caller=result.caller,
            outcome=result.outcome, duration_ms=result.duration_ms, session=result.session,
            commit=result.commit))

    def flush_usage(self) -> None:
        """Wait until every call so far is in the usage store."""
        if self.recorder is not None:
            self.recorder.flush()

    # --- errors --------------------------------------------------------------------------------

    def _unknown(self, name: str, catalog: Catalog) -> ToolforgeError:
        shown = name if len(name) <= 80 else name[:77] + "..."
        if not isinstance(name, str) or not is_valid_tool_name(name):
            return UnknownToolError(f"no tool named {shown!r}",
                                    hint="tool names are snake_case identifiers; see "
                                         "`toolforge list`")
        if name in catalog.problems:
            return ToolforgeError(f"{name} is active but cannot run: {catalog.problems[name]}",
                                  hint=f"see `toolforge show {name}`; promote a validated "
                                       "version to fix it")
        status = catalog.inactive.get(name)
        if status == "retired":
            return UnknownToolError(f"{name} is retired",
                                    hint=f"restore it with `toolforge rollback {name}`")
        if (self.root / CANDIDATES_DIR / name).is_dir():
            return UnknownToolError(f"{name} is a candidate, not an active tool",
                                    hint=f"validate and promote it: `toolforge promote {name}`")
        close = difflib.get_close_matches(name, list(catalog.tools), n=3, cutoff=0.6)
        hint = (f"did you mean {', '.join(close)}?" if close
                else "see the active tools with `toolforge list --status active`")
        return UnknownToolError(f"no active tool named {name!r}", hint=hint)


def _failed(name: str, tool: ActiveTool | None, kind: ErrorKind, exc: ToolforgeError
            ) -> ToolCallResult:
    return ToolCallResult(
        tool=name, version=tool.version if tool else None,
        commit=tool.commit if tool else None, ok=False,
        error=CallError(kind=kind, message=exc.message, hint=exc.hint))


def _from_sandbox(tool: ActiveTool, raw: CallResult, limits: Limits) -> ToolCallResult:
    if raw.ok:
        return ToolCallResult(tool=tool.name, version=tool.version, commit=tool.commit,
                              stdout=raw.stdout, ok=True, value=raw.value)
    kind: ErrorKind = LIMIT_KINDS.get(raw.limit_hit or "", "exception")
    if raw.error_type == "ToolCrashed":
        kind = "crash"
    message = raw.error_message or ""
    if (kind == "memory" and not message.strip(" :")) or message == "MemoryError":
        message = f"out of memory (the sandbox allows {limits.memory_mb} MiB)"
    return ToolCallResult(
        tool=tool.name, version=tool.version, commit=tool.commit, stdout=raw.stdout, ok=False,
        error=CallError(kind=kind, message=message or raw.error_type or "failed",
                        type=raw.error_type, traceback=raw.traceback,
                        hint=_limit_hint(kind, limits)))


def _limit_hint(kind: ErrorKind, limits: Limits) -> str | None:
    setting = {
        "timeout": f"wall_time_s = {limits.wall_time_s:g}, cpu_time_s = {limits.cpu_time_s}",
        "memory": f"memory_mb = {limits.memory_mb}",
        "output_limit": f"max_output_bytes = {limits.max_output_bytes}",
        "file_size": f"max_file_size_mb = {limits.max_file_size_mb}",
    }.get(kind)
    if setting is None:
        return None
    return f"the sandbox limit is {setting} ([sandbox] in toolforge.toml)"
