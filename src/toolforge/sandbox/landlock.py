"""The `landlock` backend: isolation without user namespaces and without root.

For machines where bubblewrap cannot run (Ubuntu >= 24.04 restricts unprivileged user
namespaces through AppArmor, Docker's default seccomp profile forbids them), in the manner
of Codex CLI and sandlock. The guest confines itself at boot, before it says "ready" and so
before any untrusted code exists (guest/confine.py):

- no_new_privs; as root, first a drop to the sandbox's own unprivileged uid;
- a Landlock ruleset: read-only the interpreter's stdlib (its site-packages hidden), the
  system libraries, time zones and a few devices; read-write one private work dir; nothing
  else: not the library, $HOME, /tmp, /proc, /sys or the daemon's runtime dir. ABI >= 4 also
  denies TCP bind/connect, ABI >= 6 scopes abstract Unix sockets and signals to the sandbox;
- a seccomp filter (sandbox/seccomp.py): no sockets at all (only connected Unix socketpairs),
  no connect/bind, no exec, no ptrace/process_vm/pidfd, no mount/namespaces, no keyrings,
  no bpf/io_uring/perf/userfaultfd, no System V or POSIX IPC, no setsid/setpgid (so the
  process group holds every process), new syscalls ENOSYS;
- rlimits from the job's init frame, per-sandbox cgroups where available, a clean
  environment, a new session, the parent-death signal, and the reaper.

The ctypes layer is ours (guest/confine.py) rather than PyPI's `landlock` package, which
handles the filesystem only (no TCP rules, no scopes) and runs inside no sandbox anyway: the
guest sees no third-party package. See docs/architecture.md.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import os
import select
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from toolforge.sandbox import _uids, seccomp
from toolforge.sandbox.access import NETWORK_FILES, NO_ACCESS, Access
from toolforge.sandbox.cgroup import support as cgroup_support
from toolforge.sandbox.sandboxed import SandboxedProcess
from toolforge.sandbox.spawning import (
    GuestStart,
    finish,
    guest_entry,
    interpreter,
    kill_cgroup_or_uid,
    kill_group,
    make_work_dir,
    start_guest,
)

if TYPE_CHECKING:
    from toolforge.sandbox.limits import Limits

_SYS_LANDLOCK_CREATE_RULESET = 444
_CREATE_RULESET_VERSION = 1
TCP_SINCE_ABI = 4
SCOPES_SINCE_ABI = 6
_SYSTEM_LIBS = ("/usr/lib", "/usr/lib64", "/usr/lib32", "/lib", "/lib64", "/lib32", "/libx32")
_READ_ONLY = ("/usr/share/zoneinfo", "/etc/ld.so.cache")
_DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")


def abi() -> int:
    """The kernel's Landlock ABI version (0: no Landlock)."""
    return _abi()[0]


def abi_problem() -> str | None:
    """Why Landlock cannot be used here, or None."""
    return _abi()[1]


@functools.cache
def _abi() -> tuple[int, str | None]:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    version = libc.syscall(_SYS_LANDLOCK_CREATE_RULESET, None, 0, _CREATE_RULESET_VERSION)
    if version > 0:
        return int(version), None
    err = ctypes.get_errno()
    if err == errno.ENOSYS:
        return 0, "the kernel has no Landlock (Linux >= 5.13 with CONFIG_SECURITY_LANDLOCK)"
    if err == errno.EOPNOTSUPP:
        return 0, "Landlock is disabled at boot (add landlock to the lsm= kernel parameter)"
    return 0, f"landlock_create_ruleset failed: {os.strerror(err)}"


def _split(path: str, hidden: tuple[str, ...]) -> list[list[str]]:
    """Rules giving read access to `path` except the `hidden` paths below it.

    Landlock rules only add access, so a directory holding a hidden one is listed but not
    read, and each of its other entries gets a rule of its own (recursively).
    """
    inside = [h for h in hidden if h.startswith(path.rstrip("/") + "/")]
    if not inside:
        return [[path, "ro"]]
    rules = [[path, "list"]]
    try:
        entries = sorted(os.listdir(path))
    except OSError:
        return []
    for name in entries:
        child = os.path.join(path, name)
        if child not in hidden:
            rules += _split(child, hidden)
    return rules


@functools.cache
def ruleset_paths(access: Access) -> tuple[tuple[str, str], ...]:
    """Every path a landlock sandbox may reach but its work dir, with the kind of access."""
    py = interpreter()
    hidden = tuple(h for h in py.hidden if h not in access.import_paths)
    roots: list[str] = []
    for path in (py.stdlib, *_SYSTEM_LIBS, *_READ_ONLY):
        real = os.path.realpath(path)
        if os.path.exists(real) and real not in roots:
            roots.append(real)
    rules: list[list[str]] = []
    for root in roots:
        rules += _split(root, hidden)
    rules += [[path, "ro"] for path in access.import_paths]
    if access.network:
        rules += [[path, "ro"] for path in NETWORK_FILES if os.path.exists(path)]
    rules += [[path, "dev"] for path in _DEVICES if os.path.exists(path)]
    return tuple((path, kind) for path, kind in rules)


class LandlockBackend:
    name = "landlock"
    isolating = True

    def __init__(self, access: Access = NO_ACCESS) -> None:
        self.access = access

    def with_access(self, access: Access) -> LandlockBackend:
        return LandlockBackend(access)

    def gaps(self) -> list[str]:
        """What this backend does not isolate on this kernel, in words for reports."""
        level = abi()
        said = []
        if level < TCP_SINCE_ABI:
            said.append(f"landlock: Landlock ABI {level} < {TCP_SINCE_ABI} cannot deny TCP; "
                        "the seccomp filter refuses sockets instead")
        if level < SCOPES_SINCE_ABI:
            said.append(
                f"landlock: Landlock ABI {level} < {SCOPES_SINCE_ABI} does not scope abstract "
                "Unix sockets and signals; seccomp refuses connect()"
                + ("" if _uids.running_as_root() else
                   " and every signal except to the sandbox's own process group"))
        said.append("landlock: no pid/IPC/UTS namespaces: other processes' ids and owners "
                    "can be probed (their /proc entries stay unreadable), and the hostname "
                    "is the host's")
        if not _uids.running_as_root():
            said.append("landlock: not root, so the sandbox runs as the daemon's own uid "
                        "(Landlock, seccomp and rlimits are what separate them)")
        return said

    def warnings(self) -> list[str]:
        return [*self.gaps(), *cgroup_support().unbounded(), *self.access.statements()]

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
        spec = seccomp.FilterSpec(network=self.access.network, keep_group=True,
                                  scope_signals=abi() < SCOPES_SINCE_ABI and uid is None)
        setup = {
            "own_uid": uid is not None,
            "uid": uid,
            "nproc_relative": uid is None,
            "landlock": {"paths": [*ruleset_paths(self.access), (work_dir, "rw")],
                         "deny_tcp": not self.access.network},
            "seccomp": seccomp.build(spec),
            # The seccomp filter keeps keys out of reach; the guest joins while it is still
            # root (or the daemon's own uid), the owner of the keyring it shares.
            "shared_keyring": "owner",
            "import_paths": list(self.access.import_paths),
            "pdeathsig": os.getpid(),
        }
        return start_guest(GuestStart(
            role=role, argv=[interpreter().executable, "-I", "-S", "-B", entry], limits=limits,
            setup=setup, backend=self.name, terminate=_terminate_landlock,
            env={"TMPDIR": work_dir, **self.access.environment()}, cwd=work_dir, uid=uid,
            work_dir=work_dir,
            init_extra=({"kill_scope": "all"} if uid is not None
                        else {"nproc_relative": True, "kill_scope": "group"}),
            forkable=True, avoid_hash_key=avoid_hash_key,
        ))

    def probe(self) -> str | None:
        """None if a confined guest boots here, else why not."""
        if abi_problem() is not None:
            return abi_problem()
        problem = seccomp.kernel_supports_seccomp()
        if problem is not None:
            return problem
        try:
            seccomp.build(seccomp.FilterSpec(keep_group=True))
        except (seccomp.SeccompUnavailableError, OSError) as exc:
            return f"cannot build the seccomp filter: {exc}"
        from toolforge.sandbox.limits import Limits

        try:
            proc = self.spawn("worker", limits=Limits())
        except OSError as exc:
            return f"cannot start a confined interpreter: {exc}"
        try:
            if proc.wait_ready(time.monotonic() + 20):
                return None
            lines = proc.take_output().strip().splitlines()
            return f"a confined interpreter did not start: {lines[-1] if lines else 'no output'}"
        finally:
            proc.kill()


def _terminate_landlock(proc: SandboxedProcess) -> Callable[[], None]:
    """Kill the sandbox's process group (setsid/setpgid are refused, so the group holds
    every process of the sandbox), and its cgroup or uid where it has one."""
    kill_group(proc)
    kill_cgroup_or_uid(proc)

    def reap() -> None:
        try:
            popen = proc.popen
            if popen.returncode is None:
                # Wait for the leader without reaping it: while it is a zombie its pid (the
                # group id) cannot be reused, so a second group kill is safe and catches a
                # child forked while the first one was being delivered.
                with contextlib.suppress(OSError):
                    pidfd = os.pidfd_open(popen.pid)
                    try:
                        poller = select.poll()
                        poller.register(pidfd, select.POLLIN)
                        poller.poll(2000)
                    finally:
                        os.close(pidfd)
                kill_group(proc)
            popen.wait()
        finally:
            finish(proc)

    return reap
