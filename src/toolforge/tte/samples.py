"""Shared sample inputs for comparing two tools' behaviour.

Samples are drawn from a tool's parameter schema by POSITION, not by name, with a fixed
seed per position: two tools that take (float, str) get the same samples whatever they call
their parameters, which is what lets `c_to_k(t)` and `celsius_to_kelvin(celsius)` meet.
Values are plausible rather than hostile (the property attack is the hostile one): small
and large numbers of both signs, zero, chemical formulas, unit symbols, plain words. Each
column deals its values from a shuffled deck rather than drawing them independently, so
every value of a pool (every sign, zero, fractions) appears before any repeats: look-alikes
that differ only on negative numbers (`abs(x)` vs `x`) or on halves (`round` vs `int`) are
always told apart.
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
DEFAULT_SAMPLES = 24  # more than any pool: each column shows every value once
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


def shape(spec: ToolSpec) -> tuple[str, ...]:
    """The JSON types of a tool's required parameters, in order: two tools can only behave
    the same on shared samples when their shapes agree (names do not matter)."""
    props = spec.parameters_schema.get("properties", {})
    return tuple(str(props.get(p.name, {}).get("type", "any")) if isinstance(
        props.get(p.name), dict) else "any" for p in spec.params if p.required)


def shared_samples(a: ToolSpec, b: ToolSpec, n: int = DEFAULT_SAMPLES) -> list[list[Any]]:
    """Samples drawn from `a`'s schema that are valid arguments of both tools."""
    out = []
    for sample in sample_inputs(a, n):
        ka, kb = as_kwargs(a, sample), as_kwargs(b, sample)
        if ka is not None and kb is not None and fits(a, ka) and fits(b, kb):
            out.append(sample)
    return out


class _Dealer:
    """Deals values from shuffled decks, one deck per pool, refilled when empty: a column
    covers a whole pool before it repeats a value (deterministic for a seed)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self._decks: dict[tuple[Any, ...], list[Any]] = {}

    def deal(self, pool: tuple[Any, ...]) -> Any:
        deck = self._decks.setdefault(pool, [])
        if not deck:
            deck.extend(pool)
            self.rng.shuffle(deck)
        return deck.pop()

    def choice(self, pool: list[Any]) -> Any:
        try:
            return self.deal(tuple(pool))
        except TypeError:  # unhashable values (enum of objects): an independent draw
            return self.rng.choice(pool)


def _column(schema: Any, position: int, n: int) -> list[Any]:
    dealer = _Dealer(7919 * (position + 1))
    return [_value(schema, dealer, 0) for _ in range(n)]


def _value(schema: Any, dealer: _Dealer, depth: int) -> Any:
    rng = dealer.rng
    if not isinstance(schema, dict) or depth > MAX_DEPTH:
        return dealer.deal(NUMBERS)
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return dealer.choice(schema["enum"])
    options = schema.get("anyOf") or schema.get("oneOf")
    if isinstance(options, list) and options:
        non_null = [o for o in options if not (isinstance(o, dict) and o.get("type") == "null")]
        return _value(rng.choice(non_null or options), dealer, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = rng.choice([k for k in kind if k != "null"] or kind)
    if kind == "number":
        return dealer.deal(NUMBERS)
    if kind == "integer":
        return dealer.deal(INTEGERS)
    if kind == "string":
        return dealer.deal(STRINGS)
    if kind == "boolean":
        return dealer.deal((True, False))
    if kind == "null":
        return None
    if kind == "array":
        prefix = schema.get("prefixItems")
        if isinstance(prefix, list):
            return [_value(s, dealer, depth + 1) for s in prefix]
        return [_value(schema.get("items", {}), dealer, depth + 1)
                for _ in range(rng.randint(0, 4))]
    if kind == "object":
        props = schema.get("properties")
        if isinstance(props, dict) and props:
            return {k: _value(v, dealer, depth + 1) for k, v in props.items()}
        values = schema.get("additionalProperties", {})
        keys = rng.sample(["a", "b", "c", "H", "O"], rng.randint(0, 3))
        return {k: _value(values if isinstance(values, dict) else {}, dealer, depth + 1)
                for k in keys}
    return dealer.deal(NUMBERS + INTEGERS)
