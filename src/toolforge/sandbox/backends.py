"""Sandbox backends: how a stdlib-only script is started in isolation and how it is killed.

`bwrap` (bubblewrap) is the real one: every namespace unshared (network included), read-only
binds of only what the interpreter needs (its executable, stdlib and shared libraries, with
site-packages hidden), a private size-capped tmpfs as the work dir, a new session,
`--die-with-parent`, an empty environment, and a pid namespace so that killing its init kills
everything, double-forked daemons included.

`rlimit` is the fallback for machines where bwrap cannot run: a plain subprocess in a new
session with rlimits, a scrubbed environment and a private cwd. It does NOT isolate the
network or the filesystem, says so in every report, and is not enough for promotion unless
the user opts out (see `SandboxBackend.isolating`).

Both run the sandboxed interpreter with `-P -s -S` in an environment holding nothing but
`PYTHONHASHSEED` (what `-I` gives, except that the hash seed is ours to choose: the property
attack compares a tool's answers across two seeds to catch output that depends on set
order; user site and .pth files are ignored) and, when the daemon is root, as a fresh
unprivileged uid (see `_uids`). The scripts set their own rlimits before they read any
untrusted code.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import logging
import os
import py_compile
import queue
import secrets
import select
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import threading
import warnings
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar, cast, runtime_checkable

from toolforge.errors import ToolforgeError
from toolforge.sandbox import _uids
from toolforge.sandbox.limits import Limits
from toolforge.sandbox.sandboxed import (
    FRAME_SLACK,
    SandboxedProcess,
    kill_quietly,
    wait_for_exit,
)

log = logging.getLogger(__name__)

GUEST_DIR = Path(__file__).resolve().parent / "guest"
NOT_ISOLATED_WARNING = (
    "rlimit backend: network and filesystem are NOT isolated (resource limits only); "
    "not enough for promotion unless explicitly allowed"
)
BWRAP_ENV_VAR = "TOOLFORGE_BWRAP"
_SANDBOX_WORK_DIR = "/sandbox"
_SANDBOX_SCRIPT_DIR = "/opt/sandbox"


class BackendUnavailableError(ToolforgeError):
    """The requested sandbox backend cannot run on this machine."""

    http_status = 503
    kind = "sandbox_unavailable"


@runtime_checkable
class SandboxBackend(Protocol):
    """Starts sandboxed interpreters; `isolating` is False when network/filesystem are shared."""

    name: str
    isolating: bool

    def warnings(self) -> list[str]: ...

    def spawn(self, role: str, *, limits: Limits,
              hash_seed: int | None = None) -> SandboxedProcess:
        """Start guest/main.py as `role` ("worker" or "runner"), waiting for its init frame;
        its PYTHONHASHSEED is `hash_seed` (None: a random one), kept as `.hash_seed`."""
        ...


# --- the interpreter the sandbox runs --------------------------------------------------------


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


ROLES = ("worker", "runner")


def new_hash_seed(avoid: int | None = None) -> int:
    """A random PYTHONHASHSEED (1 .. 2**32-1; 0 would turn randomisation off), not `avoid`."""
    while True:
        seed = secrets.randbelow(2**32 - 1) + 1
        if seed != avoid:
            return seed


def _python(script: str, role: str, req_r: int, resp_w: int) -> list[str]:
    """The sandboxed interpreter's command line: -I without -E, see the module docstring."""
    return [interpreter().executable, "-P", "-s", "-S", "-B", script, role, str(req_r),
            str(resp_w)]


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


def _pipes() -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    return os.pipe2(os.O_CLOEXEC), os.pipe2(os.O_CLOEXEC), os.pipe2(os.O_CLOEXEC)


def _close(*fds: int | None) -> None:
    for fd in fds:
        if fd is not None and fd >= 0:
            with contextlib.suppress(OSError):
                os.close(fd)


class _SpawnerThread:
    """A thread that lives as long as the process and starts bwrap on behalf of others.

    `--die-with-parent` uses PR_SET_PDEATHSIG, which fires when the *thread* that started
    bwrap exits, not the process. A sandbox started from a short-lived worker thread would
    be killed when that thread ends, so such threads hand the start-up to this one.
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


def _popen_from_lasting_thread(cmd: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
    return _spawner.run(lambda: subprocess.Popen(cmd, **kwargs))


# --- bubblewrap ------------------------------------------------------------------------------


class BwrapBackend:
    name = "bwrap"
    isolating = True

    def __init__(self, bwrap: str | None = None) -> None:
        self._bwrap = bwrap

    @property
    def bwrap(self) -> str:
        """The bwrap binary: the constructor's, else $TOOLFORGE_BWRAP, else from PATH."""
        return (self._bwrap or os.environ.get(BWRAP_ENV_VAR) or shutil.which("bwrap")
                or "/usr/bin/bwrap")

    def warnings(self) -> list[str]:
        return []

    @functools.cached_property
    def _system_binds(self) -> list[str]:
        args: list[str] = []
        for path in ("/usr/lib", "/usr/lib64", "/usr/lib32"):
            if os.path.isdir(path) and not os.path.islink(path):
                args += ["--ro-bind", path, path]
        for path in ("/lib", "/lib64", "/lib32", "/libx32"):
            if os.path.islink(path):
                args += ["--symlink", os.readlink(path), path]
            elif os.path.isdir(path):
                args += ["--ro-bind", path, path]
        # Time zone data is harmless and tools that convert dates need it.
        args += ["--ro-bind-try", "/usr/share/zoneinfo", "/usr/share/zoneinfo"]
        py = interpreter()
        for path in py.binds:
            args += ["--ro-bind", path, path]
        for path in py.hidden:
            # A mask, not storage: tiny and read-only, or it would be an unlimited tmpfs
            # (up to half the host's RAM) outside the memory limit.
            args += ["--size", "4096", "--tmpfs", path, "--remount-ro", path]
        return args

    def command(self, argv: list[str], *, work_dir_bytes: int, uid: int | None,
                userns_fd: int | None, extra_binds: list[str] | None = None,
                env: dict[str, str] | None = None) -> list[str]:
        if userns_fd is not None and uid is not None:
            identity = ["--userns", str(userns_fd), "--uid", str(uid), "--gid", str(uid),
                        "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
                        "--unshare-cgroup-try"]
        else:
            identity = ["--unshare-all", "--unshare-user", "--disable-userns"]
        return [
            self.bwrap, *identity,
            "--die-with-parent", "--new-session", "--clearenv",
            *[arg for key, value in (env or {}).items() for arg in ("--setenv", key, value)],
            *self._system_binds,
            *(extra_binds or []),
            "--proc", "/proc",
            "--dev", "/dev",
            # --dev is a writable, unlimited tmpfs (/dev/shm too): freeze it. Device nodes
            # such as /dev/null and /dev/urandom keep working on a read-only mount.
            "--remount-ro", "/dev",
            "--size", str(work_dir_bytes), "--tmpfs", _SANDBOX_WORK_DIR,
            "--symlink", _SANDBOX_WORK_DIR, "/tmp",
            # bwrap's root is an unlimited tmpfs: freeze it, only the work dir stays writable.
            "--remount-ro", "/",
            "--chdir", _SANDBOX_WORK_DIR,
            *argv,
        ]

    def spawn(self, role: str, *, limits: Limits,
              hash_seed: int | None = None) -> SandboxedProcess:
        entry = guest_entry(role)
        seed = new_hash_seed() if hash_seed is None else hash_seed
        root = _uids.running_as_root()
        userns_fd = _uids.shared_userns() if root else None
        uid = _uids.allocate_uid() if root else None
        (req_r, req_w), (resp_r, resp_w), (out_r, out_w) = _pipes()
        try:
            inside = f"{_SANDBOX_SCRIPT_DIR}/{os.path.basename(entry)}"
            argv = _python(inside, role, req_r, resp_w)
            binds = ["--ro-bind", os.path.dirname(entry), _SANDBOX_SCRIPT_DIR]
            cmd = self.command(argv, work_dir_bytes=limits.work_dir_bytes, uid=uid,
                               userns_fd=userns_fd, extra_binds=binds,
                               env={"PYTHONHASHSEED": str(seed)})
            fds = (req_r, resp_w) if userns_fd is None else (req_r, resp_w, userns_fd)
            popen = _popen_from_lasting_thread(
                cmd, stdin=subprocess.DEVNULL, stdout=out_w, stderr=out_w, pass_fds=fds,
                env={}, start_new_session=True, close_fds=True,
            )
        except BaseException:
            _close(req_r, req_w, resp_r, resp_w, out_r, out_w)
            if uid is not None:
                _uids.release_uid(uid)
            raise
        _close(req_r, resp_w, out_w)
        return SandboxedProcess(
            popen=popen, to_child=req_w, from_child=resp_r, output_fd=out_r, backend=self.name,
            max_frame=limits.max_output_bytes + FRAME_SLACK, max_output=limits.max_output_bytes,
            terminate=_terminate_bwrap, uid=uid, on_ready=_note_bwrap_init,
            init_extra={"kill_scope": "all"},  # a pid namespace of its own
            hash_seed=seed,
        )

    def probe(self) -> str | None:
        """None if a sandboxed interpreter starts here, else why not."""
        if not os.access(self.bwrap, os.X_OK):
            return f"bubblewrap not found ({self.bwrap})"
        uid = _uids.allocate_uid() if _uids.running_as_root() else None
        try:
            userns_fd = _uids.shared_userns() if uid is not None else None
            argv = [interpreter().executable, "-I", "-S", "-c", "import os; os.getcwd()"]
            cmd = self.command(argv, work_dir_bytes=1 << 20, uid=uid, userns_fd=userns_fd)
            fds = () if userns_fd is None else (userns_fd,)
            done = subprocess.run(cmd, pass_fds=fds, env={}, capture_output=True, timeout=20,
                                  stdin=subprocess.DEVNULL)
        except (OSError, subprocess.SubprocessError) as exc:
            return f"bubblewrap failed to start: {exc}"
        finally:
            if uid is not None:
                _uids.release_uid(uid)
        if done.returncode != 0:
            detail = done.stderr.decode(errors="replace").strip().splitlines()
            return f"bubblewrap failed: {detail[-1] if detail else done.returncode}"
        return None


def _bwrap_init_pid(bwrap_pid: int) -> int | None:
    try:
        with open(f"/proc/{bwrap_pid}/task/{bwrap_pid}/children") as f:
            children = f.read().split()
    except OSError:
        return None
    return int(children[0]) if children else None


def _note_bwrap_init(proc: SandboxedProcess) -> None:
    """Hold a pidfd on the namespace's init while bwrap's monitor is surely alive.

    The monitor may exit (and orphan its init) before we come to kill it, and a pidfd,
    unlike a pid, can never point at some unrelated process that reused the number.
    """
    init_pid = _bwrap_init_pid(proc.popen.pid)
    if init_pid is not None and proc.init_pidfd is None:
        with contextlib.suppress(OSError):
            proc.init_pidfd = os.pidfd_open(init_pid)


def _terminate_bwrap(proc: SandboxedProcess) -> Callable[[], None]:
    """Kill the sandbox's pid-namespace init: the kernel then kills every process inside.

    Init only finishes dying once every other process of its namespace is gone, so when
    its pidfd turns readable nothing of the sandbox is left. Killing init (not bwrap's
    monitor) also lets the monitor reap it. The process group and --die-with-parent are
    backups. Returns the wait, so several sandboxes can be signalled before any is waited on.
    """
    popen = proc.popen
    monitor_alive = popen.poll() is None  # once reaped, its pid may belong to someone else
    if proc.init_pidfd is None and monitor_alive:
        _note_bwrap_init(proc)
    pidfd = proc.init_pidfd
    proc.init_pidfd = None
    if pidfd is not None:
        with contextlib.suppress(OSError):
            signal.pidfd_send_signal(pidfd, signal.SIGKILL)
    elif monitor_alive:
        with contextlib.suppress(OSError):
            os.killpg(popen.pid, signal.SIGKILL)

    def reap() -> None:
        try:
            if pidfd is not None:
                _wait_readable(pidfd, 2.0)
            if not wait_for_exit(popen, 2.0):
                with contextlib.suppress(OSError):
                    os.killpg(popen.pid, signal.SIGKILL)
                popen.wait()
        finally:
            if pidfd is not None:
                os.close(pidfd)
            if proc.uid is not None:
                _uids.release_uid(proc.uid)

    return reap


def _wait_readable(fd: int, timeout: float) -> None:
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    poller.poll(timeout * 1000)


# --- rlimit only -----------------------------------------------------------------------------


class RlimitBackend:
    name = "rlimit"
    isolating = False

    def warnings(self) -> list[str]:
        return [NOT_ISOLATED_WARNING]

    def spawn(self, role: str, *, limits: Limits,
              hash_seed: int | None = None) -> SandboxedProcess:
        entry = guest_entry(role)
        seed = new_hash_seed() if hash_seed is None else hash_seed
        uid = _uids.allocate_uid() if _uids.running_as_root() else None
        work_dir = tempfile.mkdtemp(prefix="toolforge-sandbox-")
        (req_r, req_w), (resp_r, resp_w), (out_r, out_w) = _pipes()
        try:
            if uid is not None:
                os.chown(work_dir, uid, uid)
            argv = _python(entry, role, req_r, resp_w)
            popen = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=out_w, stderr=out_w,
                pass_fds=(req_r, resp_w), env={"PYTHONHASHSEED": str(seed)}, cwd=work_dir,
                start_new_session=True,
                close_fds=True,
            )
        except BaseException:
            _close(req_r, req_w, resp_r, resp_w, out_r, out_w)
            shutil.rmtree(work_dir, ignore_errors=True)
            if uid is not None:
                _uids.release_uid(uid)
            raise
        _close(req_r, resp_w, out_w)
        # As root the script drops to `uid` itself, after its rlimits and before any untrusted
        # code: started directly as that uid it could not even reach an interpreter under a
        # 0700 home. Not root: the process count of our own uid is shared, so the script
        # raises RLIMIT_NPROC by what is already running.
        extra: dict[str, object] = (
            {"uid": uid, "kill_scope": "all"} if uid is not None
            else {"nproc_relative": True, "kill_scope": "group"}
        )
        return SandboxedProcess(
            popen=popen, to_child=req_w, from_child=resp_r, output_fd=out_r, backend=self.name,
            max_frame=limits.max_output_bytes + FRAME_SLACK, max_output=limits.max_output_bytes,
            terminate=_terminate_rlimit, uid=uid, init_extra=extra, work_dir=work_dir,
            hash_seed=seed,
        )

    def probe(self) -> str | None:
        return None


def _kill_uid(uid: int) -> None:
    """SIGKILL every process of `uid` at once: kill(-1) from a child running as that uid.

    kill(-1) reaches exactly the processes whose real or saved uid is `uid` (a sandbox
    process cannot change its uid), including ones that left our session with setsid(), and
    the kernel refuses forks from processes with a pending SIGKILL, so nothing slips by.
    """
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            os.kill(-1, signal.SIGKILL)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def _session_members(sid: int) -> list[int]:
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 3 and fields[0] not in ("Z", "X") and int(fields[3]) == sid:
            members.append(int(entry))
    return members


def _terminate_rlimit(proc: SandboxedProcess) -> Callable[[], None]:
    """Kill the process group, then everything of the sandbox's uid (root) or session.

    Without root there is no dedicated uid: a child that calls setsid() and forks leaves
    both the group and the session and survives. That residual risk is one reason this
    backend never counts as isolating.
    """
    popen = proc.popen
    if popen.poll() is None:  # once reaped, its pid may belong to someone else
        with contextlib.suppress(OSError):
            os.killpg(popen.pid, signal.SIGKILL)
    if proc.uid is not None:
        _kill_uid(proc.uid)
    else:
        for _ in range(5):
            members = _session_members(popen.pid)
            if not members:
                break
            for pid in members:
                kill_quietly(pid)

    def reap() -> None:
        popen.wait()
        if proc.work_dir:
            shutil.rmtree(proc.work_dir, ignore_errors=True)
        if proc.uid is not None:
            _uids.release_uid(proc.uid)

    return reap


# --- choosing --------------------------------------------------------------------------------

_BACKENDS: dict[str, SandboxBackend] = {"bwrap": BwrapBackend(), "rlimit": RlimitBackend()}
_AUTO = "auto"
ENV_VAR = "TOOLFORGE_SANDBOX"


_probes: dict[tuple[str, str], str | None] = {}


def _probe(name: str) -> str | None:
    """Why backend `name` cannot run here (None: it can); remembered per binary."""
    backend = _BACKENDS[name]
    key = (name, getattr(backend, "bwrap", ""))
    if key not in _probes:
        probe = getattr(backend, "probe", None)
        _probes[key] = probe() if probe else None
    return _probes[key]


def available_backends() -> list[str]:
    """Backends that work on this machine, most isolating first."""
    return [name for name in _BACKENDS if _probe(name) is None]


def select_backend(name: str | None = None) -> SandboxBackend:
    """The backend called `name`; None or "auto" (or $TOOLFORGE_SANDBOX) picks the best.

    "auto" falls back to rlimit with a loud warning when bwrap does not work here; asking
    for "bwrap" by name when it does not work is an error, never a silent downgrade.
    """
    wanted = (name or os.environ.get(ENV_VAR) or _AUTO).strip().lower()
    if wanted == _AUTO:
        problem = _probe("bwrap")
        if problem is None:
            return _BACKENDS["bwrap"]
        message = (
            f"sandbox: bubblewrap is not usable ({problem}); falling back to the rlimit "
            "backend, which does NOT isolate network or filesystem"
        )
        warnings.warn(message, RuntimeWarning, stacklevel=2)
        log.warning(message)
        return _BACKENDS["rlimit"]
    if wanted not in _BACKENDS:
        raise BackendUnavailableError(
            f"unknown sandbox backend {wanted!r}",
            hint=f"use one of: auto, {', '.join(_BACKENDS)}",
        )
    problem = _probe(wanted)
    if problem is not None:
        raise BackendUnavailableError(
            f"sandbox backend {wanted!r} is not usable here: {problem}",
            hint="apt-get install bubblewrap (and allow unprivileged user namespaces: "
            "sysctl kernel.unprivileged_userns_clone=1), or choose --sandbox rlimit",
        )
    return _BACKENDS[wanted]
