"""The reaper: kills every sandbox of a process that died without killing them itself.

A sandbox normally dies with its parent because its guest reads the parent's pipe on a
thread of its own and kills its whole tree at end of file. A tool that stops its own
process (SIGSTOP) stops that thread too, and a daemon killed by SIGKILL runs no cleanup. So
each process that starts sandboxes also starts one small reaper (this file, run with
`python -I -S -B`, stdlib only): it is told how to kill each sandbox as it starts
(`watch`), and when that is no longer needed (`forget`); when its pipe from the parent
reaches end of file, the parent is gone and it kills whatever is still registered, by
every means the sandbox has: `cgroup.kill` (or listing the cgroup's members), kill(-1) as
the sandbox's own uid, the sandbox's process group, its pid-namespace init (checked against
its start time, so a reused pid is never hit). Then it removes the sandboxes' cgroups and
work directories, and exits.

The reaper is in a session of its own (a terminal's ^C does not reach it) and runs as the
parent's uid, which sandboxes cannot signal: root's sandboxes run as other uids, and a
Landlock sandbox cannot signal outside its domain (ABI >= 6).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sys
import threading
import time
from typing import Any

_lock = threading.Lock()
_reapers: dict[int, Reaper] = {}


class Reaper:
    """The parent's side: a pipe to the reaper process, started on first use."""

    def __init__(self) -> None:
        read, self._write = os.pipe2(os.O_CLOEXEC)
        try:
            os.set_inheritable(read, True)  # everything else we hold is close-on-exec
            # posix_spawn, not Popen: the reaper is never waited for (it outlives us).
            self.pid = os.posix_spawn(
                _interpreter(), [_interpreter(), "-I", "-S", "-B", os.path.abspath(__file__),
                                 str(read)], {},
                file_actions=[(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                              (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0)],
                setsid=True,
            )
        finally:
            os.close(read)
        self._lock = threading.Lock()

    def _send(self, line: str) -> None:
        data = (line + "\n").encode()
        with self._lock:
            try:
                while data:
                    data = data[os.write(self._write, data) :]
            except OSError:  # the reaper died: sandboxes still die with their guests' pipes
                pass

    def watch(self, key: str, recipe: dict[str, Any]) -> None:
        self._send("+" + json.dumps({"key": key, **recipe}, separators=(",", ":")))

    def forget(self, key: str) -> None:
        self._send("-" + json.dumps({"key": key}))


def _interpreter() -> str:
    from toolforge.sandbox.backends import interpreter

    return interpreter().executable


def reaper() -> Reaper | None:
    """This process's reaper (started on the first call), or None if it cannot start."""
    pid = os.getpid()
    with _lock:
        found = _reapers.get(pid)
        if found is None:
            try:
                found = _reapers[pid] = Reaper()
            except OSError:
                return None
        return found


# --- the reaper process (stdlib only) --------------------------------------------------------


def _start_time(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def start_time(pid: int) -> str | None:
    """A pid's start time (clock ticks since boot), to tell it from a later reuse."""
    return _start_time(pid)


def kill_cgroup(directory: str) -> None:
    """SIGKILL every member of a cgroup: at once with cgroup.kill (v2), else by listing the
    members until none is left (v1; the kernel refuses forks with a SIGKILL pending)."""
    try:
        with open(os.path.join(directory, "cgroup.kill"), "w") as f:
            f.write("1")
        return
    except OSError:
        pass
    for _round in range(100):
        try:
            with open(os.path.join(directory, "cgroup.procs")) as f:
                members = [int(x) for x in f.read().split()]
        except OSError:
            return
        if not members:
            return
        for pid in members:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


_KEYCTL = {"x86_64": 250, "aarch64": 219}.get(os.uname().machine)
_libc: list[Any] = []


def kill_uid(uid: int) -> None:
    """SIGKILL every process of `uid` at once and empty its user keyrings, from a child
    running as `uid` (root only).

    kill(-1) reaches exactly the processes whose real or saved uid is `uid` (a sandbox
    process cannot change its uid), including ones that left our session with setsid(), and
    the kernel refuses forks from processes with a pending SIGKILL, so nothing slips by.
    """
    if not _libc:
        import ctypes  # loaded before fork: the child must not take the loader's locks

        _libc.append(ctypes.CDLL(None, use_errno=True))
    libc = _libc[0]
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child: a few syscalls, then _exit
        try:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            os.kill(-1, signal.SIGKILL)
            if _KEYCTL is not None:
                for ring in (-4, -5):  # KEYCTL_CLEAR the user and user-session keyrings
                    libc.syscall(_KEYCTL, 7, ring)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def kill(recipe: dict[str, Any]) -> None:
    """Kill one sandbox by every means its recipe names."""
    for directory in recipe.get("cgroups") or ():
        kill_cgroup(directory)
    if recipe.get("uid") is not None and os.geteuid() == 0:
        kill_uid(int(recipe["uid"]))
    if recipe.get("pgid"):
        with contextlib.suppress(OSError):
            os.killpg(int(recipe["pgid"]), signal.SIGKILL)
    init = recipe.get("init")
    if init and _start_time(int(init[0])) == init[1]:
        with contextlib.suppress(OSError):
            os.kill(int(init[0]), signal.SIGKILL)


def clean(recipe: dict[str, Any]) -> None:
    """Remove what the sandbox leaves on disk once its processes are gone."""
    deadline = time.monotonic() + 2.0
    for directory in recipe.get("cgroups") or ():
        while True:
            try:
                os.rmdir(directory)
                break
            except FileNotFoundError:
                break
            except OSError:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.01)
    if recipe.get("work_dir"):
        shutil.rmtree(recipe["work_dir"], ignore_errors=True)


def main(fd: int) -> int:
    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_IGN)
    watched: dict[str, dict[str, Any]] = {}
    with os.fdopen(fd, "rb") as pipe:
        for raw in pipe:
            line = raw.decode("utf-8", "replace").strip()
            if not line:
                continue
            try:
                message = json.loads(line[1:])
            except ValueError:
                continue
            if line[0] == "+":
                watched[message["key"]] = message
            elif line[0] == "-":
                watched.pop(message["key"], None)
    # End of file: the parent is gone. Kill everything first, then clean up, newest first
    # (the per-process cgroup parents were registered before any sandbox in them).
    for recipe in watched.values():
        with contextlib.suppress(Exception):
            kill(recipe)
    for recipe in reversed(watched.values()):
        with contextlib.suppress(Exception):
            clean(recipe)
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1])))
