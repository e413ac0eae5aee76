"""Job records in SQLite (`<library>/.toolforge/jobs.sqlite`, ignored by git), so
`toolforge jobs` still shows them after the daemon restarts. Written on every state change;
a job that was queued or running when the daemon died is marked failed on the next start."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

from toolforge.daemon.models import JobInfo

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
    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = path
        self._lock = threading.Lock()
        if readonly:
            self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True,
                                       check_same_thread=False)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(SCHEMA)
            self._add_missing_columns()

    def _add_missing_columns(self) -> None:
        """A file written by an older daemon lacks newer (nullable) columns: add them."""
        have = {row[1] for row in self._db.execute("PRAGMA table_info(jobs)")}
        for column in COLUMNS:
            if column not in have:
                self._db.execute(f"ALTER TABLE jobs ADD COLUMN {column} TEXT")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def max_id(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT MAX(id) FROM jobs").fetchone()
        return int(row[0] or 0)

    def mark_interrupted(self, now: str) -> int:
        """Jobs left queued/running by a daemon that died: failed, "daemon stopped"."""
        with self._lock:
            cur = self._db.execute(
                "UPDATE jobs SET state='failed', error=?, finished_at=? "
                "WHERE state IN ('queued', 'running')", (DAEMON_STOPPED, now))
        return cur.rowcount

    def save(self, job: JobInfo, log: list[str]) -> None:
        row = (job.id, job.kind, job.tool, job.state, json.dumps(job.params), job.created_at,
               job.started_at, job.finished_at,
               None if job.result is None else json.dumps(job.result), job.error,
               job.error_kind, job.error_hint, "\n".join(log))
        with self._lock:
            self._db.execute(
                f"INSERT OR REPLACE INTO jobs ({', '.join(COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(COLUMNS))})", row)

    def get(self, job_id: int) -> JobInfo | None:
        with self._lock:
            row = self._db.execute(f"SELECT {', '.join(COLUMNS)} FROM jobs WHERE id=?",
                                   (job_id,)).fetchone()
        return None if row is None else _job(row, with_log=True)

    def list(self, limit: int = 50) -> list[JobInfo]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {', '.join(COLUMNS)} FROM jobs ORDER BY id DESC LIMIT ?", (limit,)
            ).fetchall()
        return [_job(r, with_log=False) for r in rows]


def _job(row: tuple[Any, ...], *, with_log: bool) -> JobInfo:
    d = dict(zip(COLUMNS, row, strict=True))
    d["params"] = json.loads(d["params"] or "{}")
    d["result"] = None if d["result"] is None else json.loads(d["result"])
    log = d.pop("log") or ""
    d["log"] = (log.split("\n") if log else []) if with_log else None
    return JobInfo.model_validate(d)
