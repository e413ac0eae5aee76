"""Decomposition: a problem -> ordered sub-goals (operation, inputs, kind of output).

Model output is untrusted. A reply that is not JSON, has no sub-goals, too many, empty or
over-long operations, inputs that are not an object, references to a sub-goal that is not
an earlier one, or the same sub-goal twice is refused with a reason. The loop asks once
more with that reason, then solves the problem without decomposition (one sub-goal: the
problem itself) and records that it did.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import BaseModel, Field

from toolforge.errors import ToolforgeError
from toolforge.evolve.synthesis import SynthesisError, _ask
from toolforge.llm.client import LLMClient
from toolforge.llm.parsing import ParseError, extract_json
from toolforge.names import is_valid_tool_name
from toolforge.tte.prompts import DECOMPOSE

MAX_OPERATION = 400
MAX_INPUTS = 16
_REF = re.compile(r"^\$(\d{1,3})$")


class DecompositionError(ToolforgeError):
    kind = "decomposition"


class SubGoal(BaseModel):
    index: int = Field(ge=1)
    operation: str
    inputs: dict[str, Any] = Field(default_factory=dict)
    output: str = ""
    tool_name: str | None = None  # the model's suggestion for a tool that computes it
    signature: str | None = None
    whole_problem: bool = False  # the no-decomposition fallback: never synthesized for

    def query(self) -> str:
        """What retrieval searches with: the operation and the kind of result."""
        return f"{self.operation}. {self.output}".strip(". ")


class Decomposition(BaseModel):
    subgoals: list[SubGoal]
    status: Literal["ok", "retried", "fallback"]
    errors: list[str] = Field(default_factory=list)


def decompose(llm: LLMClient, problem: str, *, max_subgoals: int) -> Decomposition:
    """Ask, check, ask again once with the reason, else fall back to the whole problem."""
    errors: list[str] = []
    for attempt in range(2):
        retry = ""
        if errors:
            retry = (f"\nYour previous reply could not be used: {errors[-1]}. "
                     "Follow the format exactly.\n")
        try:
            text = _ask(llm, "agent", DECOMPOSE.render(
                problem=problem[:4000], retry=retry, max_subgoals=str(max_subgoals)))
            subgoals = parse_subgoals(text, max_subgoals=max_subgoals)
        except (DecompositionError, SynthesisError) as exc:
            errors.append(exc.message)
            continue
        return Decomposition(subgoals=subgoals, status="ok" if attempt == 0 else "retried",
                             errors=errors)
    whole = SubGoal(index=1, operation=problem[:MAX_OPERATION], output="the answer",
                    whole_problem=True)
    return Decomposition(subgoals=[whole], status="fallback", errors=errors)


def parse_subgoals(text: str, *, max_subgoals: int) -> list[SubGoal]:
    try:
        data = extract_json(text)
    except ParseError as exc:
        raise DecompositionError(f"not JSON: {exc.message}")
    raw = data.get("subgoals") if isinstance(data, dict) else data
    if not isinstance(raw, list):
        raise DecompositionError('no "subgoals" list')
    if not raw:
        raise DecompositionError("no sub-goals")
    if len(raw) > max_subgoals:
        raise DecompositionError(f"{len(raw)} sub-goals, more than the {max_subgoals} allowed")
    subgoals: list[SubGoal] = []
    seen: set[str] = set()
    for i, item in enumerate(raw, start=1):
        subgoal = _subgoal(item, i)
        key = json.dumps([subgoal.operation.lower(), subgoal.inputs], sort_keys=True,
                         default=str)
        if key in seen:
            raise DecompositionError(f"sub-goal {i} repeats an earlier one")
        seen.add(key)
        subgoals.append(subgoal)
    return subgoals


def _subgoal(item: Any, index: int) -> SubGoal:
    where = f"sub-goal {index}"
    if not isinstance(item, dict):
        raise DecompositionError(f"{where} is not an object")
    operation = item.get("operation")
    if not isinstance(operation, str) or not operation.strip():
        raise DecompositionError(f'{where} has no "operation"')
    operation = " ".join(operation.split())
    if len(operation) > MAX_OPERATION:
        raise DecompositionError(f"{where}: the operation is over {MAX_OPERATION} characters")
    inputs = item.get("inputs", {})
    if inputs is None:
        inputs = {}
    if not isinstance(inputs, dict):
        raise DecompositionError(f'{where}: "inputs" is not an object')
    if len(inputs) > MAX_INPUTS:
        raise DecompositionError(f"{where}: more than {MAX_INPUTS} inputs")
    for key, value in inputs.items():
        if not key.isidentifier():
            raise DecompositionError(f"{where}: input name {key[:40]!r} is not an identifier")
        _check_refs(value, index, where)
    output = item.get("output", "")
    output = output if isinstance(output, str) else json.dumps(output)[:200]
    hint = item.get("tool")
    tool: dict[str, Any] = hint if isinstance(hint, dict) else {}
    name = tool.get("name")
    signature = tool.get("signature")
    return SubGoal(
        index=index, operation=operation, inputs=inputs, output=output[:200],
        tool_name=name if is_valid_tool_name(name) else None,  # a bad hint is dropped
        signature=signature[:300] if isinstance(signature, str) and signature.strip() else None,
    )


def _check_refs(value: Any, index: int, where: str, depth: int = 0) -> None:
    if depth > 20:
        raise DecompositionError(f"{where}: inputs nested too deeply")
    if isinstance(value, str):
        match = _REF.match(value.strip())
        if match and not 1 <= int(match.group(1)) < index:
            raise DecompositionError(
                f"{where} uses {value.strip()}, which is not an earlier sub-goal")
    elif isinstance(value, list):
        for v in value:
            _check_refs(v, index, where, depth + 1)
    elif isinstance(value, dict):
        for v in value.values():
            _check_refs(v, index, where, depth + 1)


def resolve_inputs(inputs: dict[str, Any], results: list[Any]) -> dict[str, Any]:
    """Replace "$N" with the result of sub-goal N."""

    def resolve(value: Any) -> Any:
        if isinstance(value, str):
            match = _REF.match(value.strip())
            if match and 1 <= int(match.group(1)) <= len(results):
                return results[int(match.group(1)) - 1]
            return value
        if isinstance(value, list):
            return [resolve(v) for v in value]
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        return value

    return {k: resolve(v) for k, v in inputs.items()}
