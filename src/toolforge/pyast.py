"""`ast.parse` that is safe to call from several threads, on every supported Python.

CPython 3.11 keeps the recursion depth of its C-to-Python AST conversion in per-interpreter
state (gh-106905). When two threads convert at once (a garbage collection during the
conversion runs a finalizer, the finalizer's Python code lets another thread in), the
counters mix and `ast.parse` fails with `SystemError: AST constructor recursion depth
mismatch`. The daemon validates on threads, so it was exposed. Conversion is CPU-bound
under the GIL anyway, so one lock around it costs nothing measurable; it is taken on every
version rather than only on the affected ones, because the failure is silent until load.

Every module of toolforge parses through here (`tests/test_pyast.py` checks that no other
module calls `ast.parse` or parses a string with `ast.literal_eval`).
"""

from __future__ import annotations

import ast
import threading
from types import CodeType
from typing import Any, Literal, overload

# Re-entrant: a finalizer that runs during a parse may itself parse.
_LOCK = threading.RLock()


@overload
def parse(source: str | bytes, filename: str = ..., mode: Literal["exec"] = ..., *,
          type_comments: bool = ...) -> ast.Module: ...
@overload
def parse(source: str | bytes, filename: str = ..., mode: Literal["eval"] = ..., *,
          type_comments: bool = ...) -> ast.Expression: ...
def parse(source: str | bytes, filename: str = "<unknown>", mode: str = "exec", *,
          type_comments: bool = False) -> Any:
    """`ast.parse(source, filename, mode)`, serialised across threads."""
    with _LOCK:
        return ast.parse(source, filename=filename, mode=mode, type_comments=type_comments)


def compile_tree(tree: ast.Module, filename: str, mode: str = "exec") -> CodeType:
    """`compile` of an AST (converted back with the same shared depth counter), serialised
    across threads."""
    with _LOCK:
        return compile(tree, filename, mode, dont_inherit=True)


def literal_eval(node_or_string: str | ast.AST) -> Any:
    """`ast.literal_eval`, whose string form parses: serialised across threads."""
    if isinstance(node_or_string, str):
        node_or_string = parse(node_or_string.lstrip(" \t"), mode="eval")
    return ast.literal_eval(node_or_string)


def walk(node: ast.AST) -> list[ast.AST]:
    """`list(ast.walk(node))` (the same nodes, in the same order), kept on `node` for the
    next caller: the static rules walk the same subtrees (the module, each function, each
    assert) many times. Only for a tree nothing changes any more (the attribute is outside
    `_fields`, so ast.walk, dump and compile never see it)."""
    found: list[ast.AST] | None = node.__dict__.get("_tf_walk")
    if found is None:
        found = node._tf_walk = _breadth_first(node)  # type: ignore[attr-defined]
    return found


def parents(tree: ast.AST) -> dict[int, ast.AST]:
    """id(node) -> its parent, for every node under `tree`."""
    found: dict[int, ast.AST] = {}
    node_type = ast.AST
    for node in walk(tree):
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, node_type):
                found[id(value)] = node
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, node_type):
                        found[id(item)] = node
    return found


def _breadth_first(root: ast.AST) -> list[ast.AST]:
    # ast.walk's order without its three layers of generators (iter_fields,
    # iter_child_nodes, walk): about three times faster.
    found = [root]
    node_type = ast.AST
    index = 0
    while index < len(found):
        node = found[index]
        index += 1
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, node_type):
                found.append(value)
            elif isinstance(value, list):
                found.extend(item for item in value if isinstance(item, node_type))
    return found


__all__ = ["compile_tree", "literal_eval", "parents", "parse", "walk"]
