"""The curator: a usage-driven lifecycle that keeps the library small (DESIGN.md §1, §8).

- An active tool unused for `stale_after_days` is marked stale (`stale_since` in its
  tool.toml); one unused for `retire_after_days` is retired: archived in place (status
  "retired"), never deleted, and `toolforge rollback NAME` brings it back. A stale tool
  that is used again loses its mark.
- "Last used" is the latest of: its calls (usage records), the recorded runs that used it
  (on a worker these include runs reported from other machines), and its promotion (a new
  tool is not an unused one).
- Exempt: pinned tools (`pinned = true`), and tools that other tools' code or tests, or
  the library's task files (`tasks/*.jsonl`), name.
- A curator that sees no usage at all (no call records, no recorded run) does nothing: the
  calls may be recorded on other machines, and a blind curator would retire everything.
- `plan_curation` only reads; `curate` applies the plan as one commit ("curate: ...").
Settings: `[curator]` in toolforge.toml (`stale_after_days`, `retire_after_days`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from toolforge.library.store import CANDIDATES_DIR, TOOLS_DIR, Library, ToolFiles

Log = Callable[[str], None]
DAY_S = 86_400.0
TASKS_DIR = "tasks"


class CurateItem(BaseModel):
    tool: str
    version: int
    action: Literal["stale", "retire", "fresh"]  # fresh: used again, the mark goes
    last_used: str | None = None
    idle_days: float
    reason: str


class CurationPlan(BaseModel):
    library: str
    dry_run: bool = True
    stale_after_days: float
    retire_after_days: float
    stale: list[CurateItem] = Field(default_factory=list)
    retire: list[CurateItem] = Field(default_factory=list)
    fresh: list[CurateItem] = Field(default_factory=list)
    exempt: dict[str, str] = Field(default_factory=dict)  # tool -> why
    blind: str | None = None  # why the curator does nothing
    commit: str | None = None
    warnings: list[str] = Field(default_factory=list)

    @property
    def changes(self) -> list[CurateItem]:
        return [*self.stale, *self.retire, *self.fresh]


def plan_curation(root: Path, *, now: datetime | None = None) -> CurationPlan:
    """What curating now would do, and why (reads only)."""
    from toolforge.evolve.trajectories import default_store
    from toolforge.metrics.usage import UsageStore

    now = now or datetime.now(UTC)
    lib = Library.open(root)
    try:
        settings = lib.settings().curator
        plan = CurationPlan(library=str(root), stale_after_days=settings.stale_after_days,
                            retire_after_days=settings.retire_after_days)
        entries = [e for e in lib.entries() if e.meta is not None]
        active = {e.name: lib.read_current(e.name, TOOLS_DIR) for e in entries
                  if e.location == TOOLS_DIR and e.meta is not None
                  and e.meta.status == "active"}
        others: dict[tuple[str, str], ToolFiles | None] = {
            (e.name, e.location): lib.find_current(e.name, e.location) for e in entries
            if e.location == CANDIDATES_DIR or (e.meta and e.meta.status == "active")}
        tasks = _task_texts(root)
    finally:
        lib.close()
    calls = UsageStore.for_library(root).last_used()
    runs = default_store(root).last_used_tools()
    if not calls and not runs:
        plan.blind = ("no usage records and no recorded runs here: nothing shows how the "
                      "tools are used (run the curator where the calls are recorded, or "
                      "report runs)")
        return plan
    for name, files in sorted(active.items()):
        why = _exempt(name, files, others, tasks)
        if why is not None:
            plan.exempt[name] = why
            continue
        used = max(filter(None, (calls.get(name), _ts(runs.get(name)))), default=None)
        promoted = _ts(files.meta.promoted_at or files.meta.created_at)
        last = max(filter(None, (used, promoted)), default=None)
        idle = (now.timestamp() - last) / DAY_S if last is not None else float("inf")
        last_iso = _iso(used) if used is not None else None
        shown = f"last used {last_iso}" if used is not None else (
            f"never used since its promotion {_iso(promoted)}" if promoted else "never used")
        marked = (files.meta.model_extra or {}).get("stale_since")
        days = "∞" if idle == float("inf") else f"{idle:.0f}"
        if idle >= settings.retire_after_days:
            plan.retire.append(CurateItem(
                tool=name, version=files.meta.version, action="retire", last_used=last_iso,
                idle_days=round(min(idle, 1e9), 1),
                reason=f"{shown}: unused for {days} days >= {settings.retire_after_days:g}"))
        elif idle >= settings.stale_after_days:
            if not marked:
                plan.stale.append(CurateItem(
                    tool=name, version=files.meta.version, action="stale",
                    last_used=last_iso, idle_days=round(idle, 1),
                    reason=f"{shown}: unused for {days} days >= "
                           f"{settings.stale_after_days:g}"))
        elif marked:
            plan.fresh.append(CurateItem(
                tool=name, version=files.meta.version, action="fresh", last_used=last_iso,
                idle_days=round(idle, 1), reason=f"{shown}: in use again"))
    return plan


def curate(root: Path, *, dry_run: bool = True, log: Log | None = None,
           now: datetime | None = None) -> CurationPlan:
    """Plan, and unless `dry_run` apply the plan as one commit (through the service, so a
    shared library publishes it)."""
    from toolforge.library.meta import now_iso
    from toolforge.service.library_service import LibraryService

    say = log or (lambda _text: None)
    plan = plan_curation(root, now=now)
    plan.dry_run = dry_run
    for item in plan.changes:
        say(f"{item.action}: {item.tool} — {item.reason}")
    if plan.blind:
        say(f"nothing to do: {plan.blind}")
    if dry_run or not plan.changes:
        return plan
    actions = {i.tool: i for i in plan.changes}
    stamp = now_iso()

    def edit(name: str, files: ToolFiles) -> bool:
        item = actions[name]
        extra = files.meta.model_extra
        assert extra is not None
        if files.meta.status != "active":
            return False  # retired meanwhile
        if item.action == "retire":
            files.meta.status = "retired"
            files.meta.retired_at = stamp
            extra.pop("stale_since", None)
            extra["retired_by"] = f"curator: {item.reason}"
        elif item.action == "stale":
            extra["stale_since"] = stamp
        else:
            extra.pop("stale_since", None)
        return True

    parts = [f"{len(v)} {k}" for k, v in (("stale", plan.stale), ("retired", plan.retire),
                                           ("in use again", plan.fresh)) if v]
    body = "\n".join(f"{i.action}: {i.tool} v{i.version} ({i.reason})" for i in plan.changes)
    svc = LibraryService(root)
    try:
        result = svc.library.edit_meta([(i.tool, TOOLS_DIR) for i in plan.changes], edit,
                                       action="curate", subject=f"curate: {', '.join(parts)}",
                                       body=body)
    finally:
        svc.close()
    if result is not None:
        plan.commit = result.commit
        plan.warnings += result.warnings
        say(f"{result.subject} ({result.commit[:12]})")
    return plan


def _exempt(name: str, files: ToolFiles, others: dict[tuple[str, str], ToolFiles | None],
            tasks: dict[str, str]) -> str | None:
    if files.meta.pinned:  # `toolforge pin NAME`
        return "pinned"
    word = re.compile(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])")
    for (other, location), other_files in sorted(others.items()):
        if other == name or other_files is None:
            continue
        for label, text in (("code", other_files.code), ("tests", other_files.tests)):
            if word.search(text):
                where = "candidate " if location == CANDIDATES_DIR else ""
                return f"referenced by the {label} of {where}{other}"
    for path, text in tasks.items():
        if word.search(text):
            return f"referenced by the task file {path}"
    return None


def _task_texts(root: Path, max_bytes: int = 5_000_000) -> dict[str, str]:
    """The library's own task files (tasks/**/*.jsonl|json), committed with it."""
    base = root / TASKS_DIR
    out: dict[str, str] = {}
    if not base.is_dir():
        return out
    for path in sorted(base.rglob("*")):
        if path.suffix not in (".jsonl", ".json") or path.is_symlink() or not path.is_file():
            continue
        try:
            if path.stat().st_size <= max_bytes:
                out[str(path.relative_to(root))] = path.read_text("utf-8", "replace")
        except OSError:
            continue
    return out


def _ts(iso: str | None) -> float | None:
    if not iso:
        return None
    try:
        value = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")
