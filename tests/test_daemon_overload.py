"""The daemon can't be stalled by one request (issue 10 item 4), against a real daemon on
its real socket: 150 concurrent adds waiting for validation, and catastrophic regex checks,
while health and `list` keep answering. Nothing here is timed: "answered" means answered
within generous timeouts; latencies are printed by bench/daemon.py."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import PYTHON, make_tests, make_tool, python_env
from test_daemon_process import daemons, lib, template  # noqa: F401 - fixtures
from toolforge.daemon.client import connect
from toolforge.daemon.runtime import daemon_paths
from toolforge.evolve.rewards import score

pytestmark = pytest.mark.timeout(600)

SUBMITTERS = 150
REDOS = {"kind": "regex", "pattern": "(a+)+$"}
EVIL_ANSWER = "a" * 50_000 + "b"


def _client(root: Path, timeout: float = 300) -> httpx.Client:
    transport = httpx.HTTPTransport(uds=str(daemon_paths(root).socket),
                                     limits=httpx.Limits(max_connections=SUBMITTERS + 20))
    return httpx.Client(transport=transport, base_url="http://toolforge", timeout=timeout)


@pytest.fixture
def http(lib: Path, daemons: Path) -> Iterator[httpx.Client]:  # noqa: F811
    connect(lib).close()
    with _client(lib) as c:
        yield c


def _block_validations(http: httpx.Client) -> int:
    """Occupy the one validation worker (TOOLFORGE_DAEMON_JOBS=1) with a long job, so every
    validation an add starts waits in the queue: adds stay in flight as long as we like."""
    job = http.post("/v1/jobs", json={"kind": "sleep", "params": {"seconds": 600}})
    assert job.status_code == 202, job.text
    return int(job.json()["id"])


def _assert_reads_answer(http: httpx.Client) -> None:
    health = http.get("/v1/health", timeout=60)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    listed = http.get("/v1/tools", timeout=60)
    assert listed.status_code == 200
    assert {"shout", "whisper"} <= {t["tool"] for t in listed.json()["tools"]}
    assert http.get("/v1/tools/shout", timeout=60).status_code == 200


def test_health_and_list_answer_while_150_adds_wait_for_validation(
        lib: Path, daemons: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.setenv("TOOLFORGE_DAEMON_JOBS", "1")
    connect(lib).close()
    done: list[int] = []
    with _client(lib) as http:
        blocker = _block_validations(http)

        def submit(n: int) -> None:
            name = f"tool_{n}"
            try:
                resp = http.post("/v1/tools", json={"code": make_tool(name),
                                                    "tests": make_tests(name)})
                done.append(resp.status_code)
            except httpx.HTTPError:
                done.append(-1)  # cut off when the daemon stops: fine

        threads = [threading.Thread(target=submit, args=(n,), daemon=True)
                   for n in range(SUBMITTERS)]
        for t in threads:
            t.start()
        # All of them are in flight (their validations queued behind the blocker)...
        jobs = _wait(lambda: _queued_validations(http) >= 4, http)
        assert jobs
        for _ in range(3):  # ...and reads and health still answer, again and again
            _assert_reads_answer(http)
        assert not done  # not one add has finished: they really were all waiting
        http.post(f"/v1/jobs/{blocker}/cancel", timeout=60)
        http.post("/v1/shutdown", timeout=60)
        for t in threads:
            t.join(120)


def _queued_validations(http: httpx.Client) -> int:
    jobs = http.get("/v1/jobs", params={"limit": 1000}, timeout=60).json()["jobs"]
    return sum(1 for j in jobs if j["kind"] == "validate" and j["state"] == "queued")


def _wait(cond: Any, http: httpx.Client, tries: int = 600) -> Any:
    import time

    for _ in range(tries):
        value = cond()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


def test_150_async_submitters_get_job_ids_while_health_and_list_answer(
        lib: Path, daemons: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.setenv("TOOLFORGE_DAEMON_JOBS", "1")
    connect(lib).close()
    answers: list[httpx.Response] = []
    with _client(lib) as http:
        blocker = _block_validations(http)

        def submit(n: int) -> None:
            name = f"async_{n}"
            answers.append(http.post(
                "/v1/tools", headers={"Prefer": "respond-async"},
                json={"code": make_tool(name), "tests": make_tests(name)}))

        threads = [threading.Thread(target=submit, args=(n,)) for n in range(SUBMITTERS)]
        for t in threads:
            t.start()
        _assert_reads_answer(http)
        for t in threads:
            t.join(300)
        assert len(answers) == SUBMITTERS
        assert {r.status_code for r in answers} == {202}
        ids = {r.json()["id"] for r in answers}
        assert len(ids) == SUBMITTERS and all(r.json()["kind"] == "add" for r in answers)
        one = http.get(f"/v1/jobs/{min(ids)}").json()
        assert one["state"] in ("queued", "running")  # behind the blocker, not lost
        _assert_reads_answer(http)
        http.post(f"/v1/jobs/{blocker}/cancel")


def test_an_async_add_runs_as_a_job_and_commits(http: httpx.Client) -> None:
    resp = http.post("/v1/tools", headers={"Prefer": "respond-async"},
                     json={"code": make_tool("later"), "tests": make_tests("later"),
                           "validate": False})
    assert resp.status_code == 202, resp.text
    job_id = resp.json()["id"]
    done = _wait(lambda: (j := http.get(f"/v1/jobs/{job_id}").json())["state"] in (
        "succeeded", "failed") and j, http)
    assert done["state"] == "succeeded", done
    assert done["result"]["subject"] == "add candidate later v1"
    assert "later" in {t["tool"] for t in http.get("/v1/tools").json()["tools"]}


# --- ReDoS: a catastrophic regex check is answered, everywhere -------------------------------


def test_a_redos_check_scores_as_failed_in_bounded_time() -> None:
    assert score(EVIL_ANSWER, REDOS) == 0.0
    assert score("aaa", REDOS) == 1.0  # the same check still works on a sane answer
    assert score(EVIL_ANSWER, {**REDOS, "fullmatch": True}) == 0.0


def test_redos_trajectories_are_answered_while_list_keeps_working(http: httpx.Client) -> None:
    runs = [{"task": f"redos {i}", "final_answer": EVIL_ANSWER, "expected": REDOS}
            for i in range(3)]
    answers: list[httpx.Response] = []

    def report(i: int) -> None:
        answers.append(http.post("/v1/trajectories", content=json.dumps(runs[i])))

    threads = [threading.Thread(target=report, args=(i,)) for i in range(len(runs))]
    for t in threads:
        t.start()
    for _ in range(3):
        _assert_reads_answer(http)
    for t in threads:
        t.join(300)
    assert [r.status_code for r in answers] == [201] * len(runs), [r.text for r in answers]
    for r in answers:
        (recorded,) = r.json()["trajectories"]
        assert recorded["reward"] == 0.0  # a failed check, not a hang
    _assert_reads_answer(http)


def test_toolforge_report_with_a_redos_check_finishes(lib: Path, tmp_path: Path) -> None:  # noqa: F811
    run = tmp_path / "run.json"
    run.write_text(json.dumps({"task": "redos", "final_answer": EVIL_ANSWER,
                               "expected": REDOS}))
    result = subprocess.run([PYTHON, "-m", "toolforge", "report", str(run), "-L", str(lib),
                             "--no-daemon", "--json"], capture_output=True, text=True,
                            env=python_env(), timeout=120)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["ok"] is True
    assert [t["reward"] for t in doc["result"]["trajectories"]] == [0.0]


def test_health_and_list_answer_with_a_thousand_connections_open(
        http: httpx.Client, lib: Path) -> None:  # noqa: F811
    import socket

    path = str(daemon_paths(lib).socket)
    held: list[socket.socket] = []
    try:
        for i in range(1000):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(60)
            s.connect(path)
            if i % 2:  # half of them start a request and never finish it
                s.sendall(b"POST /v1/tools HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
            held.append(s)
        _assert_reads_answer(http)
        listed = subprocess.run([PYTHON, "-m", "toolforge", "list", "--json", "-L", str(lib)],
                                capture_output=True, text=True, env=python_env(), timeout=120)
        assert listed.returncode == 0, listed.stderr
        assert json.loads(listed.stdout)["warnings"] == []  # the daemon itself answered
    finally:
        for s in held:
            s.close()
    _assert_reads_answer(http)


def test_every_check_is_bounded_on_hostile_answers() -> None:
    """Not only regex: each check's work on an answer is bounded (JSON extraction scans the
    answer; answers past MAX_ANSWER_CHARS are a failed check, unscored)."""
    from toolforge.evolve.rewards import MAX_ANSWER_CHARS

    checks = [REDOS, {"kind": "json", "value": [1]}, {"kind": "set", "value": ["a"]},
              {"kind": "number", "value": 1}, {"kind": "exact", "value": "a"}]
    answers = ["```json\n[x]\n```\n" * 20_000, "[" * 20_000 + "x" + "]" * 20_000,
               "1," * 300_000, "a" * (MAX_ANSWER_CHARS + 1)]
    for check in checks:
        for answer in answers:
            assert 0.0 <= score(answer, check) <= 1.0
    assert score("[1]" + " " * (MAX_ANSWER_CHARS + 1), {"kind": "json", "value": [1]}) == 0.0


def test_a_python_check_that_never_returns_is_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import time

    from toolforge.evolve import rewards
    from toolforge.evolve.rewards import CallableCheck

    monkeypatch.setattr(rewards, "PYTHON_CHECK_TIMEOUT_S", 1.0)  # the bound, not the code
    seen: list[str] = []

    def forever(answer: str | None) -> bool:
        seen.append(str(answer))  # runs in a fork: the caller's list stays empty
        while True:
            time.sleep(0.01)

    assert score("x", CallableCheck(fn=forever)) == 0.0
    assert seen == []
    assert score("ok", CallableCheck(fn=lambda a: a == "ok")) == 1.0
    assert score("x", CallableCheck(fn=lambda a: os._exit(3))) == 0.0  # died: a failed check
