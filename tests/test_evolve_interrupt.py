"""An interrupted `toolforge evolve` gives its work back (issue 10, item 3).

The CLI runs as a real process against the scripted model; it is stopped with real
signals while a model call is in flight. No timing is asserted: every wait is for an
answer, with a generous deadline.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conftest import EXAMPLE_LIBRARY, PYTHON, git, run_cli
from deploy_helpers import FAST, evolve_script, failed_run, write_config
from test_evolve import GOOD_TESTS, GOOD_TOOL, _record_failures, _script
from test_evolve import scripted as scripted  # the scripted model fixture
from toolforge.daemon.client import DaemonClient
from toolforge.evolve.trajectories import STATE_DB, Trajectory, TrajectoryStore
from toolforge.evolve.triggers import CycleLog
from toolforge.llm.usage import UsageTotals
from toolforge.testing.scripted_model import ScriptedModelServer

DEADLINE_S = 90.0
TOOL_PROMPT = "Write a Python tool"


@pytest.fixture
def lease(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    """Set `[evolution] lease_s` in the user config."""

    def set_lease(seconds: float) -> None:
        config = tmp_path / "user-config.toml"
        config.write_text(f"[evolution]\nlease_s = {seconds}\n")
        monkeypatch.setenv("TOOLFORGE_CONFIG", str(config))

    return set_lease


def _slow(rule_prompt: str, delay_s: float, content: str) -> dict[str, Any]:
    """A script whose first answer to `rule_prompt` comes after `delay_s` (later ones at
    once): the cycle is caught with that model call in flight."""
    script = _script()
    slow = {"match": {"contains": [rule_prompt]}, "times": 1,
            "respond": {"content": content, "delay_s": delay_s}}
    return {"rules": [slow, *script["rules"]]}


def _start_evolve(library: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([PYTHON, "-m", "toolforge", "evolve", "-L", str(library), "--json"],
                            env=dict(os.environ), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _wait_for(what: str, check: Callable[[], Any], proc: subprocess.Popen[str] | None = None
              ) -> Any:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"evolve ended before {what}: {proc.returncode}\n{out}\n{err}")
        time.sleep(0.1)
    pytest.fail(f"no {what} within {DEADLINE_S:.0f} s")


def _in_flight(server: ScriptedModelServer) -> bool:
    """The slow rule (the first) has taken its request: that model call is in flight."""
    return server.engine.uses()[0] > 0


def _asked(server: ScriptedModelServer, prompt: str) -> bool:
    return any(prompt in json.dumps(r["body"]) for r in server.chat_requests())


def _unhandled(library: Path) -> list[str]:
    listing = run_cli("trajectories", "list", "--unhandled", "--failed", "-n", "100", "-L",
                      library, "--json")
    assert listing.exit_code == 0, listing.stdout
    return sorted(t["id"] for t in listing.json["trajectories"])


def _cycle(library: Path, cycle_id: str) -> dict[str, Any]:
    shown = run_cli("cycles", cycle_id, "-L", library, "--json")
    assert shown.exit_code == 0, shown.stdout
    return dict(shown.json)


def _cycles(library: Path) -> list[dict[str, Any]]:
    listing = run_cli("cycles", "-L", library, "--json")
    assert listing.exit_code == 0, listing.stdout
    return list(listing.json["cycles"])


def _spent(library: Path) -> dict[str, Any] | None:
    """The running cycle, once it has recorded spend (its first model call)."""
    running = [c for c in _cycles(library) if c["status"] == "running"]
    return running[0] if running and running[0]["tokens"] > 0 else None


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_cycle_gives_its_failures_back_and_records_its_spend(
        example_library: Path, scripted, lease, sig: signal.Signals) -> None:
    lease(60)
    _record_failures(example_library)
    failures = _unhandled(example_library)
    assert len(failures) == 5
    server = scripted(_slow(TOOL_PROMPT, 300, GOOD_TOOL))
    proc = _start_evolve(example_library)
    try:
        _wait_for("model call for the tool", lambda: _in_flight(server), proc)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=DEADLINE_S)
    finally:
        proc.kill()
    # Stopped with the model call in flight (it would answer in 300 s), one clear line.
    assert proc.returncode == 130, (out, err)
    error = json.loads(out)["error"]
    assert error["kind"] == "interrupted" and error["given_back"] == 5
    assert "5 failed run(s) given back" in error["message"]
    assert "Traceback" not in err
    # The failures are unhandled again; the cycle is aborted with what it spent.
    assert _unhandled(example_library) == failures
    cycle = _cycle(example_library, error["cycle"])
    assert cycle["status"] == "aborted"
    assert sig.name in cycle["error"]
    assert cycle["model_calls"] >= 1 and cycle["tokens"] > 0  # the gap analysis
    # The next cycle learns from the same failures.
    again = run_cli("evolve", "-L", example_library, "--json")
    assert again.exit_code == 0, again.stdout
    assert sorted(again.json["trajectory_ids"]) == failures
    assert again.json["outcomes"][0]["status"] == "candidate"
    assert _unhandled(example_library) == []


def test_sigint_during_a_sandbox_run_stops_the_cycle(example_library: Path, scripted,
                                                     lease) -> None:
    lease(60)
    _record_failures(example_library)
    failures = _unhandled(example_library)
    hanging = GOOD_TESTS.replace("def test_empty():",
                                 "def test_empty():\n    import time\n    time.sleep(600)")
    server = scripted(_script(tests={"content": hanging}))
    proc = _start_evolve(example_library)
    try:
        _wait_for("the tests", lambda: _asked(server, "Write pytest tests"), proc)
        time.sleep(2)  # into the sandbox run of the tests (which would sleep 600 s)
        sandboxes = _wait_for("sandbox processes", lambda: _descendants(proc.pid), proc)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=DEADLINE_S)
    finally:
        proc.kill()
    assert proc.returncode == 130, (out, err)
    assert json.loads(out)["error"]["kind"] == "interrupted"
    assert _unhandled(example_library) == failures
    # Every process it had started (sandboxes, their reaper) is gone.
    _wait_for("its sandboxes to die", lambda: not any(_alive(p) for p in sandboxes))


def _stat(pid: int | str) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name: [state, ppid, ...]."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _descendants(pid: int) -> set[int]:
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(entry.name)) is not None:
            parents[int(entry.name)] = int(fields[1])
    found: set[int] = set()
    todo = {pid}
    while todo:
        children = {p for p, parent in parents.items() if parent in todo} - found
        found |= children
        todo = children
    return found


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for its new parent to reap it is dead)."""
    fields = _stat(pid)
    return fields is not None and fields[0] not in ("Z", "X")


def test_a_killed_cycle_gives_its_failures_back_when_its_lease_runs_out(
        example_library: Path, scripted, lease) -> None:
    lease(2)
    _record_failures(example_library)
    failures = _unhandled(example_library)
    server = scripted(_slow(TOOL_PROMPT, 300, GOOD_TOOL))
    proc = _start_evolve(example_library)
    try:
        _wait_for("model call for the tool", lambda: _in_flight(server), proc)
        dead = _wait_for("spend recorded by the running cycle",
                         lambda: _spent(example_library), proc)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=DEADLINE_S)
    finally:
        proc.kill()
    # Once the lease has run out, the failures are unhandled again ...
    assert _wait_for("failures given back", lambda: _unhandled(example_library) == failures)
    # ... and the dead cycle shows aborted, with the spend it had recorded.
    cycle = _cycle(example_library, dead["id"])
    assert cycle["status"] == "aborted" and "lease" in cycle["error"]
    assert cycle["tokens"] >= dead["tokens"] > 0 and cycle["model_calls"] >= 1
    again = run_cli("evolve", "-L", example_library, "--json")
    assert again.exit_code == 0, again.stdout
    assert sorted(again.json["trajectory_ids"]) == failures


def test_a_live_cycle_keeps_its_lease(example_library: Path, scripted, lease) -> None:
    lease(3)
    _record_failures(example_library)
    failures = _unhandled(example_library)
    server = scripted(_slow(TOOL_PROMPT, 40, GOOD_TOOL))
    proc = _start_evolve(example_library)
    try:
        _wait_for("model call for the tool", lambda: _in_flight(server), proc)
        time.sleep(10)  # several lease lengths: only renewals keep the claim
        # Looking at the unhandled failures (which reclaims expired leases) takes nothing.
        assert _unhandled(example_library) == []
        running = [c for c in _cycles(example_library) if c["status"] == "running"]
        assert len(running) == 1
        # A concurrent `evolve` finds the cycle running and takes none of its failures.
        other = run_cli("evolve", "-L", example_library, "--json")
        assert other.exit_code == 1 and other.json["error"] == "cycle_running", other.stdout
        assert _unhandled(example_library) == []
        out, err = proc.communicate(timeout=DEADLINE_S)
    finally:
        proc.kill()
    assert proc.returncode == 0, (out, err)
    report = json.loads(out)["result"]
    assert sorted(report["trajectory_ids"]) == failures
    assert report["outcomes"][0]["status"] == "candidate"
    assert _cycle(example_library, running[0]["id"])["status"] == "done"


# --- the lease in the cycle log (real SQLite files) -----------------------------------------


def _failures(store: TrajectoryStore, n: int) -> list[str]:
    return [store.record(Trajectory(task=f"t{i}", reward=0.0)).id for i in range(n)]


def _unhandled_ids(store: TrajectoryStore) -> list[str]:
    return sorted(t.id for t in store.unhandled_failures())


def test_an_expired_lease_is_reclaimed_with_its_recorded_spend(tmp_path: Path) -> None:
    store = TrajectoryStore(tmp_path / STATE_DB)
    cycles = CycleLog(store)
    ids = _failures(store, 3)
    cycle_id = cycles.start("r", ids, holder="elsewhere:1", lease_s=0.05)
    assert cycles.renew(cycle_id, "elsewhere:1", 0.05,
                        UsageTotals(calls=2, prompt_tokens=70, completion_tokens=30,
                                    total_tokens=100, cost_usd=0.25))
    assert not cycles.renew(cycle_id, "someone-else:2", 60)  # not its lease
    deadline = time.monotonic() + DEADLINE_S
    while store.unhandled_failures() == [] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _unhandled_ids(store) == sorted(ids)
    record = cycles.get(cycle_id)
    assert record.status == "aborted" and "elsewhere:1" in record.error
    assert (record.prompt_tokens, record.completion_tokens, record.cost_usd) == (70, 30, 0.25)
    assert record.summary["usage"]["calls"] == 2
    # The holder can no longer renew it (it must stop), nor finish it as done.
    assert not cycles.renew(cycle_id, "elsewhere:1", 60)
    assert cycles.finish(cycle_id, {"late": True}).status == "aborted"


def test_a_renewed_lease_is_not_reclaimed(tmp_path: Path) -> None:
    store = TrajectoryStore(tmp_path / STATE_DB)
    cycles = CycleLog(store)
    ids = _failures(store, 2)
    cycle_id = cycles.start("r", ids, holder="me:1", lease_s=60)
    assert store.unhandled_failures() == [] and cycles.reclaim_expired() == []
    assert [c.status for c in cycles.recent()] == ["running"]
    assert cycles.get(cycle_id).lease_holder == "me:1"


def test_abort_keeps_the_failures_of_finished_tools_and_gives_back_the_rest(
        tmp_path: Path) -> None:
    store = TrajectoryStore(tmp_path / STATE_DB)
    cycles = CycleLog(store)
    ids = _failures(store, 4)
    cycle_id = cycles.start("r", ids, holder="me:1", lease_s=60)
    record, given = cycles.abort(cycle_id, "interrupted (SIGINT)", keep=ids[:1],
                                 usage=UsageTotals(calls=1, prompt_tokens=5, cost_usd=0.01))
    assert given == 3 and record.status == "aborted" and record.trajectory_ids == ids[:1]
    assert record.prompt_tokens == 5 and record.cost_usd == 0.01
    assert _unhandled_ids(store) == sorted(ids[1:])
    # Aborting again (a second ^C) changes nothing.
    again, given = cycles.abort(cycle_id, "again")
    assert given == 0 and again.error == "interrupted (SIGINT)"


def test_a_cycle_left_running_before_leases_existed_is_reclaimed(tmp_path: Path) -> None:
    db = tmp_path / STATE_DB
    store = TrajectoryStore(db)
    ids = _failures(store, 2)
    with sqlite3.connect(db) as conn:  # the v1 cycle log, with a cycle stuck "running"
        conn.execute("CREATE TABLE cycles (id TEXT PRIMARY KEY, started_at TEXT NOT NULL, "
                     "finished_at TEXT, status TEXT NOT NULL, reason TEXT NOT NULL, "
                     "trajectory_ids TEXT NOT NULL, summary TEXT, error TEXT, "
                     "prompt_tokens INTEGER NOT NULL DEFAULT 0, completion_tokens INTEGER "
                     "NOT NULL DEFAULT 0, cost_usd REAL NOT NULL DEFAULT 0)")
        conn.execute("INSERT INTO schema_version VALUES ('cycles', 1)")
        conn.execute("INSERT INTO cycles (id, started_at, status, reason, trajectory_ids, "
                     "prompt_tokens) VALUES ('old', '2025-01-01T00:00:00+00:00', 'running', "
                     "'r', ?, 40)", (json.dumps(ids),))
        conn.execute("UPDATE trajectories SET handled_by = 'old'")
    cycles = CycleLog(store)  # adds the lease columns
    assert [c.status for c in cycles.recent()] == ["aborted"]
    assert cycles.get("old").prompt_tokens == 40
    assert _unhandled_ids(store) == sorted(ids)


def test_a_daemon_stopped_mid_cycle_gives_the_failures_back(
        tmp_path: Path, scripted, monkeypatch: pytest.MonkeyPatch) -> None:
    lib = tmp_path / "lib"
    assert run_cli("init", lib, "--from", EXAMPLE_LIBRARY).exit_code == 0
    (lib / "toolforge.toml").write_text((lib / "toolforge.toml").read_text().replace(
        "failure_threshold = 5", "failure_threshold = 3"))
    git(lib, "commit", "-qam", "three failures start a cycle")
    config = write_config(tmp_path / "config.toml", "[evolution]\npoll_s = 0.3\n" + FAST)
    monkeypatch.setenv("TOOLFORGE_CONFIG", str(config))
    server = scripted(evolve_script(delay_s=300))  # the tool synthesis never answers
    runs = tmp_path / "runs.jsonl"
    runs.write_text("\n".join(json.dumps(failed_run("tool_alpha", i)) for i in range(3)))
    client = DaemonClient(lib)
    try:
        client.ensure()  # a real daemon process on a real socket
        monkeypatch.delenv("TOOLFORGE_NO_DAEMON", raising=False)
        assert run_cli("report", runs, "-L", lib).exit_code == 0
        monkeypatch.setenv("TOOLFORGE_NO_DAEMON", "1")
        _wait_for("the cycle's tool synthesis", lambda: any(server.engine.uses()))
        running = _wait_for("a running cycle", lambda: [
            c for c in _cycles(lib) if c["status"] == "running"])
        assert _unhandled(lib) == []  # claimed by the cycle
    finally:
        client.shutdown()  # cancels the cycle's job
        client.close()
    # At once, not when the lease (180 s) runs out.
    _wait_for("the failures given back", lambda: len(_unhandled(lib)) == 3)
    cycle = _cycle(lib, running[0]["id"])
    assert cycle["status"] == "aborted" and "cancelled" in cycle["error"], cycle
    assert cycle["model_calls"] >= 1  # the gap analysis
