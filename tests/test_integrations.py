"""Framework-ready tools: LangChain (its own `StructuredTool.from_function` on a
`Forge.tools()` function, and the adapter), the plain OpenAI tool loop and the OpenAI
Agents SDK against the scripted model server, smolagents, and OpenAI strict schemas checked
against the `openai` package's own strict transformer."""

from __future__ import annotations

import asyncio
import copy
import json
from pathlib import Path
from typing import Any

import openai
import pytest
from openai.lib._pydantic import _ensure_strict_json_schema

from conftest import run_cli
from runtime_library import HOG, copy_library, template_fixture
from toolforge import Forge
from toolforge.metrics.usage import UsageStore
from toolforge.runtime import tools
from toolforge.testing import ScriptedModelServer
from toolforge.tools.contract import load_tool_source
from toolforge.tools.export import NotStrictError, openai_function, strict_schema

pytestmark = pytest.mark.timeout(180)

RICH = '''from typing import Literal, Optional


def measure(values: list[float], unit: Literal["m", "km"] = "m", label: Optional[str] = None,
            scale: float = 1.0, tags: list[str] = [], opts: Optional[list[int]] = None
            ) -> dict[str, float]:
    """Sum some lengths.

    Args:
        values: lengths.
        unit: their unit.
        label: a name for the sum.
        scale: a factor.
        tags: free tags.
        opts: options.

    Returns:
        the total.
    """
    return {"total": sum(values) * scale}
'''


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return template_fixture(tmp_path_factory)


@pytest.fixture
def lib(template: Path, tmp_path: Path) -> Path:
    return copy_library(template, tmp_path)


def test_langchain_structured_tool_from_a_forge_function(lib: Path) -> None:
    from langchain_core.tools import StructuredTool

    from toolforge.integrations.langchain import langchain_tools

    with Forge(library=lib, auto_evolve=False) as forge:
        add = next(fn for fn in forge.tools() if fn.__name__ == "add")
        tool = StructuredTool.from_function(add, parse_docstring=True)
        assert tool.name == "add" and tool.description.startswith("Add two integers.")
        schema = tool.args_schema.model_json_schema()  # type: ignore[union-attr]
        assert schema["required"] == ["a"] and schema["properties"]["b"]["default"] == 2
        assert schema["properties"]["a"]["description"] == "the first number."
        assert tool.invoke({"a": 40}) == 42
        assert tool.invoke({"a": 1, "b": 5}) == 6

        adapted = {t.name: t for t in langchain_tools(forge.tools())}
        assert adapted["add"].args == forge.tools()[0].json_schema["properties"]
        assert adapted["word_stats"].invoke({"text": "a b"}) == {"words": 2, "chars": 3}
        refused = adapted["add"].invoke({"a": 1, "b": "two"})  # ToolException -> the model
        assert refused.startswith("bad_arguments:") and "'b'" in refused
        failed = adapted["trap"].invoke({"word": HOG})
        assert failed.startswith("memory:")
    assert {e.caller for e in UsageStore.for_library(lib).events()} == {"python"}


def test_strict_schemas_pass_openais_strict_transformer(lib: Path) -> None:
    spec = load_tool_source(RICH)
    strict = strict_schema(spec.parameters_schema)
    # OpenAI's own transformer changes nothing: the schema already follows its rules.
    assert _ensure_strict_json_schema(copy.deepcopy(strict), path=(), root=strict) == strict
    props = strict["properties"]
    assert strict["required"] == list(props) and strict["additionalProperties"] is False
    assert props["values"] == {"type": "array", "items": {"type": "number"},
                               "description": "lengths."}
    assert {"type": "null"} in props["unit"]["anyOf"]  # optional -> nullable
    assert props["unit"]["description"].endswith('Default: "m" (pass null for the default).')
    assert props["label"]["anyOf"] == [{"type": "string"}, {"type": "null"}]
    assert not any("default" in p for p in props.values())
    assert openai_function("measure", spec, strict=True)["function"]["strict"] is True

    free_form = load_tool_source(RICH.replace("tags: list[str] = []",
                                              "tags: dict[str, int] = {}"))
    with pytest.raises(NotStrictError):
        strict_schema(free_form.parameters_schema)
    assert openai_function("measure", free_form, strict=True)["function"]["strict"] is False

    exported = run_cli("export", "--format", "openai", "--strict", "-L", lib).json
    for entry in exported:
        params = entry["function"]["parameters"]
        assert entry["function"]["strict"] is True
        assert _ensure_strict_json_schema(copy.deepcopy(params), path=(), root=params) == params
    # What strict mode sends for an unused optional argument (null) means "the default".
    with Forge(library=lib, auto_evolve=False) as forge:
        assert forge.call("add", a=1, b=None) == 3


NULLS = '''from typing import Literal, Optional, Union


def nulls(a: Optional[int] = 3, b: int = 4, c: Optional[str] = None,
          d: Union[int, str, None] = "x", e: Optional[Literal["p", "q"]] = "q") -> str:
    """Show what each argument received.

    Args:
        a: an optional number.
        b: a number.
        c: an optional text.
        d: a number or a text.
        e: a letter.

    Returns:
        the arguments as received.
    """
    return repr([a, b, c, d, e])
'''


def test_strict_descriptions_say_what_a_null_does(lib: Path, tmp_path: Path) -> None:
    """Strict mode sends every argument; for each optional one the description says what
    a null gets, and the runtime does exactly that (the default, or None when None is one
    of the argument's own values)."""
    source = tmp_path / "nulls"
    source.mkdir()
    (source / "tool.py").write_text(NULLS)
    (source / "test_tool.py").write_text("from tool import nulls\n\n\ndef test_nulls():\n"
                                         "    assert nulls() == repr([3, 4, None, 'x', 'q'])\n")
    assert run_cli("add", source, "-L", lib).exit_code == 0
    assert run_cli("promote", "nulls", "-L", lib).exit_code == 0
    exported = run_cli("export", "--format", "openai", "--strict", "-L", lib).json
    entry = next(e["function"] for e in exported if e["function"]["name"] == "nulls")
    assert entry["strict"] is True
    props = entry["parameters"]["properties"]
    with Forge(library=lib, auto_evolve=False) as forge:
        defaults = forge.call("nulls")
        for index, name in enumerate(["a", "b", "c", "d", "e"]):
            description = props[name]["description"]
            got = forge.call("nulls", **{name: None})
            if "pass null for the default" in description:
                assert got == defaults, name
            else:
                assert "null is a value of its own" in description, description
                expected = eval(defaults)  # the repr of a list of plain values
                expected[index] = None
                assert got == repr(expected), name
        assert props["a"]["description"].endswith(
            "Default: 3 (null is a value of its own here: send 3 for the default).")
        assert props["b"]["description"].endswith("Default: 4 (pass null for the default).")


def test_plain_openai_tool_loop(lib: Path) -> None:
    from toolforge.integrations.openai import openai_tools, run_tool_calls

    script = {"name": "loop", "rules": [
        {"name": "answer", "match": {"last_role": "tool"},
         "respond": {"content": "Done: {{last_tool}}"}},
        {"name": "call", "match": {"contains": ["add"], "has_tools": True},
         "respond": {"tool_calls": [{"name": "add", "arguments": {"a": 40, "b": None}},
                                    {"name": "nope", "arguments": {}}]}},
    ]}
    fns = tools(lib, session="loop-1")
    with ScriptedModelServer(script) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="scripted", max_retries=0)
        messages: list[Any] = [{"role": "user", "content": "add 40 and 2"}]
        for _ in range(3):
            reply = client.chat.completions.create(model="scripted", messages=messages,
                                                   tools=openai_tools(fns, strict=True))
            message = reply.choices[0].message
            if not message.tool_calls:
                break
            messages.append(message.model_dump(exclude_none=True))
            results = run_tool_calls(message.tool_calls, fns)
            messages += results
        assert json.loads(results[0]["content"]) == 42
        assert json.loads(results[1]["content"])["error"] == "unknown_tool"
        assert message.content is not None and "unknown_tool" in message.content
        sent = server.chat_requests()[0]["body"]["tools"]
        assert sent[0]["function"]["strict"] is True
    events = UsageStore.for_library(lib).events()
    assert [(e.tool, e.outcome, e.session) for e in events] == [("add", "ok", "loop-1")]


def test_openai_agents_sdk(lib: Path) -> None:
    agents = pytest.importorskip("agents")
    from toolforge.integrations.openai import agents_tools

    script = {"name": "agents", "rules": [
        {"name": "answer", "match": {"last_role": "tool"},
         "respond": {"content": "counted: {{last_tool}}"}},
        {"name": "call", "match": {"contains": ["count"], "has_tools": True},
         "respond": {"tool_calls": [{"name": "word_stats",
                                     "arguments": {"text": "one two three"}}]}},
    ]}
    agents.set_tracing_disabled(True)  # no trace export: there is no network here
    with ScriptedModelServer(script) as server:
        model = agents.OpenAIChatCompletionsModel(
            model="scripted", openai_client=openai.AsyncOpenAI(
                base_url=server.base_url, api_key="scripted", max_retries=0))
        agent = agents.Agent(name="counter", instructions="Use the tools.", model=model,
                             tools=agents_tools(lib))
        result = asyncio.run(agents.Runner.run(agent, "count the words"))
    assert json.loads(result.final_output.removeprefix("counted: ")) == {"words": 3,
                                                                        "chars": 13}


def test_smolagents_tools(lib: Path) -> None:
    pytest.importorskip("smolagents")
    from toolforge.integrations.smolagents import smolagents_tools

    built = {t.name: t for t in smolagents_tools(lib)}
    add = built["add"]
    assert add.inputs["a"] == {"type": "integer", "description": "the first number."}
    assert add.inputs["b"]["nullable"] is True and add.output_type == "integer"
    assert built["word_stats"].output_type == "object"
    assert add(a=40) == 42 and add(a=1, b=1) == 2
    assert built["word_stats"](text="x y") == {"words": 2, "chars": 3}
