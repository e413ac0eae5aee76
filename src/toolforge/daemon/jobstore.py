"""Job records in SQLite (`<library>/.toolforge/jobs.sqlite`, ignored by git), so
`toolforge jobs` still shows them after the daemon restarts. Written on every state change;
a job that was queued or running when the daemon died is marked failed on the next start."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from toolforge.daemon.models import JobInfo
from toolforge.errors import StateDamagedError
from toolforge.statedb import guard, open_db, open_reader

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    tool TEXT,
    state TEXT NOT NULL,
    params TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    result TEXT,
    error TEXT,
    error_kind TEXT,
    error_hint TEXT,
    log TEXT NOT NULL DEFAULT ''
)
"""
COLUMNS = ("id", "kind", "tool", "state", "params", "created_at", "started_at", "finished_at",
           "result", "error", "error_kind", "error_hint", "log")
DAEMON_STOPPED = "daemon stopped"


class JobStore:
    """A damaged file is moved aside and a new one started (statedb): the records are a
    log of what happened, not state that anything depends on."""

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = path
        self.readonly = readonly
        self._lock = threading.Lock()
        self._db = self._open()

    def _open(self) -> sqlite3.Connection | None:
        if self.readonly:
            return open_reader(self.path, check_same_thread=False)
        return open_db(self.path, setup=self._setup, isolation_level=None,
                       check_same_thread=False)

    def _setup(self, db: sqlite3.Connection) -> None:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute(SCHEMA)
        # A file written by an older daemon lacks newer (nullable) columns: add them.
        have = {row[1] for row in db.execute("PRAGMA table_info(jobs)")}
        for column in COLUMNS:
            if column not in have:
                db.execute(f"ALTER TABLE jobs ADD COLUMN {column} TEXT")

    def _run(self, fn: Callable[[sqlite3.Connection], T], empty: T) -> T:
        """`fn` on the connection; damage found meanwhile moves the file aside and `fn`
        runs once more on a new one (a reader reads nothing instead)."""
        with self._lock:
            for attempt in (1, 2):
                if self._db is None:
                    return empty
                try:
                    with guard(self.path):
                        return fn(self._db)
                except StateDamagedError:
                    self._db.close()
                    self._db = None if self.readonly else self._open()
                    if attempt == 2:
                        raise
        return empty

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()

    def max_id(self) -> int:
        row = self._run(lambda db: db.execute("SELECT MAX(id) FROM jobs").fetchone(), None)
        return int(row[0] or 0) if row else 0

    def mark_interrupted(self, now: str) -> int:
        """Jobs left queued/running by a daemon that died: failed, "daemon stopped"."""
        return self._run(lambda db: db.execute(
            "UPDATE jobs SET state='failed', error=?, finished_at=? "
            "WHERE state IN ('queued', 'running')", (DAEMON_STOPPED, now)).rowcount, 0)

    def save(self, job: JobInfo, log: list[str]) -> None:
        row = (job.id, job.kind, job.tool, job.state, json.dumps(job.params), job.created_at,
               job.started_at, job.finished_at,
               None if job.result is None else json.dumps(job.result), job.error,
               job.error_kind, job.error_hint, "\n".join(log))
        self._run(lambda db: db.execute(
            f"INSERT OR REPLACE INTO jobs ({', '.join(COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(COLUMNS))})", row), None)

    def get(self, job_id: int) -> JobInfo | None:
        if not 0 < job_id < 2**63:  # SQLite's integers: any other id names no job
            return None
        row = self._run(lambda db: db.execute(
            f"SELECT {', '.join(COLUMNS)} FROM jobs WHERE id=?", (job_id,)).fetchone()
            if _has_jobs(db) else None, None)
        return None if row is None else _job(row, with_log=True)

    def list(self, limit: int = 50) -> list[JobInfo]:
        none: list[tuple[Any, ...]] = []
        rows = self._run(lambda db: db.execute(
            f"SELECT {', '.join(COLUMNS)} FROM jobs ORDER BY id DESC LIMIT ?", (limit,)
        ).fetchall() if _has_jobs(db) else none, none)
        return [_job(r, with_log=False) for r in rows]


def _has_jobs(db: sqlite3.Connection) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE name = 'jobs'").fetchone() is not None


def _job(row: tuple[Any, ...], *, with_log: bool) -> JobInfo:
    d = dict(zip(COLUMNS, row, strict=True))
    d["params"] = json.loads(d["params"] or "{}")
    d["result"] = None if d["result"] is None else json.loads(d["result"])
    log = d.pop("log") or ""
    d["log"] = (log.split("\n") if log else []) if with_log else None
    return JobInfo.model_validate(d)
