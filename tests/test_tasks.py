"""Task files: JSONL parsing and the errors a hand-written file deserves."""

from __future__ import annotations

from pathlib import Path

import pytest

from toolforge.errors import NotFoundError
from toolforge.evolve.rewards import ExactCheck, JsonCheck, NumberCheck, RegexCheck, score
from toolforge.evolve.tasks import Task, TaskFileError, load_tasks, parse_tasks

GOOD = """\
# arithmetic over the ACME log format
{"id": "sum-1", "task": "Sum the bytes in log A", "expected": 1234, "group": "acme"}

{"task": "Capital of France?", "expected": "Paris"}
{"id": 7, "task": "Status code?", "expected": {"kind": "regex", "pattern": "^2\\\\d\\\\d$"}}
{"task": "Parse it", "expected": {"a": [1, 2]}, "context": {"file": "a.log"}, "max_steps": 4}
   # an indented comment
{"task": "Open-ended, no check"}
"""


def test_load_tasks(tmp_path: Path) -> None:
    path = tmp_path / "tasks.jsonl"
    path.write_text(GOOD)
    tasks = load_tasks(path)
    assert [t.id for t in tasks] == ["sum-1", "line-4", "7", "line-6", "line-8"]
    sum1, capital, status, parse, open_ended = tasks
    assert sum1.expected == NumberCheck(value=1234) and sum1.group == "acme"
    assert capital.expected == ExactCheck(value="Paris")
    assert isinstance(status.expected, RegexCheck) and score("204", status.expected) == 1.0
    assert parse.expected == JsonCheck(value={"a": [1, 2]})
    assert parse.context == {"file": "a.log"} and parse.max_steps == 4
    assert open_ended.expected is None and open_ended.context == {}


def test_empty_file_has_no_tasks() -> None:
    assert parse_tasks("") == []
    assert parse_tasks("# only a comment\n\n") == []


@pytest.mark.parametrize(("text", "message"), [
    ('{"task": "a"}\n{"task": "b",}', r"t\.jsonl:2: bad JSON: .*\(column \d+\)"),
    ('["a list"]', r"t\.jsonl:1: expected a JSON object, got list"),
    ('{"id": "x"}', r't\.jsonl:1: missing "task"'),
    ('{"task": "   "}', r"t\.jsonl:1: task: must not be blank"),
    ('{"task": "a", "expect": 3}', r"t\.jsonl:1: unknown field 'expect'"),
    ('{"task": "a", "expected": {"kind": "fuzzy", "value": 1}}',
     r"t\.jsonl:1: expected: unknown check kind 'fuzzy'"),
    ('{"task": "a", "expected": {"kind": "python", "name": "f"}}',
     r"t\.jsonl:1: expected: a `python` check cannot come from data"),
    ('{"task": "a", "expected": {"kind": "regex", "pattern": "("}}',
     r"t\.jsonl:1: expected: invalid regex check"),
    ('{"task": "a", "max_steps": 0}', r"t\.jsonl:1: max_steps: .*greater than or equal to 1"),
    ('{"id": "a", "task": "x"}\n\n{"id": "a", "task": "y"}',
     r"t\.jsonl:3: duplicate task id 'a' \(first on line 1\)"),
    ('{"task": "x"}\n{"id": "line-1", "task": "y"}', r"t\.jsonl:2: duplicate task id 'line-1'"),
])
def test_errors_name_file_line_and_problem(text: str, message: str) -> None:
    with pytest.raises(TaskFileError, match=message) as info:
        parse_tasks(text, "t.jsonl")
    assert info.value.hint
    assert info.value.exit_code == 1


def test_missing_and_binary_files(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        load_tasks(tmp_path / "nope.jsonl")
    binary = tmp_path / "b.jsonl"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(TaskFileError, match="not UTF-8"):
        load_tasks(binary)
    with pytest.raises(TaskFileError, match="directory"):
        load_tasks(tmp_path)


def test_task_model_accepts_checks_from_the_api() -> None:
    task = Task(id="t", task="2+2?", expected=4)
    assert task.expected == NumberCheck(value=4)
    assert Task(id="t", task="x", expected=RegexCheck(pattern="a")).expected == \
        RegexCheck(pattern="a")
