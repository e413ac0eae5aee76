"""Static safety checks on candidate tool and test files (DESIGN.md §5, layer 1).

One AST pass over the file (after a small pre-pass that records what each import binds, so
a use above its import is still judged). The checker never imports or runs the candidate.
It is strict on purpose: generated code needs none of reflection, dynamic import, dunder
walking or frame access, so anything that looks like them is refused with a located,
plain-English finding the synthesizer can act on. The OS sandbox stays the real boundary;
this layer makes escapes loud and cheap to reject.

Rules are listed in `RULES`; the name tables below it say what each rule matches.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import string
import sys
import types
import warnings
from functools import cache
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from toolforge import pyast
from toolforge.safety.policy import MODULE_RULES, Access, SafetyPolicy, rule_for

if TYPE_CHECKING:
    from toolforge.safety.test_rules import Structure

# code -> (name, what it catches). Findings carry "code name", e.g. "TF101 forbidden-import".
RULES: dict[str, tuple[str, str]] = {
    "TF001": ("syntax-error", "the file does not parse"),
    "TF002": ("too-complex", "nesting too deep to check; refused rather than half-checked"),
    "TF003": ("bidi-control", "a bidirectional control character: the code reads differently"),
    "TF004": ("hidden-line-break", "a character other tools take for a line break, Python not"),
    "TF101": ("forbidden-import", "an import outside the policy's allow-list, in any spelling"),
    "TF102": ("relative-import", "`from . import x`: a tool is one file"),
    "TF103": ("star-import", "`from m import *` hides what gets bound"),
    "TF104": ("forbidden-member", "a private, gated or module-leaking member of a module"),
    "TF105": ("module-as-value", "a module passed around instead of used as `m.member`"),
    "TF106": ("module-mutation", "assigning to or deleting a module attribute (monkeypatch)"),
    "TF107": ("forbidden-module-name", "`sys`, `os`, `builtins`... used without an import"),
    "TF201": ("forbidden-builtin", "exec, eval, compile, __import__, globals, vars, exit..."),
    "TF207": ("dynamic-class", "three-argument type(): a class built from a runtime dict"),
    "TF202": ("dynamic-attribute", "getattr & co. with a computed or internal attribute name"),
    "TF203": ("builtin-as-value", "getattr & co. aliased or passed instead of called"),
    "TF204": ("protected-name-binding", "rebinding checked builtins, __builtins__, dunders"),
    "TF205": ("global-deletion", "`del` of a module-level name"),
    "TF206": ("code-in-annotation", "an annotation string that is code, not a type"),
    "TF208": ("string-as-type", "a string where typing expects a type: it is evaluated later"),
    "TF301": ("private-attribute", "any attribute starting with `_` (dunders and privates)"),
    "TF302": ("dunder-name", "a `__dunder__` name such as __builtins__ or __loader__"),
    "TF303": ("interpreter-internals", "frame, code, generator or traceback internals"),
    "TF304": ("format-string-attribute", "str.format reading attributes named in a string"),
    "TF305": ("dunder-string", "a string or keyword naming a dunder, e.g. {'__eq__': f}"),
    "TF306": ("match-positional", "`case C(x)`: names the class's __match_args__ pick"),
    "TF401": ("test-without-assert", "a test that reaches no assert and no pytest.raises"),
    "TF402": ("tool-never-referenced", "a test file that never uses the tool's function"),
    "TF403": ("test-never-uses-tool", "a test that never uses the tool's function"),
    "TF404": ("assert-swallowed", "an assert inside try/except or suppress that catches it"),
    "TF405": ("name-rebound", "rebinding a module-level name or a builtin; global/nonlocal"),
    "TF406": ("duplicate-test", "a test defined twice (the first never runs)"),
    "TF407": ("no-tests", "a test file without test_* functions"),
    "TF408": ("decorator", "a decorator in a test file (fixtures, parametrize, wrappers)"),
    "TF409": ("module-level-code", "code at module level beyond imports, defs, constants"),
    "TF410": ("assert-cannot-fail", "an assertion that holds whatever the tool does"),
    "TF411": ("test-signature", "a test with arguments, an async or generator test"),
    "TF412": ("test-class", "a class in a test file"),
    "TF413": ("foreign-mutation", "writing attributes or into imported objects"),
    "TF414": ("pytest-as-value", "a pytest helper used other than by calling it"),
    "TF415": ("assert-side-effect", "an assert expression that binds (:=), yields or awaits"),
    "TF416": ("tool-internals", "reaching tool members other than its function"),
    "TF417": ("non-ascii-name", "a name with non-ASCII letters in a test file (look-alikes)"),
    "TF418": ("type-outside-comparison", "`type` in a test file other than `type(x) is C`"),
    "TF419": ("skippable-check", "a check that a branch, a loop exit or an expression can skip"),
}


# Builtins that run code, expose namespaces, or end the process (a test that exits 0 early
# would look green). `input` is absent: the sandbox's stdin is empty, so it just fails.
FORBIDDEN_BUILTINS: dict[str, str] = {
    "exec": "runs code the checker never saw",
    "eval": "runs code the checker never saw",
    "compile": "builds code objects at runtime",
    "__import__": "imports modules around the allow-list",
    "globals": "exposes the module namespace, including __builtins__",
    "locals": "exposes a frame's namespace",
    "vars": "exposes an object's or module's namespace",
    "breakpoint": "starts a debugger",
    "exit": "ends the process instead of returning or raising",
    "quit": "ends the process instead of returning or raising",
    "SystemExit": "ends the process instead of returning or raising",
    "KeyboardInterrupt": "is how the sandbox interrupts; raising it fakes a limit",
}
FILE_BUILTINS = frozenset({"open"})

# Callables that take an attribute name as a string: the name must be a safe literal.
# Value: index of the name argument, or -1 for "every argument" (attrgetter).
GUARDED_CALLS: dict[str, int] = {
    "getattr": 1,
    "setattr": 1,
    "delattr": 1,
    "hasattr": 1,
    "operator.attrgetter": -1,
    "operator.methodcaller": 0,
}

# Frame, code, generator and traceback internals: the road from any object to globals.
INTERNAL_ATTRS = frozenset(
    {
        *("gi_frame", "gi_code", "gi_yieldfrom", "gi_running", "gi_suspended"),
        *("cr_frame", "cr_code", "cr_await", "cr_origin", "cr_running", "cr_suspended"),
        *("ag_frame", "ag_code", "ag_await", "ag_running"),
        *("f_back", "f_builtins", "f_code", "f_globals", "f_locals", "f_lasti", "f_trace"),
        *("f_trace_lines", "f_trace_opcodes", "f_lineno"),
        *("tb_frame", "tb_next", "tb_lasti", "tb_lineno"),
        *("co_code", "co_consts", "co_names", "co_varnames", "co_filename", "co_lnotab"),
        *("co_linetable", "co_freevars", "co_cellvars", "co_exceptiontable"),
        *("func_globals", "func_code", "func_closure", "func_defaults", "func_dict"),
        *("im_func", "im_self", "im_class", "cell_contents"),
        # module handles that leak through other modules (typing.sys, shlex.os, ...)
        *("sys", "os", "builtins", "subprocess", "importlib", "posix", "nt"),
    }
)

# The short allow-list of `_`-prefixed attributes. Every other attribute that starts with
# `_` is refused, whatever object it is read from: private fields of standard-library
# helpers (`Enum._convert_`, `ForwardRef._evaluate`, contextlib's `_exit_callbacks`) are
# routes to modules, frames and eval that a list of known-bad names would never close.
# Dunders that are plain strings (no object behind them): fine to read anywhere.
READABLE_DUNDERS = frozenset({"__name__", "__qualname__", "__doc__"})
# The documented API of named tuples, prefixed only so that it cannot clash with fields.
NAMEDTUPLE_API = frozenset({"_asdict", "_replace", "_fields", "_field_defaults", "_make"})
# Dunder-shaped strings that name nothing dangerous (`if __name__ == "__main__":`).
HARMLESS_DUNDER_STRINGS = frozenset({"__main__", *READABLE_DUNDERS})
# `case int(x)`: these builtins match the subject itself; every other class pattern with
# positional sub-patterns reads the attributes its class's __match_args__ names at run time.
SELF_MATCHING_CLASSES = frozenset({
    "bool", "bytearray", "bytes", "dict", "float", "frozenset", "int", "list", "set", "str",
    "tuple",
})  # fmt: skip
# Where a subscript or call takes types: a string there becomes a ForwardRef that typing
# evaluates later (`List["__import__('os')"]`), eval in disguise.
TYPING_MODULES = frozenset({"typing", "typing_extensions", "collections.abc"})
GENERIC_BUILTINS = frozenset({"list", "dict", "set", "frozenset", "tuple", "type"})
# Typing callables whose first argument is a name, not a type.
NAMED_TYPING_CALLS = frozenset({
    "TypeVar", "ParamSpec", "TypeVarTuple", "NewType", "NamedTuple", "TypedDict",
    "TypeAliasType", "make_dataclass",
})  # fmt: skip
# Dunder names a file may read: `if __name__ == "__main__":` is common and harmless.
READABLE_DUNDER_NAMES = frozenset({"__name__", "__doc__", "__debug__"})
# Data-model methods and attributes a class body may define, and `super().` may call.
# Absent on purpose: __getattribute__/__getattr__ (attribute interception), __reduce__*,
# __setstate__ (serialisation hooks), __init_subclass__/__class_getitem__/__set_name__/
# __prepare__/__mro_entries__ (class-creation hooks), __del__ (runs after the call).
CLASS_DUNDERS = frozenset(
    {
        *("__init__", "__post_init__", "__new__", "__repr__", "__str__", "__format__"),
        *("__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__hash__", "__bool__"),
        *("__len__", "__iter__", "__next__", "__reversed__", "__contains__", "__getitem__"),
        *("__setitem__", "__delitem__", "__missing__", "__enter__", "__exit__", "__call__"),
        *("__add__", "__radd__", "__iadd__", "__sub__", "__rsub__", "__isub__", "__mul__"),
        *("__rmul__", "__imul__", "__truediv__", "__rtruediv__", "__floordiv__", "__mod__"),
        *("__rfloordiv__", "__rmod__", "__pow__", "__rpow__", "__divmod__", "__matmul__"),
        *("__neg__", "__pos__", "__abs__", "__invert__", "__round__", "__trunc__"),
        *("__floor__", "__ceil__", "__int__", "__float__", "__complex__", "__index__"),
        *("__and__", "__or__", "__xor__", "__rand__", "__ror__", "__rxor__", "__lshift__"),
        *("__rshift__", "__slots__", "__copy__", "__deepcopy__"),
    }
)
MODULE_DUNDERS = frozenset({"__all__", "__version__"})

# Characters that reorder how a line is displayed (CVE-2021-42574, "Trojan Source").
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                          "\u2066\u2067\u2068\u2069")
# Line breaks for str.splitlines (editors, linecache, so the source lines a traceback shows)
# that Python's tokenizer does not count: every line shown after one is not the line that ran.
HIDDEN_LINE_BREAKS = frozenset("\x0b\x1c\x1d\x1e\x85\u2028\u2029")
# Module names that mean an escape even without an import (`sys.modules[...]`).
ESCAPE_MODULE_NAMES = frozenset({"sys", "os", "builtins", "importlib", "subprocess"})


class Finding(BaseModel):
    """One rule violation, located (line and col are 1-based, like compilers print them)."""

    model_config = ConfigDict(frozen=True)

    file: str
    line: int
    col: int
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}: {self.code}: {self.message}"


def _is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


# Packages the checker may import to see what their members are: the roots of entries the
# policy can allow (so never `antigravity` or `this`, whose import has side effects).
_IMPORTABLE_ROOTS = frozenset(
    name.partition(".")[0] for name, access in MODULE_RULES.items() if access is not Access.DENIED
)


@cache
def _submodule(module: str, member: str) -> str | None:
    """The module `module.member` names, if it is one (stdlib only; never runs the tool).

    A dotted name that is importable is the answer (so `os.path` stays `os.path`); otherwise
    a member that is a module object answers with its real name (`typing.sys` is `sys`).
    Only standard-library modules the policy can allow (or their parent packages) are
    imported here: the checker must not execute third-party code to judge a file.
    """
    root = module.partition(".")[0]
    if root not in _IMPORTABLE_ROOTS or root not in sys.stdlib_module_names:
        return None
    if member.startswith("_"):
        return None
    dotted = f"{module}.{member}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if dotted in sys.modules or importlib.util.find_spec(dotted) is not None:
                return dotted
        except (ImportError, ValueError):
            pass
        try:
            obj = getattr(importlib.import_module(module), member, None)
        except Exception:  # a stdlib module unavailable on this build (e.g. lzma)
            return None
    return obj.__name__ if isinstance(obj, types.ModuleType) else None


def _attr_problem(name: str) -> tuple[str, str] | None:
    """Why an attribute name (written or as a string literal) is refused, if it is."""
    if _is_dunder(name):
        return "TF301", f"attribute `{name}` reaches Python internals"
    if name.startswith("_") and name not in NAMEDTUPLE_API:
        return "TF301", (f"attribute `{name}` is private: attributes starting with `_` "
                         "reach implementation internals (name your own without the `_`)")
    if name in INTERNAL_ATTRS:
        return "TF303", f"attribute `{name}` reaches frames, code objects or hidden modules"
    if name in ("format", "format_map"):
        return "TF304", f"`{name}` looked up by name hides which fields a format string reads"
    return None


def _format_attrs(fmt: str, depth: int = 0) -> list[str]:
    """Attribute names a str.format template reads (`{0.__class__}` reads `__class__`)."""
    try:
        parsed = list(string.Formatter().parse(fmt))
    except ValueError:  # malformed: .format would raise at runtime, nothing is read
        return []
    attrs: list[str] = []
    for _literal, field_name, spec, _conversion in parsed:
        name = field_name or ""
        i = next((k for k, ch in enumerate(name) if ch in ".["), len(name))
        while i < len(name):
            if name[i] == ".":
                j = next((k for k in range(i + 1, len(name)) if name[k] in ".["), len(name))
                attrs.append(name[i + 1 : j])
                i = j
            else:
                close = name.find("]", i)
                i = len(name) if close < 0 else close + 1
        if spec and "{" in spec and depth < 2:
            attrs += _format_attrs(spec, depth + 1)
    return attrs


_ANNOTATION_NODES = (
    ast.Name, ast.Attribute, ast.Subscript, ast.Tuple, ast.List, ast.Constant, ast.BinOp,
    ast.BitOr, ast.expr_context,
)  # fmt: skip


def _annotation_code(node: ast.expr, depth: int = 0) -> str | None:
    """Why a string annotation is code rather than a type, if it is.

    `typing.get_type_hints` and `functools.singledispatch(...).register` eval annotation
    strings, so `x: "__import__('os').system('id')"` would run. A string annotation may
    only spell a type: names, attributes, subscripts, tuples, lists, constants and `|`.
    """
    stack: list[ast.AST] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, ast.Subscript) and _subscript_name(current) in (
            "Literal",
            "Annotated",
        ):
            # Literal values and Annotated metadata are data, never evaluated as types
            args = current.slice.elts if isinstance(current.slice, ast.Tuple) else [current.slice]
            if _subscript_name(current) == "Annotated" and args:
                stack.append(args[0])
            continue
        if isinstance(current, ast.Constant) and isinstance(current.value, str):
            if depth >= 3:
                return "string annotations nest too deeply"
            try:
                inner = pyast.parse(current.value.strip(), mode="eval").body
            except SyntaxError:
                continue  # get_type_hints would raise before running anything
            problem = _annotation_code(inner, depth + 1)
            if problem:
                return problem
            continue
        if not isinstance(current, _ANNOTATION_NODES):
            return f"`{ast.unparse(current)}` is code, not a type"
        if isinstance(current, ast.BinOp) and not isinstance(current.op, ast.BitOr):
            return f"`{ast.unparse(current)}` is code, not a type"
        if isinstance(current, ast.Name) and (
            _is_dunder(current.id) or current.id in FORBIDDEN_BUILTINS
        ):
            return f"`{current.id}` in an annotation string"
        if isinstance(current, ast.Attribute) and _attr_problem(current.attr):
            return f"attribute `{current.attr}` in an annotation string"
        stack.extend(ast.iter_child_nodes(current))
    return None


def _subscript_name(node: ast.Subscript) -> str:
    value = node.value
    return value.id if isinstance(value, ast.Name) else getattr(value, "attr", "")


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


class _Checker(ast.NodeVisitor):
    def __init__(self, filename: str, policy: SafetyPolicy, is_test: bool) -> None:
        self.filename = filename
        self.policy = policy
        self.is_test = is_test
        self.findings: list[Finding] = []
        self.stack: list[ast.AST] = []
        self.annotation_depth = 0
        # Filled by the pre-pass: local name -> module it is bound to by an import, local
        # name -> (module, member) it imports, local name -> the guarded callable it aliases,
        # and every name the file binds anywhere.
        self.modules: dict[str, str] = {}
        self.members: dict[str, tuple[str, str]] = {}
        self.imported: set[str] = set()  # modules named by an import statement (not parents)
        self.guarded: dict[str, str] = {name: name for name in GUARDED_CALLS if "." not in name}
        self.global_names: set[str] = set()
        self.bound_names: set[str] = set()
        # local name -> the typing member it aliases (`L = typing.List`, `G = List[T]`): a
        # string subscript of an alias is as much a ForwardRef as one of the original.
        self.typing_aliases: dict[str, str] = {}

    # --- reporting and context ------------------------------------------------------------

    def report(self, node: ast.AST, code: str, message: str) -> None:
        line = getattr(node, "lineno", 1) or 1
        col = (getattr(node, "col_offset", 0) or 0) + 1
        if isinstance(node, ast.Attribute) and node.end_lineno and node.end_col_offset:
            # point at the attribute itself, not at the start of `a.b.c`
            line, col = node.end_lineno, node.end_col_offset - len(node.attr) + 1
        self.report_at(line, col, code, message)

    def report_at(self, line: int, col: int, code: str, message: str) -> None:
        self.findings.append(
            Finding(
                file=self.filename, line=line, col=col, code=f"{code} {RULES[code][0]}",
                message=message,
            )
        )  # fmt: skip

    @property
    def parent(self) -> ast.AST | None:
        return self.stack[-2] if len(self.stack) >= 2 else None

    def scope(self) -> ast.AST | None:
        """The innermost function or class around the current node (None: module level)."""
        return next((n for n in reversed(self.stack[:-1]) if isinstance(n, _SCOPES)), None)

    def visit(self, node: ast.AST) -> None:
        self.stack.append(node)
        try:
            super().visit(node)
        finally:
            self.stack.pop()

    def visit_annotation(self, node: ast.expr | None) -> None:
        """Visit an annotation: string type arguments are fine here (TF206 judges them)."""
        if node is None:
            return
        self.check_annotation(node)
        self.annotation_depth += 1
        try:
            self.visit(node)
        finally:
            self.annotation_depth -= 1

    # --- pre-pass: what names imports bind ------------------------------------------------

    def bind_imports(self, tree: ast.Module) -> None:
        for node in pyast.walk(tree):  # kept for the test-file rules' walks
            if isinstance(node, ast.Import):
                for alias in node.names:
                    self.imported.add(alias.name)
                    if alias.asname:
                        self.modules[alias.asname] = alias.name
                    else:
                        root = alias.name.partition(".")[0]
                        self.modules[root] = root
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    local = alias.asname or alias.name
                    full = f"{node.module}.{alias.name}"
                    sub = _submodule(node.module, alias.name)
                    if sub is not None:
                        self.modules[local] = sub
                        self.imported.add(sub)
                    else:
                        self.members[local] = (node.module, alias.name)
                        if full in GUARDED_CALLS:
                            self.guarded[local] = full
            elif isinstance(node, ast.Global):
                self.global_names.update(node.names)
            if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
                self.bound_names.add(node.id)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                self.bound_names.add(node.name)
            elif isinstance(node, ast.arg):
                self.bound_names.add(node.arg)
            elif isinstance(node, ast.alias):
                self.bound_names.add((node.asname or node.name).partition(".")[0])
        self.bind_typing_aliases(tree)

    def bind_typing_aliases(self, tree: ast.Module) -> None:
        """Names assigned a typing member, a generic built from one, or an alias of either
        (to a fixpoint: `A = List; B = A`)."""
        assignments: list[tuple[str, ast.expr]] = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign):
                assignments += [(t.id, node.value) for t in node.targets
                                if isinstance(t, ast.Name)]
            elif isinstance(node, ast.AnnAssign | ast.NamedExpr) and node.value is not None \
                    and isinstance(node.target, ast.Name):
                assignments.append((node.target.id, node.value))
        changed = True
        while changed:
            changed = False
            for name, value in assignments:
                member = self.typing_origin(value)
                if member is not None and name not in self.typing_aliases:
                    self.typing_aliases[name] = member
                    changed = True

    def typing_origin(self, node: ast.expr) -> str | None:
        """The typing member an expression is or was built from (`List[T]` -> List)."""
        while isinstance(node, ast.Subscript):
            node = node.value
        return self.typing_member(node)

    def module_of(self, node: ast.expr) -> str | None:
        """The module an expression statically denotes (`json`, `collections.abc`), if any."""
        if isinstance(node, ast.Name):
            return self.modules.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self.module_of(node.value)
            return None if base is None else _submodule(base, node.attr)
        return None

    def guarded_name(self, func: ast.expr) -> str | None:
        if isinstance(func, ast.Name):
            return self.guarded.get(func.id)
        if isinstance(func, ast.Attribute) and self.module_of(func.value) == "operator":
            full = f"operator.{func.attr}"
            return full if full in GUARDED_CALLS else None
        return None

    def typing_member(self, node: ast.expr) -> str | None:
        """`typing.X`-like things that take types: typing members and builtin generics."""
        if isinstance(node, ast.NamedExpr):  # `(L := List)["..."]`
            return self.typing_member(node.value)
        if isinstance(node, ast.Name):
            if node.id in self.typing_aliases:
                return self.typing_aliases[node.id]
            if node.id in self.members:
                module, member = self.members[node.id]
                if module in TYPING_MODULES or (module, member) == ("dataclasses",
                                                                      "make_dataclass"):
                    return member
                return None
            if node.id in GENERIC_BUILTINS and node.id not in self.bound_names:
                return node.id
            return None
        if isinstance(node, ast.Attribute):
            base = self.module_of(node.value)
            if base in TYPING_MODULES or (base, node.attr) == ("dataclasses", "make_dataclass"):
                return node.attr
        return None

    # --- imports --------------------------------------------------------------------------

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            ok, why = self.policy.module_access(alias.name, is_test=self.is_test)
            if not ok:
                self.report(alias, "TF101", f"`import {alias.name}`: {why}")
            if alias.asname:
                self.check_binding(alias.asname, alias)
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level or not node.module:
            self.report(node, "TF102", "relative imports are not allowed: a tool is one file")
            return
        module = node.module
        for alias in node.names:
            if alias.name == "*":
                self.report(alias, "TF103", f"`from {module} import *` hides what is bound")
                continue
            if alias.asname:
                self.check_binding(alias.asname, alias)
            self.check_member(alias, module, alias.name, importing=True)

    def check_member(self, node: ast.AST, module: str, member: str, *, importing: bool) -> None:
        """`module.member` or `from module import member` (module bound by an import)."""
        where = f"from {module} import {member}" if importing else f"{module}.{member}"
        if importing and _is_dunder(member):
            self.report(node, "TF301", f"`{where}` reaches Python internals")
            return
        mod_ok, mod_why = self.policy.module_access(module, is_test=self.is_test)
        if not mod_ok and not importing and module in self.imported:
            return  # its import is already a finding; one per refused module is enough
        if not mod_ok:
            # `import os.path` binds `os`, `from urllib import parse` names `urllib`: only an
            # allowed submodule of such a package may be reached, nothing else in it.
            dotted = f"{module}.{member}"
            sub_ok, sub_why = self.policy.module_access(dotted, is_test=self.is_test)
            if dotted in self.imported and not importing:
                return  # `import xml.sax` is the finding; `xml.sax.x` needs no second one
            if not sub_ok and not self.policy.leads_to_allowed(dotted, is_test=self.is_test):
                specific = rule_for(module) is None or rule_for(dotted) != rule_for(module)
                code = "TF101" if importing else "TF104"
                self.report(node, code, f"`{where}`: {sub_why if specific else mod_why}")
            return
        sub = _submodule(module, member)
        if sub is not None:
            ok, why = self.policy.module_access(sub, is_test=self.is_test)
            if not ok:
                self.report(node, "TF104", f"`{where}` reaches module {sub}: {why}")
            return
        if member.startswith("_"):
            self.report(node, "TF104", f"`{where}` is a private implementation detail")
            return
        ok, why = self.policy.member_access(module, member)
        if not ok:
            self.report(node, "TF104", f"`{where}`: {why}" if importing else why)

    # --- names ----------------------------------------------------------------------------

    def visit_Name(self, node: ast.Name) -> None:
        name = node.id
        if isinstance(node.ctx, ast.Load):
            self.load_name(node)
        else:
            self.check_binding(name, node)
            if isinstance(node.ctx, ast.Del) and (
                self.scope() is None or name in self.global_names
            ):
                self.report(node, "TF205", f"`del {name}` removes a global name")

    def load_name(self, node: ast.Name) -> None:
        name, parent = node.id, self.parent
        if name in FORBIDDEN_BUILTINS:
            self.report(node, "TF201", f"`{name}` {FORBIDDEN_BUILTINS[name]}")
            return
        if name in FILE_BUILTINS and not self.policy.allow_file_access:
            self.report(node, "TF201", f"`{name}()` needs `allow_file_access = true`")
            return
        if _is_dunder(name) and name not in READABLE_DUNDER_NAMES:
            self.report(node, "TF302", f"the name `{name}` reaches Python internals")
            return
        if name in self.guarded and not (isinstance(parent, ast.Call) and parent.func is node):
            self.report(
                node,
                "TF203",
                f"`{name}` may only be called directly, with a literal attribute name",
            )
        if name in self.modules:
            if not (isinstance(parent, ast.Attribute) and parent.value is node):
                self.report(node, "TF105", f"module `{name}` may only be used as `{name}.member`")
        elif name in ESCAPE_MODULE_NAMES:
            self.report(node, "TF107", f"`{name}` names a module tools may never use")

    def check_binding(self, name: str, node: ast.AST) -> None:
        """Names a file may not (re)bind: dangerous builtins, internals, escape modules."""
        if name in FORBIDDEN_BUILTINS or name in self.guarded or name in FILE_BUILTINS:
            self.report(node, "TF204", f"binding `{name}` shadows a checked builtin: rename it")
        elif name in ESCAPE_MODULE_NAMES:
            self.report(node, "TF204", f"binding `{name}` shadows a forbidden module name")
        elif _is_dunder(name):
            scope = self.scope()
            if scope is None:
                allowed = MODULE_DUNDERS
            else:
                allowed = CLASS_DUNDERS if isinstance(scope, ast.ClassDef) else frozenset()
            if name not in allowed:
                self.report(node, "TF204", f"binding `{name}` is not allowed here")

    def visit_arg(self, node: ast.arg) -> None:
        self.check_binding(node.arg, node)
        self.visit_annotation(node.annotation)

    def check_annotation(self, annotation: ast.expr | None) -> None:
        if annotation is None:
            return
        problem = _annotation_code(annotation)
        if problem:
            self.report(annotation, "TF206", f"annotation: {problem}")

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name:
            self.check_binding(node.name, node)
        self.generic_visit(node)

    def visit_MatchAs(self, node: ast.MatchAs) -> None:
        if node.name:
            self.check_binding(node.name, node)
        self.generic_visit(node)

    def visit_MatchStar(self, node: ast.MatchStar) -> None:
        if node.name:
            self.check_binding(node.name, node)
        self.generic_visit(node)

    def visit_MatchMapping(self, node: ast.MatchMapping) -> None:
        if node.rest:
            self.check_binding(node.rest, node)
        self.generic_visit(node)

    def visit_MatchClass(self, node: ast.MatchClass) -> None:
        if node.patterns:
            # `case C(x)` reads the attribute named by C.__match_args__[0], a name chosen at
            # run time; only the builtins that match the subject itself are safe.
            cls = node.cls
            if not (isinstance(cls, ast.Name) and cls.id in SELF_MATCHING_CLASSES
                    and cls.id not in self.bound_names and len(node.patterns) == 1):
                self.report(node, "TF306", "positional sub-patterns read the attributes the "
                            "class's __match_args__ names at run time: write `case "
                            f"{ast.unparse(cls)}(field=...)` with the attribute names")
        for attr in node.kwd_attrs:  # `case C(attr=x)` is a getattr
            problem = _attr_problem(attr)
            if problem:
                self.report(node, *problem)
        self.generic_visit(node)

    # --- constants ------------------------------------------------------------------------

    def visit_Constant(self, node: ast.Constant) -> None:
        value = node.value
        if isinstance(value, str) and _is_dunder(value) and value.isidentifier() and (
            value not in HARMLESS_DUNDER_STRINGS
        ):
            # {"__eq__": f} as a class namespace (make_dataclass, type), a **kwargs key,
            # getattr-style lookups: a dunder spelled as data plants or fetches internals.
            self.report(node, "TF305", f"the string {value!r} names Python internals")

    def visit_keyword(self, node: ast.keyword) -> None:
        if node.arg is not None and _is_dunder(node.arg):
            self.report(node, "TF305", f"the keyword `{node.arg}=` names Python internals")
        self.generic_visit(node)

    # --- attributes and calls -------------------------------------------------------------

    def visit_Attribute(self, node: ast.Attribute) -> None:
        attr, parent = node.attr, self.parent
        base = self.module_of(node.value)
        problem = _attr_problem(attr)
        if problem and problem[0] == "TF301":
            # a module's private members are judged (once) by check_member below
            if base is None and not self.allowed_private(node):
                self.report(node, *problem)
        elif problem and problem[0] == "TF304":
            self.check_format(node)
        elif problem:
            self.report(node, *problem)
        if self.module_of(node) is not None and not (
            isinstance(parent, ast.Attribute) and parent.value is node
        ):
            self.report(
                node, "TF105", f"module `{ast.unparse(node)}` may only be used to reach its members"
            )
        if base is not None:
            if not isinstance(node.ctx, ast.Load):
                self.report(
                    node, "TF106", f"assigning or deleting `{base}.{attr}` monkeypatches a module"
                )
            elif problem is None or problem[0] == "TF301":
                self.check_member(node, base, attr, importing=False)
            if f"{base}.{attr}" in GUARDED_CALLS and not (
                isinstance(parent, ast.Call) and parent.func is node
            ):
                self.report(node, "TF203", f"`{base}.{attr}` may only be called directly")
        self.generic_visit(node)

    def allowed_private(self, node: ast.Attribute) -> bool:
        if node.attr in NAMEDTUPLE_API:
            return True
        if node.attr in READABLE_DUNDERS and isinstance(node.ctx, ast.Load):
            return True
        # super().__init__(...) and friends: only the data-model methods a class may define.
        value = node.value
        return (
            node.attr in CLASS_DUNDERS
            and isinstance(value, ast.Call)
            and isinstance(value.func, ast.Name)
            and value.func.id == "super"
        )

    def check_format(self, node: ast.Attribute) -> None:
        parent = self.parent
        template = node.value.value if isinstance(node.value, ast.Constant) else None
        if not (isinstance(template, str) and isinstance(parent, ast.Call) and parent.func is node):
            self.report(
                node,
                "TF304",
                f"`.{node.attr}` is allowed only on a string literal; use an f-string",
            )
            return
        for attr in _format_attrs(template):
            problem = _attr_problem(attr)
            if problem or attr.startswith("_"):
                self.report(node, "TF304", f"the format string reads attribute `{attr}`")

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if self.annotation_depth == 0:
            member = self.typing_member(node.value)
            if member is not None:
                for text in _type_strings(node, member):
                    self.report(text, "TF208", f"the string {_short(str(text.value))} is a "
                                f"type argument of {member}: typing evaluates such strings "
                                "as code; write the type itself")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        guarded = self.guarded_name(node.func)
        if guarded is not None:
            self.check_guarded_call(node, guarded)
        if isinstance(node.func, ast.Name) and node.func.id == "type" and (
            len(node.args) != 1 or node.keywords
        ):
            # type(name, bases, namespace) plants a dict the tool owns as a class's
            # namespace (e.g. an `__annotations__` that typing later evals with it).
            self.report(node, "TF207", "`type()` with a namespace builds a class from a "
                        "runtime dict the checker cannot see: write a class statement")
        member = self.typing_member(node.func)
        if member is not None and member not in GENERIC_BUILTINS:
            self.check_typing_call(node, member)
        self.generic_visit(node)

    def check_typing_call(self, node: ast.Call, member: str) -> None:
        """String arguments of typing callables are types to be evaluated, except names."""
        arguments: list[ast.expr] = list(node.args)
        if member in NAMED_TYPING_CALLS and arguments:
            arguments = arguments[1:]  # the name of the new type
        arguments += [k.value for k in node.keywords]
        for argument in arguments:
            for text in _type_strings(argument, member, field_specs=member in (
                    "NamedTuple", "TypedDict", "make_dataclass")):
                self.report(text, "TF208", f"the string {_short(str(text.value))} is a type "
                            f"for {member}: typing evaluates such strings as code; write the "
                            "type itself")

    def check_guarded_call(self, node: ast.Call, name: str) -> None:
        index = GUARDED_CALLS[name]
        args = node.args
        if any(isinstance(a, ast.Starred) for a in args):
            self.report(node, "TF202", f"`{name}` needs its attribute name as a plain literal")
            return
        candidates = args if index < 0 else args[index : index + 1]
        if not candidates:
            self.report(node, "TF202", f"`{name}` needs its attribute name as a literal")
        for arg in candidates:
            if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
                self.report(
                    arg,
                    "TF202",
                    f"`{name}` with a computed attribute name can reach "
                    "anything: write the attribute out",
                )
                continue
            parts = arg.value.split(".") if name == "operator.attrgetter" else [arg.value]
            for part in parts:
                problem = _attr_problem(part)
                if problem:
                    self.report(arg, "TF202", f"`{name}`: {problem[1]}")

    # --- definitions and statements -------------------------------------------------------

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.check_binding(node.name, node)
        for decorator in node.decorator_list:
            self.visit(decorator)
        self.visit(node.args)
        self.visit_annotation(node.returns)
        for statement in node.body:
            self.visit(statement)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.check_binding(node.name, node)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self.visit(node.target)
        self.visit_annotation(node.annotation)
        if node.value is not None:
            self.visit(node.value)


def _type_strings(node: ast.expr, member: str, *, field_specs: bool = False
                  ) -> list[ast.Constant]:
    """String constants in a type position under `node` (not Literal values, not Annotated
    metadata, not the names in NamedTuple/TypedDict/make_dataclass field specs)."""
    found: list[ast.Constant] = []
    stack: list[tuple[ast.AST, str]] = [(node, member)]
    while stack:
        current, owner = stack.pop()
        if isinstance(current, ast.Constant):
            if isinstance(current.value, str) and owner != "Literal":
                found.append(current)
            continue
        if isinstance(current, ast.Subscript):
            name = _subscript_name(current)
            args = current.slice.elts if isinstance(current.slice, ast.Tuple) else [
                current.slice]
            if name == "Literal":
                continue
            if name == "Annotated":
                stack.extend((a, name) for a in args[:1])
                continue
            stack.append((current.value, owner))
            stack.extend((a, name) for a in args)
            continue
        if field_specs and isinstance(current, ast.Dict):
            stack.extend((v, owner) for v in current.values)  # keys are field names
            continue
        if field_specs and isinstance(current, ast.Tuple) and len(current.elts) >= 2 and (
            isinstance(current.elts[0], ast.Constant)
        ):
            stack.extend((e, owner) for e in current.elts[1:])  # ("field", type[, default])
            continue
        if owner == "Literal":
            continue
        stack.extend((c, owner) for c in ast.iter_child_nodes(current)
                     if isinstance(c, ast.expr))
    return found


def _short(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def check_source(
    source: str,
    *,
    filename: str = "tool.py",
    policy: SafetyPolicy | None = None,
    is_test: bool = False,
    entrypoint: str | None = None,
) -> list[Finding]:
    """Statically check a tool (or, with `is_test`, a test file); [] means nothing found.

    Test files are always checked under the default policy (no file access, no network, no
    extra imports: tests need none, and the verdict rests on what they can reach), plus the
    test-file rules of `toolforge.safety.test_rules`; `entrypoint` is the tool's function
    name, which the tests must use. Never raises on bad input: a file that does not parse is
    one TF001 finding, one too deep to check one TF002 finding.
    """
    policy = SafetyPolicy() if is_test else (policy or SafetyPolicy())
    checker = _Checker(filename, policy, is_test)
    _check_text(source, checker)
    try:
        tree = pyast.parse(source, filename=filename)
    except SyntaxError as exc:
        checker.report_at(exc.lineno or 1, exc.offset or 1, "TF001", f"syntax error: {exc.msg}")
        return checker.findings
    except (ValueError, RecursionError, MemoryError) as exc:  # NUL bytes, absurd nesting
        checker.report_at(1, 1, "TF001", f"cannot parse: {type(exc).__name__}: {exc}"[:300])
        return checker.findings
    return _check_tree(checker, tree, entrypoint, None)


def check_test_tree(source: str, tree: ast.Module, structure: Structure, *,
                    filename: str) -> list[Finding]:
    """`check_source(source, is_test=True, entrypoint=structure.entrypoint)` for a test file
    the caller already parsed (`tree`) and analysed (`structure`, from `analyse_structure`
    of that tree): the same findings, without parsing and analysing it a second time. The
    rules mark nodes of `tree` with `_tf_` attributes; they change nothing else."""
    checker = _Checker(filename, SafetyPolicy(), True)
    _check_text(source, checker)
    return _check_tree(checker, tree, structure.entrypoint, structure)


def _check_text(source: str, checker: _Checker) -> None:
    for line_number, line in enumerate(source.split("\n"), 1):  # lines as Python counts
        for col, char in enumerate(line, 1):
            if char in BIDI_CONTROLS:  # "Trojan Source": shown text is not the parsed text
                checker.report_at(line_number, col, "TF003", f"the bidirectional control "
                                  f"character U+{ord(char):04X} makes this line display "
                                  "differently from what runs: write it as an escape")
                break
            if char in HIDDEN_LINE_BREAKS:
                checker.report_at(line_number, col, "TF004", f"U+{ord(char):04X} is a line "
                                  "break for editors and tracebacks but not for Python, so "
                                  "the lines they show are not those that run: write it as "
                                  "an escape")
                break


def _check_tree(checker: _Checker, tree: ast.Module, entrypoint: str | None,
                structure: Structure | None) -> list[Finding]:
    try:
        checker.bind_imports(tree)
        checker.visit(tree)
        if checker.is_test:
            from toolforge.safety.test_rules import check_test_file

            check_test_file(tree, entrypoint, checker.report, structure)
    except RecursionError:  # fail closed: what cannot be checked is not accepted
        checker.report_at(1, 1, "TF002", "the code is nested too deeply to check; simplify it")
    unique: dict[tuple[int, int, str], Finding] = {}
    for finding in checker.findings:  # one finding per rule and place: the first is clearest
        unique.setdefault((finding.line, finding.col, finding.code), finding)
    return [unique[key] for key in sorted(unique)]


__all__ = ["RULES", "Finding", "check_source", "check_test_tree"]
