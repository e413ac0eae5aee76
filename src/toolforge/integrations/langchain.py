"""LangChain: the library's tools as `StructuredTool`s (`pip install 'toolforge[langchain]'`).

    from toolforge.integrations.langchain import langchain_tools
    agent = create_agent(model, tools=langchain_tools("my-library"))

A toolforge function also works with `StructuredTool.from_function(fn)` directly (it has a
real signature and docstring); this adapter adds the exact JSON schema the runtime checks
and turns a failed call into a `ToolException`, which LangChain hands back to the model.
"""

from __future__ import annotations

from typing import Any

from toolforge.integrations import ToolSource, functions_of


def langchain_tools(source: ToolSource = None) -> list[Any]:
    from langchain_core.tools import StructuredTool

    return [_structured(StructuredTool, fn) for fn in functions_of(source)]


def _structured(structured_tool: Any, fn: Any) -> Any:
    from langchain_core.tools import ToolException

    from toolforge.errors import ToolforgeError

    def run(**kwargs: Any) -> Any:
        try:
            return fn(**kwargs)
        except ToolforgeError as exc:
            detail = f"{exc.kind}: {exc.message}" + (f" (hint: {exc.hint})" if exc.hint else "")
            raise ToolException(detail) from exc

    return structured_tool.from_function(
        func=run, name=fn.__name__, description=fn.description, args_schema=fn.json_schema,
        handle_tool_error=True)
