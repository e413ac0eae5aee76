"""What `toolforge cycles` shows: the evolution worker's state, the budgets, and the cycle
log (reason, gaps, outcomes, cost per cycle). Read from the library's state files, so it
works with or without a daemon."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from toolforge.deploy.status import WorkerStatus, read_status


class ToolOutcome(BaseModel):
    tool: str
    status: str  # promoted | candidate | rejected | refused | failed
    version: int | None = None
    reason: str = ""
    existing_tool: bool = False


class CycleRow(BaseModel):
    id: str
    started_at: str
    finished_at: str | None = None
    status: str  # running | done | failed
    reason: str
    failures: int = 0  # runs it consumed
    gaps: list[str] = Field(default_factory=list)
    outcomes: dict[str, int] = Field(default_factory=dict)  # status -> count
    tools: list[ToolOutcome] = Field(default_factory=list)
    tokens: int = 0
    cost_usd: float = 0.0
    cost_known: bool = True
    model_calls: int = 0
    duration_ms: float | None = None
    error: str | None = None


class CyclesOverview(BaseModel):
    library: str
    worker: WorkerStatus | None = None  # None: no daemon has run the worker here yet
    budget: dict[str, Any] | None = None  # a BudgetCheck made now
    budget_config: str | None = None  # the user config file the budgets come from
    cycles: list[CycleRow] = Field(default_factory=list)


def cycles_overview(root: Path, *, limit: int = 20, live: WorkerStatus | None = None
                    ) -> CyclesOverview:
    from toolforge.deploy.settings import load_deploy_settings
    from toolforge.evolve.budget import check_budget
    from toolforge.evolve.trajectories import default_store
    from toolforge.evolve.triggers import CycleLog
    from toolforge.library.store import Library

    Library.open(root).close()  # "no library here" first
    cycles = CycleLog(default_store(root))
    settings = load_deploy_settings()
    return CyclesOverview(
        library=str(root), worker=live or read_status(root),
        budget=check_budget(cycles, settings.evolution).model_dump(mode="json"),
        budget_config=settings.path,
        cycles=[cycle_row(r) for r in cycles.recent(limit)])


def cycle_row(record: Any) -> CycleRow:
    summary = record.summary if isinstance(record.summary, dict) else {}
    tools = []
    for o in summary.get("outcomes") or []:
        gap = o.get("gap") or {}
        tools.append(ToolOutcome(tool=str(gap.get("name", "?")), status=str(o.get("status")),
                                 version=o.get("version"), reason=str(o.get("reason") or ""),
                                 existing_tool=bool(gap.get("existing_tool"))))
    outcomes: dict[str, int] = {}
    for t in tools:
        outcomes[t.status] = outcomes.get(t.status, 0) + 1
    usage = summary.get("usage") or {}
    return CycleRow(
        id=record.id, started_at=record.started_at, finished_at=record.finished_at,
        status=record.status, reason=record.reason, failures=len(record.trajectory_ids),
        gaps=[str((g or {}).get("name", "?")) for g in summary.get("gaps") or []],
        outcomes=outcomes, tools=tools,
        tokens=record.prompt_tokens + record.completion_tokens, cost_usd=record.cost_usd,
        cost_known=bool(usage.get("cost_known", True)), model_calls=int(usage.get("calls", 0)),
        duration_ms=summary.get("duration_ms"), error=record.error)
