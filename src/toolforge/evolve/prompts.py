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
access, no eval/exec); deterministic (sort anything built from a set or dict before
returning it).

State each parameter's preconditions, so that callers never pass values outside them:
`from typing import Annotated, Literal` and `from pydantic import Field`, then e.g.
`mass: Annotated[float, Field(gt=0)]`, `ph: Annotated[float, Field(ge=0, le=14)]`,
`unit: Literal["m", "km"]`, `code: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]`,
`values: Annotated[list[float], Field(min_length=1)]`. Inside those preconditions the tool
must answer: refuse any other input it cannot handle with `raise ValueError("<what is
wrong>")` and list it under Raises:. If the result is rounded, say so in Returns:.

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
  never an assert that cannot fail (`x == x`, `... or True`, `isinstance(f(x) == 1,
  bool)`): each assert must fail if the tool answered something else;
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
pytest.raises, pytest.approx and pytest.fail after `import pytest`); no other imports than
pytest and the standard library.

Aim the tests at the mistakes implementations make, computing each expected value from the
specification by hand:
- argument order and swapped fields: give every parameter a different value, and check
  every field of a result;
- ignored parameters: vary each parameter at least once, optional ones too (a call
  without it and one with a non-default value);
- boundaries: zero, empty, one item, the last item, the exact edges of ranges and
  thresholds the description names (both sides of each);
- rounding: inputs with several decimals whose result is not a round number, compared with
  pytest.approx (never a whole number that hides truncation);
- ordering: several distinct items in an order that is not already sorted;
- invalid input: what the description says is refused raises (pytest.raises(ValueError)).

""" + TEST_FILE_RULES + """

Reply with the code of test_tool.py in one ```python block.""")

ADVERSARIAL_TESTS = Prompt("adversarial_tests", """\
You are a tester trying to break this tool. Write tests that probe its weak spots:
boundary values (off by one, empty, the last element, both sides of every threshold),
arguments that could be swapped or ignored (give each parameter a distinct value, vary every
parameter the code might not use), rounding (results that are not round numbers, compared
with pytest.approx), ordering (several distinct items, not already sorted), unusual but
valid formats, unicode, and invalid input that must raise a documented exception.

Specification: {name}: {description}
{notes}
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

Validation report (each finding names the input that shows it):
{report}

If an input is outside what the tool can handle, declare the precondition in the signature
(Annotated[float, Field(gt=0)], Literal[...]) or raise ValueError with a message; otherwise
fix the computation.

Reply with the corrected code of tool.py in one ```python block.""")

ALL = [AGENT_SYSTEM, GAP_ANALYSIS, SYNTHESIZE_TOOL, WRITE_TESTS, ADVERSARIAL_TESTS, REFINE_TOOL]


def prompt_hashes() -> dict[str, str]:
    return {p.name: p.hash for p in ALL}
