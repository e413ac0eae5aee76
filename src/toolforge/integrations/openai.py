"""OpenAI: tool schemas and a tool-call runner for the plain Chat Completions loop, and
`FunctionTool`s for the OpenAI Agents SDK (`pip install 'toolforge[openai-agents]'`).

    tools = toolforge.runtime.tools("my-library")
    response = client.chat.completions.create(model=..., messages=messages,
                                              tools=openai_tools(tools, strict=True))
    message = response.choices[0].message
    if message.tool_calls:
        messages.append(message)
        messages += run_tool_calls(message.tool_calls, tools)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from toolforge.integrations import ToolSource, error_payload, functions_of


def openai_tools(source: ToolSource = None, *, strict: bool = False) -> list[dict[str, Any]]:
    """Chat Completions `tools` entries (the shapes of `export --format openai [--strict]`)."""
    return [fn.openai_strict_schema if strict else fn.openai_schema  # type: ignore[attr-defined]
            for fn in functions_of(source)]


def run_tool_calls(tool_calls: Iterable[Any], source: ToolSource = None) -> list[dict[str, Any]]:
    """Run a model's tool calls; one `{"role": "tool", ...}` message per call. A failure
    (unknown tool, bad arguments, a tool error) becomes an error message for the model,
    never an exception here."""
    by_name = {fn.__name__: fn for fn in functions_of(source)}
    messages = []
    for call in tool_calls:
        call_id, name, raw = _parts(call)
        messages.append({"role": "tool", "tool_call_id": call_id,
                         "content": _run(by_name, name, raw)})
    return messages


def _parts(call: Any) -> tuple[str, str, str]:
    if isinstance(call, dict):
        function = call.get("function") or {}
        return str(call.get("id", "")), str(function.get("name", "")), \
            function.get("arguments") or "{}"
    return str(call.id), str(call.function.name), call.function.arguments or "{}"


def _run(by_name: dict[str, Callable[..., Any]], name: str, raw: str) -> str:
    fn = by_name.get(name)
    if fn is None:
        return json.dumps({"error": "unknown_tool", "message": f"no tool named {name!r}",
                           "hint": f"the tools are: {', '.join(sorted(by_name))}"})
    try:
        arguments = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError as exc:
        return json.dumps({"error": "bad_arguments",
                           "message": f"arguments are not valid JSON: {exc}"})
    if not isinstance(arguments, dict):
        return json.dumps({"error": "bad_arguments",
                           "message": "arguments must be a JSON object"})
    try:
        return json.dumps(fn(**arguments), ensure_ascii=False)
    except Exception as exc:  # the model reads the failure and may correct itself
        return json.dumps(error_payload(exc), ensure_ascii=False)


def agents_tools(source: ToolSource = None, *, strict: bool = True) -> list[Any]:
    """`agents.FunctionTool`s for the OpenAI Agents SDK. With `strict`, tools whose
    arguments have a strict form use it (null means "the default" unless null is one of an
    argument's own values); the others go non-strict. A failed call is returned to the
    model as an error text."""
    import asyncio

    from agents import FunctionTool

    tools = []
    for fn in functions_of(source):
        schema = fn.openai_strict_schema if strict else fn.openai_schema  # type: ignore[attr-defined]
        function = schema["function"]
        by_name = {fn.__name__: fn}

        async def invoke(_ctx: Any, raw: str, _by_name: dict[str, Any] = by_name,
                         _name: str = fn.__name__) -> str:
            return await asyncio.to_thread(_run, _by_name, _name, raw)

        tools.append(FunctionTool(
            name=fn.__name__, description=function["description"],
            params_json_schema=function["parameters"], on_invoke_tool=invoke,
            strict_json_schema=bool(function.get("strict"))))
    return tools
