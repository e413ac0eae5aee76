"""`toolforge report` and `toolforge trajectories list|show|export`, driven like a user."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from conftest import git, run_cli
from toolforge.cli.app import app

RUNS = [
    {   # scored by us: expected given, no reward
        "id": "run-ok-1", "task_id": "sum-1", "task": "Sum the bytes in log A",
        "group": "acme", "final_answer": "The total is 1,234 bytes.", "expected": 1234,
        "steps": [{"tool": "parse_log", "arguments": {"path": "a.log"},
                   "result": {"rows": 2}, "duration_ms": 4},
                  {"tool": "sum_bytes", "arguments": {"rows": [1]},
                   "error": "TypeError: bad row"}],
        "tools_offered": ["parse_log", "sum_bytes"], "model": "my-agent/v1",
        "prompt_tokens": 100, "completion_tokens": 20,
    },
    {   # reward given by the reporter
        "id": "run-bad-2", "task": "Capital of France?", "group": "geo",
        "final_answer": "Lyon", "expected": "Paris", "reward": 0.0,
        "started_at": "2030-01-01T00:00:00Z",
    },
    {   # a crash: no answer, an error, handled_by is ignored
        "id": "run-crash-3", "task": "Decode the header", "error": "agent timed out",
        "handled_by": "forged-cycle",
    },
]


def write_jsonl(path: Path, objects: list[object]) -> Path:
    path.write_text("\n".join(json.dumps(o) for o in objects) + "\n")
    return path


def test_report_and_list(library: Path, tmp_path: Path) -> None:
    result = run_cli("report", write_jsonl(tmp_path / "runs.jsonl", RUNS), "-L", library,
                     "--json")
    assert result.exit_code == 0, result.stdout + result.stderr
    doc = result.json
    assert doc["recorded"] == 3
    by_id = {t["id"]: t for t in doc["trajectories"]}
    assert by_id["run-ok-1"]["reward"] == 1.0 and by_id["run-ok-1"]["success"] is True
    assert by_id["run-bad-2"]["success"] is False
    assert by_id["run-crash-3"]["reward"] is None and by_id["run-crash-3"]["success"] is False
    assert {t["source"] for t in doc["trajectories"]} == {"report"}

    listed = run_cli("trajectories", "list", "-L", library, "--json").json
    assert listed["count"] == 3
    assert listed["trajectories"][0]["id"] == "run-bad-2"  # started in 2030: newest
    assert listed["trajectories"][0]["step_count"] == 0
    assert all(t["handled_by"] is None for t in listed["trajectories"])

    def ids(*args: str) -> list[str]:
        out = run_cli("trajectories", "list", "-L", library, "--json", *args)
        assert out.exit_code == 0, out.stdout + out.stderr
        return [t["id"] for t in out.json["trajectories"]]

    assert sorted(ids("--failed")) == ["run-bad-2", "run-crash-3"]
    assert ids("--failed", "--unhandled", "--group", "geo") == ["run-bad-2"]
    assert ids("--task", "sum-1") == ["run-ok-1"]
    assert ids("-n", "1") == ["run-bad-2"]
    assert ids("--since", "2029-12-31") == ["run-bad-2"]
    bad = run_cli("trajectories", "list", "-L", library, "--since", "last week")
    assert bad.exit_code == 2 and "ISO" in bad.stderr

    text = run_cli("trajectories", "list", "-L", library)
    assert text.exit_code == 0
    assert "run-ok-1" in text.stdout and "fail" in text.stdout


def test_report_is_all_or_nothing(library: Path, tmp_path: Path) -> None:
    broken = [RUNS[0], {"task": "x", "reward": 2}, {"final_answer": "no task"},
              {"task": "y", "expected": {"kind": "fuzzy"}}]
    bad = write_jsonl(tmp_path / "bad.jsonl", broken)
    result = run_cli("report", bad, "-L", library)
    assert result.exit_code == 1 and "nothing recorded: 3 of 4" in result.stderr
    message = run_cli("report", bad, "-L", library, "--json").json["message"]
    assert "bad.jsonl:2: reward" in message
    assert "bad.jsonl:3: task" in message
    assert "bad.jsonl:4: expected: unknown check kind 'fuzzy'" in message
    assert "bad.jsonl:1" not in message

    (tmp_path / "garbled.jsonl").write_text('{"task": "a"}\n{"task": \n')
    result = run_cli("report", tmp_path / "garbled.jsonl", "-L", library, "--json")
    assert result.exit_code == 1
    assert result.json["error"] == "report" and "garbled.jsonl:2: bad JSON" in \
        result.json["message"]

    assert run_cli("report", tmp_path / "missing.jsonl", "-L", library).exit_code == 1
    assert run_cli("trajectories", "list", "-L", library, "--json").json["count"] == 0

    # A duplicate id, within the file or against the store, also records nothing.
    write_jsonl(tmp_path / "one.jsonl", [RUNS[1]])
    assert run_cli("report", tmp_path / "one.jsonl", "-L", library).exit_code == 0
    again = run_cli("report", write_jsonl(tmp_path / "two.jsonl", [RUNS[0], RUNS[1]]),
                    "-L", library)
    assert again.exit_code == 1 and "already recorded" in again.stderr
    assert run_cli("trajectories", "list", "-L", library, "--json").json["count"] == 1


def test_report_single_object_and_stdin(library: Path, tmp_path: Path) -> None:
    (tmp_path / "one.json").write_text(json.dumps({"task": "pretty", "final_answer": "4",
                                                   "expected": 4}, indent=2))
    result = run_cli("report", tmp_path / "one.json", "-L", library)
    assert result.exit_code == 0, result.stderr
    assert "recorded 1 trajectory" in result.stdout

    runner = CliRunner()
    payload = json.dumps([{"task": "from stdin", "reward": 0.25}])
    out = runner.invoke(app, ["report", "-", "-L", str(library), "--json"], input=payload)
    assert out.exit_code == 0, out.stdout
    assert json.loads(out.stdout)["result"]["trajectories"][0]["success"] is False


def test_show(library: Path, tmp_path: Path) -> None:
    run_cli("report", write_jsonl(tmp_path / "runs.jsonl", RUNS), "-L", library)
    doc = run_cli("trajectories", "show", "run-ok", "-L", library, "--json").json
    assert doc["id"] == "run-ok-1" and doc["steps"][1]["kind"] == "tool_call"
    assert doc["tools_used"] == ["parse_log", "sum_bytes"]

    text = run_cli("trajectories", "show", "run-ok", "-L", library)
    assert text.exit_code == 0
    for fragment in ("Sum the bytes in log A", "parse_log", "TypeError: bad row",
                     "The total is 1,234 bytes.", "1234", "reward 1.000", "my-agent/v1"):
        assert fragment in text.stdout, fragment

    ambiguous = run_cli("trajectories", "show", "run-", "-L", library)
    assert ambiguous.exit_code == 1 and "matches several" in ambiguous.stderr
    missing = run_cli("trajectories", "show", "zzz", "-L", library, "--json")
    assert missing.exit_code == 1 and missing.json["error"] == "not_found"


def test_a_reported_run_records_the_library_commit_it_used(library: Path, tmp_path: Path
                                                           ) -> None:
    """An agent reading this (pinned) clone reports runs: each records the commit it was
    served, unless it says which one itself."""
    head = git(library, "rev-parse", "HEAD").strip()
    mine = {"id": "run-own", "task": "t", "metadata": {"library_commit": "abc123", "k": 1}}
    runs = write_jsonl(tmp_path / "runs.jsonl", [RUNS[1], mine])
    assert run_cli("report", runs, "-L", library).exit_code == 0
    shown = run_cli("trajectories", "show", "run-bad-2", "-L", library, "--json").json
    assert shown["metadata"] == {"library_commit": head}
    own = run_cli("trajectories", "show", "run-own", "-L", library, "--json").json
    assert own["metadata"] == {"library_commit": "abc123", "k": 1}


def test_export(library: Path, tmp_path: Path) -> None:
    run_cli("report", write_jsonl(tmp_path / "runs.jsonl", RUNS), "-L", library)
    out = run_cli("trajectories", "export", "-L", library)
    assert out.exit_code == 0
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [d["id"] for d in lines][-1] == "run-bad-2"  # oldest first
    assert len(lines) == 3 and lines[0]["steps"] is not None

    target = tmp_path / "failed.jsonl"
    out = run_cli("trajectories", "export", "--failed", "-o", target, "-L", library)
    assert out.exit_code == 0 and "exported 2" in out.stdout
    as_json = run_cli("trajectories", "export", "--failed", "-o", target, "-L", library,
                      "--json")
    assert as_json.json == {"exported": 2, "path": str(target)}
    exported = [json.loads(line) for line in target.read_text().splitlines()]
    assert sorted(d["id"] for d in exported) == ["run-bad-2", "run-crash-3"]

    # An export can be reported again into another library: the format round-trips.
    other = tmp_path / "other"
    assert run_cli("init", other).exit_code == 0
    again = run_cli("report", target, "-L", other, "--json")
    assert again.exit_code == 0 and again.json["recorded"] == 2


def test_not_a_library(tmp_path: Path) -> None:
    result = run_cli("trajectories", "list", "-L", tmp_path / "nowhere")
    assert result.exit_code == 1 and "no library" in result.stderr
