"""Evolution with the scripted model: the real client, sandbox, library and CLI."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from conftest import git, run_cli
from toolforge import Forge
from toolforge.testing.scripted_model import ScriptedModelServer

DEMO = Path(__file__).resolve().parents[1] / "src/toolforge/demo"


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch):
    """Start a scripted model and configure toolforge for it through the environment, the
    way a user configures a real model."""
    servers: list[ScriptedModelServer] = []

    def start(script: dict[str, Any]) -> ScriptedModelServer:
        server = ScriptedModelServer(script)
        url = server.start()
        servers.append(server)
        monkeypatch.setenv("TOOLFORGE_MODEL", "openai/scripted")
        monkeypatch.setenv("TOOLFORGE_API_BASE", url)
        monkeypatch.setenv("TOOLFORGE_API_KEY", "scripted")
        return server

    yield start
    for server in servers:
        server.stop()


def _record_failures(library: Path, n: int = 5) -> None:
    with Forge(agent_fn=lambda task, tools: "no idea", library=library,
               auto_evolve=False) as forge:
        for i in range(n):
            result = forge.run(f"how many ERROR events did billing log? #{i}", expected=3)
            assert result.success is False


def test_demo_runs_the_whole_loop(tmp_path: Path) -> None:
    library = tmp_path / "demo"
    result = run_cli("demo", "-L", library, "--json")
    assert result.exit_code == 0, result.stdout[-2000:]
    summary = result.json
    assert "scripted" in summary["model"]
    assert [r["success"] for r in summary["before"]["results"]] == [False] * 6
    assert [r["success"] for r in summary["after"]["results"]] == [True] * 6
    outcomes = {o["gap"]["name"]: o for o in summary["cycle"]["outcomes"]}
    # the buggy draft was refined into a passing tool
    assert [a["verdict"] for a in outcomes["count_log_events"]["attempts"]] == [
        "failed", "passed"]
    assert outcomes["count_log_events"]["status"] == "promoted"
    assert outcomes["acme_metric"]["status"] == "promoted"
    # the prompt-injected, malicious candidate was refused statically and never promoted
    bad = outcomes["upload_diagnostics"]
    assert bad["status"] == "rejected" and "static" in bad["reason"]
    assert not (library / "tools/upload_diagnostics").exists()
    assert "reject upload_diagnostics v1" in git(library, "log", "--format=%s")
    # the cycle's model calls are accounted per gap and in total
    assert summary["cycle"]["usage"]["calls"] >= 10
    assert outcomes["acme_metric"]["usage"]["total_tokens"] > 0
    # promoted tools carry their provenance, and the git history is real
    meta = tomllib.loads((library / "tools/acme_metric/tool.toml").read_text())
    prov = meta["provenance"]
    assert prov["source"] == "evolve" and prov["models"]["synthesis"] == "openai/scripted"
    assert set(prov["prompts"]) >= {"synthesize_tool", "write_tests", "adversarial_tests"}
    assert len(prov["evidence"]) >= 1 and prov["tokens"] > 0
    assert meta["validation"]["verdict"] == "passed" and meta["validation"]["isolated"]
    assert "tool/acme_metric/v1" in git(library, "tag").split()
    # the adversarial tests were kept with the tool
    assert "test_adversarial_" in (library / "tools/count_log_events/test_tool.py").read_text()
    assert set(summary["active_tools"]) >= {"acme_metric", "count_log_events"}
    # trajectories of both runs are recorded
    listing = run_cli("trajectories", "list", "-n", "50", "-L", library, "--json")
    assert listing.exit_code == 0 and listing.json["count"] == 12


GAP = {"gaps": [{"name": "count_errors", "description": "Count ERROR lines.",
                 "signature": "count_errors(log: str) -> int", "rationale": "r",
                 "evidence": []}]}
GOOD_TOOL = '''```python
def count_errors(log: str) -> int:
    """Count ERROR lines.

    Args:
        log: the log text.

    Returns:
        how many lines contain ERROR.
    """
    return sum(1 for line in log.splitlines() if "ERROR" in line)
```'''
GOOD_TESTS = '''```python
from tool import count_errors


def test_counts():
    assert count_errors("ERROR a\\nINFO b\\nERROR c") == 2


def test_empty():
    assert count_errors("") == 0
```'''


def _script(**overrides: Any) -> dict[str, Any]:
    responses = {
        "gaps": {"content": json.dumps(GAP)},
        "tool": {"content": GOOD_TOOL},
        "tests": {"content": GOOD_TESTS},
        "attack": {"content": GOOD_TESTS.replace("test_counts", "test_more")},
        **overrides,
    }
    return {"rules": [
        {"match": {"contains": ["You analyse failed agent runs"]}, "respond": responses["gaps"]},
        {"match": {"contains": ["Write a Python tool"]}, "respond": responses["tool"]},
        {"match": {"contains": ["failed validation. Fix the tool"]},
         "respond": responses["tool"]},
        {"match": {"contains": ["Write pytest tests"]}, "respond": responses["tests"]},
        {"match": {"contains": ["trying to break this tool"]}, "respond": responses["attack"]},
    ]}


def test_evolve_command_promotes_with_auto_policy_and_reports_cost(
        example_library: Path, scripted) -> None:
    settings = example_library / "toolforge.toml"
    settings.write_text(settings.read_text().replace('promotion = "review"',
                                                     'promotion = "auto"'))
    git(example_library, "commit", "-qam", "auto promotion")
    _record_failures(example_library)
    scripted(_script())
    result = run_cli("evolve", "-L", example_library, "--json")
    assert result.exit_code == 0, result.stdout
    report = result.json
    assert report["outcomes"][0]["status"] == "promoted"
    assert report["usage"]["calls"] == 4  # gaps, tool, tests, attack
    assert report["usage"]["total_tokens"] > 0
    assert report["framework_ms"] >= 0
    assert (example_library / "tools/count_errors/tool.py").is_file()
    # the failures were consumed: a second manual cycle has nothing to learn from
    again = run_cli("evolve", "-L", example_library, "--json").json
    assert again["error"] == "no unhandled failures to learn from"


def test_review_policy_leaves_a_candidate(example_library: Path, scripted) -> None:
    _record_failures(example_library)
    scripted(_script())
    report = run_cli("evolve", "-L", example_library, "--json").json
    assert report["outcomes"][0]["status"] == "candidate"
    listing = run_cli("list", "--status", "candidate", "-L", example_library, "--json").json
    assert "count_errors" in {t["tool"] for t in listing["tools"]}
    assert not (example_library / "tools/count_errors").exists()


def test_dry_run_writes_nothing_and_consumes_nothing(example_library: Path, scripted) -> None:
    _record_failures(example_library)
    scripted(_script())
    head = git(example_library, "rev-parse", "HEAD")
    report = run_cli("evolve", "--dry-run", "-L", example_library, "--json").json
    assert report["dry_run"] and report["outcomes"][0]["status"] == "candidate"
    assert git(example_library, "rev-parse", "HEAD") == head
    unhandled = run_cli("trajectories", "list", "--unhandled", "--failed", "-L",
                        example_library, "--json").json
    assert len(unhandled["trajectories"]) == 5


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ({"gaps": {"content": "Sure! Here are some thoughts, but no JSON."}},
         "gap analysis is not JSON"),
        ({"gaps": {"content": '{"gaps": [{"name": "../evil", "description": "x"}]}'}},
         "invalid tool name"),
        ({"gaps": {"content": '{"gaps": [{"name": "x", "description": "y", "evidence": [1, 2'}},
         "truncated"),
        ({"tool": {"content": "I'm sorry, but I can't help with that."}}, "refused"),
        ({"tool": {"content": "Here you go: it counts the lines."}}, "no usable tool code"),
        ({"tests": {"content": "```python\ndef broken(:\n```"}}, "no usable tests"),
    ],
)
def test_garbage_model_output_fails_the_candidate_with_a_reason(
        example_library: Path, scripted, override: dict[str, Any], fragment: str) -> None:
    _record_failures(example_library)
    scripted(_script(**override))
    result = run_cli("evolve", "-L", example_library, "--json")
    assert result.exit_code == 0, result.stdout
    report = result.json
    reasons = [report.get("error") or ""] + [o["reason"] for o in report["outcomes"]]
    assert any(fragment in r for r in reasons), reasons
    assert not (example_library / "tools/count_errors").exists()
    if report.get("error"):  # a cycle that learned nothing gives its failures back
        unhandled = run_cli("trajectories", "list", "--unhandled", "--failed", "-L",
                            example_library, "--json").json
        assert len(unhandled["trajectories"]) == 5


def test_capacity_refuses_new_tools_when_full(example_library: Path, scripted) -> None:
    settings = example_library / "toolforge.toml"
    settings.write_text(settings.read_text().replace("capacity = 200", "capacity = 3"))
    git(example_library, "commit", "-qam", "small library")
    _record_failures(example_library)
    scripted(_script())
    report = run_cli("evolve", "-L", example_library, "--json").json
    outcome = report["outcomes"][0]
    assert outcome["status"] == "refused" and "library full" in outcome["reason"]


def test_no_model_configured_says_how_to_configure_one(example_library: Path,
                                                       monkeypatch) -> None:
    for var in ("TOOLFORGE_MODEL", "TOOLFORGE_SYNTH_MODEL", "TOOLFORGE_AGENT_MODEL"):
        monkeypatch.delenv(var, raising=False)
    _record_failures(example_library)
    result = run_cli("evolve", "-L", example_library, "--json")
    assert result.exit_code == 1
    assert result.json["error"] == "config"
    assert "TOOLFORGE_MODEL" in result.json["hint"]


def test_forge_api_wraps_any_agent_and_runs_tools_in_the_sandbox(example_library: Path
                                                                 ) -> None:
    def agent(task: str, tools: list) -> str:
        by_name = {t.__name__: t for t in tools}
        return by_name["sha256_hex"](text=task.split(":", 1)[1].strip())

    with Forge(agent_fn=agent, library=example_library, auto_evolve=False) as forge:
        assert {t.__name__ for t in forge.tools()} == {
            "convert_units", "iso8601_duration_seconds", "sha256_hex"}
        result = forge.run("hash this: abc", expected=(
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"))
        assert result.success is True and result.reward == 1.0
        assert result.tools_used == ["sha256_hex"]
        checked = forge.run("hash this: x", check=lambda answer: len(answer) == 64)
        assert checked.reward == 1.0
        assert forge.call("convert_units", value=1, from_unit="km", to_unit="m") == 1000.0
    shown = run_cli("trajectories", "show", result.trajectory_id, "-L", example_library,
                    "--json").json
    assert shown["steps"][0]["tool"] == "sha256_hex"
    assert shown["source"] == "api"


def test_run_evolves_mid_run_and_later_tasks_use_the_new_tools(tmp_path: Path,
                                                              monkeypatch) -> None:
    from toolforge.demo.metrics_api import MetricsAPI
    from toolforge.demo.run import prepare_library

    library = tmp_path / "lib"
    prepare_library(library)  # the example tools, promotion = "auto"
    with MetricsAPI() as api, ScriptedModelServer(DEMO / "script.json") as model:
        monkeypatch.setenv("TOOLFORGE_MODEL", "openai/scripted")
        monkeypatch.setenv("TOOLFORGE_API_BASE", model.base_url)
        monkeypatch.setenv("TOOLFORGE_API_KEY", "scripted")
        tasks = tmp_path / "tasks.jsonl"
        tasks.write_text((DEMO / "tasks.jsonl").read_text().replace("{metrics_url}", api.url))
        result = run_cli("run", tasks, "--evolve", "-L", library, "--json")
    assert result.exit_code == 0, result.stdout[-2000:]
    summary = result.json
    # five failures fire the trigger; the sixth task runs with the evolved tools
    assert [r["success"] for r in summary["results"]] == [False] * 5 + [True]
    assert summary["results"][-1]["tools_used"] == ["acme_metric"]
    assert len(summary["cycles"]) == 1
    assert summary["cycles"][0]["reason"].startswith("failure_threshold")
    groups = {g["group"]: g for g in summary["groups"]}
    assert groups["logs"]["successes"] == 0 and groups["metrics"]["successes"] == 1
    assert summary["usage"]["calls"] > 6
    text = run_cli("trajectories", "list", "--failed", "-L", library, "--json").json
    assert text["count"] == 5


def test_a_refused_test_file_is_written_again_with_the_findings(
        example_library: Path, scripted) -> None:
    _record_failures(example_library)
    refused = GOOD_TESTS.replace("from tool import", "import pytest\nfrom tool import").replace(
        "def test_empty():", "@pytest.mark.skip\ndef test_empty():")
    script = _script(tests={"content": refused})
    script["rules"].insert(0, {"match": {"contains": ["was refused", "TF408"]},
                               "respond": {"content": GOOD_TESTS}})
    scripted(script)
    report = run_cli("evolve", "-L", example_library, "--json").json
    assert report["outcomes"][0]["status"] == "candidate", report
    assert report["usage"]["calls"] == 5  # gaps, tool, tests, tests again, attack


def test_merged_adversarial_tests_keep_their_helpers_and_constants() -> None:
    from toolforge.evolve.synthesis import merge_tests
    from toolforge.safety.checker import check_source

    own = ("from tool import f\n\nCASES = [1]\n\n\ndef check(x):\n    assert f(x) == x\n\n\n"
           "def test_a():\n    for c in CASES:\n        check(c)\n")
    extra = ("import json\nfrom tool import f\n\nCASES = [3]\n\n\ndef check(x):\n"
             "    assert f(x) != -1\n\n\ndef test_a():\n    for c in CASES:\n        check(c)\n\n\n"
             "def test_b():\n    assert json.dumps(f(1)) == '1'\n")
    merged = merge_tests(own, extra)
    assert "def test_adversarial_a():\n    for c in adversarial_CASES:\n" in merged
    assert "adversarial_check(c)" in merged and "def test_adversarial_b" in merged
    assert check_source(merged, is_test=True, entrypoint="f") == []
    assert merge_tests(own, "def broken(:\n") == own
