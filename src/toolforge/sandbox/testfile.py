"""A test file, checked and compiled by the parent (trusted) process.

The parent parses `test_tool.py` once and decides everything the verdict depends on before
any of it runs:
- the static checker with the test-file rules (`safety/test_rules.py`), always, whatever the
  validation's `static` option says: the verdict rests on what a test file can reach;
- which tests exist: module-level `def test_*` functions, in order (the runner is told which
  code objects to run; it never looks tests up by name);
- every check site (each `assert`, `pytest.raises`, `pytest.fail`, `info.match`, and each
  statement calling a function that checks), with an id, and for each function the sites
  every invocation of it must run;
- each assert's shape (`guest/judge.py`): the runner sends only the operand values, and the
  parent decides with its own copy of the shape.

Asserts are compiled into `@tf.check(id, lambda: a, lambda: b, msg=...)` calls (operands are
evaluated lazily and in Python's order, so `x is not None and x[0] == 1` still short-cuts).
`@tf.`-names are not identifiers: no source code can name, rebind or reach them. The code
object goes to the runner marshalled, so the runner needs no compiler pass of its own.
"""

from __future__ import annotations

import ast
import base64
import marshal
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from toolforge import pyast
from toolforge.safety.checker import Finding, check_source, check_test_tree
from toolforge.safety.test_rules import Site, Structure, analyse_structure

TEST_FILE = "test_tool.py"
_OPERATORS: dict[type[ast.cmpop], str] = {
    ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
    ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in",
}
_ISCLOSE_OPTIONS = ("rel_tol", "abs_tol")
CHECK, RAISES, FAIL, MATCH, CALL = "@tf.check", "@tf.raises", "@tf.fail", "@tf.match", "@tf.call"


@dataclass
class CheckSite:
    """One check the parent judges: where it is and, for an assert, its shape."""

    id: int
    kind: Literal["assert", "raises", "fail", "match", "call"]
    line: int
    text: str
    function: str
    fid: int = 0  # the function it is written in
    exempt: bool = False
    shape: list[Any] | None = None
    operands: list[str] = field(default_factory=list)  # source of each value read
    callee: int | None = None  # "call": the function it calls


@dataclass
class SuiteFile:
    label: str
    source: str = ""
    test_names: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # the checker's, for the static layer
    code_b64: str | None = None
    sites: list[CheckSite] = field(default_factory=list)
    own_sites: list[list[int]] = field(default_factory=list)  # function -> sites to run
    test_fids: dict[str, int] = field(default_factory=dict)  # test -> its function

    def shapes(self) -> dict[str, Any]:
        """What the runner needs to walk asserts the way the parent will judge them."""
        return {str(s.id): s.shape for s in self.sites if s.shape is not None}


def analyse(label: str, source: str, entrypoint: str) -> SuiteFile:
    """Check and compile one suite's test file (never executes it).

    Cached (the one cache of test-file analysis): a validation's static layer and its
    harness both ask, and the same regression suites are re-validated against every new
    candidate.
    """
    found = analysed(label, source, entrypoint)
    if found is not None:
        return found
    suite = _analyse(label, source, entrypoint)
    with _CACHE_LOCK:
        _CACHE[(label, source, entrypoint)] = suite
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return _copy(suite)


def analysed(label: str, source: str, entrypoint: str) -> SuiteFile | None:
    """The analysis if it is cached, else None (without analysing)."""
    key = (label, source, entrypoint)
    with _CACHE_LOCK:
        suite = _CACHE.get(key)
        if suite is None:
            return None
        _CACHE.move_to_end(key)
    return _copy(suite)


_CACHE: OrderedDict[tuple[str, str, str], SuiteFile] = OrderedDict()  # least recent first
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 256


def _copy(suite: SuiteFile) -> SuiteFile:
    return replace(suite, test_names=list(suite.test_names), problems=list(suite.problems),
                   findings=list(suite.findings))


def _analyse(label: str, source: str, entrypoint: str) -> SuiteFile:
    suite = SuiteFile(label, source)
    try:
        tree = pyast.parse(source, TEST_FILE)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        where = f" (line {exc.lineno})" if isinstance(exc, SyntaxError) and exc.lineno else ""
        suite.problems.append(f"{label}: test_tool.py does not parse: {_reason(exc)}{where}")
        suite.findings = _checked(source, entrypoint)
        return suite
    try:
        info = analyse_structure(tree, entrypoint)
    except RecursionError:
        suite.problems.append(f"{label}: test_tool.py is nested too deeply to check")
        suite.findings = _checked(source, entrypoint)
        return suite
    suite.test_names = list(info.tests)
    # Parsed and analysed once: the checker works on this tree and structure.
    suite.findings = check_test_tree(source, tree, info, filename=TEST_FILE)
    suite.problems += [f"{label}: {finding}" for finding in suite.findings]
    if suite.problems:
        return suite  # refused: nothing of it runs
    try:
        rewriter = _Rewriter(source, info, tree)
        # Every node the rewriter makes takes the location of the node it replaces (no
        # whole-tree `fix_missing_locations` pass, a tenth of the analysis).
        code = pyast.compile_tree(rewriter.visit(tree), TEST_FILE)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        suite.problems.append(f"{label}: test_tool.py does not compile: {_reason(exc)}")
        return suite
    suite.sites = rewriter.sites
    suite.own_sites = [info.own_sites(scope.fid) for scope in info.scopes]
    suite.test_fids = {name: info.scope_of(info.functions[name]).fid for name in info.tests}
    suite.code_b64 = base64.b64encode(marshal.dumps(code)).decode()
    return suite


def _checked(source: str, entrypoint: str) -> list[Finding]:
    """The checker's findings for a file this module could not analyse (it says why)."""
    return check_source(source, filename=TEST_FILE, is_test=True, entrypoint=entrypoint)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, SyntaxError):
        return exc.msg
    return f"{type(exc).__name__}: {exc}"[:300]


class _Rewriter(ast.NodeTransformer):
    """Check sites -> calls into the runner's `@tf.` helpers, numbered like `info.sites`."""

    def __init__(self, source: str, info: Structure, tree: ast.Module) -> None:
        self.lines = source.encode().splitlines()
        self.info = info
        self.ids = {id(site.node): index for index, site in enumerate(info.sites)}
        self.sites = [self._site(index, site) for index, site in enumerate(info.sites)]
        # The nodes with a check site below them: the only ones worth visiting.
        self.above_sites: set[int] = set()
        for site in info.sites:
            above = info.parents.get(id(site.node))
            while above is not None and id(above) not in self.above_sites:
                self.above_sites.add(id(above))
                above = info.parents.get(id(above))
        self.math_modules: set[str] = set()
        self.isclose_names: set[str] = set()
        for node in pyast.walk(tree):  # not rewritten yet: the rules' walk still holds
            if isinstance(node, ast.Import):
                self.math_modules |= {a.asname or a.name for a in node.names if a.name == "math"}
            elif isinstance(node, ast.ImportFrom) and node.module == "math" and not node.level:
                self.isclose_names |= {a.asname or a.name for a in node.names
                                       if a.name == "isclose"}

    def _site(self, index: int, site: Site) -> CheckSite:
        node = site.node
        text = self._segment(node.test if isinstance(node, ast.Assert) else node)
        return CheckSite(id=index, kind=site.kind, line=getattr(node, "lineno", 0), text=text,
                         function=site.owner, fid=site.fid, exempt=site.exempt,
                         callee=site.callee)

    def _segment(self, node: ast.AST) -> str:
        # ast.get_source_segment re-splits the whole file on every call; offsets are bytes.
        start = getattr(node, "lineno", 1)
        end = getattr(node, "end_lineno", None) or start
        first, last = getattr(node, "col_offset", 0), getattr(node, "end_col_offset", None)
        if last is None or end > len(self.lines):
            return ast.unparse(node)
        if start == end:
            return self.lines[start - 1][first:last].decode(errors="replace")
        chunk = [self.lines[start - 1][first:], *self.lines[start:end - 1],
                 self.lines[end - 1][:last]]
        return b"\n".join(chunk).decode(errors="replace")

    def generic_visit(self, node: ast.AST) -> ast.AST:
        if id(node) not in self.above_sites:
            return node  # nothing below it to rewrite
        return super().generic_visit(node)

    def visit_Assert(self, node: ast.Assert) -> ast.stmt:
        site = self.sites[self.ids[id(node)]]
        operands: list[ast.expr] = []
        site.shape = self._shape(node.test, operands)
        site.operands = [self._segment(o) for o in operands]
        thunks: list[ast.expr] = [ast.Lambda(_no_arguments(), self.visit(o)) for o in operands]
        keywords = []
        if node.msg is not None:
            keywords.append(ast.keyword("msg", ast.Lambda(_no_arguments(),
                                                          self.visit(node.msg))))
        call = ast.Call(ast.Name(CHECK, ast.Load()), [ast.Constant(site.id), *thunks], keywords)
        statement = ast.Expr(call)
        for child in ast.walk(statement):
            if not hasattr(child, "lineno"):
                ast.copy_location(child, node)
        return ast.copy_location(statement, node)

    def _shape(self, expr: ast.expr, operands: list[ast.expr]) -> list[Any]:
        if isinstance(expr, ast.Compare):
            operands.extend([expr.left, *expr.comparators])
            return ["cmp", [_OPERATORS[type(op)] for op in expr.ops]]
        if isinstance(expr, ast.UnaryOp) and isinstance(expr.op, ast.Not):
            return ["not", self._shape(expr.operand, operands)]
        if isinstance(expr, ast.BoolOp):
            kind = "and" if isinstance(expr.op, ast.And) else "or"
            return [kind, [self._shape(v, operands) for v in expr.values]]
        if self._is_isclose(expr):
            assert isinstance(expr, ast.Call)
            operands.extend(expr.args)
            operands.extend(k.value for k in expr.keywords)
            return ["isclose", [k.arg for k in expr.keywords]]
        operands.append(expr)
        return ["leaf"]

    def _is_isclose(self, expr: ast.expr) -> bool:
        if not isinstance(expr, ast.Call) or len(expr.args) != 2:
            return False
        if any(isinstance(a, ast.Starred) for a in expr.args) or any(
            k.arg not in _ISCLOSE_OPTIONS for k in expr.keywords
        ):
            return False
        func = expr.func
        if isinstance(func, ast.Name):
            return func.id in self.isclose_names
        return (isinstance(func, ast.Attribute) and func.attr == "isclose"
                and isinstance(func.value, ast.Name) and func.value.id in self.math_modules)

    def visit_Call(self, node: ast.Call) -> ast.expr:
        index = self.ids.get(id(node))
        self.generic_visit(node)
        if index is None:
            return node
        site = self.sites[index]
        helper = {"raises": RAISES, "fail": FAIL, "match": MATCH, "call": CALL}[site.kind]
        args: list[ast.expr] = [ast.Constant(site.id)]
        if site.kind == "match":
            assert isinstance(node.func, ast.Attribute)
            args.append(node.func.value)
        elif site.kind == "call":
            args.append(node.func)  # @tf.call(id, check, ...) follows the invocation
        call = ast.Call(ast.Name(helper, ast.Load()), [*args, *node.args], node.keywords)
        for child in ast.walk(call):
            if not hasattr(child, "lineno"):
                ast.copy_location(child, node)
        return ast.copy_location(call, node)


def _no_arguments() -> ast.arguments:
    return ast.arguments(posonlyargs=[], args=[], vararg=None, kwonlyargs=[], kw_defaults=[],
                         kwarg=None, defaults=[])
