"""Parsing from many threads at once (CPython gh-106905) and the one way to parse."""

from __future__ import annotations

import ast
import sys
import threading
from pathlib import Path

from toolforge import pyast
from toolforge.tools.contract import load_tool_source

SRC = Path(__file__).resolve().parents[1] / "src" / "toolforge"

TOOL = '''
def scale(values: list[float], factor: float = 2.0) -> list[float]:
    """Multiply every value.

    Args:
        values: the numbers.
        factor (> 0): the multiplier.
    """
    return [v * factor for v in values]
'''
BIG = "\n".join(
    f"def f{i}(a, b):\n    return [x for x in range(a) if x % {i + 1} == b]" for i in range(150)
)


class _Garbage:
    """Cyclic garbage whose finalizer runs Python code: a collection during a parse then
    hands the GIL to another thread in the middle of the C-to-Python AST conversion."""

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        sum(range(40))


def test_many_concurrent_parses_never_fail() -> None:
    errors: list[BaseException] = []
    rounds = 60

    def work(n: int) -> None:
        try:
            for i in range(rounds):
                for _ in range(40):
                    _Garbage()
                if (i + n) % 3 == 0:
                    load_tool_source(TOOL)
                elif (i + n) % 3 == 1:
                    pyast.parse(BIG)
                else:
                    assert pyast.literal_eval("{'a': [1, 2.5, None]}") == {"a": [1, 2.5, None]}
        except BaseException as exc:
            errors.append(exc)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=240)
    finally:
        sys.setswitchinterval(interval)
    assert not any(t.is_alive() for t in threads)
    assert errors == []


def test_no_module_parses_around_the_lock() -> None:
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        if path.name == "pyast.py" or "guest" in path.parts:  # guests run in the sandbox
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            func = node.func if isinstance(node, ast.Call) else None
            if (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
                    and func.value.id == "ast" and func.attr in ("parse", "literal_eval")):
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno}: ast.{func.attr}")
            if isinstance(node, ast.Attribute) and node.attr == "PyCF_ONLY_AST":
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno}: PyCF_ONLY_AST")
    assert offenders == [], "parse through toolforge.pyast: " + ", ".join(offenders)


def test_walk_is_ast_walk_kept_on_the_node_and_parents_are_every_child_s() -> None:
    source = (SRC / "safety" / "test_rules.py").read_text()
    tree = pyast.parse(source)
    expected = list(ast.walk(tree))
    walked = pyast.walk(tree)
    assert len(walked) == len(expected) and all(a is b for a, b in zip(walked, expected,
                                                                        strict=True))
    assert pyast.walk(tree) is walked  # the second caller gets the same list
    function = next(n for n in expected if isinstance(n, ast.FunctionDef))
    assert [id(n) for n in pyast.walk(function)] == [id(n) for n in ast.walk(function)]
    assert pyast.parents(tree) == {id(child): node for node in ast.walk(tree)
                                   for child in ast.iter_child_nodes(node)}
    assert "_tf_walk" not in ast.dump(tree)  # invisible to dump (and compile)
