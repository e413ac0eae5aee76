"""Parsing Python source safely from any thread.

CPython 3.11 keeps the AST conversion's recursion counter in per-interpreter state, not per
thread (gh-106905): two threads parsing at once (daemon jobs, an evolution cycle validating
gaps in parallel) can make either fail with a spurious "SystemError: AST constructor
recursion depth mismatch". Every parse and compile of an AST in toolforge goes through this
module, which serialises them (parsing takes milliseconds) and retries once should a parse
in some other library's thread still collide. Errors of the source itself (SyntaxError,
ValueError, RecursionError, MemoryError) are left to the caller.
"""

from __future__ import annotations

import ast
import threading
from types import CodeType
from typing import Any

_LOCK = threading.Lock()


def _mismatch(exc: SystemError) -> bool:
    return "recursion depth mismatch" in str(exc)


def parse(source: str, filename: str = "<unknown>", mode: str = "exec") -> Any:
    """`ast.parse`, serialised across threads."""
    with _LOCK:
        try:
            return ast.parse(source, filename=filename, mode=mode)
        except SystemError as exc:
            if not _mismatch(exc):
                raise
            return ast.parse(source, filename=filename, mode=mode)


def compile_tree(tree: ast.Module, filename: str, mode: str = "exec") -> CodeType:
    """`compile` of an AST (validated with the same shared counter), serialised."""
    with _LOCK:
        try:
            return compile(tree, filename, mode, dont_inherit=True)
        except SystemError as exc:
            if not _mismatch(exc):
                raise
            return compile(tree, filename, mode, dont_inherit=True)
