"""Tool descriptions in the exact shapes other ecosystems consume.

One function per shape, used by every surface that shows it: `export`, the MCP server's
tools/list, the Python callables and the framework adapters all describe a tool with these.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from toolforge.tools.contract import ToolSpec, description_of

if TYPE_CHECKING:
    from toolforge.library.meta import ToolMeta

# structuredContent must be a JSON object (MCP): a tool returning anything else has its value
# wrapped as {"result": value}, and its outputSchema says so with this marker.
WRAP_KEY = "result"
WRAPPED_MARKER = "x-toolforge-wrapped"


def openai_function(name: str, spec: ToolSpec, *, strict: bool = False) -> dict[str, Any]:
    """Chat Completions `tools` entry: {"type": "function", "function": {...}}.

    With `strict`, the parameters follow OpenAI's strict rules (see `strict_schema`) and
    the entry says `"strict": true`; a tool whose arguments cannot be expressed strictly
    (free-form maps, `Any`, fixed-length tuples) keeps its plain schema with
    `"strict": false`."""
    function: dict[str, Any] = {
        "name": name,
        "description": description_of(spec),
        "parameters": spec.parameters_schema,
    }
    if strict:
        try:
            function["parameters"] = strict_schema(spec.parameters_schema)
            function["strict"] = True
        except NotStrictError:
            function["strict"] = False
    return {"type": "function", "function": function}


def default_title(name: str) -> str:
    """A display name for a tool that declares none: `convert_units` -> "Convert units"."""
    return name.replace("_", " ").strip().capitalize() or name


def output_schema(spec: ToolSpec) -> dict[str, Any]:
    """MCP outputSchema: the return schema when it is an object, else the wrapper object."""
    if is_object_schema(spec.returns_schema):
        return spec.returns_schema
    return {"type": "object", "properties": {WRAP_KEY: spec.returns_schema},
            "required": [WRAP_KEY], WRAPPED_MARKER: True}


def is_object_schema(schema: Mapping[str, Any]) -> bool:
    return schema.get("type") == "object"


def structured_content(spec: ToolSpec, value: Any) -> dict[str, Any]:
    """The value as MCP structuredContent, matching `output_schema(spec)`."""
    if is_object_schema(spec.returns_schema) and isinstance(value, dict):
        return value
    return {WRAP_KEY: value}


def mcp_tool(name: str, spec: ToolSpec, meta: ToolMeta | None = None) -> dict[str, Any]:
    """MCP `Tool` as listed by tools/list: name, title, description, inputSchema,
    outputSchema, and the annotations the tool declares in its tool.toml."""
    tool: dict[str, Any] = {
        "name": name,
        "title": (meta.title if meta is not None and meta.title else None) or default_title(name),
        "description": description_of(spec),
        "inputSchema": spec.parameters_schema,
        "outputSchema": output_schema(spec),
    }
    hints = meta.annotations.mcp_hints() if meta is not None and meta.annotations else {}
    if hints:
        tool["annotations"] = hints
    return tool


def export_tools(specs: Mapping[str, ToolSpec], fmt: str, *, strict: bool = False,
                 metas: Mapping[str, ToolMeta] | None = None) -> Any:
    metas = metas or {}
    if fmt == "openai":
        return [openai_function(name, spec, strict=strict)
                for name, spec in sorted(specs.items())]
    if fmt == "mcp":
        return {"tools": [mcp_tool(name, spec, metas.get(name))
                          for name, spec in sorted(specs.items())]}
    raise ValueError(f"unknown export format {fmt!r}")


# --- OpenAI strict mode ------------------------------------------------------------------------


class NotStrictError(ValueError):
    """The schema uses something OpenAI's strict mode cannot express."""


def strict_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `schema` under OpenAI's strict rules: every object lists all its properties
    as required and has `additionalProperties: false`; a property that was optional becomes
    nullable (null means "use the default", which the runtime honours, unless null is
    already one of its values) and its default moves into the description, since strict
    mode takes no defaults.

    Raises NotStrictError for free-form maps (`dict[str, X]`), `Any` and tuples."""
    return _strict(copy.deepcopy(dict(schema)), "$")


def _strict(node: Any, where: str) -> Any:
    if not isinstance(node, dict):
        raise NotStrictError(f"{where}: not a schema")
    if not node or set(node) <= {"description", "title", "default"}:
        raise NotStrictError(f"{where}: accepts any value")
    if "prefixItems" in node:
        raise NotStrictError(f"{where}: fixed-length tuples have no strict form")
    for key in ("$defs", "definitions"):
        for name, sub in (node.get(key) or {}).items():
            node[key][name] = _strict(sub, f"{where}.{key}.{name}")
    if node.get("type") == "object" or "properties" in node:
        extra = node.get("additionalProperties", False)
        if extra not in (False, None):
            raise NotStrictError(f"{where}: free-form maps have no strict form")
        properties = node.get("properties") or {}
        required = set(node.get("required") or [])
        for name, sub in properties.items():
            sub = _strict(sub, f"{where}.{name}")
            properties[name] = sub if name in required else _nullable(sub)
        node["properties"] = properties
        node["required"] = list(properties)
        node["additionalProperties"] = False
    if isinstance(node.get("items"), dict):
        node["items"] = _strict(node["items"], f"{where}[]")
    for key in ("anyOf", "allOf", "oneOf"):
        if isinstance(node.get(key), list):
            node[key] = [_strict(sub, f"{where}.{key}[{i}]") for i, sub in enumerate(node[key])]
    return node


def _allows_null(node: Mapping[str, Any]) -> bool:
    kind = node.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return True
    if node.get("const", 0) is None or None in (node.get("enum") or ()):
        return True
    return any(_allows_null(sub) for sub in node.get("anyOf") or [] if isinstance(sub, dict))


def _nullable(node: dict[str, Any]) -> dict[str, Any]:
    description = node.pop("description", None)
    takes_null = _allows_null(node)
    if "default" in node:
        default = node.pop("default")
        shown = json.dumps(default, ensure_ascii=False)
        # An argument that takes null as a value of its own (`x: int | None = 3`) gets
        # None for a null, not its default: the model must send the default itself.
        how = (f"null is a value of its own here: send {shown} for the default"
               if takes_null and default is not None else "pass null for the default")
        note = f"Default: {shown} ({how})."
        description = f"{description} {note}" if description else note
    if not takes_null:
        node = {"anyOf": [node, {"type": "null"}]}
    if description:
        node["description"] = description
    return node
