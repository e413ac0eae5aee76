"""What the sandbox can do on this machine, which backend will run, and the one command that
makes an isolating backend work when none does.

The machine facts come from `toolforge.sandbox.diagnose()` (the sandbox package's own
probes: per-backend availability, Landlock ABI, seccomp, cgroups, user namespaces); this
module adds what doctor and the demo's pre-flight need on top: the bubblewrap binary's
version and setuid bit, and the fix to print. The backend decision goes through
`select_backend`, the function validation uses, so "which backend will be used" can never
disagree with what runs.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import subprocess
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

USERNS_SYSCTLS = {
    "max_user_namespaces": "/proc/sys/user/max_user_namespaces",
    # Debian and older Ubuntu: 0 forbids unprivileged user namespaces.
    "unprivileged_userns_clone": "/proc/sys/kernel/unprivileged_userns_clone",
    # Ubuntu >= 23.10/24.04: 1 denies them to programs without an AppArmor profile allowing it.
    "apparmor_restrict_unprivileged_userns":
        "/proc/sys/kernel/apparmor_restrict_unprivileged_userns",
}


@dataclass(frozen=True)
class SandboxFacts:
    """Everything doctor and the demo's pre-flight say about the sandbox."""

    requested: str  # the effective setting: "auto" or a backend name
    requested_by: str  # where that came from
    chosen: str | None  # the backend that will run; None when the requested one cannot
    isolating: bool  # whether `chosen` isolates network and filesystem
    why: str
    available: list[str]  # backends that work here, most isolating first
    problem: str | None  # why the requested backend cannot run, when it cannot
    bwrap_path: str | None
    bwrap_version: str | None
    bwrap_setuid: bool
    bwrap_problem: str | None  # None: a sandboxed interpreter starts under bubblewrap
    running_as_root: bool
    userns: dict[str, int | None] = field(default_factory=dict)
    landlock_abi: int | None = None
    seccomp: bool = False
    cgroup: str = "none"  # which cgroup version bounds memory: "v2", "v1" or "none"
    cgroup_memory: bool = False  # a memory controller this user can use
    # Per backend: available, reason, fix, isolates {...}, not_isolated [...].
    backends: dict[str, Any] = field(default_factory=dict)
    not_isolated: list[str] = field(default_factory=list)  # gaps of the chosen backend


def sandbox_facts(requested: str = "auto", requested_by: str = "default") -> SandboxFacts:
    """Probe the machine and decide the backend exactly as validation will."""
    from toolforge.sandbox import diagnose
    from toolforge.sandbox.backends import (
        BackendUnavailableError,
        BwrapBackend,
        available_backends,
        select_backend,
    )

    diagnosis = diagnose()
    bwrap = BwrapBackend()
    path = bwrap.bwrap if os.access(bwrap.bwrap, os.X_OK) else None
    bwrap_problem = diagnosis["backends"]["bwrap"]["reason"]
    available = available_backends()
    memory = diagnosis["cgroups"]["memory"]
    cgroup_memory = bool(memory["available"])
    cgroup = f"v{memory['version']}" if cgroup_memory and memory.get("version") else "none"
    chosen: str | None = None
    isolating = False
    problem: str | None = None
    chooser_log = logging.getLogger(select_backend.__module__)
    was_disabled, chooser_log.disabled = chooser_log.disabled, True
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the fallback warning is what we explain here
            backend = select_backend(requested)
            chosen, isolating = backend.name, backend.isolating
    except BackendUnavailableError as exc:
        problem = exc.message
    finally:
        chooser_log.disabled = was_disabled
    if requested == "auto":
        why = (f"auto: {chosen}, the most isolating backend that works here "
               f"({diagnosis['why']})" if isolating
               else f"auto: no isolating backend works here, so {chosen} ({diagnosis['why']})")
    elif chosen is not None:
        why = f"{chosen}, as chosen by {requested_by}"
    else:
        why = f"{requested} (chosen by {requested_by}) cannot run here"
    return SandboxFacts(
        requested=requested, requested_by=requested_by, chosen=chosen, isolating=isolating,
        why=why, available=available, problem=problem, bwrap_path=path,
        bwrap_version=_bwrap_version(path), bwrap_setuid=_setuid(path),
        bwrap_problem=bwrap_problem, running_as_root=os.geteuid() == 0,
        userns={name: _read_int(p) for name, p in USERNS_SYSCTLS.items()},
        landlock_abi=diagnosis["landlock"]["abi"] or None,
        seccomp=bool(diagnosis["seccomp"]["available"]), cgroup=cgroup,
        cgroup_memory=cgroup_memory, backends=diagnosis["backends"],
        not_isolated=list(diagnosis["backends"][chosen]["not_isolated"]) if chosen else [])


def isolation_fix(facts: SandboxFacts, user_config: Path) -> str:
    """The one command that gives this machine an isolating backend (bubblewrap), or the
    setting to change when one works but was not chosen, or, when nothing can be fixed
    from inside (a container without user namespaces...), the user-side opt-out."""
    isolating_here = [b for b in facts.available if b != "rlimit"]
    # Only a non-isolating choice is "fixed" by choosing another backend; a named isolating
    # backend that cannot run here is fixed by making it run (bubblewrap below).
    if isolating_here and facts.requested == "rlimit":
        if facts.requested_by.startswith("env "):
            return f"unset {facts.requested_by.removeprefix('env ')}  (it asks for " \
                   f"{facts.requested!r}; {isolating_here[0]} works here)"
        return (f'set backend = "auto" under [sandbox] in {user_config} (now '
                f"{facts.requested!r}; {isolating_here[0]} works here)")
    if facts.bwrap_path is None:
        return "sudo apt-get install -y bubblewrap"
    if not facts.running_as_root and not facts.bwrap_setuid:
        if facts.userns.get("apparmor_restrict_unprivileged_userns") == 1:
            real = os.path.realpath(facts.bwrap_path)
            profile = "/etc/apparmor.d/toolforge-bwrap"
            body = (f"abi <abi/4.0>,\\ninclude <tunables/global>\\nprofile toolforge-bwrap "
                    f"{real} flags=(unconfined) {{\\n  userns,\\n}}\\n")
            return (f"printf '{body}' | sudo tee {profile} >/dev/null && "
                    f"sudo apparmor_parser -r {profile}")
        if facts.userns.get("unprivileged_userns_clone") == 0:
            return _persist_sysctl("kernel.unprivileged_userns_clone=1")
        if facts.userns.get("max_user_namespaces") == 0:
            return _persist_sysctl("user.max_user_namespaces=15000")
    problem = facts.bwrap_problem or facts.problem or "no isolating backend starts"
    return (f"no command can fix this machine ({problem}); to accept validation without "
            f"isolation, set allow_unisolated = true under [sandbox] in {user_config}")


def _persist_sysctl(setting: str) -> str:
    return (f"echo {setting} | sudo tee /etc/sysctl.d/60-toolforge-userns.conf >/dev/null "
            "&& sudo sysctl --system")


def _read_int(path: str) -> int | None:
    try:
        return int(Path(path).read_text().strip())
    except (OSError, ValueError):
        return None


def _bwrap_version(path: str | None) -> str | None:
    if path is None:
        return None
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10,
                             stdin=subprocess.DEVNULL).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r"\d+(\.\d+)+", out)
    return found.group(0) if found else None


def _setuid(path: str | None) -> bool:
    try:
        return path is not None and bool(os.stat(path).st_mode & stat.S_ISUID)
    except OSError:
        return False
