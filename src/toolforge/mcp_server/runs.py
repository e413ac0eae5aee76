"""MCP sessions as runs: with `toolforge mcp --report-runs`, an agent reports how its task
went with the `report_run` tool, and the session's tool calls since its last report become
the trajectory's steps. The run is recorded like any other (`TrajectoryService`: this
library's store, or the shared queue), so the evolution worker learns from MCP agents too.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from toolforge.runtime.results import ToolCallResult

REPORT_RUN = "report_run"
MAX_STEPS = 200  # per session, since its last report
MAX_SESSIONS = 1000

REPORT_RUN_DEF: dict[str, Any] = {
    "name": REPORT_RUN,
    "title": "Report how the task went",
    "description": "Call once when you have finished a task: what the task was, your final "
                   "answer, and the reward (0 to 1) or whether you succeeded. The library "
                   "learns from failed runs: it writes the tools that were missing. Your "
                   "tool calls since the last report are attached for you.",
    "inputSchema": {
        "type": "object",
        "properties": {
            "task": {"type": "string", "minLength": 1, "description": "the task, as given"},
            "answer": {"type": "string", "description": "your final answer"},
            "reward": {"type": "number", "minimum": 0, "maximum": 1,
                       "description": "how well it went, if you know (1 = solved)"},
            "success": {"type": "boolean", "description": "whether you solved it"},
            "expected": {"description": "the expected answer, if you know it (the run is "
                                        "then scored like a task file's)"},
            "error": {"type": "string", "description": "what went wrong, if anything"},
        },
        "required": ["task"],
        "additionalProperties": False,
    },
    "annotations": {"readOnlyHint": False, "idempotentHint": False, "openWorldHint": False},
}


class SessionRuns:
    """The tool calls of each session since its last report (bounded), and reporting."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._steps: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()
        self._versions: dict[str, dict[str, int | list[int]]] = {}
        self._lock = threading.Lock()

    def record(self, session: str, result: ToolCallResult,
               arguments: dict[str, Any] | None) -> None:
        step: dict[str, Any] = {"kind": "tool_call", "tool": result.tool,
                                "arguments": arguments or {},
                                "duration_ms": result.duration_ms}
        if result.ok:
            step["result"] = result.value
        else:
            step["error"] = result.error_text()
        with self._lock:
            steps = self._steps.setdefault(session, [])
            self._steps.move_to_end(session)
            if len(steps) < MAX_STEPS:
                steps.append(step)
            if result.version is not None:
                seen = self._versions.setdefault(session, {}).get(result.tool)
                if seen is None:
                    self._versions[session][result.tool] = result.version
                elif seen != result.version:
                    both = seen if isinstance(seen, list) else [seen]
                    self._versions[session][result.tool] = sorted({*both, result.version})
            while len(self._steps) > MAX_SESSIONS:
                gone, _ = self._steps.popitem(last=False)
                self._versions.pop(gone, None)

    def report(self, session: str, arguments: dict[str, Any], *, library_commit: str | None,
               offered: list[str]) -> dict[str, Any]:
        """Record the session's run; the recorded trajectory's id and outcome."""
        from toolforge.service.trajectory_service import TrajectoryService

        with self._lock:
            steps = self._steps.pop(session, [])
            versions = self._versions.pop(session, {})
        doc: dict[str, Any] = {
            "task": arguments["task"], "final_answer": arguments.get("answer"),
            "steps": steps, "tools_offered": offered,
            "metadata": {"session": session, "library_commit": library_commit,
                         **({"tool_versions": versions} if versions else {})},
        }
        for key in ("reward", "success", "expected", "error"):
            if key in arguments:
                doc[key] = arguments[key]
        started = time.perf_counter()
        svc = TrajectoryService(self.root)
        try:
            recorded = svc.report([doc], source="mcp")[0]
            queued = svc.queued
        finally:
            svc.close()
        return {"recorded": recorded.id, "reward": recorded.reward,
                "success": recorded.success, "steps": len(steps),
                "queued": queued, "ms": round((time.perf_counter() - started) * 1000, 1)}
