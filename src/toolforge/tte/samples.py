"""Shared sample inputs for comparing two tools' behaviour.

Samples are drawn from a tool's parameter schema by POSITION, not by name, with a fixed
seed per position: two tools that take (float, str) get the same samples whatever they call
their parameters, which is what lets `c_to_k(t)` and `celsius_to_kelvin(celsius)` meet.
Values are plausible rather than hostile (the property attack is the hostile one): small
and large numbers of both signs, zero, chemical formulas, unit symbols, plain words.
"""

from __future__ import annotations

import random
from typing import Any

import jsonschema

from toolforge.tools.contract import ToolSpec

NUMBERS: tuple[float, ...] = (
    1.0, 2.5, -1.0, 0.0, 10.0, 100.0, 0.001, 42.0, 298.15, 6.02, -40.0, 1000.0, 0.5,
    3.14159, 12.0, 7.0, 0.25, 55.5, -3.5, 2.0,
)
INTEGERS: tuple[int, ...] = (1, 2, 3, 0, 5, 7, 10, 12, 100, -3, 42, 1000, 4, 9, 64, -1)
STRINGS: tuple[str, ...] = (
    "H2O", "NaCl", "CO2", "C6H12O6", "km", "m", "kg", "K", "C", "hello world", "abc", "",
    "ERROR disk full", "2024-01-02", "x", "Fe2O3", "mi", "g", "F", "NH3",
)
DEFAULT_SAMPLES = 16
MAX_DEPTH = 4


def sample_inputs(spec: ToolSpec, n: int = DEFAULT_SAMPLES) -> list[list[Any]]:
    """`n` positional argument lists for the tool's required parameters (deterministic)."""
    required = [p for p in spec.params if p.required]
    props = spec.parameters_schema.get("properties", {})
    columns = [_column(props.get(p.name, {}), position, n) for position, p in
               enumerate(required)]
    return [[column[i] for column in columns] for i in range(n)]


def as_kwargs(spec: ToolSpec, positional: list[Any]) -> dict[str, Any] | None:
    """The positional arguments as `spec`'s keyword arguments, or None when they do not fit
    its required parameters."""
    required = [p.name for p in spec.params if p.required]
    if len(required) != len(positional):
        return None
    return dict(zip(required, positional, strict=True))


def fits(spec: ToolSpec, kwargs: dict[str, Any]) -> bool:
    """Arguments valid against the tool's parameter schema."""
    try:
        jsonschema.validate(kwargs, spec.parameters_schema)
    except (jsonschema.ValidationError, jsonschema.SchemaError):
        return False
    return True


def shared_samples(a: ToolSpec, b: ToolSpec, n: int = DEFAULT_SAMPLES) -> list[list[Any]]:
    """Samples drawn from `a`'s schema that are valid arguments of both tools."""
    out = []
    for sample in sample_inputs(a, n):
        ka, kb = as_kwargs(a, sample), as_kwargs(b, sample)
        if ka is not None and kb is not None and fits(a, ka) and fits(b, kb):
            out.append(sample)
    return out


def _column(schema: Any, position: int, n: int) -> list[Any]:
    rng = random.Random(7919 * (position + 1))
    return [_value(schema, rng, 0) for _ in range(n)]


def _value(schema: Any, rng: random.Random, depth: int) -> Any:
    if not isinstance(schema, dict) or depth > MAX_DEPTH:
        return rng.choice(NUMBERS)
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return rng.choice(schema["enum"])
    options = schema.get("anyOf") or schema.get("oneOf")
    if isinstance(options, list) and options:
        non_null = [o for o in options if not (isinstance(o, dict) and o.get("type") == "null")]
        return _value(rng.choice(non_null or options), rng, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = rng.choice([k for k in kind if k != "null"] or kind)
    if kind == "number":
        return rng.choice(NUMBERS)
    if kind == "integer":
        return rng.choice(INTEGERS)
    if kind == "string":
        return rng.choice(STRINGS)
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "null":
        return None
    if kind == "array":
        prefix = schema.get("prefixItems")
        if isinstance(prefix, list):
            return [_value(s, rng, depth + 1) for s in prefix]
        return [_value(schema.get("items", {}), rng, depth + 1) for _ in range(rng.randint(0, 4))]
    if kind == "object":
        props = schema.get("properties")
        if isinstance(props, dict) and props:
            return {k: _value(v, rng, depth + 1) for k, v in props.items()}
        values = schema.get("additionalProperties", {})
        keys = rng.sample(["a", "b", "c", "H", "O"], rng.randint(0, 3))
        return {k: _value(values if isinstance(values, dict) else {}, rng, depth + 1)
                for k in keys}
    return rng.choice(NUMBERS + INTEGERS)
