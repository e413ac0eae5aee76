"""In-memory accounting of LLM calls: tokens, cost and latency, per call and per cycle.

Persistence belongs to metrics/; it reads :meth:`UsageLedger.records`. The current cycle is
a ContextVar, so threads (and asyncio tasks) running different evolution cycles at the same
time tag their calls correctly without passing a cycle id through every layer.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field


class CallRecord(BaseModel):
    """One LLM call as seen by the caller (retries included in latency and attempts)."""

    model_config = ConfigDict(frozen=True)

    role: str  # a Role, or "embedding"
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    cost_known: bool = True
    latency_ms: float = 0.0
    ok: bool = True
    error: str | None = None
    attempts: int = 1
    cycle_id: str | None = None
    timestamp: datetime = Field(default_factory=lambda: datetime.now(UTC))

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class UsageTotals(BaseModel):
    model_config = ConfigDict(frozen=True)

    calls: int = 0
    failed_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cost_usd: float = 0.0
    # False as soon as one call's price was unknown: the cost is then a lower bound.
    cost_known: bool = True
    latency_ms: float = 0.0


class UsageLedger:
    """Thread-safe list of :class:`CallRecord` with per-cycle tagging."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[CallRecord] = []
        # One ContextVar per ledger, so two ledgers never see each other's cycle.
        self._cycle: ContextVar[str | None] = ContextVar(
            f"toolforge_cycle_{id(self)}", default=None
        )

    @contextmanager
    def cycle(self, cycle_id: str) -> Iterator[str]:
        """Tag every call recorded in this context (this thread/task only) with ``cycle_id``."""
        token = self._cycle.set(cycle_id)
        try:
            yield cycle_id
        finally:
            self._cycle.reset(token)

    @property
    def current_cycle(self) -> str | None:
        return self._cycle.get()

    def record(self, record: CallRecord) -> CallRecord:
        """Store ``record``, tagging it with the current cycle unless it names one."""
        if record.cycle_id is None and (cycle := self._cycle.get()) is not None:
            record = record.model_copy(update={"cycle_id": cycle})
        with self._lock:
            self._records.append(record)
        return record

    def records(self, cycle_id: str | None = None) -> list[CallRecord]:
        """A snapshot of the records, optionally only one cycle's."""
        with self._lock:
            snapshot = list(self._records)
        if cycle_id is None:
            return snapshot
        return [r for r in snapshot if r.cycle_id == cycle_id]

    def cycles(self) -> list[str]:
        """Cycle ids in order of first appearance."""
        seen: dict[str, None] = {}
        for rec in self.records():
            if rec.cycle_id is not None:
                seen.setdefault(rec.cycle_id, None)
        return list(seen)

    def totals(self, cycle_id: str | None = None, *, role: str | None = None) -> UsageTotals:
        """Sum over all records, or one cycle's, optionally one role's."""
        recs = [r for r in self.records(cycle_id) if role is None or r.role == role]
        return UsageTotals(
            calls=len(recs),
            failed_calls=sum(not r.ok for r in recs),
            prompt_tokens=sum(r.prompt_tokens for r in recs),
            completion_tokens=sum(r.completion_tokens for r in recs),
            total_tokens=sum(r.total_tokens for r in recs),
            cost_usd=sum(r.cost_usd for r in recs),
            cost_known=all(r.cost_known for r in recs),
            latency_ms=sum(r.latency_ms for r in recs),
        )

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)
