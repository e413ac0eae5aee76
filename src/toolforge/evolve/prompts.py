"""Prompt templates. Each has a stable hash recorded in a candidate's provenance, so a tool
can be traced to the exact instructions that produced it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Prompt:
    name: str
    text: str

    @property
    def hash(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()[:12]

    def render(self, **values: str) -> str:
        out = self.text
        for key, value in values.items():
            out = out.replace("{" + key + "}", value)
        return out


AGENT_SYSTEM = Prompt("agent_system", """\
You are an agent that solves tasks. Use the available tools when they help: call a tool,
read its result, then answer. Available tools: {tool_names}.
When you are done, reply with the final answer only, without explanation.""")

GAP_ANALYSIS = Prompt("gap_analysis", """\
You analyse failed agent runs to find missing tool capabilities.

The agent's existing tools:
{tools}

Failed runs (task, what the agent did, its answer, the expected answer):
{failures}

Which capabilities were missing? Propose at most {max_gaps} tools. A tool is ONE pure Python
function, JSON arguments in and a JSON value out, no network and no file access. Reuse an
existing tool's name when the right fix is a new version of it.

Reply with JSON only:
{"gaps": [{"name": "snake_case_name", "description": "what it does",
  "signature": "name(arg: type, ...) -> type", "rationale": "why the runs failed without it",
  "evidence": ["<trajectory id>", ...]}]}""")

SYNTHESIZE_TOOL = Prompt("synthesize_tool", """\
Write a Python tool for this capability.

Name: {name}
Signature: {signature}
Description: {description}
Why it is needed: {rationale}
Example tasks it must help with:
{examples}
{existing}
Rules: exactly one public function named {name} with type hints on every parameter and the
return value (JSON types only: str, int, float, bool, None, list, dict[str, ...]); a
docstring with a summary line and Args:, Returns: and Raises: sections; helpers start with
an underscore; standard library only (no os, sys, subprocess, socket, no file or network
access, no eval/exec); deterministic.

Reply with the code of tool.py in one ```python block.""")

# The shape every test file must have (safety/test_rules.py refuses anything else).
TEST_FILE_RULES = """\
How the file is run: tests are collected as written and every assert is judged outside the
test, so the file must be plain:
- test functions take no arguments and have no decorators: no fixtures, no parametrize, no
  skip marks; loop over a list of cases inside the test instead;
- outside functions only imports and constants written as literals (CASES = [(1, 2), ...]);
  no classes, no other module-level code;
- never reuse a name: not {name}, not a test or helper name, not a builtin (no variables
  called input, id, type, list...); no global statements, no attribute assignments;
- every check must run: asserts go in the test body or a `for` loop over a literal list or
  a constant (CASES), never over the tool's result (use `assert all(...)` for that),
  never under if/while/try/with or inside pytest.raises blocks; no return/break/continue
  before them; a helper that asserts is called as a statement of its own (`check(x, 1)`),
  and each call must run all of its asserts;
- assert on plain values (numbers, strings, lists, dicts, tuples, sets, None, True/False),
  never an assert that cannot fail (`x == x`, `... or True`);
- use pytest.raises(SomeError, match="...") for errors; ASCII names only."""

WRITE_TESTS = Prompt("write_tests", """\
Write pytest tests for a Python tool you cannot see, from its specification.

Name: {name}
Signature: {signature}
Description: {description}
Example tasks it must help with:
{examples}

Rules: a file test_tool.py that starts with `from tool import {name}`; 3 to 8 functions
named test_*, each calling {name} and asserting on the result with plain assert (you may use
pytest.raises, pytest.approx and pytest.fail after `import pytest`); cover normal cases, edge
cases and invalid input; no other imports than pytest and the standard library.
""" + TEST_FILE_RULES + """

Reply with the code of test_tool.py in one ```python block.""")

ADVERSARIAL_TESTS = Prompt("adversarial_tests", """\
You are a tester trying to break this tool. Write tests that probe its weak spots:
boundary values, empty and huge inputs, unusual but valid formats, unicode, and invalid
input that must raise a documented exception.

Specification: {name}: {description}

tool.py:
```python
{code}
```

Rules: start with `from tool import {name}`; 2 to 6 functions named test_*, each asserting
behaviour the SPECIFICATION requires (not what the code happens to do); plain assert,
pytest.raises, pytest.approx.
""" + TEST_FILE_RULES + """

Reply with the code in one ```python block.""")

REFINE_TOOL = Prompt("refine_tool", """\
Your tool {name} failed validation. Fix the tool (not the tests).

Specification: {signature}: {description}

tool.py:
```python
{code}
```

test_tool.py:
```python
{tests}
```

Validation report:
{report}

Reply with the corrected code of tool.py in one ```python block.""")

ALL = [AGENT_SYSTEM, GAP_ANALYSIS, SYNTHESIZE_TOOL, WRITE_TESTS, ADVERSARIAL_TESTS, REFINE_TOOL]


def prompt_hashes() -> dict[str, str]:
    return {p.name: p.hash for p in ALL}
