"""The property attack (DESIGN.md §5, layer 4; no LLM): fair inputs, hard budgets, findings.

Inputs come from `toolforge.safety.generate` (inside the declared constraints, sizes and
magnitudes that find bugs, the tests' own calls and edits of them). A finding names the input
and is either **blocking** (the tool is not promoted) or a **warning** (reported, shown to
the model that refines the tool, but not a reason to refuse it).

Blocking:
- `crash`: an exception that is neither documented under `Raises:` (a subclass of a
  documented class counts; `Exception`/`BaseException` cover only themselves) nor a
  ValueError carrying a message (the right way to refuse input outside the domain);
- `domain_error` / `non_finite_result` inside a declared domain: ZeroDivisionError,
  OverflowError or an inf/nan result when every parameter has declared constraints;
- `slow_input` (the per-input time cap) and `limit_exceeded` (memory, output, crash of the
  process) on inputs of the first two sizes;
- `non_json_result`, `invalid_return` (not valid against the return type and its
  constraints);
- `nondeterministic`: the same input gave another answer later in the same process;
- `hash_order`: another answer in a second sandboxed process, which hashes strings with
  another key (output that depends on set or dict order of hashed strings);
- `ignored_parameter`: inputs that differed only in one parameter never changed the result;
- `rounded_result`: a float result that takes many values is rounded or truncated, and the
  docstring says nothing of rounding: on inputs with full-precision floats it always sits on
  a decimal grid, or it does not move when a float argument moves by a tiny fraction (a
  trillionth, growing to a hundred-millionth when an offset absorbs it); or the docstring
  states a step ("rounded to 0.01") and the results are off it, or all on a coarser one;
- what the docstring states, read by `toolforge.safety.claims`: `missing_raise` (no
  documented exception where `Raises:` says there is one), `refused_in_domain` (a
  documented refusal where none of its fully read conditions holds), `out_of_range` (outside
  the range `Returns:` states), `stated_band` (another label than the docstring gives a band
  of the tool's one number), `case_sensitive` (a text said to be read in any case was not),
  `docstring_example` (another answer than a call the docstring shows), `not_periodic` (a
  number said to be taken modulo N answered differently at x + N).

Warnings: `domain_error`/`non_finite_result` when some parameter's domain is undeclared (a
zero mass raising ZeroDivisionError: declare `gt=0`), `slow_input`/`limit_exceeded` on larger
inputs, and anything at the edge of the float range (`range_edge`, 1e300 and friends).

Budgets are bounds: each input gets at most `per_input_s` (then the sandbox is killed and
the input is a finding), the whole attack at most `deadline_s` (then it stops and says so).
Fewer than `min_examples` inputs before the deadline, or no time left to compare with a
second process, make the verdict "inconclusive", which is not "passed".
"""

from __future__ import annotations

import builtins
import copy
import json
import math
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

from toolforge.safety.claims import (
    case_insensitive,
    docstring_examples,
    integer_valued,
    periodic,
    raise_conditions,
    return_range,
    stated_bands,
)
from toolforge.safety.generate import (
    EDGE_MAGNITUDES,
    LEVELS,
    FairInputs,
    Level,
    apply,
    canonical,
)
from toolforge.safety.shrink import shrink, size
from toolforge.tools.contract import ToolSpec

# How an adapter reports a return value that cannot be encoded as JSON: as this error_type,
# or (the sandbox's way) as this limit_hit.
NON_JSON_RESULT = "NonJSONResult"
NON_JSON_LIMIT = "non_json_result"

Severity = Literal["blocking", "warning"]
FindingKind = Literal[
    "crash", "domain_error", "slow_input", "limit_exceeded", "non_json_result",
    "non_finite_result", "invalid_return", "nondeterministic", "hash_order",
    "ignored_parameter", "rounded_result", "range_edge", "missing_raise", "refused_in_domain",
    "out_of_range", "case_sensitive", "stated_band", "docstring_example", "not_periodic",
]  # fmt: skip
Verdict = Literal["passed", "failed", "inconclusive"]


@dataclass
class CallOutcome:
    """One call of the tool as the target saw it (never raised: failures are data)."""

    ok: bool
    value: Any = None
    error_type: str | None = None
    error_message: str | None = None
    error_builtin: str | None = None  # first builtin exception class in its MRO
    error_bases: list[str] = field(default_factory=list)  # class names along its MRO
    # "wall_time", "cpu_time", "memory", "output", "file_size", "crash", "non_json_result"
    limit_hit: str | None = None
    duration_ms: float = 0.0


class AttackTarget(Protocol):
    """Where the tool runs: one process, calls one at a time."""

    @property
    def hash_seed(self) -> int | None:
        """Its PYTHONHASHSEED when set (None: a random per-process key)."""
        ...

    def load(self, timeout_s: float) -> CallOutcome | None:
        """Start and import the tool; the failure, or None."""
        ...

    def call(self, args: dict[str, Any], timeout_s: float) -> CallOutcome: ...

    def twin(self) -> AttackTarget | None:
        """A fresh process of the same tool that hashes strings differently (None: none)."""
        ...

    def close(self) -> None: ...


class AttackBudget(BaseModel):
    """How hard to attack; bounds, not hints."""

    examples: int = Field(default=60, ge=1, le=100_000,
                          description="inputs at the first two sizes")
    min_examples: int = Field(default=30, ge=1, le=100_000,
                              description="fewer before the deadline: inconclusive")
    deadline_s: float = Field(default=20.0, gt=0, le=3600,
                              description="the whole attack, shrinking included")
    per_input_s: float = Field(default=1.0, gt=0, le=600,
                               description="one input slower than this is a finding")
    seed: int = 0
    levels: int = Field(default=len(LEVELS), ge=2, le=len(LEVELS),
                        description="size levels the attack may grow to while time allows")
    growth_examples: int = Field(default=10, ge=0, description="inputs per larger level")
    growth_s: float = Field(default=0.1, ge=0, description="time larger inputs may take, in "
                            "all; a level that would not fit is skipped (and noted)")
    range_edge: bool = Field(default=True, description="try 1e300-scale numbers (warnings)")
    repeats: int = Field(default=5, ge=0, description="inputs called twice in one process")
    replays: int = Field(default=40, ge=0, description="inputs compared in a second process")
    shrink_calls: int = Field(default=80, ge=0, description="calls per finding to shrink it")


class Finding(BaseModel):
    kind: FindingKind
    severity: Severity
    args: dict[str, Any] = Field(description="the input (shrunk when possible)")
    detail: str
    stage: str = Field(description="where it was found: tests, boundary, random, level N, "
                       "range edge, repeat, second process, variants")
    other_args: dict[str, Any] | None = Field(
        default=None, description="the input it is compared with (ignored_parameter)")


class AttackReport(BaseModel):
    verdict: Verdict
    findings: list[Finding] = Field(default_factory=list)
    examples_run: int = Field(description="distinct inputs at the first two sizes")
    min_examples: int
    calls: int = Field(description="every call, with growth, repeats, replays and shrinking")
    levels_run: int = Field(description="input sizes reached (1 = the smallest)")
    replayed: int = Field(default=0, description="inputs compared in the second process")
    hash_seeds: list[int] = Field(default_factory=list)
    duration_ms: int = 0
    cut_short: str | None = Field(default=None, description="why it stopped before the end")
    notes: list[str] = Field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.verdict == "passed"

    @property
    def blocking(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "blocking"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    def summary(self) -> str:
        head = (f"{self.examples_run} inputs (minimum {self.min_examples}), {self.calls} "
                f"calls, sizes up to level {self.levels_run}, {self.replayed} compared across "
                f"hash seeds")
        if self.cut_short:
            head += f"; cut short: {self.cut_short}"
        return head


# --- judging one outcome ----------------------------------------------------------------------

_BROAD = frozenset({"Exception", "BaseException", "object"})
_ARITHMETIC = frozenset({"ArithmeticError", "ZeroDivisionError", "OverflowError",
                         "FloatingPointError"})
_SMALL_LEVELS = 2  # limit hits and slow inputs on levels below this block
# How the sandbox's worker (and InProcessTarget) describe a non-finite float in a result.
_NON_FINITE = re.compile(r"-?\b(?:nan|inf)\b is not valid JSON")


def _mro(outcome: CallOutcome) -> list[str]:
    names = [(outcome.error_type or "").rsplit(".", 1)[-1]]
    names += [b.rsplit(".", 1)[-1] for b in outcome.error_bases]
    for name in (names[0], outcome.error_builtin or ""):  # builtins know their own MRO
        builtin = getattr(builtins, name, None)
        if isinstance(builtin, type) and issubclass(builtin, BaseException):
            names += [cls.__name__ for cls in builtin.__mro__]
    return names


def _documented(outcome: CallOutcome, raises: dict[str, str]) -> bool:
    documented = {name.rsplit(".", 1)[-1] for name in raises}
    names = _mro(outcome)
    if names[0] in documented:
        return True
    return any(base in documented for base in names[1:] if base not in _BROAD)


_CONSTRAINTS = frozenset({
    "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minLength",
    "maxLength", "pattern", "minItems", "maxItems", "minProperties", "maxProperties", "enum",
    "const",
})


def _declared(schema: Any, defs: dict[str, Any], depth: int = 0) -> bool:
    """Whether a parameter's schema states its domain: a constraint, an enum, or a type
    with nothing to state (bool, null)."""
    if not isinstance(schema, dict) or depth > 20:
        return False
    if "$ref" in schema:
        return _declared(defs.get(schema["$ref"].rsplit("/", 1)[-1], {}), defs, depth + 1)
    if _CONSTRAINTS & set(schema):
        return True
    options = [o for o in schema.get("anyOf", []) if o.get("type") != "null"]
    if options:
        return all(_declared(o, defs, depth + 1) for o in options)
    return schema.get("type") in ("boolean", "null")


def _short(value: Any, limit: int = 200) -> str:
    if isinstance(value, str):
        text = value
    else:
        try:
            text = json.dumps(value, ensure_ascii=False, sort_keys=True)
        except (TypeError, ValueError):
            text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


@dataclass
class _Judged:
    key: str  # what kind of failure, for deduplication: kind plus exception type or limit
    kind: FindingKind
    severity: Severity
    detail: str


class _Judge:
    def __init__(self, spec: ToolSpec) -> None:
        self.spec = spec
        from jsonschema import Draft202012Validator  # the dialect pydantic emits

        self.returns = Draft202012Validator(spec.returns_schema)
        # The common schemas checked in plain Python; jsonschema explains a failure.
        self.return_shape = FairInputs(spec.returns_schema)
        schema = spec.parameters_schema
        defs = dict(schema.get("$defs", {}))
        self.undeclared = [name for name, sub in schema.get("properties", {}).items()
                           if not _declared(sub, defs)]

    def domain_severity(self) -> tuple[Severity, str]:
        if self.undeclared:
            names = ", ".join(f"`{n}`" for n in self.undeclared)
            return "warning", (f"; the domain of {names} is not declared: state it "
                               "(e.g. Annotated[float, Field(gt=0)]) or raise ValueError")
        return "blocking", " inside the constraints the tool declares"

    def __call__(self, args: dict[str, Any], out: CallOutcome, level: int,
                 per_input_s: float) -> _Judged | None:
        small = level < _SMALL_LEVELS
        message = _short(out.error_message or "")
        if out.limit_hit == NON_JSON_LIMIT or (not out.ok and out.error_type == NON_JSON_RESULT):
            if _NON_FINITE.search(out.error_message or ""):
                severity, why = self.domain_severity()
                return _Judged("non_finite", "non_finite_result", severity,
                               f"returned a non-finite number (not JSON){why}: {message}")
            return _Judged("non_json", "non_json_result", "blocking",
                           f"returned a value that is not JSON: {message}")
        if out.limit_hit in ("wall_time", "cpu_time"):
            return _Judged(f"slow:{level >= _SMALL_LEVELS}", "slow_input",
                           "blocking" if small else "warning",
                           f"took longer than the per-input cap of {per_input_s:g} s"
                           + ("" if small else " (on a large input: declare a size bound, "
                              "e.g. max_length)"))
        if out.limit_hit:
            return _Judged(f"limit:{out.limit_hit}:{level >= _SMALL_LEVELS}", "limit_exceeded",
                           "blocking" if small or out.limit_hit == "crash" else "warning",
                           f"hit the sandbox's {out.limit_hit} limit: {message}")
        if not out.ok:
            names = _mro(out)
            if _documented(out, self.spec.raises):
                return None
            if "ValueError" in names:
                if (out.error_message or "").strip():
                    return None  # refusing input outside the domain, with a reason
                return _Judged(f"raise:{out.error_type}", "crash", "blocking",
                               f"raised {out.error_type} without a message (say what is "
                               "wrong with the input)")
            if _ARITHMETIC & set(names):
                severity, why = self.domain_severity()
                return _Judged(f"domain:{out.error_type}", "domain_error", severity,
                               f"raised {out.error_type}: {message}{why}")
            documented = ", ".join(sorted(self.spec.raises)) or "nothing"
            return _Judged(f"raise:{out.error_type}", "crash", "blocking",
                           f"raised {out.error_type}: {message} (its Raises: section documents "
                           f"{documented}; refuse bad input with ValueError and a message)")
        if self.return_shape.fits(self.spec.returns_schema, out.value):
            return None
        errors = sorted(self.returns.iter_errors(out.value), key=lambda e: list(e.path))
        if errors:
            where = "/".join(str(p) for p in errors[0].absolute_path) or "the value"
            return _Judged("invalid_return", "invalid_return", "blocking",
                           f"returned {_short(out.value)}, which does not match "
                           f"`{self.spec.returns_annotation}` at {where}: "
                           f"{_short(errors[0].message)}")
        return None


def _shown(out: CallOutcome) -> str:
    """An outcome as a person reads it: the value, or the exception."""
    if out.ok:
        return _short(out.value, 120)
    return f"{out.error_type}: {_short(out.error_message or '', 80)}"


def _signature(out: CallOutcome) -> str | None:
    """What must be the same every time: the value, or the exception's type."""
    if out.limit_hit:
        return None
    return "=" + canonical(out.value) if out.ok else "!" + str(out.error_type)


# --- the attack ---------------------------------------------------------------------------------


@dataclass
class _Run:
    args: dict[str, Any]
    outcome: CallOutcome
    signature: str | None
    judged: _Judged | None
    level: int
    stage: str


class _OutOfTime(Exception):
    pass


class _StopExploring(Exception):
    pass


_COSTLY_STOP = 3  # blocking limit hits before exploration stops
_COSTLY_SHRINK_CALLS = 6  # shrinking tries for a limit hit (each may cost the time cap)


class _Attack:
    def __init__(self, spec: ToolSpec, target: AttackTarget, budget: AttackBudget,
                 examples: list[dict[str, Any]], log: Callable[[str], None]) -> None:
        self.spec = spec
        self.target = target
        self.budget = budget
        self.log = log
        self.started = time.monotonic()
        self.deadline = self.started + budget.deadline_s
        # Exploration leaves room for the second process and shrinking.
        self.explore_until = self.deadline - min(3.0, budget.deadline_s * 0.25)
        self.gen = FairInputs(spec.parameters_schema, seed=budget.seed, examples=examples)
        self.judge = _Judge(spec)
        self.conditions, self.complete = raise_conditions(spec)
        # (the tests' input, it with a parameter just inside a Raises: condition's boundary)
        self.boundary_pairs: dict[str, list[tuple[str, str]]] = {n: [] for n in self.gen.names}
        self.runs: dict[str, _Run] = {}
        self.order: list[str] = []
        self.pairs: dict[str, list[tuple[str, str]]] = {n: [] for n in self.gen.names}
        self.first: dict[str, tuple[_Run, _Judged]] = {}
        self.findings: list[Finding] = []
        self.base_count = 0
        self.calls = 0
        self.level_reached = 0
        self.cut_short: str | None = None
        self.notes: list[str] = []
        self.replayed = 0
        self.costly = 0
        self.seeds: list[int] = []

    # --- calling ---------------------------------------------------------------------

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def call(self, target: AttackTarget, args: dict[str, Any], until: float) -> CallOutcome:
        left = until - time.monotonic()
        if left <= 0:
            raise _OutOfTime
        cap = self.budget.per_input_s
        timeout = min(cap, left)
        self.calls += 1
        out = target.call(args, timeout)  # targets must not keep or change `args`
        if out.limit_hit == "wall_time" and timeout < cap:
            raise _OutOfTime  # the total deadline cut it, not the per-input cap
        return out

    def execute(self, args: dict[str, Any], stage: str, level: int, *, base: bool,
                until: float | None = None, track: bool = True) -> _Run:
        key = canonical(args)
        known = self.runs.get(key)
        if known is not None:
            return known
        out = self.call(self.target, args, self.explore_until if until is None else until)
        judged = self.judge(args, out, level, self.budget.per_input_s)
        run = _Run(args, out, _signature(out), judged, level, stage)
        self.runs[key] = run
        self.order.append(key)
        if base:
            self.base_count += 1
        if track and judged is not None and judged.key not in self.first:
            self.first[judged.key] = (run, judged)
        if out.limit_hit and judged is not None and judged.severity == "blocking":
            self.costly += 1
            if self.costly >= _COSTLY_STOP and until is None:
                # Each such input costs a sandbox restart and up to the cap: the verdict is
                # already "failed", more of them would only spend the budget.
                self.notes.append(f"exploration stopped after {self.costly} inputs hit "
                                  "limits")
                raise _StopExploring
        return run

    # --- stages ----------------------------------------------------------------------

    def run(self) -> AttackReport:
        try:
            self.load()
            self.base()
            self.promised_refusals()
            self.stated_case()
            self.stated_labels()
            self.stated_examples()
            self.stated_period()
            self.rounding()
            self.grow()
            self.range_edge()
            self.repeat()
        except _StopExploring:
            pass
        except _OutOfTime:
            self.cut_short = (f"the {self.budget.deadline_s:g} s deadline came after "
                              f"{self.base_count} inputs")
        self.ignored_parameters()
        self.refusals_inside_the_domain()
        self.stated_range()
        self.compare_with_second_process()
        self.report_first_findings()
        return self.report()

    def load(self) -> None:
        failed = self.target.load(max(0.001, self.remaining()))
        if self.target.hash_seed is not None:
            self.seeds.append(self.target.hash_seed)
        if failed is not None:
            judged = self.judge({}, failed, 0, self.budget.per_input_s) or _Judged(
                "load", "crash", "blocking", "the tool failed to load")
            self.findings.append(Finding(kind=judged.kind, severity="blocking", args={},
                                         detail="loading the tool: " + judged.detail,
                                         stage="load"))
            raise _OutOfTime

    def base(self) -> None:
        gen, budget = self.gen, self.budget
        names = gen.names

        def enough() -> bool:
            return self.base_count >= budget.examples

        for example in gen.examples[:10]:
            self.execute(example, "tests", 0, base=True)
        bases = gen.examples[:3] or [gen.typical()]
        for name, value in gen.edge_args(bases[0])[:40]:
            if enough():
                return
            self.execute(apply(bases[0], name, value), "boundary", 0, base=True)
        for b in bases:
            self.execute(b, "tests" if b in gen.examples else "typical", 0, base=True)
            for name in names:
                for _ in range(2):
                    if enough():
                        return
                    self.variant_pair(b, name, LEVELS[0], "variants")
        index = 0
        while not enough() and names is not None:
            level = LEVELS[index % 2]
            args = gen.random_args(level)
            self.execute(args, "random", level.index, base=True)
            if names and not enough():
                self.variant_pair(args, names[index % len(names)], level, "random")
            index += 1
            if index > budget.examples * 4:  # a tiny domain: every input is already known
                break
        self.level_reached = 1

    def variant_pair(self, args: dict[str, Any], name: str, level: Level, stage: str) -> None:
        value = self.gen.variant(args, name, level)
        other = apply(args, name, value)
        if canonical(other) == canonical(args):
            return
        self.execute(args, stage, level.index, base=True)
        self.execute(other, stage, level.index, base=True)
        self.pairs[name].append((canonical(args), canonical(other)))

    def grow(self) -> None:
        if self.blocking_found():
            return
        names = self.gen.names
        count = self.budget.growth_examples
        grow_until = min(self.explore_until, time.monotonic() + self.budget.growth_s)
        for level in LEVELS[2:self.budget.levels]:
            if count <= 0:
                return
            durations = [r.outcome.duration_ms for r in self.runs.values()
                         if not r.outcome.limit_hit]
            mean_s = (sum(durations) / len(durations) / 1000) if durations else 0.01
            # Bigger inputs cost more: assume up to 4x per level, plus generation.
            projected = count * 1.5 * (mean_s * 4 + 0.0003)
            if time.monotonic() + projected > grow_until:
                self.notes.append(f"input sizes stopped at level {self.level_reached + 1} of "
                                  f"{len(LEVELS)}: the next would not fit the time budget")
                return
            for i in range(count):
                args = self.gen.random_args(level)
                self.execute(args, f"level {level.index}", level.index, base=False)
                if names and i % 2:
                    self.variant_pair(args, names[i % len(names)], level, f"level {level.index}")
            self.level_reached = level.index

    def range_edge(self) -> None:
        if not self.budget.range_edge:
            return
        schema = self.gen.properties
        numeric = [n for n in self.gen.names if n in self.judge.undeclared
                   and _plain_number(self.gen._resolve(schema[n]))]
        base = self.gen.examples[0] if self.gen.examples else self.gen.typical()
        for name in numeric[:4]:
            for magnitude in EDGE_MAGNITUDES:
                args = apply(base, name, magnitude)
                if not self.gen.fits_args(args):
                    continue
                run = self.execute(args, "range edge", 0, base=False, track=False)
                if run.judged is not None:
                    self.add_once(Finding(
                        kind="range_edge", severity="warning", args=args,
                        detail=f"at the edge of the float range: {run.judged.detail}",
                        stage="range edge"))

    def repeat(self) -> None:
        done = 0
        for key in list(self.order):
            if done >= self.budget.repeats:
                return
            run = self.runs[key]
            if run.signature is None or run.stage == "range edge":
                continue
            again = self.call(self.target, run.args, self.explore_until)
            done += 1
            second = _signature(again)
            if second is not None and second != run.signature:
                self.findings.append(Finding(
                    kind="nondeterministic", severity="blocking", args=run.args,
                    detail=f"the same input gave {_shown(run.outcome)}, then "
                    f"{_shown(again)} in the same process (hidden state, randomness "
                    "or the clock)", stage="repeat"))
                return

    def promised_refusals(self) -> None:
        """Inputs on which the docstring's `Raises:` says the tool raises: it must
        (claims.py reads the conditions; inputs outside declared constraints are skipped,
        the runtime refuses those before the tool sees them)."""
        base = self.gen.examples[0] if self.gen.examples else self.gen.typical()
        for condition in self.conditions:
            integer = integer_valued(self.spec, condition.param, condition.each)
            for args in condition.counter_witnesses(base, integer):
                if self.gen.fits_args(args):  # judged with the attack's pairs, below
                    self.execute(args, "raises", 0, base=False, track=False)
                    self.boundary_pairs[condition.param].append((canonical(base),
                                                                 canonical(args)))
            for args in condition.witnesses(base, integer):
                if not self.gen.fits_args(args):
                    continue
                out = self.execute(args, "raises", 0, base=False, track=False).outcome
                if out.limit_hit or (not out.ok and _documented(out, {
                        condition.exception: ""})):
                    continue
                self.findings.append(Finding(
                    kind="missing_raise", severity="blocking", args=args,
                    detail=f"the docstring says it raises {condition.exception} when "
                    f"{condition.text}, but this input (where that holds) "
                    + (f"returned {_short(out.value, 120)}" if out.ok else
                       f"raised {_shown(out)}"), stage="raises"))
                break

    def stated_examples(self) -> None:
        """The docstring's own examples (`>>> f(2)` / `f(2) = 4` / `"Ada Lovelace" ->
        "AL"`): an answer that differs from the one written (within its last digit) breaks
        them. A refusal is not judged: the "example" may be a template ("MM/DD/YYYY")."""
        for example in docstring_examples(self.spec):
            if not self.gen.fits_args(example.args):
                continue
            out = self.execute(example.args, "docstring", 0, base=False, track=False).outcome
            if not out.ok or example.matches(out.value):
                continue
            self.findings.append(Finding(
                kind="docstring_example", severity="blocking", args=example.args,
                detail=f"the docstring says {_short(example.text, 120)!r}, but the tool "
                f"answered {_short(out.value, 120)}", stage="docstring"))
            return

    def stated_period(self) -> None:
        """A number the docstring says is taken modulo N: x + N and x - N answer as x."""
        answered = [self.runs[k] for k in self.order if self.runs[k].outcome.ok][:6]
        for name, period in periodic(self.spec).items():
            for run in answered:
                x = run.args.get(name)
                if not isinstance(x, int | float) or isinstance(x, bool) or abs(x) > 1e6:
                    continue
                for shifted in (x + period, x - period):
                    value = int(shifted) if isinstance(x, int) and shifted == int(
                        shifted) else shifted
                    args = apply(run.args, name, value)
                    if not self.gen.fits_args(args):
                        continue
                    out = self.execute(args, "period", 0, base=False, track=False).outcome
                    if out.limit_hit or (out.ok and _same_answer(out.value,
                                                                 run.outcome.value)):
                        continue
                    self.findings.append(Finding(
                        kind="not_periodic", severity="blocking", args=args,
                        other_args=run.args,
                        detail=f"the docstring says `{name}` is taken modulo {period:g}, but "
                        f"{name} = {value!r} gave {_shown(out)} where {x!r} gave "
                        f"{_shown(run.outcome)}", stage="period"))
                    return

    def stated_labels(self) -> None:
        """The label the docstring gives each band of a number ("acidic" (below 7)), at
        the bands' edges. Trusted only if it agrees with the tool on the tests' inputs
        (which the tests passed): a misread docstring then costs nothing."""
        bands = stated_bands(self.spec)
        if bands is None:
            return
        name = bands.param
        for example in self.gen.examples:
            run = self.runs.get(canonical(example))
            x = example.get(name)
            if run is None or not run.outcome.ok or not isinstance(x, int | float):
                continue
            said = bands.expected(x)
            if said is not None and str(run.outcome.value).casefold() != said.casefold():
                return
        base = self.gen.examples[0] if self.gen.examples else self.gen.typical()
        integer = integer_valued(self.spec, name, False)
        for x in bands.probes(integer):
            args = apply(base, name, int(x) if integer and x == int(x) else x)
            if not self.gen.fits_args(args):
                continue
            out = self.execute(args, "bands", 0, base=False, track=False).outcome
            said = bands.expected(x)
            if out.limit_hit or said is None or (
                    out.ok and str(out.value).casefold() == said.casefold()):
                continue
            self.findings.append(Finding(
                kind="stated_band", severity="blocking", args=args,
                detail=f"the docstring gives {name} = {x:g} the label {said!r} "
                f"({_short(bands.text, 120)}), but the tool gave {_shown(out)}",
                stage="bands"))
            return

    def stated_case(self) -> None:
        """A text parameter the docstring says is read whatever its case: the same input in
        upper, lower and swapped case gives the same answer (compared case-folded, so a
        result that echoes the text may keep its case)."""
        names = case_insensitive(self.spec)
        answered = [self.runs[k] for k in self.order if self.runs[k].outcome.ok][:6]
        for name in names:
            for run in answered:
                text = run.args.get(name)
                if not isinstance(text, str) or text.upper() == text.lower():
                    continue
                for changed in (text.upper(), text.lower(), text.swapcase()):
                    args = apply(run.args, name, changed)
                    if changed == text or not self.gen.fits_args(args):
                        continue
                    other = self.execute(args, "case", 0, base=False, track=False).outcome
                    if other.limit_hit or (other.ok and canonical(other.value).casefold()
                                           == canonical(run.outcome.value).casefold()):
                        continue
                    self.findings.append(Finding(
                        kind="case_sensitive", severity="blocking", args=args,
                        other_args=run.args,
                        detail=f"the docstring says `{name}` is read whatever its case, but "
                        f"{_short(changed, 60)!r} gave {_shown(other)} where "
                        f"{_short(text, 60)!r} gave {_shown(run.outcome)}", stage="case"))
                    return

    def refusals_inside_the_domain(self) -> None:
        """Every condition `Raises:` lists for an exception was read: a refusal with it,
        caused by a parameter the conditions speak of (the same input with another value of
        it was answered), where none of them holds, refuses input the docstring accepts."""
        conditions = [c for c in self.conditions
                      if c.exception.rsplit(".", 1)[-1] in self.complete]
        for name in dict.fromkeys(c.param for c in conditions):
            for a, b in self.boundary_pairs.get(name, []) + self.pairs.get(name, []):
                run_a, run_b = self.runs.get(a), self.runs.get(b)
                if run_a is None or run_b is None:
                    continue
                for answered, refused in ((run_a, run_b), (run_b, run_a)):
                    out = refused.outcome
                    if not answered.outcome.ok or out.ok or out.limit_hit:
                        continue
                    names = [n for n in _mro(out) if n not in _BROAD]
                    own = [c for c in conditions if c.exception.rsplit(".", 1)[-1] in names]
                    if not own or any(c.holds(refused.args) for c in own):
                        continue
                    said = "; ".join(sorted({c.text for c in own}))
                    self.findings.append(Finding(
                        kind="refused_in_domain", severity="blocking", args=refused.args,
                        other_args=answered.args,
                        detail=f"raised {_shown(out)} although none of the conditions its "
                        f"docstring gives for {own[0].exception} holds ({said}); the same "
                        f"input with another `{name}` was answered", stage="raises"))
                    return

    def stated_range(self) -> None:
        """A result outside the range `Returns:` states ("0-12"). Blocking when every
        parameter's domain is declared; else a warning, as for inf/nan: a tool may leave a
        range its inputs were never meant to leave."""
        stated = return_range(self.spec)
        if stated is None:
            return
        for key in self.order:
            run = self.runs[key]
            if not run.outcome.ok or run.stage == "range edge":
                continue
            bad = stated.outside(run.outcome.value)
            if bad is None:
                continue
            severity, why = self.judge.domain_severity()
            self.findings.append(Finding(
                kind="out_of_range", severity=severity, args=run.args,
                detail=f"returned {_short(run.outcome.value, 120)}: {bad!r} is outside the "
                f"range its docstring states ({stated.text!r}){why}", stage=run.stage))
            return

    def rounding(self) -> None:
        """Two signs that a float result is rounded or truncated: on inputs with messy
        (full-precision) floats it is always a multiple of a decimal step, or it does not
        move when a float argument moves by a tiny fraction (a continuous formula's does)."""
        switches = _rounding_switches(self.spec)
        returns = self.spec.returns_schema
        if not (_returns_number(returns) or _returns_numbers(returns)):
            return
        if switches is None:
            self.stated_rounding()
            return
        floats = [n for n in self.gen.names if _holds_floats(
            self.gen._resolve(self.gen.properties[n]), self.gen._resolve)]
        # A parameter that switches rounding on (`decimals=None`: none) is left at "off".
        answered = [r for r in self.runs.values() if r.outcome.ok and r.level < 2
                    and _numbers_of(r.outcome.value)
                    and all(r.args.get(n) is None for n in switches)]
        if not floats or len({canonical(r.outcome.value) for r in answered}) < 10:
            return  # a step function (few values) may be flat by design
        if self._quantised(answered, floats):
            return
        answered = [r for r in answered if not isinstance(r.outcome.value, list)]
        if not answered:
            return
        pairs = moved = 0
        # Moderate results only: far above 1e6 a float cannot even hold the digits that
        # rounding would remove, so a rounded result moves there like a continuous one.
        for run in [r for r in answered if 0 < abs(r.outcome.value) < 1e6][:30]:
            for name in floats:
                outcome = self._nudge_moves(run, name)
                if outcome is None:
                    continue
                pairs += 1
                moved += outcome
                if moved > 3:
                    return  # it moves: continuous
        # A rounded result moves only when a nudge crosses a rounding step (rarely).
        if pairs >= 8 and moved <= pairs // 10:
            example = answered[0]
            self.findings.append(Finding(
                kind="rounded_result", severity="blocking", args=example.args,
                detail=f"the result did not move when a float argument moved by a tiny fraction "
                f"({pairs - moved} of {pairs} tries; e.g. {_shown(example.outcome)}): it is "
                "rounded or truncated, and the docstring does not say so", stage="rounding"))

    def stated_rounding(self) -> None:
        """The docstring states the step ("rounded to 0.01", "to one decimal"): results of
        inputs holding a messy float sit on that grid, and not all on a ten times coarser
        one (rounded to 0.1 where it says 0.01)."""
        step = stated_step(self.spec)
        floats = [n for n in self.gen.names if _holds_floats(
            self.gen._resolve(self.gen.properties[n]), self.gen._resolve)]
        if step is None or not floats:
            return
        values = {v: r for r in self.runs.values() if r.outcome.ok and r.level < 2
                  and any(_messy(r.args.get(n)) for n in floats)
                  for v in _numbers_of(r.outcome.value) if 0 < abs(v) <= 1e9}
        off = next((v for v in values if not _on_grid(v, step)), None)
        coarse = len(values) >= _QUANTISED_DISTINCT and all(
            _on_grid(v, step * 10) for v in values)
        if off is None and not coarse:
            return
        example = values[off] if off is not None else next(iter(values.values()))
        why = (f"{off!r} is not a multiple of {step:g}" if off is not None else
               f"every one of {len(values)} results is a multiple of {step * 10:g}")
        self.findings.append(Finding(
            kind="rounded_result", severity="blocking", args=example.args,
            detail=f"the docstring says the result is rounded to {step:g}, but {why} "
            f"(e.g. {_shown(example.outcome)})", stage="rounding"))

    def _quantised(self, answered: list[_Run], floats: list[str]) -> bool:
        """Whether results of inputs holding a messy float are all multiples of one decimal
        step (a finding then). A continuous result of such an input is one by chance about
        once in a million; a handful of distinct ones all on the grid is rounding."""
        # (Beyond 1e9 a float cannot tell a multiple of 0.0001 from any other number.)
        messy = [r for r in answered if any(_messy(r.args.get(n)) for n in floats)]
        values = {v: r for r in messy for v in _numbers_of(r.outcome.value)
                  if 0 < abs(v) <= 1e9}
        if len(values) < _QUANTISED_DISTINCT:
            return False
        steps = {v: _decimal_step(v) for v in values}
        if any(step is None for step in steps.values()):
            return False
        step = min(s for s in steps.values() if s is not None)  # the grid they all sit on
        example = next(values[v] for v, s in steps.items() if s == step)
        self.findings.append(Finding(
            kind="rounded_result", severity="blocking", args=example.args,
            detail=f"every result of {len(messy)} inputs with full-precision floats was a "
            f"multiple of {step:g} (e.g. {_shown(example.outcome)}): it is rounded or "
            "truncated, and the docstring does not say so", stage="rounding"))
        return True

    def _nudge_moves(self, run: Any, name: str) -> bool | None:
        """Whether the result moves when argument `name` moves a little; None when no nudge
        could be tried. The nudge grows from a trillionth to a hundred-millionth of the
        argument: an offset far larger than the argument (celsius + 273.15 at 0.001)
        absorbs the smallest nudges in the result's float resolution, while every size
        stays far below a rounding step, so a rounded result still stays put."""
        before = run.outcome.value
        tried = False
        for nudge in _NUDGES:
            for factor in (1 + nudge, 1 - nudge):
                candidate = _nudged(run.args.get(name), factor)
                if candidate is None or not self.gen.fits_args(apply(run.args, name,
                                                                     candidate)):
                    continue
                other = self.execute(apply(run.args, name, candidate), "rounding", 0,
                                     base=False)
                if not other.outcome.ok:
                    continue
                tried = True
                after = other.outcome.value
                # A continuous result moves by about the nudge; a rounded one stays, or jumps
                # a whole step when the nudge crosses a tie (2.5 * 2.5 = 6.25 -> 6.2 or 6.3),
                # by a whole decimal step onto the grid, which a continuous one does not.
                if isinstance(after, int | float) and 0 < abs(after - before) <= 1e-4 * max(
                        1.0, abs(before)):
                    return _decimal_step(abs(after - before)) is None or _decimal_step(
                        after) is None
                break  # this size did not move it: try the next size
        return False if tried else None

    def ignored_parameters(self) -> None:
        # (A tool that answers the same whatever the input ignores every parameter.)
        for name, pairs in self.pairs.items():
            informative = []
            for a, b in pairs:
                run_a, run_b = self.runs.get(a), self.runs.get(b)
                if run_a is None or run_b is None or not run_a.signature or not run_b.signature:
                    continue
                if run_a.signature.startswith("!") and run_b.signature.startswith("!"):
                    continue  # two refusals say nothing about the parameter
                informative.append((run_a, run_b))
            if len(informative) < 6 or any(a.signature != b.signature for a, b in informative):
                continue
            bases = {canonical({k: v for k, v in a.args.items() if k != name})
                     for a, _ in informative}
            values = {canonical(run.args.get(name)) for pair in informative for run in pair}
            # Several starting points; a tool with one parameter has one, so many values.
            if len(bases) < 3 and not (len(bases) == 1 and len(values) >= 6):
                continue
            first, second = next(((x, y) for x, y in informative
                                  if (x.signature or "").startswith("=")), informative[0])
            self.findings.append(Finding(
                kind="ignored_parameter", severity="blocking", args=first.args,
                other_args=second.args,
                detail=f"parameter `{name}` never changed the result: {len(informative)} "
                f"pairs of inputs that differed only in `{name}` gave the same answer "
                f"(e.g. {_shown(first.outcome)})", stage="variants"))

    def compare_with_second_process(self) -> None:
        if self.budget.replays <= 0:
            return
        # The small inputs, last first (a tool with hidden state then answers differently).
        # Only strings hash differently across seeds: inputs holding one are what a second
        # process must see; a few others catch a tool's own sets of constant strings.
        small = [self.runs[k] for k in reversed(self.order)
                 if self.runs[k].signature is not None and self.runs[k].level < 2
                 and self.runs[k].stage != "range edge"]
        with_text = [r for r in small if _holds_text(list(r.args.values()))]
        others = [r for r in small if not _holds_text(list(r.args.values()))]
        comparable = (with_text + others[:_PLAIN_REPLAYS])[: self.budget.replays]
        if not comparable:
            return
        if self.remaining() <= 0:
            self.cut_short = self.cut_short or "no time was left to compare with a second process"
            self.notes.append("determinism across hash seeds was not checked: out of time")
            self.replay_missed = True
            return
        twin = self.target.twin()
        if twin is None:
            self.notes.append("determinism across hash seeds was not checked: this target has "
                              "no second process")
            return
        try:
            failed = twin.load(max(0.001, self.remaining()))
            if failed is not None:
                self.notes.append("the second process failed to load the tool: "
                                  + _short(failed.error_message or failed.limit_hit or ""))
                return
            if twin.hash_seed is not None:
                self.seeds.append(twin.hash_seed)
            mismatches: list[tuple[_Run, CallOutcome]] = []
            for run in comparable:
                try:
                    out = self.call(twin, run.args, self.deadline)
                except _OutOfTime:
                    self.cut_short = self.cut_short or (
                        f"the deadline came after {self.replayed} inputs compared in a "
                        "second process")
                    break
                self.replayed += 1
                second = _signature(out)
                if second is not None and second != run.signature:
                    mismatches.append((run, out))
            if mismatches:
                run, other = min(mismatches, key=lambda m: size(m[0].args))
                seeds = (f" (PYTHONHASHSEED={self.seeds[0]} and {self.seeds[-1]})"
                         if len(self.seeds) > 1 else "")
                self.findings.append(Finding(
                    kind="hash_order", severity="blocking", args=run.args,
                    detail=f"{len(mismatches)} of {self.replayed} inputs gave another answer in "
                    f"a second process that hashes strings differently{seeds}: "
                    f"{_shown(run.outcome)}, then {_shown(other)} (output that depends on "
                    "the order of a set or of hashed strings; sort it)",
                    stage="second process"))
        finally:
            twin.close()
        if self.replayed < min(len(comparable), 10):
            self.replay_missed = True

    replay_missed = False

    def report_first_findings(self) -> None:
        """Each failure kind once, its input shrunk while time allows."""
        for run, judged in self.first.values():
            if run.stage == "range edge":
                continue
            args = run.args
            if judged.severity == "blocking" and self.remaining() > 0:
                args = self.shrunk(run, judged)
            self.findings.append(Finding(kind=judged.kind, severity=judged.severity,
                                         args=args, detail=self.detail(args, run, judged),
                                         stage=run.stage))

    def detail(self, args: dict[str, Any], run: _Run, judged: _Judged) -> str:
        if args is run.args:
            return judged.detail
        shrunk = self.runs.get(canonical(args))
        return shrunk.judged.detail if shrunk is not None and shrunk.judged else judged.detail

    def shrunk(self, run: _Run, judged: _Judged) -> dict[str, Any]:
        calls = [0]
        most = _COSTLY_SHRINK_CALLS if run.outcome.limit_hit else self.budget.shrink_calls

        def budget() -> bool:
            return calls[0] < most and self.remaining() > 0

        def fails(args: dict[str, Any]) -> bool:
            calls[0] += 1
            try:
                again = self.execute(args, run.stage, run.level, base=False, until=self.deadline)
            except (_OutOfTime, _StopExploring):
                calls[0] = self.budget.shrink_calls
                return False
            return again.judged is not None and again.judged.key == judged.key

        return shrink(run.args, fails, self.gen, budget=budget)

    def add_once(self, finding: Finding) -> None:
        if not any(f.kind == finding.kind and f.detail == finding.detail for f in self.findings):
            self.findings.append(finding)

    def blocking_found(self) -> bool:
        return any(j.severity == "blocking" for _, j in self.first.values()) or any(
            f.severity == "blocking" for f in self.findings)

    def report(self) -> AttackReport:
        findings = sorted(self.findings, key=lambda f: (f.severity != "blocking", f.kind,
                                                        f.detail))
        if any(f.severity == "blocking" for f in findings):
            verdict: Verdict = "failed"
        elif self.base_count < min(self.budget.min_examples, self._possible()) \
                or self.replay_missed:
            verdict = "inconclusive"
        else:
            verdict = "passed"
        return AttackReport(
            verdict=verdict, findings=findings, examples_run=self.base_count,
            min_examples=self.budget.min_examples, calls=self.calls,
            levels_run=self.level_reached + 1, replayed=self.replayed, hash_seeds=self.seeds,
            duration_ms=int((time.monotonic() - self.started) * 1000),
            cut_short=self.cut_short, notes=self.notes)

    def _possible(self) -> int:
        """A tool with a tiny domain (one bool) cannot have 30 distinct inputs."""
        if self.cut_short is None:
            return self.base_count
        return self.budget.min_examples


_PLAIN_REPLAYS = 10
# Relative nudges of an argument, smallest first: all far below any rounding step.
_NUDGES = (1e-12, 1e-10, 1e-8)
_ROUNDING_WORDS = re.compile(
    # (word starts: "percent" is not "cent", "cabin" not "bin")
    r"\b(?:round|decimal|digit|cents?\b|nearest|whole|integer|truncat|floor|ceil|precision|"
    r"significant|step|bucket|bins?\b|bracket)", re.IGNORECASE)


def _holds_floats(schema: dict[str, Any], resolve: Callable[[Any], dict[str, Any]]) -> bool:
    """A number, or a list of numbers or mapping to them (possibly optional)."""
    kinds = _kinds_of(schema)
    if "number" in kinds:
        return True
    if "array" in kinds:
        items = resolve(schema.get("items", {}))
        return "number" in _kinds_of(items)
    if "object" in kinds and isinstance(schema.get("additionalProperties"), dict):
        return "number" in _kinds_of(resolve(schema["additionalProperties"]))
    return False


def _nudged(value: Any, factor: float) -> Any:
    """`value` (a number, or a list whose first number moves) scaled by `factor`."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return value * factor if value != 0 and math.isfinite(value) else None
    if isinstance(value, list):
        for i, item in enumerate(value):
            moved = _nudged(item, factor)
            if moved is not None:
                return [*value[:i], moved, *value[i + 1:]]
    return None


def _rounding_switches(spec: ToolSpec) -> list[str] | None:
    """None when the summary, description or `Returns:` speaks of rounding; else the
    optional parameters defaulting to None whose description does (`decimals=None`:
    rounding is off unless asked for), which the check leaves at None."""
    if _ROUNDING_WORDS.search(" ".join((spec.summary, spec.docstring,
                                       spec.returns_description))):
        return None
    return [p.name for p in spec.params if not p.required and p.default is None
            and _ROUNDING_WORDS.search(p.description)]


_QUANTISED_DISTINCT = 5  # distinct results on the grid before it counts
_STEPS = (1e-4, 1e-3, 1e-2, 0.1, 1.0)  # decimal grids, finest first


_STATED_STEP = re.compile(
    r"\brounded (?:down |up )?to (?:the nearest )?(0\.0*1|one decimal|two decimals|three decimals|"
    r"cents?|(?:an |a )?(?:whole number|integer))\b", re.IGNORECASE)
_STEP_WORDS = {"one decimal": 0.1, "two decimals": 0.01, "three decimals": 0.001,
               "cent": 0.01, "cents": 0.01}


def stated_step(spec: ToolSpec) -> float | None:
    """The rounding step the summary or `Returns:` states, when exactly one is stated."""
    found = {m.lower() for m in _STATED_STEP.findall(f"{spec.summary} "
                                                    f"{spec.returns_description}")}
    steps = {_STEP_WORDS.get(m, 1.0 if "whole" in m or "integer" in m else None)
             if not m[0].isdigit() else float(m) for m in found}
    if len(steps) != 1:
        return None
    step = steps.pop()
    return step


def _on_grid(value: float, step: float) -> bool:
    scaled = abs(value) / step
    return scaled <= 1e13 and abs(scaled - round(scaled)) <= max(1e-6, scaled * 1e-15)


def _messy(value: Any) -> bool:
    """A float with more digits than a person types (the generator's random magnitudes)."""
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return any(map(_messy, value))
    if not isinstance(value, float) or not math.isfinite(value) or not 0 < abs(value) < 1e9:
        return False
    return _decimal_step(value) is None


def _decimal_step(value: Any) -> float | None:
    """The coarsest of 1, 0.1 ... 0.0001 that `value` is a non-zero multiple of, among those a
    float of its size can tell (|value| / step below 1e13); None when it is on none."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    if not math.isfinite(value):
        return None
    found = None
    for step in _STEPS:
        scaled = abs(value) / step
        if scaled > 1e13:
            continue
        # The float's own error in `scaled` widens the tolerance (up to 1% of a step).
        if round(scaled) >= 1 and abs(scaled - round(scaled)) <= max(1e-6, scaled * 1e-15):
            found = step
    return found


def _kinds_of(schema: dict[str, Any]) -> set[str]:
    kinds = {schema.get("type")} if isinstance(schema.get("type"), str) else set(
        schema.get("type") or [])
    for option in schema.get("anyOf", []):
        if isinstance(option, dict) and isinstance(option.get("type"), str):
            kinds.add(option["type"])
    return {k for k in kinds if k}


def _same_answer(a: Any, b: Any) -> bool:
    """Equal, floats up to the rounding that adding a period to an argument brings."""
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(_same_answer, a, b))
    if isinstance(a, float | int) and isinstance(b, float | int) and not isinstance(
            a, bool) and not isinstance(b, bool):
        return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))
    return bool(a == b)


def _returns_number(schema: dict[str, Any]) -> bool:
    return "number" in _kinds_of(schema)


def _returns_numbers(schema: dict[str, Any]) -> bool:
    """A list of floats, or a mapping to floats."""
    kinds = _kinds_of(schema)
    inner = schema.get("items") if "array" in kinds else schema.get(
        "additionalProperties") if "object" in kinds else None
    return isinstance(inner, dict) and _returns_number(inner)


def _numbers_of(value: Any) -> list[float]:
    """A number result, or a list's or mapping's numbers (bools are not numbers here)."""
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return [v for v in value if isinstance(v, int | float) and not isinstance(v, bool)]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return [value]
    return []


def _holds_text(value: Any) -> bool:
    if isinstance(value, str):
        return True
    if isinstance(value, list):
        return any(map(_holds_text, value))
    if isinstance(value, dict):
        return bool(value) and (any(map(_holds_text, value.values())) or any(
            isinstance(k, str) for k in value))
    return False


def _plain_number(schema: dict[str, Any]) -> bool:
    kind = schema.get("type")
    options = schema.get("anyOf", [])
    return kind in ("number", "integer") or any(o.get("type") in ("number",) for o in options)


def attack(spec: ToolSpec, target: AttackTarget, *, budget: AttackBudget | None = None,
           examples: list[dict[str, Any]] | None = None,
           log: Callable[[str], None] | None = None) -> AttackReport:
    """Attack the tool `spec` describes, running in `target`, with fair inputs.

    `examples` are argument sets the tool's tests called it with (the attack starts from
    them and edits them). The target is not closed here; its twin is.
    """
    return _Attack(spec, target, budget or AttackBudget(), list(examples or []),
                   log or (lambda _m: None)).run()


# --- a target in this process (trusted code only: toolforge's own tests) ----------------------


class InProcessTarget:
    """Calls a trusted function in this process. No time cap (it cannot kill itself) and no
    second process; results go through a JSON round trip, as over the sandbox's pipe. Each
    call reseeds `random` from the OS, as a fresh process would."""

    hash_seed: int | None = None

    def __init__(self, func: Callable[..., Any]) -> None:
        self.func = func

    def load(self, timeout_s: float) -> CallOutcome | None:
        return None

    def call(self, args: dict[str, Any], timeout_s: float) -> CallOutcome:
        random.seed()
        started = time.perf_counter()
        try:
            result = self.func(**copy.deepcopy(args))  # the tool may change its arguments
        except Exception as exc:
            return CallOutcome(ok=False, error_type=type(exc).__name__,
                               error_message=str(exc),
                               error_bases=[cls.__name__ for cls in type(exc).__mro__],
                               duration_ms=(time.perf_counter() - started) * 1000)
        duration = (time.perf_counter() - started) * 1000
        try:
            value = json.loads(json.dumps(result, allow_nan=True))
            if _non_finite(value):
                raise ValueError(f"$: {_non_finite(value)} is not valid JSON")
        except (TypeError, ValueError, RecursionError) as exc:
            return CallOutcome(ok=False, error_type=NON_JSON_RESULT, error_message=str(exc),
                               duration_ms=duration)
        return CallOutcome(ok=True, value=value, duration_ms=duration)

    def twin(self) -> AttackTarget | None:
        return None

    def close(self) -> None:
        return None


def _non_finite(value: Any) -> str | None:
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, list):
        return next((r for r in map(_non_finite, value) if r), None)
    if isinstance(value, dict):
        return next((r for r in map(_non_finite, value.values()) if r), None)
    return None


__all__ = [
    "NON_JSON_LIMIT",
    "NON_JSON_RESULT",
    "AttackBudget",
    "AttackReport",
    "AttackTarget",
    "CallOutcome",
    "Finding",
    "FindingKind",
    "InProcessTarget",
    "attack",
]
