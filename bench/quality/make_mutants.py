"""Make the benchmark's mutants: spec-breaking variants of every reference tool.

    .venv/bin/python bench/quality/make_mutants.py        # rewrites bench/quality/mutants.jsonl

Each operator rewrites one place of a reference tool's AST (its signature and docstring stay
as they are, so the contract is the reference's):

- off_by_one: an integer constant +1 or -1;
- swapped_fields: the operands of a non-commutative operator, two parameters' uses, two
  arguments of a call, or two values of a returned dict;
- ignored_parameter: every use of a parameter replaced by its default (or a constant);
- rounding: the result rounded or truncated, an existing round() one digit off, / as //;
- ordering: sorted() dropped or reversed, a list result built through a set;
- wrong_units: the result scaled by a unit factor, or a float constant off by 10 or 1000;
- sign_error: + and - exchanged, a negation added or dropped;
- boundary: < and <=, > and >= exchanged, a clamp or abs() dropped.

A mutant is kept only if it breaks the specification: on the reference's test call and a
few hundred fair inputs (toolforge's own generator, plus edges), some answer differs from
the reference's (floats beyond 1e-9 relative, exceptions by type). Equivalent mutants are
counted and dropped. Up to 10 per tool are kept, spread over the classes; the choice is
seeded, so the file is reproducible. The mutants run in this process: they are our own
variants of our own trusted tools (an alarm stops any that loops).
"""

from __future__ import annotations

import ast
import copy
import json
import math
import random
import re
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from toolforge.safety.generate import LEVELS, FairInputs
from toolforge.tools.contract import load_tool_source

HERE = Path(__file__).resolve().parent
TOOLS = HERE / "tools"
OUT = HERE / "mutants.jsonl"
CLASSES = ("off_by_one", "swapped_fields", "ignored_parameter", "rounding", "ordering",
           "wrong_units", "sign_error", "boundary")
PER_TOOL = 10
UNIT_FACTORS = (1000.0, 0.001, 3.6, 60.0, 100.0, 2.54, 0.5)

Mutant = tuple[str, str, ast.Module]  # class, description, tree


# --- operators ------------------------------------------------------------------------------


def _function(tree: ast.Module) -> ast.FunctionDef:
    return next(n for n in tree.body if isinstance(n, ast.FunctionDef)
                and not n.name.startswith("_"))


def _body_nodes(tree: ast.Module) -> Iterator[ast.AST]:
    """Nodes that are code, not the docstring or annotations."""
    for top in tree.body:
        if isinstance(top, ast.FunctionDef):
            body = top.body[1:] if ast.get_docstring(top) else top.body
            for stmt in body:
                yield from ast.walk(stmt)
            for default in top.args.defaults:
                del default  # defaults are part of the contract: never mutated
        elif isinstance(top, ast.Assign | ast.AnnAssign):
            yield from ast.walk(top)


def _variants(tree: ast.Module, pick: Callable[[ast.AST], bool],
              change: Callable[[ast.AST], ast.AST | None]) -> Iterator[ast.Module]:
    """One tree per node `pick` selects, with that node replaced by `change(copy)`."""
    nodes = [n for n in _body_nodes(tree) if pick(n)]
    for index in range(len(nodes)):
        clone = copy.deepcopy(tree)
        target = [n for n in _body_nodes(clone) if pick(n)][index]
        replacement = change(target)
        if replacement is None:
            continue
        if _replace(clone, target, replacement):
            yield ast.fix_missing_locations(clone)


def _replace(tree: ast.AST, old: ast.AST, new: ast.AST) -> bool:
    for parent in ast.walk(tree):
        for name, value in ast.iter_fields(parent):
            if value is old:
                setattr(parent, name, new)
                return True
            if isinstance(value, list):
                for i, item in enumerate(value):
                    if item is old:
                        value[i] = new
                        return True
    return False


def _is_int(n: ast.AST) -> bool:
    return isinstance(n, ast.Constant) and type(n.value) is int


def _is_float(n: ast.AST) -> bool:
    return isinstance(n, ast.Constant) and type(n.value) is float


def off_by_one(tree: ast.Module) -> Iterator[Mutant]:
    for delta in (1, -1):
        for t in _variants(tree, _is_int, lambda n, d=delta: ast.Constant(n.value + d)):
            yield "off_by_one", f"an integer constant {delta:+d}", t
    for t in _variants(tree, lambda n: isinstance(n, ast.Slice) and n.upper is not None
                       and not _is_int(n.upper),
                       lambda n: ast.Slice(n.lower, ast.BinOp(n.upper, ast.Add(),
                                                              ast.Constant(1)), n.step)):
        yield "off_by_one", "a slice one item longer", t
    for t in _variants(tree, lambda n: isinstance(n, ast.Slice) and n.lower is not None
                       and not _is_int(n.lower),
                       lambda n: ast.Slice(ast.BinOp(n.lower, ast.Add(), ast.Constant(1)),
                                           n.upper, n.step)):
        yield "off_by_one", "a slice starting one item later", t
    yield from (("off_by_one", "range() one further", t) for t in _variants(
        tree, lambda n: isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
        and n.func.id == "range" and n.args,
        lambda n: ast.Call(n.func, [*n.args[:-1], ast.BinOp(n.args[-1], ast.Add(),
                                                            ast.Constant(1))], [])))


_NON_COMMUTATIVE = (ast.Sub, ast.Div, ast.Pow, ast.Mod, ast.FloorDiv)


def swapped_fields(tree: ast.Module) -> Iterator[Mutant]:
    for t in _variants(tree, lambda n: isinstance(n, ast.BinOp)
                       and isinstance(n.op, _NON_COMMUTATIVE),
                       lambda n: ast.BinOp(n.right, n.op, n.left)):
        yield "swapped_fields", "operands of a non-commutative operator swapped", t
    for t in _variants(tree, lambda n: isinstance(n, ast.Call) and len(n.args) >= 2
                       and not isinstance(n.func, ast.Attribute),
                       lambda n: ast.Call(n.func, [n.args[1], n.args[0], *n.args[2:]],
                                          n.keywords)):
        yield "swapped_fields", "two arguments of a call swapped", t
    for t in _variants(tree, lambda n: isinstance(n, ast.Dict) and len(n.values) >= 2
                       and all(k is not None for k in n.keys),
                       lambda n: ast.Dict(n.keys, [n.values[1], n.values[0], *n.values[2:]])):
        yield "swapped_fields", "two fields of a dict swapped", t
    for t in _variants(tree, lambda n: isinstance(n, ast.List | ast.Tuple) and len(n.elts) >= 2
                       and isinstance(n.ctx, ast.Load),
                       lambda n: type(n)([n.elts[1], n.elts[0], *n.elts[2:]], ast.Load())):
        yield "swapped_fields", "two items of a list or tuple swapped", t
    func = _function(tree)
    params = [a.arg for a in func.args.args]
    used = {n.id for n in _body_nodes(tree) if isinstance(n, ast.Name)}
    for i, a in enumerate(params):
        for b in params[i + 1:]:
            if a in used and b in used and _same_kind(func, a, b):
                clone = copy.deepcopy(tree)
                for node in _body_nodes(clone):
                    if isinstance(node, ast.Name) and node.id in (a, b):
                        node.id = b if node.id == a else a
                yield "swapped_fields", f"parameters {a} and {b} used the other way round", \
                    clone


def _same_kind(func: ast.FunctionDef, a: str, b: str) -> bool:
    notes = {arg.arg: ast.unparse(arg.annotation) if arg.annotation else ""
             for arg in func.args.args}
    return notes[a] == notes[b]


def ignored_parameter(tree: ast.Module) -> Iterator[Mutant]:
    func = _function(tree)
    args = func.args.args
    defaults = dict(zip([a.arg for a in args[len(args) - len(func.args.defaults):]],
                        func.args.defaults, strict=True))
    for arg in args:
        uses = [n for n in _body_nodes(tree) if isinstance(n, ast.Name) and n.id == arg.arg
                and isinstance(n.ctx, ast.Load)]
        if not uses:
            continue
        if arg.arg in defaults:
            value: ast.expr = copy.deepcopy(defaults[arg.arg])
        else:
            note = ast.unparse(arg.annotation) if arg.annotation else ""
            constants = {"float": 1.0, "int": 1, "str": "", "bool": False}
            value = ast.Constant(constants[note]) if note in constants else ast.List(
                [], ast.Load())
        clone = copy.deepcopy(tree)
        for node in list(_body_nodes(clone)):
            if isinstance(node, ast.Name) and node.id == arg.arg and isinstance(node.ctx,
                                                                             ast.Load):
                _replace(clone, node, copy.deepcopy(value))
        yield "ignored_parameter", f"parameter {arg.arg} ignored", \
            ast.fix_missing_locations(clone)


def _returns(tree: ast.Module) -> Callable[[ast.AST], bool]:
    func = _function(tree)
    own = {id(n) for stmt in func.body for n in ast.walk(stmt) if isinstance(n, ast.Return)}
    return lambda n: isinstance(n, ast.Return) and n.value is not None and id(n) in own


def _wrap_returns(tree: ast.Module, wrap: Callable[[ast.expr], ast.expr]) -> ast.Module | None:
    clone = copy.deepcopy(tree)
    picked = _returns(clone)
    nodes = [n for n in ast.walk(clone) if picked(n)]
    if not nodes:
        return None
    for node in nodes:
        assert isinstance(node, ast.Return) and node.value is not None
        node.value = wrap(node.value)
    return ast.fix_missing_locations(clone)


def _call(name: str, *args: ast.expr) -> ast.expr:
    return ast.Call(ast.Name(name, ast.Load()), list(args), [])


def rounding(tree: ast.Module) -> Iterator[Mutant]:
    kind = ast.unparse(_function(tree).returns) if _function(tree).returns else ""
    if kind == "float":
        for digits in (2, 1):
            t = _wrap_returns(tree, lambda v, d=digits: _call("round", v, ast.Constant(d)))
            if t is not None:
                yield "rounding", f"the result rounded to {digits} decimals", t
        t = _wrap_returns(tree, lambda v: _call("float", _call("int", v)))
        if t is not None:
            yield "rounding", "the result truncated to a whole number", t
    for delta in (-1, 1):
        for t in _variants(tree, lambda n: isinstance(n, ast.Call) and isinstance(n.func,
                           ast.Name) and n.func.id == "round" and len(n.args) == 2
                           and _is_int(n.args[1]),
                           lambda n, d=delta: ast.Call(n.func, [n.args[0], ast.Constant(
                               n.args[1].value + d)], [])):
            yield "rounding", f"round() to {delta:+d} digit", t
    for t in _variants(tree, lambda n: isinstance(n, ast.BinOp) and isinstance(n.op, ast.Div),
                       lambda n: ast.BinOp(n.left, ast.FloorDiv(), n.right)):
        yield "rounding", "a division rounded down (// for /)", t


def ordering(tree: ast.Module) -> Iterator[Mutant]:
    is_sorted = lambda n: (isinstance(n, ast.Call) and isinstance(n.func, ast.Name)  # noqa: E731
                           and n.func.id == "sorted")
    for t in _variants(tree, is_sorted, lambda n: _call("list", n.args[0])):
        yield "ordering", "sorted() dropped", t
    for t in _variants(tree, is_sorted, lambda n: ast.Call(n.func, n.args, [
            *n.keywords, ast.keyword("reverse", ast.Constant(True))])):
        yield "ordering", "sorted() in reverse", t
    kind = ast.unparse(_function(tree).returns) if _function(tree).returns else ""
    if kind.startswith("list["):
        t = _wrap_returns(tree, lambda v: _call("list", _call("set", v)))
        if t is not None:
            yield "ordering", "the list result built through a set (set order)", t
        t = _wrap_returns(tree, lambda v: _call("list", _call("reversed", v)))
        if t is not None:
            yield "ordering", "the list result reversed", t


def wrong_units(tree: ast.Module) -> Iterator[Mutant]:
    kind = ast.unparse(_function(tree).returns) if _function(tree).returns else ""
    if kind in ("float", "int"):
        for factor in UNIT_FACTORS:
            t = _wrap_returns(tree, lambda v, f=factor: ast.BinOp(v, ast.Mult(),
                                                                  ast.Constant(f)))
            if t is not None:
                yield "wrong_units", f"the result scaled by {factor:g}", t
    for scale in (10.0, 1000.0, 0.001):
        for t in _variants(tree, lambda n: _is_float(n) and n.value not in (0.0, 1.0, 0.5),
                           lambda n, s=scale: ast.Constant(n.value * s)):
            yield "wrong_units", f"a float constant scaled by {scale:g}", t


def sign_error(tree: ast.Module) -> Iterator[Mutant]:
    swaps = {ast.Add: ast.Sub, ast.Sub: ast.Add}
    for t in _variants(tree, lambda n: isinstance(n, ast.BinOp) and type(n.op) in swaps,
                       lambda n: ast.BinOp(n.left, swaps[type(n.op)](), n.right)):
        yield "sign_error", "+ and - exchanged", t
    for t in _variants(tree, lambda n: isinstance(n, ast.UnaryOp) and isinstance(n.op,
                       ast.USub), lambda n: n.operand):
        yield "sign_error", "a negation dropped", t
    kind = ast.unparse(_function(tree).returns) if _function(tree).returns else ""
    if kind in ("float", "int"):
        t = _wrap_returns(tree, lambda v: ast.UnaryOp(ast.USub(), v))
        if t is not None:
            yield "sign_error", "the result negated", t


def boundary(tree: ast.Module) -> Iterator[Mutant]:
    swaps = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt}
    for t in _variants(tree, lambda n: isinstance(n, ast.Compare) and len(n.ops) == 1
                       and type(n.ops[0]) in swaps,
                       lambda n: ast.Compare(n.left, [swaps[type(n.ops[0])]()],
                                             n.comparators)):
        yield "boundary", "a comparison's boundary moved (< and <=, > and >=)", t
    for t in _variants(tree, lambda n: isinstance(n, ast.Call) and isinstance(n.func,
                       ast.Name) and n.func.id in ("max", "min", "abs") and len(n.args) in (
                           1, 2), lambda n: n.args[-1]):
        yield "boundary", "a clamp or abs() dropped", t
    edges = ("strip", "lstrip", "rstrip", "lower", "upper")
    for t in _variants(tree, lambda n: isinstance(n, ast.Call) and isinstance(n.func,
                       ast.Attribute) and n.func.attr in edges and not n.args,
                       lambda n: n.func.value):  # type: ignore[attr-defined]
        yield "boundary", "whitespace or case at the edges of the input no longer handled", t


OPERATORS = (off_by_one, swapped_fields, ignored_parameter, rounding, ordering, wrong_units,
             sign_error, boundary)


# --- spec-breaking check -----------------------------------------------------------------------


class _Timeout(Exception):
    pass


def _alarm(_signum: int, _frame: Any) -> None:
    raise _Timeout


def _outcome(func: Callable[..., Any], args: dict[str, Any]) -> tuple[str, Any]:
    signal.setitimer(signal.ITIMER_REAL, 0.2)
    try:
        value = func(**copy.deepcopy(args))
        json.dumps(value, allow_nan=False)
        return "ok", value
    except _Timeout:
        return "hang", None
    except Exception as exc:
        return "raise", type(exc).__name__
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if isinstance(a, bool) or isinstance(b, bool):
            return a is b
        if isinstance(a, int | float) and isinstance(b, int | float):
            return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
        return False
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):  # JSON objects have no order
        return set(a) == set(b) and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def probe_inputs(code: str, example: dict[str, Any], seed: int) -> list[dict[str, Any]]:
    spec = load_tool_source(code)
    gen = FairInputs(spec.parameters_schema, seed=seed, examples=[example])
    inputs = [example, *(dict(example, **{n: v}) for n, v in gen.edge_args(example))]
    for i in range(300):
        args = gen.random_args(LEVELS[i % 2])
        inputs.append(args)
        if gen.names:
            name = gen.names[i % len(gen.names)]
            inputs.append({**args, name: gen.variant(args, name, LEVELS[i % 2])})
    return [a for a in inputs if "<omitted>" not in repr(a)]


def breaks_spec(reference: Callable[..., Any], mutant: Callable[..., Any],
                inputs: list[dict[str, Any]]) -> bool:
    for args in inputs:
        a, b = _outcome(reference, args), _outcome(mutant, args)
        if a[0] != b[0] or not _same(a[1], b[1]):
            return True
    return False


def _load(code: str) -> Callable[..., Any]:
    namespace: dict[str, Any] = {}
    exec(compile(code, "tool.py", "exec"), namespace)
    spec = load_tool_source(code)
    return namespace[spec.name]


def example_of(tool_dir: Path) -> dict[str, Any]:
    """The reference test's call, as keyword arguments."""
    test = (tool_dir / "test_tool.py").read_text()
    call = re.search(r"assert (\w+\((?:.|\n)*?\)) == ", test)
    assert call, tool_dir
    spec = load_tool_source((tool_dir / "tool.py").read_text())
    node = ast.parse(call.group(1), mode="eval").body
    assert isinstance(node, ast.Call)
    names = [p.name for p in spec.params]
    args = {names[i]: ast.literal_eval(a) for i, a in enumerate(node.args)}
    args.update({k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg})
    return args


def mutants_of(tool_dir: Path, rng: random.Random) -> tuple[list[dict[str, Any]], int]:
    code = (tool_dir / "tool.py").read_text()
    tree = ast.parse(code)
    signature = load_tool_source(code).signature
    reference = _load(code)
    inputs = probe_inputs(code, example_of(tool_dir), seed=len(code))
    by_class: dict[str, list[tuple[str, str]]] = {c: [] for c in CLASSES}
    seen = {code}
    equivalent = 0
    for operator in OPERATORS:
        for kind, description, mutated in operator(tree):
            text = ast.unparse(mutated) + "\n"
            if text in seen:
                continue
            seen.add(text)
            try:
                if load_tool_source(text).signature != signature:
                    continue
                mutant = _load(text)
            except Exception:
                continue
            if breaks_spec(reference, mutant, inputs):
                by_class[kind].append((description, text))
            else:
                equivalent += 1
    chosen: list[dict[str, Any]] = []
    pools = {c: rng.sample(v, len(v)) for c, v in by_class.items()}
    while len(chosen) < PER_TOOL and any(pools.values()):
        for kind in CLASSES:
            if pools[kind] and len(chosen) < PER_TOOL:
                description, text = pools[kind].pop()
                chosen.append({"tool": tool_dir.name, "class": kind,
                               "description": description, "code": text})
    return chosen, equivalent


def main() -> None:
    rng = random.Random(12)
    signal.signal(signal.SIGALRM, _alarm)
    records: list[dict[str, Any]] = []
    equivalent = 0
    short: list[str] = []
    for tool_dir in sorted(p for p in TOOLS.iterdir() if p.is_dir()):
        chosen, dropped = mutants_of(tool_dir, rng)
        equivalent += dropped
        if len(chosen) < 8:
            short.append(f"{tool_dir.name} ({len(chosen)})")
        for i, record in enumerate(chosen):
            records.append({"id": f"{tool_dir.name}#{i}", **record})
    with OUT.open("w", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    tools = len({r["tool"] for r in records})
    print(f"{len(records)} spec-breaking mutants of {tools} tools written to {OUT}; "
          f"{equivalent} equivalent candidates dropped")
    counts = {c: sum(r["class"] == c for r in records) for c in CLASSES}
    print("by class: " + ", ".join(f"{c} {n}" for c, n in counts.items()))
    if short:
        print("fewer than 8 mutants: " + ", ".join(short))


if __name__ == "__main__":
    main()
