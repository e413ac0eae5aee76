"""Thin adapters from a library's tools to agent frameworks, imported only when used.

    from toolforge.integrations.langchain import langchain_tools
    from toolforge.integrations.openai import openai_tools, run_tool_calls, agents_tools
    from toolforge.integrations.smolagents import smolagents_tools

Each takes the functions of `toolforge.runtime.tools(...)` or `Forge.tools()` (or a library
path), so every call still goes through the runtime: arguments checked, the promoted code
run in the sandbox, the call recorded. The frameworks are optional extras
(`pip install 'toolforge[langchain]'`, `[openai-agents]`, `[smolagents]`); the plain
OpenAI tool loop needs nothing beyond the `openai` client.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

ToolSource = Iterable[Callable[..., Any]] | str | os.PathLike[str] | None


def functions_of(source: ToolSource) -> list[Callable[..., Any]]:
    """The tool functions an adapter wraps: given as is, or the active tools of a library
    path (None: the default library)."""
    if source is None or isinstance(source, str | os.PathLike):
        from toolforge.runtime import tools

        return tools(source)
    functions = list(source)
    for fn in functions:
        if not hasattr(fn, "json_schema"):
            raise TypeError(f"{fn!r} is not a toolforge tool function (use "
                            "toolforge.runtime.tools() or Forge.tools())")
    return functions


def error_payload(exc: Exception) -> dict[str, Any]:
    """A failed call as the JSON an agent reads: the error's kind, message and hint."""
    from toolforge.errors import ToolforgeError

    if isinstance(exc, ToolforgeError):
        return {"error": exc.kind, "message": exc.message, "hint": exc.hint}
    return {"error": "exception", "message": f"{type(exc).__name__}: {exc}"}
