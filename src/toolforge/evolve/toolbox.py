"""The active tools as an agent sees them: schemas to offer, and sandboxed execution.

Every call runs in the tool's own sandboxed process (never in the agent's), kept warm for
the length of a run so repeated calls cost milliseconds, and is recorded as a usage event
(the hits that pruning, retrieval and TRR@k read).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolforge.library.store import TOOL_FILE, TOOLS_DIR, Library
from toolforge.metrics.usage import OK, CallEvent, UsageStore
from toolforge.retrieval import ToolIndex, tool_doc
from toolforge.sandbox.limits import Limits
from toolforge.tools.contract import ToolSpec, load_tool_source
from toolforge.tools.export import openai_function


@dataclass(frozen=True)
class ActiveTool:
    name: str
    version: int
    code: str
    spec: ToolSpec

    def schema(self) -> dict[str, Any]:
        return openai_function(self.name, self.spec)


@dataclass
class CallRecord:
    tool: str
    arguments: dict[str, Any]
    ok: bool
    result: Any
    error: str | None
    duration_ms: float


def load_active_tools(root: Path) -> dict[str, ActiveTool]:
    lib = Library.open(root)
    tools: dict[str, ActiveTool] = {}
    for entry in lib.entries():
        if entry.location != TOOLS_DIR or entry.meta is None or entry.meta.status != "active":
            continue
        code = (root / TOOLS_DIR / entry.name / TOOL_FILE).read_text(encoding="utf-8")
        try:
            spec = load_tool_source(code)
        except Exception:  # a broken tool is simply not offered
            continue
        tools[entry.name] = ActiveTool(entry.name, entry.meta.version, code, spec)
    return tools


class ToolBox:
    """Sandboxed callables for a set of tools; close() kills every tool process.

    `index` ranks the tools for `select` (the library's ToolIndex; without one, an
    in-memory index of these tools). `usage` receives one CallEvent per call, attributed to
    `caller` and `session`."""

    def __init__(self, tools: dict[str, ActiveTool], *, limits: Limits | None = None,
                 backend: str | None = None, index: ToolIndex | None = None,
                 usage: UsageStore | None = None, caller: str = "agent",
                 session: str | None = None) -> None:
        self.tools = tools
        self.limits = limits or Limits()
        self.backend_name = backend
        self.index = index
        self.usage = usage
        self.caller = caller
        self.session = session
        self._procs: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.calls: list[CallRecord] = []

    def __enter__(self) -> ToolBox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            procs, self._procs = self._procs, {}
        for proc in procs.values():
            proc.close()

    def sync(self, tools: dict[str, ActiveTool]) -> None:
        """Switch to a new tool set (the library changed mid-run): processes of tools that
        left or changed version are stopped; the others stay warm."""
        with self._lock:
            stale = [name for name, proc in self._procs.items()
                     if name not in tools or tools[name].code != self.tools[name].code]
            procs = [self._procs.pop(name) for name in stale]
            self.tools = dict(tools)
        for proc in procs:
            proc.close()

    def select(self, query: str, k: int) -> list[ActiveTool]:
        """The k tools most relevant to `query` (all of them when there are no more than k),
        ranked by the one retrieval index."""
        if len(self.tools) <= k:
            return list(self.tools.values())
        if self.index is None:
            self.index = ToolIndex.from_docs(
                tool_doc(t.name, t.version, t.spec) for t in self.tools.values())
        hits = self.index.search(query, k, allowed=self.tools)
        return [self.tools[h.name] for h in hits if h.name in self.tools]

    def _process(self, name: str) -> Any:
        from toolforge.sandbox.backends import select_backend
        from toolforge.sandbox.process import ToolProcess

        with self._lock:
            proc = self._procs.get(name)
            if proc is None:
                tool = self.tools[name]
                proc = ToolProcess(tool.code, tool.spec.name, limits=self.limits,
                                   backend=select_backend(self.backend_name))
                self._procs[name] = proc
            return proc

    def call(self, name: str, arguments: dict[str, Any]) -> CallRecord:
        start = time.perf_counter()
        tool = self.tools.get(name)
        if tool is None:
            record = CallRecord(name, arguments, False, None, f"unknown tool {name!r}", 0.0)
            outcome = "unknown_tool"
        else:
            result = self._process(name).call(arguments)
            error = None
            outcome = OK
            if not result.ok:
                error = f"{result.error_type or result.limit_hit}: {result.error_message or ''}"
                outcome = _outcome(result.limit_hit)
            record = CallRecord(name, arguments, result.ok, result.value if result.ok else None,
                                error, round((time.perf_counter() - start) * 1000, 2))
        self.calls.append(record)
        if self.usage is not None:
            self.usage.record(CallEvent(
                tool=name, version=tool.version if tool else None, caller=self.caller,
                outcome=outcome, duration_ms=record.duration_ms, session=self.session))
        return record

    def callable(self, name: str) -> Callable[..., Any]:
        """A plain Python function that runs the tool in the sandbox (for agent_fn)."""
        tool = self.tools[name]

        def call(**kwargs: Any) -> Any:
            record = self.call(name, kwargs)
            if not record.ok:
                raise ToolCallError(record.error or "tool call failed")
            return record.result

        call.__name__ = name
        call.__doc__ = tool.spec.docstring
        call.__signature_text__ = tool.spec.signature  # type: ignore[attr-defined]
        return call


def _outcome(limit_hit: str | None) -> str:
    if limit_hit in ("wall_time", "cpu_time"):
        return "timeout"
    if limit_hit == "memory":
        return "memory"
    return limit_hit or "exception"


class ToolCallError(RuntimeError):
    """A sandboxed tool raised or hit a limit; the message names the exception."""


def result_text(record: CallRecord) -> str:
    if record.ok:
        return json.dumps(record.result, ensure_ascii=False)
    return json.dumps({"error": record.error})
