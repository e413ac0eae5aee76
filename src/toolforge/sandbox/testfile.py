"""Static checks and compilation of a test file, done in the parent (trusted) process.

The parent parses `test_tool.py` once: to list its test functions, to refuse files that
cannot validate anything (no tests, never imports the tool, a test without any assertion),
and to compile it with `assert` statements rewritten so a failure explains itself
("left: 3, right: 4"). The code object goes to the runner marshalled, so the runner needs
neither `ast` nor a compiler pass of its own (both cost milliseconds per sandbox).
"""

from __future__ import annotations

import ast
import base64
import functools
import marshal
from dataclasses import dataclass, field, replace

from toolforge import pyast

TEST_FILE = "test_tool.py"
_CHECK_CALLS = {"raises", "fail", "warns", "deprecated_call"}
_OPERATORS: dict[type[ast.cmpop], str] = {
    ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
    ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in",
}


@dataclass
class SuiteFile:
    label: str
    source: str = ""
    test_names: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    code_b64: str | None = None


def analyse(label: str, source: str, entrypoint: str) -> SuiteFile:
    """Parse, check and compile one suite's test file (never executes it).

    Cached: the same regression suites are re-validated against every new candidate.
    """
    cached = _analyse(label, source, entrypoint)
    return replace(cached, test_names=list(cached.test_names), problems=list(cached.problems))


@functools.lru_cache(maxsize=256)
def _analyse(label: str, source: str, entrypoint: str) -> SuiteFile:
    suite = SuiteFile(label, source)
    try:
        tree = pyast.parse(source, TEST_FILE)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        where = f" (line {exc.lineno})" if isinstance(exc, SyntaxError) and exc.lineno else ""
        suite.problems.append(f"{label}: test_tool.py does not parse: {_reason(exc)}{where}")
        return suite
    functions = {
        node.name: node for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    suite.test_names = [name for name in functions if name.startswith("test")]
    if not suite.test_names:
        suite.problems.append(f"{label}: test_tool.py has no test functions (def test_...)")
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            suite.problems.append(
                f"{label}: test class {node.name} is not supported; write test_* functions"
            )
    if not _imports_tool(tree):
        suite.problems.append(
            f"{label}: test_tool.py never imports the tool (from tool import {entrypoint})"
        )
    checking = _checking_functions(functions)
    for name in suite.test_names:
        if name not in checking:
            suite.problems.append(f"{label}: {name} asserts nothing")
    try:
        rewritten = ast.fix_missing_locations(_AssertRewriter(source).visit(tree))
        code = compile(rewritten, TEST_FILE, "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        suite.problems.append(f"{label}: test_tool.py does not compile: {_reason(exc)}")
        return suite
    suite.code_b64 = base64.b64encode(marshal.dumps(code)).decode()
    return suite


def _reason(exc: BaseException) -> str:
    if isinstance(exc, SyntaxError):
        return exc.msg
    return f"{type(exc).__name__}: {exc}"[:300]


def _imports_tool(tree: ast.Module) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name == "tool" for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and node.module == "tool" and not node.level:
            return True
    return False


def _checks_directly(node: ast.AST) -> bool:
    for child in ast.walk(node):
        if isinstance(child, ast.Assert):
            return True
        if isinstance(child, ast.Call):
            func = child.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in _CHECK_CALLS:
                return True
    return False


def _called_names(node: ast.AST) -> set[str]:
    return {
        child.func.id for child in ast.walk(node)
        if isinstance(child, ast.Call) and isinstance(child.func, ast.Name)
    }


def _checking_functions(functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef]
                        ) -> set[str]:
    """Module-level functions that assert, directly or through helpers they call."""
    checking = {name for name, node in functions.items() if _checks_directly(node)}
    calls = {name: _called_names(node) for name, node in functions.items()}
    changed = True
    while changed:
        changed = False
        for name, called in calls.items():
            if name not in checking and called & checking:
                checking.add(name)
                changed = True
    return checking


class _AssertRewriter(ast.NodeTransformer):
    """`assert a == b, msg` -> explain-on-failure calls into the runner's helpers."""

    def __init__(self, source: str) -> None:
        self.lines = source.encode().splitlines()

    def _segment(self, node: ast.expr) -> str:
        # ast.get_source_segment re-splits the whole file on every call; offsets are bytes.
        start, end = node.lineno, node.end_lineno or node.lineno
        first, last = node.col_offset, node.end_col_offset
        if last is None or end > len(self.lines):
            return ast.unparse(node)
        if start == end:
            return self.lines[start - 1][first:last].decode(errors="replace")
        chunk = [self.lines[start - 1][first:], *self.lines[start:end - 1],
                 self.lines[end - 1][:last]]
        return b"\n".join(chunk).decode(errors="replace")

    def visit_Assert(self, node: ast.Assert) -> list[ast.stmt]:
        test = node.test
        text = self._segment(test)
        message = node.msg if node.msg is not None else ast.Constant(None)
        if isinstance(test, ast.Compare) and len(test.ops) == 1:
            op = _OPERATORS[type(test.ops[0])]
            check: ast.expr = _call("__tf_compare__", test.left, test.comparators[0],
                                    ast.Constant(op))
            statements: list[ast.stmt] = [
                ast.Assign([ast.Name("__tf_detail__", ast.Store())], check),
                ast.If(
                    ast.Compare(ast.Name("__tf_detail__", ast.Load()), [ast.IsNot()],
                                [ast.Constant(None)]),
                    [ast.Raise(_call("__tf_failure__", ast.Constant(text),
                                     ast.Name("__tf_detail__", ast.Load()), message))],
                    [],
                ),
            ]
        else:
            statements = [ast.If(
                ast.UnaryOp(ast.Not(), _call("__tf_truth__", test)),
                [ast.Raise(_call("__tf_failure__", ast.Constant(text), ast.Constant(None),
                                 message))],
                [],
            )]
        for statement in statements:
            for child in ast.walk(statement):
                if not hasattr(child, "lineno") or child is statement:
                    ast.copy_location(child, node)
        return statements


def _call(name: str, *args: ast.expr) -> ast.Call:
    return ast.Call(ast.Name(name, ast.Load()), list(args), [])
