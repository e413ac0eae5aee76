"""Atomic split: a verified composite tool -> cell tools plus the composition that rebuilds it.

The model proposes the cells (complete tool files) and the composition. Everything in the
reply is checked before anything runs: JSON shape, cell names (valid, distinct, not the
composite's), each cell's code against the tool contract with the function named as
declared, and a composition whose steps call known cells with their own parameter names
and reference only the composite's parameters (`$input.<param>`) or earlier steps (`$N`).
A reply that fails any check is refused with the reason: the composite is kept as it is.

Whether the cells can express the composite is measured, not asked: the loop runs the
composite and the composition over the same sample inputs in the sandbox, and drops the
composite only when they agree on all of them.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field

from toolforge import pyast
from toolforge.errors import ToolforgeError
from toolforge.llm.parsing import ParseError, extract_code, extract_json
from toolforge.names import is_valid_tool_name
from toolforge.tools.contract import ToolSpec, load_tool_source
from toolforge.tte.behaviour import Outcome

MAX_CELLS = 4
_INPUT_REF = re.compile(r"^\$input\.([A-Za-z_][A-Za-z0-9_]*)$")
_STEP_REF = re.compile(r"^\$(\d{1,2})$")


class SplitError(ToolforgeError):
    kind = "split"


class Cell(BaseModel):
    name: str
    description: str = ""
    signature: str = ""
    code: str
    spec: ToolSpec = Field(exclude=True)


class Step(BaseModel):
    cell: str
    args: dict[str, Any] = Field(default_factory=dict)


class SplitProposal(BaseModel):
    atomic: bool
    cells: list[Cell] = Field(default_factory=list)
    composition: list[Step] = Field(default_factory=list)


def parse_split(text: str, composite: ToolSpec, *, max_cells: int = MAX_CELLS
                ) -> SplitProposal:
    try:
        data = extract_json(text)
    except ParseError as exc:
        raise SplitError(f"not JSON: {exc.message}")
    if not isinstance(data, dict):
        raise SplitError("not a JSON object")
    if data.get("atomic") is True or (not data.get("cells") and "atomic" in data):
        return SplitProposal(atomic=True)
    raw_cells = data.get("cells")
    if not isinstance(raw_cells, list):
        raise SplitError('no "cells" list')
    if len(raw_cells) < 2:
        return SplitProposal(atomic=True)  # one cell is the composite itself
    if len(raw_cells) > max_cells:
        raise SplitError(f"{len(raw_cells)} cells, more than {max_cells}")
    cells: dict[str, Cell] = {}
    for i, item in enumerate(raw_cells, start=1):
        cell = _cell(item, i, composite.name)
        if cell.name in cells:
            raise SplitError(f"two cells are named {cell.name}")
        cells[cell.name] = cell
    steps = _composition(data.get("composition"), cells, composite)
    return SplitProposal(atomic=False, cells=list(cells.values()), composition=steps)


def _cell(item: Any, index: int, composite_name: str) -> Cell:
    where = f"cell {index}"
    if not isinstance(item, dict):
        raise SplitError(f"{where} is not an object")
    name = item.get("name")
    if not is_valid_tool_name(name):
        raise SplitError(f"{where} has an invalid name {str(name)[:60]!r}")
    if name == composite_name:
        raise SplitError(f"{where} has the composite's own name")
    raw_code = item.get("code")
    if not isinstance(raw_code, str) or not raw_code.strip():
        raise SplitError(f"{where} ({name}) has no code")
    try:
        code = extract_code(raw_code) if "```" in raw_code else raw_code
        spec = load_tool_source(code.strip() + "\n")
    except (ParseError, ToolforgeError) as exc:
        raise SplitError(f"{where} ({name}): {getattr(exc, 'message', str(exc))}")
    if spec.name != name:
        raise SplitError(f"{where}: its code defines {spec.name}, not {name}")
    description = item.get("description") if isinstance(item.get("description"), str) else ""
    signature = item.get("signature") if isinstance(item.get("signature"), str) else ""
    return Cell(name=name, description=(description or spec.summary)[:500],
                signature=(signature or spec.signature)[:300], code=code.strip() + "\n",
                spec=spec)


def _composition(raw: Any, cells: dict[str, Cell], composite: ToolSpec) -> list[Step]:
    if not isinstance(raw, list) or not raw:
        raise SplitError('no "composition" steps')
    if len(raw) > 2 * MAX_CELLS:
        raise SplitError("the composition has too many steps")
    params = {p.name for p in composite.params}
    steps: list[Step] = []
    for n, item in enumerate(raw, start=1):
        if not isinstance(item, dict) or item.get("cell") not in cells:
            raise SplitError(f"composition step {n} does not call a proposed cell")
        args = item.get("args", {})
        if not isinstance(args, dict):
            raise SplitError(f"composition step {n}: args is not an object")
        cell = cells[item["cell"]]
        names = {p.name for p in cell.spec.params}
        required = {p.name for p in cell.spec.params if p.required}
        if not set(args) <= names or not required <= set(args):
            raise SplitError(f"composition step {n}: arguments {sorted(args)} do not match "
                             f"{cell.spec.signature}")
        for value in args.values():
            _check_ref(value, n, params)
        steps.append(Step(cell=cell.name, args=args))
    return steps


def _check_ref(value: Any, step: int, params: set[str]) -> None:
    if not isinstance(value, str):
        return
    text = value.strip()
    match = _INPUT_REF.match(text)
    if match and match.group(1) not in params:
        raise SplitError(f"composition step {step} uses {text}, not a parameter of the tool")
    match = _STEP_REF.match(text)
    if match and not 1 <= int(match.group(1)) < step:
        raise SplitError(f"composition step {step} uses {text}, not an earlier step")


def run_plan(steps: list[Step], inputs: dict[str, Any],
             call: Callable[[str, dict[str, Any]], Outcome]) -> Outcome:
    """Run a composition: `inputs` are the composite's arguments by name."""
    results: list[Any] = []

    def resolve(value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            match = _INPUT_REF.match(text)
            if match:
                return inputs.get(match.group(1))
            match = _STEP_REF.match(text)
            if match:
                return results[int(match.group(1)) - 1]
        return value

    last = Outcome(False, None, "empty composition")
    for step in steps:
        last = call(step.cell, {k: resolve(v) for k, v in step.args.items()})
        if not last.ok:
            return last
        results.append(last.value)
    return last


def rename_function(code: str, old: str, new: str) -> str:
    """The tool file with its public function (and calls of it) renamed: a proposed cell
    whose name is taken in the library gets a free one."""
    tree = pyast.parse(code)
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == old:
            node.name = new
        elif isinstance(node, ast.Name) and node.id == old:
            node.id = new
    return ast.unparse(tree) + "\n"
