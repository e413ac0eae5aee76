"""The views of a tool that retrieval indexes: name, signature, docstring, examples and the
sub-goal it was made for (CRAFT: a tool found through several views is a safer match than
one that shares a word with a single field).

Views come from the files without running anything: the static tool spec, the tests' calls
of the tool (ast), and tool.toml. All of it is text to us; none of it is executed.
"""

from __future__ import annotations

import ast
import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from toolforge import pyast

if TYPE_CHECKING:
    from toolforge.library.meta import ToolMeta
    from toolforge.tools.contract import ToolSpec

VIEWS = ("name", "signature", "docstring", "examples", "subgoal")
MAX_VIEW_CHARS = 2000
MAX_EXAMPLES = 8


@dataclass(frozen=True)
class ToolDoc:
    """What is indexed of one tool version."""

    name: str
    version: int
    views: dict[str, str] = field(default_factory=dict)

    @cached_property
    def digest(self) -> str:
        data = json.dumps([self.version, sorted(self.views.items())], ensure_ascii=False)
        return hashlib.sha256(data.encode()).hexdigest()[:16]

    def text(self) -> str:
        """Every view in one text (for text similarity between two tools)."""
        return "\n".join(self.views[v] for v in VIEWS if v in self.views)


def tool_doc(name: str, version: int, spec: ToolSpec, meta: ToolMeta | None = None,
             tests: str = "") -> ToolDoc:
    params = "; ".join(f"{p.name}: {p.description}" if p.description else p.name
                       for p in spec.params)
    signature = spec.signature + (f" — {params}" if params else "")
    if spec.returns_description:
        signature += f" — returns {spec.returns_description}"
    views = {
        "name": name.replace("_", " "),
        "signature": signature,
        "docstring": spec.docstring or spec.summary,
        "examples": examples_from_tests(tests, spec.name),
        "subgoal": _subgoal(meta),
    }
    return ToolDoc(name=name, version=version,
                   views={k: v.strip()[:MAX_VIEW_CHARS] for k, v in views.items() if v.strip()})


def _subgoal(meta: ToolMeta | None) -> str:
    if meta is None:
        return ""
    if meta.made_for:
        return meta.made_for
    extra = meta.provenance.model_extra or {}
    rationale = extra.get("rationale")
    return rationale if isinstance(rationale, str) else ""


def examples_from_tests(tests: str, entrypoint: str) -> str:
    """The calls of the tool in its tests ("celsius_to_kelvin(0.0) == 273.15") and the test
    names: how the tool is used, in the words of whoever wrote the tests."""
    if not tests.strip():
        return ""
    try:
        tree = pyast.parse(tests)
    except (SyntaxError, ValueError, RecursionError):
        return ""
    lines: list[str] = []
    for node in ast.walk(tree):
        if len(lines) >= MAX_EXAMPLES:
            break
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
            lines.append(node.name[5:].replace("_", " "))
        elif isinstance(node, ast.Compare) and isinstance(node.left, ast.Call):
            func = node.left.func
            if isinstance(func, ast.Name) and func.id == entrypoint:
                try:
                    lines.append(ast.unparse(node)[:200])
                except (ValueError, RecursionError):
                    continue
    return "\n".join(lines)
