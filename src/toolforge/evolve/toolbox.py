"""The active tools as an agent sees them: schemas to offer, and sandboxed execution.

Every call runs in the tool's own sandboxed process (never in the agent's), kept warm for
the length of a run so repeated calls cost milliseconds. Arguments are checked against the
tool's schema first: a call outside the tool's declared preconditions never runs.
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
from toolforge.retrieval.lexical import Document, rank
from toolforge.sandbox.limits import Limits
from toolforge.tools.arguments import argument_problems
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
    """Sandboxed callables for a set of tools; close() kills every tool process."""

    def __init__(self, tools: dict[str, ActiveTool], *, limits: Limits | None = None,
                 backend: str | None = None) -> None:
        self.tools = tools
        self.limits = limits or Limits()
        self.backend_name = backend
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

    def select(self, query: str, k: int) -> list[ActiveTool]:
        """The k tools most relevant to `query` (all of them when there are no more than k)."""
        if len(self.tools) <= k:
            return list(self.tools.values())
        docs = [Document(t.name, f"{t.name} {t.spec.summary} {t.spec.returns_description}")
                for t in self.tools.values()]
        return [self.tools[key] for key, _ in rank(query, docs, k)]

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
        problems = argument_problems(self.tools[name].spec.parameters_schema, arguments) \
            if name in self.tools else []
        if name not in self.tools:
            record = CallRecord(name, arguments, False, None, f"unknown tool {name!r}", 0.0)
        elif problems:  # the tool never runs outside the domain it declared
            record = CallRecord(name, arguments, False, None,
                                "invalid arguments: " + "; ".join(problems),
                                round((time.perf_counter() - start) * 1000, 2))
        else:
            result = self._process(name).call(arguments)
            error = None
            if not result.ok:
                error = f"{result.error_type or result.limit_hit}: {result.error_message or ''}"
            record = CallRecord(name, arguments, result.ok, result.value if result.ok else None,
                                error, round((time.perf_counter() - start) * 1000, 2))
        self.calls.append(record)
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


class ToolCallError(RuntimeError):
    """A sandboxed tool raised or hit a limit; the message names the exception."""


def result_text(record: CallRecord) -> str:
    if record.ok:
        return json.dumps(record.result, ensure_ascii=False)
    return json.dumps({"error": record.error})
