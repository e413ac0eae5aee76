"""When to run an evolution cycle (ARISE's trigger), and the log of cycles run.

Rules, in order (docs/tasks.md#triggers):
1. no unhandled failure -> never fire: success streaks do not evolve the library;
2. fire when unhandled failures >= failure_threshold, or on a plateau (the mean reward of
   the last W scored runs is below the reward threshold and improved by no more than the
   minimum over the W runs before);
3. but not past max_cycles_per_hour (the reason says so);
``decide(..., manual=True)`` (``toolforge evolve``) fires regardless.

A cycle *consumes* the failures it analyses: :meth:`CycleLog.start` marks them handled in
the same transaction that records the cycle, so two workers never analyse the same failures
and a consumed failure never counts towards the next trigger.

The claim is a lease (holder + expiry, renewed while the cycle lives: evolve/lease.py). A
cycle that is interrupted gives back what it did not finish (:meth:`CycleLog.abort`); one
whose process died is aborted, and its failures given back, by whoever next looks at the
unhandled failures after its lease ran out (`TrajectoryStore.reclaim_expired`).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from toolforge.errors import NotFoundError
from toolforge.evolve.trajectories import (
    TrajectoryStore,
    ensure_schema,
    mark_handled_in,
    normalize_time,
    now_iso,
    release_in,
)

CYCLES_SCHEMA_VERSION = 1
DEFAULT_LEASE_S = 180.0  # `[evolution] lease_s` of the user config
_SCHEMA = """
CREATE TABLE IF NOT EXISTS cycles (
    id TEXT PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL,
    reason TEXT NOT NULL,
    trajectory_ids TEXT NOT NULL,
    summary TEXT,
    error TEXT,
    prompt_tokens INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd REAL NOT NULL DEFAULT 0,
    lease_holder TEXT,
    lease_expires TEXT
);
CREATE INDEX IF NOT EXISTS cycles_started ON cycles (started_at)
"""
# Columns added since v1 of the table, added in place (older toolforges ignore them).
_LEASE_COLUMNS = {"lease_holder": "TEXT", "lease_expires": "TEXT"}


class TriggerPolicy(BaseModel):
    model_config = ConfigDict(extra="ignore")

    failure_threshold: int = Field(default=5, ge=1)
    reward_threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    plateau_window: int = Field(default=10, ge=1)
    plateau_min_improvement: float = Field(default=0.05, ge=0.0)
    max_cycles_per_hour: int = Field(default=3, ge=0)

    @classmethod
    def from_settings(cls, settings: Any) -> TriggerPolicy:
        """From LibrarySettings: its failure/reward thresholds and its ``[evolve]`` table
        (both already checked strictly when toolforge.toml was read)."""
        return cls.model_validate({
            "failure_threshold": settings.failure_threshold,
            "reward_threshold": settings.reward_threshold,
            **settings.evolve.model_dump(),
        })


class TriggerDecision(BaseModel):
    fire: bool
    reason: str
    failure_ids: list[str] = Field(default_factory=list)  # oldest first


class CycleRecord(BaseModel):
    id: str
    started_at: str
    finished_at: str | None = None
    status: str  # running | done | failed | aborted
    reason: str
    trajectory_ids: list[str]
    summary: Any = None
    error: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    lease_holder: str | None = None  # host:pid of the process running it
    lease_expires: str | None = None  # its claim lapses then unless renewed


_CYCLE_COLUMNS = tuple(CycleRecord.model_fields)


class CycleLog:
    """Evolution cycles, in the same state db as the trajectories they consume."""

    def __init__(self, store: TrajectoryStore | str | Path) -> None:
        self.store = store if isinstance(store, TrajectoryStore) else TrajectoryStore(store)
        ensure_schema(self.store.db_path, "cycles", CYCLES_SCHEMA_VERSION, _SCHEMA)
        self._add_lease_columns()

    def _add_lease_columns(self) -> None:
        """A cycle log written before leases existed gets their columns."""
        with self.store.reading() as conn:
            have = {r[1] for r in conn.execute("PRAGMA table_info(cycles)")}
        if not set(_LEASE_COLUMNS) - have:
            return
        with self.store.transaction() as conn:  # re-read: another process may have won
            have = {r[1] for r in conn.execute("PRAGMA table_info(cycles)")}
            for column, kind in _LEASE_COLUMNS.items():
                if column not in have:
                    conn.execute(f"ALTER TABLE cycles ADD COLUMN {column} {kind}")

    def start(self, reason: str, trajectory_ids: list[str], *,
              now: datetime | None = None, holder: str | None = None,
              lease_s: float = DEFAULT_LEASE_S) -> str:
        """Record a running cycle and claim its failures, atomically, on a lease of
        `lease_s` seconds held by `holder` (renew it with :meth:`renew`). Failures another
        cycle claimed first are left out of this cycle's list (see :meth:`get`)."""
        cycle_id = uuid.uuid4().hex
        started = normalize_time(now) if now else now_iso()
        with self.store.transaction() as conn:
            claimed = mark_handled_in(conn, list(trajectory_ids), cycle_id)
            conn.execute(
                "INSERT INTO cycles (id, started_at, status, reason, trajectory_ids, "
                "lease_holder, lease_expires) VALUES (?, ?, 'running', ?, ?, ?, ?)",
                (cycle_id, started, reason, json.dumps(claimed), holder,
                 _expiry(lease_s)),
            )
        return cycle_id

    def renew(self, cycle_id: str, holder: str | None, lease_s: float,
              usage: Any = None) -> bool:
        """Extend a running cycle's lease, recording what it has spent so far (so a
        cycle whose process dies keeps its cost). False when the lease is no longer this
        holder's: the cycle was aborted (its lease ran out) or finished."""
        prompt, completion, cost = _spend(usage)
        summary = json.dumps({"usage": usage.model_dump(mode="json")}) \
            if isinstance(usage, BaseModel) else None
        with self.store.transaction() as conn:
            return bool(conn.execute(
                "UPDATE cycles SET lease_expires = ?, prompt_tokens = ?, "
                "completion_tokens = ?, cost_usd = ?, summary = COALESCE(?, summary) "
                "WHERE id = ? AND status = 'running' AND lease_holder IS ?",
                (_expiry(lease_s), prompt, completion, cost, summary, cycle_id, holder),
            ).rowcount)

    def abort(self, cycle_id: str, error: str, *, keep: list[str] | tuple[str, ...] = (),
              summary: Any = None, usage: Any = None) -> tuple[CycleRecord, int]:
        """Close an interrupted cycle as `aborted` with what it spent, and give back its
        failures except `keep` (those it finished with). Returns the record and how many
        failures were given back. A cycle no longer running is left as it is."""
        if isinstance(summary, BaseModel):
            summary = summary.model_dump(mode="json")
        prompt, completion, cost = _spend(usage)
        with self.store.transaction() as conn:
            row = conn.execute("SELECT status FROM cycles WHERE id = ?", (cycle_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"no evolution cycle {cycle_id!r}")
            given = 0
            if row[0] == "running":
                given = release_in(conn, cycle_id, keep)
                kept = [r[0] for r in conn.execute(
                    "SELECT id FROM trajectories WHERE handled_by = ?", (cycle_id,))]
                conn.execute(
                    "UPDATE cycles SET finished_at = ?, status = 'aborted', error = ?, "
                    "summary = COALESCE(?, summary), trajectory_ids = ?, "
                    "prompt_tokens = MAX(prompt_tokens, ?), "
                    "completion_tokens = MAX(completion_tokens, ?), "
                    "cost_usd = MAX(cost_usd, ?) WHERE id = ?",
                    (now_iso(), error, None if summary is None else
                     json.dumps(summary, default=repr), json.dumps(kept), prompt, completion,
                     cost, cycle_id))
        return self.get(cycle_id), given

    def reclaim_expired(self) -> list[str]:
        """Abort the cycles whose lease ran out and give their failures back."""
        return self.store.reclaim_expired()

    def finish(self, cycle_id: str, summary: Any = None, *, error: str | None = None,
               usage: Any = None, cost_usd: float | None = None,
               release_failures: bool = False) -> CycleRecord:
        """Close a cycle with its summary (JSON data or a pydantic model) and cost.

        ``usage`` may be a :class:`toolforge.llm.usage.UsageTotals` (tokens and cost);
        ``error`` marks the cycle failed, and ``release_failures`` hands its failures back
        to the trigger (for a cycle that never got to analyse them).
        """
        if isinstance(summary, BaseModel):
            summary = summary.model_dump(mode="json")
        prompt, completion, spent = _spend(usage)
        if cost_usd is None:
            cost_usd = spent
        with self.store.transaction() as conn:
            # A cycle aborted meanwhile (its lease ran out) stays aborted: its failures
            # went back, maybe to another cycle.
            updated = conn.execute(
                "UPDATE cycles SET finished_at = ?, "
                "status = CASE status WHEN 'aborted' THEN status ELSE ? END, summary = ?, "
                "error = CASE status WHEN 'aborted' THEN error ELSE ? END, "
                "prompt_tokens = ?, completion_tokens = ?, cost_usd = ? WHERE id = ?",
                (now_iso(), "failed" if error else "done",
                 json.dumps(summary, default=repr), error, prompt, completion, cost_usd,
                 cycle_id),
            ).rowcount
            if not updated:
                raise NotFoundError(f"no evolution cycle {cycle_id!r}")
            if release_failures:
                release_in(conn, cycle_id)
        return self.get(cycle_id)

    def get(self, cycle_id: str) -> CycleRecord:
        with self.store.reading() as conn:
            row = conn.execute(f"SELECT {', '.join(_CYCLE_COLUMNS)} FROM cycles WHERE id = ?",
                               (cycle_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no evolution cycle {cycle_id!r}")
        return _cycle(row)

    def recent(self, n: int = 10) -> list[CycleRecord]:
        """The last ``n`` cycles, newest first (a dead cycle's lease that ran out is
        reclaimed first, so it shows as aborted)."""
        self.reclaim_expired()
        with self.store.reading() as conn:
            rows = conn.execute(
                f"SELECT {', '.join(_CYCLE_COLUMNS)} FROM cycles "
                "ORDER BY started_at DESC, rowid DESC LIMIT ?", (n,)).fetchall()
        return [_cycle(r) for r in rows]

    def spent_since(self, ts: str | datetime) -> tuple[int, float, int]:
        """(tokens, USD, cycles) of the cycles started at or after `ts` (budgets)."""
        with self.store.reading() as conn:
            tokens, usd, count = conn.execute(
                "SELECT COALESCE(SUM(prompt_tokens + completion_tokens), 0), "
                "COALESCE(SUM(cost_usd), 0), COUNT(*) FROM cycles WHERE started_at >= ?",
                (normalize_time(ts),)).fetchone()
        return int(tokens), float(usd), int(count)

    def started_since(self, ts: str | datetime) -> list[str]:
        """Start times of the cycles started at or after `ts`, oldest first."""
        with self.store.reading() as conn:
            rows = conn.execute("SELECT started_at FROM cycles WHERE started_at >= ? "
                                "ORDER BY started_at", (normalize_time(ts),)).fetchall()
        return [r[0] for r in rows]

    def recent_costs(self, n: int = 5) -> list[tuple[int, float]]:
        """(tokens, USD) of the last `n` finished cycles that called a model, newest first:
        what the next cycle will probably cost."""
        with self.store.reading() as conn:
            rows = conn.execute(
                "SELECT prompt_tokens + completion_tokens, cost_usd FROM cycles "
                "WHERE finished_at IS NOT NULL AND prompt_tokens + completion_tokens > 0 "
                "ORDER BY started_at DESC LIMIT ?", (n,)).fetchall()
        return [(int(t), float(u)) for t, u in rows]

    def count_since(self, ts: str | datetime) -> int:
        with self.store.reading() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM cycles WHERE started_at >= ?",
                                    (normalize_time(ts),)).fetchone()[0])


def _expiry(lease_s: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=lease_s)).isoformat(timespec="microseconds")


def _spend(usage: Any) -> tuple[int, int, float]:
    """(prompt tokens, completion tokens, USD) of a UsageTotals (or nothing)."""
    return (int(getattr(usage, "prompt_tokens", 0) or 0),
            int(getattr(usage, "completion_tokens", 0) or 0),
            float(getattr(usage, "cost_usd", 0.0) or 0.0))


def _cycle(row: tuple[Any, ...]) -> CycleRecord:
    doc = dict(zip(_CYCLE_COLUMNS, row, strict=True))
    doc["trajectory_ids"] = json.loads(doc["trajectory_ids"])
    doc["summary"] = json.loads(doc["summary"]) if doc["summary"] is not None else None
    return CycleRecord.model_validate(doc)


def decide(store: TrajectoryStore, cycles: CycleLog, policy: TriggerPolicy,
           now: datetime | None = None, *, manual: bool = False) -> TriggerDecision:
    """Whether to start a cycle now, why, and which failures it would consume."""
    failures = store.unhandled_failures(policy.reward_threshold)
    ids = [t.id for t in failures]
    if manual:
        return TriggerDecision(fire=True, reason=f"manual: {len(ids)} unhandled failures",
                               failure_ids=ids)
    n, need = len(ids), policy.failure_threshold
    if n >= need:
        reason = f"failure_threshold: {n} unhandled failures >= {need}"
    elif n and (plateau := _plateau(store, policy)) is not None:
        reason = plateau
    else:
        # Covers success streaks: without an unhandled failure nothing ever fires.
        return TriggerDecision(fire=False, reason=f"not enough failures ({n}/{need})")
    now = now or datetime.now(UTC)
    recent = cycles.count_since(now - timedelta(hours=1))
    if recent >= policy.max_cycles_per_hour:
        return TriggerDecision(
            fire=False, failure_ids=ids,
            reason=f"rate limit: {recent} cycles in the last hour (would fire: {reason})",
        )
    return TriggerDecision(fire=True, reason=reason, failure_ids=ids)


def _plateau(store: TrajectoryStore, policy: TriggerPolicy) -> str | None:
    w = policy.plateau_window
    rewards = store.recent_rewards(2 * w)
    if len(rewards) < 2 * w:
        return None  # too little history to call anything a plateau
    last, before = sum(rewards[:w]) / w, sum(rewards[w:]) / w
    if last - before > policy.plateau_min_improvement or last >= policy.reward_threshold:
        return None
    return (f"plateau: mean reward over last {w} runs improved < "
            f"{policy.plateau_min_improvement:g} and below threshold "
            f"({before:.2f} -> {last:.2f}, threshold {policy.reward_threshold:g})")
