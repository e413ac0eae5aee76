"""Sandbox backends: how a stdlib-only guest is started in isolation and how it is killed.

Three tiers (DESIGN.md §12), most isolating first:

- `bwrap` (bubblewrap): every namespace unshared (network included), read-only binds of only
  what the interpreter needs (site-packages hidden), a private size-capped tmpfs as the work
  dir, an empty environment, and a pid namespace whose init takes everything with it. Needs
  user namespaces (Ubuntu >= 24.04's AppArmor and Docker's seccomp profile forbid them).
- `landlock` (sandbox/landlock.py): no namespaces and no root needed. no_new_privs, a
  Landlock ruleset (read-only the interpreter, read-write one private work dir; TCP,
  abstract sockets and signals scoped where the ABI allows) and a seccomp filter.
- `rlimit`: a plain process with rlimits, a scrubbed environment and a private cwd. It does
  NOT isolate the network or the filesystem, says so in every report, and is not enough for
  promotion unless the user opts out (see `SandboxBackend.isolating`).

Every backend: `python -I -S -B` (PYTHON* variables, user site and .pth files ignored),
a setup frame applied by the guest before it says "ready" (sandbox/guest/confine.py: its
cgroups, fresh keyrings, the drop to the sandbox's own uid when the daemon is root,
Landlock, seccomp), rlimits applied from the job's init frame before any untrusted code,
per-sandbox cgroups for memory and process count where this machine allows
(sandbox/cgroup.py), and a reaper that kills the sandbox if this process dies first
(sandbox/reaper.py). bwrap and landlock also install the same seccomp filter
(sandbox/seccomp.py).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import select
import shutil
import signal
import subprocess
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from toolforge.errors import ToolforgeError
from toolforge.sandbox import _uids, seccomp
from toolforge.sandbox.access import NETWORK_FILES, NO_ACCESS, Access
from toolforge.sandbox.cgroup import support as cgroup_support
from toolforge.sandbox.reaper import kill_uid
from toolforge.sandbox.sandboxed import SandboxedProcess, kill_quietly, wait_for_exit
from toolforge.sandbox.spawning import (
    GUEST_DIR,
    ROLES,
    GuestStart,
    Interpreter,
    finish,
    guest_entry,
    interpreter,
    kill_group,
    make_work_dir,
    start_guest,
    watch,
)

if TYPE_CHECKING:
    from toolforge.sandbox.limits import Limits

__all__ = [
    "BACKEND_NAMES",
    "BWRAP_ENV_VAR",
    "ENV_VAR",
    "GUEST_DIR",
    "NOT_ISOLATED_WARNING",
    "ROLES",
    "BackendUnavailableError",
    "BwrapBackend",
    "Interpreter",
    "RlimitBackend",
    "SandboxBackend",
    "available_backends",
    "guest_entry",
    "interpreter",
    "select_backend",
]

log = logging.getLogger(__name__)

NOT_ISOLATED_WARNING = (
    "rlimit backend: network and filesystem are NOT isolated (resource limits only); "
    "not enough for promotion unless explicitly allowed"
)
BWRAP_ENV_VAR = "TOOLFORGE_BWRAP"
ENV_VAR = "TOOLFORGE_SANDBOX"
BACKEND_NAMES = ("bwrap", "landlock", "rlimit")
_AUTO = "auto"
_SANDBOX_WORK_DIR = "/sandbox"
_SANDBOX_SCRIPT_DIR = "/opt/sandbox"
_SANDBOX_IMPORTS_DIR = "/opt/imports"


class BackendUnavailableError(ToolforgeError):
    """The requested sandbox backend cannot run on this machine."""

    http_status = 503
    kind = "sandbox_unavailable"


@runtime_checkable
class SandboxBackend(Protocol):
    """Starts sandboxed guests; `isolating` is False when network/filesystem are shared."""

    name: str
    isolating: bool
    access: Access

    def warnings(self) -> list[str]:
        """What every report must say: what is not isolated or not bounded, what the policy
        opened."""
        ...

    def spawn(self, role: str, *, limits: Limits,
              avoid_hash_key: int | None = None) -> SandboxedProcess:
        """Start guest/main.py as `role` ("worker" or "runner"), hashing strings with
        another key than the processes of `avoid_hash_key` (`SandboxedProcess.hash_key`)."""
        ...

    def with_access(self, access: Access) -> SandboxBackend:
        """The same backend, opening what `access` names (third-party imports, network)."""
        ...

    def probe(self) -> str | None:
        """None if this backend works here, else why not."""
        ...


def _report_lines(backend: SandboxBackend, gaps: list[str]) -> list[str]:
    return [*gaps, *cgroup_support().unbounded(), *backend.access.statements()]


# --- bubblewrap ------------------------------------------------------------------------------


class BwrapBackend:
    name = "bwrap"
    isolating = True

    def __init__(self, bwrap: str | None = None, access: Access = NO_ACCESS) -> None:
        self._bwrap = bwrap
        self.access = access

    def with_access(self, access: Access) -> BwrapBackend:
        return BwrapBackend(self._bwrap, access)

    @property
    def bwrap(self) -> str:
        """The bwrap binary: the constructor's, else $TOOLFORGE_BWRAP, else from PATH."""
        return (self._bwrap or os.environ.get(BWRAP_ENV_VAR) or shutil.which("bwrap")
                or "/usr/bin/bwrap")

    def warnings(self) -> list[str]:
        return _report_lines(self, [])

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

    def _access_binds(self) -> list[str]:
        args: list[str] = []
        for path, inside in zip(self.access.import_paths, self._import_paths_inside(),
                                strict=True):
            args += ["--ro-bind", path, inside]
        if self.access.network:
            for path in NETWORK_FILES:
                args += ["--ro-bind-try", path, path]
        for key, value in self.access.environment().items():
            args += ["--setenv", key, value]
        return args

    def _import_paths_inside(self) -> list[str]:
        """Where allowed packages appear inside: fixed paths, not the host's. A host path
        under /tmp would collide with the work dir, and the host's layout is none of the
        tool's business."""
        return [f"{_SANDBOX_IMPORTS_DIR}/{i}" for i in range(len(self.access.import_paths))]

    def command(self, argv: list[str], *, work_dir_bytes: int, uid: int | None,
                userns_fd: int | None, extra_binds: list[str] | None = None) -> list[str]:
        network = [] if self.access.network else ["--unshare-net"]
        if userns_fd is not None and uid is not None:
            identity = ["--userns", str(userns_fd), "--uid", str(uid), "--gid", str(uid),
                        "--unshare-pid", *network, "--unshare-ipc", "--unshare-uts",
                        "--unshare-cgroup-try"]
        elif self.access.network:
            identity = ["--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
                        "--unshare-cgroup-try", "--disable-userns"]
        else:
            identity = ["--unshare-all", "--unshare-user", "--disable-userns"]
        return [
            self.bwrap, *identity,
            "--die-with-parent", "--new-session", "--clearenv",
            *self._system_binds,
            *self._access_binds(),
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
              avoid_hash_key: int | None = None) -> SandboxedProcess:
        # every bwrap guest starts an interpreter of its own: its hash key is its own
        entry = guest_entry(role)
        root = _uids.running_as_root()
        userns_fd = _uids.shared_userns() if root else None
        uid = _uids.allocate_uid() if root else None
        inside = f"{_SANDBOX_SCRIPT_DIR}/{os.path.basename(entry)}"
        argv = [interpreter().executable, "-I", "-S", "-B", inside]
        binds = ["--ro-bind", os.path.dirname(entry), _SANDBOX_SCRIPT_DIR]
        try:
            cmd = self.command(argv, work_dir_bytes=limits.work_dir_bytes, uid=uid,
                               userns_fd=userns_fd, extra_binds=binds)
        except BaseException:
            if uid is not None:
                _uids.release_uid(uid)
            raise
        setup = {
            # The sandbox's uid is its own (root) or lives in a user namespace of its own.
            "own_uid": True,
            "seccomp": seccomp.build(seccomp.FilterSpec(network=self.access.network)),
            # The seccomp filter keeps keys out of reach. In the user namespace the root
            # daemon's sandboxes share (nothing else runs there), each has a uid of its own.
            "shared_keyring": "any_uid" if userns_fd is not None else None,
            "import_paths": self._import_paths_inside(),
        }
        return start_guest(GuestStart(
            role=role, argv=cmd, limits=limits, setup=setup, backend=self.name,
            terminate=_terminate_bwrap, env={}, uid=uid,
            extra_fds=() if userns_fd is None else (userns_fd,),
            init_extra={"kill_scope": "all"},  # a pid namespace of its own
            on_ready=_note_bwrap_init,
        ))

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
    """Hold a pidfd on the namespace's init while bwrap's monitor is surely alive, and tell
    the reaper about it.

    The monitor may exit (and orphan its init) before we come to kill it, and a pidfd,
    unlike a pid, can never point at some unrelated process that reused the number.
    """
    init_pid = _bwrap_init_pid(proc.popen.pid)
    if init_pid is not None and proc.init_pidfd is None:
        with contextlib.suppress(OSError):
            proc.init_pidfd = os.pidfd_open(init_pid)
            watch(proc, init_pid)


def _terminate_bwrap(proc: SandboxedProcess) -> Callable[[], None]:
    """Kill the sandbox's pid-namespace init: the kernel then kills every process inside.

    Init only finishes dying once every other process of its namespace is gone, so when
    its pidfd turns readable nothing of the sandbox is left. Killing init (not bwrap's
    monitor) also lets the monitor reap it. The cgroup, the process group and
    --die-with-parent are backups. Returns the wait, so several sandboxes can be signalled
    before any is waited on.
    """
    popen = proc.popen
    monitor_alive = popen.returncode is None and popen.poll() is None
    if proc.init_pidfd is None and monitor_alive:
        _note_bwrap_init(proc)
    if proc.cgroup is not None:
        proc.cgroup.kill()
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
            finish(proc)

    return reap


def _wait_readable(fd: int, timeout: float) -> None:
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    poller.poll(timeout * 1000)


# --- rlimit only -----------------------------------------------------------------------------


class RlimitBackend:
    name = "rlimit"
    isolating = False

    def __init__(self, access: Access = NO_ACCESS) -> None:
        self.access = access

    def with_access(self, access: Access) -> RlimitBackend:
        return RlimitBackend(access)

    def warnings(self) -> list[str]:
        return _report_lines(self, [NOT_ISOLATED_WARNING])

    def spawn(self, role: str, *, limits: Limits,
              avoid_hash_key: int | None = None) -> SandboxedProcess:
        entry = guest_entry(role)
        uid = _uids.allocate_uid() if _uids.running_as_root() else None
        try:
            work_dir = make_work_dir(uid)
        except BaseException:
            if uid is not None:
                _uids.release_uid(uid)
            raise
        # As root the guest drops to `uid` itself at boot, before any untrusted code:
        # started directly as that uid it could not even reach an interpreter under a 0700
        # home. Not root: the process count of our own uid is shared, so the guest raises
        # RLIMIT_NPROC by what is already running.
        setup = {"own_uid": uid is not None, "uid": uid, "nproc_relative": uid is None,
                 "import_paths": list(self.access.import_paths)}
        return start_guest(GuestStart(
            role=role, argv=[interpreter().executable, "-I", "-S", "-B", entry], limits=limits,
            setup=setup, backend=self.name, terminate=_terminate_rlimit,
            env=self.access.environment(), cwd=work_dir, uid=uid, work_dir=work_dir,
            init_extra=({"kill_scope": "all"} if uid is not None
                        else {"nproc_relative": True, "kill_scope": "group"}),
            forkable=True, avoid_hash_key=avoid_hash_key,
        ))

    def probe(self) -> str | None:
        return None


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
    """Kill the process group, the cgroup, and everything of the sandbox's uid (root) or
    session.

    Without root or a cgroup there is no dedicated handle: a child that calls setsid() and
    forks leaves both the group and the session and survives. That residual risk is one
    reason this backend never counts as isolating.
    """
    kill_group(proc)
    if proc.cgroup is not None:
        proc.cgroup.kill()
    if proc.uid is not None:
        kill_uid(proc.uid)  # also empties the uid's keyrings (no seccomp filter here)
    elif proc.cgroup is None:
        for _ in range(5):
            members = _session_members(proc.popen.pid)
            if not members:
                break
            for pid in members:
                kill_quietly(pid)

    def reap() -> None:
        try:
            proc.popen.wait()
        finally:
            finish(proc)

    return reap


# --- choosing --------------------------------------------------------------------------------


def _make(name: str, access: Access) -> SandboxBackend:
    if name == "bwrap":
        return BwrapBackend(access=access)
    if name == "landlock":
        from toolforge.sandbox.landlock import LandlockBackend

        return LandlockBackend(access)
    return RlimitBackend(access)


_probes: dict[tuple[str, str], str | None] = {}


def probe(name: str) -> str | None:
    """Why backend `name` cannot run here (None: it can); remembered per binary."""
    backend = _make(name, NO_ACCESS)
    key = (name, getattr(backend, "bwrap", ""))
    if key not in _probes:
        _probes[key] = backend.probe()
    return _probes[key]


def available_backends() -> list[str]:
    """Backends that work on this machine, most isolating first."""
    return [name for name in BACKEND_NAMES if probe(name) is None]


def auto_choice() -> tuple[str, str]:
    """The backend "auto" picks here, and why in one sentence."""
    bwrap = probe("bwrap")
    if bwrap is None:
        return "bwrap", "bubblewrap works (user namespaces are available)"
    landlock = probe("landlock")
    if landlock is None:
        return "landlock", (f"bubblewrap is not usable ({bwrap}); Landlock and seccomp are, "
                            "so the landlock backend isolates without namespaces")
    return "rlimit", (f"bubblewrap is not usable ({bwrap}) and neither is landlock "
                      f"({landlock}); the rlimit backend does NOT isolate network or "
                      "filesystem")


def select_backend(name: str | None = None, *, access: Access = NO_ACCESS) -> SandboxBackend:
    """The backend called `name`; None or "auto" (or $TOOLFORGE_SANDBOX) picks the best.

    "auto" takes bwrap where user namespaces work, else landlock where Landlock and seccomp
    work, else falls back to rlimit with a loud warning; asking for a backend by name when
    it does not work is an error, never a silent downgrade.
    """
    wanted = (name or os.environ.get(ENV_VAR) or _AUTO).strip().lower()
    if wanted == _AUTO:
        chosen, why = auto_choice()
        if chosen == "rlimit":
            message = f"sandbox: {why}; falling back to it"
            warnings.warn(message, RuntimeWarning, stacklevel=2)
            log.warning(message)
        return _make(chosen, access)
    if wanted not in BACKEND_NAMES:
        raise BackendUnavailableError(
            f"unknown sandbox backend {wanted!r}",
            hint=f"use one of: auto, {', '.join(BACKEND_NAMES)}",
        )
    problem = probe(wanted)
    if problem is not None:
        fixes = {
            "bwrap": "apt-get install bubblewrap (and allow unprivileged user namespaces: "
            "see docs/security.md for Ubuntu >= 24.04), or choose the landlock backend "
            "(TOOLFORGE_SANDBOX=landlock, or backend = \"landlock\" under [sandbox])",
            "landlock": "needs Linux >= 5.13 with Landlock enabled (lsm=landlock) and "
            "libseccomp (apt-get install libseccomp2); or choose bwrap "
            "(TOOLFORGE_SANDBOX=bwrap)",
        }
        raise BackendUnavailableError(
            f"sandbox backend {wanted!r} is not usable here: {problem}",
            hint=fixes.get(wanted, "choose another backend (TOOLFORGE_SANDBOX=auto)"),
        )
    return _make(wanted, access)

