"""Where a library's daemon lives on disk, and how to tell whether it is alive.

One daemon per library, keyed by a short hash of the library's resolved path, in a private
per-user runtime directory (0700, owned by us — refused otherwise):

    <runtime>/<key>.sock   the Unix socket (0600)
    <runtime>/<key>.json   status file {pid, socket, version, library, started_at}
    <runtime>/<key>.lock   flock held by the daemon for its whole life

The lock, not the pid, is the liveness signal: the kernel releases it when the daemon dies
however it dies, and a pid can be reused. Stdlib only: the thin CLI imports this.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from toolforge.daemon.errors import DaemonError

# sockaddr_un.sun_path is 108 bytes on Linux (104 on macOS), NUL included.
MAX_SOCKET_PATH = 100
LOG_FILE = "daemon.log"
STDERR_FILE = "daemon.stderr"
JOBS_DB = "jobs.sqlite"


class DaemonPaths:
    # A plain class: `dataclasses` would import `inspect` on the thin CLI's path.
    __slots__ = ("key", "library", "runtime_dir")

    def __init__(self, library: Path, runtime_dir: Path, key: str) -> None:
        self.library = library
        self.runtime_dir = runtime_dir
        self.key = key

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DaemonPaths) and (self.library, self.runtime_dir, self.key) \
            == (other.library, other.runtime_dir, other.key)

    def __hash__(self) -> int:
        return hash((self.library, self.runtime_dir, self.key))

    def __repr__(self) -> str:
        return f"DaemonPaths({self.library!r}, {self.runtime_dir!r}, {self.key!r})"

    @property
    def socket(self) -> Path:
        return self.runtime_dir / f"{self.key}.sock"

    @property
    def status(self) -> Path:
        return self.runtime_dir / f"{self.key}.json"

    @property
    def lock(self) -> Path:
        return self.runtime_dir / f"{self.key}.lock"

    @property
    def state_dir(self) -> Path:
        return self.library / ".toolforge"

    @property
    def log(self) -> Path:
        # Beside the library (ignored by git), not in the runtime dir: it survives a reboot
        # and `ls library/.toolforge` finds it.
        return self.state_dir / LOG_FILE

    @property
    def stderr(self) -> Path:
        return self.state_dir / STDERR_FILE

    @property
    def jobs_db(self) -> Path:
        return self.state_dir / JOBS_DB


def library_key(library: Path) -> str:
    return hashlib.sha256(str(library).encode("utf-8", "surrogateescape")).hexdigest()[:12]


def _candidate_dirs() -> Iterator[Path]:
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg:
        yield Path(xdg) / "toolforge"
    else:
        # systemd's per-user runtime dir, which platformdirs would pick too (it warns on
        # every call when the directory is missing, as on most servers and in CI).
        base = Path(f"/run/user/{os.getuid()}")
        if base.is_dir():  # never create /run/user/<uid> ourselves
            yield base / "toolforge"
    import tempfile  # only when needed: it costs the thin CLI a few ms

    yield Path(tempfile.gettempdir()) / f"toolforge-{os.getuid()}"


def runtime_dirs() -> list[Path]:
    """Every directory a daemon of this user may have put its files in."""
    dirs = list(_candidate_dirs())
    base = Path(f"/run/user/{os.getuid()}") / "toolforge"
    if base not in dirs and base.is_dir():
        dirs.append(base)
    return [d for d in dirs if d.is_dir()]


def daemon_paths(library: Path) -> DaemonPaths:
    """The daemon files for `library` (an absolute, resolved path)."""
    key = library_key(library)
    tried: list[Path] = []
    for d in _candidate_dirs():
        if len(str(d / f"{key}.sock").encode()) <= MAX_SOCKET_PATH:
            return DaemonPaths(library, d, key)
        tried.append(d)
    raise DaemonError(
        f"no runtime directory gives a short enough socket path (tried {tried[0]})",
        hint="set XDG_RUNTIME_DIR to a short directory, e.g. /run/user/$UID",
    )


def ensure_runtime_dir(path: Path) -> None:
    """Create the runtime directory 0700, and refuse one that others could reach."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = path.lstat()
    except OSError as exc:
        raise DaemonError(f"cannot create the runtime directory {path}: {exc.strerror}")
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
        raise DaemonError(f"{path} is not a directory owned by you; refusing to use it",
                          hint="remove it, or set XDG_RUNTIME_DIR to a private directory")
    if st.st_mode & 0o077:
        raise DaemonError(f"{path} is accessible by other users "
                          f"(mode {stat.S_IMODE(st.st_mode):o}); refusing to use it",
                          hint=f"chmod 700 {path}")


# --- the daemon lock ---------------------------------------------------------------------


def try_lock(path: Path) -> int | None:
    """Take the exclusive flock on `path`; the fd to keep, or None if someone holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.EAGAIN, errno.EACCES):
            return None
        raise
    return fd


def lock_held(paths: DaemonPaths) -> bool:
    """True while a daemon (or a starting one) holds the library's daemon lock.

    Probing takes the lock for a moment; a daemon starting at that instant retries for a
    while before concluding that another one runs (see server.acquire_lock)."""
    if not paths.lock.exists():
        return False
    try:
        fd = try_lock(paths.lock)
    except OSError:
        return False
    if fd is None:
        return True
    os.close(fd)
    return False


# --- the status file ---------------------------------------------------------------------


def write_status(paths: DaemonPaths, doc: dict[str, Any]) -> None:
    """Atomically (temp file + rename): a reader sees the old file or the new one."""
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix=f".{paths.key}.", suffix=".tmp", dir=paths.runtime_dir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, paths.status)
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp)
        raise


def read_status(paths: DaemonPaths) -> dict[str, Any] | None:
    try:
        doc = json.loads(paths.status.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def remove_owned(paths: DaemonPaths, pid: int) -> None:
    """On exit: remove the socket and status file if they are still ours."""
    doc = read_status(paths)
    if doc is None or doc.get("pid") == pid:
        with suppress(OSError):
            paths.status.unlink()
        with suppress(OSError):
            paths.socket.unlink()


def clean_stale(paths: DaemonPaths) -> dict[str, Any] | None:
    """Remove a dead daemon's socket and status file. Returns the stale status (if any
    files were removed), None when there was nothing stale or a daemon holds the lock."""
    if not (paths.socket.exists() or paths.status.exists()):
        return None
    with held_lock(paths) as fd:
        if fd is None:
            return None  # alive (or being started): its files are not stale
        doc = read_status(paths) or {}
        for p in (paths.socket, paths.status):
            with suppress(OSError):
                p.unlink()
        return doc


@contextmanager
def held_lock(paths: DaemonPaths) -> Iterator[int | None]:
    """The daemon lock for a moment (None if a daemon holds it)."""
    ensure_runtime_dir(paths.runtime_dir)
    fd = try_lock(paths.lock)
    try:
        yield fd
    finally:
        if fd is not None:
            os.close(fd)


# --- processes ---------------------------------------------------------------------------


def pid_alive(pid: int) -> bool:
    """True for a running process; a zombie (dead, not yet reaped) counts as dead."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            state = fh.read().rsplit(b")", 1)[1].split()[0]
        return state not in (b"Z", b"X")
    except (OSError, IndexError):
        return True
