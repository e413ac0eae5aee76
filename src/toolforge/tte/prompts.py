"""Prompts of the per-problem loop. Synthesis, test writing, attack and refinement reuse the
evolution prompts (toolforge.evolve.prompts); these are the TTE-only steps. Each starts
with a bracketed tag ([tte:decompose] ...) so logs, and scripted models, can tell them apart.
"""

from __future__ import annotations

from toolforge.evolve.prompts import Prompt

DECOMPOSE = Prompt("tte_decompose", """\
[tte:decompose] Break this problem into sub-goals that small tools can compute.

Problem: {problem}
{retry}
Rules: 1 to {max_subgoals} sub-goals, in the order they must be computed. Each sub-goal is
ONE operation a pure Python function could compute from JSON values (a unit conversion, a
formula, a lookup in a fixed table, parsing a string), not "solve the problem".
- "operation": what to compute, in general words (no numbers of this problem);
- "inputs": the values it needs, as an object: literal values taken from the problem, or
  "$N" for the result of sub-goal N (1-based, an earlier one);
- "output": the kind of result (e.g. "number: pressure in Pa");
- "tool": optional, {"name": "snake_case_name", "signature": "name(arg: type, ...) -> type"}
  for a tool that would compute it, with the argument names used in "inputs".

Reply with JSON only:
{"subgoals": [{"operation": "...", "inputs": {"x": 1.5}, "output": "...",
  "tool": {"name": "...", "signature": "..."}}]}""")

EXECUTE = Prompt("tte_execute", """\
[tte:execute] Compute one step of a problem by calling one of the tools offered.

Step: {operation}
Inputs: {inputs}
Expected output: {output}

Call the tool that computes this step, with its arguments taken from the inputs (convert
units or formats only if the tool's documentation asks for it). If no offered tool computes
this step, reply with the single word NONE instead of calling one.""")

FALLBACK = Prompt("tte_fallback", """\
[tte:fallback] Compute one step of a problem by reasoning, without tools.

Problem: {problem}
Step: {operation}
Inputs: {inputs}
Expected output: {output}

Reply with the result only, as a JSON value (a number, a string, a list or an object).""")

ANSWER = Prompt("tte_answer", """\
[tte:answer] Give the final answer to the problem from the results of its steps.

Problem: {problem}
Results of the steps:
{results}

Reply with the final answer only (a number with its unit, a word, a short phrase), without
explanation.""")

SPLIT = Prompt("tte_split", """\
[tte:split] Split this verified tool into atomic cell tools, if it is a composite.

Tool {name}: {description}
```python
{code}
```

An atomic tool does exactly one reusable thing (one conversion, one formula, one parse).
If {name} is already atomic, reply {"atomic": true}. Otherwise propose 2 to {max_cells}
cells, each a complete tool.py (one public function with type hints and a docstring with
Args/Returns/Raises, standard library only), and the composition that recomputes {name}
from them: steps in order, each calling one cell with arguments that are "$input.<param>"
(a parameter of {name}), "$N" (the result of step N, 1-based) or a JSON literal. The last
step's result must equal what {name} returns.

Reply with JSON only:
{"cells": [{"name": "snake_case", "description": "...", "signature": "...",
  "code": "def ...(...) -> ...:\\n    ..."}],
 "composition": [{"cell": "snake_case", "args": {"param": "$input.x"}}]}""")

ALL = [DECOMPOSE, EXECUTE, FALLBACK, ANSWER, SPLIT]


def prompt_hashes() -> dict[str, str]:
    return {p.name: p.hash for p in ALL}
