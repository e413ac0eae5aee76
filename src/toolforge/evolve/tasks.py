"""Task files: JSONL, one task per line (format in docs/tasks.md).

Errors name the file and line and say what is wrong, because task files are written by
hand: a typo must not silently turn into a task without a check.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from toolforge.errors import NotFoundError, ToolforgeError
from toolforge.evolve.rewards import Expectation, ExpectationError, coerce_expectation

FIELDS = ("id", "task", "expected", "group", "context", "max_steps")
_HINT = 'each line is one JSON object like {"id": "t1", "task": "...", "expected": 42}; ' \
    "see docs/tasks.md"


class TaskFileError(ToolforgeError):
    """A task file is malformed; the message names the file and line."""

    http_status = 422
    kind = "task_file"


class Task(BaseModel):
    """One task for an agent: the prompt, and optionally how to score its answer."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=200)
    task: str = Field(min_length=1)
    expected: Expectation | None = None
    group: str | None = None
    context: dict[str, Any] = Field(default_factory=dict)  # free data passed to the agent
    max_steps: int | None = Field(default=None, ge=1)

    @field_validator("id", mode="before")
    @classmethod
    def _id_text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) and not isinstance(v, bool) else v

    @field_validator("task")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be blank")
        return v

    @field_validator("expected", mode="before")
    @classmethod
    def _coerce(cls, v: Any) -> Any:
        return coerce_expectation(v)


def load_tasks(path: str | Path) -> list[Task]:
    """The tasks in a JSONL file. Raises :class:`TaskFileError` or NotFoundError."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFoundError(f"task file {path} does not exist")
    except IsADirectoryError:
        raise TaskFileError(f"{path} is a directory, not a task file", hint=_HINT)
    except UnicodeDecodeError:
        raise TaskFileError(f"{path} is not UTF-8 text", hint=_HINT)
    return parse_tasks(text, str(path))


def parse_tasks(text: str, source: str = "<tasks>") -> list[Task]:
    """Tasks from JSONL text; blank lines and lines starting with ``#`` are skipped.

    A task without an ``id`` gets ``line-N`` (its line number). An empty file gives [].
    """
    tasks: list[Task] = []
    seen: dict[str, int] = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        where = f"{source}:{lineno}"
        task = _parse_line(stripped, lineno, where)
        if task.id in seen:
            raise TaskFileError(f"{where}: duplicate task id {task.id!r} (first on line "
                                f"{seen[task.id]})", hint="give every task a unique id")
        seen[task.id] = lineno
        tasks.append(task)
    return tasks


def _parse_line(line: str, lineno: int, where: str) -> Task:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise TaskFileError(f"{where}: bad JSON: {exc.msg} (column {exc.colno})", hint=_HINT)
    except RecursionError:
        raise TaskFileError(f"{where}: bad JSON: nested too deeply", hint=_HINT)
    if not isinstance(data, dict):
        raise TaskFileError(f"{where}: expected a JSON object, got {type(data).__name__}",
                            hint=_HINT)
    unknown = [k for k in data if k not in FIELDS]
    if unknown:
        raise TaskFileError(f"{where}: unknown field {unknown[0]!r}",
                            hint=f"the fields are {', '.join(FIELDS)}")
    if "task" not in data:
        raise TaskFileError(f"{where}: missing \"task\" (the prompt text)", hint=_HINT)
    data.setdefault("id", f"line-{lineno}")
    try:
        # The check first, so its error says what is wrong with it (not pydantic's union noise).
        data["expected"] = coerce_expectation(data.get("expected"))
        return Task.model_validate(data)
    except ExpectationError as exc:
        raise TaskFileError(f"{where}: expected: {exc.message}", hint=exc.hint or _HINT)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "task"
        msg = str(err["msg"]).removeprefix("Value error, ")
        raise TaskFileError(f"{where}: {field}: {msg}", hint=_HINT)
