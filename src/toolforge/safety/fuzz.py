"""Property-based attack on a tool from its JSON schema (DESIGN.md §5, layer 4; no LLM).

hypothesis generates hostile arguments from `spec.parameters_schema` and calls the tool
through a callable (the sandbox adapter, or `in_process_call` in toolforge's own tests). A
tool fails when, for some input, it:
- raises an exception its docstring does not document under `Raises:` (a subclass of a
  documented exception counts as documented, as `except Documented:` would catch it; but
  documenting `Exception` or `BaseException` covers only those exact types);
- hits a sandbox limit (hang, memory, output bomb, crash);
- returns something that is not JSON, or not valid against `spec.returns_schema` (checked
  with jsonschema, Draft 2020-12, the dialect pydantic emits);
- returns NaN or an infinity although no input held one (NaN in, NaN out is IEEE
  propagation; a non-finite float out of finite inputs is not JSON and is a bug);
- returns different results for the same input (checked on a sample of inputs).
Each failure kind (per exception type or limit) is reported once, shrunk to a minimal input.
"""

from __future__ import annotations

import builtins
import copy
import json
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

import jsonschema
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from pydantic import BaseModel, Field

from toolforge.tools.contract import ToolSpec

# How an adapter reports a return value that cannot be encoded as JSON: as this error_type,
# or (the sandbox's way) as this limit_hit.
NON_JSON_RESULT = "NonJSONResult"
NON_JSON_LIMIT = "non_json_result"

MAX_STRING = 10_000
MAX_COLLECTION = 30
MAX_NESTING = 40

FailureKind = Literal[
    "undocumented_exception", "limit_exceeded", "non_json_result", "invalid_return",
    "nondeterministic",
]  # fmt: skip


class CallOutcome(BaseModel):
    """One call of the tool, as the adapter saw it (never raised: failures are data)."""

    ok: bool
    value: Any = None
    error_type: str | None = Field(default=None, description="exception class name")
    error_message: str | None = None
    error_builtin: str | None = Field(
        default=None, description="first builtin exception class in the error's MRO"
    )
    error_bases: list[str] = Field(
        default_factory=list,
        description="class names along the exception's MRO, so that a documented base "
        "class covers its subclasses; adapters should fill it",
    )
    limit_hit: str | None = Field(
        default=None,
        description='"wall_time", "memory", "output", "crash", ...; "non_json_result" is '
        "read as a non-JSON return value, not as a limit",
    )


class Counterexample(BaseModel):
    kind: FailureKind
    args: dict[str, Any]
    detail: str


class FuzzReport(BaseModel):
    passed: bool
    examples_run: int = Field(description="distinct inputs the tool was called with")
    counterexamples: list[Counterexample] = Field(default_factory=list)
    duration_ms: int
    timed_out: bool = Field(default=False, description="the time budget ended the search")


# --- strategies -----------------------------------------------------------------------------

_SPECIAL_CHARS = (
    "\x00", "\n", "\r", "\t", "\x1b", "\x7f", "\u0085", "\u00a0", "\u2028", "\u2029",
    "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff",  # zero-width and BOM
    "\u200e", "\u200f", "\u202a", "\u202b", "\u202d", "\u202e", "\u2066", "\u2069",  # bidi
    "\u0301", "\u0130", "\u00df", "\ufb03", "\u0131",  # combining mark, case-mapping traps
    "\U0001f600", "\U0001d54f", "\U0010ffff", "\uffff", "\ue000",  # astral, edge points
    "\\", '"', "'", "{", "}", "%", "$", "<", ">", "&", "/", ".", "-", " ",
)  # fmt: skip
_HOSTILE_STRINGS = (
    " ", "0", "-1", "1e309", "NaN", "null", "true", "None", "[]", "{}", "\x00", "\x00abc",
    "abc\u202edef", "\u200b", "\ufeffBOM", "e\u0301", "\u0130stanbul", "stra\u00dfe",
    "\U0001f600\U0001f4a9", "\u0645\u0631\u062d\u0628\u0627", "line1\r\nline2\u2028",
    "'; DROP TABLE t; --", "<script>alert(1)</script>", "../../etc/passwd", "%s%n%x",
    "{0}{__class__}", "${HOME}", "a" * 255, "\\u0000", "\t \n",
)  # fmt: skip
_RUN_PIECES = ("a", "0", " ", "\U0001f600", "\u202e", "\x00", "{", "ab c ")
_EDGE_INTS = (
    -1, 1, 2, 255, 256, -(2**31), 2**31 - 1, 2**53, 2**53 + 1, -(2**63), 2**63 - 1, 2**63,
    -(2**63) - 1, 2**64, -(2**128), 2**128,
)  # fmt: skip
_EDGE_FLOATS = (
    0.0, -0.0, math.nan, math.inf, -math.inf, 5e-324, -5e-324, 2.2250738585072014e-308,
    1.7976931348623157e308, -1.7976931348623157e308, 1e-7, 0.1, 0.5, 1e16, 2.0**53,
)  # fmt: skip


def _text(min_size: int = 0, max_size: int | None = None) -> st.SearchStrategy[str]:
    """Strings as lists of chunks, so that shrinking one shortens it smoothly.

    A chunk is a character (any code point but surrogates, which JSON over UTF-8 cannot
    carry), a troublesome character or string, or a run of one piece repeated up to the
    length cap (long, output and memory bombs). Dropping chunks and shortening runs gets
    the shrinker from a 10k-character failure down to the shortest failing length.
    """
    cap = MAX_STRING if max_size is None else min(max_size, MAX_STRING)
    chunk = st.one_of(
        st.characters(exclude_categories=["Cs"]),
        st.sampled_from(_SPECIAL_CHARS),
        st.sampled_from(_HOSTILE_STRINGS),
        st.tuples(st.sampled_from(_RUN_PIECES), st.integers(1, max(cap, 1))).map(
            lambda run: run[0] * run[1]
        ),
    )
    return st.lists(chunk, max_size=24).map(
        lambda chunks: "".join(chunks)[:cap].ljust(min_size, "a")
    )


def _integers(schema: dict[str, Any]) -> st.SearchStrategy[int]:
    low = schema.get("minimum")
    high = schema.get("maximum")
    if "exclusiveMinimum" in schema:
        low = math.floor(schema["exclusiveMinimum"]) + 1
    if "exclusiveMaximum" in schema:
        high = math.ceil(schema["exclusiveMaximum"]) - 1
    low = None if low is None else math.ceil(low)
    high = None if high is None else math.floor(high)
    edge = [
        n for n in (0, *_EDGE_INTS) if (low is None or n >= low) and (high is None or n <= high)
    ]
    base = st.integers(min_value=low, max_value=high)
    return st.one_of(base, st.sampled_from(edge)) if edge else base


def _numbers(schema: dict[str, Any], non_finite: bool = True) -> st.SearchStrategy[float | int]:
    bounded = any(
        k in schema for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
    )
    if bounded:
        low = schema.get("minimum", schema.get("exclusiveMinimum"))
        high = schema.get("maximum", schema.get("exclusiveMaximum"))
        return st.floats(
            min_value=low,
            max_value=high,
            allow_nan=False,
            exclude_min="exclusiveMinimum" in schema,
            exclude_max="exclusiveMaximum" in schema,
        )
    # JSON numbers arrive as ints too (`1`, not `1.0`), so ints are part of the domain.
    edge = [x for x in _EDGE_FLOATS if non_finite or math.isfinite(x)]
    floats = st.floats(allow_nan=non_finite, allow_infinity=non_finite)
    return st.one_of(floats, st.sampled_from(edge), st.integers(-(2**53), 2**53))


def _deep_nest(depth: int) -> Any:
    value: Any = "leaf"
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


def _json_keys() -> st.SearchStrategy[str]:
    return st.one_of(
        _text(max_size=20), st.sampled_from(("", " ", "__proto__", "\x00", "constructor", "\u202e"))
    )


@cache
def _any_json(non_finite: bool = True) -> st.SearchStrategy[Any]:
    numbers = _numbers({}, non_finite)
    leaves = st.one_of(st.none(), st.booleans(), _integers({}), numbers, _text(max_size=200))
    nested = st.recursive(
        leaves,
        lambda children: st.one_of(
            st.lists(children, max_size=6), st.dictionaries(_json_keys(), children, max_size=6)
        ),
        max_leaves=30,
    )
    return st.one_of(nested, st.integers(2, MAX_NESTING).map(_deep_nest))


@dataclass
class _SchemaContext:
    defs: dict[str, Any]
    non_finite: bool
    refs: dict[str, st.SearchStrategy[Any]] = field(default_factory=dict)


def strategy_for_schema(
    schema: dict[str, Any], *, allow_non_finite: bool = True
) -> st.SearchStrategy[Any]:
    """A hypothesis strategy for the JSON values `schema` describes, biased to hostile ones.

    Covers what pydantic emits for JSON types: string, integer, number, boolean, null,
    array (items, prefixItems, min/maxItems), object (properties, required,
    additionalProperties), anyOf/oneOf, enum/const, `$ref` into `$defs`, and `{}` (any JSON).
    Numbers include NaN and infinities unless `allow_non_finite` is False (strict JSON).
    """
    defs = dict(schema.get("$defs", {}))
    return _strategy(schema, _SchemaContext(defs=defs, non_finite=allow_non_finite))


def _strategy(schema: Any, ctx: _SchemaContext) -> st.SearchStrategy[Any]:
    if schema is True or not isinstance(schema, dict):
        return _any_json(ctx.non_finite)
    if "$ref" in schema:
        ref = schema["$ref"]
        if ref not in ctx.refs:
            name = ref.rsplit("/", 1)[-1]
            target = ctx.defs.get(name, {})
            ctx.refs[ref] = st.deferred(lambda: _strategy(target, ctx))  # recursive models
        return ctx.refs[ref]
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(list(schema["enum"]))
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return st.one_of([_strategy(option, ctx) for option in schema[key]])
    if schema.get("allOf"):
        return _strategy(schema["allOf"][0], ctx)
    kind = schema.get("type")
    if isinstance(kind, list):
        return st.one_of([_strategy({**schema, "type": k}, ctx) for k in kind])
    if kind == "string":
        return _text(schema.get("minLength", 0), schema.get("maxLength"))
    if kind == "integer":
        return _integers(schema)
    if kind == "number":
        return _numbers(schema, ctx.non_finite)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "array":
        return _array(schema, ctx)
    if kind == "object":
        return _object(schema, ctx)
    return _any_json(ctx.non_finite)


def _array(schema: dict[str, Any], ctx: _SchemaContext) -> st.SearchStrategy[list[Any]]:
    min_items = schema.get("minItems", 0)
    max_items = min(schema.get("maxItems", MAX_COLLECTION), max(MAX_COLLECTION, min_items))
    prefix = schema.get("prefixItems")
    if prefix:
        head = st.tuples(*(_strategy(item, ctx) for item in prefix)).map(list)
        rest_schema = schema.get("items", False)
        if rest_schema is False or max_items <= len(prefix):
            return head
        rest = st.lists(_strategy(rest_schema, ctx), max_size=max_items - len(prefix))
        return st.tuples(head, rest).map(lambda pair: pair[0] + pair[1])
    items = _strategy(schema.get("items", {}), ctx)
    return st.lists(items, min_size=min_items, max_size=max_items)


def _object(schema: dict[str, Any], ctx: _SchemaContext) -> st.SearchStrategy[dict[str, Any]]:
    properties: dict[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", ()))
    fixed = st.fixed_dictionaries(
        {name: _strategy(sub, ctx) for name, sub in properties.items() if name in required},
        optional={
            name: _strategy(sub, ctx) for name, sub in properties.items() if name not in required
        },
    )
    extra = schema.get("additionalProperties", not properties)
    if extra is False:
        return fixed
    values = _strategy({} if extra is True else extra, ctx)
    more = st.dictionaries(
        _json_keys().filter(lambda key: key not in properties), values, max_size=MAX_COLLECTION
    )
    return st.tuples(fixed, more).map(lambda pair: {**pair[1], **pair[0]})


# --- the attack -----------------------------------------------------------------------------

_BROAD = frozenset({"Exception", "BaseException", "object"})


def _documented(outcome: CallOutcome, raises: dict[str, str]) -> bool:
    documented = {name.rsplit(".", 1)[-1] for name in raises}
    error = (outcome.error_type or "").rsplit(".", 1)[-1]
    if error in documented:
        return True
    bases = [b.rsplit(".", 1)[-1] for b in outcome.error_bases]
    for name in (error, outcome.error_builtin or ""):  # builtins know their own MRO
        builtin = getattr(builtins, name, None)
        if isinstance(builtin, type) and issubclass(builtin, BaseException):
            bases += [cls.__name__ for cls in builtin.__mro__]
    return any(base in documented for base in bases if base not in _BROAD)


def _non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, list | tuple):
        return any(_non_finite(v) for v in value)
    if isinstance(value, dict):
        return any(_non_finite(v) for v in value.values())
    return False


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=repr)


def _short(value: Any, limit: int = 200) -> str:
    text = value if isinstance(value, str) else _canonical(value)
    return text if len(text) <= limit else text[:limit] + "..."


class _PropertyFailure(Exception):
    """A failing input, raised inside the hypothesis test so that hypothesis shrinks it."""

    def __init__(self, key: str, kind: FailureKind, args: dict[str, Any], detail: str) -> None:
        super().__init__(detail)
        self.key = key  # the failure's identity: kind plus exception type or limit
        self.counterexample = Counterexample(kind=kind, args=args, detail=detail)


_failure = _PropertyFailure


def _judge(
    spec: ToolSpec, validator: Any, args: dict[str, Any], out: CallOutcome
) -> _PropertyFailure | None:
    """The failure one outcome shows, or None."""
    if out.limit_hit == NON_JSON_LIMIT or (not out.ok and out.error_type == NON_JSON_RESULT):
        detail = f"returned a value that is not JSON: {out.error_message or ''}"
        return _failure("non_json", "non_json_result", args, detail.strip())
    if out.limit_hit:
        return _failure(
            f"limit:{out.limit_hit}",
            "limit_exceeded",
            args,
            f"hit the sandbox's {out.limit_hit} limit",
        )
    if not out.ok:
        if _documented(out, spec.raises):
            return None
        documented = ", ".join(sorted(spec.raises)) or "nothing"
        return _failure(
            f"raise:{out.error_type}",
            "undocumented_exception",
            args,
            f"raised {out.error_type}: {_short(out.error_message or '')} "
            f"(Raises: documents {documented})",
        )
    if _non_finite(out.value) and not _non_finite(args):
        return _failure(
            "non_json",
            "non_json_result",
            args,
            f"returned a non-finite float from finite inputs: {_short(out.value)}",
        )
    errors = sorted(validator.iter_errors(out.value), key=lambda e: list(e.path))
    if errors:
        where = "/".join(str(p) for p in errors[0].absolute_path) or "the value"
        return _failure(
            "invalid_return",
            "invalid_return",
            args,
            f"returned {_short(out.value)}, which does not match "
            f"`{spec.returns_annotation}` at {where}: {_short(errors[0].message)}",
        )
    return None


def _signature(out: CallOutcome) -> str:
    return _canonical(out.value) if out.ok else f"raised {out.error_type}"


@dataclass
class _Run:
    """Shared state of one fuzz_tool call across its hypothesis runs."""

    deadline: float  # absolute time.monotonic() after which the current stage calls nothing
    calls: int = 0
    timed_out: bool = False
    memo: dict[str, _PropertyFailure | None] = field(default_factory=dict)
    first_seen: dict[str, _PropertyFailure] = field(default_factory=dict)
    harness_error: Exception | None = None


# Exploration may use this share of the time budget; the rest is for shrinking.
_EXPLORE_SHARE = 0.6


def fuzz_tool(
    spec: ToolSpec,
    call: Callable[[dict[str, Any]], CallOutcome],
    *,
    max_examples: int = 100,
    seed: int | None = 0,
    deadline_s: float = 20,
    allow_non_finite: bool = True,
) -> FuzzReport:
    """Attack the tool described by `spec` through `call` with generated hostile arguments.

    `call` gets a fresh copy of the arguments each time and must not raise (an exception
    from it is a harness bug and propagates). With a `seed` the run is reproducible. The
    tool is not called after `deadline_s`; what was found by then is reported. Pass
    `allow_non_finite=False` when `call` goes over strict JSON (the sandbox's wire refuses
    NaN and infinities, so a tool there never receives them).

    Two stages: explore `max_examples` inputs and note the first input of each failure
    kind; then, per kind, replay the same seeded search (outcomes are memoised, so the
    replay costs no calls) until hypothesis meets that kind again and shrinks it.
    """
    started = time.monotonic()
    args_strategy = strategy_for_schema(spec.parameters_schema, allow_non_finite=allow_non_finite)
    validator = jsonschema.Draft202012Validator(spec.returns_schema)
    run = _Run(deadline=started + deadline_s * _EXPLORE_SHARE)
    # ~1 in 4 inputs is called twice to check determinism; drawing the choice makes it part
    # of the example, so replays and shrinking see the same decision.
    recheck_strategy = st.integers(0, 3).map(lambda n: n == 3)
    search_seed = seed if seed is not None else random.getrandbits(64)

    def attempt(args: dict[str, Any], recheck: bool) -> _PropertyFailure | None:
        key = _canonical([args, recheck])  # NaN, -0.0 and 1 vs 1.0 stay distinct
        if key in run.memo:  # replays and shrink revisits must not re-run the tool
            return run.memo[key]
        if run.harness_error is not None:
            return None
        if time.monotonic() > run.deadline:
            run.timed_out = True
            return None  # out of budget: unseen inputs count as passing, shrinking stops
        try:
            run.calls += 1
            first = call(copy.deepcopy(args))
            failure = _judge(spec, validator, args, first)
            if failure is None and recheck and not first.limit_hit:
                second = call(copy.deepcopy(args))
                if _signature(first) != _signature(second):
                    failure = _failure(
                        "nondeterministic",
                        "nondeterministic",
                        args,
                        f"the same input gave {_short(_signature(first))}, "
                        f"then {_short(_signature(second))}",
                    )
        except Exception as exc:  # the harness failed, not the tool
            run.harness_error = exc
            return None
        run.memo[key] = failure
        if failure is not None:
            run.first_seen.setdefault(failure.key, failure)
        return failure

    def search(target: str | None) -> None:
        """One seeded hypothesis run: explore (target None) or shrink failures of `target`."""

        @hypothesis_seed(search_seed)
        @settings(
            max_examples=max_examples,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            verbosity=Verbosity.quiet,
            phases=(Phase.generate,) if target is None else (Phase.generate, Phase.shrink),
            report_multiple_bugs=False,
        )
        @given(args_strategy, recheck_strategy)
        def attack(args: dict[str, Any], recheck: bool) -> None:
            failure = attempt(args, recheck)
            if failure is not None and failure.key == target:
                raise failure

        attack()

    search(None)
    found: dict[str, Counterexample] = {}
    keys = list(run.first_seen)
    for index, key in enumerate(keys):
        now = time.monotonic()
        run.deadline = now + (started + deadline_s - now) / (len(keys) - index)
        try:
            search(key)
        except _PropertyFailure as failure:  # the shrunk input
            found[key] = failure.counterexample
        found.setdefault(key, run.first_seen[key].counterexample)  # replay missed it
    if run.harness_error is not None:
        raise run.harness_error
    counterexamples = sorted(found.values(), key=lambda c: (c.kind, c.detail))
    return FuzzReport(
        passed=not counterexamples,
        examples_run=run.calls,
        counterexamples=counterexamples,
        duration_ms=int((time.monotonic() - started) * 1000),
        timed_out=run.timed_out,
    )


def in_process_call(func: Callable[..., Any]) -> Callable[[dict[str, Any]], CallOutcome]:
    """A `call` that runs `func` in this process: for trusted code only (toolforge's tests).

    The result goes through a JSON round trip, as it would through the sandbox's pipe.
    hypothesis reseeds the global `random` module before each example, which would make a
    `random`-using tool look deterministic here; each call reseeds it from the OS, as a
    fresh sandbox process would be.
    """

    def call(args: dict[str, Any]) -> CallOutcome:
        random.seed()
        try:
            result = func(**args)
        except Exception as exc:
            return CallOutcome(
                ok=False,
                error_type=type(exc).__name__,
                error_message=str(exc),
                error_bases=[cls.__name__ for cls in type(exc).__mro__],
            )
        try:
            value = json.loads(json.dumps(result))
        except (TypeError, ValueError) as exc:
            return CallOutcome(ok=False, error_type=NON_JSON_RESULT, error_message=str(exc))
        return CallOutcome(ok=True, value=value)

    return call


__all__ = [
    "NON_JSON_LIMIT",
    "NON_JSON_RESULT",
    "CallOutcome",
    "Counterexample",
    "FailureKind",
    "FuzzReport",
    "fuzz_tool",
    "in_process_call",
    "strategy_for_schema",
]
