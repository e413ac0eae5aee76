"""Jobs: long work (validations) run by the daemon, independent of the client that asked.

Each kind of job runs in a lane: a queue with its own bounded pool of worker threads, so
work of one kind never waits behind (or starves) another. Validations (and hand-edit
checks, and asynchronous adds) share the `validate` lane, one worker per core by default;
evolution cycles, syncs, curation and trials the `evolve` lane. Jobs of one lane start in
order.
Cancelling a queued job removes it; cancelling a running one sets its `cancel_event`, which
the job function polls (validation kills its sandbox). Every state change is published as
an event and written to the JobStore.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from toolforge.daemon.errors import DaemonError
from toolforge.daemon.events import EventBus, now_iso
from toolforge.daemon.jobstore import DAEMON_STOPPED, JobStore
from toolforge.daemon.models import FINISHED_STATES, JobInfo
from toolforge.daemon.services import ServicePool
from toolforge.errors import ConflictError, NotFoundError, ToolforgeError, UsageError
from toolforge.names import validate_tool_name

log = logging.getLogger("toolforge.daemon.jobs")

MAX_LOG_LINES = 10_000
KEEP_FINISHED = 500  # finished jobs kept in memory; older ones are read from the store


@dataclass
class JobContext:
    """What a job function gets. It should call `log` for progress and return (or raise)
    promptly once `cancel_event` is set."""

    id: int
    tool: str | None
    params: dict[str, Any]
    services: ServicePool
    bus: EventBus
    log: Callable[[str], None]
    cancel_event: threading.Event


JobFn = Callable[[JobContext], Any]


VALIDATE_LANE = "validate"
EVOLVE_LANE = "evolve"
EVOLVE_LANE_WORKERS = 2  # a cycle and a sync/curation/trial side by side


@dataclass(frozen=True)
class JobKind:
    fn: JobFn
    needs_tool: bool = True
    description: str = ""
    lane: str = VALIDATE_LANE


@dataclass(eq=False)
class _Job:
    info: JobInfo
    lines: list[str] = field(default_factory=list)
    cancel_event: threading.Event = field(default_factory=threading.Event)


class JobManager:
    def __init__(self, *, services: ServicePool, bus: EventBus, store: JobStore | None,
                 kinds: dict[str, JobKind], concurrency: int | None = None) -> None:
        self.services = services
        self.bus = bus
        self.store = store
        self.kinds = kinds
        self.concurrency = max(1, concurrency or os.cpu_count() or 1)
        self._jobs: dict[int, _Job] = {}
        self._queues: dict[str, queue.Queue[int | None]] = {}
        self._lock = threading.RLock()  # _view is called with it held
        self._done = threading.Condition(self._lock)  # notified when any job finishes
        self._local = threading.local()
        self._next_id = (store.max_id() if store else 0) + 1
        self._workers: list[threading.Thread] = []
        self._stopping = False

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        if self.store is not None:
            n = self.store.mark_interrupted(now_iso())
            if n:
                log.warning("%d job(s) were cut off by a daemon stop: marked failed", n)
        # Lanes are read from the kinds now: the evolution worker registers its kinds after
        # the manager is made.
        for lane in sorted({spec.lane for spec in self.kinds.values()} | {VALIDATE_LANE}):
            lane_queue = self._lane_queue(lane)
            for i in range(self.lane_size(lane)):
                t = threading.Thread(target=self._worker, args=(lane_queue,),
                                     name=f"job-{lane}-{i}", daemon=True)
                t.start()
                self._workers.append(t)

    def _lane_queue(self, lane: str) -> queue.Queue[int | None]:
        with self._lock:
            return self._queues.setdefault(lane, queue.Queue())

    def lane_size(self, lane: str) -> int:
        if lane == VALIDATE_LANE:
            return self.concurrency
        return EVOLVE_LANE_WORKERS if lane == EVOLVE_LANE else 1

    def busy(self) -> bool:
        """Whether any job is queued or running (from memory: no database read)."""
        with self._lock:
            return any(not j.info.finished for j in self._jobs.values())

    def cancel_all(self) -> None:
        """Stop taking jobs; cancel queued ones, ask running ones to stop."""
        with self._lock:
            self._stopping = True
            jobs = list(self._jobs.values())
        for job in jobs:
            if not job.info.finished:
                self._cancel(job, reason="daemon stopping")

    def shutdown(self, grace_s: float = 10.0) -> None:
        self.cancel_all()
        for lane, lane_queue in self._queues.items():
            for _ in range(self.lane_size(lane)):
                lane_queue.put(None)
        deadline = time.monotonic() + grace_s
        for t in self._workers:
            t.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            leftovers = [j for j in self._jobs.values() if not j.info.finished]
        for job in leftovers:  # a job that ignored its cancel flag: recorded, then abandoned
            log.warning("job %d did not stop within %.0f s", job.info.id, grace_s)
            self._finish(job, "failed", error=DAEMON_STOPPED)

    # --- API ---------------------------------------------------------------------------------

    def submit(self, kind: str, tool: str | None = None,
               params: dict[str, Any] | None = None) -> JobInfo:
        spec = self.kinds.get(kind)
        if spec is None:
            raise UsageError(f"unknown job kind {kind!r}",
                             hint=f"kinds: {', '.join(sorted(self.kinds)) or 'none'}")
        if tool is not None:
            validate_tool_name(tool)
        elif spec.needs_tool:
            raise UsageError(f"a {kind} job needs a tool name")
        with self._lock:
            if self._stopping:
                raise DaemonError("the daemon is stopping; not taking new jobs",
                                  hint="retry in a moment: the next command restarts it")
            job_id = self._next_id
            self._next_id += 1
            job = _Job(JobInfo(id=job_id, kind=kind, tool=tool, state="queued",
                               params=params or {}, created_at=now_iso()))
            self._jobs[job_id] = job
            self._save(job)
        self._lane_queue(spec.lane).put(job_id)
        self.bus.publish("job_queued", job=job_id, kind=kind, tool=tool)
        return self._view(job)

    def get(self, job_id: int, *, with_log: bool = True) -> JobInfo:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is not None:
            return self._view(job, with_log=with_log)
        stored = self.store.get(job_id) if self.store else None
        if stored is None:
            raise NotFoundError(f"no job {job_id}", hint="see `toolforge jobs`")
        if not with_log:
            stored.log = None
        return stored

    def recent(self, limit: int = 50) -> list[JobInfo]:
        with self._lock:
            live = {j.info.id: self._view(j, with_log=False) for j in self._jobs.values()}
        stored = self.store.list(limit) if self.store else []
        merged = {j.id: j for j in stored}
        merged.update(live)
        return sorted(merged.values(), key=lambda j: j.id, reverse=True)[:limit]

    def cancel(self, job_id: int) -> JobInfo:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            self.get(job_id)  # NotFoundError for an unknown id
            raise ConflictError(f"job {job_id} has already finished")
        if job.info.finished:
            raise ConflictError(f"job {job_id} has already {job.info.state}")
        self._cancel(job, reason="cancelled")
        return self._view(job)

    def in_worker(self) -> bool:
        """True on a job worker thread (where waiting for another job could deadlock)."""
        return bool(getattr(self._local, "worker", False))

    def wait(self, job_id: int, *, log: Callable[[str], None] | None = None,
             cancel: threading.Event | None = None) -> JobInfo:
        """Block until the job finishes, passing its log lines to `log` as they come; a set
        `cancel` cancels it."""
        pos = 0
        cancelled = False
        while True:
            with self._done:
                job = self._jobs.get(job_id)
                if job is None:
                    return self.get(job_id)
                if not job.info.finished:
                    self._done.wait(0.1)
                finished = job.info.finished
                lines = job.lines[pos:]
            pos += len(lines)
            if log is not None:
                for line in lines:
                    log(line)
            if finished:
                return self._view(job)
            if cancel is not None and cancel.is_set() and not cancelled:
                cancelled = True
                self._cancel(job, reason="cancelled")

    def log_lines(self, job_id: int, start: int) -> tuple[list[str], bool]:
        """Log lines from index `start`, and whether the job has finished."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None:
                return job.lines[start:], job.info.finished
        info = self.get(job_id)
        return (info.log or [])[start:], True

    # --- internals ---------------------------------------------------------------------------

    def _cancel(self, job: _Job, reason: str) -> None:
        with self._lock:
            state = job.info.state
            job.cancel_event.set()
        if state == "queued":
            # The worker that dequeues it skips it.
            self._finish(job, "cancelled", error=reason)
        # running: the job function sees cancel_event; _run records the outcome.

    def _worker(self, lane_queue: queue.Queue[int | None]) -> None:
        self._local.worker = True
        while True:
            job_id = lane_queue.get()
            if job_id is None:
                return
            with self._lock:
                job = self._jobs.get(job_id)
                if job is None or job.info.state != "queued":
                    continue
                job.info.state = "running"
                job.info.started_at = now_iso()
                self._save(job)
            self.bus.publish("job_started", job=job_id, kind=job.info.kind, tool=job.info.tool)
            self._run(job)

    def _run(self, job: _Job) -> None:
        info = job.info
        ctx = JobContext(id=info.id, tool=info.tool, params=dict(info.params),
                         services=self.services, bus=self.bus,
                         log=lambda line: self._append_log(job, line),
                         cancel_event=job.cancel_event)
        try:
            result = self.kinds[info.kind].fn(ctx)
        except Exception as exc:
            if job.cancel_event.is_set():
                self._finish(job, "cancelled", error="cancelled")
            elif isinstance(exc, ToolforgeError):
                self._finish(job, "failed", error=exc.message, error_kind=exc.kind,
                             error_hint=exc.hint)
            else:
                log.error("job %d (%s) crashed:\n%s", info.id, info.kind,
                          "".join(traceback.format_exception(exc)))
                self._finish(job, "failed", error=f"{type(exc).__name__}: {exc}")
            return
        if job.cancel_event.is_set():  # asked to stop: cancelled, whatever it returned
            self._finish(job, "cancelled", result=_jsonable(result), error="cancelled")
        else:
            self._finish(job, "succeeded", result=_jsonable(result))

    def _append_log(self, job: _Job, line: str) -> None:
        text = str(line).rstrip("\n")
        with self._lock:
            if len(job.lines) >= MAX_LOG_LINES:
                return
            if len(job.lines) == MAX_LOG_LINES - 1:
                text = f"... log truncated at {MAX_LOG_LINES} lines"
            job.lines.append(text)
        self.bus.publish("job_log", job=job.info.id, line=text)

    def _finish(self, job: _Job, state: str, *, result: Any = None, error: str | None = None,
                error_kind: str | None = None, error_hint: str | None = None) -> None:
        with self._lock:
            if job.info.finished:
                return
            job.info.state = state  # type: ignore[assignment]
            job.info.finished_at = now_iso()
            job.info.result = result
            job.info.error = error
            job.info.error_kind = error_kind
            job.info.error_hint = error_hint
            self._save(job)
            self._forget_old()
            self._done.notify_all()
            event = {"job": job.info.id, "kind": job.info.kind, "tool": job.info.tool,
                     "state": state, "error": error, "result": result}
        self.bus.publish("job_finished", **event)

    def _forget_old(self) -> None:
        finished = [j for j in self._jobs.values() if j.info.state in FINISHED_STATES]
        for j in finished[:-KEEP_FINISHED]:
            del self._jobs[j.info.id]

    def _save(self, job: _Job) -> None:
        if self.store is None:
            return
        try:
            self.store.save(job.info, job.lines)
        except Exception:  # a full disk must not take the daemon down
            log.exception("could not record job %d", job.info.id)

    def _view(self, job: _Job, *, with_log: bool = True) -> JobInfo:
        with self._lock:
            return job.info.model_copy(
                update={"log": list(job.lines) if with_log else None}, deep=True)


def _jsonable(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, dict | list | str | int | float | bool) or value is None:
        return value
    return str(value)

