"""The tool contract: static loading, JSON schema, clear errors."""

from __future__ import annotations

import pytest

from toolforge.errors import ToolContractError
from toolforge.tools.contract import load_tool_source
from toolforge.tools.export import mcp_tool, openai_function

GOOD = '''
from typing import Literal, Optional


def summarize(values: list[float], mode: Literal["mean", "max"] = "mean",
              labels: Optional[dict[str, int]] = None, *, limit: int | None = None
              ) -> dict[str, float]:
    """Summarize numbers.

    Longer description that agents do not need.

    Args:
        values: the numbers.
        mode: which statistic.
        labels: optional labels,
            continued on a second line.
        limit: keep at most this many values.

    Returns:
        A mapping with the statistic.

    Raises:
        ValueError: when values is empty.
    """
    return {}
'''


def test_schema_from_hints_and_docstring() -> None:
    spec = load_tool_source(GOOD)
    assert spec.name == "summarize"
    assert spec.summary == "Summarize numbers."
    schema = spec.parameters_schema
    assert schema["required"] == ["values"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["values"] == {
        "type": "array", "items": {"type": "number"}, "description": "the numbers."}
    assert schema["properties"]["mode"]["enum"] == ["mean", "max"]
    assert schema["properties"]["mode"]["default"] == "mean"
    assert schema["properties"]["labels"]["description"] == (
        "optional labels, continued on a second line.")
    assert {"type": "null"} in schema["properties"]["labels"]["anyOf"]
    assert schema["properties"]["limit"]["default"] is None
    assert spec.returns_schema == {"type": "object", "additionalProperties": {"type": "number"}}
    assert spec.raises == {"ValueError": "when values is empty."}


def test_loading_never_executes_module_code(tmp_path) -> None:
    marker = tmp_path / "ran"
    source = f'open({str(marker)!r}, "w").write("x")\n' + GOOD
    load_tool_source(source)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("def f(:\n", "syntax error"),
        ("X = 1\n", "no public function"),
        ("def _private(x: int) -> int:\n    '''Doc.'''\n", "no public function"),
        ("def a(x: int) -> int:\n    '''D.'''\ndef b(x: int) -> int:\n    '''D.'''\n",
         "several public functions"),
        ("def f(x) -> int:\n    '''Doc.'''\n", "has no type hint"),
        ("def f(x: int):\n    '''Doc.'''\n", "no return type hint"),
        ("def f(x: int) -> int:\n    return x\n", "no docstring"),
        ("def f(x: bytes) -> int:\n    '''Doc.'''\n", "not a JSON type"),
        ("def f(x: dict[int, str]) -> int:\n    '''Doc.'''\n", "keys must be str"),
        ("def f(x: os.PathLike) -> int:\n    '''Doc.'''\n", "not a JSON type"),
        ("def f(x: int = len('a')) -> int:\n    '''Doc.'''\n", "not a literal"),
        ("def f(*args: int) -> int:\n    '''Doc.'''\n", "*args"),
        ("async def f(x: int) -> int:\n    '''Doc.'''\n", "async"),
        ("def f(x: 'import os') -> int:\n    '''Doc.'''\n", "unparsable annotation"),
        ("def Bad(x: int) -> int:\n    '''Doc.'''\n", "not a valid tool name"),
        ("x = '\x00'\n", "cannot parse"),
    ],
)
def test_contract_errors_are_clear(source: str, fragment: str) -> None:
    with pytest.raises(ToolContractError) as info:
        load_tool_source(source)
    assert fragment in info.value.message
    assert info.value.hint or "syntax" in info.value.message or "parse" in info.value.message


def test_string_annotations_and_typing_module_forms() -> None:
    src = (
        "import typing\n\n"
        "def f(a: 'list[int]', b: typing.Optional[str] = None, c: typing.Any = None,"
        " d: tuple[int, str] = (1, 'x')) -> typing.List[int]:\n"
        "    '''Doc.'''\n    return []\n"
    )
    spec = load_tool_source(src)
    props = spec.parameters_schema["properties"]
    assert props["a"]["items"] == {"type": "integer"}
    assert props["d"]["default"] == [1, "x"]
    assert props["d"]["prefixItems"] == [{"type": "integer"}, {"type": "string"}]


def test_export_shapes() -> None:
    spec = load_tool_source(GOOD)
    fn = openai_function("summarize", spec)
    assert fn["type"] == "function"
    assert set(fn["function"]) == {"name", "description", "parameters"}
    assert fn["function"]["description"].startswith("Summarize numbers.")
    mcp = mcp_tool("summarize", spec)
    assert set(mcp) == {"name", "title", "description", "inputSchema", "outputSchema"}
    assert mcp["title"] == "Summarize"
    assert mcp["outputSchema"]["type"] == "object"
