"""Capacity C and pruning: past C active tools, the least-used go.

Ranking, least valuable first: fewest successful calls (usage records), then the longest
unused (the last call; a tool never called counts from when it was created). Pinned tools
(`toolforge pin NAME`, `pinned = true` in tool.toml) are never pruned, nor are the tools
the current problem is using or has just made. Pruning retires through git (a `retire`
commit per tool: the tool stays in history and `toolforge rollback NAME` brings it back);
nothing is deleted.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, Field

from toolforge.library.store import TOOLS_DIR, Library
from toolforge.metrics.usage import UsageStore


class PruneItem(BaseModel):
    tool: str
    hits: int
    last_used: str | None = None  # ISO time of the last call, whatever its outcome
    created_at: str | None = None
    reason: str


class PrunePlan(BaseModel):
    capacity: int
    active: int
    retire: list[PruneItem] = Field(default_factory=list)
    pinned: list[str] = Field(default_factory=list)
    protected: list[str] = Field(default_factory=list)
    short_by: int = 0  # still over capacity because everything left is pinned or protected

    @property
    def over(self) -> int:
        return max(0, self.active - self.capacity)


def plan_prune(root: Path, capacity: int, protect: set[str] | None = None) -> PrunePlan:
    """What pruning to `capacity` would retire, and why (reads only)."""
    protect = protect or set()
    lib = Library.open(root)
    try:
        active = [e for e in lib.entries() if e.location == TOOLS_DIR and e.meta is not None
                  and e.meta.status == "active"]
    finally:
        lib.close()
    usage = UsageStore.for_library(root)
    hits = usage.hits()
    last = usage.last_used()
    pinned = sorted(e.name for e in active if e.meta and e.meta.pinned)
    protected = sorted(e.name for e in active if e.name in protect and e.name not in pinned)
    plan = PrunePlan(capacity=capacity, active=len(active), pinned=pinned, protected=protected)
    over = plan.over
    if over == 0:
        return plan
    movable = [e for e in active if e.name not in pinned and e.name not in protect]

    def since(name: str, created: str | None) -> float:
        if name in last:
            return last[name]
        return _timestamp(created)

    movable.sort(key=lambda e: (hits.get(e.name, 0),
                                since(e.name, e.meta.created_at if e.meta else None), e.name))
    for e in movable[:over]:
        created = e.meta.created_at if e.meta else None
        n = hits.get(e.name, 0)
        when = _iso(last[e.name]) if e.name in last else None
        reason = (f"{n} successful call{'s' if n != 1 else ''}, "
                  + (f"last used {when}" if when else "never used")
                  + f"; least used of {len(movable)} unpinned tools over capacity {capacity}")
        plan.retire.append(PruneItem(tool=e.name, hits=n, last_used=when, created_at=created,
                                     reason=reason))
    plan.short_by = over - len(plan.retire)
    return plan


def _timestamp(iso: str | None) -> float:
    if not iso:
        return 0.0
    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).replace(microsecond=0).isoformat().replace(
        "+00:00", "Z")
