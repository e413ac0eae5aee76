"""What computes a sub-goal: a library tool, a tool seen through another tool's parameter
names (a refused duplicate's sub-goal reusing the tool it duplicates), or a composition of
cell tools (a composite that was split and dropped). Active tools run through the ToolBox
(the runtime: sandboxed, their promoted code, recorded as hits); a candidate waiting for
review runs in a probe sandbox and is not a hit of anything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from toolforge.evolve.toolbox import CallRecord
from toolforge.tools.contract import ToolSpec
from toolforge.tools.export import openai_function
from toolforge.tte.behaviour import Outcome
from toolforge.tte.samples import fits
from toolforge.tte.split import Step, run_plan

Call = Callable[[str, dict[str, Any]], CallRecord]


class Target(Protocol):
    name: str

    @property
    def spec(self) -> ToolSpec: ...

    def tools(self) -> list[str]: ...

    def run(self, kwargs: dict[str, Any]) -> tuple[Outcome, list[CallRecord]]: ...


def schema(target: Target) -> dict[str, Any]:
    return openai_function(target.name, target.spec)


@dataclass
class ToolTarget:
    """Runs the tool `real` with `call`; presents `face`'s parameters when given (mapped
    onto the real tool's by position)."""

    real: str
    real_spec: ToolSpec
    call: Call
    face: ToolSpec | None = None
    name: str = ""

    def __post_init__(self) -> None:
        self.name = self.name or (self.face.name if self.face else self.real)

    @property
    def spec(self) -> ToolSpec:
        return self.face or self.real_spec

    def tools(self) -> list[str]:
        return [self.real]

    def arguments(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        if self.face is None:
            return kwargs
        return map_arguments(kwargs, self.face, self.real_spec)

    def run(self, kwargs: dict[str, Any]) -> tuple[Outcome, list[CallRecord]]:
        record = self.call(self.real, self.arguments(kwargs))
        return _outcome(record), [record]


@dataclass
class PlanTarget:
    """A composite recomputed from its cells: `cells` maps a cell name to what runs it."""

    composite: ToolSpec
    steps: list[Step]
    cells: dict[str, ToolTarget]
    name: str = ""

    def __post_init__(self) -> None:
        self.name = self.name or self.composite.name

    @property
    def spec(self) -> ToolSpec:
        return self.composite

    def tools(self) -> list[str]:
        return list(dict.fromkeys(t.real for t in self.cells.values()))

    def run(self, kwargs: dict[str, Any]) -> tuple[Outcome, list[CallRecord]]:
        records: list[CallRecord] = []

        def call(cell: str, args: dict[str, Any]) -> Outcome:
            outcome, recs = self.cells[cell].run(args)
            records.extend(recs)
            return outcome

        return run_plan(self.steps, kwargs, call), records


def map_arguments(kwargs: dict[str, Any], face: ToolSpec, real: ToolSpec) -> dict[str, Any]:
    """`face`'s keyword arguments as `real`'s: required parameters by position, optional
    ones by name when `real` has them."""
    face_required = [p.name for p in face.params if p.required]
    real_required = [p.name for p in real.params if p.required]
    real_names = {p.name for p in real.params}
    out: dict[str, Any] = {}
    for face_name, real_name in zip(face_required, real_required, strict=False):
        if face_name in kwargs:
            out[real_name] = kwargs[face_name]
    for key, value in kwargs.items():
        if key not in face_required and key in real_names and key not in out:
            out[key] = value
    return out


def direct_arguments(spec: ToolSpec, inputs: dict[str, Any]) -> dict[str, Any] | None:
    """The sub-goal's inputs as the tool's arguments when they fit without interpretation:
    the same names, or a single input for a single required parameter."""
    names = {p.name for p in spec.params}
    required = [p.name for p in spec.params if p.required]
    if inputs and set(inputs) <= names and set(required) <= set(inputs) and fits(spec, inputs):
        return dict(inputs)
    if len(inputs) == 1 and len(required) == 1:
        kwargs = {required[0]: next(iter(inputs.values()))}
        if fits(spec, kwargs):
            return kwargs
    return None


def _outcome(record: CallRecord) -> Outcome:
    if record.ok:
        return Outcome(True, record.result)
    return Outcome(False, None, record.error)
