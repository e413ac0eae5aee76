"""One evolution cycle (the ARISE shape): failures -> gaps -> for each gap, in parallel:
synthesize tool + tests -> static check -> sandbox tests -> adversarial tests + property
attack -> refine with the failure report (up to R attempts) -> candidate -> promotion by
policy. Every step lands in the CycleReport; every model call in the usage ledger.

Synthesis, verification and registration are separate functions so the per-problem loop
(decompose, retrieve, dedup, prune) can reuse them.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from toolforge.errors import ToolforgeError
from toolforge.evolve.prompts import prompt_hashes
from toolforge.evolve.synthesis import (
    FailureView,
    Gap,
    SynthesisError,
    find_gaps,
    merge_tests,
    refine_tool,
    synthesize_tool,
    write_adversarial_tests,
    write_tests,
)
from toolforge.library.store import CANDIDATES_DIR, TOOLS_DIR
from toolforge.llm.client import LLMClient, LLMError
from toolforge.llm.config import ROLES
from toolforge.llm.usage import UsageLedger, UsageTotals
from toolforge.validation.report import files_hash

if TYPE_CHECKING:
    from toolforge.evolve.trajectories import Trajectory
    from toolforge.service.library_service import LibraryService
    from toolforge.validation.report import ValidationReport

Log = Callable[[str], None]
Status = Literal["promoted", "candidate", "trial", "rejected", "refused", "failed"]
# Outcomes that wrote a tool to the library: their failures stay handled when the cycle is
# interrupted after them; every other claimed failure is given back.
PRODUCED = ("promoted", "candidate", "trial", "rejected")


class CycleCancelled(ToolforgeError):
    """The cycle was interrupted: a gap still working stops at its next step."""

    kind = "interrupted"


class CycleInterrupted(KeyboardInterrupt):
    """A cycle stopped by SIGINT/SIGTERM, after giving back what it had not finished.
    A KeyboardInterrupt, so that callers stop as they would for one."""

    def __init__(self, message: str, *, cycle_id: str, given_back: int, signal: str) -> None:
        super().__init__(message)
        self.message = message
        self.cycle_id = cycle_id
        self.given_back = given_back
        self.signal = signal


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like SIGINT's KeyboardInterrupt."""


class Attempt(BaseModel):
    number: int
    verdict: str
    summary: str


class CandidateOutcome(BaseModel):
    gap: Gap
    status: Status
    reason: str = ""
    version: int | None = None
    attempts: list[Attempt] = Field(default_factory=list)
    report_id: str | None = None
    commit: str | None = None
    usage: UsageTotals = Field(default_factory=UsageTotals)


class CycleReport(BaseModel):
    cycle_id: str
    reason: str
    dry_run: bool = False
    trajectory_ids: list[str] = Field(default_factory=list)
    gaps: list[Gap] = Field(default_factory=list)
    outcomes: list[CandidateOutcome] = Field(default_factory=list)
    usage: UsageTotals = Field(default_factory=UsageTotals)
    duration_ms: float = 0.0
    llm_ms: float = 0.0
    error: str | None = None
    # Set when the model could not be reached (or refused every request): the cycle's
    # failures go back to the trigger, and a background worker pauses evolution.
    outage: str | None = None

    @property
    def framework_ms(self) -> float:
        """Time spent outside model calls: the overhead DESIGN.md §7 budgets."""
        return max(0.0, self.duration_ms - self.llm_ms)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for o in self.outcomes:
            out[o.status] = out.get(o.status, 0) + 1
        return out


class Evolver:
    def __init__(self, service: LibraryService, llm: LLMClient, ledger: UsageLedger, *,
                 max_refinements: int = 2, max_gaps: int = 3, parallel: int = 4,
                 log: Log | None = None, cancelled: threading.Event | None = None) -> None:
        self.service = service
        self.llm = llm
        self.ledger = ledger
        self.max_refinements = max_refinements
        self.max_gaps = max_gaps
        self.parallel = parallel
        self.log = log or (lambda _msg: None)
        self._slots = threading.Lock()
        self._reserved = 0
        self.outage: str | None = None  # the first model failure: later gaps do not start
        # Set when the cycle is interrupted (or its job cancelled): gaps still running stop
        # at their next step and write nothing more.
        self.cancelled = cancelled if cancelled is not None else threading.Event()
        self.progress: CycleReport | None = None  # the running cycle's report so far
        self._done_lock = threading.Lock()
        self.finished: list[CandidateOutcome] = []  # gaps done, in the order they ended

    # --- the cycle ---------------------------------------------------------------------------

    def run_cycle(self, cycle_id: str, failures: list[Trajectory], *, reason: str,
                  dry_run: bool = False) -> CycleReport:
        started = time.perf_counter()
        report = CycleReport(cycle_id=cycle_id, reason=reason, dry_run=dry_run,
                             trajectory_ids=[t.id for t in failures])
        self.progress = report
        futures: list[Future[CandidateOutcome]] = []
        try:
            with self.ledger.cycle(cycle_id):
                self.log(f"analysing {len(failures)} failed run(s)")
                report.gaps = find_gaps(self.llm, [_view(t) for t in failures],
                                        self._tool_descriptions(), max_gaps=self.max_gaps)
            self._check_cancelled()
            for gap in report.gaps:
                kind = "new version of" if gap.existing_tool else "missing tool"
                self.log(f"gap: {kind} {gap.name} — {gap.description}")
            examples = {t.id: t.task for t in failures}
            futures = _on_daemon_threads(
                [functools.partial(self._gap_in_cycle, cycle_id, gap,
                                   [examples[e] for e in gap.evidence if e in examples],
                                   dry_run) for gap in report.gaps],
                parallel=self.parallel)
            report.outcomes = [self._result(f) for f in futures]
        except SynthesisError as exc:
            report.error = exc.message
            self.log(f"cycle failed: {exc.message}")
        except LLMError as exc:
            self.outage = self.outage or exc.message
            self.log(f"cycle failed: the model is unavailable: {exc.message}")
        except BaseException:
            # Interrupted (SIGINT, SIGTERM) or broken: stop the gaps still working, and do
            # not wait for their model calls or sandbox runs (their threads are daemons).
            self.cancel(futures)
            raise
        if self.outage is not None:
            report.outage = self.outage
            report.error = report.error or f"model unavailable: {self.outage}"
        report.usage = cycle_usage(self.ledger, cycle_id)
        report.llm_ms = round(report.usage.latency_ms, 1)
        report.duration_ms = round((time.perf_counter() - started) * 1000, 1)
        return report

    def cancel(self, futures: Sequence[Future[CandidateOutcome]] = ()) -> None:
        """Stop the cycle: gaps not started never start, running ones stop at their next
        step without writing anything."""
        self.cancelled.set()
        for f in futures:
            f.cancel()

    def finished_outcomes(self) -> list[CandidateOutcome]:
        with self._done_lock:
            return list(self.finished)

    def _result(self, future: Future[CandidateOutcome]) -> CandidateOutcome:
        """A gap's outcome; CycleCancelled as soon as the cycle is cancelled (its gaps'
        threads are left to stop at their next step)."""
        while True:
            try:
                return future.result(timeout=0.25)
            except TimeoutError:
                self._check_cancelled()

    def _check_cancelled(self) -> None:
        if self.cancelled.is_set():
            raise CycleCancelled("the cycle was interrupted")

    def _gap_in_cycle(self, cycle_id: str, gap: Gap, examples: list[str],
                      dry_run: bool) -> CandidateOutcome:
        tag = f"{cycle_id}:{gap.name}"
        if self.outage is not None:  # no more model calls into an outage
            return CandidateOutcome(gap=gap, status="failed",
                                    reason=f"not tried: the model is unavailable ({self.outage})")
        with self.ledger.cycle(tag):
            try:
                outcome = self.evolve_gap(gap, examples, cycle_id=cycle_id, dry_run=dry_run)
            except LLMError as exc:
                self.outage = self.outage or exc.message
                outcome = CandidateOutcome(gap=gap, status="failed",
                                           reason=f"the model is unavailable: {exc.message}")
            except ToolforgeError as exc:  # e.g. a library conflict: report, don't crash
                outcome = CandidateOutcome(gap=gap, status="failed", reason=exc.message)
        outcome.usage = self.ledger.totals(tag)
        with self._done_lock:
            self.finished.append(outcome)
        self.log(f"{gap.name}: {outcome.status}" + (f" ({outcome.reason})" if outcome.reason
                                                    else ""))
        return outcome

    # --- one gap -----------------------------------------------------------------------------

    def evolve_gap(self, gap: Gap, examples: list[str], *, cycle_id: str,
                   dry_run: bool = False) -> CandidateOutcome:
        outcome = CandidateOutcome(gap=gap, status="failed")
        if not gap.existing_tool and not self._reserve_slot():
            cap = self.service.library.settings().capacity
            outcome.status = "refused"
            outcome.reason = (f"library full: capacity is {cap} active tools; retire unused "
                              "tools or raise `capacity` in toolforge.toml")
            return outcome
        try:
            existing = self.service.library.find_current(gap.name, TOOLS_DIR)
            try:
                self._check_cancelled()
                code = synthesize_tool(self.llm, gap, examples,
                                       existing.code if existing else None)
                self._check_cancelled()
                tests = write_tests(self.llm, gap, examples)
            except SynthesisError as exc:
                outcome.reason = exc.message
                return outcome
            code, tests, adversarial, final = self.verify_and_refine(gap, code, tests,
                                                                     outcome)
            if final is None:  # a model reply we could not use during refinement
                return outcome
            self._check_cancelled()  # an interrupted cycle writes nothing more
            if dry_run:
                outcome.status = "candidate" if final.verdict == "passed" else "rejected"
                outcome.reason = "dry run: nothing written" + (
                    "" if final.verdict == "passed" else f"; {final.failure_summary()}")
                return outcome
            return self.register(gap, code, tests, adversarial, final, outcome, cycle_id)
        finally:
            if not gap.existing_tool:
                self._release_slot()

    def verify_and_refine(self, gap: Gap, code: str, tests: str, outcome: CandidateOutcome
                          ) -> tuple[str, str, str, ValidationReport | None]:
        """Validate, attack, refine: returns the last code, tests, adversarial tests and the
        final report (None when a refinement reply was unusable)."""
        adversarial = ""
        report: ValidationReport | None = None
        for attempt in range(1, self.max_refinements + 2):
            self._check_cancelled()
            extra = [("adversarial", adversarial)] if adversarial else []
            report = self.service.validate(gap.name, code=code, tests=tests,
                                           extra_suites=extra, store=False)
            if report.verdict == "inconclusive":
                # The attack ran out of time (a busy machine): no verdict on the code, so
                # look again before asking the model to change anything.
                self.log(f"{gap.name}: attempt {attempt}: inconclusive, validating again")
                report = self.service.validate(gap.name, code=code, tests=tests,
                                               extra_suites=extra, store=False)
            outcome.attempts.append(Attempt(number=attempt, verdict=report.verdict,
                                            summary=report.failure_summary()[:500]))
            self.log(f"{gap.name}: attempt {attempt}: {report.verdict}"
                     + ("" if report.verdict == "passed" else f" — {report.failure_summary()}"))
            if report.verdict == "passed" and not adversarial:
                try:
                    adversarial = write_adversarial_tests(self.llm, gap, code,
                                                          report.warning_summary())
                except SynthesisError as exc:
                    self.log(f"{gap.name}: no adversarial tests ({exc.message})")
                    return code, tests, "", report
                # Same code: its property attack already passed, so run only the tests.
                attacked = [layer for layer in report.layers
                            if layer.name in ("property", "determinism")]
                report = self.service.validate(
                    gap.name, code=code, tests=tests,
                    extra_suites=[("adversarial", adversarial)], store=False, fuzz=False)
                report = _with_layers(report, attacked)
                self.log(f"{gap.name}: adversarial tests: {report.verdict}")
            if report.verdict == "passed":
                return code, tests, adversarial, report
            if attempt > self.max_refinements:
                break
            try:
                warnings = report.warning_summary()
                code = refine_tool(self.llm, gap, code, merge_tests(tests, adversarial),
                                   report.failure_summary() + (
                                       f"\nWarnings (not blocking):\n{warnings}" if warnings
                                       else ""))
            except SynthesisError as exc:
                outcome.reason = exc.message
                return code, tests, adversarial, None
        return code, tests, adversarial, report

    def register(self, gap: Gap, code: str, tests: str, adversarial: str,
                 final: ValidationReport, outcome: CandidateOutcome,
                 cycle_id: str, *, meta: dict[str, Any] | None = None,
                 provenance: dict[str, Any] | None = None,
                 promote: bool | None = None) -> CandidateOutcome:
        """Add the candidate with its final report; promote it when `promote` (None: by the
        library's policy). `meta` and `provenance` add tool.toml fields (the TTE loop's
        `made_for`, `split_from`, `source = "tte"`)."""
        svc = self.service
        passed = final.verdict == "passed"
        all_tests = merge_tests(tests, adversarial) if passed and adversarial else tests
        same = self._same_as_library(gap.name, code)
        if same is not None:
            # Nothing new: a second cycle (another worker's, or one redoing the runs of a
            # worker that died) must not make a duplicate version.
            outcome.status = "refused"
            outcome.reason = f"identical to the {same}: nothing to add"
            return outcome
        provenance = {**self._provenance(gap, cycle_id, outcome), **(provenance or {})}
        if not passed and (svc.root / CANDIDATES_DIR / gap.name).is_dir():
            # Do not overwrite a candidate waiting for review with one that failed.
            outcome.status = "rejected"
            outcome.reason = f"failed validation: {final.failure_summary()}"
            return outcome
        added = svc.add(code, all_tests, name=gap.name, provenance=provenance,
                        origin=f"evolve cycle {cycle_id[:12]}", validate=False, meta=meta)
        outcome.version = added.version
        outcome.commit = added.commit
        if passed:
            # The final run covered exactly these files (own + adversarial tests, regression
            # suites, the attack): store it for them instead of validating a third time.
            stored = final.model_copy(update={
                "tool": gap.name, "version": added.version, "location": CANDIDATES_DIR,
                "files_hash": files_hash(code, all_tests)})
            svc.save_report(stored, code)
            outcome.report_id = stored.id
        else:
            svc.reports.save(final.model_copy(update={"tool": gap.name}))
            outcome.report_id = final.id
            reason = f"failed validation after {len(outcome.attempts)} attempt(s): " \
                     f"{final.failure_summary()}"
            rejected = svc.reject(gap.name, reason)
            outcome.status, outcome.reason, outcome.commit = "rejected", reason, rejected.commit
            return outcome
        if promote is None:
            promote = svc.library.settings().promotion == "auto"
        if promote and self._on_trial(gap.name, outcome):
            return outcome
        if promote:
            promoted = svc.promote(gap.name)
            outcome.status, outcome.version, outcome.commit = (
                "promoted", promoted.version, promoted.commit)
        else:
            outcome.status = "candidate"
            outcome.reason = f"waiting for review: `toolforge review` or `promote {gap.name}`"
        return outcome

    # --- helpers -----------------------------------------------------------------------------

    def _on_trial(self, name: str, outcome: CandidateOutcome) -> bool:
        """With `[trials] auto`, a new version of an active tool goes on A/B trial instead
        of replacing it at once."""
        from toolforge.evolve.trials import start_trial

        lib = self.service.library
        active = lib.find_current(name, TOOLS_DIR)
        if active is None or active.meta.status != "active" or not lib.settings().trials.auto:
            return False
        started = start_trial(self.service, name)
        outcome.status, outcome.commit = "trial", started.commit
        outcome.reason = (f"on A/B trial against v{started.trial.baseline}: "
                          f"{started.trial.share:.0%} of calls for {started.trial.episodes} "
                          "episodes (`toolforge trials`)")
        return True

    def _same_as_library(self, name: str, code: str) -> str | None:
        """Which version in the library already has exactly this code, if any."""
        lib = self.service.library
        active = lib.find_current(name, TOOLS_DIR)
        if active is not None and active.meta.status == "active" and active.code == code:
            return f"active {name} v{active.meta.version}"
        waiting = lib.find_current(name, CANDIDATES_DIR)
        if waiting is not None and waiting.code == code:
            return f"candidate {name} v{waiting.meta.version} waiting for review"
        return None

    def _provenance(self, gap: Gap, cycle_id: str, outcome: CandidateOutcome) -> dict[str, Any]:
        settings = self.llm.settings
        models = {}
        for role in ROLES:
            if settings.configured(role):
                models[role] = settings.for_role(role).model
        usage = self.ledger.totals(f"{cycle_id}:{gap.name}")
        return {
            "source": "evolve",
            "cycle": cycle_id,
            "rationale": gap.rationale[:500],
            "evidence": gap.evidence[:20],
            "models": models,
            "prompts": prompt_hashes(),
            "attempts": len(outcome.attempts),
            "cost_usd": round(usage.cost_usd, 6),
            "tokens": usage.total_tokens,
        }

    def _tool_descriptions(self) -> dict[str, str]:
        out = {}
        for entry in self.service.library.entries():
            if entry.location == TOOLS_DIR and entry.meta and entry.meta.status == "active":
                out[entry.name] = entry.meta.description
        return out

    def _reserve_slot(self) -> bool:
        with self._slots:
            active = sum(1 for e in self.service.library.entries()
                         if e.location == TOOLS_DIR and e.meta and e.meta.status == "active")
            if active + self._reserved >= self.service.library.settings().capacity:
                return False
            self._reserved += 1
            return True

    def _release_slot(self) -> None:
        with self._slots:
            self._reserved -= 1


def _with_layers(report: ValidationReport, carried: list[Any]) -> ValidationReport:
    """`report` with the layers of an earlier run of the same code in place of its own."""
    names = {layer.name for layer in carried}
    layers = [layer for layer in report.layers if layer.name not in names] + carried
    return report.model_copy(update={"layers": layers})


def _view(t: Trajectory) -> FailureView:
    return FailureView(id=t.id, task=t.task, answer=t.final_answer, expected=t.expected,
                       tool_calls=[s.tool for s in t.steps if s.kind == "tool_call" and s.tool],
                       error=t.error)


def _on_daemon_threads(jobs: list[Callable[[], CandidateOutcome]], *, parallel: int
                       ) -> list[Future[CandidateOutcome]]:
    """Each job on a daemon thread, `parallel` at a time. Not a ThreadPoolExecutor: an
    interrupted cycle must be able to walk away from a model call or sandbox run in
    flight, and the interpreter joins an executor's threads at exit."""
    slots = threading.BoundedSemaphore(max(1, parallel))
    futures: list[Future[CandidateOutcome]] = []

    def run(job: Callable[[], CandidateOutcome], future: Future[CandidateOutcome]) -> None:
        with slots:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(job())
            except BaseException as exc:  # handed to the waiting thread
                future.set_exception(exc)

    for job in jobs:
        future: Future[CandidateOutcome] = Future()
        futures.append(future)
        threading.Thread(target=run, args=(job, future), name="evolve-gap",
                         daemon=True).start()
    return futures


def cycle_usage(ledger: UsageLedger, cycle_id: str) -> UsageTotals:
    """What a cycle spent so far: its own model calls and its gaps' (`<cycle>:<gap>`)."""
    return _totals([r for r in ledger.records() if r.cycle_id and (
        r.cycle_id == cycle_id or r.cycle_id.startswith(cycle_id + ":"))])


def _totals(records: list[Any]) -> UsageTotals:
    return UsageTotals(
        calls=len(records),
        failed_calls=sum(1 for r in records if not r.ok),
        prompt_tokens=sum(r.prompt_tokens for r in records),
        completion_tokens=sum(r.completion_tokens for r in records),
        total_tokens=sum(r.prompt_tokens + r.completion_tokens for r in records),
        cost_usd=sum(r.cost_usd for r in records),
        cost_known=all(r.cost_known for r in records),
        latency_ms=sum(r.latency_ms for r in records),
    )
