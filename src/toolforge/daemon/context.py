"""Everything one daemon owns: the service pool, the event bus, the jobs, the watcher, and
the warm sandbox pool every validation job (and, later, every tool call) takes from."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from toolforge import __version__
from toolforge.daemon.envprint import fingerprint
from toolforge.daemon.events import EventBus, now_iso
from toolforge.daemon.histindex import HistoryIndex
from toolforge.daemon.idle import Activity
from toolforge.daemon.job_kinds import default_kinds
from toolforge.daemon.jobs import EVOLVE_LANE, JobKind, JobManager
from toolforge.daemon.jobstore import JobStore
from toolforge.daemon.lanes import Lanes
from toolforge.daemon.listcache import ToolIndex
from toolforge.daemon.models import Health
from toolforge.daemon.queued import route_validations_through_jobs
from toolforge.daemon.runtime import JOBS_DB
from toolforge.daemon.services import ServicePool
from toolforge.daemon.watcher import Watcher
from toolforge.library.store import STATE_DIR

if TYPE_CHECKING:
    from toolforge.deploy.worker import EvolutionWorker
    from toolforge.runtime.runtime import Runtime
    from toolforge.sandbox.pool import WarmPool
    from toolforge.service.library_service import LibraryService

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
    # The evolution worker: cycles from reported runs, trials, curation, sync (deploy/).
    worker: EvolutionWorker | None = None
    socket: str | None = None
    log_path: str | None = None
    pid: int = field(default_factory=os.getpid)
    started_at: str = field(default_factory=now_iso)
    env: dict[str, str] = field(default_factory=lambda: fingerprint(os.environ))
    stopping: threading.Event = field(default_factory=threading.Event)
    activity: Activity = field(default_factory=Activity)
    lanes: Lanes = field(default_factory=Lanes)  # request lanes for long requests
    # Set by the server: makes uvicorn leave its loop. In-process tests leave it unset.
    request_exit: Callable[[], None] | None = None
    _stop_lock: threading.Lock = field(default_factory=threading.Lock)
    _runtime: Runtime | None = None
    _pool: WarmPool | None = None
    _runtime_lock: threading.RLock = field(default_factory=threading.RLock)

    def runtime(self) -> Runtime:
        """The daemon's one runtime: every tool call the daemon serves runs on its warm
        hosts and is recorded by its usage recorder. Reading the catalog (export) starts
        no sandbox; the first call starts the pool."""
        with self._runtime_lock:
            if self._runtime is None:
                if self.stopping.is_set():
                    from toolforge.daemon.errors import DaemonError

                    raise DaemonError("the daemon is stopping", hint="retry in a moment")
                from toolforge.runtime.runtime import Runtime

                with self.services.use() as svc:
                    options = svc.validation_options()
                self._runtime = Runtime(self.root, limits=options.limits,
                                        backend=options.backend, access=options.access,
                                        pool=self.sandbox_pool, caller="daemon")
            return self._runtime

    def sandbox_pool(self) -> WarmPool:
        """The daemon's one pool of pre-started sandboxes (made on first use), kept warm for
        as long as the daemon runs: tool calls and validation jobs take from it. Two spares
        per role: a validation takes a runner and two tool hosts (one to compare with)."""
        with self._runtime_lock:
            if self._pool is None:
                from toolforge.sandbox.backends import select_backend
                from toolforge.sandbox.pool import WarmPool

                with self.services.use() as svc:
                    options = svc.validation_options()
                # With the policy's access: spares only ever go to jobs of the same kind.
                self._pool = WarmPool(select_backend(options.backend, access=options.access),
                                      size=2, limits=options.limits)
            return self._pool

    def health(self) -> Health:
        return Health(version=__version__, pid=self.pid, library=str(self.root),
                      started_at=self.started_at, socket=self.socket, env=self.env)

    def jobs_busy(self) -> bool:
        return self.jobs.busy()

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
        if self.worker is not None:
            self.worker.halt()  # no new cycle, no more entries taken from the queue
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
        if self.worker is not None:
            self.worker.stop()
        self.jobs.shutdown(grace_s)
        with self._runtime_lock:
            runtime, self._runtime = self._runtime, None
            pool, self._pool = self._pool, None
        if runtime is not None:
            runtime.close()  # kills its sandboxes and flushes its usage records
        if pool is not None:
            pool.close()
        self.services.close()
        if self.store is not None:
            self.store.close()


def build_context(root: Path, *, socket: str | None = None, log_path: str | None = None,
                  watch: bool = True, kinds: dict[str, JobKind] | None = None,
                  concurrency: int | None = None, persist_jobs: bool = True,
                  evolution: bool = True) -> DaemonContext:
    services = ServicePool(root)
    bus = EventBus()
    store = JobStore(root / STATE_DIR / JOBS_DB) if persist_jobs else None
    jobs_env = os.environ.get("TOOLFORGE_DAEMON_JOBS", "")
    if concurrency is None and jobs_env.isascii() and jobs_env.isdigit():  # not '²'
        concurrency = max(1, int(jobs_env))
    kinds = default_kinds() if kinds is None else kinds
    jobs = JobManager(services=services, bus=bus, store=store, kinds=kinds,
                      concurrency=concurrency)
    history = HistoryIndex(root, services)
    index = ToolIndex(root, services)
    watcher = Watcher(root, services, bus, jobs, index=index) if watch else None
    if watcher is not None:
        index.watching = watcher.watching
    worker = None
    if evolution:
        from toolforge.deploy.worker import EvolutionWorker

        worker = EvolutionWorker(root, jobs, bus)
        kinds.update({
            "evolve": JobKind(worker.run_cycle, needs_tool=False, lane=EVOLVE_LANE,
                              description="an evolution cycle over the unhandled failures"),
            "sync": JobKind(worker.run_sync, needs_tool=False, lane=EVOLVE_LANE,
                            description="sync with the shared remote"),
            "curate": JobKind(worker.run_curation, needs_tool=False, lane=EVOLVE_LANE,
                              description="mark unused tools stale, retire long-unused ones"),
            "trial": JobKind(worker.run_trial, needs_tool=False, lane=EVOLVE_LANE,
                             description="decide an A/B trial that has run its episodes"),
        })
    ctx = DaemonContext(root=root, services=services, bus=bus, jobs=jobs, store=store,
                        index=index, history=history, watcher=watcher, worker=worker,
                        socket=socket,
                        log_path=log_path)

    def prepare(svc: LibraryService) -> None:
        route_validations_through_jobs(svc, jobs)
        svc.share_runtime(ctx.runtime)
        svc.history_source = lambda name, limit: history.entries(svc.library.git, name, limit)
        svc.sandbox_pool = ctx.sandbox_pool  # validation jobs take from the same pool

    services.prepare = prepare
    return ctx
