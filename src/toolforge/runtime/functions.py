"""Active tools as ordinary Python functions, for any framework that reads signatures.

Each function has a real `__signature__` and `__annotations__` (Python types built from the
tool's hints by the contract's whitelist evaluator), `__name__`, a Google-style `__doc__`
with Args/Returns, and the tool's JSON schemas as attributes. Calling it goes through the
runtime: arguments are checked against the schema first, the promoted code runs in the
sandbox, the call is recorded, and a failure raises a toolforge error.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from toolforge.errors import BadArgumentsError
from toolforge.tools.contract import ToolSpec, python_type

if TYPE_CHECKING:
    from toolforge.runtime.catalog import ActiveTool
    from toolforge.runtime.results import ToolCallResult

ToolFunction = Callable[..., Any]
# (tool name, arguments) -> the call's result: a runtime's call, or a wrapper that also
# keeps its own record (the built-in agent's toolbox).
Invoke = Callable[[str, dict[str, Any]], "ToolCallResult"]


def signature_of(spec: ToolSpec) -> inspect.Signature:
    params = [
        inspect.Parameter(p.name, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                          annotation=python_type(p.annotation),
                          default=inspect.Parameter.empty if p.required else p.default)
        for p in spec.params
    ]
    return inspect.Signature(params, return_annotation=python_type(spec.returns_annotation))


def docstring_of(spec: ToolSpec) -> str:
    """Google style, every argument described (smolagents and LangChain parse this)."""
    lines = [spec.docstring.strip() or spec.summary]
    if spec.params:
        lines += ["", "Args:"]
        for p in spec.params:
            lines.append(f"    {p.name}: {p.description or p.annotation}")
    lines += ["", "Returns:", f"    {spec.returns_description or spec.returns_annotation}"]
    if spec.raises:
        lines += ["", "Raises:"] + [f"    {k}: {v}" for k, v in spec.raises.items()]
    return "\n".join(lines)


def make_function(tool: ActiveTool, invoke: Invoke) -> ToolFunction:
    """A function that calls `tool` by name through `invoke` (so after a promotion it runs
    the new version; its signature is the one it was made with)."""
    sig = signature_of(tool.spec)
    names = list(sig.parameters)
    name = tool.name

    def call(*args: Any, **kwargs: Any) -> Any:
        if len(args) > len(names):
            raise BadArgumentsError(
                f"{name}() takes {len(names)} argument(s), {len(args)} were given",
                hint=f"the tool's signature is {tool.spec.signature}")
        arguments = dict(zip(names, args, strict=False))
        twice = sorted(set(arguments) & set(kwargs))
        if twice:
            raise BadArgumentsError(f"{name}() got several values for {', '.join(twice)}",
                                    hint=f"the tool's signature is {tool.spec.signature}")
        arguments.update(kwargs)
        return invoke(name, arguments).unwrap()

    call.__name__ = call.__qualname__ = name
    call.__module__ = "toolforge.tools"
    call.__doc__ = docstring_of(tool.spec)
    call.__signature__ = sig  # type: ignore[attr-defined]
    call.__annotations__ = {
        **{p.name: p.annotation for p in sig.parameters.values()},
        "return": sig.return_annotation,
    }
    call.json_schema = tool.spec.parameters_schema  # type: ignore[attr-defined]
    call.returns_schema = tool.spec.returns_schema  # type: ignore[attr-defined]
    call.openai_schema = tool.schema()  # type: ignore[attr-defined]
    call.openai_strict_schema = tool.schema(strict=True)  # type: ignore[attr-defined]
    call.mcp_schema = tool.mcp()  # type: ignore[attr-defined]
    call.description = tool.mcp()["description"]  # type: ignore[attr-defined]
    return call
