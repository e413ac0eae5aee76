"""Tool-call usage records: one row per call of a library tool, whoever made it.

Every path that runs a tool for an agent (the runtime behind MCP, `toolforge call`, the
daemon route, `Forge.tools()`, the built-in agent, TTE) records a :class:`CallEvent` here.
Pruning, the curator, retrieval boosts and TRR@k read these counts, so they live beside
the library in `.toolforge/usage.sqlite` (fast-changing counters never go into git).

Recording is best effort by design: a locked or read-only store must not fail the tool
call it describes; the caller gets False back and the problem is logged.
"""

from __future__ import annotations

import atexit
import logging
import math
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toolforge.errors import ToolforgeError
from toolforge.statedb import guard, open_db, open_reader

log = logging.getLogger(__name__)

USAGE_DB = "usage.sqlite"
OK = "ok"

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS calls ("
    " id INTEGER PRIMARY KEY,"
    " at REAL NOT NULL,"  # unix seconds
    " tool TEXT NOT NULL,"
    " version INTEGER,"
    " caller TEXT NOT NULL,"
    " outcome TEXT NOT NULL,"  # "ok" or an error kind
    " duration_ms REAL NOT NULL,"
    " session TEXT,"
    " commit_id TEXT)",
    "CREATE INDEX IF NOT EXISTS calls_by_tool ON calls (tool, at)",
    "CREATE INDEX IF NOT EXISTS calls_by_time ON calls (at)",
)


@dataclass(frozen=True)
class CallEvent:
    """One call of a tool. `outcome` is "ok" or an error kind such as "bad_arguments",
    "timeout", "memory", "exception", "crash", "unknown_tool" (callers pick from the
    runtime's list; the store does not interpret it beyond ok / not ok)."""

    tool: str
    version: int | None
    caller: str  # "mcp" | "cli" | "daemon" | "python" | "agent" | "tte" | ...
    outcome: str
    duration_ms: float
    session: str | None = None
    commit: str | None = None  # the library commit whose code ran
    at: float = field(default_factory=time.time)

    @property
    def ok(self) -> bool:
        return self.outcome == OK


@dataclass(frozen=True)
class ToolUsage:
    """Aggregates for one (tool, version)."""

    tool: str
    version: int | None
    calls: int
    errors: int
    p50_ms: float
    p99_ms: float
    first_at: float
    last_at: float
    callers: dict[str, int] = field(default_factory=dict)  # calls per caller
    outcomes: dict[str, int] = field(default_factory=dict)  # calls per outcome

    @property
    def error_rate(self) -> float:
        return self.errors / self.calls if self.calls else 0.0


def _percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile: the smallest value with at least q of the values at or below."""
    if not sorted_values:
        return 0.0
    rank = math.ceil(q * len(sorted_values))
    return sorted_values[min(len(sorted_values), max(1, rank)) - 1]


class UsageStore:
    """SQLite store of :class:`CallEvent` rows; safe to share between processes (WAL)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._ready = False

    @classmethod
    def for_library(cls, root: Path) -> UsageStore:
        from toolforge.library.store import STATE_DIR

        return cls(root / STATE_DIR / USAGE_DB)

    def _connect(self, *, write: bool) -> sqlite3.Connection | None:
        """A connection, creating the schema on first write; None when there is nothing to
        read (reads never create the store, so a read-only library can be queried). A
        damaged store is moved aside by `statedb` (the counts in it are kept there)."""
        if not write:
            return open_reader(self.path)
        return open_db(self.path, setup=None if self._ready else self._setup)

    def _setup(self, db: sqlite3.Connection) -> None:
        # WAL + NORMAL: a commit costs no fsync; a power cut may lose the last
        # counters, never corrupt the store. Counters are not worth an fsync per call.
        db.execute("PRAGMA journal_mode=WAL")
        with db:
            for statement in _SCHEMA:
                db.execute(statement)
        self._ready = True

    # --- writes ----------------------------------------------------------------------------

    def record(self, event: CallEvent) -> bool:
        return self.record_many([event])

    def record_many(self, events: Iterable[CallEvent]) -> bool:
        """Store the events; False (and a log line) when the store cannot be written."""
        rows = [(e.at, e.tool, e.version, e.caller, e.outcome, float(e.duration_ms),
                 e.session, e.commit) for e in events]
        if not rows:
            return True
        try:
            db = self._connect(write=True)
            assert db is not None
            try:
                db.execute("PRAGMA synchronous=NORMAL")
                with guard(self.path), db:
                    db.executemany(
                        "INSERT INTO calls (at, tool, version, caller, outcome, duration_ms,"
                        " session, commit_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
            finally:
                db.close()
        except (ToolforgeError, sqlite3.Error, OSError) as exc:
            log.warning("usage records not saved to %s: %s", self.path, exc)
            return False
        return True

    # --- reads -----------------------------------------------------------------------------

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        # A read sees every call this process made, even ones a recorder still buffers.
        for recorder in list(_live_recorders):
            if recorder.store.path == self.path:
                recorder.flush()
        db = self._connect(write=False)
        if db is None:
            return []
        try:
            with guard(self.path):
                if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'calls'"
                              ).fetchone() is None:
                    return []  # created but never written
                return db.execute(sql, params).fetchall()
        finally:
            db.close()

    def hits(self, *, since: float | None = None, ok_only: bool = True,
             session: str | None = None) -> dict[str, int]:
        """Calls per tool (successful ones only, by default): the TRR@k and pruning count.
        `session` limits them to one session (e.g. one TTE run)."""
        sql = "SELECT tool, COUNT(*) FROM calls WHERE at >= ?"
        params: tuple[Any, ...] = (since or 0.0,)
        if ok_only:
            sql += " AND outcome = 'ok'"
        if session is not None:
            sql += " AND session = ?"
            params += (session,)
        rows = self._query(sql + " GROUP BY tool", params)
        return {str(tool): int(count) for tool, count in rows}

    def last_used(self) -> dict[str, float]:
        """When each tool was last called (unix seconds), whatever the outcome."""
        rows = self._query("SELECT tool, MAX(at) FROM calls GROUP BY tool")
        return {str(tool): float(at) for tool, at in rows}

    def stats(self, tool: str | None = None, *, since: float | None = None) -> list[ToolUsage]:
        """Per (tool, version): calls, errors, p50/p99 latency, first and last call."""
        sql = "SELECT tool, version, outcome, duration_ms, at, caller FROM calls WHERE at >= ?"
        params: tuple[Any, ...] = (since or 0.0,)
        if tool is not None:
            sql += " AND tool = ?"
            params += (tool,)
        groups: dict[tuple[str, int | None], list[tuple[str, float, float, str]]] = {}
        for name, version, outcome, duration, at, caller in self._query(sql, params):
            key = (str(name), None if version is None else int(version))
            groups.setdefault(key, []).append(
                (str(outcome), float(duration), float(at), str(caller)))
        result = []
        for (name, version), rows in sorted(groups.items(),
                                            key=lambda kv: (kv[0][0], kv[0][1] or 0)):
            durations = sorted(d for _, d, _, _ in rows)
            times = [at for _, _, at, _ in rows]
            callers: dict[str, int] = {}
            outcomes: dict[str, int] = {}
            for outcome, _, _, caller in rows:
                callers[caller] = callers.get(caller, 0) + 1
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
            result.append(ToolUsage(
                tool=name, version=version, calls=len(rows),
                errors=sum(1 for outcome, _, _, _ in rows if outcome != OK),
                p50_ms=_percentile(durations, 0.5), p99_ms=_percentile(durations, 0.99),
                first_at=min(times), last_at=max(times), callers=callers, outcomes=outcomes,
            ))
        return result

    def events(self, tool: str | None = None, *, since: float | None = None,
               session: str | None = None, limit: int = 1000) -> list[CallEvent]:
        """The most recent events, newest first (for audits and per-session views)."""
        sql = ("SELECT tool, version, caller, outcome, duration_ms, session, commit_id, at"
               " FROM calls WHERE at >= ?")
        params: tuple[Any, ...] = (since or 0.0,)
        if tool is not None:
            sql += " AND tool = ?"
            params += (tool,)
        if session is not None:
            sql += " AND session = ?"
            params += (session,)
        sql += " ORDER BY at DESC, id DESC LIMIT ?"
        params += (max(0, int(limit)),)
        return [
            CallEvent(tool=str(t), version=None if v is None else int(v),
                      caller=str(c), outcome=str(o), duration_ms=float(d),
                      session=None if s is None else str(s),
                      commit=None if cm is None else str(cm), at=float(at))
            for t, v, c, o, d, s, cm, at in self._query(sql, params)
        ]


class UsageRecorder:
    """Records events without making the caller wait for SQLite: events are buffered and a
    background thread writes them in batches (one transaction each), a moment after they
    arrive. `flush()` waits until everything recorded so far is stored; `close()` flushes
    and stops. Buffered events are also flushed at interpreter exit; a process killed
    outright loses at most the last `linger_s` of them."""

    def __init__(self, store: UsageStore, *, linger_s: float = 0.05,
                 max_buffer: int = 100_000) -> None:
        self.store = store
        self.linger_s = linger_s
        self.max_buffer = max_buffer
        self._pending: list[CallEvent] = []
        self._written = 0  # events handed to the store so far (stored or given up on)
        self._recorded = 0
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False
        self.dropped = 0
        _live_recorders.add(self)

    def record(self, event: CallEvent) -> None:
        with self._cond:
            if self._closed:
                self._write([event])
                return
            if len(self._pending) >= self.max_buffer:  # the store is stuck: do not grow forever
                self.dropped += 1
                return
            self._pending.append(event)
            self._recorded += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="usage-recorder",
                                                daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until every event recorded so far has been handed to the store."""
        with self._cond:
            target = self._recorded
            self._cond.notify_all()
            return self._cond.wait_for(lambda: self._written >= target, timeout_s)

    def close(self) -> None:
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(10)
        with self._cond:  # anything the thread did not get to
            rest, self._pending = self._pending, []
        self._write(rest)
        _live_recorders.discard(self)

    def _write(self, events: list[CallEvent]) -> None:
        if events:
            self.store.record_many(events)

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending or self._closed)
                if not self._pending and self._closed:
                    return
                if not self._closed:  # let a burst gather into one transaction
                    self._cond.wait(self.linger_s)
                batch, self._pending = self._pending, []
            self._write(batch)
            with self._cond:
                self._written += len(batch)
                self._cond.notify_all()


_live_recorders: weakref.WeakSet[UsageRecorder] = weakref.WeakSet()


@atexit.register
def _flush_recorders_at_exit() -> None:
    for recorder in list(_live_recorders):
        try:
            recorder.close()
        except Exception:  # exiting anyway; the store logs its own failures
            log.exception("usage recorder: final flush failed")
