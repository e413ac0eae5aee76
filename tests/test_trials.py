"""A/B trials of a patched tool: a share of the calls go to the new version, runs are
attributed to the version they used, rewards compared per arm (mean, spread, count), and
the better version wins: promoted, or the candidate rejected; each decision a commit."""

from __future__ import annotations

import tomllib
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import git, make_tests, make_tool, run_cli, write_tool_dir
from deploy_helpers import wait_for, write_config
from toolforge import Forge
from toolforge.daemon.app import create_app
from toolforge.daemon.context import build_context
from toolforge.runtime.routing import choose_arm

OLD = make_tool("shout")  # v1: "ABC"
NEW = make_tool("shout", body='return text.upper() + "!"')  # the patch: "ABC!"


def _with_candidate(library: Path, tmp_path: Path, code: str) -> None:
    tests = make_tests("shout").replace("== 'ABC'", ".startswith('ABC')")
    src = write_tool_dir(tmp_path / "v1", "shout", OLD, tests)
    assert run_cli("add", src, "-L", library).exit_code == 0
    assert run_cli("promote", "shout", "-L", library).exit_code == 0
    src = write_tool_dir(tmp_path / "v2", "shout", code, tests)
    added = run_cli("add", src, "-L", library, "--json")
    assert added.json["details"]["validation"]["verdict"] == "passed", added.stdout


def _reward(answer: str, expected: Any) -> float:
    """The scripted reward: the user likes an exclamation mark."""
    return 1.0 if answer.endswith("!") else 0.25


def _runs(library: Path, n: int) -> Counter[int]:
    def agent(task: str, tools: list) -> str:
        return tools[0](text=task)  # the one tool

    used: Counter[int] = Counter()
    with Forge(agent_fn=agent, library=library, reward_fn=_reward, auto_evolve=False) as forge:
        for i in range(n):
            result = forge.run(f"hello {i}", session=f"user-{i}")
            shown = run_cli("trajectories", "show", result.trajectory_id, "-L", library,
                            "--json").json
            used[shown["metadata"]["tool_versions"]["shout"]] += 1
    return used


def test_routing_keeps_a_session_on_one_arm_and_follows_the_share() -> None:
    arms = [choose_arm("t1", 0.3, f"s{i}") for i in range(2000)]
    assert all(choose_arm("t1", 0.3, f"s{i}") == arm for i, arm in enumerate(arms[:50]))
    share = arms.count("candidate") / len(arms)
    assert 0.25 < share < 0.35
    assert choose_arm("t1", 0.0, "s") == "baseline" and choose_arm("t1", 1.0, None) == \
        "candidate"
    draws = iter([0.1, 0.9])
    assert [choose_arm("t1", 0.5, None, lambda: next(draws)) for _ in range(2)] == [
        "candidate", "baseline"]


def test_a_better_patch_wins_its_trial_and_is_promoted(library: Path, tmp_path: Path
                                                       ) -> None:
    _with_candidate(library, tmp_path, NEW)
    started = run_cli("trials", "start", "shout", "--share", "0.5", "--episodes", "20",
                      "-L", library, "--json")
    assert started.exit_code == 0, started.stdout
    assert started.json["trial"]["baseline"] == 1 and started.json["candidate"] == 2
    assert git(library, "log", "-1", "--format=%s").startswith(
        "start trial of shout v2 against v1 (50% of calls, 20 episodes)")
    waiting = run_cli("trials", "decide", "shout", "-L", library, "--json").json
    assert waiting["outcome"] == "waiting"
    used = _runs(library, 24)
    assert used[1] >= 5 and used[2] >= 5 and used[1] + used[2] == 24  # both arms served
    trials = run_cli("trials", "-L", library, "--json").json["trials"]
    arms = trials[0]
    assert arms["due"] is True
    assert arms["candidate"] == {"arm": "candidate", "version": 2, "runs": used[2],
                                 "mean": 1.0, "std": 0.0}
    assert arms["baseline"]["runs"] == used[1] and arms["baseline"]["mean"] == 0.25
    decided = run_cli("trials", "decide", "shout", "-L", library, "--json")
    assert decided.exit_code == 0, decided.stdout
    assert decided.json["outcome"] == "promoted" and decided.json["version"] == 2
    assert "v2 wins" in decided.json["reason"] and "n=" in decided.json["reason"]
    assert git(library, "log", "-2", "--format=%s").splitlines() == [
        "promote shout v2", "end trial of shout v2: v2 wins"]
    meta = tomllib.loads((library / "tools/shout/tool.toml").read_text())
    assert "trial" not in meta and "v2 wins" in meta["provenance"]["trial"]["result"]
    assert run_cli("call", "shout", "-a", "text=a", "-L", library, "--json").json[
        "value"] == "A!"
    assert run_cli("trials", "-L", library, "--json").json == {"trials": []}


def test_a_trial_that_cannot_start_says_why_and_commits_nothing(library: Path) -> None:
    head = git(library, "rev-parse", "HEAD")
    missing = run_cli("trials", "start", "nobody", "-L", library, "--json")
    assert (missing.exit_code, missing.json["error"]) == (1, "not_found"), missing.stdout
    src = write_tool_dir(library.parent / "src", "shout")
    assert run_cli("add", src, "-L", library).exit_code == 0  # a candidate, nothing active
    alone = run_cli("trials", "start", "shout", "-L", library, "--json")
    assert (alone.exit_code, alone.json["error"]) == (1, "conflict"), alone.stdout
    assert "toolforge promote shout" in alone.json["hint"]
    for bad in (["--share", "0"], ["--share", "1.5"], ["--episodes", "1"]):
        refused = run_cli("trials", "start", "shout", *bad, "-L", library, "--json")
        assert (refused.exit_code, refused.json["error"]) == (2, "usage"), bad
    assert git(library, "log", "--format=%s", f"{head.strip()}..HEAD").splitlines() == [
        "add candidate shout v1"]


def test_a_trial_committed_by_hand_never_runs_unvalidated_code(library: Path, tmp_path: Path
                                                               ) -> None:
    tests = make_tests("shout")
    assert run_cli("add", write_tool_dir(tmp_path / "v1", "shout", OLD, tests),
                   "-L", library).exit_code == 0
    assert run_cli("promote", "shout", "-L", library).exit_code == 0
    patch = make_tool("shout", body='return text.upper() + "?"')
    assert run_cli("add", write_tool_dir(tmp_path / "v2", "shout", patch, tests),
                   "--no-validate", "-L", library).exit_code == 0
    with (library / "candidates/shout/tool.toml").open("a") as meta:  # every call, it says
        meta.write('\n[trial]\nid = "by-hand"\nshare = 1.0\nepisodes = 5\nbaseline = 1\n'
                   'started_at = "2026-01-01T00:00:00+00:00"\n')
    git(library, "commit", "-qam", "a trial nobody validated")
    called = run_cli("call", "shout", "-a", "text=a", "-L", library, "--json")
    assert called.json["value"] == "A", called.stdout  # the active version, not the patch
    # validated after all (its tests fail: "A?" is not "ABC"): still the active version
    assert run_cli("validate", "shout", "-L", library).exit_code != 0
    assert run_cli("call", "shout", "-a", "text=a", "-L", library, "--json").json[
        "value"] == "A"


@pytest.fixture
async def daemon(library: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                 ) -> AsyncIterator[Any]:
    monkeypatch.setenv("TOOLFORGE_CONFIG", str(write_config(
        tmp_path / "config.toml", "[evolution]\npoll_s = 0.2\n")))
    ctx = build_context(library, watch=False, concurrency=2)
    app = create_app(ctx)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://toolforge") as client:
        yield client, ctx


async def test_the_daemon_rejects_a_worse_patch_once_its_episodes_are_in(
        library: Path, tmp_path: Path, daemon: Any) -> None:
    worse = make_tool("shout", body='return text.upper() + "?"')  # the user dislikes it
    _with_candidate(library, tmp_path, worse)
    assert run_cli("trials", "start", "shout", "--share", "0.5", "--episodes", "12",
                   "-L", library).exit_code == 0

    def reward(answer: str, expected: Any) -> float:
        return 0.0 if answer.endswith("?") else 0.9

    def agent(task: str, tools: list) -> str:
        return tools[0](text=task)

    def decided() -> bool:
        return "reject shout" in git(library, "log", "-1", "--format=%s")

    # Which arm a session gets depends on the random trial id: 16 sessions usually give each
    # arm its minimum, but not always, so more come, a few at a time, until it is decided.
    with Forge(agent_fn=agent, library=library, reward_fn=reward, auto_evolve=False) as forge:
        for i in range(96):
            forge.run(f"Hello {i}", session=f"u{i}")
            if i >= 15 and i % 8 == 7 and decided():
                break
    wait_for("the daemon to decide the trial", decided)
    subject = git(library, "log", "-1", "--format=%s")
    assert subject.startswith("reject shout v2: A/B trial: v1 kept")
    assert not (library / "candidates/shout").exists()
    assert tomllib.loads((library / "tools/shout/tool.toml").read_text())["version"] == 1
    jobs = (await daemon[0].get("/v1/jobs")).json()["jobs"]
    assert any(j["kind"] == "trial" and j["state"] == "succeeded" for j in jobs)
