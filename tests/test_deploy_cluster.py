"""Many agents, many workers, one shared library: a real redis-server, a bare git remote,
three agent processes reporting 200 runs, two worker daemons, one SIGKILLed mid-cycle and
brought back. Afterwards every run is stored exactly once across the workers, no cycle's
promotion is lost or duplicated, and the remote's history is linear."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from conftest import REPO_ROOT, git, python_env
from deploy_helpers import (
    FAST,
    clone,
    evolve_script,
    redis_server,
    shared_library,
    wait_for,
    write_config,
)
from toolforge.deploy.status import read_status
from toolforge.evolve.trajectories import TrajectoryStore
from toolforge.evolve.triggers import CycleLog
from toolforge.testing.scripted_model import ScriptedModelServer

AGENTS = 3
RUNS = {0: 67, 1: 67, 2: 66}  # 200 between them
SETTINGS = {"promotion": '"auto"', "failure_threshold": "4"}
EXTRA = "\n[evolve]\nmax_cycles_per_hour = 100\n"
TOOLFORGE = str(Path(sys.executable).parent / "toolforge")


def _worker(lib: Path, name: str, tmp: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    run = tmp / f"run-{name}"
    run.mkdir(mode=0o700, exist_ok=True)
    config = write_config(tmp / f"{name}.toml", (
        f'[queue]\nconsumer = "{name}"\nclaim_idle_s = 6\nbatch = 20\n'
        "[evolution]\npoll_s = 0.3\n" + FAST))
    worker_env = {**env, "TOOLFORGE_CONFIG": str(config), "XDG_RUNTIME_DIR": str(run)}
    worker_env.pop("TOOLFORGE_NO_DAEMON", None)
    log = (tmp / f"{name}.out").open("ab")
    return subprocess.Popen(
        [TOOLFORGE, "daemon", "start", "--foreground", "-L", str(lib)],
        env=worker_env, stdout=log, stderr=log, start_new_session=True)


def _kill(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the daemon and anything it started
    except ProcessLookupError:
        pass
    proc.wait(30)


def _stop(*procs: subprocess.Popen[bytes]) -> None:
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            _kill(proc)


def _stored(lib: Path) -> list[str]:
    store = TrajectoryStore(lib / ".toolforge/state.sqlite")
    return [t.id for t in store.iter(limit=None)]


def _settled(workers: list[Path], expected: set[str]) -> bool:
    statuses = [read_status(w) for w in workers]
    if any(s is None or s.state not in ("idle", "budget") or s.queue is None
           for s in statuses):
        return False
    ids = [i for w in workers for i in _stored(w)]
    if set(ids) != expected:
        return False
    for w in workers:  # no cycle left to run: fewer unhandled failures than the threshold
        store = TrajectoryStore(w / ".toolforge/state.sqlite")
        if len(store.unhandled_failures(0.5)) >= 4:
            return False
        if any(c.status == "running" for c in CycleLog(store).recent(100)):
            return False
    return True


@pytest.mark.slow
def test_agents_and_workers_across_machines_lose_nothing_and_duplicate_nothing(
        tmp_path: Path) -> None:
    _, remote = shared_library(tmp_path, settings=SETTINGS, extra_toml=EXTRA)
    w1, w2 = clone(remote, tmp_path / "w1"), clone(remote, tmp_path / "w2")
    agent_clone = clone(remote, tmp_path / "agent")
    with redis_server(tmp_path) as url, \
            ScriptedModelServer(evolve_script(delay_s=1.5)) as model:
        env = {**python_env(), "TOOLFORGE_QUEUE": url, "TOOLFORGE_MODEL": "openai/scripted",
               "TOOLFORGE_API_BASE": model.base_url, "TOOLFORGE_API_KEY": "scripted"}
        workers: dict[str, subprocess.Popen[bytes]] = {"w1": _worker(w1, "w1", tmp_path, env)}
        agents: list[subprocess.Popen[bytes]] = []
        gate = tmp_path / "second-half"
        try:
            agents = [subprocess.Popen(
                [sys.executable, str(REPO_ROOT / "tests/helpers/queue_agent.py"),
                 str(agent_clone), url, str(a), str(RUNS[a]), str(gate)], env=env)
                for a in range(AGENTS)]
            # w1 alone takes the first half of the runs and starts a cycle; w2 joins while
            # it is in flight
            wait_for("w1 in the middle of a cycle", lambda: (
                s := read_status(w1)) is not None and s.cycle_id)
            workers["w2"] = _worker(w2, "w2", tmp_path, env)
            wait_for("w2 to join the group", lambda: (s := read_status(w2)) is not None
                     and s.queue is not None)
            status = read_status(w1)
            assert status is not None and status.state == "cycle"
            _kill(workers.pop("w1"))  # SIGKILL, mid-cycle
            # w2 takes over what w1 held once w1 has stopped renewing its hold on it
            wait_for("w2 to take over w1's runs", lambda: (s := read_status(w2)) is not None
                     and s.queue is not None and s.queue.taken_over > 0)
            workers["w1"] = _worker(w1, "w1", tmp_path, env)  # w1 comes back
            wait_for("w1 to recover", lambda: (s := read_status(w1)) is not None
                     and s.queue is not None and s.queue.dropped > 0)
            gate.touch()  # the second half of the runs: both workers take them
            for agent in agents:
                assert agent.wait(240) == 0
            expected = {f"a{a}-{n:03d}" for a in range(AGENTS) for n in range(RUNS[a])}
            wait_for("both workers to settle", lambda: _settled([w1, w2], expected),
                     timeout_s=420, every_s=1.0)
        finally:
            for agent in agents:
                if agent.poll() is None:
                    agent.kill()
            _stop(*workers.values())  # together: none outlives another to take its runs

    # Every run stored exactly once across the workers.
    ids = _stored(w1) + _stored(w2)
    print({w.name: read_status(w) for w in (w1, w2)})  # shown when an assertion fails
    assert len(ids) == 200 and set(ids) == expected
    assert not [i for i, n in Counter(ids).items() if n > 1]
    back = read_status(w1)
    assert back is not None and back.queue is not None

    # No cycle's promotion lost: every promotion a finished cycle reports is on the remote.
    git(w1, "fetch", "-q", "origin")
    published = set(git(remote, "rev-list", "main").split())
    promotions: list[dict[str, Any]] = []
    for w in (w1, w2):
        for cycle in CycleLog(TrajectoryStore(w / ".toolforge/state.sqlite")).recent(500):
            for outcome in (cycle.summary or {}).get("outcomes", []):
                if cycle.status == "done" and outcome["status"] == "promoted":
                    promotions.append(outcome)
    assert promotions, "the workers promoted nothing"
    for outcome in promotions:
        assert outcome["commit"] in published, outcome
        subject = git(remote, "log", "-1", "--format=%s", outcome["commit"]).strip()
        assert subject == f"promote {outcome['gap']['name']} v{outcome['version']}"
    # ... and none duplicated: each tool's code was promoted once.
    promoted_code = Counter()
    for line in git(remote, "log", "--format=%H %s", "main").splitlines():
        sha, subject = line.split(" ", 1)
        if subject.startswith("promote "):
            tool = subject.split()[1]
            blob = git(remote, "rev-parse", f"{sha}:tools/{tool}/tool.py").strip()
            promoted_code[(tool, blob)] += 1
    assert promoted_code and all(n == 1 for n in promoted_code.values()), promoted_code
    tags = git(remote, "tag").split()
    for tool, _ in promoted_code:
        assert f"tool/{tool}/v1" in tags

    # A linear history on the remote: no merge commit, every commit on one line.
    assert git(remote, "rev-list", "--merges", "main") == ""
    assert git(remote, "rev-list", "--count", "main").strip() == \
        git(remote, "rev-list", "--count", "--first-parent", "main").strip()
