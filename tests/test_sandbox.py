"""The sandbox, through its public functions, with the REAL backends (no mocks).

Every test that matters for isolation runs against every backend where the property holds
for all three, against both isolating ones (bwrap, landlock) where only real isolation can
deliver it, and against one alone where the two isolate differently (bwrap hides what
landlock makes unreadable). A machine without user namespaces is simulated for real: a
seccomp filter (tests/helpers/restricted.py) makes unshare fail for a whole CLI run.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import make_tests, make_tool, write_tool_dir
from toolforge.errors import ToolforgeError
from toolforge.sandbox import cgroup
from toolforge.sandbox.access import Access, access_for
from toolforge.sandbox.backends import (
    BackendUnavailableError,
    SandboxBackend,
    available_backends,
    select_backend,
)
from toolforge.sandbox.limits import Limits
from toolforge.sandbox.process import ToolProcess, call_tool

REPO_ROOT = Path(__file__).resolve().parents[1]

ADD = '''
def add(a: int, b: int) -> int:
    """Add two numbers."""
    print("adding", a, b)
    return a + b
'''


@pytest.fixture(params=["bwrap", "landlock", "rlimit"])
def backend(request: pytest.FixtureRequest) -> SandboxBackend:
    return select_backend(request.param)


@pytest.fixture(params=["bwrap", "landlock"])
def isolating(request: pytest.FixtureRequest) -> SandboxBackend:
    return select_backend(request.param)


@pytest.fixture
def bwrap() -> SandboxBackend:
    return select_backend("bwrap")


@pytest.fixture
def landlock() -> SandboxBackend:
    return select_backend("landlock")


RESTRICTED = REPO_ROOT / "tests" / "helpers" / "restricted.py"
needs_memory_cgroup = pytest.mark.skipif(
    cgroup.support().memory is None,
    reason=f"no memory cgroup here: {cgroup.support().reasons.get('memory')}",
)


def _restricted(*args: str, landlock: bool = True, **kwargs: object
                ) -> subprocess.CompletedProcess[str]:
    """Run `args` as on a machine without user namespaces (and without Landlock)."""
    options = [] if landlock else ["--no-landlock"]
    return subprocess.run([sys.executable, str(RESTRICTED), *options, "--", *args],
                          capture_output=True, text=True, timeout=240, **kwargs)  # type: ignore[call-overload]


def _tool(body: str, name: str = "probe", params: str = "") -> str:
    """A one-function tool whose body is `body` (indented by the caller's 4 spaces)."""
    return f"def {name}({params}):\n" + "".join(f"    {line}\n" for line in body.splitlines())


def _processes_named(marker: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            comm = Path(f"/proc/{entry}/comm").read_text().strip()
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if comm == marker and state not in ("Z", "X"):
            found.append(int(entry))
    return found


def _wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


# --- choosing a backend ------------------------------------------------------------------


def test_all_backends_are_available_and_bwrap_is_the_default() -> None:
    assert available_backends() == ["bwrap", "landlock", "rlimit"]
    chosen = select_backend()
    assert (chosen.name, chosen.isolating) == ("bwrap", True)
    landlock = select_backend("landlock")
    assert (landlock.name, landlock.isolating) == ("landlock", True)
    rlimit = select_backend("rlimit")
    assert (rlimit.name, rlimit.isolating) == ("rlimit", False)
    assert "NOT isolated" in " ".join(rlimit.warnings())
    # Every report names what its backend does not isolate.
    assert any("pid/IPC/UTS namespaces" in w for w in landlock.warnings())


def test_environment_variable_overrides_the_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOOLFORGE_SANDBOX", "rlimit")
    assert select_backend().name == "rlimit"
    assert select_backend("bwrap").name == "bwrap"


def test_unknown_backend_is_a_clear_error() -> None:
    with pytest.raises(BackendUnavailableError, match="unknown sandbox backend 'docker'"):
        select_backend("docker")


def test_bwrap_requested_but_missing_is_an_error_with_an_install_hint(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TOOLFORGE_BWRAP", str(tmp_path / "no-such-bwrap"))
    with pytest.raises(BackendUnavailableError) as info:
        select_backend("bwrap")
    assert isinstance(info.value, ToolforgeError)
    assert "apt-get install bubblewrap" in (info.value.hint or "")
    assert "bwrap" not in available_backends()


def test_auto_picks_landlock_when_bwrap_is_missing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TOOLFORGE_BWRAP", str(tmp_path / "no-such-bwrap"))
    chosen = select_backend("auto")
    assert (chosen.name, chosen.isolating) == ("landlock", True)


CHOICE = ("import json; from toolforge.sandbox.backends import auto_choice, select_backend; "
          "print(json.dumps([select_backend().name, auto_choice()[1]]))")


def test_without_user_namespaces_auto_picks_landlock_and_says_why() -> None:
    done = _restricted(sys.executable, "-c", CHOICE)
    assert done.returncode == 0, done.stderr
    name, why = json.loads(done.stdout)
    assert name == "landlock"
    assert "unshare" in why and "landlock backend isolates" in why


def test_without_user_namespaces_or_landlock_auto_falls_back_to_rlimit_loudly() -> None:
    done = _restricted(sys.executable, "-c", CHOICE, landlock=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)[0] == "rlimit"
    assert "does NOT isolate" in done.stderr  # the warning, on every such choice


# --- calling a tool ----------------------------------------------------------------------


def test_call_tool_returns_the_value_and_the_prints(backend: SandboxBackend) -> None:
    result = call_tool(ADD, "add", {"a": 2, "b": 3}, backend=backend)
    assert result.ok, result
    assert result.value == 5
    assert result.stdout == "adding 2 3\n"
    assert result.backend == backend.name
    assert result.duration_ms > 0


def test_one_process_answers_many_calls(backend: SandboxBackend) -> None:
    with ToolProcess(ADD, "add", backend=backend) as process:
        first_pid = process.pid
        values = [process.call({"a": i, "b": 1}).value for i in range(20)]
        assert process.pid == first_pid
    assert values == list(range(1, 21))
    assert process.pid is None


def test_a_process_started_by_a_thread_outlives_that_thread(bwrap: SandboxBackend) -> None:
    # bwrap's --die-with-parent follows the *thread* that started it; a worker thread of a
    # server that started a tool process and then ended must not take the sandbox with it.
    process = ToolProcess(ADD, "add", backend=bwrap)
    starter = threading.Thread(target=process.start)
    starter.start()
    starter.join()
    try:
        time.sleep(0.2)
        assert process.call({"a": 1, "b": 1}).value == 2
        assert process.restarts == 0
    finally:
        process.close()


def test_exceptions_come_back_with_type_message_and_traceback(backend: SandboxBackend) -> None:
    source = (
        "class ParseError(ValueError):\n    pass\n\n"
        "def parse(text: str) -> int:\n"
        "    if not text:\n        raise ParseError('empty input')\n"
        "    return int(text)\n"
    )
    with ToolProcess(source, "parse", backend=backend) as process:
        custom = process.call({"text": ""})
        builtin = process.call({"text": "x"})
        fine = process.call({"text": "42"})
    assert (custom.ok, custom.error_type, custom.error_builtin) == (False, "ParseError",
                                                                     "ValueError")
    assert custom.error_message == "empty input"
    assert 'File "tool.py", line 6, in parse' in (custom.traceback or "")
    assert (builtin.error_type, builtin.limit_hit) == ("ValueError", None)
    assert fine.value == 42


def test_a_tool_that_fails_to_import_reports_it_on_every_call(backend: SandboxBackend) -> None:
    with ToolProcess("import no_such_module\n\ndef f():\n    return 1\n", "f",
                     backend=backend) as process:
        first, second = process.call({}), process.call({})
    assert (first.error_type, second.error_type) == ("ModuleNotFoundError",) * 2
    with ToolProcess("def g():\n    return 1\n", "f", backend=backend) as process:
        missing = process.call({})
    assert missing.error_type == "AttributeError"
    assert "no function 'f'" in (missing.error_message or "")


def test_toolforge_and_third_party_packages_are_not_importable(
    backend: SandboxBackend,
) -> None:
    source = _tool(
        "import importlib.util\n"
        "specs = [importlib.util.find_spec(m) for m in ('toolforge', 'pydantic', 'pytest', 'json')]"
        "\nreturn [s.origin if s and 'stand-in' in str(s.origin) else s is not None for s in specs]"
    )
    # pydantic: only the stand-in that supplies Field to tool contracts, never the package
    assert call_tool(source, "probe", {}, backend=backend).value == [
        False, "toolforge sandbox stand-in", False, True]


def test_files_are_placed_next_to_the_tool(backend: SandboxBackend) -> None:
    source = _tool("import helper\nreturn helper.VALUE + open('data.txt').read()")
    files = {"helper.py": "VALUE = 'from helper, '\n", "data.txt": "from data"}
    with ToolProcess(source, "probe", backend=backend, files=files) as process:
        assert process.call({}).value == "from helper, from data"


# --- results must be plain JSON ------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "complaint"),
    [
        ("AlwaysEqual('x')", "AlwaysEqual (a subclass of str)"),
        ("{'k': AlwaysEqual('x')}", "$.k: AlwaysEqual"),
        ("{1, 2}", "set is not a JSON type"),
        ("float('nan')", "nan is not valid JSON"),
        ("{1: 'a'}", "key 1 is a int"),
        ("b'bytes'", "bytes is not a JSON type"),
    ],
)
def test_results_that_are_not_plain_json_are_refused(
    bwrap: SandboxBackend, expression: str, complaint: str
) -> None:
    source = (
        "class AlwaysEqual(str):\n"
        "    def __eq__(self, other):\n        return True\n"
        "    __hash__ = str.__hash__\n\n"
        + _tool(f"return {expression}")
    )
    result = call_tool(source, "probe", {}, backend=bwrap)
    assert (result.ok, result.limit_hit) == (False, "non_json_result")
    assert complaint in (result.error_message or "")


def test_arguments_that_are_not_plain_json_are_refused_before_sending(
    bwrap: SandboxBackend,
) -> None:
    with ToolProcess(ADD, "add", backend=bwrap) as process:
        refused = process.call({"a": float("nan"), "b": 1})
        fine = process.call({"a": 1, "b": 1})
    assert (refused.ok, refused.error_type) == (False, "TypeError")
    assert "not plain JSON" in (refused.error_message or "")
    assert fine.value == 2
    assert process.restarts == 0


def test_tuples_come_back_as_json_lists(bwrap: SandboxBackend) -> None:
    result = call_tool(_tool("return {'pair': (1, 2), 'x': [1.5, None, True]}"), "probe", {},
                       backend=bwrap)
    assert result.value == {"pair": [1, 2], "x": [1.5, None, True]}


# --- limits --------------------------------------------------------------------------------


def test_an_infinite_loop_is_stopped_at_wall_time_and_the_process_restarts(
    backend: SandboxBackend,
) -> None:
    source = _tool("if spin:\n    while True:\n        pass\nreturn 'alive'", params="spin")
    with ToolProcess(source, "probe", backend=backend) as process:
        stuck = process.call({"spin": True}, timeout_s=0.5)
        again = process.call({"spin": False})
    assert (stuck.ok, stuck.limit_hit) == (False, "wall_time")
    assert again.value == "alive"
    assert process.restarts == 1


def test_a_sleeping_tool_is_stopped_at_wall_time(backend: SandboxBackend) -> None:
    result = call_tool(_tool("import time\ntime.sleep(30)"), "probe", {}, backend=backend,
                       limits=Limits(wall_time_s=0.5))
    assert result.limit_hit == "wall_time"


def test_cpu_time_is_limited(isolating: SandboxBackend) -> None:
    result = call_tool(_tool("while True:\n    pass"), "probe", {}, backend=isolating,
                       limits=Limits(cpu_time_s=1, wall_time_s=60))
    assert result.limit_hit == "cpu_time"


def test_a_memory_bomb_is_limited(backend: SandboxBackend) -> None:
    source = _tool("blocks = []\nwhile True:\n    blocks.append(bytearray(50_000_000))")
    with ToolProcess(source, "probe", backend=backend, limits=Limits(memory_mb=256)) as process:
        result = process.call({})
    assert (result.ok, result.limit_hit, result.error_type) == (False, "memory", "MemoryError")


def test_a_fork_bomb_is_limited_and_cleaned_up(backend: SandboxBackend) -> None:
    marker = "tfbomb" + secrets.token_hex(4)
    source = _tool(
        "import ctypes, os, time\n"
        "forks, error = 0, None\n"
        "ready, named = os.pipe()\n"
        "try:\n"
        "    while forks < 500:\n"
        "        if os.fork() == 0:\n"
        f"            ctypes.CDLL(None).prctl(15, b'{marker}', 0, 0, 0)\n"
        "            os.write(named, b'x')\n"
        "            time.sleep(60)\n"
        "            os._exit(0)\n"
        "        forks += 1\n"
        "except OSError as exc:\n"
        "    error = type(exc).__name__\n"
        "for _ in range(forks):  # each child has taken its name before the call returns\n"
        "    os.read(ready, 1)\n"
        "return [forks, error]"
    )
    limits = Limits(max_processes=8)
    with ToolProcess(source, "probe", backend=backend, limits=limits) as process:
        forks, error = process.call({}).value
        # the children are really there (each names itself once it runs)...
        assert _wait_for(lambda: len(_processes_named(marker)) == forks, 60)
    assert error == "BlockingIOError"
    assert 1 <= forks < limits.max_processes
    assert _processes_named(marker) == []  # ...and all dead after close()


def test_a_double_forked_daemon_does_not_survive(backend: SandboxBackend) -> None:
    marker = "tfd" + secrets.token_hex(4)  # comm names are cut at 15 chars
    source = _tool(
        "import ctypes, os, time\n"
        "if os.fork() == 0:\n"
        "    try:\n"
        "        os.setsid()\n"
        "    except OSError:\n"
        "        pass  # refused under landlock: the process group is how it is killed\n"
        "    if os.fork() == 0:\n"
        f"        ctypes.CDLL(None).prctl(15, b'{marker}', 0, 0, 0)\n"
        "        time.sleep(120)\n"
        "    os._exit(0)\n"
        "os.wait()\n"
        "time.sleep(0.2)\n"
        "return 'forked'"
    )
    with ToolProcess(source, "probe", backend=backend) as process:
        assert process.call({}).value == "forked"
        assert len(_processes_named(marker)) == 1
    assert _processes_named(marker) == []


def test_sandboxes_die_with_the_daemon(backend: SandboxBackend) -> None:
    marker = "tfo" + secrets.token_hex(4)
    tool = (f"import ctypes, time\ndef f():\n    ctypes.CDLL(None).prctl(15, b'{marker}', 0, 0, 0)"
            "\n    time.sleep(600)\n")
    daemon = (
        "from toolforge.sandbox.backends import select_backend\n"
        "from toolforge.sandbox.process import ToolProcess\n"
        f"process = ToolProcess({tool!r}, 'f', backend=select_backend({backend.name!r}))\n"
        "process.call({}, timeout_s=600)\n"
    )
    with subprocess.Popen([sys.executable, "-c", daemon]) as parent:
        try:
            assert _wait_for(lambda: len(_processes_named(marker)) == 1, 60)
        finally:
            parent.kill()
    # The daemon died mid-call (no close(), no cleanup code ran); its sandbox follows it.
    assert _wait_for(lambda: _processes_named(marker) == [], 60)


def test_output_is_capped(backend: SandboxBackend) -> None:
    limits = Limits(max_output_bytes=10_000)
    printer = _tool("while True:\n    print('x' * 1000)")
    raw = _tool("import os\nwhile True:\n    os.write(1, b'y' * 1000)")
    big = _tool("return 'z' * 50_000")
    with ToolProcess(printer, "probe", backend=backend, limits=limits) as process:
        printed = process.call({})
    with ToolProcess(raw, "probe", backend=backend, limits=limits) as process:
        written = process.call({})
    with ToolProcess(big, "probe", backend=backend, limits=limits) as process:
        returned = process.call({})
    assert (printed.limit_hit, written.limit_hit, returned.limit_hit) == ("output",) * 3
    assert len(written.stdout) <= limits.max_output_bytes


def test_file_size_is_limited(backend: SandboxBackend) -> None:
    source = _tool(
        "try:\n"
        "    with open('big.bin', 'wb') as f:\n"
        "        f.write(b'0' * (3 << 20))\n"
        "except OSError as exc:\n"
        "    return exc.errno\n"
        "return 'written'"
    )
    result = call_tool(source, "probe", {}, backend=backend, limits=Limits(max_file_size_mb=1))
    assert result.value == 27  # EFBIG


def test_open_files_are_limited(backend: SandboxBackend) -> None:
    source = _tool(
        "import os\nfds = []\n"
        "try:\n"
        "    while len(fds) < 1000:\n"
        "        fds.append(os.open('/dev/null', os.O_RDONLY))\n"
        "except OSError as exc:\n"
        "    return [len(fds), exc.errno]\n"
        "return [len(fds), None]"
    )
    opened, errno = call_tool(source, "probe", {}, backend=backend,
                              limits=Limits(max_open_files=32)).value
    assert errno == 24  # EMFILE
    assert opened < 32


# --- isolation -----------------------------------------------------------------------------


def test_no_secrets_in_the_environment(backend: SandboxBackend,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-fake-do-not-leak")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-fake")
    source = _tool(
        "import os\n"
        "own = dict(os.environ)\n"
        "try:\n"
        "    init = open('/proc/1/environ', 'rb').read()\n"
        "except OSError:\n"
        "    init = b''\n"
        "return [own, 'sk-fake' in init.decode(errors='replace')]"
    )
    environment, leaked_via_proc = call_tool(source, "probe", {}, backend=backend).value
    assert "OPENAI_API_KEY" not in environment
    assert not any("sk-" in value for value in environment.values())
    assert leaked_via_proc is False


def _connect_probe(port: int) -> str:
    return _tool(
        "import socket\n"
        "try:\n"
        f"    socket.create_connection(('127.0.0.1', {port}), timeout=2).close()\n"
        "except OSError as exc:\n"
        "    return type(exc).__name__\n"
        "return 'connected'"
    )


def test_no_network_inside_isolating_backends(isolating: SandboxBackend) -> None:
    server = socket.create_server(("127.0.0.1", 0))
    try:
        source = _connect_probe(server.getsockname()[1])
        # bwrap: no network namespace to reach it; landlock: no socket at all (seccomp).
        assert call_tool(source, "probe", {}, backend=isolating).value in (
            "ConnectionRefusedError", "PermissionError")
        # The same probe outside any sandbox reaches the server: the test can fail.
        assert call_tool(source, "probe", {}, backend=select_backend("rlimit")).value == (
            "connected"
        )
    finally:
        server.close()


def test_the_library_and_the_repository_are_invisible_inside_bwrap(
    bwrap: SandboxBackend,
) -> None:
    paths = [str(REPO_ROOT), str(REPO_ROOT / ".git"), str(REPO_ROOT / "library"),
             str(REPO_ROOT / "src" / "toolforge"), str(REPO_ROOT / ".venv"), "/root/.ssh",
             "/etc/passwd", "/home", sys.base_prefix + "/lib/python3.11/site-packages/pip"]
    source = _tool(f"import os\nreturn [os.path.exists(p) for p in {paths!r}]")
    assert call_tool(source, "probe", {}, backend=bwrap).value == [False] * len(paths)
    assert call_tool(source, "probe", {}, backend=select_backend("rlimit")).value[0] is True


def test_the_library_repository_home_and_tmp_are_unreadable_inside_landlock(
    landlock: SandboxBackend, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("tf-secret")
    secret.chmod(0o644)
    tmp_path.chmod(0o755)
    files = [str(secret), str(REPO_ROOT / "README.md"), str(REPO_ROOT / "library" / "README.md"),
             "/etc/passwd", "/etc/hostname", "/proc/self/status", "/proc/1/cmdline",
             "/sys/kernel/notes", sys.base_prefix + "/lib/python3.11/site-packages/README.txt"]
    dirs = [str(tmp_path), str(REPO_ROOT), "/tmp", "/root", "/home", "/proc", "/dev/shm",
            "/run", sys.base_prefix + "/lib/python3.11/site-packages/pip"]
    source = _tool(
        "import os\nresults = {}\n"
        f"for path in {files!r}:\n"
        "    try:\n"
        "        with open(path, 'rb') as f:\n"
        "            results[path] = 'read ' + repr(f.read(40))\n"
        "    except OSError as exc:\n"
        "        results[path] = type(exc).__name__\n"
        f"for path in {dirs!r}:\n"
        "    try:\n"
        "        results[path] = 'listed ' + repr(os.listdir(path)[:3])\n"
        "    except OSError as exc:\n"
        "        results[path] = type(exc).__name__\n"
        "return results"
    )
    seen = call_tool(source, "probe", {}, backend=landlock).value
    readable = {path: what for path, what in seen.items()
                if what not in ("PermissionError", "FileNotFoundError")}
    assert readable == {}
    assert seen[str(secret)] == "PermissionError"  # it exists, and it is refused
    # The probe can fail: outside any sandbox it reads the secret.
    outside = call_tool(source, "probe", {}, backend=select_backend("rlimit")).value
    assert outside[str(REPO_ROOT / "README.md")].startswith("read")


def test_the_filesystem_is_read_only_except_the_private_work_dir(
    isolating: SandboxBackend,
) -> None:
    source = _tool(
        "import os, sys, tempfile\nresults = {}\n"
        "for path in (sys.prefix + '/lib/x.txt', '/usr/lib/x.txt', '/x.txt', 'here.txt',"
        " '/tmp/t.txt', '/dev/shm/x', '/var/tmp/x'):\n"
        "    try:\n"
        "        open(path, 'w').close()\n"
        "        results[path] = 'written'\n"
        "    except OSError as exc:\n"
        "        results[path] = type(exc).__name__\n"
        "with tempfile.NamedTemporaryFile(dir=None) as handle:\n"
        "    results['tempfile'] = os.path.dirname(handle.name) == os.getcwd()\n"
        "results['cwd'] = os.getcwd()\n"
        "return results"
    )
    with ToolProcess(source, "probe", backend=isolating) as process:
        first = process.call({}).value
    cwd = first.pop("cwd")
    assert first.pop("here.txt") == "written"
    if isolating.name == "bwrap":
        assert cwd == "/sandbox"
        assert first.pop("/tmp/t.txt") == "written"  # /tmp is the work dir there
    else:
        assert first.pop("tempfile") is True  # TMPDIR is the work dir
    first.pop("tempfile", None)
    assert set(first.values()) <= {"OSError", "PermissionError", "FileNotFoundError"}, first
    # A new sandbox gets a new, empty work dir.
    leftover = call_tool(_tool("import os\nreturn sorted(os.listdir('.'))"), "probe", {},
                         backend=isolating)
    assert leftover.value == ["tool.py"]


CAPABILITIES = (
    "import ctypes, os\n"
    "libc = ctypes.CDLL(None, use_errno=True)\n"
    "header = (ctypes.c_uint32 * 2)(0x20080522, 0)\n"
    "data = (ctypes.c_uint32 * 6)()\n"
    "libc.capget(header, data)\n"
    "return [os.getuid(), data[0] | data[3], libc.prctl(39, 0, 0, 0, 0)]"
)


def test_the_tool_runs_unprivileged(backend: SandboxBackend) -> None:
    uid, capabilities, no_new_privs = call_tool(_tool(CAPABILITIES), "probe", {},
                                                backend=backend).value
    assert uid != 0
    assert capabilities == 0
    if backend.isolating:
        assert no_new_privs == 1


def test_user_namespaces_cannot_be_nested(isolating: SandboxBackend) -> None:
    # In a forked child: unshare(CLONE_NEWUSER) refuses multi-threaded callers outright.
    source = _tool(
        "import ctypes, os\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    libc = ctypes.CDLL(None, use_errno=True)\n"
        "    failed = libc.unshare(0x10000000) == -1\n"
        "    os._exit(ctypes.get_errno() if failed else 0)\n"
        "return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])"
    )
    assert call_tool(source, "probe", {}, backend=isolating).value in (1, 28)  # EPERM/ENOSPC


def test_only_the_sandbox_processes_are_visible_inside_bwrap(bwrap: SandboxBackend) -> None:
    source = _tool("import os\nreturn sorted(int(p) for p in os.listdir('/proc') if p.isdigit())")
    assert call_tool(source, "probe", {}, backend=bwrap).value == [1, 2]


def test_the_tool_cannot_kill_the_parent_or_escape_the_kill(backend: SandboxBackend) -> None:
    source = _tool(
        "import os, signal\n"
        "for target in (os.getppid(), -1):\n"
        "    try:\n"
        "        os.kill(target, signal.SIGKILL)\n"
        "    except OSError:\n"
        "        pass\n"
        "return 'still here'"
    )
    me = os.getpid()
    assert call_tool(source, "probe", {}, backend=backend).value == "still here"
    assert os.getpid() == me  # and this test process is obviously still alive


def test_signals_do_not_leave_an_isolating_sandbox(isolating: SandboxBackend) -> None:
    decoy = subprocess.Popen(["sleep", "300"])
    try:
        source = _tool(
            "import os, signal\nresults = []\n"
            f"for target in ({decoy.pid}, -{decoy.pid}, os.getppid(), 1):\n"
            "    for sig in (signal.SIGKILL, signal.SIGSTOP):\n"
            "        try:\n"
            "            os.kill(target, sig)\n"
            "            results.append([target, 'sent'])\n"
            "        except OSError as exc:\n"
            "            results.append([target, type(exc).__name__])\n"
            "return results"
        )
        results = call_tool(source, "probe", {}, backend=isolating).value
        outside = {decoy.pid, -decoy.pid}
        if isolating.name == "landlock":  # bwrap's pid 1 and parent are its own init
            outside |= {os.getpid(), 1}
        assert all(outcome != "sent" for target, outcome in results if target in outside), (
            results)
        assert decoy.poll() is None
        status = Path(f"/proc/{decoy.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        assert status != "T"  # not stopped either
    finally:
        decoy.kill()
        decoy.wait()


# --- bounds per sandbox, not per process ----------------------------------------------------


@needs_memory_cgroup
def test_memory_is_bounded_across_processes(backend: SandboxBackend) -> None:
    """Four children of 100 MB each, every one under the per-process limit: the sandbox's
    cgroup stops the tree at 256 MB in total."""
    source = _tool(
        "import os, select, time\n"
        "read, write = os.pipe()\n"
        "children = []\n"
        "for _ in range(4):\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        block = bytearray(100 << 20)\n"
        "        for i in range(0, len(block), 4096):\n"
        "            block[i] = 1\n"
        "        os.write(write, b'x')\n"
        "        time.sleep(60)\n"
        "        os._exit(0)\n"
        "    children.append(pid)\n"
        "os.close(write)\n"
        "held = dead = 0\n"
        "deadline = time.monotonic() + 30\n"
        "while held + dead < 4 and time.monotonic() < deadline:\n"
        "    if select.select([read], [], [], 0.05)[0] and os.read(read, 1):\n"
        "        held += 1\n"
        "    while children and os.waitpid(-1, os.WNOHANG)[0]:\n"
        "        dead += 1  # killed by the cgroup's OOM killer\n"
        "return held"
    )
    limits = Limits(memory_mb=256, wall_time_s=120, max_processes=16)
    result = call_tool(source, "probe", {}, backend=backend, limits=limits)
    assert not (result.ok and result.value == 4), result
    if not result.ok:
        assert result.limit_hit == "memory", result


@needs_memory_cgroup
def test_memfd_and_tmpfs_pages_count_against_the_sandbox(backend: SandboxBackend) -> None:
    """memfd pages are mapped by no one and files in a tmpfs belong to no process: neither
    is in RLIMIT_AS, both are charged to the sandbox's cgroup."""
    source = _tool(
        "import os\n"
        "chunk = b'0' * (1 << 20)\n"
        "fd = os.memfd_create('hoard')\n"
        "written = 0\n"
        "try:\n"
        "    while written < 600:\n"
        "        os.write(fd, chunk)\n"
        "        written += 1\n"
        "except OSError as exc:\n"
        "    return [written, type(exc).__name__]\n"
        "return [written, None]"
    )
    limits = Limits(memory_mb=256, wall_time_s=60)
    result = call_tool(source, "probe", {}, backend=backend, limits=limits)
    if result.ok:
        written, _error = result.value
        assert written < 300, result
    else:
        assert result.limit_hit == "memory", result


def test_no_survivors_when_the_parent_dies_even_if_the_tool_stopped_itself(
    backend: SandboxBackend,
) -> None:
    marker = "tfz" + secrets.token_hex(4)
    tool = (
        "import ctypes, os, signal, time\n"
        "def f():\n"
        "    if os.fork() == 0:\n"
        f"        ctypes.CDLL(None).prctl(15, b'{marker}', 0, 0, 0)\n"
        "        time.sleep(600)\n"
        "        os._exit(0)\n"
        f"    ctypes.CDLL(None).prctl(15, b'{marker}', 0, 0, 0)\n"
        "    os.kill(os.getpid(), signal.SIGSTOP)  # the guest's own watcher thread stops too\n"
    )
    daemon = (
        "from toolforge.sandbox.backends import select_backend\n"
        "from toolforge.sandbox.process import ToolProcess\n"
        f"process = ToolProcess({tool!r}, 'f', backend=select_backend({backend.name!r}))\n"
        "process.call({}, timeout_s=600)\n"
    )
    with subprocess.Popen([sys.executable, "-c", daemon]) as parent:
        try:
            assert _wait_for(lambda: len(_processes_named(marker)) == 2, 60)
            stopped = [pid for pid in _processes_named(marker)
                       if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
                       == "T"]
            assert len(stopped) == 1
        finally:
            parent.kill()
    assert _wait_for(lambda: _processes_named(marker) == [], 60)


KEYRING = (
    "import ctypes, os\n"
    "libc = ctypes.CDLL(None, use_errno=True)\n"
    "keyctl = {'x86_64': 250, 'aarch64': 219}[os.uname().machine]\n"
    "add_key = {'x86_64': 248, 'aarch64': 217}[os.uname().machine]\n"
    "found = libc.syscall(keyctl, 10, -4, b'user', b'tf-planted', 0)\n"
    "added = libc.syscall(add_key, b'user', b'tf-mine', b'x', 1, -4)\n"
    "return [found > 0, added > 0, ctypes.get_errno()]"
)


@pytest.mark.skipif(os.geteuid() != 0, reason="a uid of the sandbox's own needs root")
@pytest.mark.parametrize("name", ["landlock", "rlimit"])
def test_the_sandbox_uid_keyrings_are_cleared(name: str, monkeypatch: pytest.MonkeyPatch
                                              ) -> None:
    """A key in the sandbox uid's user keyring (an earlier sandbox's, say) is gone before the
    tool runs, and what the tool could add is gone after it."""
    from toolforge.sandbox import _uids

    uid = _uids.allocate_uid()  # claimed for the whole test: no other sandbox runs as it
    release = _uids.release_uid
    try:
        monkeypatch.setattr(_uids, "allocate_uid", lambda: uid)
        monkeypatch.setattr(_uids, "release_uid", lambda _uid: None)
        assert _user_key(uid, "add")
        found, added, errno = call_tool(_tool(KEYRING), "probe", {},
                                        backend=select_backend(name)).value
        assert found is False
        if name == "landlock":
            assert (added, errno) == (False, 1)  # keyrings are out of reach (seccomp)
        assert not _user_key(uid, "find")
    finally:
        release(uid)


SESSION_KEYRING = (
    "import ctypes, json, os, sys\n"
    "sys.path.insert(0, {guest!r})\n"
    "import confine\n"
    "keyctl = {{'x86_64': 250, 'aarch64': 219}}[os.uname().machine]\n"
    "libc = ctypes.CDLL(None, use_errno=True)\n"
    "before = libc.syscall(keyctl, 0, -3, 1)\n"  # KEYCTL_GET_KEYRING_ID of the session's
    "if {uid!r} is not None:\n"
    "    os.setgroups([]); os.setresgid({uid!r}, {uid!r}, {uid!r})\n"
    "    os.setresuid({uid!r}, {uid!r}, {uid!r})\n"
    "confine.join_session_keyring({shared!r})\n"
    "print(json.dumps([before, libc.syscall(keyctl, 0, -3, 0)]))\n"
)


@pytest.mark.parametrize(("shared", "own_uids"), [("owner", False), ("any_uid", True),
                                                  (None, False)])
def test_a_guest_leaves_the_parent_session_keyring_for_a_shared_or_fresh_one(
        shared: str | None, own_uids: bool) -> None:
    """Asked to share, every guest joins one keyring (so that no sandbox's exit frees one
    and sets the kernel's key collector walking every key on the machine): those of the
    keyring owner's uid ("owner"), or those of any uid ("any_uid": the bwrap sandboxes in
    the root daemon's user namespace, each with a uid of its own). Otherwise each gets a
    fresh one. Never the parent's."""
    from toolforge.sandbox import _uids
    from toolforge.sandbox.backends import GUEST_DIR

    if own_uids and os.geteuid() != 0:
        pytest.skip("guests of their own uids need root")
    uids = [_uids.allocate_uid(), _uids.allocate_uid()] if own_uids else [None, None]

    def code(uid: int | None) -> str:
        return SESSION_KEYRING.format(guest=str(GUEST_DIR), shared=shared, uid=uid)

    holder = subprocess.Popen(  # keeps a shared keyring alive while the second one joins
        [sys.executable, "-I", "-c", code(uids[0]) + "sys.stdout.flush(); sys.stdin.read()\n"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        parent, first = json.loads(holder.stdout.readline())
        done = subprocess.run([sys.executable, "-I", "-c", code(uids[1])],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        second = json.loads(done.stdout)[1]
    finally:
        holder.communicate("", timeout=60)
        for uid in uids:
            if uid is not None:
                _uids.release_uid(uid)
    assert parent not in (first, second)
    assert (first == second) is (shared is not None)


FORKED_KEYRINGS = """
import ctypes, json, os, sys
sys.path.insert(0, {guest!r})
import confine

keyctl = {{"x86_64": 250, "aarch64": 219}}[os.uname().machine]
ring = lambda: ctypes.CDLL(None, use_errno=True).syscall(keyctl, 0, -3, 1)
seen = {{"parent": ring()}}
confine.keep_session_keyring_for_children()
seen["server"] = ring()
for name, setup in (("may_share", {{"shared_keyring": "owner"}}), ("fresh", {{}})):
    read, write = os.pipe()
    if os.fork() == 0:
        confine.apply(setup)
        os.write(write, str(ring()).encode())
        os._exit(0)
    os.close(write)
    seen[name] = int(os.read(read, 64))
    os.wait()
print(json.dumps(seen))
"""


def test_forked_guests_keep_their_fork_servers_fresh_session_keyring_where_they_may_share(
        ) -> None:
    """The fork server leaves the parent's session keyring for a fresh one; a child it
    forks keeps that one where the parent says sandboxes may share a keyring (joining the
    shared one by name walks every named keyring of the user namespace), and gets a fresh
    one of its own otherwise."""
    from toolforge.sandbox.backends import GUEST_DIR

    done = subprocess.run([sys.executable, "-I", "-c",
                           FORKED_KEYRINGS.format(guest=str(GUEST_DIR))],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["server"] != seen["parent"]
    assert seen["may_share"] == seen["server"]
    assert seen["fresh"] not in (seen["parent"], seen["server"])


@pytest.mark.skipif(os.geteuid() != 0, reason="the shared user namespace is the root daemon's")
def test_bwrap_sandboxes_see_only_an_empty_shared_session_keyring(bwrap: SandboxBackend
                                                                   ) -> None:
    """What a bwrap sandbox's /proc/keys shows of session keyrings: the sandboxes' shared
    one, empty and changeable by its possessors only; never the daemon's."""
    import ctypes

    keyctl = {"x86_64": 250, "aarch64": 219}[os.uname().machine]
    ours = ctypes.CDLL(None, use_errno=True).syscall(keyctl, 0, -3, 1)
    tool = _tool("return open('/proc/keys').read().splitlines()")
    with ToolProcess(tool, "probe", backend=bwrap) as one:
        lines = one.call({}).value
    assert f"{ours:08x}" not in [line.split()[0] for line in lines]
    shared = [line.split() for line in lines if line.endswith("toolforge-sandboxes: empty")]
    assert shared and all(fields[4] == "3f0b000b" for fields in shared), lines


def _user_key(uid: int, action: str) -> bool:
    """Add (or look for) the key "tf-planted" in `uid`'s user keyring, as `uid`."""
    code = (
        "import ctypes, os, sys\n"
        f"os.setgroups([]); os.setresgid({uid}, {uid}, {uid}); os.setresuid({uid}, {uid}, {uid})\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "nr = {'x86_64': (248, 250), 'aarch64': (217, 219)}[os.uname().machine]\n"
        f"if {action!r} == 'add':\n"
        "    ok = libc.syscall(nr[0], b'user', b'tf-planted', b'secret', 6, -4) > 0\n"
        "else:\n"
        "    ok = libc.syscall(nr[1], 10, -4, b'user', b'tf-planted', 0) > 0\n"
        "sys.exit(0 if ok else 1)\n"
    )
    return subprocess.run([sys.executable, "-I", "-c", code], timeout=30).returncode == 0


# --- the Landlock layer on its own (guest/confine.py), without seccomp -----------------------

LANDLOCK_ALONE = """
import json, os, signal, socket, sys
sys.path.insert(0, {guest!r})
import confine

rules = confine.Landlock({{"paths": [[{stdlib!r}, "ro"], [{work!r}, "rw"]], "deny_tcp": True}})
import ctypes
assert ctypes.CDLL(None).prctl(38, 1, 0, 0, 0) == 0
rules.restrict()
seen = {{"abi": rules.abi}}
def attempt(name, action):
    try:
        action()
        seen[name] = "allowed"
    except OSError as exc:
        seen[name] = type(exc).__name__
attempt("read /etc/passwd", lambda: open("/etc/passwd").read())
attempt("write outside", lambda: open({outside!r}, "w").close())
attempt("write work dir", lambda: open({work!r} + "/x", "w").close())
attempt("tcp connect", lambda: socket.create_connection(("127.0.0.1", {port}), timeout=2))
def abstract():
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect("\\0" + {abstract!r})
attempt("abstract socket", abstract)
attempt("signal outside", lambda: os.kill({decoy}, signal.SIGTERM))
print(json.dumps(seen))
"""


def test_the_landlock_layer_alone_denies_files_tcp_abstract_sockets_and_signals(
    tmp_path: Path,
) -> None:
    """Landlock without the seccomp filter behind it: each of its rules must hold by itself
    (on this kernel's ABI; what an older ABI lacks, seccomp covers and reports say)."""
    from toolforge.sandbox.backends import GUEST_DIR, interpreter
    from toolforge.sandbox.landlock import SCOPES_SINCE_ABI, TCP_SINCE_ABI

    work = tmp_path / "work"
    work.mkdir()
    server = socket.create_server(("127.0.0.1", 0))
    name = "tf-landlock-" + secrets.token_hex(4)
    listener = socket.socket(socket.AF_UNIX)
    listener.bind("\0" + name)
    listener.listen()
    decoy = subprocess.Popen(["sleep", "300"])
    try:
        code = LANDLOCK_ALONE.format(
            guest=str(GUEST_DIR), stdlib=interpreter().stdlib, work=str(work),
            outside=str(tmp_path / "outside"), port=server.getsockname()[1], abstract=name,
            decoy=decoy.pid)
        done = subprocess.run([interpreter().executable, "-I", "-S", "-c", code],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        seen = json.loads(done.stdout)
    finally:
        server.close()
        listener.close()
        decoy.kill()
        decoy.wait()
    assert seen["read /etc/passwd"] == seen["write outside"] == "PermissionError"
    assert seen["write work dir"] == "allowed"
    assert not (tmp_path / "outside").exists()
    if seen["abi"] >= TCP_SINCE_ABI:
        assert seen["tcp connect"] == "PermissionError"
    if seen["abi"] >= SCOPES_SINCE_ABI:
        assert seen["abstract socket"] == seen["signal outside"] == "PermissionError"


# --- diagnosis -------------------------------------------------------------------------------


DIAGNOSE = "import json; from toolforge.sandbox import diagnose; print(json.dumps(diagnose()))"


def test_diagnose_explains_the_choice_and_every_backend() -> None:
    from toolforge.sandbox import diagnose

    found = diagnose()
    assert (found["chosen"], found["backends"]["bwrap"]["available"]) == ("bwrap", True)
    assert found["user_namespaces"]["works"] is True
    assert set(found["user_namespaces"]["sysctls"]) == {
        "apparmor_restrict_unprivileged_userns", "unprivileged_userns_clone",
        "max_user_namespaces"}
    assert found["landlock"]["abi"] >= 1 and found["seccomp"]["available"] is True
    for name, backend in found["backends"].items():
        assert set(backend["isolates"]) >= {"filesystem_read", "filesystem_write", "network",
                                            "other_processes", "kernel_surface", "resources",
                                            "needs"}, name
    assert "NOT isolated" in " ".join(found["backends"]["rlimit"]["not_isolated"])
    assert set(found["cgroups"]) >= {"memory", "pids", "kill", "not_bounded"}
    json.dumps(found)  # plain data, for `toolforge doctor --json`


def test_diagnose_without_user_namespaces_names_the_reason_and_the_fix() -> None:
    done = _restricted(sys.executable, "-c", DIAGNOSE)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["chosen"] == "landlock"
    assert found["user_namespaces"]["works"] is False
    assert "unshare" in found["user_namespaces"]["reason"]
    assert found["backends"]["bwrap"]["available"] is False
    assert found["backends"]["bwrap"]["fix"]
    without = json.loads(_restricted(sys.executable, "-c", DIAGNOSE, landlock=False).stdout)
    assert without["chosen"] == "rlimit" and "NOT isolate" in without["why"]
    assert "Landlock" in without["backends"]["landlock"]["reason"]
    assert without["backends"]["landlock"]["fix"]


@pytest.mark.skipif(os.geteuid() != 0 or not Path("/usr/bin/unshare").exists(),
                    reason="hiding the cgroup filesystem needs root and unshare(1)")
def test_without_cgroups_the_report_says_what_is_not_bounded() -> None:
    """A mount namespace where /sys/fs/cgroup is an empty tmpfs: no cgroup can be made, the
    sandbox still works and isolates, and every report says memory is per process only."""
    code = ("import json; from toolforge.sandbox.backends import select_backend; "
            "from toolforge.sandbox.process import call_tool; "
            f"b = select_backend('landlock'); r = call_tool({ADD!r}, 'add', "
            "{'a': 1, 'b': 2}, backend=b); print(json.dumps([r.value, b.warnings()]))")
    script = f"mount -t tmpfs none /sys/fs/cgroup && exec {sys.executable} -c \"$0\""
    done = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script,
                           code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    value, warnings = json.loads(done.stdout)
    assert value == 3
    assert any("memory is bounded per process" in w for w in warnings), warnings


# --- the warm pool --------------------------------------------------------------------------


POOL_TESTS = "from tool import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"


def test_a_warm_landlock_pool_serves_validations_and_calls(landlock: SandboxBackend) -> None:
    from toolforge.sandbox.harness import run_tests
    from toolforge.sandbox.pool import WarmPool

    with WarmPool(landlock, size=1) as pool:
        assert pool.wait_ready(60)
        report = run_tests(ADD, "add", [("candidate", POOL_TESTS)], backend=landlock, pool=pool)
        assert (report.passed, report.backend, report.isolated) == (True, "landlock", True)
        assert pool.hits == 2  # the tool host and the test runner were both spares
        assert pool.wait_ready(60)
        with ToolProcess(ADD, "add", backend=landlock, pool=pool) as process:
            assert process.call({"a": 1, "b": 2}).value == 3
        assert pool.hits == 3
        # A spare only ever goes to a job of the same backend and access.
        networked = landlock.with_access(access_for([], allow_network=True))
        with ToolProcess(ADD, "add", backend=networked, pool=pool) as process:
            assert process.call({"a": 1, "b": 1}).value == 2
        with ToolProcess(ADD, "add", backend=select_backend("bwrap"), pool=pool) as process:
            assert process.call({"a": 2, "b": 2}).value == 4
        assert pool.hits == 3


def test_a_result_of_many_frames_worth_of_bytes_arrives_whole(backend: SandboxBackend) -> None:
    """The parent reads its pipe in chunks: a result far bigger than one chunk still comes
    back intact, in one call."""
    big = _tool("return [str(i) * 7 for i in range(40_000)]")
    with ToolProcess(big, "probe", backend=backend,
                     limits=Limits(max_output_bytes=4 << 20)) as process:
        result = process.call({})
    assert result.ok, result.error_message
    assert result.value == [str(i) * 7 for i in range(40_000)]


# --- policies: third-party imports and network -----------------------------------------------


NUMPY_TOOL = '''
import numpy as np


def lower_median(values: list[float]) -> float:
    """The lower median of `values`.

    Args:
        values: the numbers; at least one.

    Returns:
        The middle value (the lower of the two middle ones for an even count).

    Raises:
        ValueError: if `values` is empty.
    """
    if not values:
        raise ValueError("values must not be empty")
    ordered = np.sort(np.asarray(values, dtype=float))
    return float(ordered[(len(ordered) - 1) // 2])
'''
NUMPY_TESTS = (
    "import pytest\nfrom tool import lower_median\n\n\n"
    "def test_odd():\n    assert lower_median([3, 1, 2]) == 2.0\n\n\n"
    "def test_even_takes_the_lower():\n    assert lower_median([4, 1, 3, 2]) == 2.0\n\n\n"
    "def test_empty():\n    with pytest.raises(ValueError):\n        lower_median([])\n"
)


def test_an_allowed_third_party_import_is_importable_and_hidden_otherwise(
    backend: SandboxBackend,
) -> None:
    allowed = backend.with_access(access_for(["numpy"], allow_network=False))
    result = call_tool(NUMPY_TOOL, "lower_median", {"values": [5, 1, 4, 2]}, backend=allowed)
    assert (result.ok, result.value) == (True, 2.0), result
    assert any("third-party packages visible" in w for w in allowed.warnings())
    hidden = call_tool(NUMPY_TOOL, "lower_median", {"values": [1]}, backend=backend)
    assert hidden.error_type == "ModuleNotFoundError"


def test_an_allowed_package_that_lives_under_tmp_is_importable_and_work_dir_writable(
    backend: SandboxBackend,
) -> None:
    # A venv under /tmp (a fresh clone there, a pytest tmp dir) once made bwrap fail with
    # "Can't make symlink at /tmp": the package's bind created /tmp before the work dir.
    packages = Path(tempfile.mkdtemp(dir="/tmp", prefix="tf-pkgs-"))
    packages.chmod(0o755)  # as site-packages is: the sandbox may run as another uid
    try:
        (packages / "tf_under_tmp.py").write_text("ANSWER = 41\n", encoding="utf-8")
        allowed = backend.with_access(Access(import_paths=(str(packages),)))
        source = _tool(
            "import tf_under_tmp\n"
            "with open('scratch.txt', 'w') as f:\n"
            "    f.write('x')\n"
            "with open('scratch.txt') as f:\n"
            "    return tf_under_tmp.ANSWER + len(f.read())"
        )
        result = call_tool(source, "probe", {}, backend=allowed)
        assert (result.ok, result.value) == (True, 42), result
    finally:
        shutil.rmtree(packages)


def test_a_package_that_is_not_installed_is_refused_when_the_policy_is_read() -> None:
    with pytest.raises(ToolforgeError, match="'no_such_package_tf' is not installed"):
        access_for(["no_such_package_tf"], allow_network=False)
    assert access_for(["math", "json"], allow_network=False).import_paths == ()


def test_allow_network_gives_real_network_and_says_so(isolating: SandboxBackend) -> None:
    server = socket.create_server(("127.0.0.1", 0))
    try:
        networked = isolating.with_access(access_for([], allow_network=True))
        source = _connect_probe(server.getsockname()[1])
        assert call_tool(source, "probe", {}, backend=networked).value == "connected"
        assert any("HAS network access" in w for w in networked.warnings())
        unix = _tool(
            "import socket\n"
            "try:\n"
            "    socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
            "except OSError as exc:\n"
            "    return type(exc).__name__\n"
            "return 'unix socket'"
        )
        assert call_tool(unix, "probe", {}, backend=networked).value == "PermissionError"
    finally:
        server.close()


# --- a machine without user namespaces --------------------------------------------------------


def test_validation_and_promotion_work_isolated_without_user_namespaces(tmp_path: Path) -> None:
    """The whole CLI, as on Ubuntu >= 24.04 or in Docker: bwrap cannot start, landlock
    isolates, a numpy tool validates with `allowed_imports = ["numpy"]` and is promoted
    without --allow-unisolated."""
    library = tmp_path / "lib"
    toolforge = [sys.executable, "-m", "toolforge"]
    # The library asks for numpy; the user's config is what lets a library grant it.
    user_config = tmp_path / "config.toml"
    user_config.write_text('[policy]\nallowed_imports = ["numpy"]\n')
    env = {**os.environ, "TOOLFORGE_NO_DAEMON": "1", "TOOLFORGE_CONFIG": str(user_config)}
    env.pop("TOOLFORGE_SANDBOX", None)
    assert _restricted(*toolforge, "init", str(library), env=env).returncode == 0
    settings = library / "toolforge.toml"
    settings.write_text(settings.read_text().replace("allowed_imports = []",
                                                     'allowed_imports = ["numpy"]'))
    subprocess.run(["git", "-C", str(library), "commit", "-qam", "allow numpy"], check=True)
    tool_dir = write_tool_dir(tmp_path / "in", "lower_median", NUMPY_TOOL, NUMPY_TESTS)
    added = _restricted(*toolforge, "add", str(tool_dir), "-L", str(library), "--json",
                        env=env)
    assert added.returncode == 0, added.stdout + added.stderr
    report = json.loads(added.stdout)["result"]["details"]["validation"]
    assert (report["verdict"], report["backend"], report["isolated"]) == (
        "passed", "landlock", True), report
    promoted = _restricted(*toolforge, "promote", "lower_median", "-L", str(library),
                           "--json", env=env)
    assert promoted.returncode == 0, promoted.stdout + promoted.stderr
    meta = (library / "tools" / "lower_median" / "tool.toml").read_text()
    assert 'backend = "landlock"' in meta and "isolated = true" in meta
    # The runtime runs the promoted tool where it validated: numpy visible, isolated.
    called = _restricted(*toolforge, "call", "lower_median", "--args", '{"values": [5, 1, 4]}',
                         "-L", str(library), "--json", env=env)
    assert called.returncode == 0, called.stdout + called.stderr
    assert json.loads(called.stdout)["result"]["value"] == 4.0


def test_a_plain_tool_validates_and_promotes_without_user_namespaces(tmp_path: Path) -> None:
    library = tmp_path / "lib"
    toolforge = [sys.executable, "-m", "toolforge"]
    # The library asks for numpy; the user's config is what lets a library grant it.
    user_config = tmp_path / "config.toml"
    user_config.write_text('[policy]\nallowed_imports = ["numpy"]\n')
    env = {**os.environ, "TOOLFORGE_NO_DAEMON": "1", "TOOLFORGE_CONFIG": str(user_config)}
    env.pop("TOOLFORGE_SANDBOX", None)
    assert _restricted(*toolforge, "init", str(library), env=env).returncode == 0
    tool_dir = write_tool_dir(tmp_path / "in", "shout", make_tool("shout"), make_tests("shout"))
    added = _restricted(*toolforge, "add", str(tool_dir), "-L", str(library), "--json", env=env)
    assert added.returncode == 0, added.stdout + added.stderr
    assert json.loads(added.stdout)["result"]["details"]["validation"]["backend"] == "landlock"
    promoted = _restricted(*toolforge, "promote", "shout", "-L", str(library), env=env)
    assert promoted.returncode == 0, promoted.stdout + promoted.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="sandboxes get uids of their own only as root")
def test_sandbox_uids_are_claimed_machine_wide_and_reused() -> None:
    """Every uid that ever ran keeps two keyrings in the kernel: sandboxes take their uids
    in turn from a bounded pool instead of a fresh one each, and never one that another
    process's sandbox runs as."""
    from toolforge.sandbox import _uids

    other = ("from toolforge.sandbox import _uids\n"
             "print(_uids.allocate_uid(), flush=True)\n"
             "import sys; sys.stdin.readline()\n")
    mine = _uids.allocate_uid()
    try:
        with subprocess.Popen([sys.executable, "-c", other], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True) as peer:
            assert peer.stdout is not None
            theirs = int(peer.stdout.readline())
            assert theirs != mine  # its claim is seen here, and ours there
            third = _uids.allocate_uid()
            _uids.release_uid(third)
            assert third not in (mine, theirs)
            peer.kill()  # a killed process leaves no claim behind
        # theirs is free again: this process takes it when its turn comes round
        taken = []
        while theirs not in taken:
            taken.append(_uids.allocate_uid())
        for uid in taken:
            _uids.release_uid(uid)
        assert len(taken) <= _uids._UID_POOL and mine not in taken
    finally:
        _uids.release_uid(mine)
    # sandboxes take uids from the bounded pool, one after another
    backend = select_backend("landlock")
    seen = []
    for _ in range(3):
        with ToolProcess(ADD, "add", backend=backend) as process:
            assert process.call({"a": 1, "b": 2}).value == 3
            seen.append(process.uid)
    assert all(_uids._UID_LOW <= uid < _uids._UID_LOW + _uids._UID_POOL for uid in seen)
    assert len(set(seen)) == 3  # a released uid does not come straight back
