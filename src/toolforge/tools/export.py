"""Tool descriptions in the exact shapes other ecosystems consume."""

from __future__ import annotations

from typing import Any

from toolforge.tools.contract import ToolSpec, description_of


def openai_function(name: str, spec: ToolSpec) -> dict[str, Any]:
    """Chat Completions `tools` entry: {"type": "function", "function": {...}}."""
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description_of(spec),
            "parameters": spec.parameters_schema,
        },
    }


def mcp_tool(name: str, spec: ToolSpec) -> dict[str, Any]:
    """MCP `Tool` as listed by tools/list: name, description, inputSchema[, outputSchema]."""
    tool: dict[str, Any] = {
        "name": name,
        "description": description_of(spec),
        "inputSchema": spec.parameters_schema,
    }
    # MCP requires outputSchema to describe an object; other return types stay unstated.
    if spec.returns_schema.get("type") == "object":
        tool["outputSchema"] = spec.returns_schema
    return tool


def export_tools(specs: dict[str, ToolSpec], fmt: str) -> Any:
    if fmt == "openai":
        return [openai_function(name, spec) for name, spec in sorted(specs.items())]
    if fmt == "mcp":
        return {"tools": [mcp_tool(name, spec) for name, spec in sorted(specs.items())]}
    raise ValueError(f"unknown export format {fmt!r}")
