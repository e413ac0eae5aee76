"""Model calls of an evolution cycle: find gaps, write a tool, its tests, attacks, fixes.

Model output is untrusted text. Every function here either returns parsed, checked content
or raises SynthesisError with a reason that ends up in the cycle report; nothing else.
"""

from __future__ import annotations

import ast
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from toolforge import pyast
from toolforge.errors import ToolforgeError
from toolforge.evolve.prompts import (
    ADVERSARIAL_TESTS,
    GAP_ANALYSIS,
    REFINE_TOOL,
    SYNTHESIZE_TOOL,
    WRITE_TESTS,
)
from toolforge.llm.client import LLMClient, LLMError
from toolforge.llm.parsing import ParseError, detect_refusal, extract_code, extract_json
from toolforge.names import is_valid_tool_name


class SynthesisError(ToolforgeError):
    kind = "synthesis"


class Gap(BaseModel):
    name: str
    description: str
    signature: str = ""
    rationale: str = ""
    evidence: list[str] = Field(default_factory=list)
    existing_tool: bool = False  # the gap names a tool we have: a new version of it


class FailureView(BaseModel):
    """What the analyst sees of one failed run."""

    id: str
    task: str
    answer: str | None
    expected: Any = None
    tool_calls: list[str] = Field(default_factory=list)
    error: str | None = None


def _ask(llm: LLMClient, role: str, prompt: str) -> str:
    try:
        completion = llm.complete(role, [{"role": "user", "content": prompt}])
    except LLMError as exc:
        if exc.unavailable:
            raise  # not this candidate's fault: the cycle stops asking (cycle.py)
        raise SynthesisError(f"model call failed: {exc.message}")
    text = completion.content or ""
    refusal = completion.refusal or detect_refusal(text)
    if refusal:
        raise SynthesisError(f"the model refused: {refusal}")
    if completion.truncated:
        raise SynthesisError("the model's output was truncated (max tokens reached)")
    return text


def find_gaps(llm: LLMClient, failures: list[FailureView], tools: dict[str, str], *,
              max_gaps: int = 3) -> list[Gap]:
    tool_lines = "\n".join(f"- {name}: {desc}" for name, desc in sorted(tools.items())) or "none"
    failure_lines = "\n".join(
        f"- [{f.id}] task: {f.task[:600]!r}; tool calls: {', '.join(f.tool_calls) or 'none'}; "
        f"answer: {str(f.answer)[:200]!r}; expected: {str(f.expected)[:200]!r}"
        + (f"; error: {f.error[:200]}" if f.error else "")
        for f in failures
    )
    text = _ask(llm, "synthesis", GAP_ANALYSIS.render(
        tools=tool_lines, failures=failure_lines, max_gaps=str(max_gaps)))
    try:
        data = extract_json(text)
    except ParseError as exc:
        raise SynthesisError(f"gap analysis is not JSON: {exc.message}")
    raw = data.get("gaps") if isinstance(data, dict) else data
    if not isinstance(raw, list):
        raise SynthesisError("gap analysis has no list of gaps")
    known_ids = {f.id for f in failures}
    gaps: list[Gap] = []
    for item in raw[:max_gaps]:
        try:
            gap = Gap.model_validate(item)
        except ValidationError as exc:
            raise SynthesisError(f"malformed gap: {str(exc).splitlines()[0]}")
        if not is_valid_tool_name(gap.name):
            raise SynthesisError(f"gap names an invalid tool name {gap.name[:80]!r}")
        gap.evidence = [e for e in gap.evidence if e in known_ids] or sorted(known_ids)
        gap.existing_tool = gap.name in tools
        if all(g.name != gap.name for g in gaps):
            gaps.append(gap)
    return gaps


def _code(text: str, what: str) -> str:
    try:
        code = extract_code(text)
    except ParseError as exc:
        raise SynthesisError(f"no usable {what} in the model's reply: {exc.message}")
    return code.strip() + "\n"


def _examples(gap: Gap, examples: list[str]) -> str:
    return "\n".join(f"- {e[:500]}" for e in examples[:5]) or "- (none)"


def synthesize_tool(llm: LLMClient, gap: Gap, examples: list[str],
                    existing_code: str | None = None) -> str:
    existing = (f"\nThe current version, which you replace (keep its name and stay compatible):"
                f"\n```python\n{existing_code}\n```\n" if existing_code else "")
    text = _ask(llm, "synthesis", SYNTHESIZE_TOOL.render(
        name=gap.name, signature=gap.signature or gap.name, description=gap.description,
        rationale=gap.rationale or "-", examples=_examples(gap, examples), existing=existing))
    return _code(text, "tool code")


def write_tests(llm: LLMClient, gap: Gap, examples: list[str]) -> str:
    return _test_file(llm, "tests", gap.name, WRITE_TESTS.render(
        name=gap.name, signature=gap.signature or gap.name, description=gap.description,
        examples=_examples(gap, examples)), "tests")


def write_adversarial_tests(llm: LLMClient, gap: Gap, code: str, notes: str = "") -> str:
    """`notes`: what validation saw that tests should target (e.g. parameters the author's
    tests never varied), one per line."""
    return _test_file(llm, "adversarial", gap.name, ADVERSARIAL_TESTS.render(
        name=gap.name, description=gap.description, code=code,
        notes=f"\nWhat validation noticed (aim tests at it):\n{notes}\n" if notes else ""),
        "adversarial tests")


def _test_file(llm: LLMClient, role: str, name: str, prompt: str, what: str) -> str:
    """A test file the test-file rules accept: the model gets one more try, with the
    findings, since refining the tool cannot fix a refused test file."""
    from toolforge.safety.checker import check_source

    code = _code(_ask(llm, role, prompt), what)
    for attempt in (1, 2):
        findings = check_source(code, filename="test_tool.py", is_test=True, entrypoint=name)
        if not findings:
            return code
        listed = "\n".join(f"- {f}" for f in findings[:10])
        if attempt == 2:
            raise SynthesisError(f"the {what} break the test-file rules:\n{listed}")
        code = _code(_ask(llm, role, f"{prompt}\n\nYour previous file:\n```python\n{code}"
                                     f"```\nwas refused:\n{listed}\nWrite it again, "
                                     "following the rules."), what)
    return code  # pragma: no cover - the loop returns or raises


def refine_tool(llm: LLMClient, gap: Gap, code: str, tests: str, report: str) -> str:
    text = _ask(llm, "synthesis", REFINE_TOOL.render(
        name=gap.name, signature=gap.signature or gap.name, description=gap.description,
        code=code, tests=tests, report=report[:4000]))
    return _code(text, "refined tool code")


def merge_tests(own: str, extra: str, *, prefix: str = "adversarial") -> str:
    """One test file from two: the extra file's tests become test_<prefix>_*, its helpers
    and constants come along (renamed <prefix>_* where the names clash), imports are kept
    once. The result obeys the test-file rules if both files did; if either file does not
    parse, or the merge would break a rule, the own file is returned unchanged."""
    try:
        return _merge_tests(own, extra, prefix)
    except (RecursionError, MemoryError):  # too deep to rewrite: keep what validated
        return own


def _merge_tests(own: str, extra: str, prefix: str) -> str:
    try:
        own_tree, extra_tree = pyast.parse(own), pyast.parse(extra)
    except (SyntaxError, ValueError, RecursionError):
        return own
    own_names = {name for node in own_tree.body for name in _bound(node)}
    own_imports = {ast.unparse(n) for n in own_tree.body if isinstance(n, ast.Import |
                                                                       ast.ImportFrom)}
    renames: dict[str, str] = {}
    for node in extra_tree.body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test"):
            renames[node.name] = f"test_{prefix}_{node.name.removeprefix('test').lstrip('_')}"
        elif not isinstance(node, ast.Import | ast.ImportFrom):
            renames.update({n: f"{prefix}_{n}" for n in _bound(node) if n in own_names})
    extra_tree = _Rename(renames).visit(extra_tree)
    added: list[str] = []
    new_imports: list[str] = []
    for node in extra_tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            text = ast.unparse(node)
            if text not in own_imports and text not in new_imports:
                new_imports.append(text)
        elif isinstance(node, ast.FunctionDef | ast.Assign | ast.AnnAssign):
            added.append(ast.unparse(node))
    if not any(n.startswith(f"test_{prefix}_") for n in renames.values()):
        return own
    head = "\n".join(new_imports)
    merged = own.rstrip() + "\n\n" + (head + "\n\n" if head else "") + \
        "\n\n\n".join(added) + "\n"
    if _new_findings(merged, own, extra):
        return own
    return merged


def _bound(node: ast.stmt) -> list[str]:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return [node.name]
    if isinstance(node, ast.Import | ast.ImportFrom):
        return [(a.asname or a.name).partition(".")[0] for a in node.names]
    return [t.id for t in ast.walk(node) if isinstance(t, ast.Name)
            and isinstance(t.ctx, ast.Store)]


class _Rename(ast.NodeTransformer):
    def __init__(self, renames: dict[str, str]) -> None:
        self.renames = renames

    def visit_Name(self, node: ast.Name) -> ast.Name:
        node.id = self.renames.get(node.id, node.id)
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.FunctionDef:
        node.name = self.renames.get(node.name, node.name)
        self.generic_visit(node)
        return node


def _new_findings(merged: str, *parts: str) -> bool:
    """Whether merging introduced a test-file finding neither part had."""
    from toolforge.safety.checker import check_source

    def rules(source: str) -> set[str]:
        return {f.code for f in check_source(source, filename="test_tool.py", is_test=True)}

    return bool(rules(merged) - set().union(*(rules(p) for p in parts)))
