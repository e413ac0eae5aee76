"""TTE's records, in the library's state db beside the trajectories (same WAL discipline).

- runs: one per `tte run` / `solve`, with its parameters and summary;
- problems: one per solved problem (group, reward, trajectory);
- events: what the loop did: retrieval hits and misses, syntheses, splits, dedup refusals,
  registrations, prunes, fallbacks, decomposition retries;
- sizes: the number of active tools after each problem (library size over time).

Tool calls themselves are usage records (toolforge.metrics.usage); TRR@k reads those.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from typing import Any

from pydantic import BaseModel, Field

from toolforge.evolve.trajectories import TrajectoryStore, ensure_schema, now_iso

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS tte_runs (
    id TEXT PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    mode TEXT NOT NULL,
    source_library TEXT,
    params TEXT NOT NULL DEFAULT '{}',
    summary TEXT
);
CREATE TABLE IF NOT EXISTS tte_problems (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    problem_id TEXT NOT NULL,
    group_name TEXT,
    reward REAL,
    correct INTEGER,
    decomposition TEXT NOT NULL,
    fallbacks INTEGER NOT NULL DEFAULT 0,
    trajectory_id TEXT,
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS tte_problems_run ON tte_problems (run_id, seq);
CREATE TABLE IF NOT EXISTS tte_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT,
    problem_id TEXT,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    tool TEXT,
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS tte_events_run ON tte_events (run_id, kind);
CREATE TABLE IF NOT EXISTS tte_sizes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT,
    at TEXT NOT NULL,
    size INTEGER NOT NULL
)
"""

EVENT_KINDS = (
    "retrieval_hit", "retrieval_miss", "retrieval_declined", "synthesized",
    "synthesis_failed", "split", "split_refused", "dedup_refused", "registered", "pruned",
    "fallback", "decomposition_retry", "decomposition_fallback", "transferred",
)


class RunRecord(BaseModel):
    id: str
    started_at: str
    finished_at: str | None = None
    mode: str
    source_library: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    summary: dict[str, Any] | None = None


class GroupAccuracy(BaseModel):
    group: str
    problems: int
    scored: int
    correct: int

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.scored if self.scored else None


class TteLog:
    def __init__(self, store: TrajectoryStore) -> None:
        self.store = store
        ensure_schema(store.db_path, "tte", SCHEMA_VERSION, _SCHEMA)

    # --- writes ------------------------------------------------------------------------------

    def start_run(self, mode: str, params: dict[str, Any], source_library: str | None = None
                  ) -> str:
        run_id = uuid.uuid4().hex
        with self.store.transaction() as conn:
            conn.execute("INSERT INTO tte_runs (id, started_at, mode, source_library, params) "
                         "VALUES (?, ?, ?, ?, ?)",
                         (run_id, now_iso(), mode, source_library, json.dumps(params)))
        return run_id

    def finish_run(self, run_id: str, summary: dict[str, Any]) -> None:
        with self.store.transaction() as conn:
            conn.execute("UPDATE tte_runs SET finished_at = ?, summary = ? WHERE id = ?",
                         (now_iso(), json.dumps(summary, default=str), run_id))

    def event(self, run_id: str | None, problem_id: str | None, kind: str,
              tool: str | None = None, **detail: Any) -> None:
        with self.store.transaction() as conn:
            conn.execute("INSERT INTO tte_events (run_id, problem_id, at, kind, tool, detail) "
                         "VALUES (?, ?, ?, ?, ?, ?)",
                         (run_id, problem_id, now_iso(), kind, tool,
                          json.dumps(detail, default=str)))

    def problem(self, run_id: str, problem_id: str, group: str | None, reward: float | None,
                correct: bool | None, decomposition: str, fallbacks: int,
                trajectory_id: str | None) -> None:
        with self.store.transaction() as conn:
            conn.execute(
                "INSERT INTO tte_problems (run_id, problem_id, group_name, reward, correct, "
                "decomposition, fallbacks, trajectory_id, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, problem_id, group, reward, None if correct is None else int(correct),
                 decomposition, fallbacks, trajectory_id, now_iso()))

    def size(self, run_id: str | None, size: int) -> None:
        with self.store.transaction() as conn:
            conn.execute("INSERT INTO tte_sizes (run_id, at, size) VALUES (?, ?, ?)",
                         (run_id, now_iso(), size))

    # --- reads -------------------------------------------------------------------------------

    def runs(self, limit: int = 20) -> list[RunRecord]:
        return self._runs("ORDER BY started_at DESC LIMIT ?", (limit,))

    def run(self, id_or_prefix: str) -> RunRecord | None:
        """By id or unique prefix (a range scan: `_` and `%` are literal)."""
        key = id_or_prefix.strip()
        if not key:
            return None
        found = self._runs("WHERE id >= ? AND id < ? ORDER BY id LIMIT 2",
                           (key, key + "\uffff"))
        return found[0] if len(found) == 1 else None

    def _runs(self, where: str, params: tuple[Any, ...]) -> list[RunRecord]:
        with self.store.reading() as conn:
            rows = conn.execute("SELECT id, started_at, finished_at, mode, source_library, "
                                f"params, summary FROM tte_runs {where}", params).fetchall()
        return [RunRecord(id=r[0], started_at=r[1], finished_at=r[2], mode=r[3],
                          source_library=r[4], params=json.loads(r[5] or "{}"),
                          summary=json.loads(r[6]) if r[6] else None) for r in rows]

    def event_counts(self, run_id: str | None = None) -> dict[str, int]:
        sql = "SELECT kind, COUNT(*) FROM tte_events"
        params: tuple[Any, ...] = ()
        if run_id is not None:
            sql += " WHERE run_id = ?"
            params = (run_id,)
        with self.store.reading() as conn:
            rows = conn.execute(sql + " GROUP BY kind", params).fetchall()
        counts = Counter({str(k): int(n) for k, n in rows})
        return {kind: counts.get(kind, 0) for kind in EVENT_KINDS}

    def events(self, run_id: str | None = None, kind: str | None = None,
               limit: int = 1000) -> list[dict[str, Any]]:
        sql = "SELECT run_id, problem_id, at, kind, tool, detail FROM tte_events WHERE 1=1"
        params: list[Any] = []
        if run_id is not None:
            sql += " AND run_id = ?"
            params.append(run_id)
        if kind is not None:
            sql += " AND kind = ?"
            params.append(kind)
        sql += " ORDER BY seq LIMIT ?"
        params.append(limit)
        with self.store.reading() as conn:
            rows = conn.execute(sql, params).fetchall()
        return [{"run": r[0], "problem": r[1], "at": r[2], "kind": r[3], "tool": r[4],
                 "detail": json.loads(r[5] or "{}")} for r in rows]

    def sizes(self, run_id: str | None = None) -> list[tuple[str, int]]:
        sql = "SELECT at, size FROM tte_sizes"
        params: tuple[Any, ...] = ()
        if run_id is not None:
            sql += " WHERE run_id = ?"
            params = (run_id,)
        with self.store.reading() as conn:
            rows = conn.execute(sql + " ORDER BY seq", params).fetchall()
        return [(str(at), int(size)) for at, size in rows]

    def accuracy(self, run_id: str | None = None) -> list[GroupAccuracy]:
        sql = "SELECT group_name, COUNT(*), COUNT(correct), COALESCE(SUM(correct), 0) " \
              "FROM tte_problems"
        params: tuple[Any, ...] = ()
        if run_id is not None:
            sql += " WHERE run_id = ?"
            params = (run_id,)
        with self.store.reading() as conn:
            rows = conn.execute(sql + " GROUP BY group_name ORDER BY group_name",
                                params).fetchall()
        return [GroupAccuracy(group=g or "(none)", problems=int(n), scored=int(s),
                              correct=int(c)) for g, n, s, c in rows]
