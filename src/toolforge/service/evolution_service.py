"""Running agents over tasks, recording trajectories, and evolving the library.

Same service in every client: `toolforge run/evolve/demo`, the Python API (`Forge`) and the
daemon. Model calls happen here, through the one LLM client, with one usage ledger.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

from pydantic import BaseModel, Field

from toolforge.evolve.agent import INFRASTRUCTURE, AgentRun, BuiltinAgent
from toolforge.evolve.budget import BudgetCheck, check_budget
from toolforge.evolve.cycle import (
    PRODUCED,
    CycleCancelled,
    CycleInterrupted,
    CycleReport,
    Evolver,
    Terminated,
    cycle_usage,
)
from toolforge.evolve.cycle_lock import CycleBusy, one_cycle_at_a_time
from toolforge.evolve.lease import LeaseKeeper, lease_holder, lease_seconds
from toolforge.evolve.rewards import score
from toolforge.evolve.tasks import Task
from toolforge.evolve.toolbox import ToolBox
from toolforge.evolve.trajectories import Step, Trajectory, default_store
from toolforge.evolve.triggers import CycleLog, TriggerDecision, TriggerPolicy, decide
from toolforge.llm.client import LLMClient
from toolforge.llm.config import LLMSettings
from toolforge.llm.usage import UsageLedger, UsageTotals
from toolforge.service.library_service import LibraryService

Log = Callable[[str], None]


class TaskResult(BaseModel):
    task_id: str
    group: str | None = None
    reward: float | None = None
    success: bool | None = None
    answer: str | None = None
    expected: Any = None
    tools_used: list[str] = Field(default_factory=list)
    trajectory_id: str
    error: str | None = None
    duration_ms: float = 0.0


class GroupSummary(BaseModel):
    group: str
    tasks: int
    successes: int
    mean_reward: float | None


class RunSummary(BaseModel):
    results: list[TaskResult] = Field(default_factory=list)
    groups: list[GroupSummary] = Field(default_factory=list)
    cycles: list[CycleReport] = Field(default_factory=list)
    usage: UsageTotals = Field(default_factory=UsageTotals)
    # Set when the run stopped because the model or the sandbox failed (not a task): the
    # error, and the tasks that were not run.
    infrastructure_error: str | None = None
    not_run: list[str] = Field(default_factory=list)

    @property
    def success_rate(self) -> float:
        scored = [r for r in self.results if r.success is not None]
        return sum(1 for r in scored if r.success) / len(scored) if scored else 0.0


class EvolutionService:
    def __init__(self, root: Path, *, llm_settings: LLMSettings | None = None,
                 library: LibraryService | None = None, log: Log | None = None,
                 max_steps: int = 8, top_k: int = 8, queue: str | None = None) -> None:
        from toolforge.service.trajectory_service import TrajectoryService

        self.root = root
        # Runs call many tools: keep spare sandboxes ready for their first calls.
        self.library = library or LibraryService(root, warm_runtime=True)
        self._own_library = library is None
        self.log = log or (lambda _msg: None)
        settings = self.library.settings()  # all of it checked before any work
        for refused in settings.refusal_messages():
            self.log(f"warning: {refused}")
        self.policy = TriggerPolicy.from_settings(settings.library)
        self.store = default_store(root, self.policy.reward_threshold)
        self.cycles = CycleLog(self.store)
        # Where runs are written: this store, or the shared trajectory log (`queue`).
        self.trajectories = TrajectoryService(root, queue=queue)
        self.ledger = UsageLedger()
        self._llm_settings = llm_settings
        self._llm: LLMClient | None = None
        self.max_steps = max_steps
        self.top_k = top_k

    def close(self) -> None:
        self.trajectories.close()
        if self._own_library:
            self.library.close()

    def record(self, trajectory: Trajectory) -> Trajectory:
        """Write one run: into the library's store, or with a queue into the shared log
        (where the workers evolve from it; this process then never starts a cycle)."""
        return self.trajectories.save([trajectory])[0]

    @property
    def llm(self) -> LLMClient:
        """The client; ConfigError (with how to configure one) when no model is set."""
        if self._llm is None:
            settings = self._llm_settings or self.library.settings().llm_settings()
            self._llm = LLMClient(settings, self.ledger)
        return self._llm

    def toolbox(self, caller: str = "agent", session: str | None = None) -> ToolBox:
        """The active tools through the library's runtime (calls recorded as `caller`)."""
        return ToolBox(self.library.runtime, caller=caller, session=session)

    # --- running tasks -------------------------------------------------------------------------

    def prepare_model(self, role: str = "agent") -> str:
        """Check the model configuration and import the model library (seconds): the
        model's name. ConfigError, with how to configure one, when none is set."""
        model = self.llm.settings.for_role(role).model
        self.llm.load()
        return str(model)

    def run_task(self, task: Task, toolbox: ToolBox,
                 on_status: Callable[[str], None] | None = None) -> Trajectory:
        self.llm.settings.for_role("agent")  # fail early, with the how-to hint
        prompt = render_task(task)
        agent = BuiltinAgent(self.llm, toolbox, max_steps=task.max_steps or self.max_steps,
                             top_k=self.top_k, on_status=on_status)
        first_call = len(toolbox.calls)
        run = agent.run(prompt)
        reward = score(run.answer, task.expected) if task.expected is not None else None
        trajectory = trajectory_from_run(task, prompt, run, reward, self.policy.reward_threshold)
        trajectory.metadata.update(toolbox.run_metadata(first_call))
        return self.record(trajectory)

    def run_tasks(self, tasks: list[Task], *, evolve: bool = False,
                  on_result: Callable[[TaskResult], None] | None = None,
                  on_cycle: Callable[[CycleReport], None] | None = None,
                  on_status: Callable[[Task, str], None] | None = None) -> RunSummary:
        """Run the tasks in order. An infrastructure error (the model unreachable...)
        stops the run: it is recorded as such, never as a failed task, and the summary says
        which tasks did not run."""
        summary = RunSummary()
        toolbox = self.toolbox()
        try:
            for i, task in enumerate(tasks):
                status = None if on_status is None else \
                    (lambda text, task=task: on_status(task, text))
                t = self.run_task(task, toolbox, on_status=status)
                result = TaskResult(task_id=t.task_id or t.id, group=t.group, reward=t.reward,
                                    success=t.success, answer=t.final_answer,
                                    expected=task.expected.model_dump(mode="json")
                                    if task.expected is not None and hasattr(task.expected,
                                                                             "model_dump")
                                    else task.expected,
                                    tools_used=t.tools_used, trajectory_id=t.id,
                                    error=t.error, duration_ms=t.duration_ms)
                summary.results.append(result)
                if on_result:
                    on_result(result)
                if t.metadata.get("error_kind") == INFRASTRUCTURE:
                    summary.infrastructure_error = t.error
                    summary.not_run = [x.id for x in tasks[i + 1:]]
                    break
                if evolve:
                    report = self.maybe_evolve()
                    if report is not None:
                        summary.cycles.append(report)
                        if on_cycle:
                            on_cycle(report)
                        toolbox.close()  # pick up what the cycle promoted
                        toolbox = self.toolbox()
        finally:
            toolbox.close()
        summary.groups = summarize_groups(summary.results)
        summary.usage = self.ledger.totals()
        return summary

    # --- evolving ------------------------------------------------------------------------------

    def decision(self, *, manual: bool = False) -> TriggerDecision:
        return decide(self.store, self.cycles, self.policy, manual=manual)

    def budget_check(self) -> BudgetCheck:
        """Whether one more cycle fits the budgets of the user config ([evolution])."""
        from toolforge.deploy.settings import load_deploy_settings

        return check_budget(self.cycles, load_deploy_settings().evolution)

    def maybe_evolve(self) -> CycleReport | None:
        """A cycle when the trigger fires and the budgets allow one (else None; the log
        says why a due cycle did not start). With a queue, the workers evolve: never here."""
        if self.trajectories.queued:
            return None
        decision = self.decision()
        if not decision.fire:
            return None
        budget = self.budget_check()
        if not budget.ok:
            self.log(f"evolution cycle not started: {budget.reason}")
            return None
        try:
            return self._cycle(decision, dry_run=False)
        except CycleBusy:
            self.log("evolution cycle not started: another one is running")
            return None

    def evolve(self, *, dry_run: bool = False, ignore_budget: bool = False) -> CycleReport:
        """One cycle now (manual trigger): over the unhandled failures. BudgetExceeded
        when it would pass a budget (unless `ignore_budget`)."""
        decision = self.decision(manual=True)
        if not ignore_budget:
            from toolforge.deploy.settings import load_deploy_settings

            self.budget_check().raise_if_over(load_deploy_settings().path)
        return self._cycle(decision, dry_run=dry_run)

    def _cycle(self, decision: TriggerDecision, *, dry_run: bool,
               on_start: Callable[[str, list[str]], None] | None = None,
               cancel: threading.Event | None = None) -> CycleReport:
        """Run a cycle over the decision's failures. `on_start(cycle_id, trajectory_ids)`
        is called once the cycle has claimed its failures, before any model call. Setting
        `cancel` (a daemon job's) aborts the cycle at its next step (CycleCancelled).
        CycleBusy when another cycle of this library is running."""
        for role in ("synthesis", "tests", "adversarial"):
            self.llm.settings.for_role(role)  # fail early, with the how-to hint
        if dry_run:  # consumes nothing, writes nothing: needs no turn
            return self._run_cycle(decision, dry_run=True, on_start=on_start, cancel=cancel)
        with one_cycle_at_a_time(self.library.library.state_dir):
            return self._run_cycle(decision, dry_run=False, on_start=on_start, cancel=cancel)

    def _run_cycle(self, decision: TriggerDecision, *, dry_run: bool,
                   on_start: Callable[[str, list[str]], None] | None,
                   cancel: threading.Event | None) -> CycleReport:
        failures = [self.store.get(i) for i in decision.failure_ids]
        if not dry_run:  # those another cycle consumed while we waited are not ours
            failures = [t for t in failures if t.handled_by is None]
        if not failures:
            return CycleReport(cycle_id="-", reason=decision.reason, dry_run=dry_run,
                               error="no unhandled failures to learn from")
        evolver = Evolver(self.library, self.llm, self.ledger, log=self.log, cancelled=cancel)
        if dry_run:
            cycle_id = f"dry-{uuid.uuid4().hex[:12]}"
            self.log(f"evolution cycle {cycle_id[:12]}: {decision.reason}")
            with self._warm_sandboxes():
                return evolver.run_cycle(cycle_id, failures, reason=decision.reason,
                                         dry_run=True)
        holder, lease_s = lease_holder(), lease_seconds()
        cycle_id = self.cycles.start(decision.reason, [t.id for t in failures],
                                     holder=holder, lease_s=lease_s)
        lease = LeaseKeeper(self.cycles, cycle_id, holder, lease_s,
                            lambda: cycle_usage(self.ledger, cycle_id),
                            on_lost=evolver.cancel)
        aborted = False
        try:
            with lease:
                failures = [t for t in failures
                            if t.id in set(self.cycles.get(cycle_id).trajectory_ids)]
                if on_start is not None:
                    on_start(cycle_id, [t.id for t in failures])
                self.log(f"evolution cycle {cycle_id[:12]}: {decision.reason}")
                with self._warm_sandboxes():
                    try:
                        report = evolver.run_cycle(cycle_id, failures,
                                                   reason=decision.reason, dry_run=False)
                    except BaseException as exc:  # before the sandboxes are closed
                        aborted = True
                        lease.stop()
                        self._abort(cycle_id, evolver, exc)  # raises
        except BaseException as exc:
            if aborted:
                raise
            lease.stop()
            self._abort(cycle_id, evolver, exc)  # raises
        self.cycles.finish(cycle_id, report.model_dump(mode="json"), error=report.error,
                           usage=report.usage, release_failures=report.error is not None)
        return report

    def _abort(self, cycle_id: str, evolver: Evolver, exc: BaseException) -> NoReturn:
        """An interrupted cycle (SIGINT, SIGTERM, an error): record it aborted with what
        it spent, give back the failures it did not finish, and stop as asked (a signal as
        CycleInterrupted, an error as itself)."""
        evolver.cancel()
        signal = "SIGTERM" if isinstance(exc, Terminated) else \
            "SIGINT" if isinstance(exc, KeyboardInterrupt) else None
        why = f"interrupted ({signal})" if signal else "cancelled" \
            if isinstance(exc, CycleCancelled) else \
            f"interrupted by an error: {type(exc).__name__}: {exc}"[:500]
        usage = cycle_usage(self.ledger, cycle_id)
        done = evolver.finished_outcomes()
        keep = sorted({e for o in done if o.status in PRODUCED for e in o.gap.evidence})
        summary = None
        if evolver.progress is not None:
            summary = evolver.progress.model_copy(update={"outcomes": done, "usage": usage,
                                                          "error": why})
        try:
            record, given = self.cycles.abort(cycle_id, why, keep=keep, summary=summary,
                                              usage=usage)
            kept = len(record.trajectory_ids)
            back = f"{given} failed run(s) given back" + (
                f", {kept} kept by the tools it finished" if kept else "")
        except Exception:  # the db is unwritable: the lease runs out and gives them back
            given, back = 0, "its failed runs go back when its lease runs out"
        cost = f"${usage.cost_usd:.4f}" if usage.cost_known else "cost unknown"
        message = (f"evolution cycle {cycle_id[:12]} {why}: {back}; spent {usage.calls} "
                   f"model call(s), {usage.total_tokens:,} tokens, {cost}")
        if signal is None:
            self.log(message)
            raise exc
        raise CycleInterrupted(message, cycle_id=cycle_id, given_back=given,
                               signal=signal) from exc

    @contextmanager
    def _warm_sandboxes(self) -> Iterator[None]:
        """A cycle validates several candidates at once: sandboxes started ahead (while
        the model analyses the failures) take start-up off each validation's path. A
        service that already has a pool (the daemon's) keeps it."""
        svc = self.library
        if svc.sandbox_pool is not None:
            yield
            return
        from toolforge.errors import ToolforgeError
        from toolforge.sandbox.backends import select_backend
        from toolforge.sandbox.pool import WarmPool

        try:
            options = svc.validation_options()
            pool = WarmPool(select_backend(options.backend), size=3, limits=options.limits)
        except ToolforgeError:
            yield  # the validations report the problem themselves
            return
        svc.sandbox_pool = pool
        try:
            yield
        finally:
            svc.sandbox_pool = None
            pool.close()


def render_task(task: Task) -> str:
    """The prompt: the task text plus its context (`data` verbatim; `fetch` URLs fetched
    here, outside any sandbox, as the environment of the task)."""
    parts = [task.task]
    ctx = task.context or {}
    if "data" in ctx:
        parts.append(str(ctx["data"]))
    fetch = ctx.get("fetch")
    urls = [fetch] if isinstance(fetch, str) else list(fetch or [])
    if urls:
        import httpx

        for url in urls:
            try:
                response = httpx.get(str(url), timeout=10)
                parts.append(f"GET {url} -> {response.status_code}\n{response.text[:20000]}")
            except httpx.HTTPError as exc:
                parts.append(f"GET {url} failed: {exc}")
    return "\n\n".join(parts)


def trajectory_from_run(task: Task, prompt: str, run: AgentRun, reward: float | None,
                        threshold: float) -> Trajectory:
    success = None if reward is None else reward >= threshold
    if run.error and reward is None:
        success = False
    metadata: dict[str, Any] = {}
    if run.error_kind == INFRASTRUCTURE:  # no verdict on the task: no reward, no failure
        reward, success = None, None
        metadata["error_kind"] = INFRASTRUCTURE
    steps = [Step.model_validate(s.model_dump()) for s in run.steps]
    return Trajectory(
        task_id=task.id, task=prompt, group=task.group, steps=steps,
        final_answer=run.answer, expected=task.expected, reward=reward, success=success,
        tools_offered=run.tools_offered, tools_used=run.tools_used, model=run.model,
        prompt_tokens=run.prompt_tokens, completion_tokens=run.completion_tokens,
        cost_usd=run.cost_usd, duration_ms=run.duration_ms, error=run.error,
        source="builtin-agent", metadata=metadata,
    )


def summarize_groups(results: list[TaskResult]) -> list[GroupSummary]:
    groups: dict[str, list[TaskResult]] = {}
    for r in results:
        groups.setdefault(r.group or "(none)", []).append(r)
    out = []
    for name, items in sorted(groups.items()):
        rewards = [r.reward for r in items if r.reward is not None]
        out.append(GroupSummary(group=name, tasks=len(items),
                                successes=sum(1 for r in items if r.success),
                                mean_reward=sum(rewards) / len(rewards) if rewards else None))
    return out
