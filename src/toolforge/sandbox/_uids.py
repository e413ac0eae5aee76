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
import socket
import threading

_UID_LOW = 1_000_000_000
_UID_SPAN = 1_000_000_000
# Sandboxes take their uids in turn from this many. Every uid that ever ran gets two user
# keyrings that the kernel keeps for as long as its user namespace lives (the host's: until
# reboot), and each sandbox's exit makes the kernel's key collector walk every key there
# is: a fresh uid per sandbox made that walk, and the keys, grow without bound. In turn,
# not lowest first: a uid comes back thousands of sandboxes later, when nothing of its last
# sandbox can still count against its per-user limits (processes, inotify, pipes).
_UID_POOL = 4096
_CLONE_NEWUSER = 0x10000000

_lock = threading.Lock()
_in_use: dict[int, socket.socket] = {}
_next = [secrets.randbelow(_UID_POOL)]  # daemons start at different places in the pool
_fork_lock = threading.Lock()


def running_as_root() -> bool:
    return os.geteuid() == 0


class NoFreeUidError(OSError):
    """Every sandbox uid of the pool is in use on this machine."""


def allocate_uid() -> int:
    """A uid that no other sandbox on this machine runs as, until `release_uid`.

    The claim is an abstract Unix socket bound under the uid's name: the kernel refuses a
    second bind, from any process of this network namespace, and frees the name when the
    claimer dies, so other daemons see the claim and a killed one leaves none behind. The
    uid's previous sandbox is gone by then (its processes were killed through their cgroup
    or uid before the release) and it empties the uid's keyrings at boot.
    """
    with _lock:
        for step in range(_UID_POOL):
            uid = _UID_LOW + (_next[0] + step) % _UID_POOL
            if uid in _in_use:
                continue
            claim = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
            try:
                claim.bind(f"\0toolforge-sandbox-uid-{uid}")
            except OSError:
                claim.close()  # another process's sandbox runs as this uid
                continue
            _in_use[uid] = claim
            _next[0] = (uid - _UID_LOW + 1) % _UID_POOL
            return uid
    raise NoFreeUidError(f"all {_UID_POOL} sandbox uids are in use on this machine")


def release_uid(uid: int) -> None:
    with _lock:
        claim = _in_use.pop(uid, None)
    if claim is not None:
        claim.close()


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
