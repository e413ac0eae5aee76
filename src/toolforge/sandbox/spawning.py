"""What every backend does to start a guest and to make sure nothing of it survives.

- `interpreter()`: the base interpreter behind this (possibly virtual) environment;
- `start_guest()`: pipes, the process (from a thread that lives as long as this process,
  because PR_SET_PDEATHSIG follows the starting *thread*), the setup frame, registration
  with the reaper and the sandbox's cgroups;
- `kill_group()` / `finish()`: the common parts of every backend's kill and clean-up.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import importlib.util
import logging
import os
import py_compile
import queue
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from toolforge.sandbox import _uids
from toolforge.sandbox.cgroup import SandboxCgroup, support
from toolforge.sandbox.reaper import kill_uid, reaper, start_time
from toolforge.sandbox.sandboxed import FRAME_SLACK, ChildProcess, SandboxedProcess

if TYPE_CHECKING:
    from toolforge.sandbox.limits import Limits

log = logging.getLogger(__name__)

GUEST_DIR = Path(__file__).resolve().parent / "guest"
ROLES = ("worker", "runner")


@dataclass(frozen=True)
class Interpreter:
    executable: str
    stdlib: str
    libdir: str | None
    hidden: tuple[str, ...]

    @property
    def binds(self) -> list[str]:
        """Paths to bind read-only, without ones already inside another."""
        paths = sorted({self.executable, self.stdlib, *([self.libdir] if self.libdir else [])})
        kept: list[str] = []
        for path in paths:
            if not any(path == k or path.startswith(k.rstrip("/") + "/") for k in kept):
                kept.append(path)
        return kept


@functools.cache
def interpreter() -> Interpreter:
    """The base interpreter behind this (possibly virtual) environment, by real paths."""
    executable = os.path.realpath(sys.executable)
    paths = sysconfig.get_paths(vars={"base": sys.base_prefix, "platbase": sys.base_prefix})
    stdlib = os.path.realpath(paths["stdlib"])
    libdir = None
    if sysconfig.get_config_var("Py_ENABLE_SHARED"):
        candidate = sysconfig.get_config_var("LIBDIR")
        if candidate and os.path.isdir(candidate):
            libdir = os.path.realpath(candidate)
    hidden = tuple(
        p for name in ("site-packages", "dist-packages")
        if os.path.isdir(p := os.path.join(stdlib, name))
    )
    return Interpreter(executable, stdlib, libdir, hidden)


def guest_entry(role: str) -> str:
    """Host path of the guest entry script; also makes sure the guest modules have .pyc."""
    if role not in ROLES:
        raise ValueError(f"unknown sandbox role {role!r}")
    _compile_guest_modules()
    return str(GUEST_DIR / "main.py")


@functools.cache
def _compile_guest_modules() -> None:
    # Sandboxes run with -B on a read-only bind: a .pyc must already exist to be used.
    for module in GUEST_DIR.glob("*.py"):
        with contextlib.suppress(OSError, py_compile.PyCompileError):
            cached = importlib.util.cache_from_source(str(module))
            if not os.path.exists(cached) or os.path.getmtime(cached) < module.stat().st_mtime:
                py_compile.compile(str(module), cfile=cached, doraise=True)


def close_fds(*fds: int | None) -> None:
    for fd in fds:
        if fd is not None and fd >= 0:
            with contextlib.suppress(OSError):
                os.close(fd)


class _SpawnerThread:
    """A thread that lives as long as the process and starts sandboxes on behalf of others.

    PR_SET_PDEATHSIG (bwrap's `--die-with-parent`, the landlock guest's own) fires when the
    *thread* that started the process exits, not the process. A sandbox started from a
    short-lived worker thread would be killed when that thread ends, so such threads hand
    the start-up to this one.
    """

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[Callable[[], object], Future[object]]] = (
            queue.SimpleQueue()
        )
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def run(self, job: Callable[[], _T]) -> _T:
        if threading.current_thread() is threading.main_thread():
            return job()
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._serve, name="sandbox-spawner",
                                                daemon=True)
                self._thread.start()
        future: Future[object] = Future()
        self._jobs.put((job, future))
        return cast(_T, future.result())

    def _serve(self) -> None:
        while True:
            job, future = self._jobs.get()
            try:
                future.set_result(job())
            except BaseException as exc:
                future.set_exception(exc)


_spawner = _SpawnerThread()
_T = TypeVar("_T")


def popen_from_lasting_thread(cmd: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
    return _spawner.run(lambda: subprocess.Popen(cmd, **kwargs))


def make_work_dir(uid: int | None) -> str:
    """A private, empty work directory (0700, owned by the sandbox uid when there is one).

    On a tmpfs (/dev/shm) when the sandbox's memory is bounded by a cgroup, whose limit
    then covers the files too; on disk otherwise, where only each file's size is capped.
    """
    parent = None
    if support().memory is not None and os.access("/dev/shm", os.W_OK | os.X_OK):
        parent = "/dev/shm"
    work_dir = tempfile.mkdtemp(prefix="toolforge-sandbox-", dir=parent)
    if uid is not None:
        os.chown(work_dir, uid, uid)
    return work_dir


@dataclass
class GuestStart:
    """How to start one guest; `start_guest` does the rest."""

    role: str
    argv: list[str]  # the command; the guest's fd numbers are appended
    limits: Limits
    setup: dict[str, Any]
    backend: str
    terminate: Callable[[SandboxedProcess], Callable[[], None]]
    env: dict[str, str]
    cwd: str | None = None
    uid: int | None = None
    work_dir: str | None = None
    extra_fds: tuple[int, ...] = ()
    init_extra: dict[str, Any] | None = None
    on_ready: Callable[[SandboxedProcess], None] | None = None
    # The guest is `python ... main.py ROLE` with nothing around it: it may be forked from a
    # prepared interpreter instead (sandbox/zygote.py), with a hash key other than this one.
    forkable: bool = False
    avoid_hash_key: int | None = None


def start_guest(start: GuestStart) -> SandboxedProcess:
    """Start a guest, register it with the reaper, send its setup.

    The guest reads its setup frame before anything else (it joins its cgroups through the
    `cgroup.procs` descriptors passed here, then confines itself) and only then says
    "ready", so all of this happens before any untrusted code can exist in the sandbox. The
    guest joins by itself because under bwrap we do not know its pid before it is ready.
    """
    (req_r, req_w), (resp_r, resp_w), (out_r, out_w) = (
        os.pipe2(os.O_CLOEXEC), os.pipe2(os.O_CLOEXEC), os.pipe2(os.O_CLOEXEC))
    cgroup: SandboxCgroup | None = None
    joins: list[int] = []
    try:
        cgroup = SandboxCgroup.create(start.limits.memory_mb << 20, start.limits.max_processes)
        if cgroup is not None:
            joins = [os.open(os.path.join(d, "cgroup.procs"), os.O_WRONLY | os.O_CLOEXEC)
                     for d in cgroup.paths]
        popen, child_joins, hash_key = _start_process(start, req_r, resp_w, out_w, joins)
    except BaseException:
        close_fds(req_r, req_w, resp_r, resp_w, out_r, out_w, *joins)
        if cgroup is not None:
            cgroup.remove()
        _release(start.uid, start.work_dir)
        raise
    close_fds(req_r, resp_w, out_w, *joins)
    proc = SandboxedProcess(
        popen=popen, to_child=req_w, from_child=resp_r, output_fd=out_r, backend=start.backend,
        max_frame=start.limits.max_output_bytes + FRAME_SLACK,
        max_output=start.limits.max_output_bytes, terminate=start.terminate, uid=start.uid,
        init_extra=dict(start.init_extra or {}), work_dir=start.work_dir,
        on_ready=start.on_ready, cgroup=cgroup, hash_key=hash_key,
    )
    try:
        watch(proc)
        setup = {**start.setup, "cgroup_fds": child_joins}
        if hash_key is not None and setup.get("pdeathsig"):
            setup["pdeathsig"] = hash_key  # a forked guest's parent is its fork server
        if setup.get("seccomp") is not None:
            setup["seccomp"] = base64.b64encode(setup["seccomp"]).decode()
        if not proc.send(setup, _deadline(5.0)):
            log.debug("sandbox %s: could not send the setup frame", popen.pid)
    except BaseException:
        proc.kill()
        raise
    return proc


def _start_process(start: GuestStart, req_r: int, resp_w: int, out_w: int, joins: list[int]
                   ) -> tuple[ChildProcess, list[int], int | None]:
    """The guest's process, forked from a fork server when it can be (else started): the
    process, its cgroup.procs descriptors' numbers as it sees them, and its hash key (its
    server's pid; None for a started interpreter, which has a random key of its own)."""
    if start.forkable:
        from toolforge.sandbox.zygote import ZygoteError, zygotes

        server = zygotes().server(start.env, avoid=start.avoid_hash_key)
        if server is not None:
            try:
                child, numbers = server.spawn(start.role, [req_r, resp_w, out_w, *joins],
                                              env=start.env, cwd=start.cwd or "/",
                                              argv0=start.argv[-1])
                return child, numbers[3:], server.pid
            except ZygoteError as exc:
                log.info("sandbox: starting the interpreter instead of forking: %s", exc)
    popen = popen_from_lasting_thread(
        [*start.argv, start.role, str(req_r), str(resp_w)],
        stdin=subprocess.DEVNULL, stdout=out_w, stderr=out_w,
        pass_fds=(req_r, resp_w, *joins, *start.extra_fds), env=start.env, cwd=start.cwd,
        start_new_session=True, close_fds=True,
    )
    return popen, joins, None


def _deadline(seconds: float) -> float:
    return time.monotonic() + seconds


def watch(proc: SandboxedProcess, init_pid: int | None = None) -> None:
    """Tell the reaper how to kill this sandbox should this process die first."""
    watcher = reaper()
    if watcher is None:
        return
    recipe: dict[str, Any] = {"cgroups": proc.cgroup.paths if proc.cgroup else [],
                              "uid": proc.uid, "work_dir": proc.work_dir}
    if proc.backend != "bwrap":  # bwrap's guest is in a session of its own; its init is known
        recipe["pgid"] = proc.popen.pid
    if init_pid is not None:
        recipe["init"] = [init_pid, start_time(init_pid)]
    proc.watch_key = str(proc.popen.pid)
    watcher.watch(proc.watch_key, recipe)


def kill_group(proc: SandboxedProcess) -> None:
    """SIGKILL the guest's process group; safe only while the guest is not yet reaped (a
    zombie keeps its pid, and so the group id, from being reused)."""
    if proc.popen.returncode is None:
        with contextlib.suppress(OSError):
            os.killpg(proc.popen.pid, signal.SIGKILL)


def kill_cgroup_or_uid(proc: SandboxedProcess) -> bool:
    """Kill the whole sandbox through its cgroup, else its own uid; False if it has neither."""
    if proc.cgroup is not None and proc.cgroup.directories.get("kill"):
        proc.cgroup.kill()
        return True
    if proc.uid is not None:
        kill_uid(proc.uid)
        return True
    return False


def finish(proc: SandboxedProcess) -> None:
    """After the guest is reaped: wait for the cgroup to empty, then remove what is left."""
    try:
        if proc.cgroup is not None and not proc.cgroup.wait_empty(2.0):
            proc.cgroup.kill()
            proc.cgroup.wait_empty(2.0)
    finally:
        watcher = reaper()
        if watcher is not None and proc.watch_key is not None:
            watcher.forget(proc.watch_key)
        _release(proc.uid, proc.work_dir)  # first: its tmpfs pages are charged to the cgroup
        if proc.cgroup is not None:
            proc.cgroup.remove()


def _release(uid: int | None, work_dir: str | None) -> None:
    if work_dir:
        shutil.rmtree(work_dir, ignore_errors=True)
    if uid is not None:
        _uids.release_uid(uid)
