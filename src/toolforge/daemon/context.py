"""Everything one daemon owns: the service pool, the event bus, the jobs, the watcher."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toolforge import __version__
from toolforge.daemon.events import EventBus, now_iso
from toolforge.daemon.histindex import HistoryIndex
from toolforge.daemon.idle import Activity
from toolforge.daemon.job_kinds import default_kinds
from toolforge.daemon.jobs import JobKind, JobManager
from toolforge.daemon.jobstore import JobStore
from toolforge.daemon.listcache import ToolIndex
from toolforge.daemon.models import Health
from toolforge.daemon.queued import route_validations_through_jobs
from toolforge.daemon.runtime import JOBS_DB
from toolforge.daemon.services import ServicePool
from toolforge.daemon.watcher import Watcher
from toolforge.library.store import STATE_DIR

log = logging.getLogger("toolforge.daemon")


@dataclass(eq=False)
class DaemonContext:
    root: Path
    services: ServicePool
    bus: EventBus
    jobs: JobManager
    store: JobStore | None
    index: ToolIndex
    history: HistoryIndex
    watcher: Watcher | None = None
    socket: str | None = None
    log_path: str | None = None
    pid: int = field(default_factory=os.getpid)
    started_at: str = field(default_factory=now_iso)
    stopping: threading.Event = field(default_factory=threading.Event)
    activity: Activity = field(default_factory=Activity)
    # Set by the server: makes uvicorn leave its loop. In-process tests leave it unset.
    request_exit: Callable[[], None] | None = None
    _stop_lock: threading.Lock = field(default_factory=threading.Lock)

    def health(self) -> Health:
        return Health(version=__version__, pid=self.pid, library=str(self.root),
                      started_at=self.started_at, socket=self.socket)

    def jobs_busy(self) -> bool:
        return any(j.state in ("queued", "running") for j in self.jobs.recent(1000))

    def warm(self) -> None:
        """Build the indexes in the background, so the first requests find them ready."""

        def build() -> None:
            self.history.build()
            if self.index.watching():
                self.index.listing("all")

        threading.Thread(target=build, name="warm-indexes", daemon=True).start()

    def begin_stop(self) -> None:
        """First step of a graceful stop (idempotent, safe from a signal handler): refuse new
        jobs and cancel running ones, tell subscribers, and end their streams so that
        uvicorn's wait for open connections does not wait on them."""
        with self._stop_lock:
            if self.stopping.is_set():
                return
            self.stopping.set()
        log.info("stopping")
        self.bus.publish("daemon_stopping", pid=self.pid)
        self.jobs.cancel_all()
        self.bus.close()

    def stop(self) -> None:
        """Ask the daemon to exit (the shutdown route, SIGTERM)."""
        self.begin_stop()
        if self.request_exit is not None:
            self.request_exit()

    def close(self, grace_s: float = 10.0) -> None:
        """Last step: wait for jobs to wind down, then release everything."""
        self.begin_stop()
        if self.watcher is not None:
            self.watcher.stop()
        self.jobs.shutdown(grace_s)
        self.services.close()
        if self.store is not None:
            self.store.close()


def build_context(root: Path, *, socket: str | None = None, log_path: str | None = None,
                  watch: bool = True, kinds: dict[str, JobKind] | None = None,
                  concurrency: int | None = None, persist_jobs: bool = True) -> DaemonContext:
    services = ServicePool(root)
    bus = EventBus()
    store = JobStore(root / STATE_DIR / JOBS_DB) if persist_jobs else None
    if concurrency is None and os.environ.get("TOOLFORGE_DAEMON_JOBS", "").isdigit():
        concurrency = int(os.environ["TOOLFORGE_DAEMON_JOBS"])
    jobs = JobManager(services=services, bus=bus, store=store,
                      kinds=default_kinds() if kinds is None else kinds, concurrency=concurrency)
    history = HistoryIndex(root, services)

    def prepare(svc: Any) -> None:
        route_validations_through_jobs(svc, jobs)
        svc.history_source = lambda name, limit: history.entries(svc.library.git, name, limit)

    services.prepare = prepare
    index = ToolIndex(root, services)
    watcher = Watcher(root, services, bus, jobs, index=index) if watch else None
    if watcher is not None:
        index.watching = watcher.watching
    return DaemonContext(root=root, services=services, bus=bus, jobs=jobs, store=store,
                         index=index, history=history, watcher=watcher, socket=socket,
                         log_path=log_path)
