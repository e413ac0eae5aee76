"""The daemon as a real process on a real Unix socket: start, stop, auto-start, crash and
restart, concurrent clients, events, jobs, the watcher. Each test uses a private runtime
dir (XDG_RUNTIME_DIR from conftest) and kills whatever daemon it started."""

from __future__ import annotations

import json
import os
import random
import selectors
import shutil
import signal
import socket
import stat
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import (
    PYTHON,
    copy_library,
    git,
    make_tests,
    make_tool,
    python_env,
    run_cli,
    template_env,
)
from library_checks import assert_library_valid
from test_daemon_api import build_template
from toolforge import __version__
from toolforge.daemon import client as client_mod
from toolforge.daemon.client import DaemonClient, connect
from toolforge.daemon.runtime import daemon_paths, lock_held, pid_alive, read_status
from toolforge.service.library_service import LibraryService

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "lib"
    with template_env(tmp_path_factory):
        build_template(path)
    return path


@pytest.fixture
def lib(template: Path, tmp_path: Path) -> Path:
    return copy_library(template, tmp_path)


@pytest.fixture
def daemons(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Path]:
    """Daemon mode on (conftest turns it off), test jobs on; afterwards no daemon survives."""
    monkeypatch.delenv("TOOLFORGE_NO_DAEMON", raising=False)
    monkeypatch.setenv("TOOLFORGE_DAEMON_TEST_JOBS", "1")
    monkeypatch.setenv("TOOLFORGE_DAEMON_JOBS", "2")
    runtime = Path(os.environ["XDG_RUNTIME_DIR"]) / "toolforge"
    yield runtime
    kill_all(runtime, tmp_path_factory.getbasetemp())


def kill_all(runtime: Path, basetemp: Path) -> None:
    """SIGKILL every daemon of this test session's libraries, including starters still in
    their lock race (one of them would take over from a killed daemon)."""
    deadline = time.monotonic() + 15
    quiet_since = None
    while time.monotonic() < deadline:
        pids = {p for p in map(_pid_in, runtime.glob("*.json")) if p and pid_alive(p)}
        pids |= set(_servers_under(basetemp))
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        if pids or any(_held(lock) for lock in runtime.glob("*.lock")):
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > 0.3:
            break
        time.sleep(0.05)
    client_mod.reap_children()
    assert not _servers_under(basetemp), "a daemon survived"


def _servers_under(base: Path) -> list[int]:
    return _servers(lambda argv: any(a.startswith(str(base).encode()) for a in argv))


def _servers(match: Callable[[list[bytes]], bool]) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"toolforge.daemon.server" in argv and match(argv) and pid_alive(int(proc.name)):
            found.append(int(proc.name))
    return found


def _pid_in(status: Path) -> int | None:
    try:
        return int(json.loads(status.read_text())["pid"])
    except (OSError, ValueError, KeyError):
        return None


def _held(lock: Path) -> bool:
    import fcntl

    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


def wait_for(cond: Callable[[], Any], timeout: float = 60.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def daemon_pid(lib: Path) -> int | None:
    doc = read_status(daemon_paths(lib))
    return int(doc["pid"]) if doc else None


def cli_process(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PYTHON, "-m", "toolforge", *map(str, args)], capture_output=True,
                          text=True, env=python_env(), timeout=60)


# --- lifecycle -------------------------------------------------------------------------------


def test_start_status_stop(lib: Path, daemons: Path) -> None:
    started = run_cli("daemon", "start", "-L", lib, "--json")
    assert started.exit_code == 0, started.stdout + started.stderr
    assert started.json["started"] is True
    pid = started.json["health"]["pid"]
    paths = daemon_paths(lib)
    assert stat.S_IMODE(paths.runtime_dir.stat().st_mode) == 0o700
    assert stat.S_ISSOCK(paths.socket.stat().st_mode)
    assert stat.S_IMODE(paths.socket.stat().st_mode) == 0o600
    assert len(str(paths.socket)) < 108
    doc = read_status(paths)
    assert doc is not None and set(doc) == {"pid", "socket", "version", "library", "started_at"}
    assert doc["pid"] == pid and doc["library"] == str(lib) and doc["version"] == __version__

    again = run_cli("daemon", "start", "-L", lib, "--json")
    assert again.json["started"] is False and again.json["health"]["pid"] == pid
    status = run_cli("daemon", "status", "-L", lib, "--json").json
    assert status["running"] is True and status["pid"] == pid

    if shutil.which("curl"):  # what docs/daemon.md shows
        out = subprocess.run(["curl", "-s", "--unix-socket", str(paths.socket),
                              "http://localhost/v1/tools?status=active"],
                             capture_output=True, text=True, check=True).stdout
        assert [t["tool"] for t in json.loads(out)["tools"]] == ["shout"]

    logs = run_cli("daemon", "logs", "-n", "50", "-L", lib)
    assert logs.exit_code == 0 and f"[{pid}] serving {lib}" in logs.stdout

    restarted = run_cli("daemon", "restart", "-L", lib, "--json").json
    assert restarted["stopped"]["pid"] == pid and restarted["started"]["started"] is True
    wait_for(lambda: not pid_alive(pid), what="the old daemon to exit")
    pid = restarted["started"]["health"]["pid"]

    stopped = run_cli("daemon", "stop", "-L", lib, "--json")
    assert stopped.exit_code == 0 and stopped.json == {
        "was_running": True, "pid": pid, "how": "shutdown", "stale_cleaned": None}
    assert not paths.socket.exists() and not paths.status.exists()
    assert not lock_held(paths)
    wait_for(lambda: not pid_alive(pid), what="the daemon to exit")
    assert "stopped" in paths.log.read_text()
    assert run_cli("daemon", "stop", "-L", lib, "--json").json["was_running"] is False
    assert run_cli("daemon", "status", "-L", lib, "--json").json["running"] is False


def test_cli_autostarts_the_daemon_and_prints_what_in_process_prints(
    lib: Path, daemons: Path
) -> None:
    commands = [
        ["list", "--json"], ["list"], ["list", "--status", "candidate", "--json"],
        ["show", "shout", "--json"], ["show", "shout", "--version", "candidate", "--json"],
        ["history", "--json"], ["history", "shout", "-n", "2"], ["diff", "shout", "--json"],
        ["export", "--format", "mcp"],
        ["show", "nobody", "--json"], ["show", "Bad-Name", "--json"], ["show", "nobody"],
        ["promote", "nobody", "--json"], ["reject", "whisper", "--reason", " ", "--json"],
        ["rollback", "--commit", "HEAD", "shout", "--json"], ["export", "--format", "yaml"],
    ]
    assert daemon_pid(lib) is None
    for cmd in commands:
        via_daemon = run_cli(*cmd, "-L", lib)
        in_process = run_cli("--no-daemon", *cmd, "-L", lib)
        assert (via_daemon.exit_code, via_daemon.stdout, via_daemon.stderr) == \
            (in_process.exit_code, in_process.stdout, in_process.stderr), cmd
    pid = daemon_pid(lib)
    assert pid is not None and pid_alive(pid)  # started by the first command, still there
    # --no-daemon after the command works too, and leaves the daemon alone
    assert run_cli("list", "--json", "-L", lib, "--no-daemon").json["tools"]
    # a mutation through the daemon is a normal commit
    src = write_src(lib.parent / "src", "echo_text")
    added = run_cli("add", src, "--no-validate", "-L", lib, "--json")
    assert added.exit_code == 0, added.stdout
    assert git(lib, "log", "-1", "--format=%s").strip() == "add candidate echo_text v1"
    assert daemon_pid(lib) == pid


def write_src(base: Path, name: str, body: str = "return text.upper()") -> Path:
    d = base / name
    d.mkdir(parents=True, exist_ok=True)
    (d / "tool.py").write_text(make_tool(name, body=body))
    (d / "test_tool.py").write_text(make_tests(name))
    return d


def test_two_simultaneous_starts_give_one_daemon(lib: Path, daemons: Path) -> None:
    procs = [subprocess.Popen([PYTHON, "-m", "toolforge", "daemon", "start", "-L", str(lib),
                               "--json"], stdout=subprocess.PIPE, text=True, env=python_env())
             for _ in range(3)]
    docs = [json.loads(p.communicate(timeout=60)[0])["result"] for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert len({d["health"]["pid"] for d in docs}) == 1
    assert sum(d["started"] for d in docs) <= 1
    pid = docs[0]["health"]["pid"]
    wait_for(lambda: _servers_of(lib) == [pid], what="the losers to exit")


def _servers_of(lib: Path) -> list[int]:
    return _servers(lambda argv: str(lib).encode() in argv)


def test_sigkill_leaves_stale_files_that_are_cleaned_and_the_next_call_restarts(
    lib: Path, daemons: Path
) -> None:
    pid = run_cli("daemon", "start", "-L", lib, "--json").json["health"]["pid"]
    paths = daemon_paths(lib)
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not pid_alive(pid), what="the kill")
    client_mod.reap_children()
    assert paths.socket.exists() and paths.status.exists()  # stale
    status = run_cli("daemon", "status", "-L", lib, "--json").json
    assert status["running"] is False and status["stale_cleaned"]["pid"] == pid
    assert not paths.socket.exists() and not paths.status.exists()
    # Crash again, and go straight to a command: it cleans up and brings the daemon back.
    pid2 = run_cli("daemon", "start", "-L", lib, "--json").json["health"]["pid"]
    os.kill(pid2, signal.SIGKILL)
    wait_for(lambda: not pid_alive(pid2), what="the kill")
    listing = run_cli("list", "--json", "-L", lib)
    assert listing.exit_code == 0, listing.stdout + listing.stderr
    pid3 = daemon_pid(lib)
    assert pid3 not in (None, pid, pid2) and pid_alive(pid3)


WORKER = r"""
import json, random, sys, tempfile
from pathlib import Path
from typer.testing import CliRunner
from toolforge.cli.app import app
from conftest import make_tests, make_tool

library, seed, log = sys.argv[1:4]
rng = random.Random(int(seed))
runner = CliRunner()
scratch = Path(tempfile.mkdtemp())
i = 0
with open(log, "a", buffering=1) as out:
    while True:
        i += 1
        name = rng.choice(["alpha", "beta", "gamma"])
        roll = rng.random()
        if roll < 0.2:
            args = ["validate", name]  # a validation job on the daemon
        elif roll < 0.6:
            d = scratch / f"{name}{i}"
            d.mkdir()
            # Same behaviour, new code: every version passes the tests of the earlier ones.
            (d / "tool.py").write_text(make_tool(name, body=f"return text.upper()  # {i}"))
            (d / "test_tool.py").write_text(make_tests(name))
            args = ["add", str(d), "--name", name]
        else:
            args = ["promote", name, "--allow-unisolated"]
        result = runner.invoke(app, [*args, "-L", library, "--json"])
        try:
            doc = json.loads(result.stdout)
            doc = doc.get("result", doc)  # the command's result, out of its envelope
        except ValueError:
            doc = {"raw": result.stdout}
        out.write(json.dumps({"args": args, "exit": result.exit_code, "result": doc}) + "\n")
"""


@pytest.mark.slow
def test_kill9_during_adds_promotes_and_validations_never_corrupts_or_loses_a_change(
    lib: Path, daemons: Path, tmp_path: Path
) -> None:
    log = tmp_path / "ops.jsonl"
    worker = subprocess.Popen([PYTHON, "-c", WORKER, str(lib), "7", str(log)],
                              env=python_env(), stdout=subprocess.DEVNULL)
    rng = random.Random(1)
    killed: list[int] = []
    try:
        for _ in range(10):
            # Let the client get something done after each restart, then strike mid-stream.
            wait_for(lambda n=_acked(log): _acked(log) > n, timeout=60, what="progress")
            pid = wait_for(lambda: (p := daemon_pid(lib)) and pid_alive(p) and p not in killed
                           and p, timeout=30, what="a daemon")
            time.sleep(rng.uniform(0.0, 0.5))
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
            assert worker.poll() is None, "the client loop died"
    finally:
        worker.kill()
        worker.wait()
    ops = [json.loads(line) for line in log.read_text().splitlines()]
    assert sum(op["exit"] == 0 for op in ops) >= 10
    # The next command brings the daemon back; it finishes or undoes what a kill cut off.
    probe = run_cli("add", write_src(tmp_path / "src", "probe"), "--no-validate", "-L", lib,
                    "--json")
    assert probe.exit_code == 0, probe.stdout
    assert run_cli("daemon", "stop", "-L", lib).exit_code == 0
    assert_library_valid(lib)
    commits = set(git(lib, "rev-list", "HEAD").split())
    acked = [op for op in ops if op["exit"] == 0 and op["args"][0] != "validate"]
    assert acked
    for op in acked:  # every change a client saw acknowledged is in the history
        assert op["result"]["commit"] in commits, op


def _acked(log: Path) -> int:
    try:
        return sum('"exit": 0' in line for line in log.read_text().splitlines())
    except FileNotFoundError:
        return 0


def test_concurrent_clients(lib: Path, daemons: Path) -> None:
    errors: list[BaseException] = []
    results: dict[str, Any] = {}

    def client_loop(n: int) -> None:
        try:
            client = connect(lib)  # several may race to start the daemon: one wins
            try:
                for _ in range(3):
                    client.list_tools()
                name = f"tool_{n}"
                results[name] = client.add(make_tool(name), make_tests(name), validate=False)
                assert name in {t.tool for t in client.list_tools().tools}
            finally:
                client.close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=client_loop, args=(n,)) for n in range(5)]
    for t in threads:
        t.start()
    # Meanwhile an in-process (--no-daemon) writer, under the same library lock.
    svc = LibraryService(lib)
    try:
        local = svc.add(make_tool("local_tool"), make_tests("local_tool"), validate=False)
    finally:
        svc.close()
    for t in threads:
        t.join(60)
    assert not errors, errors
    wait_for(lambda: len(_servers_of(lib)) == 1, what="one daemon")
    commits = set(git(lib, "rev-list", "HEAD").split())
    assert {r.commit for r in results.values()} | {local.commit} <= commits
    assert len(results) == 5
    assert_library_valid(lib)


def test_a_slow_event_consumer_does_not_block_other_clients(lib: Path, daemons: Path) -> None:
    client = connect(lib)
    slow = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    try:
        slow.connect(str(daemon_paths(lib).socket))
        slow.sendall(b"GET /v1/events HTTP/1.1\r\nHost: x\r\n\r\n")
        slow.settimeout(10)
        head = b""
        while b"subscribed" not in head:  # subscribed; from now on it never reads
            chunk = slow.recv(4096)
            assert chunk, head
            head += chunk
        job = client.submit_job("sleep", params={"lines": 20_000})  # ~20k events, MBs
        worst = 0.0
        while client.job(job.id).state not in ("succeeded", "failed"):
            started = time.monotonic()
            assert client.list_tools().tools
            worst = max(worst, time.monotonic() - started)
        assert client.job(job.id).state == "succeeded"
        # a daemon blocked on the subscriber that never reads would never answer again;
        # "answered" is all a test may assert on a shared machine (bench/daemon.py has figures)
        assert worst < 60, worst
        seen = b""
        slow.settimeout(5)
        while b"lagged" not in seen:  # once it reads again, it learns what it missed
            chunk = slow.recv(65536)
            assert chunk, "stream closed"
            seen = seen[-100:] + chunk
    finally:
        slow.close()
        client.close()


def test_watch_json_prints_a_promote_made_by_another_client(lib: Path, daemons: Path) -> None:
    assert run_cli("daemon", "start", "-L", lib).exit_code == 0
    watch = subprocess.Popen([PYTHON, "-m", "toolforge", "watch", "--json", "-L", str(lib)],
                             stdout=subprocess.PIPE, text=True, env=python_env())
    try:
        assert watch.stdout is not None
        lines = _lines(watch.stdout, timeout=20)
        assert json.loads(next(lines))["type"] == "subscribed"
        promoted = run_cli("promote", "whisper", "--allow-unisolated", "-L", lib, "--json")
        assert promoted.exit_code == 0, promoted.stdout
        for line in lines:
            event = json.loads(line)
            if event["type"] == "tool_promoted":
                assert event["tool"] == "whisper"
                assert event["commit"] == promoted.json["commit"]
                break
    finally:
        watch.send_signal(signal.SIGINT)
        assert watch.wait(10) == 0


def _lines(stream: Any, timeout: float) -> Iterator[str]:
    sel = selectors.DefaultSelector()
    sel.register(stream, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        assert left > 0 and sel.select(left), "no output in time"
        line = stream.readline()
        assert line, "stream ended"
        yield line


def test_jobs_queue_run_cancel_follow_and_outlive_the_daemon(
    lib: Path, daemons: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOOLFORGE_DAEMON_JOBS", "1")
    client = connect(lib)
    try:
        quick = client.submit_job("sleep", params={"lines": 2, "seconds": 0.2})
        followed = run_cli("jobs", str(quick.id), "--follow", "-L", lib)
        assert followed.exit_code == 0 and followed.stdout == "line 0\nline 1\n"
        assert "succeeded" in followed.stderr
        long = client.submit_job("sleep", params={"seconds": 60})
        queued = client.submit_job("sleep")
        wait_for(lambda: client.job(long.id).state == "running", what="the long job")
        assert client.job(queued.id).state == "queued"
        cancelled = run_cli("jobs", str(queued.id), "--cancel", "-L", lib, "--json")
        assert cancelled.json["state"] == "cancelled"
        client.cancel_job(long.id)
        wait_for(lambda: client.job(long.id).state == "cancelled")
        listing = run_cli("jobs", "-L", lib, "--json").json["jobs"]
        assert [(j["id"], j["state"]) for j in listing] == [
            (queued.id, "cancelled"), (long.id, "cancelled"), (quick.id, "succeeded")]
        # A job running when the daemon dies: failed, "daemon stopped", after the restart.
        doomed = client.submit_job("sleep", params={"seconds": 60})
        wait_for(lambda: client.job(doomed.id).state == "running", what="the doomed job")
        os.kill(client.health().pid, signal.SIGKILL)
    finally:
        client.close()
    offline = run_cli("--no-daemon", "jobs", "-L", lib, "--json").json["jobs"]
    assert offline[0]["id"] == doomed.id and offline[0]["state"] == "running"
    after = run_cli("jobs", str(doomed.id), "-L", lib, "--json")  # restarts the daemon
    assert after.json["state"] == "failed" and after.json["error"] == "daemon stopped"
    # A graceful stop cancels a running job cleanly.
    with DaemonClient(lib) as again:
        running = again.submit_job("sleep", params={"seconds": 60})
        wait_for(lambda: again.job(running.id).state == "running", what="a job")
    assert run_cli("daemon", "stop", "-L", lib, "--json").json["how"] == "shutdown"
    final = run_cli("--no-daemon", "jobs", str(running.id), "-L", lib, "--json").json
    assert final["state"] == "cancelled"


def test_watcher_announces_a_hand_edit_and_commits_nothing(lib: Path, daemons: Path) -> None:
    client = connect(lib)
    events: list[dict[str, Any]] = []
    subscribed = threading.Event()

    def collect() -> None:
        with DaemonClient(lib) as listener:
            for event in listener.events():
                events.append(event)
                subscribed.set()

    thread = threading.Thread(target=collect, daemon=True)
    thread.start()
    try:
        assert subscribed.wait(10)
        promoted = client.promote("whisper", allow_unisolated=True)  # the daemon's own write
        head = git(lib, "rev-parse", "HEAD")
        assert head.strip() == promoted.commit
        path = lib / "tools/shout/tool.py"
        path.write_text(path.read_text() + "# edited by hand\n")
        edit = wait_for(lambda: next((e for e in events if e["type"] == "hand_edit"), None),
                        what="the hand_edit event")
        assert edit["tool"] == "shout" and edit["paths"] == ["tools/shout/tool.py"]
        wait_for(lambda: any(e["type"] == "job_finished" and e["kind"] == "hand_edit"
                             for e in events), what="the hand_edit job")
        assert not any(e["type"] == "hand_edit" and e["tool"] == "whisper" for e in events)
        assert git(lib, "rev-parse", "HEAD") == head  # nothing committed
        assert git(lib, "status", "--porcelain").strip() == "M tools/shout/tool.py"
    finally:
        client.shutdown()
        client.close()
        thread.join(10)
    assert events[-1]["type"] == "daemon_stopping"


def test_the_daemon_keeps_its_stdio_away_from_the_client(lib: Path, daemons: Path) -> None:
    # A command whose output is piped must finish even though it started a daemon that
    # lives on (the daemon must not hold the pipe open).
    done = cli_process("list", "--json", "-L", lib)
    assert done.returncode == 0 and json.loads(done.stdout)["result"]["tools"]
    assert daemon_pid(lib) is not None


def test_validate_runs_as_a_daemon_job_and_reports_like_in_process(
    lib: Path, daemons: Path
) -> None:
    via_daemon = run_cli("validate", "whisper", "--json", "-L", lib)
    in_process = run_cli("--no-daemon", "validate", "whisper", "--json", "-L", lib)
    assert via_daemon.exit_code == in_process.exit_code == 0, via_daemon.stdout
    volatile = {"id", "created_at", "duration_ms", "layers"}
    strip = lambda doc: {k: v for k, v in doc.items() if k not in volatile}  # noqa: E731
    assert strip(via_daemon.json) == strip(in_process.json)
    assert [layer["name"] for layer in via_daemon.json["layers"]] == \
        [layer["name"] for layer in in_process.json["layers"]]
    jobs = run_cli("jobs", "-L", lib, "--json").json["jobs"]
    assert [(j["kind"], j["tool"], j["state"]) for j in jobs] == [
        ("validate", "whisper", "succeeded")]
    with DaemonClient(lib) as client:
        latest = client.latest_report("whisper")
        assert latest is not None and latest.id == in_process.json["id"]  # the newest
        assert client.latest_report("nobody") is None
    added = run_cli("add", write_src(lib.parent / "src", "echo_text"), "-L", lib, "--json")
    assert added.exit_code == 0 and added.json["details"]["validation"]["verdict"] == "passed"
    jobs = run_cli("jobs", "-L", lib, "--json").json["jobs"]
    assert (jobs[0]["kind"], jobs[0]["tool"]) == ("validate", "echo_text")  # add's, as a job
    missing = run_cli("validate", "nobody", "--json", "-L", lib)
    assert (missing.exit_code, missing.json["error"]) == (1, "not_found")
    assert missing.stdout == run_cli("--no-daemon", "validate", "nobody", "--json",
                                     "-L", lib).stdout


def test_a_daemon_of_another_version_gets_a_warning(
    lib: Path, daemons: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run_cli("daemon", "start", "-L", lib).exit_code == 0
    monkeypatch.setattr(client_mod, "__version__", "0.0.0-other")
    result = run_cli("list", "-L", lib, "--json")
    assert result.exit_code == 0 and result.json["tools"]
    assert any("toolforge daemon restart" in w for w in result.envelope["warnings"])
    text = run_cli("list", "-L", lib)
    assert "warning:" in text.stderr and "toolforge daemon restart" in text.stderr


def test_a_daemon_started_with_other_settings_variables_says_so(
    lib: Path, daemons: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A daemon reads the environment once: a shell that exported a queue or a key after
    some command started it is told, and told how to apply them (docs/deploy.md)."""
    monkeypatch.delenv("TOOLFORGE_QUEUE", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert run_cli("daemon", "start", "-L", lib).exit_code == 0
    monkeypatch.setenv("TOOLFORGE_SESSION", "one-command-switch")  # not a daemon setting
    assert run_cli("list", "-L", lib, "--json").envelope["warnings"] == []

    monkeypatch.setenv("TOOLFORGE_QUEUE", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-a-secret-value")
    again = run_cli("daemon", "start", "-L", lib, "--json")
    assert again.exit_code == 0 and again.json["started"] is False
    [warning] = again.envelope["warnings"]
    assert "OPENAI_API_KEY, TOOLFORGE_QUEUE" in warning
    assert "toolforge daemon restart" in warning
    assert "sk-a-secret-value" not in again.stdout  # digests only, never a key
    listed = run_cli("list", "-L", lib)
    assert listed.exit_code == 0 and "TOOLFORGE_QUEUE" in listed.stderr

    assert run_cli("daemon", "restart", "-L", lib).exit_code == 0
    assert run_cli("list", "-L", lib, "--json").envelope["warnings"] == []
    monkeypatch.delenv("OPENAI_API_KEY")  # unset here, set in the daemon: also a difference
    assert "OPENAI_API_KEY" in run_cli("list", "-L", lib, "--json").envelope["warnings"][0]


PROBE = """
import json, sys
from toolforge.cli.main import main
sys.argv = ["toolforge", *sys.argv[1:]]
try:
    main()
except SystemExit as exc:
    code = exc.code
print("@@" + json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""
HEAVY = {"typer", "click", "pydantic", "pydantic_core", "httpx", "httpcore", "rich", "git",
         "ssl", "email", "http", "fastapi", "starlette", "uvicorn", "watchdog", "textual",
         "litellm", "openai"}


@pytest.mark.parametrize("args", [["list", "--json"], ["--json", "show", "shout"],
                                  ["history", "shout", "--json"]])
def test_the_thin_client_imports_nothing_heavy(lib: Path, daemons: Path, args: list[str]
                                               ) -> None:
    """The hot commands through the daemon: a stdlib client, no Typer, no pydantic, no
    httpx (14.3); measured for speed in bench/daemon.py."""
    assert run_cli("daemon", "start", "-L", lib).exit_code == 0
    out = subprocess.run([PYTHON, "-c", PROBE, *args, "-L", str(lib)], capture_output=True,
                         text=True, env=python_env(), check=True).stdout
    text, doc = out.rsplit("@@", 1)
    probe = json.loads(doc)
    assert probe["code"] == 0 and json.loads(text)["ok"] is True
    modules = set(probe["modules"])
    assert "toolforge.daemon.client" in modules  # it did go through the daemon
    assert "toolforge.service.library_service" not in modules
    assert not {m.split(".")[0] for m in modules} & HEAVY


def test_cached_listing_follows_every_writer(lib: Path, daemons: Path) -> None:
    client = connect(lib)
    try:
        first = client.list_tools()
        assert client.list_tools() == first
        # a hand edit of a tool.toml (no commit)
        meta = lib / "tools/shout/tool.toml"
        meta.write_text(meta.read_text().replace("Upper-case a text.", "Louder."))
        wait_for(lambda: next(t for t in client.list_tools().tools
                              if t.tool == "shout" and t.location == "tools"
                              ).description == "Louder.", what="the edit to show")
        git(lib, "checkout", "--", "tools/shout")
        # an in-process writer (another process would do the same)
        svc = LibraryService(lib)
        try:
            svc.add(make_tool("newcomer"), make_tests("newcomer"), validate=False)
        finally:
            svc.close()
        assert "newcomer" in {t.tool for t in client.list_tools().tools}  # HEAD moved
        assert client.list_tools() == LibraryService(lib).list_tools()
    finally:
        client.close()


def test_a_daemon_whose_library_is_deleted_stops(lib: Path, daemons: Path) -> None:
    pid = run_cli("daemon", "start", "-L", lib, "--json").json["health"]["pid"]
    shutil.rmtree(lib)
    wait_for(lambda: not pid_alive(pid), timeout=15, what="the daemon to stop")
    assert not daemon_paths(lib).socket.exists()


def test_commits_made_without_the_daemon_are_announced_once(lib: Path, daemons: Path) -> None:
    client = connect(lib)
    events: list[dict[str, Any]] = []
    subscribed = threading.Event()

    def collect() -> None:
        with DaemonClient(lib) as listener:
            for event in listener.events():
                events.append(event)
                subscribed.set()

    thread = threading.Thread(target=collect, daemon=True)
    thread.start()
    try:
        assert subscribed.wait(10)
        own = client.retire("shout")  # the daemon's own write: announced as tool_retired
        outside = run_cli("rollback", "shout", "-L", lib, "--no-daemon", "--json")
        assert outside.exit_code == 0, outside.stdout
        changed = wait_for(lambda: next((e for e in events if e["type"] == "library_changed"),
                                        None), what="the library_changed event")
        assert changed["commit"] == outside.json["commit"]
        assert changed["subject"].startswith("rollback shout")
        time.sleep(1.5)  # a full watcher tick: the daemon's own commit is not re-announced
        assert [e["commit"] for e in events if e["type"] == "library_changed"] == [
            outside.json["commit"]]
        assert any(e["type"] == "tool_retired" for e in events)
        assert own.commit != outside.json["commit"]
    finally:
        client.shutdown()
        client.close()
        thread.join(10)


# --- the daemon is not a single point of failure (issue 10 item 5) ---------------------------


def test_a_stalled_daemon_makes_commands_run_in_process_and_say_so_once(
    lib: Path, daemons: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pid = run_cli("daemon", "start", "-L", lib, "--json").json["health"]["pid"]
    monkeypatch.setenv("TOOLFORGE_DAEMON_HEALTH_TIMEOUT", "1")
    os.kill(pid, signal.SIGSTOP)
    try:
        first = cli_process("list", "--json", "-L", lib)
        assert first.returncode == 0, first.stderr
        doc = json.loads(first.stdout)
        assert {t["tool"] for t in doc["result"]["tools"]} >= {"shout", "whisper"}
        assert any("running in-process" in w for w in doc["warnings"])
        # the next commands skip the stalled daemon at once; people are told only once
        again = cli_process("list", "-L", lib)
        assert again.returncode == 0 and "warning" not in again.stderr, again.stderr
        added = cli_process("add", write_src(tmp_path / "src", "echo_text"), "--no-validate",
                            "-L", lib, "--json")
        assert added.returncode == 0, added.stdout
        assert json.loads(added.stdout)["warnings"]  # scripts always see it
        assert git(lib, "log", "-1", "--format=%s").strip() == "add candidate echo_text v1"
    finally:
        os.kill(pid, signal.SIGCONT)
    # `daemon restart` replaces it, and commands use the daemon again
    assert run_cli("daemon", "restart", "-L", lib).exit_code == 0
    back = cli_process("list", "--json", "-L", lib)
    assert json.loads(back.stdout)["warnings"] == []


def test_a_daemon_that_cannot_start_leaves_commands_working(lib: Path, daemons: Path) -> None:
    (lib / ".toolforge").mkdir(exist_ok=True)
    (lib / ".toolforge/jobs.sqlite").write_bytes(b"garbage, not a database" * 64)
    result = cli_process("list", "--json", "-L", lib)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["ok"] is True


def test_a_daemon_killed_mid_stream_gives_a_clear_error(lib: Path, daemons: Path) -> None:
    with connect(lib) as client:
        job = client.submit_job("sleep", params={"lines": 2, "seconds": 60})
    follow = subprocess.Popen([PYTHON, "-m", "toolforge", "jobs", str(job.id), "--follow",
                               "-L", str(lib)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=python_env())
    try:
        assert follow.stdout is not None
        assert follow.stdout.readline().strip() == "line 0"  # the stream is running
        os.kill(daemon_pid(lib) or 0, signal.SIGKILL)
        _, err = follow.communicate(timeout=60)
    finally:
        follow.kill()
    assert follow.returncode == 1, err
    assert "went away" in err and "Traceback" not in err and "didn't yield" not in err


def test_an_idle_daemon_stops_itself_and_daemon_list_shows_them_all(
    lib: Path, daemons: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TOOLFORGE_DAEMON_IDLE_TIMEOUT", "1")
    pid = run_cli("daemon", "start", "-L", lib, "--json").json["health"]["pid"]
    listed = run_cli("daemon", "list", "--json").envelope
    assert listed["library"] is None  # about no one library
    assert pid in [d["pid"] for d in listed["result"]["daemons"]]
    wait_for(lambda: not pid_alive(pid), timeout=60, what="the idle daemon to stop")
    assert pid not in [d["pid"] for d in run_cli("daemon", "list", "--json").json["daemons"]]


def test_library_rollbacks_never_look_like_a_deleted_library(lib: Path, daemons: Path) -> None:
    """A library rollback rewrites every file, toolforge.toml included (and a killed one
    may leave it missing until recovery): the daemon's liveness check must not take that
    for a deletion and stop."""
    pid = run_cli("daemon", "start", "-L", lib, "--json").json["health"]["pid"]
    first = git(lib, "rev-list", "--max-parents=0", "HEAD").split()[0]
    for args in (["--no-daemon"], []):  # beside the daemon, and through it
        rolled = cli_process("rollback", "--commit", first, "-L", lib, "--json", *args)
        assert rolled.returncode == 0, rolled.stderr
    settings = lib / "toolforge.toml"
    saved = settings.read_bytes()
    settings.unlink()
    try:
        time.sleep(6)  # three liveness checks see the file missing (not a timed assertion)
    finally:
        settings.write_bytes(saved)
    assert pid_alive(pid)
    with DaemonClient(lib, autostart=False) as client:
        assert client.health().pid == pid
    listed = cli_process("list", "--json", "-L", lib)
    assert json.loads(listed.stdout)["warnings"] == []  # served by that same daemon


def test_a_daemon_killed_while_watching_events_gives_a_clear_error(lib: Path, daemons: Path
                                                                    ) -> None:
    pid = run_cli("daemon", "start", "-L", lib, "--json").json["health"]["pid"]
    watch = subprocess.Popen([PYTHON, "-m", "toolforge", "watch", "--json", "-L", str(lib)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=python_env())
    try:
        assert watch.stdout is not None
        assert json.loads(watch.stdout.readline())["type"] == "subscribed"
        os.kill(pid, signal.SIGKILL)
        out, err = watch.communicate(timeout=60)
    finally:
        watch.kill()
    assert watch.returncode == 1, err
    assert "Traceback" not in err and "didn't yield" not in err, err
    error = json.loads(out.strip().splitlines()[-1])  # --json: the error envelope
    assert error["ok"] is False and "went away" in error["error"]["message"], error


def test_a_daemon_that_stopped_itself_is_replaced_by_the_next_command(
        lib: Path, daemons: Path) -> None:
    pid = run_cli("daemon", "start", "-L", lib, "--json").json["health"]["pid"]
    with DaemonClient(lib, autostart=False) as client:
        client.shutdown()
    wait_for(lambda: not pid_alive(pid), what="the daemon to stop")
    listed = cli_process("list", "--json", "-L", lib)
    assert listed.returncode == 0, listed.stderr
    assert {t["tool"] for t in json.loads(listed.stdout)["result"]["tools"]} >= {"shout"}


class _SickDaemon:
    """Something serving the library's daemon socket that cannot serve: every answer a
    500, or a healthy /v1/health but 500s or silence for everything else. The CLI is the
    real one, in its own process; only the peer is sick."""

    def __init__(self, lib: Path, mode: str) -> None:
        self.lib = lib.resolve()
        self.mode = mode
        paths = daemon_paths(self.lib)
        from toolforge.daemon.runtime import ensure_runtime_dir

        ensure_runtime_dir(paths.runtime_dir)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        paths.socket.unlink(missing_ok=True)
        self.sock.bind(str(paths.socket))
        self.sock.listen(64)
        self.stop = threading.Event()
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return
            data += chunk
        path = data.split(b" ", 2)[1].decode()
        if path == "/v1/health" and self.mode != "health_500":
            body = json.dumps({"status": "ok", "version": __version__, "pid": os.getpid(),
                               "library": str(self.lib), "started_at": "now"}).encode()
            status = "200 OK"
        elif self.mode == "stalled_reads":
            self.stop.wait(120)
            return
        else:
            body = json.dumps({"error": "internal", "message": "RuntimeError: sick",
                               "hint": "a bug"}).encode()
            status = "500 Internal Server Error"
        conn.sendall(f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                     + body)
        conn.close()

    def close(self) -> None:
        self.stop.set()
        self.sock.close()
        for conn in self.conns:
            conn.close()


@pytest.mark.parametrize("mode", ["health_500", "reads_500", "stalled_reads"])
def test_an_unhealthy_daemon_makes_commands_run_in_process_and_say_so_once(
        lib: Path, daemons: Path, monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    monkeypatch.setenv("TOOLFORGE_DAEMON_READ_TIMEOUT", "2")
    sick = _SickDaemon(lib, mode)
    try:
        first = cli_process("list", "--json", "-L", lib)
        assert first.returncode == 0, first.stderr
        doc = json.loads(first.stdout)
        assert {t["tool"] for t in doc["result"]["tools"]} >= {"shout", "whisper"}
        assert [w for w in doc["warnings"] if "running in-process" in w], doc["warnings"]
        shown = cli_process("show", "shout", "-L", lib)  # told once: not again
        assert shown.returncode == 0 and "warning" not in shown.stderr, shown.stderr
        assert "shout" in shown.stdout
    finally:
        sick.close()


def test_a_locked_jobs_database_leaves_commands_working(lib: Path, daemons: Path) -> None:
    import sqlite3

    path = lib / ".toolforge/jobs.sqlite"
    path.parent.mkdir(exist_ok=True)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE IF NOT EXISTS t (x)")
    holder.execute("BEGIN EXCLUSIVE")  # nobody else may read or write it now
    try:
        for _ in range(2):
            result = cli_process("list", "--json", "-L", lib)
            assert result.returncode == 0, result.stderr
            doc = json.loads(result.stdout)
            assert {t["tool"] for t in doc["result"]["tools"]} >= {"shout", "whisper"}
    finally:
        holder.rollback()
        holder.close()


def test_a_daemon_killed_during_a_validation_gives_a_clear_error(
        lib: Path, daemons: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOOLFORGE_DAEMON_JOBS", "1")
    client = connect(lib)
    client.submit_job("sleep", params={"seconds": 600})  # the validation waits behind it
    validate = subprocess.Popen([PYTHON, "-m", "toolforge", "validate", "whisper", "-L",
                                 str(lib)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=python_env())
    try:
        wait_for(lambda: any(j.kind == "validate" for j in client.jobs()),
                 what="the validation job")
        os.kill(daemon_pid(lib) or 0, signal.SIGKILL)
        out, err = validate.communicate(timeout=60)
    finally:
        validate.kill()
    assert validate.returncode == 1, (out, err)
    assert "went away" in err and "Traceback" not in err and "didn't yield" not in err, err


@pytest.mark.parametrize("job_id", ["99999999999999999999999", "9223372036854775808"])
def test_a_job_id_past_64_bits_is_a_clear_error_both_ways(lib: Path, daemons: Path,
                                                          job_id: str) -> None:
    for args in ([], ["--no-daemon"]):
        result = cli_process("jobs", job_id, "-L", lib, "--json", *args)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        assert json.loads(result.stdout)["ok"] is False
