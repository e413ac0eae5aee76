"""Problem files for `toolforge tte run`: the task-file format (docs/tasks.md), plus

- `"problem"` is accepted for `"task"` (the text of the problem);
- a bare number as `expected` matches within a relative tolerance (default 1%, science
  answers are rounded: 298.15 K and "298.2 K" are both right); give
  `{"kind": "number", "value": 8.314, "rel_tol": 1e-4}` for another tolerance.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from toolforge.errors import NotFoundError
from toolforge.evolve.tasks import Task, TaskFileError, parse_tasks

DEFAULT_REL_TOL = 0.01


def load_problems(path: str | Path, *, rel_tol: float = DEFAULT_REL_TOL) -> list[Task]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFoundError(f"problems file {path} does not exist")
    except IsADirectoryError:
        raise TaskFileError(f"{path} is a directory, not a problems file")
    except UnicodeDecodeError:
        raise TaskFileError(f"{path} is not UTF-8 text")
    return parse_problems(text, str(path), rel_tol=rel_tol)


def one_problem(problem: str, expected: Any = None, group: str | None = None, *,
                rel_tol: float = DEFAULT_REL_TOL) -> Task:
    """One problem given directly (`toolforge solve`, `forge.solve`) as a task; a blank
    problem or a bad `expected` is a user error that says which."""
    try:
        return Task(id="solve", task=problem, expected=tolerant(expected, rel_tol),
                    group=group)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "task"
        what = {"task": "the problem"}.get(field, field)
        message = str(first["msg"]).removeprefix("Value error, ")
        raise TaskFileError(f"{what}: {message}", hint="see docs/tte.md#problems-file")


def parse_problems(text: str, source: str = "<problems>", *,
                   rel_tol: float = DEFAULT_REL_TOL) -> list[Task]:
    lines = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        lines.append(_normalize(line, f"{source}:{lineno}", rel_tol))
    return parse_tasks("\n".join(lines), source)


def _normalize(line: str, where: str, rel_tol: float) -> str:
    stripped = line.strip()
    if not stripped or stripped.startswith("#"):
        return line
    try:
        data = json.loads(stripped)
    except (json.JSONDecodeError, RecursionError):
        return line  # parse_tasks reports it with the line number
    if not isinstance(data, dict):
        return line
    if "problem" in data:
        if "task" in data:
            raise TaskFileError(f'{where}: give "problem" or "task", not both')
        data["task"] = data.pop("problem")
    if "expected" in data:
        data["expected"] = tolerant(data["expected"], rel_tol)
    return json.dumps(data, ensure_ascii=False)


def tolerant(expected: Any, rel_tol: float = DEFAULT_REL_TOL) -> Any:
    """A bare number as a number check within `rel_tol`; anything else unchanged."""
    if isinstance(expected, int | float) and not isinstance(expected, bool) \
            and math.isfinite(expected):
        return {"kind": "number", "value": expected, "rel_tol": rel_tol}
    return expected
