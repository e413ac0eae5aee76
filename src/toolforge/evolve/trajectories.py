"""Trajectories: every agent run, recorded in SQLite next to the library.

The state db (``<library>/.toolforge/state.sqlite``, git-ignored) is shared by the daemon,
the CLI and agents reporting runs, so it runs in WAL mode with a busy timeout, and every
write is one short ``BEGIN IMMEDIATE`` transaction: writers queue instead of failing, and
readers never block. A connection is opened per operation, which keeps the store safe
across threads and forks at the cost of ~0.1 ms.
"""

from __future__ import annotations

import builtins
import json
import os
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_serializer,
    field_validator,
    model_validator,
)

from toolforge.errors import ConflictError, NotFoundError, ToolforgeError
from toolforge.evolve.rewards import DEFAULT_REWARD_THRESHOLD, dump_expectation
from toolforge.statedb import open_db

STATE_DB = "state.sqlite"
SCHEMA_VERSION = 1
SOURCES = ("builtin-agent", "report", "api", "mcp", "tte")

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def normalize_time(value: str | datetime) -> str:
    """One ISO format in UTC, so timestamps sort as text (naive times are taken as UTC)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"not an ISO 8601 time: {value!r}") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds")


class Step(BaseModel):
    """One step of a run: a tool call (with its result or error), a message, or an error."""

    model_config = ConfigDict(extra="forbid")

    index: int = Field(ge=0)
    kind: Literal["tool_call", "message", "error"]
    tool: str | None = None
    arguments: dict[str, Any] | None = None
    result: Any = None
    error: str | None = None
    duration_ms: float = Field(default=0.0, ge=0, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _infer_kind(cls, data: Any) -> Any:
        # Reporters outside Python often leave `kind` out; the other fields say what it was.
        if isinstance(data, dict) and "kind" not in data:
            kind = "tool_call" if data.get("tool") else "error" if data.get("error") else \
                "message"
            data = {**data, "kind": kind}
        return data


class Trajectory(BaseModel):
    """One agent run. ``reward`` decides failure when present (see TrajectoryStore.record)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    task_id: str | None = None
    task: str
    group: str | None = None
    steps: list[Step] = Field(default_factory=list)
    final_answer: str | None = None
    expected: Any = None
    reward: float | None = Field(default=None, ge=0.0, le=1.0, allow_inf_nan=False)
    success: bool | None = None
    tools_offered: list[str] = Field(default_factory=list)
    tools_used: list[str] = Field(default_factory=list)
    model: str | None = None
    prompt_tokens: int = Field(default=0, ge=0)
    completion_tokens: int = Field(default=0, ge=0)
    cost_usd: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    duration_ms: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    started_at: str = Field(default_factory=now_iso)
    error: str | None = None
    source: str = "builtin-agent"  # builtin-agent | report | api | mcp | tte
    handled_by: str | None = None  # the evolution cycle that consumed this failure
    metadata: dict[str, Any] = Field(default_factory=dict)  # free data from the agent

    @model_validator(mode="before")
    @classmethod
    def _fill(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        steps = data.get("steps")
        if isinstance(steps, list):  # reporters may leave step indexes to their position
            data["steps"] = [
                {**s, "index": i} if isinstance(s, dict) and "index" not in s else s
                for i, s in enumerate(steps)
            ]
        if data.get("id") is None:
            data.pop("id", None)
        if data.get("started_at") is None:
            data.pop("started_at", None)
        return data

    @field_validator("id")
    @classmethod
    def _valid_id(cls, v: str) -> str:
        if not _ID.match(v):
            raise ValueError("must be 1-128 letters, digits or . _ : - (starting with a "
                             "letter or digit)")
        return v

    @field_validator("started_at", mode="before")
    @classmethod
    def _time(cls, v: Any) -> Any:
        return normalize_time(v) if isinstance(v, str | datetime) else v

    @field_validator("task_id", mode="before")
    @classmethod
    def _task_id_text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) and not isinstance(v, bool) else v

    @model_validator(mode="after")
    def _tools_used(self) -> Trajectory:
        if not self.tools_used:
            used = dict.fromkeys(s.tool for s in self.steps if s.kind == "tool_call" and s.tool)
            self.tools_used = [t for t in used if t is not None]
        return self

    @field_serializer("expected")
    def _dump_expected(self, value: Any) -> Any:
        return dump_expectation(value)

    def is_failure(self, threshold: float = DEFAULT_REWARD_THRESHOLD) -> bool:
        """Reward below threshold; without a reward, an explicit success=False."""
        if self.reward is not None:
            return self.reward < threshold
        return self.success is False

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class GroupStats(BaseModel):
    total: int = 0
    failures: int = 0
    mean_reward: float | None = None


class TrajectoryStats(BaseModel):
    total: int = 0
    failures: int = 0
    unhandled_failures: int = 0
    handled: int = 0
    mean_reward: float | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    by_group: dict[str, GroupStats] = Field(default_factory=dict)  # "" = no group
    by_source: dict[str, int] = Field(default_factory=dict)


# --- the store ------------------------------------------------------------------------------

_COLUMNS = (
    "id", "task_id", "task", "group_name", "steps", "final_answer", "expected", "reward",
    "success", "tools_offered", "tools_used", "model", "prompt_tokens", "completion_tokens",
    "cost_usd", "duration_ms", "started_at", "error", "source", "handled_by", "metadata",
    "recorded_at",
)
_JSON_COLUMNS = ("steps", "expected", "tools_offered", "tools_used", "metadata")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS trajectories (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    task_id TEXT,
    task TEXT NOT NULL,
    group_name TEXT,
    steps TEXT NOT NULL,
    final_answer TEXT,
    expected TEXT,
    reward REAL,
    success INTEGER,
    tools_offered TEXT NOT NULL,
    tools_used TEXT NOT NULL,
    model TEXT,
    prompt_tokens INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd REAL NOT NULL DEFAULT 0,
    duration_ms REAL NOT NULL DEFAULT 0,
    started_at TEXT NOT NULL,
    error TEXT,
    source TEXT NOT NULL,
    handled_by TEXT,
    metadata TEXT NOT NULL DEFAULT '{}',
    recorded_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS trajectories_started ON trajectories (started_at, seq);
CREATE INDEX IF NOT EXISTS trajectories_task ON trajectories (task_id, started_at);
CREATE INDEX IF NOT EXISTS trajectories_group ON trajectories (group_name, started_at);
CREATE INDEX IF NOT EXISTS trajectories_unhandled ON trajectories (handled_by, reward, success);
"""

# "Failed" in SQL, with the threshold as parameter :thr (mirrors Trajectory.is_failure).
_FAILED = "(CASE WHEN reward IS NOT NULL THEN reward < :thr ELSE success = 0 END)"


def connect(db_path: Path) -> sqlite3.Connection:
    """A connection in autocommit mode (we BEGIN explicitly), opened by `statedb`: a
    damaged file is moved aside (its trajectories kept there) and a new one started, a
    lock is waited for a few seconds and then a clear error."""
    conn = open_db(db_path, setup=_synchronous_normal, isolation_level=None,
                   check_same_thread=False)
    try:
        _recreate_if_replaced(conn, db_path)
    except BaseException:
        conn.close()
        raise
    return conn


def _synchronous_normal(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: durable across app crashes


@dataclass
class _Schemas:
    """The components whose tables this process made sure of in one database, and what
    the database was then (device, inode, SQLite's schema cookie)."""

    seen: tuple[int, int, int] | None
    ddl: dict[str, tuple[int, str]] = field(default_factory=dict)


_ENSURED: dict[str, _Schemas] = {}
_ENSURED_LOCK = threading.Lock()


def _identity(conn: sqlite3.Connection, path: Path) -> tuple[int, int, int] | None:
    # The cookie changes with every schema change, and a new file starts at 0: an inode
    # alone is not enough, a deleted file's inode is often reused at once.
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, conn.execute("PRAGMA schema_version").fetchone()[0])


def _recreate_if_replaced(conn: sqlite3.Connection, db_path: Path) -> None:
    """A long-lived process (the daemon) made sure of its tables once; if the file has
    since been replaced (another process moved a damaged one aside and started afresh),
    the tables are made again instead of every query failing with "no such table"."""
    with _ENSURED_LOCK:
        known = _ENSURED.get(str(db_path))
        if known is None or known.seen == _identity(conn, db_path):
            return
        for component, (version, ddl) in known.ddl.items():
            _apply_schema(conn, db_path, component, version, ddl)
        known.seen = _identity(conn, db_path)


def ensure_schema(db_path: Path, component: str, version: int, ddl: str) -> None:
    """Create ``component``'s tables once; refuse a db written by a newer toolforge."""
    with closing(connect(db_path)) as conn:
        _apply_schema(conn, db_path, component, version, ddl)
        with _ENSURED_LOCK:
            known = _ENSURED.setdefault(str(db_path), _Schemas(None))
            known.ddl[component] = (version, ddl)
            known.seen = _identity(conn, db_path)


def _apply_schema(conn: sqlite3.Connection, db_path: Path, component: str, version: int,
                  ddl: str) -> None:
    try:  # fast path, no write lock: the tables are there already
        row = conn.execute("SELECT version FROM schema_version WHERE component = ?",
                           (component,)).fetchone()
    except sqlite3.OperationalError:
        row = None
    if row is not None and row[0] == version:
        return
    _set_wal(conn)
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version "
                     "(component TEXT PRIMARY KEY, version INTEGER NOT NULL)")
        row = conn.execute("SELECT version FROM schema_version WHERE component = ?",
                           (component,)).fetchone()
        if row is not None and row[0] > version:
            raise ToolforgeError(
                f"{db_path} holds {component} schema v{row[0]}; this toolforge knows "
                f"v{version}",
                hint="upgrade toolforge (the state db was written by a newer version)",
            )
        for statement in ddl.split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute("INSERT OR REPLACE INTO schema_version VALUES (?, ?)",
                     (component, version))  # older schemas: v1 has no migrations yet
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _set_wal(conn: sqlite3.Connection) -> None:
    # Switching to WAL needs a moment of exclusive access; another process doing the same
    # at the same moment is the only expected contention, so retry briefly.
    for attempt in range(50):
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError:
            if attempt == 49:
                raise
            time.sleep(0.02)


class TrajectoryStore:
    """Trajectories in SQLite. Safe for concurrent writers in several processes."""

    def __init__(self, db_path: str | Path,
                 reward_threshold: float = DEFAULT_REWARD_THRESHOLD) -> None:
        self.db_path = Path(db_path)
        self.reward_threshold = reward_threshold
        ensure_schema(self.db_path, "trajectories", SCHEMA_VERSION, _SCHEMA)

    # --- connections ----------------------------------------------------------------------

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        with closing(connect(self.db_path)) as conn:
            yield conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (BEGIN IMMEDIATE: take the write lock up front, so two
        writers queue on the busy timeout instead of deadlocking on a lock upgrade)."""
        with closing(connect(self.db_path)) as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    # --- writing --------------------------------------------------------------------------

    def prepare(self, t: Trajectory) -> Trajectory:
        """Fill ``success`` from the reward (or from an error) when the caller left it out."""
        if t.success is not None and t.reward is None:
            return t
        if t.reward is not None:
            success: bool | None = t.reward >= self.reward_threshold
        else:
            # An infrastructure error (model unreachable...) is no verdict on the task.
            infrastructure = t.metadata.get("error_kind") == "infrastructure"
            success = False if t.error and not infrastructure else None
        return t.model_copy(update={"success": success})

    def record(self, t: Trajectory) -> Trajectory:
        return self.record_many([t])[0]

    def record_many(self, items: Iterable[Trajectory]) -> list[Trajectory]:
        """Record all or nothing (one transaction). A known id raises ConflictError.

        Values JSON and UTF-8 cannot hold (lone surrogates, NaN, huge ints, deep nesting,
        arbitrary objects) are stored in a readable stand-in, and the trajectory says so in
        `metadata["recording_notes"]`: a run is never lost to an odd value."""
        prepared = [self.prepare(storable(t)) for t in items]
        recorded_at = now_iso()
        rows = [_to_row(t, recorded_at) for t in prepared]
        placeholders = ", ".join("?" for _ in _COLUMNS)
        with self.transaction() as conn:
            try:
                conn.executemany(
                    f"INSERT INTO trajectories ({', '.join(_COLUMNS)}) VALUES ({placeholders})",
                    rows,
                )
            except sqlite3.IntegrityError:
                ids = [t.id for t in prepared]
                known = _existing_ids(conn, ids)
                dup = known[0] if known else next(i for i in ids if ids.count(i) > 1)
                raise ConflictError(f"trajectory {dup} is already recorded",
                                    hint="leave `id` out to get a fresh one") from None
        return prepared

    def mark_handled(self, ids: Iterable[str], cycle_id: str) -> list[str]:
        """Mark failures consumed by ``cycle_id``; returns the ids it claimed (ones already
        handled by another cycle are left to it)."""
        with self.transaction() as conn:
            return mark_handled_in(conn, list(ids), cycle_id)

    def release(self, cycle_id: str) -> int:
        """Undo a cycle's claim (e.g. it crashed before analysing anything)."""
        with self.transaction() as conn:
            return release_in(conn, cycle_id)

    def reclaim_expired(self) -> list[str]:
        """Abort the running cycles whose lease ran out (their process died or hung) and
        give their failures back; returns their ids. Looks before it writes, so a read of
        a healthy library stays a read (and a read-only library can still be listed)."""
        now = now_iso()
        try:
            with self.reading() as conn:
                if not _expired_cycles(conn, now):
                    return []
            with self.transaction() as conn:
                return reclaim_expired_in(conn, now)
        except sqlite3.OperationalError as exc:
            if "readonly" in str(exc):
                return []  # a read-only library: list it as it is
            raise

    def forget(self, ids: Iterable[str]) -> int:
        """Delete these trajectories (a worker dropping its copies of runs another worker
        took over from the shared log); returns how many were deleted."""
        wanted = list(ids)
        deleted = 0
        with self.transaction() as conn:
            for i in range(0, len(wanted), 500):
                chunk = wanted[i:i + 500]
                marks = ", ".join("?" for _ in chunk)
                deleted += conn.execute(f"DELETE FROM trajectories WHERE id IN ({marks})",
                                        chunk).rowcount
        return deleted

    # --- reading --------------------------------------------------------------------------

    def get(self, id_or_prefix: str) -> Trajectory:
        """By full id, or by a unique prefix of one."""
        key = id_or_prefix.strip()
        if not key:
            raise NotFoundError("no trajectory id given")
        with self.reading() as conn:
            row = conn.execute(f"SELECT {', '.join(_COLUMNS)} FROM trajectories WHERE id = ?",
                               (key,)).fetchone()
            if row is None:
                # A range scan on the unique index: no LIKE, so `_` and `%` are literal.
                rows = conn.execute(
                    f"SELECT {', '.join(_COLUMNS)} FROM trajectories "
                    "WHERE id >= ? AND id < ? ORDER BY id LIMIT 6",
                    (key, key + "\U0010ffff"),
                ).fetchall()
                if not rows:
                    raise NotFoundError(f"no trajectory {key!r}",
                                        hint="see `toolforge trajectories list`")
                if len(rows) > 1:
                    shown = ", ".join(r[0] for r in rows[:5]) + (", ..." if len(rows) > 5 else "")
                    raise ToolforgeError(f"{key!r} matches several trajectories: {shown}",
                                         hint="give more characters of the id")
                row = rows[0]
        return _from_row(row)

    def list(
        self,
        *,
        failed: bool | None = None,
        unhandled: bool | None = None,
        task_id: str | None = None,
        group: str | None = None,
        limit: int | None = 50,
        since: str | datetime | None = None,
        source: str | None = None,
        oldest_first: bool = False,
    ) -> list[Trajectory]:
        """Matching trajectories, newest first (by started_at). ``limit=None``: all."""
        return list(self.iter(failed=failed, unhandled=unhandled, task_id=task_id, group=group,
                              limit=limit, since=since, source=source,
                              oldest_first=oldest_first))

    def iter(self, **filters: Any) -> Iterator[Trajectory]:
        if filters.get("unhandled") is not None:
            self.reclaim_expired()  # a dead cycle's failures are unhandled again
        sql, params = self._query(**filters)
        with self.reading() as conn:
            for row in conn.execute(sql, params):
                yield _from_row(row)

    def _query(self, *, failed: bool | None = None, unhandled: bool | None = None,
               task_id: str | None = None, group: str | None = None,
               limit: int | None = 50, since: str | datetime | None = None,
               source: str | None = None, oldest_first: bool = False,
               threshold: float | None = None) -> tuple[str, dict[str, Any]]:
        where: list[str] = []
        params: dict[str, Any] = {
            "thr": self.reward_threshold if threshold is None else threshold
        }
        if failed is not None:
            where.append(_FAILED if failed else f"NOT {_FAILED}")
        if unhandled is not None:
            where.append("handled_by IS NULL" if unhandled else "handled_by IS NOT NULL")
        if task_id is not None:
            where.append("task_id = :task_id")
            params["task_id"] = task_id
        if group is not None:
            where.append("group_name = :group")
            params["group"] = group
        if source is not None:
            where.append("source = :source")
            params["source"] = source
        if since is not None:
            where.append("started_at >= :since")
            params["since"] = normalize_time(since)
        order = "ASC" if oldest_first else "DESC"
        sql = (f"SELECT {', '.join(_COLUMNS)} FROM trajectories"
               + (f" WHERE {' AND '.join(where)}" if where else "")
               + f" ORDER BY started_at {order}, seq {order}")
        if limit is not None:
            sql += " LIMIT :limit"
            params["limit"] = max(0, int(limit))
        return sql, params

    def unhandled_failures(self, threshold: float | None = None) -> builtins.list[Trajectory]:
        """Failures no cycle has consumed yet, oldest first."""
        self.reclaim_expired()
        sql, params = self._query(failed=True, unhandled=True, limit=None, oldest_first=True,
                                  threshold=threshold)
        with self.reading() as conn:
            return [_from_row(r) for r in conn.execute(sql, params)]

    def recent_rewards(self, n: int) -> builtins.list[float]:
        """Rewards of the last ``n`` scored runs, newest first."""
        with self.reading() as conn:
            rows = conn.execute(
                "SELECT reward FROM trajectories WHERE reward IS NOT NULL "
                "ORDER BY started_at DESC, seq DESC LIMIT ?", (n,)).fetchall()
        return [r[0] for r in rows]

    def export_jsonl(self, fh: IO[str], **filters: Any) -> int:
        """Write matching trajectories as JSON lines, oldest first; returns the count.
        Filters as for :meth:`list` (default: no limit)."""
        filters.setdefault("limit", None)
        filters.setdefault("oldest_first", True)
        count = 0
        for t in self.iter(**filters):
            fh.write(t.model_dump_json() + "\n")
            count += 1
        return count

    def last_used_tools(self) -> dict[str, str]:
        """Each tool named in a recorded run's `tools_used`, with the start of the latest
        such run (on a worker, this covers runs reported from other machines)."""
        with self.reading() as conn:
            rows = conn.execute(
                "SELECT j.value, MAX(t.started_at) FROM trajectories AS t, "
                "json_each(t.tools_used) AS j GROUP BY j.value").fetchall()
        return {str(name): str(at) for name, at in rows if isinstance(name, str)}

    def count(self) -> int:
        with self.reading() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM trajectories").fetchone()[0])

    def stats(self, threshold: float | None = None) -> TrajectoryStats:
        self.reclaim_expired()
        thr = {"thr": self.reward_threshold if threshold is None else threshold}
        agg = (f"COUNT(*), SUM({_FAILED}), AVG(reward)")
        with self.reading() as conn:
            total, failures, mean = conn.execute(f"SELECT {agg} FROM trajectories",
                                                 thr).fetchone()
            unhandled = conn.execute(
                f"SELECT COUNT(*) FROM trajectories WHERE handled_by IS NULL AND {_FAILED}",
                thr).fetchone()[0]
            handled = conn.execute(
                "SELECT COUNT(*) FROM trajectories WHERE handled_by IS NOT NULL").fetchone()[0]
            tokens = conn.execute(
                "SELECT COALESCE(SUM(prompt_tokens), 0), COALESCE(SUM(completion_tokens), 0), "
                "COALESCE(SUM(cost_usd), 0) FROM trajectories").fetchone()
            groups = conn.execute(
                f"SELECT COALESCE(group_name, ''), {agg} FROM trajectories GROUP BY 1 ORDER BY 1",
                thr).fetchall()
            sources = conn.execute(
                "SELECT source, COUNT(*) FROM trajectories GROUP BY 1 ORDER BY 1").fetchall()
        return TrajectoryStats(
            total=total, failures=failures or 0, unhandled_failures=unhandled, handled=handled,
            mean_reward=mean, prompt_tokens=tokens[0], completion_tokens=tokens[1],
            cost_usd=tokens[2],
            by_group={g: GroupStats(total=n, failures=f or 0, mean_reward=m)
                      for g, n, f, m in groups},
            by_source=dict(sources),
        )


def mark_handled_in(conn: sqlite3.Connection, ids: list[str], cycle_id: str) -> list[str]:
    """Claim unhandled trajectories for ``cycle_id`` inside the caller's transaction."""
    claimed: list[str] = []
    for i in range(0, len(ids), 500):  # stay under SQLite's bound-parameter limit
        chunk = ids[i:i + 500]
        marks = ", ".join("?" for _ in chunk)
        rows = conn.execute(
            f"UPDATE trajectories SET handled_by = ? WHERE handled_by IS NULL AND id IN ({marks})"
            " RETURNING id", (cycle_id, *chunk)).fetchall()
        claimed += [r[0] for r in rows]
    order = {id_: n for n, id_ in enumerate(ids)}
    return sorted(claimed, key=order.__getitem__)


def release_in(conn: sqlite3.Connection, cycle_id: str, keep: Iterable[str] = ()) -> int:
    """Give back ``cycle_id``'s claimed failures, except ``keep`` (those it finished with),
    inside the caller's transaction; returns how many."""
    kept = set(keep)
    if not kept:
        return int(conn.execute("UPDATE trajectories SET handled_by = NULL "
                                "WHERE handled_by = ?", (cycle_id,)).rowcount)
    back = [r[0] for r in conn.execute("SELECT id FROM trajectories WHERE handled_by = ?",
                                       (cycle_id,)) if r[0] not in kept]
    for i in range(0, len(back), 500):  # stay under SQLite's bound-parameter limit
        chunk = back[i:i + 500]
        conn.execute(f"UPDATE trajectories SET handled_by = NULL WHERE id IN "
                     f"({', '.join('?' for _ in chunk)})", chunk)
    return len(back)


# A claim is a lease: a running cycle renews `lease_expires` while it lives. A cycle row
# without one was written before leases existed; it is only ever a dead one.
_EXPIRED = ("SELECT id, lease_holder FROM cycles WHERE status = 'running' "
            "AND (lease_expires IS NULL OR lease_expires < ?)")


def _expired_cycles(conn: sqlite3.Connection, now: str) -> list[tuple[str, str | None]]:
    try:
        return [(r[0], r[1]) for r in conn.execute(_EXPIRED, (now,))]
    except sqlite3.OperationalError as exc:  # no cycle log (or no leases) here yet
        if "no such" in str(exc):
            return []
        raise


def reclaim_expired_in(conn: sqlite3.Connection, now: str) -> list[str]:
    """Mark each running cycle whose lease ran out `aborted` (keeping the spend it last
    recorded) and give its failures back, inside the caller's transaction."""
    reclaimed = []
    for cycle_id, holder in _expired_cycles(conn, now):
        given = release_in(conn, cycle_id)
        conn.execute(
            "UPDATE cycles SET status = 'aborted', finished_at = ?, error = ?, "
            "trajectory_ids = '[]' WHERE id = ? AND status = 'running'",
            (now, f"aborted: its process ({holder or 'unknown'}) stopped renewing its lease; "
                  f"{given} failed run(s) given back", cycle_id))
        reclaimed.append(cycle_id)
    return reclaimed


def _existing_ids(conn: sqlite3.Connection, ids: list[str]) -> list[str]:
    marks = ", ".join("?" for _ in ids[:500])
    return [r[0] for r in conn.execute(f"SELECT id FROM trajectories WHERE id IN ({marks})",
                                       ids[:500])]


MAX_STORED_DEPTH = 64
_MAX_INT_BITS = 13_000  # ~3,900 digits: below the interpreter's int-to-text limit


def storable(t: Trajectory) -> Trajectory:
    """`t` with every value made storable as strict JSON in UTF-8 (see record_many)."""
    notes: list[str] = []
    doc: dict[str, Any] = {}
    for name in Trajectory.model_fields:
        value = getattr(t, name)
        if name == "steps":
            value = [{field: getattr(step, field) for field in Step.model_fields}
                     for step in value]
        elif name == "expected" and isinstance(value, BaseModel):
            value = value.model_dump(mode="json")
        doc[name] = _plain(value, name, 0, notes)
    if notes:
        metadata = doc["metadata"] if isinstance(doc["metadata"], dict) else {}
        earlier = metadata.get("recording_notes")
        metadata["recording_notes"] = (earlier if isinstance(earlier, list) else []) + notes[:20]
        doc["metadata"] = metadata
    return Trajectory.model_validate(doc) if notes else t


def _plain(value: Any, where: str, depth: int, notes: list[str]) -> Any:
    """JSON data for `value`; each stand-in it needs is noted (where, and why)."""
    if len(where) > 80:
        where = where[:77] + "..."
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if value.bit_length() <= _MAX_INT_BITS:
            return int(value)
        notes.append(f"{where}: an integer of {value.bit_length()} bits, stored as text")
        return f"<int of {value.bit_length()} bits>"
    if isinstance(value, float):
        if value == value and value not in (float("inf"), float("-inf")):
            return float(value)
        notes.append(f"{where}: {value!r} is not JSON, stored as text")
        return repr(float(value))
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            notes.append(f"{where}: lone surrogates, stored escaped")
            return value.encode("utf-8", "backslashreplace").decode("utf-8")
        return str(value)
    if depth >= MAX_STORED_DEPTH:
        notes.append(f"{where}: nested deeper than {MAX_STORED_DEPTH} levels, cut")
        return f"<nested deeper than {MAX_STORED_DEPTH} levels>"
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            text = key if isinstance(key, str) else _safe_repr(key)
            text = _plain(text, f"{where} key", depth + 1, notes)
            out[text] = _plain(item, f"{where}.{text[:40]}", depth + 1, notes)
        return out
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(item, f"{where}[{i}]", depth + 1, notes) for i, item in enumerate(value)]
    notes.append(f"{where}: a {type(value).__name__} is not JSON, stored as its repr")
    return _plain(_safe_repr(value), where, depth + 1, notes)


def _safe_repr(value: Any) -> str:
    try:
        text = repr(value)
    except Exception as exc:  # a hostile __repr__ must not lose the run
        text = f"<unprintable {type(value).__name__}: {type(exc).__name__}>"
    return text if len(text) <= 2000 else text[:1997] + "..."


def _to_row(t: Trajectory, recorded_at: str) -> tuple[Any, ...]:
    doc = t.model_dump(mode="json", fallback=repr)
    doc["group_name"] = doc.pop("group")
    doc["recorded_at"] = recorded_at
    for col in _JSON_COLUMNS:
        doc[col] = json.dumps(doc[col], ensure_ascii=False)
    if doc["success"] is not None:
        doc["success"] = int(doc["success"])
    return tuple(doc[c] for c in _COLUMNS)


def _from_row(row: tuple[Any, ...]) -> Trajectory:
    doc = dict(zip(_COLUMNS, row, strict=True))
    for col in _JSON_COLUMNS:
        doc[col] = json.loads(doc[col]) if doc[col] is not None else None
    doc["group"] = doc.pop("group_name")
    doc.pop("recorded_at")
    if doc["success"] is not None:
        doc["success"] = bool(doc["success"])
    return Trajectory.model_validate(doc)


def default_store(library_root: str | Path,
                  reward_threshold: float = DEFAULT_REWARD_THRESHOLD) -> TrajectoryStore:
    """The store of a library: ``<library>/.toolforge/state.sqlite``."""
    from toolforge.library.store import STATE_DIR

    return TrajectoryStore(Path(library_root) / STATE_DIR / STATE_DB, reward_threshold)
