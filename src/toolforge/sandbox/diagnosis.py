"""`diagnose()`: what each sandbox backend needs, what this machine has, and what "auto"
picks and why, as plain JSON-ready data with a fix for every problem (`toolforge doctor`
renders it).

Light to import (no pydantic); calling it runs the backends' probes (a bwrap start and a
confined guest start, tens of milliseconds, remembered per process) and one `unshare`
probe in a child process.
"""

from __future__ import annotations

import os
import subprocess
from typing import Any

from toolforge.sandbox import _uids, seccomp
from toolforge.sandbox.backends import (
    BACKEND_NAMES,
    ENV_VAR,
    NOT_ISOLATED_WARNING,
    BwrapBackend,
    auto_choice,
    interpreter,
    probe,
)
from toolforge.sandbox.cgroup import support as cgroup_support
from toolforge.sandbox.landlock import SCOPES_SINCE_ABI, TCP_SINCE_ABI, LandlockBackend, abi
from toolforge.sandbox.landlock import abi_problem as landlock_problem

_SYSCTLS = {
    "apparmor_restrict_unprivileged_userns":
        "/proc/sys/kernel/apparmor_restrict_unprivileged_userns",
    "unprivileged_userns_clone": "/proc/sys/kernel/unprivileged_userns_clone",
    "max_user_namespaces": "/proc/sys/user/max_user_namespaces",
}  # fmt: skip
_APPARMOR_FIX = (
    "allow bubblewrap to create user namespaces: an AppArmor profile for it "
    "(see docs/security.md), or `sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`;"
    " or use the landlock backend, which needs no user namespace"
)
ISOLATES = {
    "bwrap": {
        "filesystem_read": "only the interpreter, its stdlib and system libraries (read-only "
                           "binds; site-packages hidden)",
        "filesystem_write": "a private size-capped tmpfs work dir only",
        "network": "none (own network namespace) unless the policy allows it",
        "other_processes": "invisible (own pid namespace); own uid",
        "kernel_surface": "seccomp filter; nested user namespaces disabled",
        "resources": "rlimits per process; cgroup memory/pids per sandbox where available",
        "needs": "bubblewrap and user namespaces",
    },
    "landlock": {
        "filesystem_read": "only the stdlib (site-packages hidden), system libraries, time "
                           "zones and a few devices (Landlock)",
        "filesystem_write": "a private work dir only (Landlock)",
        "network": f"no sockets but connected Unix pairs (seccomp); TCP also denied by "
                   f"Landlock ABI >= {TCP_SINCE_ABI}",
        "other_processes": f"no ptrace, /proc, process_vm or pidfd; signals and abstract "
                           f"sockets scoped by Landlock ABI >= {SCOPES_SINCE_ABI}; own uid "
                           "when root",
        "kernel_surface": "seccomp filter (no exec, mount, namespaces, keyrings, bpf, "
                          "io_uring, perf, userfaultfd, SysV/POSIX IPC)",
        "resources": "rlimits per process; cgroup memory/pids per sandbox where available",
        "needs": "Landlock (Linux >= 5.13, ABI >= 1), seccomp-BPF and libseccomp",
    },
    "rlimit": {
        "filesystem_read": "NOT isolated",
        "filesystem_write": "NOT isolated (a private cwd only)",
        "network": "NOT isolated",
        "other_processes": "own uid when root; NOT isolated otherwise",
        "kernel_surface": "NOT reduced",
        "resources": "rlimits per process; cgroup memory/pids per sandbox where available",
        "needs": "nothing",
    },
}  # fmt: skip


def _read(path: str) -> int | None:
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def _in_container() -> bool:
    if os.path.exists("/.dockerenv") or os.path.exists("/run/.containerenv"):
        return True
    try:
        with open("/proc/1/cgroup") as f:
            text = f.read()
    except OSError:
        return False
    return any(word in text for word in ("docker", "containerd", "kubepods", "libpod"))


def user_namespaces() -> dict[str, Any]:
    """Whether this process can create a user namespace, and the settings that decide it."""
    sysctls = {name: _read(path) for name, path in _SYSCTLS.items()}
    code = ("import ctypes, sys\nlibc = ctypes.CDLL(None, use_errno=True)\n"
            "sys.exit(0 if libc.unshare(0x10000000) == 0 else ctypes.get_errno())")
    try:
        done = subprocess.run([interpreter().executable, "-I", "-S", "-c", code], env={},
                              capture_output=True, timeout=20, stdin=subprocess.DEVNULL)
        works, errno_ = done.returncode == 0, done.returncode
    except (OSError, subprocess.SubprocessError):
        works, errno_ = False, None
    reason = fix = None
    if not works:
        reason = f"unshare(CLONE_NEWUSER) failed ({os.strerror(errno_) if errno_ else 'no answer'})"
        if sysctls["apparmor_restrict_unprivileged_userns"] == 1 and not _uids.running_as_root():
            reason += "; AppArmor restricts unprivileged user namespaces (Ubuntu >= 24.04)"
            fix = _APPARMOR_FIX
        elif sysctls["unprivileged_userns_clone"] == 0:
            fix = "`sudo sysctl -w kernel.unprivileged_userns_clone=1`, or use landlock"
        elif sysctls["max_user_namespaces"] == 0:
            fix = "`sudo sysctl -w user.max_user_namespaces=15000`, or use landlock"
        elif _in_container():
            reason += "; in a container whose seccomp profile blocks it (Docker's default)"
            fix = ("run the container with a seccomp profile that allows unshare, or use "
                   "the landlock backend")
        else:
            fix = "use the landlock backend"
    return {"works": works, "reason": reason, "fix": fix, "sysctls": sysctls,
            "in_container": _in_container()}


def _fix(name: str, problem: str, userns: dict[str, Any]) -> str:
    if name == "bwrap":
        if "not found" in problem:
            return "sudo apt-get install -y bubblewrap"
        return userns.get("fix") or "check `bwrap --unshare-all true`; or use landlock"
    if name == "landlock":
        if "libseccomp" in problem or "pyseccomp" in problem:
            return "sudo apt-get install -y libseccomp2 (and reinstall toolforge)"
        if "Landlock" in problem:
            return ("a kernel with Landlock enabled (Linux >= 5.13, `lsm=...,landlock` on the "
                    "kernel command line); or bubblewrap with user namespaces")
        return "see the reason; or use bubblewrap"
    return ""


def diagnose() -> dict[str, Any]:
    """Per-backend availability with reasons and fixes, the chosen backend and why, user
    namespaces (incl. AppArmor's restriction), Landlock, seccomp and cgroups."""
    userns = user_namespaces()
    level = abi()
    cgroups = cgroup_support()
    backends: dict[str, Any] = {}
    for name in BACKEND_NAMES:
        problem = probe(name)
        gaps: list[str] = []
        if name == "landlock":
            gaps = LandlockBackend().gaps()
        elif name == "rlimit":
            gaps = [NOT_ISOLATED_WARNING]
        backends[name] = {
            "available": problem is None,
            "reason": problem,
            "fix": _fix(name, problem, userns) if problem else None,
            "isolating": name != "rlimit",
            "isolates": ISOLATES[name],
            "not_isolated": gaps + cgroups.unbounded(),
        }
    backends["bwrap"]["binary"] = BwrapBackend().bwrap
    chosen, why = auto_choice()
    forced = os.environ.get(ENV_VAR)
    return {
        "chosen": chosen,
        "why": why,
        "forced_by_environment": {ENV_VAR: forced} if forced else None,
        "root": _uids.running_as_root(),
        "backends": backends,
        "user_namespaces": userns,
        "landlock": {"abi": level, "available": level >= 1, "reason": landlock_problem(),
                     "denies_tcp": level >= TCP_SINCE_ABI,
                     "scopes_signals_and_abstract_sockets": level >= SCOPES_SINCE_ABI},
        "seccomp": _seccomp(),
        "cgroups": {**cgroups.describe(), "not_bounded": cgroups.unbounded()},
    }


def _seccomp() -> dict[str, Any]:
    kernel = seccomp.kernel_supports_seccomp()
    version = seccomp.libseccomp_version()
    reason = kernel
    if reason is None and version is None:
        try:
            seccomp.build(seccomp.FilterSpec())
        except seccomp.SeccompUnavailableError as exc:
            reason = str(exc)
    return {"available": reason is None, "reason": reason, "libseccomp": version,
            "fix": "sudo apt-get install -y libseccomp2" if version is None else None}
