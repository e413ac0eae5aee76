"""The trajectory log: how runs reported on many machines reach the evolution workers.

A small interface, so that Redis Streams (`redis_streams.py`) is one implementation and
NATS JetStream or SQS could be others (docs/architecture.md says how each maps):

- agents `append` trajectories (Redis: XADD);
- workers `read` new entries as one consumer of a group (XREADGROUP), each entry handed to
  one worker; a worker that restarts first takes back its own `pending` entries;
- a worker `ack`s an entry only once what it caused is persisted: stored, and the cycle
  that consumed it committed and published (or the entry deliberately skipped);
- a worker `renew`s the entries it holds while it works on them; entries a dead worker
  held are taken over with `claim_stale` once they have gone unrenewed for a while
  (XAUTOCLAIM);
- `holders` says who holds or acknowledged an entry, so a worker coming back can drop its
  copies of entries another worker took over (every run stored exactly once);
- `remember_cycle` / `finished_cycles` record which cycle consumed which entries, so a
  worker that takes over entries of a finished cycle does not run that cycle again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class LogEntry:
    id: str  # the log's own id of the entry (a stream id for Redis)
    data: dict[str, Any] | None  # the reported trajectory; None when it cannot be decoded
    deliveries: int = 1  # how many times the entry was handed out (>1: taken over)
    problem: str | None = None  # why `data` is None


@dataclass
class LogStats:
    name: str
    length: int = 0
    pending: int = 0
    consumers: dict[str, int] = field(default_factory=dict)  # consumer -> entries held
    last_delivered: str | None = None


class TrajectoryLog(Protocol):
    name: str  # for messages: where the log is (no credentials)

    def append(self, documents: list[dict[str, Any]]) -> list[str]:
        """Add trajectories (JSON documents); their entry ids, in order."""
        ...

    def read(self, consumer: str, *, count: int, block_s: float) -> list[LogEntry]:
        """Entries no consumer of the group has had yet, now this consumer's; waits up to
        `block_s` for one to arrive."""
        ...

    def pending(self, consumer: str, *, count: int, after: str | None = None
                ) -> list[LogEntry]:
        """Entries this consumer holds and has not acknowledged (after a restart), in log
        order, from after the entry `after` on (to page through them)."""
        ...

    def claim_stale(self, consumer: str, *, idle_s: float, count: int) -> list[LogEntry]:
        """Take over entries other consumers have held unrenewed for `idle_s` or more."""
        ...

    def renew(self, consumer: str) -> int:
        """Reset the idle time of every entry this consumer holds (its lease)."""
        ...

    def ack(self, consumer: str, ids: list[str]) -> list[str]:
        """Acknowledge entries this consumer holds; the ids acknowledged (entries another
        consumer took over meanwhile are left to it)."""
        ...

    def holders(self, ids: list[str]) -> dict[str, str | None]:
        """Who holds, or acknowledged, each entry (None: nobody known)."""
        ...

    def reject(self, consumer: str, entry: LogEntry, reason: str) -> None:
        """Set an entry that cannot be used aside (a dead-letter log) and acknowledge it."""
        ...

    def remember_cycle(self, cycle_id: str, ids: list[str]) -> None:
        """Record that `cycle_id` consumes these entries."""
        ...

    def finish_cycle(self, cycle_id: str) -> None:
        """Record that `cycle_id` committed and published everything it did."""
        ...

    def finished_cycles(self, ids: list[str]) -> dict[str, str]:
        """entry id -> the finished cycle that consumed it (entries without one are left
        out)."""
        ...

    def trim(self) -> int:
        """Drop entries every consumer acknowledged that are older than the retention."""
        ...

    def stats(self) -> LogStats: ...

    def close(self) -> None: ...
