"""The seccomp-BPF filter of isolating sandboxes, compiled here with libseccomp.

The parent compiles the filter (pyseccomp: ctypes bindings for libseccomp, API-compatible
with libseccomp's own Python module) and sends the BPF program in the sandbox's setup frame;
the guest only installs it (guest/confine.py), because inside the sandbox no third-party
package is visible. libseccomp does what is easy to get wrong by hand: syscall numbers per
architecture, 64-bit argument comparisons, and refusing x32 and i386 entry points (a foreign
architecture kills the process).

The filter allows by default and refuses (EPERM) what reaches outside the sandbox or widens
the kernel's attack surface; see `DENIED` for each syscall and why. Syscalls newer than the
ones reviewed here (numbers 447 and up, the same on x86_64 and aarch64) answer ENOSYS, so
that a kernel upgrade cannot silently open a door; glibc falls back from those as it must on
older kernels. `clone3` answers ENOSYS too (its flags sit behind a pointer the filter cannot
read; glibc then uses `clone`, whose namespace flags the filter can check).
"""

from __future__ import annotations

import errno
import functools
import os
from dataclasses import dataclass
from typing import Any

EPERM, ENOSYS = errno.EPERM, errno.ENOSYS

_PROCESSES = "it reaches other processes"
_NAMESPACES = "it changes mounts or namespaces (user namespaces are a favourite first step " \
    "of kernel exploits)"
_KERNEL = "it is kernel attack surface no tool needs"
_ADMIN = "it administers the machine"
_IPC = "System V / POSIX IPC objects are shared with the host outside an IPC namespace"

# Refused in every isolating sandbox, with the reason docs and `diagnose()` quote.
DENIED: dict[str, str] = {
    **dict.fromkeys(("ptrace", "process_vm_readv", "process_vm_writev", "process_madvise",
                     "kcmp", "pidfd_open", "pidfd_getfd", "pidfd_send_signal",
                     "get_robust_list", "migrate_pages", "move_pages"), _PROCESSES),
    **dict.fromkeys(("mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree",
                     "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr", "unshare",
                     "setns"), _NAMESPACES),
    **dict.fromkeys(("bpf", "perf_event_open", "userfaultfd", "io_uring_setup",
                     "io_uring_enter", "io_uring_register", "keyctl", "add_key", "request_key",
                     "personality", "modify_ldt", "vmsplice", "open_by_handle_at",
                     "name_to_handle_at", "lookup_dcookie", "uselib", "ustat", "sysfs",
                     "_sysctl", "fanotify_init"), _KERNEL),
    **dict.fromkeys(("kexec_load", "kexec_file_load", "init_module", "finit_module",
                     "delete_module", "create_module", "get_kernel_syms", "query_module",
                     "acct", "swapon", "swapoff", "reboot", "sethostname", "setdomainname",
                     "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "syslog",
                     "vhangup", "quotactl", "quotactl_fd", "nfsservctl", "iopl", "ioperm"),
                    _ADMIN),
    **dict.fromkeys(("shmget", "shmat", "shmdt", "shmctl", "msgget", "msgsnd", "msgrcv",
                     "msgctl", "semget", "semop", "semtimedop", "semctl", "mq_open",
                     "mq_unlink", "mq_timedsend", "mq_timedreceive", "mq_notify",
                     "mq_getsetattr"), _IPC),
    "truncate": "it cuts a file by path without opening it, which Landlock ABI < 3 cannot "
    "check (ftruncate on a file opened for writing still works)",
    "execve": "the sandbox never starts programs (this also closes memfd + execve)",
    "execveat": "the sandbox never starts programs (this also closes memfd + execve)",
}
# Refused unless the library's policy allows the network.
NETWORK: dict[str, str] = dict.fromkeys(
    ("connect", "bind", "listen", "accept", "accept4"), "no network without `allow_network`")
# Refused where the process group must hold every process of the sandbox (landlock).
SESSION: dict[str, str] = dict.fromkeys(
    ("setsid", "setpgid"), "the process group is how the sandbox is killed as a whole")
# Refused where neither Landlock (ABI < 6) nor a uid of its own scopes signals.
SIGNALS: dict[str, str] = dict.fromkeys(
    ("tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo"),
    "signals could reach processes outside the sandbox")

# With arguments (see `_add_argument_rules`): socket families and types, clone namespace
# flags, TIOCSTI/TIOCLINUX, F_SETOWN, and pid arguments other than 0 ("myself") for calls
# that change another process (prlimit64, setpriority, sched_set*, ioprio_set).
NEWEST_REVIEWED = 447
NEWER_ALLOWED = {449, 453, 454, 455, 456, 462}  # futex_waitv/wake/wait/requeue, shadow stack, mseal
_NEWER_UNTIL = 512  # x86_64 numbers from 512 are the x32 compat range (a foreign ABI here)

AF_UNIX, AF_INET, AF_INET6, AF_NETLINK = 1, 2, 10, 16
SOCK_STREAM, SOCK_SEQPACKET = 1, 5
_SOCK_TYPE_MASK = 0xF
_CLONE_NAMESPACES = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000,
                     0x40000000)  # NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET
_TIOCSTI, _TIOCLINUX = 0x5412, 0x541C
_F_SETOWN, _F_SETOWN_EX = 8, 15


class SeccompUnavailableError(Exception):
    """libseccomp (or its bindings) cannot be used here; the message says why."""


@dataclass(frozen=True)
class FilterSpec:
    network: bool = False  # AF_INET/AF_INET6 sockets, connect, bind, ...
    keep_group: bool = False  # refuse setsid/setpgid
    scope_signals: bool = False  # refuse signals except kill(0, ...) to the own group


def _bindings() -> Any:
    try:
        import pyseccomp
    except ImportError as exc:
        raise SeccompUnavailableError(f"pyseccomp is not installed ({exc})") from None
    except (OSError, RuntimeError) as exc:  # the package loads libseccomp at import
        raise SeccompUnavailableError(
            f"libseccomp could not be loaded ({exc}); install libseccomp2") from None
    return pyseccomp


def kernel_supports_seccomp() -> str | None:
    """None if this kernel filters syscalls with seccomp-BPF, else why not."""
    try:
        with open("/proc/self/status") as f:
            if not any(line.startswith("Seccomp:") for line in f):
                return "the kernel was built without seccomp (CONFIG_SECCOMP_FILTER)"
    except OSError as exc:
        return f"cannot read /proc/self/status: {exc}"
    return None


def libseccomp_version() -> str | None:
    try:
        sc = _bindings()
    except SeccompUnavailableError:
        return None
    import ctypes

    class _Version(ctypes.Structure):
        _fields_ = (("major", ctypes.c_uint), ("minor", ctypes.c_uint),
                    ("micro", ctypes.c_uint))

    try:
        function = sc._libseccomp.seccomp_version
        function.restype = ctypes.POINTER(_Version)
        version = function().contents
    except (AttributeError, ValueError):
        return "unknown"
    return f"{version.major}.{version.minor}.{version.micro}"


@functools.cache
def build(spec: FilterSpec) -> bytes:
    """The BPF program for `spec` (native architecture), ready for PR_SET_SECCOMP."""
    sc = _bindings()
    deny = sc.ERRNO(EPERM)
    flt = sc.SyscallFilter(sc.ALLOW)
    flt.set_attr(sc.Attr.CTL_OPTIMIZE, 2)  # a binary tree of syscall numbers, not a chain
    refused = {**DENIED, **({} if spec.network else NETWORK),
               **(SESSION if spec.keep_group else {}), **(SIGNALS if spec.scope_signals else {})}
    for name in refused:
        _add(sc, flt, deny, name)
    _add(sc, flt, sc.ERRNO(ENOSYS), "clone3")
    for number in range(NEWEST_REVIEWED, _NEWER_UNTIL):
        if number not in NEWER_ALLOWED:
            flt.add_rule(sc.ERRNO(ENOSYS), number)
    _add_argument_rules(sc, flt, deny, spec)
    return _export(flt)


def _add(sc: Any, flt: Any, action: int, name: str, *args: Any) -> None:
    number = sc.resolve_syscall(sc.Arch.NATIVE, name)
    if number < 0:
        return  # not a syscall on this architecture (e.g. _sysctl, uselib on aarch64)
    flt.add_rule(action, number, *args)


def _add_argument_rules(sc: Any, flt: Any, deny: int, spec: FilterSpec) -> None:
    a = sc.Arg
    # socket(): nothing without network; with it, TCP/UDP over IPv4/IPv6 and the routing
    # netlink socket getaddrinfo uses, never Unix sockets (they reach the daemon, docker,
    # D-Bus...), packet or raw sockets of other families.
    if not spec.network:
        _add(sc, flt, deny, "socket")
    else:
        # Families other than 2, 10 and 16, as ranges (one comparison per rule).
        _add(sc, flt, deny, "socket", a(0, sc.LT, AF_INET))
        for family in (*range(AF_INET + 1, AF_INET6), *range(AF_INET6 + 1, AF_NETLINK)):
            _add(sc, flt, deny, "socket", a(0, sc.EQ, family))
        _add(sc, flt, deny, "socket", a(0, sc.GT, AF_NETLINK))
        _add(sc, flt, deny, "socket", a(0, sc.EQ, AF_NETLINK), a(2, sc.NE, 0))
    # socketpair(): only connected Unix stream/seqpacket pairs, which reach nothing (a
    # datagram pair would let sendto() name any Unix socket on the machine).
    _add(sc, flt, deny, "socketpair", a(0, sc.NE, AF_UNIX))
    for kind in range(_SOCK_TYPE_MASK + 1):
        if kind not in (SOCK_STREAM, SOCK_SEQPACKET):
            _add(sc, flt, deny, "socketpair", a(1, sc.MASKED_EQ, _SOCK_TYPE_MASK, kind))
    for flag in _CLONE_NAMESPACES:
        _add(sc, flt, deny, "clone", a(0, sc.MASKED_EQ, flag, flag))
    for request in (_TIOCSTI, _TIOCLINUX):  # typing into a terminal
        _add(sc, flt, deny, "ioctl", a(1, sc.MASKED_EQ, 0xFFFFFFFF, request))
    for command in (_F_SETOWN, _F_SETOWN_EX):  # SIGIO sent to another process
        _add(sc, flt, deny, "fcntl", a(1, sc.EQ, command))
    for name, position in (("prlimit64", 0), ("setpriority", 1), ("sched_setaffinity", 0),
                           ("sched_setscheduler", 0), ("sched_setparam", 0),
                           ("sched_setattr", 0), ("ioprio_set", 1)):
        _add(sc, flt, deny, name, a(position, sc.NE, 0))
    if spec.scope_signals:
        _add(sc, flt, deny, "kill", a(0, sc.NE, 0))


def _export(flt: Any) -> bytes:
    fd = os.memfd_create("seccomp-bpf", os.MFD_CLOEXEC)
    try:
        with os.fdopen(fd, "w+b", closefd=False) as out:
            flt.export_bpf(out)
            out.seek(0)
            return out.read()
    finally:
        os.close(fd)


def refused_syscalls(spec: FilterSpec) -> dict[str, str]:
    """Every syscall the filter for `spec` refuses outright, with why (for reports/docs)."""
    return {**DENIED, **({} if spec.network else NETWORK),
            **(SESSION if spec.keep_group else {}), **(SIGNALS if spec.scope_signals else {})}
