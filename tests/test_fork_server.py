"""The fork servers behind the landlock and rlimit tiers (sandbox/zygote.py), for real.

Every isolation test in test_sandbox.py already runs on forked guests for these two tiers;
here: that they really are forked, that what a fork shares is handled (hash key, random
state, environment), and that a server's death or its parent's loses nothing and leaves
nothing behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from deploy_helpers import wait_for
from toolforge.sandbox.backends import select_backend
from toolforge.sandbox.process import ToolProcess

PROBE = '''
import os
import random


def probe() -> dict:
    """Who am I?"""
    return {"ppid": os.getppid(), "random": random.random(), "hash": hash("toolforge"),
            "env": dict(os.environ), "cwd": os.getcwd()}
'''

FORKING = ["landlock", "rlimit"]


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _identity(pid: int) -> tuple[int, str]:
    """A process as (pid, start time): pid_max is small here, so a pid comes back soon."""
    fields = _stat(pid)
    assert fields is not None, f"process {pid} is gone"
    return pid, fields[19]


def _alive(process: tuple[int, str]) -> bool:
    fields = _stat(process[0])
    return fields is not None and fields[0] not in ("Z", "X") and fields[19] == process[1]


def _cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    except OSError:
        return []


def _servers_of(parent: int) -> list[int]:
    """Live fork servers started by process `parent` (its children running the server;
    the guests they fork keep the same command line, but are the servers' children)."""
    found = []
    for entry in os.listdir("/proc"):
        fields = _stat(int(entry)) if entry.isdigit() else None
        if fields and fields[0] not in ("Z", "X") and fields[1] == str(parent) \
                and "zygote" in _cmdline(int(entry)):
            found.append(int(entry))
    return found


def _probe(process: ToolProcess) -> dict:
    result = process.call({})
    assert result.ok, result
    return dict(result.value)


@pytest.mark.parametrize("name", FORKING)
def test_guests_are_forked_from_a_prepared_interpreter_and_share_nothing_that_matters(
        name: str) -> None:
    backend = select_backend(name)
    with ToolProcess(PROBE, "probe", backend=backend) as one, \
            ToolProcess(PROBE, "probe", backend=backend) as two:
        first, second = _probe(one), _probe(two)
        server = first["ppid"]
        assert server != os.getpid() and "zygote" in _cmdline(server)
        assert one.hash_key == server
        # each guest gets its own random state, its own work dir, and only its environment
        assert first["random"] != second["random"]
        assert first["cwd"] != second["cwd"]
        assert first["env"] == ({"TMPDIR": first["cwd"]} if name == "landlock" else {})
        # a sandbox that must hash strings with another key comes from the other server
        with ToolProcess(PROBE, "probe", backend=backend,
                         avoid_hash_key=one.hash_key) as other:
            third = _probe(other)
            assert third["ppid"] != server and "zygote" in _cmdline(third["ppid"])
            assert other.hash_key == third["ppid"]
            assert third["hash"] != first["hash"]


@pytest.mark.parametrize("name", FORKING)
def test_a_killed_fork_server_is_replaced_and_its_sandboxes_do_not_linger(name: str) -> None:
    backend = select_backend(name)
    with ToolProcess(PROBE, "probe", backend=backend) as process:
        before = _probe(process)
        assert process.pid is not None
        sandbox, server = _identity(process.pid), _identity(before["ppid"])
        os.kill(before["ppid"], signal.SIGKILL)
        # landlock's guests die with their server (their parent-death signal); rlimit's
        # are killed with their process group when the handle closes
        if name == "landlock":
            wait_for("the sandbox to die with its server", lambda: not _alive(sandbox))
    wait_for("the sandbox to be gone", lambda: not _alive(sandbox))
    with ToolProcess(PROBE, "probe", backend=backend) as again:
        after = _probe(again)
        replacement = _identity(after["ppid"])
        assert replacement != server and _alive(replacement)


def test_no_fork_server_outlives_the_process_that_started_it() -> None:
    script = (
        "from toolforge.sandbox.backends import select_backend\n"
        "from toolforge.sandbox.process import ToolProcess\n"
        "import os, sys\n"
        f"p = ToolProcess({PROBE!r}, 'probe', backend=select_backend('landlock'))\n"
        "assert p.call({}).ok\n"
        "q = ToolProcess(" + repr(PROBE) + ", 'probe', backend=select_backend('landlock'),"
        " avoid_hash_key=p.hash_key)\n"
        "assert q.call({}).ok\n"
        "print(os.getpid(), flush=True)\n"
        "sys.stdin.readline()\n"
    )
    with subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True) as parent:
        assert parent.stdout is not None and parent.stdin is not None
        pid = int(parent.stdout.readline())
        servers = [_identity(server) for server in _servers_of(pid)]
        assert len(servers) == 2  # one per hash key
        parent.kill()  # no clean-up code runs
    wait_for("the fork servers to die with their parent",
             lambda: not any(_alive(s) for s in servers))
