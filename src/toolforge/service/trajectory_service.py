"""Recording and reading agent runs: the one place the CLI (`toolforge report`,
`toolforge trajectories ...`), the daemon (`POST /v1/trajectories`) and the agent loop go
through, so a run is validated and scored the same way whoever reports it.

Trajectories live in SQLite (WAL), not in git, so recording needs no library lock. With a
queue configured (`--queue`, `[queue] url`, TOOLFORGE_QUEUE) runs are appended to the shared
trajectory log instead, and the workers' daemons store them (toolforge.queue).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from pydantic import ValidationError

from toolforge.errors import NotFoundError, ToolforgeError
from toolforge.evolve.rewards import ExpectationError, coerce_expectation, score
from toolforge.evolve.trajectories import (
    SOURCES,
    Trajectory,
    TrajectoryStats,
    TrajectoryStore,
    default_store,
)
from toolforge.library.store import Library

if TYPE_CHECKING:
    from toolforge.queue.base import TrajectoryLog

_MAX_SHOWN_ERRORS = 10
_REPORT_HINT = "each trajectory is a JSON object with at least \"task\"; see docs/tasks.md" \
    "#reporting-runs"


class ReportError(ToolforgeError):
    """A reported trajectory (or the file holding them) is invalid; nothing was recorded."""

    http_status = 422
    kind = "report"


class TrajectoryService:
    def __init__(self, root: Path, *, queue: str | None = None) -> None:
        """`queue`: a trajectory log URL for this service's reports (default: the user
        config's `[queue] url` or TOOLFORGE_QUEUE; none: the local store)."""
        from toolforge.deploy.settings import load_deploy_settings, with_queue

        self.root = root
        self.library = Library.open(root)
        self.reward_threshold = self.library.settings().reward_threshold
        self.store: TrajectoryStore = default_store(root, self.reward_threshold)
        self.queue = with_queue(load_deploy_settings(), queue).queue
        self._log: TrajectoryLog | None = None

    def close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None
        self.library.close()

    @property
    def queued(self) -> bool:
        """True when reports go to the shared trajectory log, not to this store."""
        return self.queue.url is not None

    @property
    def log(self) -> TrajectoryLog:
        """The shared trajectory log (ConfigError when none is configured)."""
        if self._log is None:
            from toolforge.library.remote import LibraryRemote
            from toolforge.queue import open_log

            self._log = open_log(self.queue, LibraryRemote(self.library.git).library_id())
        return self._log

    # --- writing --------------------------------------------------------------------------

    def record(self, t: Trajectory | dict[str, Any]) -> Trajectory:
        """Record one run (the built-in agent's path); scores it when it has an expectation
        but no reward."""
        if not isinstance(t, Trajectory):
            t = Trajectory.model_validate(t)
        try:
            scored = _scored(t)
        except ExpectationError as exc:  # the run is kept; why it has no reward is noted
            notes = [*t.metadata.get("recording_notes", []), f"expected: {exc.message}"]
            scored = t.model_copy(update={
                "expected": None, "metadata": {**t.metadata, "recording_notes": notes}})
        return self.save([scored])[0]

    def save(self, trajectories: list[Trajectory]) -> list[Trajectory]:
        """The one place runs are written, all or nothing: into the local store, or (with a
        queue) appended to the shared log for the workers."""
        if not self.queued:
            return self.store.record_many(trajectories)
        prepared = [self.store.prepare(t) for t in trajectories]
        self.log.append([t.model_dump(mode="json") for t in prepared])
        return prepared

    def report(self, objects: list[Any], *, labels: list[str] | None = None,
               source: str = "report") -> list[Trajectory]:
        """Validate and record runs reported from outside; all or nothing.

        ``labels`` name each object in errors (e.g. "runs.jsonl:3"). A reporter cannot mark
        its runs handled; ``source`` is set by us ("report" for files, "api" over HTTP).
        """
        labels = labels or [f"item {i}" for i in range(1, len(objects) + 1)]
        ready: list[Trajectory] = []
        errors: list[str] = []
        seen: dict[str, str] = {}
        for label, obj in zip(labels, objects, strict=True):
            try:
                t = _validate_report(obj, source)
            except _Invalid as exc:
                errors.append(f"{label}: {exc}")
                continue
            if t.id in seen:
                errors.append(f"{label}: duplicate id {t.id!r} (also {seen[t.id]})")
                continue
            seen[t.id] = label
            ready.append(t)
        if errors:
            shown = errors[:_MAX_SHOWN_ERRORS]
            more = len(errors) - len(shown)
            raise ReportError(
                f"nothing recorded: {len(errors)} of {len(objects)} trajectories are invalid\n  "
                + "\n  ".join(shown) + (f"\n  ... and {more} more" if more > 0 else ""),
                hint=_REPORT_HINT,
            )
        if not ready:
            raise ReportError("nothing to record: no trajectories given", hint=_REPORT_HINT)
        return self.save(self._with_commit(ready))

    def _with_commit(self, runs: list[Trajectory]) -> list[Trajectory]:
        """A run that does not say which library commit it used gets the reporting
        library's HEAD: the commit an agent reading this (pinned) clone was served."""
        head = self.library.git.head()
        if head is None:
            return runs
        return [t if t.metadata.get("library_commit") else
                t.model_copy(update={"metadata": {**t.metadata, "library_commit": head}})
                for t in runs]

    def report_text(self, text: str, name: str = "<report>",
                    source: str = "report") -> list[Trajectory]:
        """A JSON object, a JSON array of objects, or JSONL (one object per line)."""
        objects, labels = parse_report(text, name)
        return self.report(objects, labels=labels, source=source)

    def report_file(self, path: Path) -> list[Trajectory]:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise NotFoundError(f"{path} does not exist")
        except (IsADirectoryError, UnicodeDecodeError):
            raise ReportError(f"{path} is not a UTF-8 text file", hint=_REPORT_HINT)
        return self.report_text(text, str(path))

    # --- reading --------------------------------------------------------------------------

    def get(self, id_or_prefix: str) -> Trajectory:
        return self.store.get(id_or_prefix)

    def list(self, **filters: Any) -> list[Trajectory]:
        return self.store.list(**filters)

    def export(self, fh: IO[str], **filters: Any) -> int:
        return self.store.export_jsonl(fh, **filters)

    def stats(self) -> TrajectoryStats:
        return self.store.stats()


class _Invalid(Exception):
    pass


def validate_queued(obj: Any) -> Trajectory:
    """A trajectory taken from the shared log, checked as any report is (the agent that
    appended it checked it too, but the log is open to anyone who can reach it): ReportError
    when it is not usable. It keeps the route it was reported by, never a `handled_by`."""
    source = obj.get("source") if isinstance(obj, dict) else None
    try:
        return _validate_report(obj, source if source in SOURCES else "report")
    except _Invalid as exc:
        raise ReportError(f"unusable trajectory: {exc}", hint=_REPORT_HINT) from None


def _validate_report(obj: Any, source: str) -> Trajectory:
    if not isinstance(obj, dict):
        raise _Invalid(f"expected a JSON object, got {type(obj).__name__}")
    data = {k: v for k, v in obj.items() if k != "handled_by"}
    data["source"] = source
    try:
        t = Trajectory.model_validate(data)
    except ValidationError as exc:
        raise _Invalid(_pydantic_message(exc)) from None
    try:
        return _scored(t)
    except ExpectationError as exc:
        raise _Invalid(f"expected: {exc.message}") from None


def _scored(t: Trajectory) -> Trajectory:
    if t.reward is not None or t.expected is None:
        return t
    check = coerce_expectation(t.expected)
    return t.model_copy(update={"reward": score(t.final_answer, check)})


def _pydantic_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:3]:
        loc = ".".join(str(p) for p in err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")


def parse_report(text: str, name: str) -> tuple[list[Any], list[str]]:
    """(objects, labels) from a JSON object, a JSON array, or JSONL text."""
    stripped = text.strip()
    if not stripped:
        raise ReportError(f"{name} is empty", hint=_REPORT_HINT)
    try:
        whole = json.loads(stripped)
    except (ValueError, RecursionError):  # JSONDecodeError, or too many digits
        whole = None
    else:
        if isinstance(whole, dict):
            return [whole], [name]
        if isinstance(whole, list):
            return whole, [f"{name}: item {i}" for i in range(1, len(whole) + 1)]
    objects: list[Any] = []
    labels: list[str] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            objects.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise ReportError(f"nothing recorded: {name}:{lineno}: bad JSON: {exc.msg} "
                              f"(column {exc.colno})", hint=_REPORT_HINT)
        except RecursionError:
            raise ReportError(f"nothing recorded: {name}:{lineno}: bad JSON: nested too deeply",
                              hint=_REPORT_HINT)
        except ValueError as exc:  # an integer past the interpreter's digit limit
            raise ReportError(f"nothing recorded: {name}:{lineno}: bad JSON: {exc}",
                              hint=_REPORT_HINT)
        labels.append(f"{name}:{lineno}")
    return objects, labels
