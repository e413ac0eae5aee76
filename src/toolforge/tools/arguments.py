"""Checking a tool call's arguments against the tool's schema, before the tool runs.

The schema is `ToolSpec.parameters_schema`, the same one agents see: JSON types, required
and unknown arguments, and the preconditions the tool states (`exclusiveMinimum`, `enum`,
`pattern`, `minItems`, ...). Every path that calls a tool checks here first, so a tool is
never called outside the domain it declared, and the caller learns why in one line per
problem instead of a stack trace from inside the tool.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from toolforge.errors import InvalidArgumentsError

if TYPE_CHECKING:
    from toolforge.tools.contract import ToolSpec

_MAX_PROBLEMS = 5


@lru_cache(maxsize=512)
def _validator(schema_json: str) -> Any:
    import jsonschema  # lazily: costs tens of milliseconds, off the CLI's hot path

    return jsonschema.Draft202012Validator(json.loads(schema_json))


def validator_for(schema: dict[str, Any]) -> Any:
    """A cached Draft 2020-12 validator (the dialect pydantic emits) for `schema`."""
    return _validator(json.dumps(schema, sort_keys=True))


def argument_problems(schema: dict[str, Any], args: Any) -> list[str]:
    """What is wrong with `args` for a tool with parameters `schema`, one line each."""
    if not isinstance(args, dict):
        return [f"arguments must be a JSON object of named arguments, not {_kind(args)}"]
    from jsonschema.exceptions import best_match

    problems = []
    # Missing arguments first, then unknown ones, then each argument's problem, by name.
    errors = sorted(validator_for(schema).iter_errors(args),
                    key=lambda e: (bool(e.absolute_path), e.validator != "required"))
    by_argument: dict[str, list[Any]] = {}
    for index, error in enumerate(errors):
        # One problem per argument (the best of an anyOf's); every whole-object problem.
        key = f"1{error.absolute_path[0]}" if error.absolute_path else f"0{index:04d}"
        by_argument.setdefault(key, []).append(error)
    for key in sorted(by_argument):
        error = best_match(by_argument[key])
        problems.append(_explain(error))
    return problems[:_MAX_PROBLEMS] + (
        [f"... and {len(problems) - _MAX_PROBLEMS} more"] if len(problems) > _MAX_PROBLEMS else []
    )


def check_arguments(spec: ToolSpec, args: Any, *, tool: str | None = None) -> None:
    """Raise InvalidArgumentsError when `args` break `spec`'s schema."""
    problems = argument_problems(spec.parameters_schema, args)
    if problems:
        raise InvalidArgumentsError(
            f"invalid arguments for {tool or spec.name}: " + "; ".join(problems),
            hint=f"the tool's signature: {spec.signature}",
        )


def _explain(error: Any) -> str:
    path = list(error.absolute_path)
    where = f"`{path[0]}`" + "".join(f"[{p!r}]" for p in path[1:]) if path else "arguments"
    value, bound, keyword = error.instance, error.validator_value, error.validator
    shown = _short(value)
    comparisons = {"exclusiveMinimum": ">", "minimum": ">=", "exclusiveMaximum": "<",
                   "maximum": "<="}
    if keyword in comparisons:
        return f"{where} = {shown} must be {comparisons[keyword]} {bound}"
    if keyword == "multipleOf":
        return f"{where} = {shown} must be a multiple of {bound}"
    if keyword == "pattern":
        return f"{where} = {shown} must match the pattern {bound!r}"
    if keyword == "enum":
        return f"{where} = {shown} must be one of " + ", ".join(_short(v) for v in bound)
    if keyword == "const":
        return f"{where} = {shown} must be {_short(bound)}"
    if keyword in ("minLength", "maxLength", "minItems", "maxItems", "minProperties",
                   "maxProperties"):
        unit = {"Length": "characters", "Items": "items", "Properties": "entries"}[
            keyword[3:] if keyword.startswith(("min", "max")) else ""]
        least = keyword.startswith("min")
        return (f"{where} has {len(value)} {unit}; it needs at "
                f"{'least' if least else 'most'} {bound}")
    if keyword == "type":
        wanted = " or ".join(bound) if isinstance(bound, list) else bound
        return f"{where} must be of type {wanted}, not {_kind(value)} ({shown})"
    if keyword == "required":
        missing = error.message.split("'")[1] if "'" in error.message else "?"
        return f"missing required argument `{missing}`"
    if keyword == "additionalProperties" and not path:
        extra = sorted(set(value) - set(error.schema.get("properties", {})))
        return "unknown argument" + ("s " if len(extra) > 1 else " ") + ", ".join(
            f"`{name}`" for name in extra)
    return f"{where}: {error.message}"


def _kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
            int: "an integer", float: "a number", type(None): "null"}.get(type(value),
                                                                         type(value).__name__)


def _short(value: Any, limit: int = 60) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


__all__ = ["argument_problems", "check_arguments", "validator_for"]
