"""A worker's record of the log entries it took, in the library's state db.

One row per entry: the trajectory it carried and whether this worker acknowledged it yet.
The row is written before the trajectory is stored: a worker killed in between finds the
row when it comes back, and either gets the entry handed back (a known trajectory id counts
as stored) or sees that another worker took it over. On start, and every so often, a
worker asks the log who holds each entry it has not acknowledged, and drops its copies of
those another worker holds, so that every run is stored once across the workers.
"""

from __future__ import annotations

from toolforge.evolve.trajectories import TrajectoryStore, ensure_schema, now_iso

INBOX_SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS queue_inbox (
    entry_id TEXT NOT NULL,
    log TEXT NOT NULL,
    trajectory_id TEXT,
    state TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (log, entry_id)
);
CREATE INDEX IF NOT EXISTS queue_inbox_trajectory ON queue_inbox (trajectory_id, state)
"""


class Inbox:
    def __init__(self, store: TrajectoryStore, log: str) -> None:
        self.store = store
        self.log = log
        ensure_schema(store.db_path, "queue_inbox", INBOX_SCHEMA_VERSION, _SCHEMA)

    def add(self, entry_id: str, trajectory_id: str | None) -> None:
        with self.store.transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO queue_inbox VALUES (?, ?, ?, 'held', ?)",
                         (entry_id, self.log, trajectory_id, now_iso()))

    def held(self) -> dict[str, str | None]:
        """entry id -> trajectory id, for the entries not acknowledged yet."""
        with self.store.reading() as conn:
            rows = conn.execute("SELECT entry_id, trajectory_id FROM queue_inbox "
                                "WHERE log = ? AND state = 'held'", (self.log,)).fetchall()
        return {e: t for e, t in rows}

    def entries_for(self, trajectory_ids: list[str]) -> list[str]:
        """The held entries that carried these trajectories."""
        out: list[str] = []
        with self.store.reading() as conn:
            for i in range(0, len(trajectory_ids), 500):
                chunk = trajectory_ids[i:i + 500]
                marks = ", ".join("?" for _ in chunk)
                out += [r[0] for r in conn.execute(
                    f"SELECT entry_id FROM queue_inbox WHERE log = ? AND state = 'held' "
                    f"AND trajectory_id IN ({marks})", (self.log, *chunk))]
        return out

    def acked(self, entry_ids: list[str]) -> None:
        self._set_state(entry_ids, "acked")

    def drop(self, entry_ids: list[str]) -> int:
        """Forget entries another worker took over, with the trajectories they stored
        here (unless another entry this worker keeps carried the same trajectory)."""
        if not entry_ids:
            return 0
        held = self.held()
        gone = {held[e] for e in entry_ids if held.get(e)}
        dropped = set(entry_ids)
        with self.store.reading() as conn:
            keep = {t for e, t in conn.execute(
                "SELECT entry_id, trajectory_id FROM queue_inbox WHERE log = ?", (self.log,))
                if e not in dropped and t}
        with self.store.transaction() as conn:
            for i in range(0, len(entry_ids), 500):
                chunk = entry_ids[i:i + 500]
                marks = ", ".join("?" for _ in chunk)
                conn.execute(f"DELETE FROM queue_inbox WHERE log = ? AND entry_id IN ({marks})",
                             (self.log, *chunk))
        return self.store.forget(t for t in gone - keep if t is not None)

    def _set_state(self, entry_ids: list[str], state: str) -> None:
        with self.store.transaction() as conn:
            for i in range(0, len(entry_ids), 500):
                chunk = entry_ids[i:i + 500]
                marks = ", ".join("?" for _ in chunk)
                conn.execute(f"UPDATE queue_inbox SET state = ? WHERE log = ? "
                             f"AND entry_id IN ({marks})", (state, self.log, *chunk))
