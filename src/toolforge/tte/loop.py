"""The per-problem loop of Test-Time Tool Evolution (DESIGN.md §10):

    decompose -> for each sub-goal: retrieve (hit when score >= tau_ret)
              -> on a miss: synthesize + verify (the evolution pipeline's gate)
                 -> atomic split into verified cells -> dedup (tau_dup) -> register
                 -> prune past capacity C
              -> execute (R attempts) -> else plain reasoning
    -> final answer -> trajectory with the sub-goals

Core logic: no CLI or HTTP. Model calls go through the one LLM client (with the usage
ledger); library writes through the LibraryService; tool calls through the ToolBox (the
sandbox, recorded as usage hits of caller "tte" in the run's session).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from toolforge.errors import ToolforgeError
from toolforge.evolve.agent import INFRASTRUCTURE
from toolforge.evolve.cycle import CandidateOutcome, Evolver, _totals
from toolforge.evolve.rewards import score
from toolforge.evolve.synthesis import Gap, SynthesisError, _ask, synthesize_tool, write_tests
from toolforge.evolve.tasks import Task
from toolforge.evolve.toolbox import CallRecord, ToolBox
from toolforge.evolve.trajectories import Step, Trajectory, TrajectoryStore
from toolforge.library.settings import TteSettings
from toolforge.library.store import CANDIDATES_DIR, TOOLS_DIR
from toolforge.llm.client import LLMClient
from toolforge.llm.parsing import ParseError, extract_json
from toolforge.llm.usage import UsageLedger, UsageTotals
from toolforge.names import MAX_NAME_LENGTH, is_valid_tool_name
from toolforge.retrieval import SearchHit, ToolIndex
from toolforge.tools.contract import ToolSpec, load_tool_source
from toolforge.tte import prompts
from toolforge.tte.behaviour import Outcome, Prober, agreement
from toolforge.tte.capacity import plan_prune
from toolforge.tte.decompose import Decomposition, SubGoal, decompose, resolve_inputs
from toolforge.tte.dedup import PROBED, SHAPE_PROBED, Probe, Similarity, find_duplicate
from toolforge.tte.samples import as_kwargs, sample_inputs, shape
from toolforge.tte.split import SplitError, parse_split, rename_function, run_plan
from toolforge.tte.split import Step as PlanStep
from toolforge.tte.store import TteLog
from toolforge.tte.targets import (
    PlanTarget,
    Target,
    ToolTarget,
    direct_arguments,
    schema,
)

Log = Callable[[str], None]
SOURCE = "tte"


class ToolUse(BaseModel):
    tool: str
    arguments: dict[str, Any]
    ok: bool
    result: Any = None
    error: str | None = None


class SynthesisReport(BaseModel):
    tool: str
    status: Literal["registered", "candidate", "duplicate", "failed"]
    attempts: int = 0
    reason: str = ""
    split: str = ""
    cells: list[str] = Field(default_factory=list)
    composite_kept: bool = True
    registered: list[str] = Field(default_factory=list)
    refused: list[Similarity] = Field(default_factory=list)


class SubGoalOutcome(BaseModel):
    subgoal: SubGoal
    inputs: dict[str, Any]
    retrieval: Literal["hit", "miss", "declined", "skipped"]
    candidates: list[SearchHit] = Field(default_factory=list)
    synthesis: SynthesisReport | None = None
    source: Literal["retrieved", "synthesized", "duplicate", "fallback"]
    tool: str | None = None
    calls: list[ToolUse] = Field(default_factory=list)
    attempts: int = 0
    result: Any = None
    ok: bool = False
    fallback: bool = False
    error: str | None = None


class SolveResult(BaseModel):
    run_id: str
    problem_id: str
    problem: str
    group: str | None = None
    decomposition: Literal["ok", "retried", "fallback"]
    decomposition_errors: list[str] = Field(default_factory=list)
    subgoals: list[SubGoalOutcome] = Field(default_factory=list)
    answer: str | None = None
    expected: Any = None
    reward: float | None = None
    correct: bool | None = None
    trajectory_id: str = ""
    tools_used: list[str] = Field(default_factory=list)
    created: list[str] = Field(default_factory=list)
    refused: list[Similarity] = Field(default_factory=list)
    pruned: list[str] = Field(default_factory=list)
    duration_ms: float = 0.0
    usage: UsageTotals = Field(default_factory=UsageTotals)


@dataclass
class _NewTool:
    """A verified tool not registered yet."""

    gap: Gap
    code: str
    tests: str
    adversarial: str
    report: Any  # ValidationReport
    outcome: CandidateOutcome
    spec: ToolSpec
    made_for: str
    split_from: str | None = None


@dataclass(frozen=True)
class _Waiting:
    """A verified tool waiting for review (not callable through the runtime)."""

    name: str
    version: int
    code: str
    spec: ToolSpec


@dataclass
class _Problem:
    task: Task
    tag: str
    protect: set[str] = field(default_factory=set)
    created: list[str] = field(default_factory=list)
    refused: list[Similarity] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    records: list[CallRecord] = field(default_factory=list)
    messages: list[tuple[str, Any]] = field(default_factory=list)  # fallback steps


class TteSolver:
    """Solves problems one at a time against a library, evolving it as it goes. Close it
    (or use it as a context manager) to stop the sandboxed tool processes."""

    def __init__(self, service: Any, llm: LLMClient, ledger: UsageLedger,
                 trajectories: TrajectoryStore, tte_log: TteLog, *, run_id: str,
                 settings: TteSettings, capacity: int, promote: bool,
                 reward_threshold: float, log: Log | None = None) -> None:
        self.service = service
        self.root: Path = service.root
        self.llm = llm
        self.ledger = ledger
        self.trajectories = trajectories
        self.tte_log = tte_log
        self.run_id = run_id
        self.settings = settings
        self.capacity = capacity
        self.promote = promote
        self.reward_threshold = reward_threshold
        self.log = log or (lambda _msg: None)
        self.index = ToolIndex.for_library(self.root)
        opts = service.validation_options()
        # Active tools run through the library's runtime (their promoted code, sandboxed,
        # recorded as hits of caller "tte" in this run's session).
        self.toolbox = ToolBox(service.runtime, caller=SOURCE, session=run_id)
        self.prober = Prober(opts.limits, opts.backend)
        self._waiting_calls: dict[str, Callable[[str, dict[str, Any]], Outcome]] = {}
        self.evolver = Evolver(service, llm, ledger, log=self.log)
        # Verified tools waiting for review (promotion = "review"). Retrieval never offers
        # them (it indexes active tools); a new tool that duplicates one is refused and the
        # sub-goal runs the waiting one, so review mode does not pile up copies.
        self.pending: dict[str, _Waiting] = {} if promote else self._waiting_candidates()
        self._reserved: set[str] = set()

    def __enter__(self) -> TteSolver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.toolbox.close()
        self.prober.close()

    # --- one problem -------------------------------------------------------------------------

    def solve(self, task: Task) -> SolveResult:
        started = time.perf_counter()
        tag = f"tte-{self.run_id[:12]}:{task.id}"
        p = _Problem(task=task, tag=tag)
        decomposition: Decomposition | None = None
        outcomes: list[SubGoalOutcome] = []
        try:
            with self.ledger.cycle(tag):
                decomposition = decompose(self.llm, task.task,
                                          max_subgoals=self.settings.max_subgoals)
            self._decomposition_events(task, decomposition)
            results: list[Any] = []
            for subgoal in decomposition.subgoals:
                inputs = resolve_inputs(subgoal.inputs, results)
                with self.ledger.cycle(tag):
                    outcome = self._subgoal(p, subgoal, inputs)
                outcomes.append(outcome)
                results.append(outcome.result)
            with self.ledger.cycle(tag):
                answer = self._answer(task, outcomes)
        except ToolforgeError as exc:
            # The model became unreachable, the library is locked...: the problem stops,
            # but its trajectory still says how far it got and why (no verdict on the task).
            try:
                self._record(p, self._result(p, decomposition, outcomes, None, started,
                                             scored=False), interrupted=exc.message)
            except ToolforgeError:
                pass  # the state db may be what failed: the first error is the one to show
            raise
        result = self._result(p, decomposition, outcomes, answer, started)
        result.trajectory_id = self._record(p, result).id
        self.tte_log.problem(self.run_id, task.id, task.group, result.reward, result.correct,
                             decomposition.status, sum(o.fallback for o in outcomes),
                             result.trajectory_id)
        self.tte_log.size(self.run_id, self.active_count())
        return result

    def _result(self, p: _Problem, decomposition: Decomposition | None,
                outcomes: list[SubGoalOutcome], answer: str | None, started: float, *,
                scored: bool = True) -> SolveResult:
        task = p.task
        reward = score(answer, task.expected) if (
            scored and task.expected is not None) else None
        correct = None if reward is None else reward >= self.reward_threshold
        return SolveResult(
            run_id=self.run_id, problem_id=task.id, problem=task.task, group=task.group,
            decomposition=decomposition.status if decomposition else "fallback",
            decomposition_errors=decomposition.errors if decomposition else [],
            subgoals=outcomes, answer=answer,
            expected=_jsonable(task.expected), reward=reward, correct=correct,
            tools_used=list(dict.fromkeys(r.tool for r in p.records if r.ok)),
            created=p.created, refused=p.refused, pruned=p.pruned,
            duration_ms=round((time.perf_counter() - started) * 1000, 1),
            # Syntheses tag their calls "<tag>:<tool>": they count with the problem.
            usage=_totals([r for r in self.ledger.records() if r.cycle_id and (
                r.cycle_id == p.tag or r.cycle_id.startswith(p.tag + ":"))]),
        )

    def _decomposition_events(self, task: Task, d: Decomposition) -> None:
        if d.status != "ok":
            self.tte_log.event(self.run_id, task.id, "decomposition_retry",
                               error=d.errors[0] if d.errors else "")
            self.log(f"decomposition retried: {d.errors[0] if d.errors else ''}")
        if d.status == "fallback":
            self.tte_log.event(self.run_id, task.id, "decomposition_fallback",
                               errors=d.errors)
            self.log("no usable decomposition: solving the problem as one step")

    # --- one sub-goal ------------------------------------------------------------------------

    def _subgoal(self, p: _Problem, subgoal: SubGoal, inputs: dict[str, Any]
                 ) -> SubGoalOutcome:
        task = p.task
        hits = self.index.search(subgoal.query(), k=self.settings.top_k,
                                 allowed=self.toolbox.tools)
        good = [h for h in hits if h.score >= self.settings.tau_ret]
        best = hits[0].score if hits else None
        outcome = SubGoalOutcome(subgoal=subgoal, inputs=inputs, retrieval="miss",
                                 candidates=hits[:3], source="fallback")
        if good:
            outcome.retrieval = "hit"
            self.tte_log.event(self.run_id, task.id, "retrieval_hit", good[0].tool,
                               score=good[0].score, subgoal=subgoal.index)
            self.log(f"step {subgoal.index}: retrieved {good[0].tool} "
                     f"(score {good[0].score:.2f})")
            targets: list[Target] = [t for h in good if (t := self._target(h.tool))]
            p.protect.update(h.tool for h in good)
            # Inputs go straight in only for a tool made for this very operation; any other
            # retrieved tool is bound by the model, which can also say it does not fit
            # (look-alikes such as kelvin_to_celsius for "Celsius to kelvin" score high).
            made_for_this = {h.tool for h in good if _same_operation(
                self._made_for(h.tool), subgoal.operation)}
            declined = self._execute(p, subgoal, inputs, targets, outcome,
                                     direct=made_for_this)
            if outcome.ok:
                outcome.source = "retrieved"
                return outcome
            if not declined:
                return self._fallback(p, subgoal, inputs, outcome,
                                      f"no retrieved tool worked after {outcome.attempts} "
                                      "attempt(s)")
            outcome.retrieval = "declined"
            self.tte_log.event(self.run_id, task.id, "retrieval_declined", good[0].tool,
                               subgoal=subgoal.index)
            self.log(f"step {subgoal.index}: the model found no retrieved tool fitting")
        else:
            self.tte_log.event(self.run_id, task.id, "retrieval_miss",
                               hits[0].tool if hits else None, score=best,
                               subgoal=subgoal.index)
            self.log(f"step {subgoal.index}: no tool at score >= {self.settings.tau_ret}"
                     + (f" (best {hits[0].tool} {best:.2f})" if hits and best is not None
                        else ""))
        if subgoal.whole_problem:
            return self._fallback(p, subgoal, inputs, outcome,
                                  "the problem was not decomposed; no tool is made for a "
                                  "whole problem")
        report, target = self._synthesize(p, subgoal)
        outcome.synthesis = report
        if target is None:
            return self._fallback(p, subgoal, inputs, outcome,
                                  f"no verified tool: {report.reason}")
        self._execute(p, subgoal, inputs, [target], outcome, direct={target.name})
        if outcome.ok:
            outcome.source = "duplicate" if report.status == "duplicate" else "synthesized"
            return outcome
        return self._fallback(p, subgoal, inputs, outcome,
                              f"the new tool failed {outcome.attempts} attempt(s)")

    # --- execution ---------------------------------------------------------------------------

    def _execute(self, p: _Problem, subgoal: SubGoal, inputs: dict[str, Any],
                 targets: list[Target], outcome: SubGoalOutcome, *,
                 direct: set[str]) -> bool:
        """Run the sub-goal with the targets, up to R attempts; returns True when the model
        declined every target without trying one (the retrieval was wrong). Targets named
        in `direct` take the sub-goal's inputs as arguments when they fit as they are."""
        limit = self.settings.attempts
        by_name = {t.name: t for t in targets}
        for target in targets:
            if target.name not in direct:
                continue
            kwargs = direct_arguments(target.spec, inputs)
            if kwargs is not None:
                if self._attempt(p, target, kwargs, outcome):
                    return False
                break
        if outcome.attempts >= limit:
            return False
        messages: list[dict[str, Any]] = [{"role": "user", "content": prompts.EXECUTE.render(
            operation=subgoal.operation, inputs=_dump(inputs),
            output=subgoal.output or "-")}]
        if outcome.error:
            messages[0]["content"] += f"\n\nA first call failed: {outcome.error}"
        tools = [schema(t) for t in targets]
        while outcome.attempts < limit:
            try:
                completion = self.llm.complete("agent", messages, tools=tools)
            except ToolforgeError as exc:
                outcome.error = f"model call failed: {exc.message}"
                return False
            if not completion.tool_calls:
                return outcome.attempts == 0
            call = completion.tool_calls[0]
            chosen = by_name.get(call.name)
            try:
                arguments = call.parsed_arguments()
                error = None if chosen else f"unknown tool {call.name!r}"
            except ParseError as exc:
                arguments, error = {}, f"arguments are not a JSON object: {exc.message}"
            if chosen is None or error:
                outcome.attempts += 1
                outcome.error = error
                content = json.dumps({"error": error})
            else:
                if self._attempt(p, chosen, arguments, outcome):
                    return False
                content = json.dumps({"error": outcome.error})
            messages.append({"role": "assistant", "content": completion.content,
                             "tool_calls": [{"id": call.id, "type": "function", "function": {
                                 "name": call.name, "arguments": call.arguments}}]})
            messages.append({"role": "tool", "tool_call_id": call.id, "content": content})
        return False

    def _attempt(self, p: _Problem, target: Target, kwargs: dict[str, Any],
                 outcome: SubGoalOutcome) -> bool:
        outcome.attempts += 1
        result, records = target.run(kwargs)
        p.records.extend(records)
        outcome.calls.extend(ToolUse(tool=r.tool, arguments=r.arguments, ok=r.ok,
                                     result=r.result, error=r.error) for r in records)
        if result.ok:
            outcome.ok, outcome.result, outcome.error = True, result.value, None
            outcome.tool = target.name if isinstance(target, PlanTarget) else \
                target.tools()[0]
            self.log(f"step {outcome.subgoal.index}: {outcome.tool} -> "
                     f"{_dump(result.value)[:120]}")
            return True
        outcome.error = result.error or "the tool failed"
        self.log(f"step {outcome.subgoal.index}: {target.name} failed: {outcome.error}")
        return False

    def _fallback(self, p: _Problem, subgoal: SubGoal, inputs: dict[str, Any],
                  outcome: SubGoalOutcome, why: str) -> SubGoalOutcome:
        task = p.task
        outcome.fallback, outcome.source, outcome.tool = True, "fallback", None
        self.tte_log.event(self.run_id, task.id, "fallback", reason=why,
                           subgoal=subgoal.index)
        self.log(f"step {subgoal.index}: plain reasoning ({why})")
        try:
            text = _ask(self.llm, "agent", prompts.FALLBACK.render(
                problem=task.task[:4000], operation=subgoal.operation, inputs=_dump(inputs),
                output=subgoal.output or "-"))
        except SynthesisError as exc:
            outcome.ok, outcome.result = False, None
            outcome.error = f"{why}; reasoning failed: {exc.message}"
            p.messages.append((f"step {subgoal.index} (reasoning)", None))
            return outcome
        try:
            value: Any = extract_json(text)
        except ParseError:
            value = text.strip()[:2000]
        outcome.ok, outcome.result = True, value
        outcome.error = why
        p.messages.append((f"step {subgoal.index} (reasoning)", value))
        return outcome

    def _answer(self, task: Task, outcomes: list[SubGoalOutcome]) -> str | None:
        lines = []
        for o in outcomes:
            how = o.tool or ("reasoning" if o.fallback else "-")
            value = _dump(o.result) if o.ok else f"failed ({o.error})"
            lines.append(f"{o.subgoal.index}. {o.subgoal.operation} [{how}] = {value[:500]}")
        try:
            text = _ask(self.llm, "agent", prompts.ANSWER.render(
                problem=task.task[:4000], results="\n".join(lines)))
            return text.strip()
        except SynthesisError as exc:
            self.log(f"final answer: model call failed ({exc.message}); using the last result")
            last = next((o for o in reversed(outcomes) if o.ok), None)
            return None if last is None else _dump(last.result)

    # --- synthesis on a miss -----------------------------------------------------------------

    def _synthesize(self, p: _Problem, subgoal: SubGoal) -> tuple[SynthesisReport,
                                                                  Target | None]:
        task = p.task
        name = self._fresh_name(subgoal.tool_name or _name_from(subgoal.operation))
        signature = _rename_signature(subgoal.signature or "", subgoal.tool_name, name)
        gap = Gap(name=name, description=_describe(subgoal), signature=signature,
                  rationale=f"sub-goal {subgoal.index} of the problem: {task.task[:300]}")
        report = SynthesisReport(tool=name, status="failed")
        self.log(f"step {subgoal.index}: synthesizing {name}")
        new = self._verified(gap, [task.task], p, subgoal.operation, report)
        if new is None:
            self.tte_log.event(self.run_id, task.id, "synthesis_failed", name,
                               reason=report.reason)
            return report, None
        self.tte_log.event(self.run_id, task.id, "synthesized", name, attempts=report.attempts)
        cells, steps = self._split(p, new, report) if self.settings.split else ([], None)
        keep_composite = True
        if cells and steps is not None:
            keep_composite = not self._expresses(new, cells, steps)
            report.composite_kept = keep_composite
            report.split = (f"cells {', '.join(c.gap.name for c in cells)}; the composite is "
                            + ("kept: the cells do not reproduce it on every sample"
                               if keep_composite else "dropped: the cells reproduce it"))
            self.tte_log.event(self.run_id, task.id, "split", name,
                               cells=[c.gap.name for c in cells], composite_kept=keep_composite)
            self.log(f"{name}: split into {', '.join(c.gap.name for c in cells)}"
                     + ("" if keep_composite else " (composite dropped)"))
        runs_as: dict[str, str] = {}
        for made in [*cells, *([new] if keep_composite else [])]:
            runs_as[made.gap.name] = self._dedup_or_register(p, made, report)
        self._prune(p)
        if keep_composite:
            real = runs_as[new.gap.name]
            if real != new.gap.name:
                report.status = "duplicate"
            elif report.status != "candidate":
                report.status = "registered"
            target = self._target(real, face=new.spec, name=new.gap.name)
            if target is None:
                report.reason = f"{real} is no longer available"
            return report, target
        if report.status != "candidate":
            report.status = "registered" if report.registered else "duplicate"
        targets = {}
        for cell in cells:
            cell_target = self._target(runs_as[cell.gap.name], face=cell.spec,
                                       name=cell.gap.name)
            if cell_target is None:
                report.reason = f"{runs_as[cell.gap.name]} is no longer available"
                return report, None
            targets[cell.gap.name] = cell_target
        assert steps is not None
        return report, PlanTarget(new.spec, steps, targets, name=new.gap.name)

    def _verified(self, gap: Gap, examples: list[str], p: _Problem, made_for: str,
                  report: SynthesisReport, code: str | None = None) -> _NewTool | None:
        """Write (unless `code` is given), test and refine a tool through the evolution
        pipeline's gate; None with `report.reason` when it does not pass."""
        outcome = CandidateOutcome(gap=gap, status="failed")
        with self.ledger.cycle(f"{p.tag}:{gap.name}"):
            try:
                if code is None:
                    code = synthesize_tool(self.llm, gap, examples)
                tests = write_tests(self.llm, gap, examples)
            except SynthesisError as exc:
                report.reason = exc.message
                return None
            code, tests, adversarial, final = self.evolver.verify_and_refine(
                gap, code, tests, outcome)
        report.attempts = max(report.attempts, len(outcome.attempts))
        if final is None or final.verdict != "passed":
            report.reason = outcome.reason or (
                f"failed validation after {len(outcome.attempts)} attempt(s): "
                f"{final.failure_summary() if final else ''}")
            return None
        try:
            spec = load_tool_source(code)
        except ToolforgeError as exc:
            report.reason = exc.message
            return None
        if spec.name != gap.name:
            report.reason = f"the tool defines {spec.name}, not {gap.name}"
            return None
        return _NewTool(gap=gap, code=code, tests=tests, adversarial=adversarial,
                        report=final, outcome=outcome, spec=spec, made_for=made_for)

    def _split(self, p: _Problem, new: _NewTool, report: SynthesisReport
               ) -> tuple[list[_NewTool], list[PlanStep] | None]:
        name = new.gap.name
        task = p.task
        try:
            with self.ledger.cycle(f"{p.tag}:{name}"):
                text = _ask(self.llm, "synthesis", prompts.SPLIT.render(
                    name=name, description=new.spec.summary, code=new.code,
                    max_cells="4"))
            proposal = parse_split(text, new.spec)
        except (SynthesisError, SplitError) as exc:
            report.split = f"split refused: {exc.message}; the composite is kept"
            self.tte_log.event(self.run_id, task.id, "split_refused", name, reason=exc.message)
            self.log(f"{name}: {report.split}")
            return [], None
        if proposal.atomic:
            report.split = "atomic"
            return [], None
        renamed: dict[str, str] = {}
        cells: list[_NewTool] = []
        failed: list[str] = []
        for cell in proposal.cells:
            fresh = self._fresh_name(cell.name)
            code = cell.code if fresh == cell.name else rename_function(cell.code, cell.name,
                                                                          fresh)
            renamed[cell.name] = fresh
            gap = Gap(name=fresh, description=cell.description,
                      signature=_rename_signature(cell.signature, cell.name, fresh),
                      rationale=f"an atomic part of {name}")
            cell_report = SynthesisReport(tool=fresh, status="failed")
            verified = self._verified(gap, [task.task], p, cell.description, cell_report,
                                      code=code)
            if verified is None:
                failed.append(f"{fresh} ({cell_report.reason[:160]})")
                continue
            verified.split_from = name
            cells.append(verified)
        report.cells = [c.gap.name for c in cells]
        steps = [PlanStep(cell=renamed[s.cell], args=s.args) for s in proposal.composition]
        if failed:
            report.split = (f"cells failed verification: {'; '.join(failed)}; the composite "
                            "is kept")
            self.tte_log.event(self.run_id, task.id, "split_refused", name,
                               reason=report.split)
            self.log(f"{name}: {report.split}")
            return cells, None
        return cells, steps

    def _expresses(self, new: _NewTool, cells: list[_NewTool], steps: list[PlanStep]) -> bool:
        """Do the cells, composed, return what the composite returns on every sample?"""
        samples = sample_inputs(new.spec)
        if not samples:
            return False
        composite = self.prober.outputs(new.code, new.spec.name, samples)
        call = self.prober.caller({c.gap.name: (c.code, c.gap.name) for c in cells})
        composed: list[Outcome] = []
        for sample in samples:
            kwargs = as_kwargs(new.spec, sample) or {}
            composed.append(run_plan(steps, kwargs, call))
        return agreement(composite, composed).identical

    def _dedup_or_register(self, p: _Problem, new: _NewTool, report: SynthesisReport) -> str:
        """Register `new` unless it duplicates a tool; returns the name that runs it."""
        task = p.task
        probe = Probe(new.gap.name, new.code, new.spec, new.made_for)
        duplicate, _ = find_duplicate(probe, self._pool(probe), self.settings.tau_dup,
                                      self.prober)
        if duplicate is not None:
            report.refused.append(duplicate)
            p.refused.append(duplicate)
            p.protect.add(duplicate.existing)
            self.tte_log.event(self.run_id, task.id, "dedup_refused", new.gap.name,
                               duplicate_of=duplicate.existing, similarity=duplicate.score,
                               behaviour=duplicate.behaviour, text=duplicate.text)
            self.log(f"{new.gap.name}: refused, a duplicate of {duplicate.existing} "
                     f"(similarity {duplicate.score:.2f}, behaviour "
                     f"{duplicate.behaviour_text()})")
            return duplicate.existing
        meta = {"made_for": new.made_for[:500]}
        if new.split_from:
            meta["split_from"] = new.split_from
        provenance: dict[str, Any] = {
            "source": SOURCE, "origin": f"tte run {self.run_id[:12]}", "run": self.run_id,
            "problem": task.id, "prompts_tte": prompts.prompt_hashes()}
        if self.promote and self.service.library.settings().promotion != "auto":
            provenance["promoted_by"] = "tte --auto-promote"  # a person's choice, not policy
        registered = self.evolver.register(
            new.gap, new.code, new.tests, new.adversarial, new.report, new.outcome,
            p.tag, meta=meta, provenance=provenance, promote=self.promote)
        name = new.gap.name
        p.created.append(name)
        p.protect.add(name)
        report.registered.append(name)
        self.tte_log.event(self.run_id, task.id, "registered", name,
                           status=registered.status, version=registered.version,
                           split_from=new.split_from)
        self.log(f"{name}: {registered.status}" + (f" (split from {new.split_from})"
                                                    if new.split_from else ""))
        if registered.status == "candidate":
            report.status = "candidate"
            self.pending[name] = _Waiting(name, registered.version or 1, new.code, new.spec)
        return name

    def _pool(self, probe: Probe) -> list[Probe]:
        """The existing tools a new one is compared with: the closest by retrieval, the
        tools of the same shape (closest first, bounded), and the tools made in this run
        that wait for review."""
        tools = self.toolbox.tools
        ranked = [h.tool for h in self.index.search(probe.text or probe.name,
                                                    k=max(PROBED, len(tools)), allowed=tools)]
        names = ranked[:PROBED]
        ranked += sorted(set(tools) - set(ranked))  # no shared word at all (BM25 alone)
        want = shape(probe.spec)
        names += [n for n in ranked if n not in names
                  and shape(tools[n].spec) == want][:SHAPE_PROBED]
        names += [n for n in self.pending if n not in names]
        pool = []
        for name in names:
            tool = self.toolbox.tools.get(name) or self.pending.get(name)
            if tool is not None:
                pool.append(Probe(name, tool.code, tool.spec, self._made_for(name)))
        return pool

    # --- capacity ----------------------------------------------------------------------------

    def _prune(self, p: _Problem) -> None:
        self.service.runtime.flush_usage()  # the hits so far are what pruning ranks by
        plan = plan_prune(self.root, self.capacity, protect=p.protect)
        for item in plan.retire:
            try:
                self.service.retire(item.tool)
            except ToolforgeError as exc:
                self.log(f"prune {item.tool}: {exc.message}")
                continue
            p.pruned.append(item.tool)
            self.tte_log.event(self.run_id, p.task.id, "pruned", item.tool, hits=item.hits,
                               last_used=item.last_used, reason=item.reason)
            self.log(f"pruned {item.tool}: {item.reason}")
        if plan.short_by:
            self.log(f"still {plan.short_by} over capacity {self.capacity}: the rest is "
                     "pinned or in use by this problem")

    def prune_now(self) -> list[str]:
        """Prune to capacity outside a problem (after seeding a library)."""
        task = Task(id="-", task="-")
        p = _Problem(task=task, tag="prune")
        self._prune(p)
        return p.pruned

    # --- helpers -----------------------------------------------------------------------------

    def _target(self, real: str, *, face: ToolSpec | None = None, name: str = ""
                ) -> ToolTarget | None:
        """What runs `real`: the runtime for an active tool, a probe sandbox for one
        waiting for review; None when it is neither (retired meanwhile)."""
        tool = self.toolbox.tools.get(real)
        if tool is not None:
            return ToolTarget(real, tool.spec, self.toolbox.call, face, name)
        waiting = self.pending.get(real)
        if waiting is not None:
            return ToolTarget(real, waiting.spec, self._call_waiting, face, name)
        return None

    def _call_waiting(self, name: str, arguments: dict[str, Any]) -> CallRecord:
        call = self._waiting_calls.get(name)
        if call is None:
            waiting = self.pending[name]
            call = self.prober.caller({name: (waiting.code, waiting.spec.name)})
            self._waiting_calls[name] = call
        started = time.perf_counter()
        out = call(name, arguments)
        return CallRecord(name, arguments, out.ok, out.value, out.error,
                          round((time.perf_counter() - started) * 1000, 2))

    def _waiting_candidates(self) -> dict[str, _Waiting]:
        """Candidates this loop made that passed validation and wait for review."""
        waiting: dict[str, _Waiting] = {}
        for summary in self.service.list_tools("candidate").tools:
            if summary.source != SOURCE or summary.verdict != "passed":
                continue
            files = self.service.library.find_current(summary.tool, CANDIDATES_DIR)
            if files is None:
                continue
            try:
                spec = load_tool_source(files.code)
            except ToolforgeError:
                continue
            waiting[summary.tool] = _Waiting(summary.tool, files.meta.version, files.code,
                                             spec)
        return waiting

    def _made_for(self, name: str) -> str:
        doc = self.index.doc(name)
        return doc.views.get("subgoal", "") if doc else ""

    def active_count(self) -> int:
        return sum(1 for e in self.service.library.entries() if e.location == TOOLS_DIR
                   and e.meta is not None and e.meta.status == "active")

    def _fresh_name(self, base: str) -> str:
        """A valid tool name, free in the library (any status) and in this run."""
        name = _name_from(base) if not is_valid_tool_name(base) else base
        root = self.root
        candidate = name
        n = 1
        while (candidate in self._reserved or (root / TOOLS_DIR / candidate).exists()
               or (root / CANDIDATES_DIR / candidate).exists()):
            n += 1
            suffix = f"_{n}"
            candidate = name[:MAX_NAME_LENGTH - len(suffix)] + suffix
        self._reserved.add(candidate)
        return candidate

    def _record(self, p: _Problem, result: SolveResult, *, interrupted: str | None = None
                ) -> Trajectory:
        steps: list[Step] = []
        for record in p.records:
            steps.append(Step(index=len(steps), kind="tool_call", tool=record.tool,
                              arguments=record.arguments, result=record.result,
                              error=record.error, duration_ms=max(0.0, record.duration_ms)))
        for label, value in p.messages:
            steps.append(Step(index=len(steps), kind="message", result={label: value}))
        steps.append(Step(index=len(steps), kind="message", result=result.answer))
        summary = {
            "run": self.run_id, "decomposition": result.decomposition,
            "decomposition_errors": result.decomposition_errors,
            "subgoals": [{
                "index": o.subgoal.index, "operation": o.subgoal.operation,
                "inputs": o.inputs, "output": o.subgoal.output, "retrieval": o.retrieval,
                "best": o.candidates[0].model_dump() if o.candidates else None,
                "source": o.source, "tool": o.tool, "ok": o.ok, "result": o.result,
                "fallback": o.fallback, "attempts": o.attempts, "error": o.error,
                "synthesis": o.synthesis.model_dump(mode="json") if o.synthesis else None,
            } for o in result.subgoals],
            "created": result.created, "pruned": result.pruned,
            "refused": [r.model_dump() for r in result.refused],
        }
        metadata: dict[str, Any] = {"tte": summary}
        error = None if any(o.ok for o in result.subgoals) else "no sub-goal was computed"
        if interrupted is not None:
            summary["interrupted"] = interrupted
            metadata["error_kind"] = INFRASTRUCTURE  # no verdict on the task
            error = f"interrupted: {interrupted}"
        models = [r.model for r in self.ledger.records() if r.cycle_id
                  and r.cycle_id.startswith(p.tag)]
        trajectory = Trajectory(
            task_id=p.task.id, task=p.task.task, group=p.task.group, steps=steps,
            final_answer=result.answer, expected=p.task.expected, reward=result.reward,
            success=result.correct,
            tools_offered=sorted({h.tool for o in result.subgoals for h in o.candidates}),
            tools_used=result.tools_used, model=models[0] if models else None,
            prompt_tokens=result.usage.prompt_tokens,
            completion_tokens=result.usage.completion_tokens, cost_usd=result.usage.cost_usd,
            duration_ms=result.duration_ms, source="tte",
            error=error, metadata=metadata,
        )
        return self.trajectories.record(trajectory)


# --- small helpers ------------------------------------------------------------------------------

_WORDS = re.compile(r"[a-z][a-z0-9]*")
_FILLER = {"a", "an", "the", "of", "to", "in", "for", "from", "and", "by", "with", "into",
           "given", "using", "its", "at", "on"}


def _name_from(text: str) -> str:
    """A snake_case tool name from words ("Convert Celsius to Kelvin" -> celsius_to_kelvin
    keeps the words that carry meaning)."""
    words = [w for w in _WORDS.findall(text.lower()) if w not in _FILLER][:5]
    name = "_".join(words)[:40].strip("_") or "tool"
    if not is_valid_tool_name(name):
        name = f"tool_{name}"[:40].strip("_")
    return name if is_valid_tool_name(name) else "tte_tool"


def _rename_signature(signature: str, old: str | None, new: str) -> str:
    sig = signature.strip()
    if not sig:
        return ""
    head, paren, rest = sig.partition("(")
    if paren and (old is None or head.strip() == old or not is_valid_tool_name(head.strip())):
        return f"{new}({rest}"
    return sig


def _same_operation(a: str, b: str) -> bool:
    def norm(text: str) -> str:
        return " ".join(text.casefold().split()).strip(" .")

    return bool(a) and norm(a) == norm(b)


def _describe(subgoal: SubGoal) -> str:
    text = subgoal.operation.rstrip(".")
    if subgoal.output:
        text += f". Returns {subgoal.output.rstrip('.')}"
    if subgoal.inputs:
        text += ". Inputs: " + ", ".join(subgoal.inputs)
    return text + "."


def _dump(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(value)


def _jsonable(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    return value


__all__ = ["SolveResult", "SubGoalOutcome", "SynthesisReport", "TteSolver"]
