"""The sandbox, through its public functions, with the REAL backends (no mocks).

Every test that matters for isolation runs against both backends where the property holds
for both, and against bwrap alone where only real isolation can deliver it.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from toolforge.errors import ToolforgeError
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


@pytest.fixture(params=["bwrap", "rlimit"])
def backend(request: pytest.FixtureRequest) -> SandboxBackend:
    return select_backend(request.param)


@pytest.fixture
def bwrap() -> SandboxBackend:
    return select_backend("bwrap")


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


def test_both_backends_are_available_and_bwrap_is_the_default() -> None:
    assert available_backends() == ["bwrap", "rlimit"]
    chosen = select_backend()
    assert (chosen.name, chosen.isolating) == ("bwrap", True)
    rlimit = select_backend("rlimit")
    assert (rlimit.name, rlimit.isolating) == ("rlimit", False)
    assert "NOT isolated" in " ".join(rlimit.warnings())


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


def test_auto_falls_back_to_rlimit_loudly_when_bwrap_is_missing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TOOLFORGE_BWRAP", str(tmp_path / "no-such-bwrap"))
    with pytest.warns(RuntimeWarning, match="does NOT isolate"):
        chosen = select_backend("auto")
    assert chosen.name == "rlimit"


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
        started = time.monotonic()
        stuck = process.call({"spin": True}, timeout_s=0.5)
        elapsed = time.monotonic() - started
        again = process.call({"spin": False})
    assert (stuck.ok, stuck.limit_hit) == (False, "wall_time")
    assert 0.5 <= elapsed < 2.5
    assert again.value == "alive"
    assert process.restarts == 1


def test_a_sleeping_tool_is_stopped_at_wall_time(backend: SandboxBackend) -> None:
    result = call_tool(_tool("import time\ntime.sleep(30)"), "probe", {}, backend=backend,
                       limits=Limits(wall_time_s=0.5))
    assert result.limit_hit == "wall_time"
    assert result.duration_ms < 2500


def test_cpu_time_is_limited(bwrap: SandboxBackend) -> None:
    result = call_tool(_tool("while True:\n    pass"), "probe", {}, backend=bwrap,
                       limits=Limits(cpu_time_s=1, wall_time_s=20))
    assert result.limit_hit == "cpu_time"
    assert result.duration_ms < 10_000


def test_a_memory_bomb_is_limited(backend: SandboxBackend) -> None:
    source = _tool("blocks = []\nwhile True:\n    blocks.append(bytearray(50_000_000))")
    with ToolProcess(source, "probe", backend=backend, limits=Limits(memory_mb=256)) as process:
        result = process.call({})
    assert (result.ok, result.limit_hit, result.error_type) == (False, "memory", "MemoryError")


def test_a_fork_bomb_is_limited_and_cleaned_up(backend: SandboxBackend) -> None:
    marker = "tfbomb" + secrets.token_hex(4)
    source = _tool(
        "import ctypes, os, time\n"
        "forks = 0\n"
        "try:\n"
        "    while forks < 500:\n"
        "        if os.fork() == 0:\n"
        f"            ctypes.CDLL(None).prctl(15, b'{marker}', 0, 0, 0)\n"
        "            time.sleep(60)\n"
        "            os._exit(0)\n"
        "        forks += 1\n"
        "except OSError as exc:\n"
        "    return [forks, type(exc).__name__]\n"
        "return [forks, None]"
    )
    limits = Limits(max_processes=8)
    with ToolProcess(source, "probe", backend=backend, limits=limits) as process:
        forks, error = process.call({}).value
        assert _processes_named(marker)  # the children are really there...
    assert error == "BlockingIOError"
    assert 1 <= forks < limits.max_processes
    assert _processes_named(marker) == []  # ...and all dead after close()


def test_a_double_forked_daemon_does_not_survive(backend: SandboxBackend) -> None:
    marker = "tfd" + secrets.token_hex(4)  # comm names are cut at 15 chars
    source = _tool(
        "import ctypes, os, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
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
            assert _wait_for(lambda: len(_processes_named(marker)) == 1, 20)
        finally:
            parent.kill()
    # The daemon died mid-call (no close(), no cleanup code ran); its sandbox follows it.
    assert _wait_for(lambda: _processes_named(marker) == [], 5)


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
        "        fds.append(os.open('/proc/self/stat', os.O_RDONLY))\n"
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
        "init = open('/proc/1/environ', 'rb').read() if os.access('/proc/1/environ', os.R_OK)"
        " else b''\n"
        "return [own, 'sk-fake' in init.decode(errors='replace')]"
    )
    environment, leaked_via_proc = call_tool(source, "probe", {}, backend=backend).value
    assert "OPENAI_API_KEY" not in environment
    assert not any("sk-" in value for value in environment.values())
    assert leaked_via_proc is False


def test_no_network_inside_bwrap(bwrap: SandboxBackend) -> None:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    try:
        source = _tool(
            "import socket\n"
            "try:\n"
            f"    socket.create_connection(('127.0.0.1', {port}), timeout=2).close()\n"
            "except OSError as exc:\n"
            "    return type(exc).__name__\n"
            "return 'connected'"
        )
        assert call_tool(source, "probe", {}, backend=bwrap).value == "ConnectionRefusedError"
        # The same probe outside any network namespace reaches the server: the test can fail.
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


def test_the_filesystem_is_read_only_except_the_private_work_dir(
    bwrap: SandboxBackend,
) -> None:
    source = _tool(
        "import os, sys\nresults = {}\n"
        "for path in (sys.prefix + '/lib/x.txt', '/usr/lib/x.txt', '/x.txt', 'here.txt',"
        " '/tmp/t.txt'):\n"
        "    try:\n"
        "        open(path, 'w').close()\n"
        "        results[path] = 'written'\n"
        "    except OSError as exc:\n"
        "        results[path] = type(exc).__name__\n"
        "results['cwd'] = os.getcwd()\n"
        "return results"
    )
    with ToolProcess(source, "probe", backend=bwrap) as process:
        first = process.call({}).value
    assert first.pop("cwd") == "/sandbox"
    assert first.pop("here.txt") == first.pop("/tmp/t.txt") == "written"
    assert set(first.values()) <= {"OSError", "PermissionError"}
    # A new sandbox gets a new, empty work dir.
    leftover = call_tool(_tool("import os\nreturn sorted(os.listdir('.'))"), "probe", {},
                         backend=bwrap)
    assert leftover.value == ["tool.py"]


def test_the_tool_runs_unprivileged(backend: SandboxBackend) -> None:
    source = _tool(
        "import os\n"
        "status = dict(line.split(':', 1) for line in open('/proc/self/status'))\n"
        "return [os.getuid(), status['CapEff'].strip(), status['NoNewPrivs'].strip()]"
    )
    uid, capabilities, _ = call_tool(source, "probe", {}, backend=backend).value
    assert uid != 0
    assert int(capabilities, 16) == 0


def test_user_namespaces_cannot_be_nested_inside_bwrap(bwrap: SandboxBackend) -> None:
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
    assert call_tool(source, "probe", {}, backend=bwrap).value == 28  # ENOSPC


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
