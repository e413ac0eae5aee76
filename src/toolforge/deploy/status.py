"""What the evolution worker is doing, in a file beside the library.

`.toolforge/evolution.json` is rewritten (atomically) whenever the worker's state changes,
so `toolforge cycles` shows it without a daemon round trip, and it outlives the daemon: a
stopped worker's last words stay readable.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from toolforge.library.fsutil import atomic_write_text
from toolforge.library.store import STATE_DIR

STATUS_FILE = "evolution.json"

State = Literal[
    "starting",  # the worker is getting ready (recovery of the queue, first look)
    "idle",  # watching for runs; the trigger has not fired
    "cycle",  # a cycle is running (see `cycle_id`, `job`)
    "paused",  # the model is unavailable: no cycle before `paused_until`
    "budget",  # a cycle is due but would pass a budget (`detail` says which)
    "no_model",  # a cycle is due but no model is configured
    "disabled",  # [evolution] worker = false
    "queue_down",  # the trajectory log cannot be reached; retrying
    "stopped",  # the daemon stopped
]


class QueueStatus(BaseModel):
    name: str
    consumer: str
    held: int = 0  # entries this worker holds, not yet acknowledged
    acked: int = 0  # acknowledged by this worker since it started
    rejected: int = 0  # set aside as unusable since it started
    taken_over: int = 0  # claimed from dead workers since it started
    dropped: int = 0  # local copies dropped because another worker took the entry over


class WorkerStatus(BaseModel):
    library: str
    state: State = "starting"
    detail: str = ""
    since: str = ""  # when the state began
    updated_at: str = ""
    pid: int | None = None
    cycle_id: str | None = None
    job: int | None = None
    paused_until: str | None = None
    pause_s: float | None = None
    outages: int = 0  # model outages seen since the worker started
    last_outage: str | None = None
    trigger: str | None = None  # the last trigger decision's reason
    budget: dict[str, Any] | None = None  # the last BudgetCheck
    queue: QueueStatus | None = None
    last_curation: str | None = None
    last_sync: str | None = None
    warnings: list[str] = Field(default_factory=list)


def status_path(root: Path) -> Path:
    return root / STATE_DIR / STATUS_FILE


def read_status(root: Path) -> WorkerStatus | None:
    try:
        return WorkerStatus.model_validate(json.loads(status_path(root).read_text("utf-8")))
    except (OSError, ValueError, ValidationError):
        return None


def write_status(root: Path, status: WorkerStatus) -> None:
    atomic_write_text(status_path(root), status.model_dump_json(indent=2))
