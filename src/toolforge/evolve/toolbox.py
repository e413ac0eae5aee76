"""The active tools as the built-in agent sees them: a few schemas to offer, and calls.

A thin view over the runtime (toolforge.runtime): every call runs the promoted code in a
warm sandbox and is recorded in the usage store by the runtime, under this toolbox's
caller ("agent" for the built-in agent, "python" for `Forge.tools()`). The toolbox also
keeps its own list of calls, from which a run's trajectory is written.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from toolforge.runtime.catalog import ActiveTool
from toolforge.runtime.functions import make_function

if TYPE_CHECKING:
    from toolforge.runtime.results import ToolCallResult
    from toolforge.runtime.runtime import Runtime

__all__ = ["ActiveTool", "CallRecord", "ToolBox", "result_text"]


@dataclass
class CallRecord:
    tool: str
    arguments: dict[str, Any]
    ok: bool
    result: Any
    error: str | None
    duration_ms: float
    version: int | None = None  # the version that ran (an A/B trial may pick either)


class ToolBox:
    """The runtime's active tools for one agent; `calls` lists what it called."""

    def __init__(self, runtime: Runtime, *, caller: str = "agent",
                 session: str | None = None, owns_runtime: bool = False) -> None:
        self.runtime = runtime
        self.caller = caller
        self.session = session
        self.calls: list[CallRecord] = []
        self._owns_runtime = owns_runtime

    def __enter__(self) -> ToolBox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._owns_runtime:
            self.runtime.close()

    @property
    def tools(self) -> dict[str, ActiveTool]:
        """The active tools now (a promotion shows up at once)."""
        return self.runtime.active()

    def select(self, query: str, k: int) -> list[ActiveTool]:
        """The k tools most relevant to `query` (all of them when there are no more than k)."""
        tools = self.tools
        if len(tools) <= k:
            return list(tools.values())
        return self.runtime.find(query, k)

    def run(self, name: str, arguments: Any) -> ToolCallResult:
        """One call through the runtime, kept in `calls`."""
        start = time.perf_counter()
        result = self.runtime.call(name, arguments, caller=self.caller, session=self.session)
        args = arguments if isinstance(arguments, dict) else {"_": arguments}
        self.calls.append(CallRecord(
            name, args, result.ok, result.value if result.ok else None,
            None if result.ok else result.error_text(),
            round((time.perf_counter() - start) * 1000, 2), result.version))
        return result

    def run_metadata(self, first_call: int = 0) -> dict[str, Any]:
        """What a run's trajectory records about the library it used: the commit it read
        (a pinned clone's), and the version of each tool its calls ran (from `first_call`
        on), which is how A/B trials attribute the run's reward to a version."""
        versions: dict[str, int | list[int]] = {}
        for call in self.calls[first_call:]:
            if call.version is None:
                continue
            seen = versions.get(call.tool)
            if seen is None:
                versions[call.tool] = call.version
            elif seen != call.version:
                both = seen if isinstance(seen, list) else [seen]
                if call.version not in both:
                    versions[call.tool] = sorted([*both, call.version])
        meta: dict[str, Any] = {"library_commit": self.runtime.catalog().head}
        if versions:
            meta["tool_versions"] = versions
        return meta

    def call(self, name: str, arguments: Any) -> CallRecord:
        self.run(name, arguments)
        return self.calls[-1]

    def callable(self, name: str) -> Callable[..., Any]:
        """The tool as a Python function (see toolforge.runtime.functions); its calls are
        kept in `calls`."""
        return make_function(self.runtime.describe(name), self.run)


def result_text(record: CallRecord) -> str:
    if record.ok:
        return json.dumps(record.result, ensure_ascii=False)
    return json.dumps({"error": record.error})
