"""The one way to open a SQLite state database under `<library>/.toolforge/` (validation
reports, jobs, usage records, trajectories and cycles).

- A damaged file (garbage, truncated, "malformed") is moved aside to
  `<name>.corrupt-<timestamp>` with a notice naming both paths, and a fresh empty database
  takes its place: the caches rebuild themselves, and data that cannot be rebuilt
  (trajectories, usage counts) is kept in the moved file for a person to look at.
- A database locked by another process is waited for a bounded time (`BUSY_TIMEOUT_S`),
  then refused with a clear `LockTimeoutError`, never a crash.
- Reads never need a writable state directory: a missing database reads as empty, and
  one on a read-only file system is opened read-only (immutable when SQLite cannot even
  create its shared-memory file there); a store that opens "for writing" there gets an
  in-memory copy that refuses to change data (ReadOnlyError).
- A full disk, a read-only file system and a lock are named errors (`errors.py`).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, cast

from toolforge.errors import (
    LockTimeoutError,
    NoSpaceError,
    ReadOnlyError,
    StateDamagedError,
    ToolforgeError,
    from_os_error,
)
from toolforge.notices import notify

BUSY_TIMEOUT_S = 5.0  # a writer holds the lock for milliseconds; longer is another process

# Primary result codes (sqlite3.Error.sqlite_errorcode & 0xff).
_BUSY, _LOCKED, _READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _AUTH, _NOTADB = 5, 6, 8, 10, \
    11, 13, 14, 23, 26

# --- opening ---------------------------------------------------------------------------------

Setup = Callable[[sqlite3.Connection], None]
IsolationLevel = Literal["DEFERRED", "EXCLUSIVE", "IMMEDIATE"] | None


def open_db(path: Path, *, setup: Setup | None = None, timeout: float = BUSY_TIMEOUT_S,
            isolation_level: IsolationLevel = "DEFERRED", check_same_thread: bool = True
            ) -> StateConnection:
    """A connection for writing, `setup` (schema, pragmas) applied. A damaged file is
    quarantined and replaced by an empty database once. Where nothing can be written (a
    read-only library), a copy in memory that reads work on (tables may be created in it)
    and that refuses to change data with a clear ReadOnlyError."""
    if not _writable(path):
        return _in_memory(path, setup, isolation_level)
    for attempt in (1, 2):
        conn = _connect(path, str(path), timeout, isolation_level, check_same_thread,
                        uri=False)
        try:
            _check_readable(conn, path)  # damage: moved aside by the guard, StateDamaged
            if setup is not None:
                setup(conn)
            return conn
        except StateDamagedError:
            conn.close()
            if attempt == 2:
                raise
        except BaseException:
            conn.close()
            raise
    raise AssertionError("unreachable")


def _writable(path: Path) -> bool:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        error = _os_error(exc)
        if isinstance(error, ReadOnlyError):
            return False
        raise error from exc
    return os.access(path.parent, os.W_OK) and \
        (not path.exists() or os.access(path, os.W_OK))


# Stand-ins for databases in a read-only library, one per path and process: a copy of the
# file (or an empty database) in shared memory, kept alive by its first connection.
_MEMORY: dict[Path, StateConnection] = {}
_MEMORY_LOCK = threading.Lock()
_INSERT, _UPDATE, _DELETE = 18, 23, 9  # sqlite3 authorizer actions
_SCHEMA_TABLES = ("schema_version",)


def _in_memory(path: Path, setup: Setup | None, isolation_level: IsolationLevel
               ) -> StateConnection:
    name = f"file:toolforge-{abs(hash(str(path)))}?mode=memory&cache=shared"
    with _MEMORY_LOCK:
        if path not in _MEMORY:
            anchor = _connect(path, name, BUSY_TIMEOUT_S, None, False, uri=True)
            source = open_reader(path)
            if source is not None:
                with source:
                    source.backup(anchor)
                source.close()
            if setup is not None:
                setup(anchor)
            _MEMORY[path] = anchor
    conn = _connect(path, name, BUSY_TIMEOUT_S, isolation_level, False, uri=True)
    conn.set_authorizer(_schema_only)
    return conn


def _schema_only(action: int, table: str | None, *_: object) -> int:
    """Creating tables in the copy is fine (a reader may create its component's schema);
    changing data is refused: it would be lost with the process."""
    if action in (_INSERT, _UPDATE, _DELETE) and table is not None \
            and table not in _SCHEMA_TABLES and not table.startswith("sqlite_"):
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def open_reader(path: Path, *, timeout: float = BUSY_TIMEOUT_S,
                check_same_thread: bool = True) -> StateConnection | None:
    """A read-only connection, or None when there is nothing to read: no file yet, or a
    damaged one (moved aside when the directory allows it). Never writes anything."""
    if not path.is_file():
        return None
    uri = f"file:{_quote(path)}?mode=ro"
    for query in (uri, uri + "&immutable=1"):
        conn: StateConnection | None = None
        try:
            conn = _connect(path, query, timeout, None, check_same_thread, uri=True)
            _check_readable(conn, path)
            return conn
        except StateDamagedError as exc:
            if conn is not None:
                conn.close()
            if path.exists():  # could not be moved aside (a read-only directory)
                notify(f"{exc.message}; read as empty")
            return None
        except (LockTimeoutError, NoSpaceError):
            if conn is not None:
                conn.close()
            raise
        except (ToolforgeError, sqlite3.Error):
            # Read-only WAL database whose -shm cannot be created here: open it immutable.
            if conn is not None:
                conn.close()
            if query != uri:
                raise
    return None


def _connect(path: Path, target: str, timeout: float, isolation_level: IsolationLevel,
             check_same_thread: bool, *, uri: bool) -> StateConnection:
    try:
        conn = sqlite3.connect(target, timeout=timeout, isolation_level=isolation_level,
                               check_same_thread=check_same_thread, uri=uri,
                               factory=StateConnection)
    except sqlite3.Error as exc:
        if uri:
            raise
        raise _translate(exc, path) or exc
    assert isinstance(conn, StateConnection)
    conn.path = path
    conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
    return conn


class StateConnection(sqlite3.Connection):
    """A connection whose every statement goes through `guard`: whoever uses it (and
    whichever statement meets the damage, the lock or the full disk) gets toolforge's
    errors, not sqlite3's."""

    path: Path

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        return self.cursor(StateCursor).execute(sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:
        return self.cursor(StateCursor).executemany(sql, parameters)

    def executescript(self, script: str, /) -> sqlite3.Cursor:
        with guard(self.path):
            return super().executescript(script)

    def commit(self) -> None:
        with guard(self.path):
            super().commit()

    def __exit__(self, *exc_info: Any) -> Any:  # `with conn:` commits here, in C
        with guard(self.path):
            return super().__exit__(*exc_info)


class StateCursor(sqlite3.Cursor):
    def _path(self) -> Path:
        return cast(StateConnection, self.connection).path

    def execute(self, sql: str, parameters: Any = (), /) -> StateCursor:
        with guard(self._path()):
            super().execute(sql, parameters)
        return self

    def executemany(self, sql: str, parameters: Any, /) -> StateCursor:
        with guard(self._path()):
            super().executemany(sql, parameters)
        return self

    def fetchone(self) -> Any:
        with guard(self._path()):
            return super().fetchone()

    def fetchmany(self, size: int | None = 1) -> list[Any]:
        with guard(self._path()):
            return super().fetchmany(size if size is not None else self.arraysize)

    def fetchall(self) -> list[Any]:
        with guard(self._path()):
            return super().fetchall()

    def __next__(self) -> Any:
        with guard(self._path()):
            return super().__next__()


def _quote(path: Path) -> str:
    return str(path.resolve()).replace("%", "%25").replace("?", "%3f").replace("#", "%23")


def _check_readable(conn: sqlite3.Connection, path: Path) -> None:
    """Touch the schema (a garbage file fails here); when the file is shorter than SQLite
    expects (truncated), let SQLite check it, under its own read lock."""
    conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    if _looks_truncated(conn, path):
        rows = conn.execute("PRAGMA quick_check(1)").fetchall()
        if rows != [("ok",)]:
            moved = quarantine(path, "a new empty one takes its place")
            raise StateDamagedError(f"state database {path} was damaged ({rows[0][0]}); "
                                    f"moved it to {moved}")


def _looks_truncated(conn: sqlite3.Connection, path: Path) -> bool:
    """The database has more pages than the file holds, and no write-ahead log holds
    them. Never opens the file itself: closing any descriptor of it would drop this
    process's SQLite locks on it (POSIX advisory locks are per process)."""
    try:
        size = os.stat(path).st_size
        wal = path.with_name(path.name + "-wal")
        if wal.exists() and os.stat(wal).st_size > 0:
            return False
    except OSError:
        return False
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    return bool(size < pages * page_size)


# --- errors ----------------------------------------------------------------------------------


@contextmanager
def guard(path: Path) -> Iterator[None]:
    """Turn SQLite's and the OS's errors on `path` into toolforge's: damage (the file
    is moved aside, and StateDamagedError says where), a lock held too long, a full disk,
    a read-only file system."""
    try:
        yield
    except sqlite3.Error as exc:
        error = _translate(exc, path)
        if isinstance(error, StateDamagedError):
            moved = quarantine(path, "a new empty one takes its place")
            error = StateDamagedError(
                f"state database {path} was damaged ({exc}); moved it to {moved}",
                hint="run the command again: a new empty database takes its place")
        if error is None:
            raise
        raise error from exc
    except OSError as exc:
        raise _os_error(exc) from exc


def is_damage(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.DatabaseError) and _code(exc) in (_CORRUPT, _NOTADB)


def _code(exc: sqlite3.Error) -> int:
    return int(getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF


def _translate(exc: sqlite3.Error, path: Path) -> ToolforgeError | None:
    """The error kind for what the user can act on; None for anything else (a bug)."""
    code = _code(exc)
    if code in (_CORRUPT, _NOTADB):
        return StateDamagedError(f"state database {path} is damaged: {exc}")
    if code in (_BUSY, _LOCKED):
        return LockTimeoutError(
            f"state database {path} is locked by another process",
            hint=f"waited {BUSY_TIMEOUT_S:g} s; try again when the other toolforge "
                 "command (or a stuck process holding the file) has finished")
    if code == _FULL or (code == _IOERR and _disk_full(path)):
        return NoSpaceError(f"no space left on {path.parent}",
                            hint="free some space (or raise the quota) and run it again")
    if code in (_READONLY, _AUTH):
        return ReadOnlyError(f"cannot write state database {path}: read-only",
                             hint="this needs write access to the library's .toolforge/ "
                                  "directory")
    if code in (_CANTOPEN, _IOERR):
        return ToolforgeError(f"cannot open state database {path}: {exc}",
                              hint="check that the library's .toolforge/ directory exists "
                                   "and is readable")
    return None


def _disk_full(path: Path) -> bool:
    """SQLite says "disk I/O error" when it cannot grow its -shm file on a full disk."""
    try:
        return os.statvfs(path.parent).f_bavail == 0
    except OSError:
        return False


def _os_error(exc: OSError) -> BaseException:
    return from_os_error(exc) or exc


# --- quarantine --------------------------------------------------------------------------


def quarantine(path: Path, then: str) -> Path:
    """Move a damaged database (and its -wal/-shm) aside; the new name, announced."""
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    try:
        os.rename(path, target)
    except FileNotFoundError:
        return target  # another process moved it first
    except OSError as exc:
        raise StateDamagedError(
            f"state database {path} is damaged and could not be moved aside: {exc.strerror}",
            hint=f"move it away by hand (e.g. to {target}); toolforge then starts a new one")
    for suffix in ("-wal", "-shm", "-journal"):
        side = path.with_name(path.name + suffix)
        try:
            os.rename(side, target.with_name(target.name + suffix))
        except OSError:
            pass
    notify(f"state database {path} was damaged: moved it to {target}; {then}")
    return target
