"""Checking a call's arguments against the tool's JSON schema before anything runs.

The schema is the one `export` publishes (`ToolSpec.parameters_schema`), so what an agent
was told is exactly what is enforced, constraints included. Messages name the argument and
what is wrong with it, in words a model can act on.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from toolforge.errors import BadArgumentsError
from toolforge.tools.contract import ToolSpec

_MAX_ERRORS = 5


class ArgumentChecker:
    """A compiled validator for one tool's arguments."""

    def __init__(self, spec: ToolSpec) -> None:
        from jsonschema import Draft202012Validator

        self.spec = spec
        self.schema = spec.parameters_schema
        self._validator = Draft202012Validator(self.schema)
        properties = self.schema.get("properties", {})
        # Optional arguments whose own schema refuses null: a null there means "the default"
        # (OpenAI strict mode sends every argument and marks optional ones nullable).
        self._null_means_default = {
            p.name for p in spec.params
            if not p.required and not self._validator.evolve(
                schema=properties.get(p.name, {})).is_valid(None)
        }

    def check(self, arguments: Any) -> dict[str, Any]:
        """The arguments to send, or BadArgumentsError saying what is wrong."""
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, Mapping):
            raise BadArgumentsError(
                f"arguments must be a JSON object of named arguments, not "
                f"{_json_type(arguments)}", hint=self._hint())
        args = {str(k): v for k, v in arguments.items()
                if not (v is None and k in self._null_means_default)}
        problem = _not_plain_json(args)
        if problem is not None:
            raise BadArgumentsError(f"arguments are not plain JSON: {problem}",
                                    hint="pass strings, numbers, booleans, null, lists and "
                                         "objects only")
        errors = sorted(self._validator.iter_errors(args), key=_error_order)
        if errors:
            lines = [_describe(e, self.schema) for e in errors[:_MAX_ERRORS]]
            if len(errors) > _MAX_ERRORS:
                lines.append(f"... and {len(errors) - _MAX_ERRORS} more")
            raise BadArgumentsError(f"bad arguments for {self.spec.name}: " + "; ".join(lines),
                                    hint=self._hint())
        return args

    def _hint(self) -> str:
        return f"the tool's signature is {self.spec.signature}"


def _error_order(error: Any) -> tuple[int, list[str]]:
    return (len(error.absolute_path), [str(p) for p in error.absolute_path])


def _describe(error: Any, schema: Mapping[str, Any]) -> str:
    path = list(error.absolute_path)
    if error.validator == "additionalProperties" and not path:
        known = ", ".join(schema.get("properties", {})) or "none"
        extra = sorted(set(error.instance) - set(schema.get("properties", {})))
        names = ", ".join(repr(n) for n in extra)
        return f"unexpected argument{'s' if len(extra) > 1 else ''} {names} (it takes: {known})"
    if error.validator == "required" and not path:
        missing = str(error.message).split("'")[1] if "'" in str(error.message) else "?"
        return f"missing required argument {missing!r}"
    if error.validator == "type" and not path:
        return f"arguments must be a JSON object, not {_json_type(error.instance)}"
    where = "argument " + repr(path[0]) + "".join(f"[{p!r}]" for p in path[1:]) if path \
        else "arguments"
    if error.validator in ("anyOf", "oneOf") and error.context:
        # An Optional argument: say what is wrong for its non-null kind.
        from jsonschema.exceptions import best_match

        error = best_match([e for e in error.context if e.validator != "type"]
                           or error.context)
    constraint = _broken_constraint(error)
    if constraint is not None:
        return f"{where} {constraint}"
    return f"{where}: {_short(error.message)}"


_COMPARISONS = {"exclusiveMinimum": ">", "minimum": ">=", "exclusiveMaximum": "<",
                "maximum": "<="}
_SIZES = {"minLength": ("least", "characters"), "maxLength": ("most", "characters"),
          "minItems": ("least", "items"), "maxItems": ("most", "items"),
          "minProperties": ("least", "entries"), "maxProperties": ("most", "entries")}


def _broken_constraint(error: Any) -> str | None:
    """A precondition the tool states, in the words it was stated (`= 0 must be > 0`)."""
    keyword, bound, value = error.validator, error.validator_value, error.instance
    shown = _short(json.dumps(value, ensure_ascii=False, default=repr), 60)
    if keyword in _COMPARISONS:
        return f"= {shown} must be {_COMPARISONS[keyword]} {bound}"
    if keyword == "multipleOf":
        return f"= {shown} must be a multiple of {bound}"
    if keyword == "pattern":
        return f"= {shown} must match the pattern {bound!r}"
    if keyword == "enum":
        return f"= {shown} must be one of " + ", ".join(json.dumps(v) for v in bound)
    if keyword in _SIZES:
        side, unit = _SIZES[keyword]
        return f"has {len(value)} {unit}; it needs at {side} {bound}"
    return None


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a {type(value).__name__}"


def _not_plain_json(value: Any) -> str | None:
    """Why `value` is not plain JSON (finite numbers, string keys), or None."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        return str(exc)[:200]
    return _walk(value, 0)


def _walk(value: Any, depth: int) -> str | None:
    """What json.dumps lets through but a JSON channel would change: non-string keys."""
    if depth > 100:
        return "nested deeper than 100 levels"
    if isinstance(value, list | tuple):
        for item in value:
            problem = _walk(item, depth + 1)
            if problem:
                return problem
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"object key {key!r} is not a string"
            problem = _walk(item, depth + 1)
            if problem:
                return problem
    return None
