"""smolagents: the library's tools as `smolagents.Tool`s (`pip install
'toolforge[smolagents]'`).

    from toolforge.integrations.smolagents import smolagents_tools
    agent = CodeAgent(tools=smolagents_tools("my-library"), model=model)
"""

from __future__ import annotations

import inspect
from typing import Any

from toolforge.integrations import ToolSource, functions_of

_TYPES = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean",
          "array": "array", "object": "object", "null": "null"}


def smolagents_tools(source: ToolSource = None) -> list[Any]:
    from smolagents import Tool

    return [_tool(Tool, fn) for fn in functions_of(source)]


def _kind(schema: dict[str, Any]) -> tuple[str, bool]:
    """smolagents' type name for a JSON schema, and whether null is allowed."""
    options = schema.get("anyOf") or [schema]
    nullable = any(o.get("type") == "null" for o in options)
    kinds = {_TYPES.get(str(o.get("type")), "any") for o in options if o.get("type") != "null"}
    if "enum" in schema or "const" in schema:
        kinds = {"string"} if all(isinstance(v, str) for v in schema.get("enum", [])) \
            else {"any"}
    return (kinds.pop() if len(kinds) == 1 else "any"), nullable


def _tool(base: type, fn: Any) -> Any:
    schema = fn.json_schema
    required = set(schema.get("required", []))
    inputs: dict[str, dict[str, Any]] = {}
    for name, prop in schema.get("properties", {}).items():
        kind, nullable = _kind(prop)
        entry: dict[str, Any] = {"type": kind, "description": prop.get("description") or name}
        if nullable or name not in required:
            entry["nullable"] = True
        inputs[name] = entry
    output_type, _ = _kind(fn.returns_schema)
    signature = inspect.signature(fn)

    def forward(self: Any, *args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    forward.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
                    *signature.parameters.values()])
    cls = type(f"{fn.__name__}_tool", (base,), {
        "name": fn.__name__, "description": fn.description, "inputs": inputs,
        "output_type": output_type, "forward": forward, "skip_forward_signature_validation":
        False,
    })
    return cls()
