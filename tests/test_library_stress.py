"""Many writers at once, and writers killed at random points: nothing lost, nothing torn."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import time
from pathlib import Path

from conftest import PYTHON, REPO_ROOT, git, python_env, run_cli
from library_checks import assert_library_valid

WORKER = str(REPO_ROOT / "tests/helpers/library_worker.py")


def _read_log(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_eight_processes_twenty_five_ops_each_linear_history(library: Path, tmp_path: Path
                                                             ) -> None:
    log = tmp_path / "ops.jsonl"
    procs = [
        subprocess.Popen([PYTHON, WORKER, str(library), str(w), "25", str(1000 + w), str(log)],
                         env=python_env(), stdout=subprocess.DEVNULL)
        for w in range(8)
    ]
    for p in procs:
        assert p.wait(timeout=240) == 0
    ops = _read_log(log)
    assert len(ops) == 200
    assert all(op["exit"] in (0, 1) for op in ops), [op for op in ops if op["exit"] not in (0, 1)]
    done = [op for op in ops if op["exit"] == 0]
    assert done, "no operation succeeded"
    failures = {op["result"].get("error") for op in ops if op["exit"] == 1}
    # validation_failed: another worker replaced the candidate between its validation and
    # the promote, and promote refused the stale result, as it must.
    assert failures <= {"not_found", "conflict", "validation_failed"}, [
        op for op in ops if op["exit"] == 1
        and op["result"].get("error") not in ("not_found", "conflict", "validation_failed")]
    assert {op["op"] for op in done} >= {"add", "promote"}

    commits = git(library, "rev-list", "HEAD").split()
    assert len(commits) == 1 + len(done)  # init + exactly one commit per success
    assert {op["result"]["commit"] for op in done} == set(commits[:-1])
    for sha in commits[:-1]:
        assert len(git(library, "rev-list", "--parents", "-n1", sha).split()) == 2
    tags = set(git(library, "tag").split())
    for op in done:
        for tag in op["result"]["tags"]:
            assert tag in tags
    assert_library_valid(library)


def test_writers_killed_at_random_points_leave_a_valid_library(library: Path, tmp_path: Path
                                                               ) -> None:
    rng = random.Random(7)
    interrupted = 0
    for round_ in range(20):
        log = tmp_path / f"ops{round_}.jsonl"
        proc = subprocess.Popen(
            [PYTHON, WORKER, str(library), "0", "0", str(round_), str(log)],
            env=python_env(), stdout=subprocess.PIPE, text=True,
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        if round_ % 2 == 0:
            # Inside a mutation: wait for its journal, then kill somewhere in the next 40 ms
            # (tree writes, git add, commit, tag, cleanup).
            journal = library / ".toolforge/journal.json"
            deadline = time.monotonic() + 10
            while not journal.exists() and time.monotonic() < deadline:
                time.sleep(0.0005)
            time.sleep(rng.uniform(0, 0.04))
        else:
            time.sleep(rng.uniform(0.05, 0.6))  # anywhere at all
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if (library / ".toolforge/journal.json").exists():
            interrupted += 1
        # Reading works right away, even before any recovery.
        listing = run_cli("list", "-L", library, "--json")
        assert listing.exit_code == 0, listing.stdout
        # The next writer finishes or undoes the interrupted operation.
        src = tmp_path / f"probe{round_}.py"
        src.write_text(
            "def probe(x: int) -> int:\n    '''Probe.\n\n    Args:\n        x: n.\n\n"
            "    Returns:\n        n.\n    '''\n    return x\n"
        )
        assert run_cli("add", src, "--no-validate", "-L", library, "--json").exit_code == 0
        assert_library_valid(library)
        committed = [op for op in _read_log(log) if op["exit"] == 0]
        commits = set(git(library, "rev-list", "HEAD").split())
        for op in committed:  # everything a killed writer reported as done is still there
            assert op["result"]["commit"] in commits
    assert interrupted >= 4, f"only {interrupted} kills landed mid-operation"
