"""The evolution worker: the daemon evolves its library from the runs reported to it.

Every `poll_s` (at once when a run arrives over the HTTP API) the worker:

1. with a queue, takes entries from the shared trajectory log (after a restart its own
   pending ones first, then entries dead workers left, then new ones), stores each run,
   acknowledges those whose effect is complete (a success is complete once stored; a failure
   once a cycle that consumed it has committed and published), and renews its hold on the
   rest, so that only a dead worker's entries are ever taken over;
2. checks the trigger policy (runs arriving by any route: the API, `Forge`, MCP sessions,
   `toolforge report`, all end in the store); when a cycle is due, checks the model
   configuration, the pause after a model outage, the budgets, and submits a cycle job,
   one at a time per library;
3. decides A/B trials that have run their episodes, and runs curation (daily) and sync
   (on its interval) when the user config asks for them.

Cycles run as daemon jobs (`toolforge jobs`, `job_*` events, their log) and land in the
cycle log (`toolforge cycles`). What the worker does is in `.toolforge/evolution.json` and
on the event stream (`evolution_status`, `cycle_started`, `cycle_finished`).

A model outage (unreachable, overloaded, refusing our key) stops the cycle at its first
failed call, hands its failures back to the trigger, and pauses evolution: no cycle starts
until the pause is over, and then one single-attempt probe call decides whether to go on
(the pause doubles while the model stays down). An outage costs one probe per pause, not a
cycle's worth of retries.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolforge.deploy.inbox import Inbox
from toolforge.deploy.settings import DeploySettings, QueueSettings, load_deploy_settings
from toolforge.deploy.status import QueueStatus, State, WorkerStatus, write_status
from toolforge.errors import ConflictError, ToolforgeError

if TYPE_CHECKING:
    from toolforge.daemon.events import EventBus
    from toolforge.daemon.jobs import JobContext, JobManager
    from toolforge.evolve.cycle import CycleReport
    from toolforge.evolve.trajectories import Trajectory, TrajectoryStore
    from toolforge.evolve.triggers import CycleLog, TriggerPolicy
    from toolforge.queue.base import LogEntry, TrajectoryLog

log = logging.getLogger("toolforge.worker")

DAY_S = 86_400.0
TRIALS_EVERY_S = 10.0
TRIM_EVERY_S = 600.0
PROBE_PROMPT = "Reply with the single word OK."
NOTABLE = frozenset({"cycle", "paused", "budget", "no_model", "queue_down"})


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class EvolutionWorker:
    """One per daemon. `start()` runs the loop on a thread; `nudge()` wakes it early."""

    def __init__(self, root: Path, jobs: JobManager, bus: EventBus) -> None:
        self.root = root
        self.jobs = jobs
        self.bus = bus
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.RLock()
        started = now_iso()
        self.status = WorkerStatus(library=str(root), pid=os.getpid(), since=started,
                                   updated_at=started)
        self._cycle_job: int | None = None
        self._other_jobs: dict[str, int] = {}  # kind -> running job id (sync, curate, trial)
        self._pause_s: float | None = None
        self._paused_until = 0.0  # monotonic
        self._probe_due = False
        # The shared log, when one is configured (opened on first use).
        self._log: TrajectoryLog | None = None
        self._log_key: tuple[Any, ...] | None = None
        self._consumer = ""
        self._inbox: Inbox | None = None
        self._recovered = False
        self._next: dict[str, float] = {}
        # Cycles done but not yet acknowledged in the log: their commits must be published
        # first (a shared library). (cycle id, trajectory ids)
        self._to_ack: list[tuple[str, list[str]]] = []
        self._heartbeat: _Heartbeat | None = None
        self._last_warning: str | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        try:
            self._reap_dead_cycles()
        except ToolforgeError as exc:
            log.warning("could not check for interrupted cycles: %s", exc.message)
        self._thread = threading.Thread(target=self._loop, name="evolution-worker",
                                        daemon=True)
        self._thread.start()

    def halt(self) -> None:
        """Take no more work (the daemon is stopping); `stop` waits for the thread."""
        self._stop.set()
        self._wake.set()

    def stop(self, timeout_s: float = 10.0) -> None:
        self.halt()
        if self._thread is not None:
            self._thread.join(timeout_s)
        self._set_state("stopped", "the daemon stopped")
        if self._heartbeat is not None:
            self._heartbeat.stop()
        if self._log is not None:
            try:
                self._log.close()
            except Exception:  # closing a connection that is already gone
                pass

    def nudge(self) -> None:
        """Runs arrived: look now instead of at the next poll."""
        self._wake.set()

    def _loop(self) -> None:
        try:  # off the daemon's start-up path: it may wait for the network
            self._unpublished()  # a commit a killed worker made but did not publish
        except ToolforgeError as exc:
            self._warn(f"publishing at start: {exc.message}")
        except Exception:
            log.exception("evolution worker: publishing at start failed")
        while not self._stop.is_set():
            poll = 2.0
            try:
                settings = load_deploy_settings()
                poll = settings.evolution.poll_s
                self.tick(settings)
            except ToolforgeError as exc:
                self._warn(exc.message)
            except Exception:  # the worker must outlive any one bad tick
                log.exception("evolution worker: tick failed")
            self._wake.wait(poll)
            self._wake.clear()

    # --- one look ----------------------------------------------------------------------------

    def tick(self, settings: DeploySettings) -> None:
        from toolforge.config.effective import effective_settings
        from toolforge.evolve.trajectories import default_store
        from toolforge.evolve.triggers import CycleLog, TriggerPolicy, decide

        # What applies: the library's settings within yours (models are yours alone).
        effective = effective_settings(self.root)
        policy = TriggerPolicy.from_settings(effective.library)
        store = default_store(self.root, policy.reward_threshold)
        cycles = CycleLog(store)
        if self._log is not None and not (settings.queue.url and settings.evolution.worker):
            self._leave_queue()  # the user config no longer gives this worker a queue
        if not settings.evolution.worker:
            # An agent's machine: it may follow the remote, but takes no runs from the
            # shared queue (they are the workers'), decides nothing and evolves nothing.
            self._schedules(settings, store, worker=False)
            self._set_state("disabled", "[evolution] worker = false in the user config")
            return
        queue_up = self._ingest(settings.queue, store, policy) if settings.queue.url else True
        self._publish_and_ack(settings)
        self._schedules(settings, store, worker=True)
        if self._job_running() or not queue_up:
            # The queue down: no cycle starts, and the state stays "queue_down". This worker
            # cannot renew its hold meanwhile, so others may take its entries over: a
            # cycle here would analyse failures another worker analyses too.
            return
        decision = decide(store, cycles, policy)
        with self._lock:
            self.status.trigger = decision.reason
        if not decision.fire:
            self._set_state("idle", decision.reason)
            return
        if time.monotonic() < self._paused_until:
            return  # state "paused" says until when
        problem = self._model_problem(effective)
        if problem is not None:
            self._set_state("no_model", problem)
            return
        from toolforge.evolve.budget import check_budget

        budget = check_budget(cycles, settings.evolution)
        with self._lock:
            self.status.budget = budget.model_dump(mode="json")
        if not budget.ok:
            until = f" (room again at {budget.retry_at})" if budget.retry_at else ""
            self._set_state("budget", f"cycle not started: {budget.reason}{until}")
            return
        if self._probe_due and not self._probe(effective):
            return
        self._submit_cycle(decision.reason, decision.failure_ids)

    def _job_running(self) -> bool:
        with self._lock:
            job_id = self._cycle_job
        if job_id is None:
            return False
        try:
            info = self.jobs.get(job_id, with_log=False)
        except ToolforgeError:
            info = None
        if info is not None and not info.finished:
            return True
        with self._lock:
            self._cycle_job = None
        return False

    def _submit_cycle(self, reason: str, failure_ids: list[str]) -> None:
        try:
            job = self.jobs.submit("evolve", None, {"reason": reason,
                                                    "failures": len(failure_ids)})
        except ToolforgeError as exc:  # the daemon is stopping
            self._warn(exc.message)
            return
        with self._lock:
            self._cycle_job = job.id
            self.status.job = job.id
        self._set_state("cycle", f"cycle due: {reason} (job {job.id})")

    # --- the model: configured? reachable? -----------------------------------------------------

    def _model_problem(self, effective: Any) -> str | None:
        try:
            llm = effective.llm_settings()
            for role in ("synthesis", "tests", "adversarial"):
                llm.for_role(role)
        except ToolforgeError as exc:
            return f"a cycle is due but no model is configured: {exc.message}"
        return None

    def _probe(self, effective: Any) -> bool:
        """After a pause: one single-attempt call. True when the model answers."""
        from toolforge.llm.client import LLMClient, LLMError

        settings = effective.llm_settings()
        once = settings.model_copy(update={
            "max_retries": 0,
            "roles": {r: s.model_copy(update={"max_retries": None})
                      for r, s in settings.roles.items()}})
        try:
            LLMClient(once).complete("synthesis", [{"role": "user", "content": PROBE_PROMPT}],
                                     max_tokens=5)
        except LLMError as exc:
            if exc.unavailable:
                self._pause(f"still unavailable: {exc.message}")
                return False
        except ToolforgeError as exc:
            self._pause(exc.message)
            return False
        with self._lock:
            self._probe_due = False
            self._pause_s = None
            self.status.paused_until = None
            self.status.pause_s = None
        return True

    def _pause(self, why: str) -> None:
        settings = load_deploy_settings().evolution
        with self._lock:
            self._pause_s = settings.pause_s if self._pause_s is None else \
                min(settings.max_pause_s, self._pause_s * 2)
            self._paused_until = time.monotonic() + self._pause_s
            self._probe_due = True
            until = (datetime.now(UTC) + timedelta(seconds=self._pause_s)).isoformat(
                timespec="seconds")
            self.status.paused_until = until
            self.status.pause_s = self._pause_s
            self.status.outages += 1
            self.status.last_outage = f"{now_iso()} {why}"
        self._set_state("paused", f"evolution paused until {until}: the model is "
                                  f"unavailable ({why})")

    # --- the cycle job -----------------------------------------------------------------------

    def run_cycle(self, ctx: JobContext) -> Any:
        """The `evolve` job: catch up with the shared remote, re-check the trigger and the
        budget, run the cycle, then acknowledge what it consumed."""
        from toolforge.service.evolution_service import EvolutionService
        from toolforge.service.library_service import LibraryService

        settings = load_deploy_settings()
        # A plain service: the cycle's validations run on its own threads, not as jobs
        # queued behind this one.
        library = LibraryService(self.root)
        evo = EvolutionService(self.root, library=library, log=ctx.log)
        try:
            self._catch_up(library, ctx)
            decision = evo.decision()
            if not decision.fire:
                ctx.log(f"no cycle: {decision.reason}")
                return {"skipped": decision.reason}
            evo.budget_check().raise_if_over(settings.path)

            def started(cycle_id: str, trajectory_ids: list[str]) -> None:
                with self._lock:
                    self.status.cycle_id = cycle_id
                self._remember(cycle_id, trajectory_ids)
                self.bus.publish("cycle_started", cycle=cycle_id, reason=decision.reason,
                                 failures=len(trajectory_ids), job=ctx.id)
                self._set_state("cycle", f"cycle {cycle_id[:12]} running: "
                                         f"{decision.reason} (job {ctx.id})")

            report = evo._cycle(decision, dry_run=False, on_start=started,
                                cancel=ctx.cancel_event)
        finally:
            evo.close()
            library.close()
        self._after_cycle(report, settings)
        return report

    def _catch_up(self, library: Any, ctx: JobContext) -> None:
        """A shared library: evolve from the remote's latest state, and publish anything
        left unpublished."""
        from toolforge.library.remote import LibraryRemote, PublishConflict, RemoteUnreachable

        if LibraryRemote(library.library.git).shared_name() is None:
            return
        try:
            result = library.sync()
            ctx.log(f"synced with {result.remote}: {result.pulled} commit(s) in, "
                    f"{result.pushed} published")
        except (RemoteUnreachable, PublishConflict) as exc:
            ctx.log(f"could not sync before the cycle: {exc.message}")

    def _after_cycle(self, report: CycleReport, settings: DeploySettings) -> None:
        counts = report.counts()
        self.bus.publish("cycle_finished", cycle=report.cycle_id, reason=report.reason,
                         outcomes=counts, error=report.error,
                         tokens=report.usage.total_tokens, cost_usd=report.usage.cost_usd,
                         tools=[o.gap.name for o in report.outcomes])
        with self._lock:
            self.status.cycle_id = None
            self.status.job = None
        if report.outage:
            self._pause(report.outage)
            return
        with self._lock:
            self._pause_s = None
        if report.cycle_id != "-" and report.error is None and settings.queue.url:
            with self._lock:
                self._to_ack.append((report.cycle_id, list(report.trajectory_ids)))
            self._wake.set()  # the loop thread acknowledges (it alone talks acks)
        summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no gap"
        self._set_state("idle", f"last cycle {report.cycle_id[:12]}: "
                                f"{report.error or summary}")

    # --- the shared log ----------------------------------------------------------------------

    def _open_log(self, qs: QueueSettings) -> TrajectoryLog:
        from toolforge.library.remote import LibraryRemote
        from toolforge.library.store import Library
        from toolforge.queue import consumer_name, open_log

        key = (qs.url, qs.stream, qs.group, qs.consumer)
        if self._log is not None and self._log_key == key:
            return self._log
        if self._log is not None:
            self._log.close()
        lib = Library.open(self.root)
        try:
            library_id = LibraryRemote(lib.git).library_id()
        finally:
            lib.close()
        self._log = open_log(qs, library_id)
        self._log_key = key
        self._consumer = consumer_name(qs, self.root)
        self._recovered = False
        if self._heartbeat is not None:
            self._heartbeat.stop()
        # Its own thread: a slow tick (a sync waiting for the library lock, a loaded
        # machine) must not let the entries this worker holds look abandoned.
        self._heartbeat = _Heartbeat(self._log, self._consumer, qs.claim_idle_s / 4)
        with self._lock:
            self.status.queue = QueueStatus(name=self._log.name, consumer=self._consumer)
        self._write()  # `toolforge cycles` shows the queue before any entry arrives
        return self._log

    def _leave_queue(self) -> None:
        """Stop reading the shared log and renewing holds: what this worker held goes to
        the other workers after `claim_idle_s`. Not before the acknowledgements of finished
        cycles are through (else their runs would be analysed again)."""
        with self._lock:
            if self._to_ack:
                return
            self.status.queue = None
        if self._heartbeat is not None:
            self._heartbeat.stop()
            self._heartbeat = None
        if self._log is not None:
            try:
                self._log.close()
            except Exception:  # closing a connection that is already gone
                pass
        self._log = self._log_key = None
        self._inbox = None
        self._write()

    def _ingest(self, qs: QueueSettings, store: TrajectoryStore,
                policy: TriggerPolicy) -> bool:
        """Take what the shared log has for this worker; False when it cannot be reached."""
        from toolforge.queue.redis_streams import QueueUnavailable

        try:
            queue_log = self._open_log(qs)
            if self._inbox is None or self._inbox.log != queue_log.name:
                self._inbox = Inbox(store, queue_log.name)
            if not self._recovered:
                self._recover(queue_log, store, policy)
                self._recovered = True
            now = time.monotonic()
            if now >= self._next.get("lost", 0.0):
                self._drop_lost(queue_log)
                self._next["lost"] = now + qs.claim_idle_s / 2
            entries: list[LogEntry] = []
            if now >= self._next.get("claim", 0.0):
                entries += queue_log.claim_stale(self._consumer, idle_s=qs.claim_idle_s,
                                                 count=qs.batch)
                with self._lock:
                    if self.status.queue is not None:
                        self.status.queue.taken_over += len(entries)
                self._next["claim"] = now + max(1.0, qs.claim_idle_s / 4)
            fresh = queue_log.read(self._consumer, count=qs.batch, block_s=0)
            entries += fresh
            if entries:
                self._accept(queue_log, entries, store, policy)
            if len(fresh) >= qs.batch:
                self._wake.set()  # more are waiting: take them at once
            if now >= self._next.get("trim", 0.0):
                queue_log.trim()
                self._next["trim"] = now + TRIM_EVERY_S
            with self._lock:
                if self.status.queue is not None:
                    held = len(self._inbox.held())
                    changed = bool(entries) or held != self.status.queue.held
                    self.status.queue.held = held
            if changed:
                self._write()  # `toolforge cycles` shows the queue's figures
            if self.status.state == "queue_down":
                self._set_state("idle", "the queue is reachable again")
        except QueueUnavailable as exc:
            self._set_state("queue_down", exc.message)
            return False
        return True

    def _recover(self, queue_log: TrajectoryLog, store: TrajectoryStore,
                 policy: TriggerPolicy) -> None:
        """After a (re)start: drop local copies of entries another worker took over, then
        take back this worker's own pending entries."""
        assert self._inbox is not None
        held = self._inbox.held()
        holders: dict[str, str | None] = {}
        if held:
            holders = queue_log.holders(list(held))
            others = [e for e, h in holders.items() if h is not None and h != self._consumer]
            nobody = [e for e, h in holders.items() if h is None]
            dropped = self._inbox.drop(others)
            self._inbox.acked(nobody)  # acknowledged long ago (its record expired)
            if others:
                log.warning("%d entr(ies) this worker held were taken over by other workers "
                            "while it was down: %d local cop(ies) dropped", len(others),
                            dropped)
                with self._lock:
                    if self.status.queue is not None:
                        self.status.queue.dropped += dropped
        after: str | None = None
        still_pending: set[str] = set()
        while True:
            batch = queue_log.pending(self._consumer, count=500, after=after)
            if not batch:
                break
            still_pending.update(e.id for e in batch)
            self._accept(queue_log, batch, store, policy)
            after = batch[-1].id
        # Acknowledged by this worker just before it stopped (the log knows, the row did not)
        mine = [e for e, h in holders.items() if h == self._consumer]
        self._inbox.acked([e for e in mine if e not in still_pending])

    def _drop_lost(self, queue_log: TrajectoryLog) -> None:
        """Entries this worker stored but another worker holds now (taken over while this
        one stalled longer than `claim_idle_s`): that worker stores and acknowledges them,
        so the copies here go (every run is stored once)."""
        assert self._inbox is not None
        held = self._inbox.held()
        if not held:
            return
        lost = [e for e, h in queue_log.holders(list(held)).items()
                if h is not None and h != self._consumer]
        if lost:
            dropped = self._inbox.drop(lost)
            log.warning("%d entr(ies) were taken over by other workers (this one stalled "
                        "past claim_idle_s): %d local cop(ies) dropped", len(lost), dropped)
            with self._lock:
                if self.status.queue is not None:
                    self.status.queue.dropped += dropped

    def _accept(self, queue_log: TrajectoryLog, entries: list[LogEntry],
                store: TrajectoryStore, policy: TriggerPolicy) -> None:
        """Store each entry's run; acknowledge what is complete once stored."""
        from toolforge.evolve.triggers import CycleLog
        from toolforge.service.trajectory_service import ReportError, validate_queued

        assert self._inbox is not None
        accepted: list[tuple[LogEntry, Trajectory]] = []
        rejected = 0
        for entry in entries:
            if entry.data is None:
                queue_log.reject(self._consumer, entry, entry.problem or "unreadable")
                rejected += 1
                continue
            try:
                t = validate_queued(entry.data)
            except ReportError as exc:
                queue_log.reject(self._consumer, entry, exc.message)
                rejected += 1
                continue
            # The row first: a worker killed between the two writes finds the row when it
            # comes back, and drops the entry's run if another worker took it over.
            self._inbox.add(entry.id, t.id)
            try:
                t = store.record(t)
            except ConflictError:  # handed out again, or a duplicate id: stored already
                t = store.get(t.id)
            accepted.append((entry, t))
        again = [e.id for e, _ in accepted if e.deliveries > 1]
        finished = queue_log.finished_cycles(again) if again else {}
        cycles = CycleLog(store)
        ack: list[str] = []
        for entry, t in accepted:
            cycle = finished.get(entry.id)
            if cycle is not None:
                # A cycle that finished elsewhere (or here, before a crash) consumed it.
                store.mark_handled([t.id], cycle)
                ack.append(entry.id)
            elif t.handled_by is not None and _finished_here(cycles, t.handled_by):
                with self._lock:
                    self._to_ack.append((t.handled_by, [t.id]))
            elif not t.is_failure(policy.reward_threshold):
                ack.append(entry.id)  # a success's effect is complete once stored
        done = queue_log.ack(self._consumer, ack) if ack else []
        self._inbox.acked(done)
        with self._lock:
            if self.status.queue is not None:
                self.status.queue.acked += len(done)
                self.status.queue.rejected += rejected
        if accepted:
            self.bus.publish("trajectories_recorded", count=len(accepted), source="queue",
                             ids=[t.id for _, t in accepted][:50])

    def _remember(self, cycle_id: str, trajectory_ids: list[str]) -> None:
        if self._log is None or self._inbox is None:
            return
        entries = self._inbox.entries_for(trajectory_ids)
        self._log.remember_cycle(cycle_id, entries)

    def _publish_and_ack(self, settings: DeploySettings) -> None:
        """Acknowledge the entries of finished cycles once their commits are published
        (nothing to publish on a library without a shared remote)."""
        with self._lock:
            waiting = list(self._to_ack)
        if not waiting or self._log is None or self._inbox is None:
            return
        from toolforge.queue.redis_streams import QueueUnavailable

        unpublished = self._unpublished()
        if unpublished:
            self._warn(f"{unpublished} commit(s) not yet published to the shared remote: "
                       "the runs their cycles consumed stay held until they are")
            return
        for cycle_id, trajectory_ids in waiting:
            try:
                self._log.finish_cycle(cycle_id)
                entries = self._inbox.entries_for(trajectory_ids)
                done = self._log.ack(self._consumer, entries)
            except QueueUnavailable as exc:
                self._warn(exc.message)
                return
            self._inbox.acked(done)
            refused = sorted(set(entries) - set(done))
            if refused:  # taken over meanwhile: the other worker keeps its copy
                self._inbox.drop(refused)
            with self._lock:
                self._to_ack.remove((cycle_id, trajectory_ids))
                if self.status.queue is not None:
                    self.status.queue.acked += len(done)
                    self.status.queue.dropped += len(refused)

    def _unpublished(self) -> int:
        from toolforge.library.remote import LibraryRemote, PublishConflict, RemoteUnreachable
        from toolforge.service.library_service import LibraryService

        svc = LibraryService(self.root)
        try:
            remote = LibraryRemote(svc.library.git)
            if remote.shared_name() is None or not remote.unpublished():
                return 0
            try:
                svc.sync()
            except (RemoteUnreachable, PublishConflict) as exc:
                self._warn(f"publishing: {exc.message}")
            return len(remote.unpublished())
        finally:
            svc.close()

    # --- schedules: trials, curation, sync -----------------------------------------------------

    def _schedules(self, settings: DeploySettings, store: TrajectoryStore, *,
                   worker: bool) -> None:
        now = time.monotonic()
        if settings.sync.interval_s and now >= self._next.get("sync", 0.0):
            self._next["sync"] = now + settings.sync.interval_s
            self._submit_other("sync", {"read_only": settings.sync.read_only})
        if not worker:
            return
        if settings.evolution.curate_daily and self._curation_due():
            self._submit_other("curate", {})
        if now >= self._next.get("trials", 0.0):
            self._next["trials"] = now + TRIALS_EVERY_S
            from toolforge.evolve.trials import due_trials

            try:
                due = due_trials(self.root, store)
            except ToolforgeError as exc:
                self._warn(f"trials: {exc.message}")
                due = []
            for name in due:
                self._submit_other("trial", {"tool": name}, key=f"trial:{name}")

    def _curation_due(self) -> bool:
        last = self.status.last_curation
        if last is None:
            return True
        try:
            return (datetime.now(UTC) - datetime.fromisoformat(last)).total_seconds() >= DAY_S
        except ValueError:
            return True

    def _submit_other(self, kind: str, params: dict[str, Any], *, key: str | None = None
                      ) -> None:
        key = key or kind
        running = self._other_jobs.get(key)
        if running is not None:
            try:
                if not self.jobs.get(running, with_log=False).finished:
                    return
            except ToolforgeError:
                pass
        try:
            job = self.jobs.submit(kind, None, params)
        except ToolforgeError as exc:
            self._warn(exc.message)
            return
        self._other_jobs[key] = job.id
        if kind == "curate":
            with self._lock:
                self.status.last_curation = now_iso()
            self._write()

    def run_sync(self, ctx: JobContext) -> Any:
        """The `sync` job (on the interval of `[sync]`)."""
        from toolforge.service.library_service import LibraryService

        svc = LibraryService(self.root)
        try:
            result = svc.sync(read_only=bool(ctx.params.get("read_only")))
        finally:
            svc.close()
        ctx.log(f"synced with {result.remote}: {result.pulled} in, {result.pushed} out; "
                f"at {(result.head or '-')[:12]}")
        with self._lock:
            self.status.last_sync = now_iso()
        self._write()
        self.bus.publish("library_synced", head=result.head, pulled=result.pulled,
                         pushed=result.pushed)
        return result

    def run_curation(self, ctx: JobContext) -> Any:
        """The `curate` job (daily, when `[evolution] curate_daily`)."""
        from toolforge.evolve.curator import curate

        plan = curate(self.root, dry_run=False, log=ctx.log)
        self.bus.publish("library_curated", stale=len(plan.stale), retired=len(plan.retire),
                         commit=plan.commit)
        return plan

    def run_trial(self, ctx: JobContext) -> Any:
        """The `trial` job: decide a trial that has run its episodes."""
        from toolforge.evolve.trials import decide_trial

        decision = decide_trial(self.root, str(ctx.params["tool"]), log=ctx.log)
        self.bus.publish("trial_decided", tool=decision.tool, outcome=decision.outcome,
                         commit=decision.commit)
        return decision

    # --- dead cycles ---------------------------------------------------------------------------

    def _reap_dead_cycles(self) -> None:
        """Cycles left "running" by a process that died (nobody holds the cycle lock) give
        their failures back, so they are analysed again."""
        from toolforge.evolve.cycle_lock import cycle_running
        from toolforge.evolve.trajectories import default_store
        from toolforge.evolve.triggers import CycleLog
        from toolforge.library.store import STATE_DIR

        if cycle_running(self.root / STATE_DIR):
            return
        cycles = CycleLog(default_store(self.root))
        for record in cycles.recent(50):
            if record.status == "running":
                cycles.abort(record.id, "aborted: the process running it stopped")
                log.warning("cycle %s was interrupted: its failures are unhandled again",
                            record.id[:12])

    # --- status --------------------------------------------------------------------------------

    def _set_state(self, state: State, detail: str) -> None:
        with self._lock:
            before = self.status.state
            changed = (state, detail) != (before, self.status.detail)
            if state != before:
                self.status.since = now_iso()
                self._last_warning = None  # a trouble that comes back is said again
            self.status.state = state
            self.status.detail = detail
        if not changed:
            return
        self._write()
        # Announced: a new state, or a new reason to be stuck; not each idle look, and not
        # the first one ("starting" -> "idle": nothing happened).
        if (state != before and before != "starting") or state in NOTABLE:
            self.bus.publish("evolution_status", state=state, detail=detail,
                             cycle=self.status.cycle_id, job=self.status.job,
                             paused_until=self.status.paused_until)

    def _warn(self, text: str) -> None:
        with self._lock:
            if self._last_warning == text:
                return  # the same trouble on every look: said once
            self._last_warning = text
            self.status.warnings = [*self.status.warnings[-9:], f"{now_iso()} {text}"]
        log.warning("evolution worker: %s", text)
        self._write()

    def _write(self) -> None:
        with self._lock:
            self.status.updated_at = now_iso()
            snapshot = self.status.model_copy(deep=True)
        try:
            write_status(self.root, snapshot)
        except OSError as exc:  # a full disk must not stop the worker
            log.warning("could not write the evolution status: %s", exc)

    def snapshot(self) -> WorkerStatus:
        with self._lock:
            return self.status.model_copy(deep=True)


class _Heartbeat:
    """Renews the hold of one consumer on its entries, every `every_s`, on a thread of its
    own; stopped with the worker (or when the log changes)."""

    def __init__(self, queue_log: TrajectoryLog, consumer: str, every_s: float) -> None:
        self.queue_log = queue_log
        self.consumer = consumer
        self.every_s = max(0.1, every_s)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="queue-heartbeat",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.queue_log.renew(self.consumer)
            except ToolforgeError as exc:
                log.warning("could not renew the entries this worker holds: %s", exc.message)
            except Exception:
                log.exception("queue heartbeat failed")
            self._stop.wait(self.every_s)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


def _finished_here(cycles: CycleLog, cycle_id: str) -> bool:
    try:
        return cycles.get(cycle_id).status == "done"
    except ToolforgeError:
        return False
