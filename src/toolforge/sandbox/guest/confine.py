"""Confinement the guest applies to itself at boot, before it can receive any untrusted code.

The parent sends one "setup" frame right after starting the interpreter. This module acts on
it, in this order (each step needs the one before):

0. join the sandbox's cgroups (memory and process count for the whole tree, and the kill);
1. a session keyring of the sandboxes' own (keyrings are not namespaced by pid/net/mount
   namespaces): where the parent says they may share one, the fork server's (inherited)
   or the shared one, else a fresh one;
2. as root: open every path the sandbox may read (and the import path) while root can still
   reach it, then drop to the sandbox's own unprivileged uid, and empty that uid's user
   keyrings (never before the drop: they would be root's);
3. `no_new_privs`, then a Landlock ruleset (filesystem, TCP, abstract sockets and signals as
   far as the kernel's ABI goes), then a seccomp-BPF filter compiled by the parent.

Everything here is a small ctypes layer over prctl(2), landlock_*(2) and the BPF program the
parent built with libseccomp: the guest runs with `-I -S` and sees no third-party package.
It is built on `_ctypes`, the C module under the `ctypes` package, with the handful of types
it needs: `import ctypes` alone cost ~4 ms of CPU per sandbox start (three per validation).
A step that was asked for and fails is fatal (the sandbox exits before it says "ready").
"""

from __future__ import annotations

import _ctypes
import os
import stat
import sys

import wire

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_PDEATHSIG = 1
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2
_SIGKILL = 9

_KEYCTL = {"x86_64": 250, "aarch64": 219, "i686": 288, "i386": 288, "armv7l": 311}
_KEYCTL_JOIN_SESSION_KEYRING = 1
_KEYCTL_SETPERM = 5
_KEYCTL_CLEAR = 7
_KEY_SPEC_SESSION_KEYRING = -3
_KEY_SPEC_USER_KEYRING = -4
_KEY_SPEC_USER_SESSION_KEYRING = -5

# Landlock (include/uapi/linux/landlock.h); the syscall numbers are the same on every arch.
_SYS_CREATE_RULESET, _SYS_ADD_RULE, _SYS_RESTRICT_SELF = 444, 445, 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
FS = {
    "execute": 1 << 0, "write_file": 1 << 1, "read_file": 1 << 2, "read_dir": 1 << 3,
    "remove_dir": 1 << 4, "remove_file": 1 << 5, "make_char": 1 << 6, "make_dir": 1 << 7,
    "make_reg": 1 << 8, "make_sock": 1 << 9, "make_fifo": 1 << 10, "make_block": 1 << 11,
    "make_sym": 1 << 12, "refer": 1 << 13, "truncate": 1 << 14, "ioctl_dev": 1 << 15,
}  # fmt: skip
_FS_SINCE = {"refer": 2, "truncate": 3, "ioctl_dev": 5}
_FILE_RIGHTS = ("execute", "write_file", "read_file", "truncate", "ioctl_dev")
_NET_BIND_TCP, _NET_CONNECT_TCP = 1 << 0, 1 << 1
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1 << 0, 1 << 1
# What each kind of rule grants. Nothing grants execute (execve is refused by seccomp as
# well), make_sym (links planted for the parent to follow) or devices/fifos/sockets.
RIGHTS = {
    "ro": ("read_file", "read_dir"),
    "list": ("read_dir",),
    "dev": ("read_file", "write_file"),
    "rw": ("read_file", "read_dir", "write_file", "truncate", "make_reg", "make_dir",
           "remove_file", "remove_dir", "refer"),
}  # fmt: skip


class ConfineError(Exception):
    pass


# The C types used below, declared as the `ctypes` package declares them.
class _Long(_ctypes._SimpleCData):
    _type_ = "l"


class _Int(_ctypes._SimpleCData):
    _type_ = "i"


class _UInt64(_ctypes._SimpleCData):
    _type_ = "Q"


class _UShort(_ctypes._SimpleCData):
    _type_ = "H"


class _VoidP(_ctypes._SimpleCData):
    _type_ = "P"


class _Char(_ctypes._SimpleCData):
    _type_ = "c"


class _RulesetAttr(_ctypes.Structure):
    _fields_ = (("handled_access_fs", _UInt64), ("handled_access_net", _UInt64),
                ("scoped", _UInt64))


class _PathBeneath(_ctypes.Structure):
    _pack_ = 1  # the kernel's struct is __attribute__((packed))
    _fields_ = (("allowed_access", _UInt64), ("parent_fd", _Int))


class _SockFprog(_ctypes.Structure):
    _fields_ = (("len", _UShort), ("filter", _VoidP))


class _LongFunction(_ctypes.CFuncPtr):  # ctypes.CDLL(None, use_errno=True), restype c_long
    _flags_ = _ctypes.FUNCFLAG_CDECL | _ctypes.FUNCFLAG_USE_ERRNO
    _restype_ = _Long


class _IntFunction(_ctypes.CFuncPtr):  # ... and its default restype, c_int
    _flags_ = _ctypes.FUNCFLAG_CDECL | _ctypes.FUNCFLAG_USE_ERRNO
    _restype_ = _Int


class _Libc:
    """libc's `syscall` and `prctl`, as `ctypes.CDLL(None, use_errno=True)` has them."""

    def __init__(self) -> None:
        # the process's own symbols (RTLD_LOCAL); typeshed knows only named libraries
        self._handle = _ctypes.dlopen(None, 0)  # type: ignore[arg-type]
        # CFuncPtr looks the name up in `self._handle`, as it does for a ctypes.CDLL
        self.syscall = _LongFunction(("syscall", self))  # type: ignore[arg-type]
        self.prctl = _IntFunction(("prctl", self))  # type: ignore[arg-type]


_libc: _Libc | None = None


def _c() -> _Libc:
    global _libc
    if _libc is None:
        _libc = _Libc()
    return _libc


def _fail(what: str) -> ConfineError:
    err = _ctypes.get_errno()
    return ConfineError(f"{what}: {os.strerror(err)} (errno {err})")


# --- keyrings ----------------------------------------------------------------------------


def _keyctl() -> int:
    number = _KEYCTL.get(os.uname().machine)
    if number is None:
        raise ConfineError("unknown architecture, cannot isolate the keyrings")
    return number


# The session keyring that sandboxes share (see join_session_keyring).
SHARED_KEYRING = b"toolforge-sandboxes"
# Who may find it by name (and so join it): the possessor may do anything, and the owner
# ("owner") or every uid of the user namespace ("any_uid") may view, read and search it.
_SHARED_KEYRING_PERM = {"owner": 0x3F000000 | 0x000B0000,
                        "any_uid": 0x3F000000 | 0x000B0000 | 0x0000000B}


class _Keyring:
    # This process's session keyring is a fresh one its fork server joined for its children.
    inherited = False


def keep_session_keyring_for_children() -> None:
    """For the fork server: a fresh session keyring of its own, which the children it forks
    keep where they may share one (see join_session_keyring). Joining the shared keyring by
    name walks every named keyring of the user namespace (two per uid that ever ran), so
    an inherited one is the cheapest of all."""
    join_session_keyring()
    _Keyring.inherited = True


def join_session_keyring(shared: str | None = None) -> None:
    """Leave the parent's session keyring: keyrings are not covered by pid, net or mount
    namespaces, and without this the parent's (Kerberos tickets, fscrypt and cifs
    credentials) would be searchable from the sandbox.

    With `shared` ("owner" or "any_uid", see _SHARED_KEYRING_PERM), join the keyring that
    the sandboxes of this user namespace share rather than a fresh one. The parent asks for
    it only where the sandbox's seccomp filter denies keyctl, add_key and request_key, so
    that nothing in a sandbox can put a key in or read one out. The reason: each freed
    keyring makes the kernel's key collector walk every key on the machine (every uid that
    ever ran keeps two), so a keyring per sandbox cost every sandbox exit that walk. The
    shared one lives while any sandbox does."""
    perm = _SHARED_KEYRING_PERM.get(shared) if shared is not None else None
    if shared is not None and perm is None:
        raise ConfineError(f"unknown keyring sharing {shared!r}")
    name = SHARED_KEYRING if perm is not None else None
    if _c().syscall(_keyctl(), _KEYCTL_JOIN_SESSION_KEYRING, name) == -1:
        err = _ctypes.get_errno()
        # ENOSYS/EPERM/EACCES: keyrings are unavailable here, so nothing can be read either.
        if err not in (1, 13, 38):
            raise _fail("cannot isolate the session keyring")
        return
    # Only its creator may set the permissions (EACCES: another sandbox's uid made it, and
    # set them before anyone could find it).
    if perm is not None and _c().syscall(_keyctl(), _KEYCTL_SETPERM, _KEY_SPEC_SESSION_KEYRING,
                                         perm) == -1 and _ctypes.get_errno() != 13:
        raise _fail("cannot share the session keyring")


def clear_user_keyrings() -> None:
    """Empty the user and user-session keyrings of a uid that is the sandbox's own: keys an
    earlier sandbox of the same uid added must not be there for this one."""
    for ring in (_KEY_SPEC_USER_KEYRING, _KEY_SPEC_USER_SESSION_KEYRING):
        if _c().syscall(_keyctl(), _KEYCTL_CLEAR, ring) == -1 and _ctypes.get_errno() not in (
            1, 13, 38, 126,  # EKEYREVOKED etc.: there is nothing of ours to clear
        ):
            raise _fail("cannot clear the user keyring")


# --- landlock ----------------------------------------------------------------------------


def landlock_abi() -> int:
    """The kernel's Landlock ABI version, 0 when Landlock is missing or disabled."""
    abi = _c().syscall(_SYS_CREATE_RULESET, None, 0, _CREATE_RULESET_VERSION)
    return int(abi) if abi > 0 else 0


def _mask(names: tuple[str, ...], abi: int) -> int:
    return sum(FS[n] for n in names if abi >= _FS_SINCE.get(n, 1))


class Landlock:
    """Paths opened early (while still root), restricted later with `restrict()`."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.abi = landlock_abi()
        if self.abi < 1:
            raise ConfineError("Landlock is not available in this kernel")
        self.spec = spec
        self.rules: list[tuple[int, int]] = []  # (O_PATH fd, allowed access)
        handled = _mask(tuple(FS), self.abi)
        for path, kind in spec["paths"]:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except FileNotFoundError:
                continue  # optional paths (zoneinfo, /lib64...) that this machine lacks
            except OSError as exc:
                raise ConfineError(f"cannot open {path} for the ruleset: {exc}") from None
            rights = RIGHTS[kind]
            if not stat.S_ISDIR(os.fstat(fd).st_mode):
                rights = tuple(r for r in rights if r in _FILE_RIGHTS)
            access = _mask(rights, self.abi) & handled
            if access:
                self.rules.append((fd, access))
            else:
                os.close(fd)

    def restrict(self) -> None:
        libc = _c()
        attr = _RulesetAttr()
        attr.handled_access_fs = _mask(tuple(FS), self.abi)
        size = 8
        if self.abi >= 4:
            size = 16
            if self.spec.get("deny_tcp", True):
                attr.handled_access_net = _NET_BIND_TCP | _NET_CONNECT_TCP  # no rule: none
        if self.abi >= 6:
            size = 24
            attr.scoped = _SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL
        ruleset = libc.syscall(_SYS_CREATE_RULESET, _ctypes.byref(attr), size, 0)
        if ruleset < 0:
            raise _fail("landlock_create_ruleset")
        try:
            for fd, access in self.rules:
                rule = _PathBeneath(access, fd)
                if libc.syscall(_SYS_ADD_RULE, ruleset, _RULE_PATH_BENEATH, _ctypes.byref(rule),
                                0) != 0:
                    raise _fail(f"landlock_add_rule for {os.readlink(f'/proc/self/fd/{fd}')}")
            if libc.syscall(_SYS_RESTRICT_SELF, ruleset, 0) != 0:
                raise _fail("landlock_restrict_self")
        finally:
            os.close(ruleset)
            for fd, _access in self.rules:
                os.close(fd)
            self.rules = []


# --- seccomp -----------------------------------------------------------------------------


def load_seccomp(program: bytes) -> None:
    """Install a BPF program (libseccomp's export, made by the parent) on this thread.

    The guest is single-threaded at this point, so prctl's per-thread install covers the
    whole process, and every thread or process started later inherits the filter.
    """
    if not program or len(program) % 8:
        raise ConfineError("malformed seccomp program")
    array: Any = type("_Program", (_ctypes.Array,), {"_type_": _Char,
                                                     "_length_": len(program)})
    buffer = array.from_buffer_copy(program)
    prog = _SockFprog(len(program) // 8, _ctypes.addressof(buffer))
    if _c().prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, _ctypes.byref(prog), 0, 0) != 0:
        raise _fail("seccomp filter")


# --- the whole sequence ----------------------------------------------------------------------


def apply(setup: dict[str, Any]) -> None:
    """Act on the parent's setup frame (see the module docstring for the order)."""
    for fd in setup.get("cgroup_fds") or ():
        # Our own cgroup.procs, opened by the parent: "0" moves the writer. Closed at once,
        # since through it this process could pull any other process into its cgroup.
        try:
            os.write(fd, b"0")
        except OSError as exc:
            raise ConfineError(f"cannot join the sandbox's cgroup: {exc}") from None
        finally:
            os.close(fd)
    uid = setup.get("uid")
    shared = setup.get("shared_keyring")
    if shared is None or not _Keyring.inherited:
        join_session_keyring(shared)
    if setup.get("nproc_relative"):
        wire.count_processes_of_my_uid()  # /proc may be out of reach once confined
    landlock = Landlock(setup["landlock"]) if setup.get("landlock") else None
    for path in setup.get("import_paths") or ():
        if path not in sys.path:
            sys.path.append(path)
    if uid is not None:
        wire.drop_privileges(int(uid))
    if setup.get("own_uid"):
        clear_user_keyrings()  # only now: before the drop they would be root's
    libc = _c()
    if (setup.get("landlock") or setup.get("seccomp")) and libc.prctl(
        _PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0
    ) != 0:
        raise _fail("no_new_privs")
    if setup.get("pdeathsig"):
        # Set after the uid change, which clears it; the parent is the daemon's thread.
        libc.prctl(_PR_SET_PDEATHSIG, _SIGKILL, 0, 0, 0)
        if os.getppid() != int(setup["pdeathsig"]):
            os._exit(70)  # the parent died before we got here
    if landlock is not None:
        landlock.restrict()
    if setup.get("seccomp"):
        import binascii

        load_seccomp(binascii.a2b_base64(setup["seccomp"]))
