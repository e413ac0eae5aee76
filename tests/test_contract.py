"""The tool contract: static loading, JSON schema, clear errors."""

from __future__ import annotations

from pathlib import Path

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


# --- preconditions: Annotated[..., Field(...)], Literal, docstring constraints ------------

CONSTRAINED = '''
from typing import Annotated, Literal

from pydantic import Field


def kinetic_energy(
    mass: Annotated[float, Field(gt=0, description="the mass in kg")],
    speed: float,
    unit: Literal["J", "kJ"] = "J",
    tags: Annotated[list[str], Field(max_length=3)] = [],
    currency: str = "USD",
    count: int | None = None,
) -> Annotated[float, Field(ge=0)]:
    """Kinetic energy of a moving body.

    Args:
        speed (float, 0 <= v < 299792458): the speed in m/s.
        currency (pattern=`^[A-Z]{3}$`): an ISO 4217 code.
        count (positive): how many bodies.
    """
    energy = 0.5 * mass * speed ** 2 * (count or 1) / (1000.0 if unit == "kJ" else 1.0)
    return energy + 0.25 * len(tags) + (0.0 if currency == "USD" else 0.5)
'''


def test_constraints_reach_the_schema_agents_see() -> None:
    spec = load_tool_source(CONSTRAINED)
    props = spec.parameters_schema["properties"]
    assert props["mass"] == {"type": "number", "exclusiveMinimum": 0,
                             "description": "the mass in kg"}
    assert props["speed"]["minimum"] == 0 and props["speed"]["exclusiveMaximum"] == 299792458
    assert props["unit"]["enum"] == ["J", "kJ"]
    assert props["tags"]["maxItems"] == 3
    assert props["currency"]["pattern"] == "^[A-Z]{3}$"
    assert {"type": "integer", "exclusiveMinimum": 0} in props["count"]["anyOf"]
    assert spec.returns_schema == {"type": "number", "minimum": 0}
    assert {p.name: p.constraints for p in spec.params}["speed"] == {"ge": 0, "lt": 299792458}
    exported = openai_function("kinetic_energy", spec)["function"]["parameters"]
    assert exported["properties"]["mass"]["exclusiveMinimum"] == 0
    assert mcp_tool("kinetic_energy", spec)["inputSchema"]["properties"]["tags"]["maxItems"] == 3


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("float, > 0", {"gt": 0}),
        ("0 <= x <= 14", {"ge": 0, "le": 14}),
        ("0 < x", {"gt": 0}),
        ("x >= -273.15", {"ge": -273.15}),
        ("non-negative, < 1e3", {"ge": 0, "lt": 1000.0}),
        ("list[str], non-empty, max_length=10", {"min_length": 1, "max_length": 10}),
        ("len >= 2", {"min_length": 2}),
        ("pattern=`^[A-Z]{3}(,[A-Z]{3})*$`", {"pattern": "^[A-Z]{3}(,[A-Z]{3})*$"}),
        ("int, multiple_of=5, default=10", {"multiple_of": 5}),
        ("float, in kg", {}),
    ],
)
def test_docstring_constraint_syntax(spec: str, expected: dict[str, object]) -> None:
    from toolforge.tools.docstrings import parse_constraints

    assert parse_constraints(spec, "x") == expected


@pytest.mark.parametrize(
    ("old", "new", "fragment"),
    [
        ("count (positive)", "count (> zero)", "cannot read the constraint"),
        ("count (positive)", "counts (positive)", "does not take"),
        ("currency (pattern=`^[A-Z]{3}$`)", "currency (pattern=`[`)", "not a regular expression"),
        ("currency: str = \"USD\"", "currency: str = \"usd\"", "breaks its own"),
        ("Field(gt=0, description", "Field(gt=5, lt=1, description", "no number satisfies"),
        ("Field(max_length=3)", "Field(gt=3)", "cannot constrain this type"),
        ("Field(gt=0, description", "Field(frozen=True, description", "not supported"),
        ("Field(max_length=3)", "Field(3)", "keyword arguments only"),
        ("Field(max_length=3)", "str.upper", "must be Field(...)"),
        ("speed (float, 0 <= v < 299792458)", "speed (float, min_length=2)",
         "cannot constrain this type"),
    ],
)
def test_bad_constraints_are_contract_errors(old: str, new: str, fragment: str) -> None:
    assert old in CONSTRAINED
    with pytest.raises(ToolContractError) as info:
        load_tool_source(CONSTRAINED.replace(old, new))
    assert fragment in info.value.message
    assert info.value.hint


def test_out_of_range_arguments_are_refused_with_a_clear_reason() -> None:
    from toolforge.errors import BadArgumentsError
    from toolforge.runtime.arguments import ArgumentChecker

    checker = ArgumentChecker(load_tool_source(CONSTRAINED))

    def problems(args: dict[str, object]) -> str:
        with pytest.raises(BadArgumentsError) as info:
            checker.check(args)
        assert "kinetic_energy(" in (info.value.hint or "")
        return info.value.message

    assert checker.check({"mass": 2, "speed": 3.5, "count": None}) == {
        "mass": 2, "speed": 3.5, "count": None}
    assert problems({"mass": 0, "speed": 3e8}) == (
        "bad arguments for kinetic_energy: argument 'mass' = 0 must be > 0; "
        "argument 'speed' = 300000000.0 must be < 299792458")
    message = problems({"mass": 1, "speed": 1, "unit": "W", "currency": "usd",
                        "tags": ["a"] * 4, "count": 0})
    assert "argument 'count' = 0 must be > 0" in message
    assert "argument 'currency' = \"usd\" must match the pattern '^[A-Z]{3}$'" in message
    assert "argument 'tags' has 4 items; it needs at most 3" in message
    assert "argument 'unit' = \"W\" must be one of \"J\", \"kJ\"" in message


def test_a_constrained_tool_runs_in_the_sandbox_and_calls_are_checked_first(
        library: Path, tmp_path: Path) -> None:
    """pydantic is hidden in the sandbox; `from pydantic import Field` still imports (a
    stand-in), and a call outside the declared preconditions never runs."""
    from toolforge.errors import BadArgumentsError
    from toolforge.safety.checker import check_source
    from toolforge.service.library_service import LibraryService

    assert check_source(CONSTRAINED, filename="tool.py") == []
    tests = ("from tool import kinetic_energy\n\n\ndef test_example():\n"
             "    assert kinetic_energy(2.0, 3.0) == 9.0\n")
    svc = LibraryService(library)
    try:
        added = svc.add(CONSTRAINED, tests)
        assert added.details["validation"]["verdict"] == "passed", added.warnings
        svc.promote("kinetic_energy")
        good = svc.call_tool("kinetic_energy", {"mass": 2.0, "speed": 3.0})
        assert good.ok and good.value == 9.0, good.error
        with pytest.raises(BadArgumentsError) as info:
            svc.call_tool("kinetic_energy", {"mass": 0, "speed": 3.0})
        assert "argument 'mass' = 0 must be > 0" in info.value.message
    finally:
        svc.close()
