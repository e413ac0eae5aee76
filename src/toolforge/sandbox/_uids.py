"""Unprivileged identities for sandboxes started by root.

The kernel never applies RLIMIT_NPROC to the host's uid 0, not even inside a user
namespace where it is mapped to another uid (measured on this kind of machine). So when the
daemon runs as root, every sandbox runs as its own unprivileged uid, picked at random from a
range no real account uses. One uid per live sandbox also means the process limit counts only
that sandbox's processes and "every process of this uid" is exactly the sandbox (the rlimit
backend kills by uid for that reason).

For bubblewrap, root hands bwrap a user namespace made here (`--userns`) that maps the
sandbox uid range to itself and the host's root to uid 1. bwrap needs the second mapping to
reach an interpreter under a 0700 directory such as /root/.pyenv while it sets up the
mounts; the sandboxed process itself runs as its sandbox uid with no capabilities,
`no_new_privs`, and only nosuid mounts, so it cannot use that mapping. (bwrap's own
`--unshare-user --uid N` would map N to the caller's uid, i.e. to root: exempt again.)
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import secrets
import threading

_UID_LOW = 1_000_000_000
_UID_SPAN = 1_000_000_000
_CLONE_NEWUSER = 0x10000000

_lock = threading.Lock()
_in_use: set[int] = set()
_fork_lock = threading.Lock()


def running_as_root() -> bool:
    return os.geteuid() == 0


def allocate_uid() -> int:
    """A fresh uid for one sandbox; random so that concurrent daemons rarely collide."""
    with _lock:
        while True:
            uid = _UID_LOW + secrets.randbelow(_UID_SPAN)
            if uid not in _in_use:
                _in_use.add(uid)
                return uid


def release_uid(uid: int) -> None:
    with _lock:
        _in_use.discard(uid)


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def make_userns(first_uid: int = _UID_LOW, count: int = _UID_SPAN) -> int:
    """Create a user namespace mapping [first_uid, first_uid+count) to itself and host root
    to 1, with nested user namespaces forbidden; return its fd.

    Python 3.11 has no os.unshare, so a short-lived forked child calls unshare(2) through
    ctypes and waits while we (root in the parent namespace) write its maps. The namespace
    lives on through the returned fd after the child exits.
    """
    unshare = _libc().unshare
    ready_r, ready_w = os.pipe2(os.O_CLOEXEC)
    done_r, done_w = os.pipe2(os.O_CLOEXEC)
    with _fork_lock:
        pid = os.fork()
    if pid == 0:  # pragma: no cover - child: a few syscalls, then _exit
        try:
            ok = unshare(_CLONE_NEWUSER) == 0
            os.write(ready_w, b"1" if ok else b"0")
            os.read(done_r, 1)  # the parent has written our maps
            # What bwrap's --disable-userns does (it refuses that flag with --userns): no
            # nested user namespaces, the usual first step of a kernel exploit.
            with open("/proc/sys/user/max_user_namespaces", "w") as f:
                f.write("0")
            os.write(ready_w, b"2")
            os.read(done_r, 1)
        finally:
            os._exit(0)
    try:
        os.close(ready_w)
        os.close(done_r)
        if os.read(ready_r, 1) != b"1":
            raise OSError("unshare(CLONE_NEWUSER) failed")
        mapping = f"1 0 1\n{first_uid} {first_uid} {count}\n"
        for name, value in (("uid_map", mapping), ("setgroups", "deny\n"), ("gid_map", mapping)):
            with open(f"/proc/{pid}/{name}", "w") as f:
                f.write(value)
        os.write(done_w, b"m")
        if os.read(ready_r, 1) != b"2":
            raise OSError("could not forbid nested user namespaces")
        return os.open(f"/proc/{pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
    finally:
        with contextlib.suppress(OSError):
            os.write(done_w, b"x")
        for fd in (ready_r, done_w):
            with contextlib.suppress(OSError):
                os.close(fd)
        os.waitpid(pid, 0)


_shared: dict[int, int] = {}


def shared_userns() -> int:
    """This process's user namespace for all its bwrap sandboxes (made once, ~4 ms).

    Sandboxes share it but never a uid: RLIMIT_NPROC is counted per (namespace, uid), so
    each sandbox's process limit counts only its own processes, and pid/ipc/net/mount
    namespaces keep them apart. Keyed by pid so that a forked child makes its own.
    """
    with _lock:
        fd = _shared.get(os.getpid())
        if fd is None:
            fd = _shared[os.getpid()] = make_userns()
        return fd
