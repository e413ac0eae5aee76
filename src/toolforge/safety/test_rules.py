"""What a test file must look like for its verdict to mean something (DESIGN.md §5, layer 3).

A test file is written by a model and is as untrusted as the tool. The harness collects its
tests statically and judges every assertion itself (sandbox/testfile.py, harness.py); these
rules make that static picture the truth at run time and refuse the shapes that would let a
file keep its visible assertions while checking nothing:

- tests are module-level `def test_*` functions without decorators or parameters; the module
  holds only imports, functions and literal constants, so nothing runs at import that could
  swap, wrap or rebind a test;
- no name bound at module level (tests, helpers, constants, imports such as the tool's
  function) and no builtin is ever bound again, anywhere; no `global`/`nonlocal`;
- no classes, attribute writes or writes into imported objects (the pytest shim, the tool
  proxy and the standard library are not the test's to change);
- pytest helpers are called directly (`pytest.raises`, `pytest.approx`, `pytest.fail`);
- assertions that cannot fail are refused (`x == x`, `f() or True`, constants, `(x, "msg")`);
- checks sit only where they always run (function bodies, `for` loops over fixed cases,
  pytest.raises blocks), never where a condition computed from the tool's answer could
  step around them; functions that check are called only as statements, so that the harness
  can require every call to run each of their checks;
- no classes, and nothing that builds one (`dataclasses`, `enum`, `abc`, `type(...)(...)`):
  an object whose `__eq__` lies could turn a comparison inside the test green.

`analyse_structure` is shared with the harness, which numbers the same check sites.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from toolforge import pyast

Report = Callable[[ast.AST, str, str], None]
SiteKind = Literal["assert", "raises", "fail", "match", "call"]

PYTEST_CALLS = frozenset({"raises", "approx", "fail"})
BUILTIN_NAMES = frozenset(name for name in dir(builtins) if not name.startswith("_"))
SWALLOWING = frozenset({"AssertionError", "Exception", "BaseException"})
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_CALLABLES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
# Comparisons that hold whenever both sides are the same expression.
_REFLEXIVE = (ast.Eq, ast.Is, ast.LtE, ast.GtE)
_NEGATION: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Lt: ast.GtE, ast.GtE: ast.Lt, ast.Gt: ast.LtE,
    ast.LtE: ast.Gt, ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}


@dataclass
class Site:
    """One place where a test checks something: the harness gives it an id and judges it.

    A "call" site is a statement calling a function that checks (a helper, another test):
    the harness follows each such call and judges the invocation as a whole."""

    kind: SiteKind
    node: ast.AST
    owner: str  # the name of the function it is written in
    fid: int = 0  # that function's index in Structure.scopes
    exempt: bool = False  # `assert False` / pytest.fail(): marks a line that must not run
    callee: int | None = None  # "call" sites: the function called


@dataclass
class Scope:
    """A function of the test file (module-level or nested) and the checks in its own body."""

    fid: int
    node: ast.FunctionDef | ast.AsyncFunctionDef
    parent: int | None
    sites: list[int] = field(default_factory=list)  # indexes into Structure.sites
    checks: bool = False  # it checks something itself or through a function it calls

    @property
    def name(self) -> str:
        return self.node.name


@dataclass
class Structure:
    """What a test file binds and where it checks, from its AST alone."""

    entrypoint: str | None
    pytest_modules: set[str] = field(default_factory=set)  # `import pytest [as pt]`
    pytest_members: dict[str, str] = field(default_factory=dict)  # local -> raises/...
    tool_modules: set[str] = field(default_factory=set)  # `import tool`
    entry_names: set[str] = field(default_factory=set)  # local names of the tool function
    imported: set[str] = field(default_factory=set)  # every name an import binds
    functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = field(default_factory=dict)
    constants: dict[str, ast.expr] = field(default_factory=dict)
    module_names: dict[str, list[ast.AST]] = field(default_factory=dict)  # name -> bindings
    tests: list[str] = field(default_factory=list)
    loads: dict[str, set[str]] = field(default_factory=dict)  # function -> names it reads
    uses_tool: set[str] = field(default_factory=set)  # functions that reach the tool directly
    sites: list[Site] = field(default_factory=list)
    scopes: list[Scope] = field(default_factory=list)
    parents: dict[int, ast.AST] = field(default_factory=dict)  # id(node) -> parent node

    def pytest_member(self, func: ast.expr) -> str | None:
        """`raises` for `pytest.raises`, `pt.raises` or a `from pytest import raises` alias."""
        if isinstance(func, ast.Name):
            return self.pytest_members.get(func.id)
        if (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
                and func.value.id in self.pytest_modules):
            return func.attr
        return None

    def is_tool_function(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Name):
            return node.id in self.entry_names
        return (isinstance(node, ast.Attribute) and node.attr == self.entrypoint
                and isinstance(node.value, ast.Name) and node.value.id in self.tool_modules)

    def reach(self, name: str) -> set[str]:
        """`name` and every module-level function it uses, transitively."""
        seen: set[str] = set()
        todo = [name]
        while todo:
            current = todo.pop()
            if current in seen or current not in self.functions:
                continue
            seen.add(current)
            todo.extend(self.loads.get(current, ()))
        return seen

    def scope_of(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> Scope:
        return next(s for s in self.scopes if s.node is node)

    def own_sites(self, fid: int) -> list[int]:
        """The sites each invocation of function `fid` must run (all but markers)."""
        return [i for i in self.scopes[fid].sites if not self.sites[i].exempt]

    def resolve(self, name: str, fid: int | None) -> Scope | None:
        """The function `name` means inside function `fid`: a nested def of it or of a
        function around it, else a module-level one."""
        while fid is not None:
            for other in self.scopes:
                if other.parent == fid and other.name == name:
                    return other
            fid = self.scopes[fid].parent
        node = self.functions.get(name)
        return self.scope_of(node) if node is not None else None


def analyse_structure(tree: ast.Module, entrypoint: str | None) -> Structure:
    info = Structure(entrypoint)
    info.parents = pyast.parents(tree)
    for node in pyast.walk(tree):  # aliases anywhere: local imports are still imports
        if isinstance(node, ast.Import):
            for alias in node.names:
                local = alias.asname or alias.name.partition(".")[0]
                info.imported.add(local)
                if alias.name == "pytest":
                    info.pytest_modules.add(local)
                elif alias.name == "tool":
                    info.tool_modules.add(local)
        elif isinstance(node, ast.ImportFrom) and not node.level:
            for alias in node.names:
                local = alias.asname or alias.name
                info.imported.add(local)
                if node.module == "pytest":
                    info.pytest_members[local] = alias.name
                elif node.module == "tool" and alias.name == entrypoint:
                    info.entry_names.add(local)
    for statement in tree.body:
        for name in _bound_at_module_level(statement):
            info.module_names.setdefault(name, []).append(statement)
        if isinstance(statement, _FUNCTIONS):
            info.functions.setdefault(statement.name, statement)
            if statement.name.startswith("test") and statement.name not in info.tests:
                info.tests.append(statement.name)
        elif isinstance(statement, ast.Assign | ast.AnnAssign) and statement.value is not None:
            targets = statement.targets if isinstance(statement, ast.Assign) \
                else [statement.target]
            for target in targets:
                if isinstance(target, ast.Name) and _is_literal(statement.value):
                    info.constants[target.id] = statement.value
    for name, function in info.functions.items():
        loads: set[str] = set()
        for node in pyast.walk(function):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                loads.add(node.id)
            if isinstance(node, ast.Name | ast.Attribute) and info.is_tool_function(node):
                info.uses_tool.add(name)
        info.loads[name] = loads
    _scopes(tree, info)
    return info


def _scopes(tree: ast.Module, info: Structure) -> None:
    """Functions as scopes, their own check sites, which of them check, and call sites."""
    pending: list[tuple[ast.AST, int | None]] = [(s, None) for s in tree.body]
    while pending:
        node, parent = pending.pop(0)
        if isinstance(node, _FUNCTIONS):
            scope = Scope(len(info.scopes), node, parent)
            info.scopes.append(scope)
            pending.extend((child, scope.fid) for child in _own_nodes(node)
                           if isinstance(child, _FUNCTIONS))
    raises_targets = {
        item.optional_vars.id for node in pyast.walk(tree) if isinstance(node, ast.With)
        for item in node.items
        if isinstance(item.context_expr, ast.Call) and isinstance(item.optional_vars, ast.Name)
        and info.pytest_member(item.context_expr.func) == "raises"
    }
    found: list[Site] = []
    for scope in info.scopes:
        for node in _own_nodes(scope.node):
            if isinstance(node, ast.Assert):
                found.append(Site("assert", node, scope.name, scope.fid,
                                  exempt=_always_false(node.test)))
            elif isinstance(node, ast.Call):
                member = info.pytest_member(node.func)
                if member == "raises":
                    found.append(Site("raises", node, scope.name, scope.fid))
                elif member == "fail":
                    found.append(Site("fail", node, scope.name, scope.fid, exempt=True))
                elif (isinstance(node.func, ast.Attribute) and node.func.attr == "match"
                      and isinstance(node.func.value, ast.Name)
                      and node.func.value.id in raises_targets):
                    found.append(Site("match", node, scope.name, scope.fid))
    for site in found:
        if not site.exempt:
            info.scopes[site.fid].checks = True
    calls = [(scope, node) for scope in info.scopes for node in _own_nodes(scope.node)
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)]
    changed = True
    while changed:  # a function that calls a checking function checks too
        changed = False
        for scope, call in calls:
            callee = info.resolve(call.func.id, scope.fid)  # type: ignore[attr-defined]
            if callee is not None and callee.checks and not scope.checks:
                scope.checks = changed = True
    for scope, call in calls:
        callee = info.resolve(call.func.id, scope.fid)  # type: ignore[attr-defined]
        if callee is not None and callee.checks:
            found.append(Site("call", call, scope.name, scope.fid, callee=callee.fid))
    found.sort(key=lambda s: (getattr(s.node, "lineno", 0), getattr(s.node, "col_offset", 0)))
    info.sites = found
    for index, site in enumerate(found):
        info.scopes[site.fid].sites.append(index)


def _own_nodes(function: ast.AST) -> list[ast.AST]:
    """Every node of `function`'s own body: nested functions are listed, not entered.
    Kept on the node, like `pyast.walk`."""
    found: list[ast.AST] | None = function.__dict__.get("_tf_own")
    if found is not None:
        return found
    found = []
    stack: list[ast.AST] = []
    if isinstance(function, _FUNCTIONS):
        stack = [*function.body, *function.args.defaults,
                 *(d for d in function.args.kw_defaults if d)]
    while stack:
        node = stack.pop()
        found.append(node)
        if not isinstance(node, _DEFINITIONS):
            stack.extend(ast.iter_child_nodes(node))
    function._tf_own = found  # type: ignore[attr-defined]
    return found


# --- the rules -----------------------------------------------------------------------------


def check_test_file(tree: ast.Module, entrypoint: str | None, report: Report,
                    info: Structure | None = None) -> Structure:
    """Report every test-file rule violation; returns the structure for further use (`info`:
    `analyse_structure(tree, entrypoint)`, when the caller has it already)."""
    if info is None:
        info = analyse_structure(tree, entrypoint)
    _mark_context(tree)
    _module_level(tree, info, report)
    _identifiers(tree, report)
    _bindings(tree, info, report)
    _type_uses(tree, report)
    _placement(info, report)
    top_level = {id(statement) for statement in tree.body}
    for node in pyast.walk(tree):
        if isinstance(node, _DEFINITIONS) and id(node) not in top_level:
            if isinstance(node, ast.AsyncFunctionDef):
                report(node, "TF411", "async functions are not supported in test files")
            elif isinstance(node, ast.ClassDef):
                report(node, "TF412", "classes are not supported in test files")
        _node_rules(node, info, report)
    if not info.tests:
        report(tree, "TF407", "the test file defines no test_* function")
        return info
    if entrypoint and not info.uses_tool:
        report(tree, "TF402", f"the tests never reference `{entrypoint}`: add "
               f"`from tool import {entrypoint}` and call it")
    for name in info.tests:
        node = info.functions[name]
        reach = info.reach(name)
        if not info.scope_of(node).checks:
            report(node, "TF401", f"`{name}` has no assert and no pytest.raises: it cannot fail")
        if entrypoint and info.uses_tool and not reach & info.uses_tool:
            report(node, "TF403", f"`{name}` never calls `{entrypoint}`")
    return info


def _placement(info: Structure, report: Report) -> None:
    """Checks sit where they always run: in function bodies, `for` loops and pytest.raises
    blocks, never under `if`/`while`/`try`/`match`/another `with`, in an expression that may
    not evaluate them, or after a `return`/`break`/`continue`. Functions that check are
    called only as statements, and each call is followed by the harness; so no condition
    computed from the tool's answer can step around a check."""
    judged_loops: set[int] = set()
    for site in info.sites:
        if site.exempt:
            continue  # `assert False` / pytest.fail(): markers of lines that must not run
        statement = _statement_of(site, info)
        if statement is None:
            what = "a call of a function that checks" if site.kind == "call" else "a check"
            report(site.node, "TF419", f"{what} inside an expression may never be evaluated: "
                   "make it a statement of its own")
            continue
        owner = info.scopes[site.fid].node
        node: ast.AST = statement
        while node is not owner:
            parent = info.parents.get(id(node))
            if parent is None:
                break
            if isinstance(parent, ast.For) and node in parent.body:
                if id(parent) not in judged_loops:
                    judged_loops.add(id(parent))
                    if not _fixed_cases(parent.iter, parent, owner, info):
                        report(parent.iter, "TF419", "a loop around checks must go over fixed "
                               "cases (a literal list, a constant, range(n), zip/enumerate/"
                               "sorted of those): cases computed from the tool's answers could "
                               "leave out the failing one")
                node = parent
                continue
            if isinstance(parent, ast.With) and all(
                isinstance(i.context_expr, ast.Call)
                and info.pytest_member(i.context_expr.func) == "raises" for i in parent.items
            ) and node in parent.body:
                node = parent
                continue
            if parent is not owner:
                report(statement, "TF419", f"a check inside `{_keyword(parent)}` can be "
                       "skipped: keep checks in the test body, `for` loops and pytest.raises "
                       "blocks (assert on a condition instead of branching on it)")
                break
            node = parent
    for scope in info.scopes:
        if not scope.checks:
            continue
        body = scope.node.body
        for node in _own_nodes(scope.node):
            if isinstance(node, ast.Break | ast.Continue) or (
                isinstance(node, ast.Return) and node is not body[-1]
            ):
                report(node, "TF419", f"`{_keyword(node)}` in `{scope.name}`, which checks, "
                       "can step over its checks: only a final `return` is allowed")
            elif isinstance(node, ast.Yield | ast.YieldFrom | ast.Await):
                report(node, "TF419", f"`{scope.name}` checks, so it cannot be a generator "
                       "(calling it would run none of its checks)")
        if scope.parent is not None and not any(
            info.sites[i].callee == scope.fid for i in info.scopes[scope.parent].sites
        ):
            report(scope.node, "TF419", f"`{scope.name}` checks but is never called where "
                   "it is defined")
    calls = {id(site.node.func) for site in info.sites  # type: ignore[attr-defined]
             if site.kind == "call" and _statement_of(site, info) is not None}
    for scope in info.scopes:
        for node in _own_nodes(scope.node):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and (
                id(node) not in calls
            ):
                target = info.resolve(node.id, scope.fid)
                if target is not None and target.checks and target.name == node.id:
                    report(node, "TF419", f"`{node.id}` checks: call it as a statement, "
                           f"`{node.id}(...)`, rather than passing it around")


_FIXED_CALLS = frozenset({"range", "enumerate", "zip", "sorted", "reversed", "list", "tuple",
                          "len"})
_FIXED_METHODS = frozenset({"items", "keys", "values"})


def _fixed_cases(expr: ast.expr, loop: ast.For, owner: ast.AST, info: Structure) -> bool:
    """Whether a loop's iterable has a number of items the tool cannot change: literal lists
    and tuples (whatever they hold), constants, the variables of enclosing loops over fixed
    cases, and range/len/enumerate/zip/sorted/reversed/list/tuple/.items() of those."""
    constants = {**info.constants, **_local_constants(owner)}
    fixed_names = set(constants)
    node: ast.AST | None = info.parents.get(id(loop))
    while node is not None and node is not owner:  # variables of enclosing fixed loops
        if isinstance(node, ast.For) and _fixed_cases(node.iter, node, owner, info):
            fixed_names |= {n.id for n in pyast.walk(node.target) if isinstance(n, ast.Name)}
        node = info.parents.get(id(node))

    def fixed(e: ast.expr) -> bool:
        if isinstance(e, ast.Constant):
            return True
        if isinstance(e, ast.List | ast.Tuple):
            return not any(isinstance(x, ast.Starred) for x in e.elts)
        if isinstance(e, ast.Dict):
            return all(k is not None and isinstance(k, ast.Constant) for k in e.keys)
        if isinstance(e, ast.Name):
            return e.id in fixed_names
        if isinstance(e, ast.Subscript):
            return fixed(e.value) and isinstance(e.slice, ast.Constant)
        if isinstance(e, ast.Call) and not e.keywords and not any(
            isinstance(a, ast.Starred) for a in e.args
        ):
            if isinstance(e.func, ast.Name) and e.func.id in _FIXED_CALLS:
                return all(fixed(a) for a in e.args)
            if isinstance(e.func, ast.Attribute) and e.func.attr in _FIXED_METHODS:
                return not e.args and fixed(e.func.value)
        return False

    return fixed(expr)


def _statement_of(site: Site, info: Structure) -> ast.stmt | None:
    """The statement a check is, or None when it sits inside an expression that might not
    evaluate it (`x and check()`, a lambda, a comprehension, an argument)."""
    node = site.node
    if isinstance(node, ast.Assert):
        return node
    parent = info.parents.get(id(node))
    if site.kind == "raises" and isinstance(parent, ast.withitem):
        return info.parents.get(id(parent))  # type: ignore[return-value]
    if isinstance(parent, ast.Expr) or (
        site.kind == "raises" and isinstance(parent, ast.Assign | ast.AnnAssign)
    ):
        return parent
    return None


def _keyword(node: ast.AST) -> str:
    names = {ast.If: "if", ast.While: "while", ast.Try: "try", ast.With: "with",
             ast.Match: "match", ast.For: "for ... else", ast.Return: "return",
             ast.Break: "break", ast.Continue: "continue"}
    return names.get(type(node), type(node).__name__.lower())


def _module_level(tree: ast.Module, info: Structure, report: Report) -> None:
    for statement in tree.body:
        if isinstance(statement, ast.FunctionDef):
            _definition_time(statement, report)
            continue
        if isinstance(statement, ast.Import | ast.ImportFrom):
            continue
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
            continue  # docstrings
        if isinstance(statement, ast.AsyncFunctionDef):
            report(statement, "TF411", "async functions are not supported in test files")
        elif isinstance(statement, ast.ClassDef):
            report(statement, "TF412", f"class {statement.name}: test classes and classes "
                   "in test files are not supported; write test_* functions and helpers")
        elif _is_constant_assignment(statement):
            if isinstance(statement, ast.AnnAssign) and not _inert(statement.annotation):
                report(statement.annotation, "TF409", "this annotation runs code at import: "
                       "annotate with plain type names")
            continue
        else:
            report(statement, "TF409", "module-level code runs at import and can change "
                   "what the tests do: only imports, functions and literal constants (NAME = "
                   "a literal) are allowed outside functions")
    for name, bindings in info.module_names.items():
        for binding in bindings[1:]:
            if name in info.tests:
                report(binding, "TF406", f"`{name}` is defined twice: the first is never run")
            else:
                report(binding, "TF405", f"`{name}` is bound twice at module level")
        if name in BUILTIN_NAMES:
            report(bindings[0], "TF405", f"`{name}` shadows a builtin: rename it")
    for name in info.tests:
        function = info.functions[name]
        arguments = function.args
        if (arguments.args or arguments.posonlyargs or arguments.kwonlyargs
                or arguments.vararg or arguments.kwarg):
            report(function, "TF411", f"`{name}` takes arguments: tests take none (fixtures "
                   "and parametrize are not supported; loop over a list of cases instead)")
        if any(isinstance(n, ast.Yield | ast.YieldFrom) for n in _walk_own(function.body)):
            report(function, "TF411", f"`{name}` is a generator: a test may not yield")


def _definition_time(function: ast.FunctionDef, report: Report) -> None:
    """A module-level `def` runs its defaults and annotations at import: keep them inert."""
    arguments = function.args
    for default in [*arguments.defaults, *(d for d in arguments.kw_defaults if d)]:
        if not _is_literal(default):
            report(default, "TF409", "a default value runs at import: only literal defaults "
                   "are allowed in test files")
    annotations = [a.annotation for a in pyast.walk(arguments) if isinstance(a, ast.arg)]
    for annotation in [*annotations, function.returns]:
        if annotation is not None and not _inert(annotation):
            report(annotation, "TF409", "this annotation runs code at import: annotate with "
                   "plain type names")


def _inert(expr: ast.expr) -> bool:
    """Names, attributes, subscripts, constants and `|`: evaluating it calls nothing."""
    return all(isinstance(n, ast.Name | ast.Attribute | ast.Subscript | ast.Constant
                          | ast.Tuple | ast.List | ast.BinOp | ast.BitOr | ast.expr_context)
               and (not isinstance(n, ast.BinOp) or isinstance(n.op, ast.BitOr))
               for n in pyast.walk(expr))


def _identifiers(tree: ast.Module, report: Report) -> None:
    """ASCII names only: a look-alike letter (Cyrillic `а`) could make a helper read like
    the tool's function in an assertion that looks untouched."""
    for node in pyast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Name):
            names = [node.id]
        elif isinstance(node, ast.Attribute):
            names = [node.attr]
        elif isinstance(node, ast.arg):
            names = [node.arg]
        elif isinstance(node, _DEFINITIONS):
            names = [node.name]
        elif isinstance(node, ast.alias):
            names = [node.name, node.asname or ""]
        elif isinstance(node, ast.keyword) and node.arg:
            names = [node.arg]
        for name in names:
            if not name.isascii():
                report(node, "TF417", f"the name {name!r} is not ASCII: look-alike letters "
                       "can make one name read like another; use ASCII names")


def _bindings(tree: ast.Module, info: Structure, report: Report) -> None:
    """Nothing module-level and no builtin is bound again below module level; the names
    `tool`, `pytest` and the tool's function name mean only what their imports bind."""
    protected = set(info.module_names) | BUILTIN_NAMES
    reserved = {"tool", "pytest", *([info.entrypoint] if info.entrypoint else [])}
    for node in pyast.walk(tree):
        for bound, proper in _reserved_bindings(node, reserved):
            if not proper:
                report(node, "TF405", f"`{bound}` may only name "
                       + ("the tool's function (`from tool import "
                          f"{bound}`)" if bound == info.entrypoint else
                          f"the `{bound}` module (`import {bound}`)"))
    for function in (n for n in pyast.walk(tree) if isinstance(n, _SCOPES)):
        for node, name in _local_bindings(function):
            if _is_own_import(node, name):
                continue  # `from tool import add` again: the same object
            if name in info.module_names:
                what = "a test" if name in info.tests else (
                    "the tool's function" if name in info.entry_names else "a module-level name")
                report(node, "TF405", f"`{name}` is {what}: binding it here would change "
                       "what the code around it sees; use another name")
            elif name in protected:
                report(node, "TF405", f"`{name}` shadows a builtin: use another name")
    for node in pyast.walk(tree):
        if isinstance(node, ast.Global | ast.Nonlocal):
            report(node, "TF405", f"`{'global' if isinstance(node, ast.Global) else 'nonlocal'}"
                   "` rebinds names outside the function: tests keep their state local")


def _reserved_bindings(node: ast.AST, reserved: set[str]) -> Iterator[tuple[str, bool]]:
    """(name, bound by its proper import) for each reserved name `node` binds."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            local = alias.asname or alias.name.partition(".")[0]
            if local in reserved:
                yield local, alias.name == local
    elif isinstance(node, ast.ImportFrom):
        for alias in node.names:
            local = alias.asname or alias.name
            if local in reserved:
                yield local, node.module == "tool" and alias.name == local and not node.level
    elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
        if node.id in reserved:
            yield node.id, False
    elif isinstance(node, _DEFINITIONS) and node.name in reserved:
        yield node.name, False
    elif isinstance(node, ast.arg) and node.arg in reserved:
        yield node.arg, False
    elif isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and (
        node.name in reserved
    ):
        yield str(node.name), False


def _is_own_import(node: ast.AST, name: str) -> bool:
    """`from tool import add` / `import pytest` inside a function: binds the same object."""
    if isinstance(node, ast.ImportFrom) and node.module in ("tool", "pytest"):
        return any((a.asname or a.name) == name and a.name == name for a in node.names)
    if isinstance(node, ast.Import):
        return any(a.name == name and a.asname in (None, name) and name in ("tool", "pytest")
                   for a in node.names)
    return False


def _type_uses(tree: ast.Module, report: Report) -> None:
    """`type(x)` only as an operand of a comparison (`type(r) is int`): the class it returns
    must not be called (`type(t)("C", (), namespace)` builds a class) or passed around."""
    allowed: set[int] = set()
    for node in pyast.walk(tree):
        if isinstance(node, ast.Compare):
            for operand in [node.left, *node.comparators]:
                if (isinstance(operand, ast.Call) and isinstance(operand.func, ast.Name)
                        and operand.func.id == "type" and len(operand.args) == 1
                        and not operand.keywords):
                    allowed.add(id(operand.func))
    for node in pyast.walk(tree):
        if isinstance(node, ast.Name) and node.id == "type" and isinstance(node.ctx, ast.Load) \
                and id(node) not in allowed:
            report(node, "TF418", "`type` in a test file only as `type(value)` in a "
                   "comparison: anything else could build a class (use isinstance)")


def _node_rules(node: ast.AST, info: Structure, report: Report) -> None:
    if isinstance(node, _DEFINITIONS) and node.decorator_list:
        report(node.decorator_list[0], "TF408", "decorators are not supported in test files: "
               "fixtures and parametrize cannot be used; loop over a list of cases inside "
               "the test")
    if isinstance(node, ast.Attribute) and not isinstance(node.ctx, ast.Load):
        report(node, "TF413", f"assigning or deleting `.{node.attr}` changes an object the "
               "test did not make (the tool proxy, pytest, the standard library): not allowed")
    if isinstance(node, ast.Subscript) and not isinstance(node.ctx, ast.Load):
        root = _root_name(node)
        if root is not None and (root in info.imported or root in BUILTIN_NAMES):
            report(node, "TF413", f"writing into `{root}[...]` changes an object the test "
                   "did not make: not allowed")
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Name) and func.id in ("setattr", "delattr"):
            report(node, "TF413", f"`{func.id}` changes objects the test did not make")
    if isinstance(node, ast.Name | ast.Attribute) and isinstance(node.ctx, ast.Load):
        _pytest_use(node, info, report)
        _tool_use(node, info, report)
    if isinstance(node, ast.ImportFrom) and node.module == "tool":
        for alias in node.names:
            if alias.name != info.entrypoint and not alias.name[:1].isupper():
                report(node, "TF416", f"`from tool import {alias.name}`: tests see only "
                       f"`{info.entrypoint}` (and the tool's exception classes, by name)")
    if isinstance(node, ast.Assert):
        _assert_rules(node, info, report)
    if isinstance(node, ast.Try | ast.TryStar) and _has_assert(node.body):
        for handler in node.handlers:
            caught = _caught_names(handler.type) & SWALLOWING
            if caught:
                report(handler, "TF404", f"catching {sorted(caught)[0]} around an assert "
                       "hides its failure")
    if isinstance(node, ast.With | ast.AsyncWith) and _has_assert(node.body):
        for item in node.items:
            call = item.context_expr
            if isinstance(call, ast.Call) and _callee_name(call.func) == "suppress" and (
                set().union(*(_caught_names(a) for a in call.args)) & SWALLOWING
            ):
                report(call, "TF404", "suppressing exceptions around an assert hides its "
                       "failure")
            elif isinstance(call, ast.Call) and info.pytest_member(call.func) == "raises":
                report(call, "TF404", "an assert inside a pytest.raises block never runs "
                       "once the expected exception is raised: assert after the block")


def _pytest_use(node: ast.Name | ast.Attribute, info: Structure, report: Report) -> None:
    member = info.pytest_member(node)
    if member not in PYTEST_CALLS:
        return  # other members: the checker's member rules refuse them with the reason
    if not getattr(node, "_tf_called", False):
        report(node, "TF414", f"pytest.{member} may only be called directly, not passed "
               "around or stored")


def _tool_use(node: ast.Name | ast.Attribute, info: Structure, report: Report) -> None:
    if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
            and node.value.id in info.tool_modules and node.attr != info.entrypoint
            and not node.attr[:1].isupper()):
        report(node, "TF416", f"`tool.{node.attr}`: tests see only `{info.entrypoint}` (and "
               "the tool's exception classes, by name)")


def _assert_rules(node: ast.Assert, info: Structure, report: Report) -> None:
    for child in pyast.walk(node.test):
        if isinstance(child, ast.NamedExpr | ast.Yield | ast.YieldFrom | ast.Await):
            report(child, "TF415", "an assert's expression may not bind names (:=), yield or "
                   "await: compute the value before the assert")
            return
    if _always_false(node.test):
        return  # `assert False`: marks a line that must not be reached
    scope = _innermost_scope(node, info)
    constants = dict(info.constants)
    if scope is not None:
        constants.update(_local_constants(scope))
    reason = _always_true(node.test, info, constants)
    if reason is None and not _varies(node.test, info, constants, scope):
        reason = "it uses no value the test computed"
    if reason:
        report(node, "TF410", f"this assert cannot fail: {reason}")


# --- assertions that cannot fail -------------------------------------------------------------


def _always_true(expr: ast.expr, info: Structure, constants: dict[str, ast.expr],
                 depth: int = 0) -> str | None:
    """Why `expr` is true whatever the tool does, or None if it may be false."""
    if depth > 50:
        return None
    again = lambda e: _always_true(e, info, constants, depth + 1)  # noqa: E731
    literal = _literal_value(expr, constants)
    if literal is not _UNKNOWN:
        return "it is a constant that is true" if _truthy(literal) else None
    if isinstance(expr, ast.Tuple | ast.List | ast.Set | ast.Dict):
        items = expr.keys if isinstance(expr, ast.Dict) else expr.elts
        return "a non-empty container is always true" if items else None
    if isinstance(expr, ast.JoinedStr) and any(
        isinstance(v, ast.Constant) and v.value for v in expr.values
    ):
        return "a non-empty f-string is always true"
    if isinstance(expr, ast.Lambda):
        return "a function is always true"
    if isinstance(expr, ast.Name) and (expr.id in info.functions or expr.id in info.entry_names
                                       or expr.id in info.tool_modules
                                       or expr.id in info.pytest_modules):
        return f"`{expr.id}` is a function or module, which is always true"
    if isinstance(expr, ast.UnaryOp) and isinstance(expr.op, ast.Not):
        return "it negates something that is always false" if _always_false(expr.operand) \
            else None
    if isinstance(expr, ast.BoolOp):
        reasons = [again(v) for v in expr.values]
        if isinstance(expr.op, ast.Or):
            if any(reasons):
                return "one side of `or` is always true"
            if _complementary(expr.values):
                return "it is `A or not A`"
        elif all(reasons):
            return "every part of `and` is always true"
        return None
    if isinstance(expr, ast.IfExp):
        return "both branches are always true" if again(expr.body) and again(expr.orelse) \
            else None
    if isinstance(expr, ast.Compare):
        return _compare_always_true(expr)
    if isinstance(expr, ast.Call):
        name = _callee_name(expr.func)
        if isinstance(expr.func, ast.Name) and name in BUILTIN_NAMES:
            if name in ("repr", "type", "id", "callable") and len(expr.args) == 1 and (
                name != "callable" or again(expr.args[0])
            ):
                return f"`{name}(...)` is always true"
            if name == "isinstance" and len(expr.args) == 2 and _names_object(expr.args[1]):
                return "everything is an instance of object"
            if name == "all" and len(expr.args) == 1 and isinstance(
                expr.args[0], ast.GeneratorExp | ast.ListComp | ast.SetComp
            ) and any(_same(expr.args[0].elt, condition)
                      for generator in expr.args[0].generators for condition in generator.ifs):
                return "all() over only the items that pass is always true"
    return None


def _compare_always_true(expr: ast.Compare) -> str | None:
    operands = [expr.left, *expr.comparators]
    for left, op, right in zip(operands, expr.ops, operands[1:], strict=False):
        left, right = _unwrap_approx(left), _unwrap_approx(right)
        if isinstance(op, _REFLEXIVE) and _same(left, right) and (
            not isinstance(op, ast.Is) or _names_one_object(left)
        ):
            return "it compares an expression with itself"
        if isinstance(op, ast.In) and isinstance(right, ast.Tuple | ast.List | ast.Set) and any(
            _same(left, element) for element in right.elts
        ):
            return "the value is listed in the container it is looked up in"
        # max(x, E) >= E, min(x, E) <= E (and the same written the other way round)
        for bigger, smaller, strict in ((left, right, isinstance(op, ast.Gt)),
                                        (right, left, isinstance(op, ast.Lt))):
            if isinstance(op, ast.GtE | ast.Gt) and bigger is right:
                continue
            if isinstance(op, ast.LtE | ast.Lt) and bigger is left:
                continue
            if isinstance(op, ast.GtE | ast.Gt | ast.LtE | ast.Lt) and not strict and (
                _extreme_of(bigger, "max", smaller) or _extreme_of(smaller, "min", bigger)
            ):
                return "a max() is never below its arguments, a min() never above them"
        # len(x) >= 0, abs(x) > -1, 0 <= len(x)
        bound, strict = None, False
        if isinstance(op, ast.GtE | ast.Gt) and _non_negative(left):
            bound, strict = _number(right), isinstance(op, ast.Gt)
        elif isinstance(op, ast.LtE | ast.Lt) and _non_negative(right):
            bound, strict = _number(left), isinstance(op, ast.Lt)
        if bound is not None and (bound < 0 or (bound == 0 and not strict)):
            return "a length or absolute value is never negative"
    return None


def _complementary(values: list[ast.expr]) -> bool:
    for a in values:
        for b in values:
            if isinstance(b, ast.UnaryOp) and isinstance(b.op, ast.Not) and _same(a, b.operand):
                return True
            if (isinstance(a, ast.Compare) and isinstance(b, ast.Compare)
                    and len(a.ops) == len(b.ops) == 1
                    and _NEGATION.get(type(a.ops[0])) is type(b.ops[0])
                    and _same(a.left, b.left) and _same(a.comparators[0], b.comparators[0])):
                return True
    return False


def _always_false(expr: ast.expr) -> bool:
    """`assert False` / `assert 0` / `assert None`: a line that must never be reached."""
    return isinstance(expr, ast.Constant) and not expr.value


def _varies(expr: ast.expr, info: Structure, constants: dict[str, ast.expr],
            scope: ast.AST | None) -> bool:
    """Whether `expr` reads anything but constants, builtins and standard-library names."""
    local = {name for _, name in _local_bindings(scope)} if scope is not None else set()
    for node in pyast.walk(expr):
        if isinstance(node, ast.Name) and node.id not in constants:
            if node.id in local or node.id in info.functions or node.id in info.entry_names \
                    or node.id in info.tool_modules:
                return True
            if node.id not in BUILTIN_NAMES and node.id not in info.imported:
                return True  # an unknown name: let it fail at run time instead
        if isinstance(node, ast.Lambda | ast.comprehension):
            return True  # its own variables vary; too clever to judge here
    return False


_UNKNOWN = object()


def _literal_value(expr: ast.expr, constants: dict[str, ast.expr]) -> object:
    if isinstance(expr, ast.Name) and expr.id in constants:
        expr = constants[expr.id]
    if not _is_literal(expr):
        return _UNKNOWN
    try:
        return pyast.literal_eval(expr)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _UNKNOWN


def _truthy(value: object) -> bool:
    try:
        return bool(value)
    except Exception:
        return False


def _is_literal(expr: ast.expr) -> bool:
    try:
        pyast.literal_eval(expr)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def _is_constant_assignment(statement: ast.stmt) -> bool:
    if isinstance(statement, ast.Assign):
        return all(isinstance(t, ast.Name) for t in statement.targets) and _is_literal(
            statement.value)
    if isinstance(statement, ast.AnnAssign):
        return (isinstance(statement.target, ast.Name) and statement.value is not None
                and _is_literal(statement.value))
    return False


def _local_constants(scope: ast.AST) -> dict[str, ast.expr]:
    """Locals assigned exactly once, from a literal, and never otherwise bound."""
    counts: dict[str, int] = {}
    values: dict[str, ast.expr] = {}
    for node, name in _local_bindings(scope):
        counts[name] = counts.get(name, 0) + 1
        if (isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)
                and isinstance(getattr(node, "_tf_assigned", None), ast.expr)):
            values[name] = node._tf_assigned  # type: ignore[attr-defined]
    return {name: value for name, value in values.items()
            if counts.get(name) == 1 and _is_literal(value)}


def _unwrap_approx(expr: ast.expr) -> ast.expr:
    return expr.args[0] if (isinstance(expr, ast.Call) and _callee_name(expr.func) == "approx"
                            and expr.args) else expr


def _extreme_of(call: ast.expr, name: str, operand: ast.expr) -> bool:
    return (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
            and call.func.id == name and any(_same(a, operand) for a in call.args))


def _non_negative(expr: ast.expr) -> bool:
    return isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and \
        expr.func.id in ("len", "abs") and len(expr.args) == 1


def _number(expr: ast.expr) -> float | None:
    try:
        value = pyast.literal_eval(expr)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    return value if type(value) in (int, float) else None


def _names_object(expr: ast.expr) -> bool:
    if isinstance(expr, ast.Name):
        return expr.id == "object"
    return isinstance(expr, ast.Tuple) and any(_names_object(e) for e in expr.elts)


def _names_one_object(expr: ast.expr) -> bool:
    """`x`, `x.y`, `x[0]`: evaluating it twice gives the same object (no calls, no literals
    that build new ones)."""
    return all(isinstance(n, ast.Name | ast.Attribute | ast.Subscript | ast.Constant
                          | ast.expr_context) for n in pyast.walk(expr))


def _same(a: ast.AST, b: ast.AST) -> bool:
    return ast.dump(a) == ast.dump(b)


# --- helpers ---------------------------------------------------------------------------------


def _bound_at_module_level(statement: ast.stmt) -> Iterator[str]:
    if isinstance(statement, ast.Import):
        for alias in statement.names:
            yield alias.asname or alias.name.partition(".")[0]
    elif isinstance(statement, ast.ImportFrom):
        for alias in statement.names:
            if alias.name != "*":
                yield alias.asname or alias.name
    elif isinstance(statement, _DEFINITIONS):
        yield statement.name
    else:
        for node in pyast.walk(statement):
            if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
                yield node.id
            elif isinstance(node, ast.alias):  # pragma: no cover - imports handled above
                continue


def _local_bindings(scope: ast.AST) -> list[tuple[ast.AST, str]]:
    """(node, name) for every name `scope` binds in its own body (not nested scopes); kept
    on the node, like `pyast.walk` (each assert asks about its function)."""
    found: list[tuple[ast.AST, str]] | None = scope.__dict__.get("_tf_bindings")
    if found is None:
        found = scope._tf_bindings = list(_find_local_bindings(scope))  # type: ignore[attr-defined]
    return found


def _find_local_bindings(scope: ast.AST) -> Iterator[tuple[ast.AST, str]]:
    if isinstance(scope, _CALLABLES):
        for arg in pyast.walk(scope.args):
            if isinstance(arg, ast.arg):
                yield arg, arg.arg
    body: list[ast.AST] = [scope.body] if isinstance(scope, ast.Lambda) else list(
        getattr(scope, "body", []))
    stack = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, _SCOPES):
            if isinstance(node, _DEFINITIONS):
                yield node, node.name
            # defaults and decorators are evaluated here; bodies are their own scopes
            if isinstance(node, _CALLABLES):
                stack.extend(node.args.defaults + [d for d in node.args.kw_defaults if d])
            continue
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    target._tf_assigned = node.value  # type: ignore[attr-defined]
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            yield node, node.id
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                if alias.name != "*":
                    yield node, alias.asname or alias.name.partition(".")[0]
        elif isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and node.name:
            yield node, node.name
        elif isinstance(node, ast.MatchMapping) and node.rest:
            yield node, node.rest
        stack.extend(ast.iter_child_nodes(node))


def _walk_own(body: list[ast.stmt]) -> Iterator[ast.AST]:
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        yield node
        stack.extend(c for c in ast.iter_child_nodes(node) if not isinstance(c, _SCOPES))


def _has_assert(body: list[ast.stmt]) -> bool:
    return any(isinstance(n, ast.Assert) for n in _walk_own(body))


def _caught_names(handler_type: ast.expr | None) -> set[str]:
    if handler_type is None:
        return {"BaseException"}
    elts = handler_type.elts if isinstance(handler_type, ast.Tuple) else [handler_type]
    return {e.id if isinstance(e, ast.Name) else e.attr for e in elts
            if isinstance(e, ast.Name | ast.Attribute)}


def _callee_name(func: ast.expr) -> str:
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _root_name(node: ast.expr) -> str | None:
    while isinstance(node, ast.Attribute | ast.Subscript):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _innermost_scope(node: ast.AST, info: Structure) -> ast.AST | None:
    """The innermost function whose body holds `node` (by position)."""
    line = getattr(node, "lineno", 0)
    found: ast.AST | None = None
    for function in info.functions.values():
        if function.lineno <= line <= (function.end_lineno or function.lineno):
            found = function
            for inner in pyast.walk(function):
                if inner is not function and isinstance(inner, _FUNCTIONS) and (
                    inner.lineno <= line <= (inner.end_lineno or inner.lineno)
                ):
                    found = inner
    return found


def _mark_context(tree: ast.Module) -> None:
    """Mark the nodes that are called, for the rules that need to know."""
    for node in pyast.walk(tree):
        if isinstance(node, ast.Call):
            node.func._tf_called = True  # type: ignore[attr-defined]


__all__ = ["BUILTIN_NAMES", "Site", "Structure", "analyse_structure", "check_test_file"]
