"""The library as MCP tools: listing, calling, and the two deferred-loading meta-tools.

Pure mapping between the runtime and MCP's types; no transport, no event loop. Every
call goes through the runtime (`caller="mcp"`): arguments are checked against the schema
first, the promoted code runs in the sandbox, the call is recorded. Every failure is an
MCP tool error (`isError: true`) whose text says why; the server never drops the
connection over a bad call.
"""

from __future__ import annotations

import json
from typing import Any

import mcp_types as types

from toolforge.errors import ToolforgeError
from toolforge.mcp_server.runs import REPORT_RUN, REPORT_RUN_DEF, SessionRuns
from toolforge.runtime.catalog import ActiveTool, Catalog
from toolforge.runtime.results import ToolCallResult
from toolforge.runtime.runtime import Runtime
from toolforge.tools.export import structured_content

META_PREFIX = "toolforge/"
FIND_TOOLS = "find_tools"
CALL_TOOL = "call_tool"
MAX_K = 50

FIND_TOOLS_DEF: dict[str, Any] = {
    "name": FIND_TOOLS,
    "title": "Find tools",
    "description": "Search the tool library: returns the full definitions (name, "
                   "description, input schema) of the k tools most relevant to a "
                   "description of what you need. Call one with call_tool.",
    "inputSchema": {
        "type": "object",
        "properties": {
            "query": {"type": "string", "minLength": 1,
                      "description": "what the tool should do, in a few words"},
            "k": {"type": "integer", "minimum": 1, "maximum": MAX_K, "default": 5,
                  "description": "how many tools to return"},
        },
        "required": ["query"],
        "additionalProperties": False,
    },
    "outputSchema": {
        "type": "object",
        "properties": {"tools": {"type": "array", "items": {"type": "object"}}},
        "required": ["tools"],
    },
    "annotations": {"readOnlyHint": True, "idempotentHint": True, "openWorldHint": False},
}
CALL_TOOL_DEF: dict[str, Any] = {
    "name": CALL_TOOL,
    "title": "Call a tool",
    "description": "Call a tool of the library by name with its arguments (an object "
                   "matching the input schema find_tools returned for it).",
    "inputSchema": {
        "type": "object",
        "properties": {
            "name": {"type": "string", "description": "the tool's name"},
            "arguments": {"type": "object", "default": {},
                          "description": "the tool's arguments, by name"},
        },
        "required": ["name"],
        "additionalProperties": False,
    },
}


class LibraryTools:
    """What `toolforge mcp` serves: the active tools, or (`discover`) the two meta-tools."""

    def __init__(self, runtime: Runtime, *, discover: bool = False,
                 report_runs: bool = False) -> None:
        self.runtime = runtime
        self.discover = discover
        # `report_run`: the agent reports its run; its calls become the run's steps.
        self.runs = SessionRuns(runtime.root) if report_runs else None
        self._listed: tuple[Catalog, list[types.Tool]] | None = None
        self._meta_checkers: dict[str, Any] = {}

    # --- tools/list ------------------------------------------------------------------------

    def list_tools(self) -> list[types.Tool]:
        extra = [types.Tool.model_validate(REPORT_RUN_DEF)] if self.runs is not None else []
        if self.discover:
            return [types.Tool.model_validate(FIND_TOOLS_DEF),
                    types.Tool.model_validate(CALL_TOOL_DEF), *extra]
        catalog = self.runtime.catalog()
        cached = self._listed
        if cached is not None and cached[0] is catalog:
            return cached[1]
        listed = [types.Tool.model_validate(tool.mcp())
                  for name, tool in sorted(catalog.tools.items())
                  if not (self.runs is not None and name == REPORT_RUN)] + extra
        self._listed = (catalog, listed)
        return listed

    def fingerprint(self) -> frozenset[tuple[str, int, str]]:
        """Changes exactly when the set of active tools (or a tool's version) changes."""
        return frozenset((t.name, t.version, t.commit) for t in self.runtime.active().values())

    # --- tools/call ------------------------------------------------------------------------

    def call_tool(self, name: str, arguments: Any, session: str | None
                  ) -> types.CallToolResult:
        """One tools/call; `arguments` as the client sent them (an object, or anything
        else, which the runtime refuses with its reason)."""
        if self.runs is not None and name == REPORT_RUN:
            return self._report(arguments, session)
        if self.discover:
            if name == FIND_TOOLS:
                return self._find(arguments)
            if name == CALL_TOOL:
                problem = self._check_meta(CALL_TOOL_DEF, arguments)
                if problem:
                    return _error_result(f"bad_arguments: {problem}")
                assert arguments is not None
                name, arguments = arguments["name"], arguments.get("arguments") or {}
            else:
                return _error_result(
                    f"unknown_tool: this server offers {FIND_TOOLS} and {CALL_TOOL}; call "
                    f"{name!r} through {CALL_TOOL}(name, arguments)")
        result = self.runtime.call(name, arguments, caller="mcp", session=session)
        if self.runs is not None and session is not None:
            self.runs.record(session, result, arguments if isinstance(arguments, dict)
                             else None)
        # Shaped as the listed (active) version's outputSchema says, also when the call ran
        # the new version of an A/B trial: clients check structuredContent against it.
        tool = self.runtime.active().get(name) if result.ok else None
        return to_mcp_result(result, tool)

    def _report(self, arguments: dict[str, Any] | None, session: str | None
                ) -> types.CallToolResult:
        assert self.runs is not None
        problem = self._check_meta(REPORT_RUN_DEF, arguments)
        if problem:
            return _error_result(f"bad_arguments: {problem}")
        assert arguments is not None
        catalog = self.runtime.catalog()
        try:
            done = self.runs.report(session or "mcp", arguments, library_commit=catalog.head,
                                    offered=sorted(catalog.tools))
        except ToolforgeError as exc:
            return _error_result(f"{exc.kind}: {exc.message}")
        text = (f"recorded run {done['recorded']}" + (" (queued for the workers)"
                                                      if done["queued"] else ""))
        return types.CallToolResult(content=[types.TextContent(type="text", text=text)],
                                    structured_content=done)

    def _find(self, arguments: dict[str, Any] | None) -> types.CallToolResult:
        problem = self._check_meta(FIND_TOOLS_DEF, arguments)
        if problem:
            return _error_result(f"bad_arguments: {problem}")
        assert arguments is not None
        found = self.runtime.find(str(arguments["query"]), int(arguments.get("k", 5)))
        payload = {"tools": [tool.mcp() for tool in found]}
        text = json.dumps(payload, ensure_ascii=False) if found else \
            "no tool matches; try other words (every tool's name and description are searched)"
        return types.CallToolResult(content=[types.TextContent(type="text", text=text)],
                                    structured_content=payload)

    def _check_meta(self, definition: dict[str, Any], arguments: Any) -> str | None:
        from jsonschema import Draft202012Validator
        from jsonschema.exceptions import best_match

        checker = self._meta_checkers.get(definition["name"])
        if checker is None:
            checker = Draft202012Validator(definition["inputSchema"])
            self._meta_checkers[definition["name"]] = checker
        error = best_match(checker.iter_errors(arguments if arguments is not None else {}))
        return None if error is None else f"{definition['name']}: {error.message}"


def to_mcp_result(result: ToolCallResult, tool: ActiveTool | None) -> types.CallToolResult:
    """A runtime result as MCP's: structuredContent + text, or a tool error with the why."""
    meta: dict[str, Any] = {f"{META_PREFIX}{key}": value for key, value in (
        ("version", result.version), ("commit", result.commit)) if value is not None}
    if result.warnings:
        meta[f"{META_PREFIX}warnings"] = result.warnings
    if not result.ok:
        assert result.error is not None
        meta[f"{META_PREFIX}error"] = result.error.model_dump(exclude_none=True)
        text = f"{result.error.kind}: {result.error.message}"
        if result.error.hint:
            text += f"\nhint: {result.error.hint}"
        return _error_result(text, meta)
    value = result.value
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    structured = structured_content(tool.spec, value) if tool is not None else {"result": value}
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)],
                                structured_content=structured, _meta=meta)


def _error_result(text: str, meta: dict[str, Any] | None = None) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)],
                                is_error=True, _meta=meta)
