"""Test-time tool evolution as a service: `solve`, `tte run`, `stats`, `calibrate`,
`prune`, the same for the CLI and the Python API (`Forge.solve`).

It reuses the evolution service's parts (one LLM client and usage ledger, the trajectory
store, the library service), so TTE has no second path to any of them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from toolforge.errors import ConflictError, NotFoundError, ToolforgeError, UsageError
from toolforge.evolve.tasks import Task
from toolforge.library.fsutil import atomic_write_text
from toolforge.library.settings import TteSettings
from toolforge.llm.config import LLMSettings
from toolforge.llm.usage import UsageTotals
from toolforge.service.evolution_service import EvolutionService
from toolforge.tte.calibrate import CalibrationReport
from toolforge.tte.capacity import PrunePlan, plan_prune
from toolforge.tte.loop import SolveResult, TteSolver
from toolforge.tte.metrics import TRANSFER, TrrTable, active_sources, trr_table
from toolforge.tte.store import GroupAccuracy, RunRecord, TteLog

Log = Callable[[str], None]


class RunOptions(BaseModel):
    capacity: int | None = Field(default=None, ge=1)
    tau_ret: float | None = Field(default=None, ge=0.0, le=1.0)
    tau_dup: float | None = Field(default=None, ge=0.0, le=1.0)
    k: int | None = Field(default=None, ge=1, le=50)
    auto_promote: bool = False


class GroupResult(BaseModel):
    group: str
    problems: int
    scored: int
    correct: int
    accuracy: float | None


class TteRunSummary(BaseModel):
    run_id: str
    mode: str  # zero | adapt | continue | solve
    library: str
    source_library: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    results: list[SolveResult] = Field(default_factory=list)
    accuracy: float | None = None
    groups: list[GroupResult] = Field(default_factory=list)
    trr: TrrTable | None = None
    counts: dict[str, int] = Field(default_factory=dict)
    sizes: list[tuple[str, int]] = Field(default_factory=list)
    transferred: list[str] = Field(default_factory=list)
    pruned_at_start: list[str] = Field(default_factory=list)
    usage: UsageTotals = Field(default_factory=UsageTotals)
    warnings: list[str] = Field(default_factory=list)
    results_file: str | None = None


class StatsReport(BaseModel):
    library: str
    run: RunRecord | None = None
    active: int
    by_source: dict[str, int] = Field(default_factory=dict)
    pinned: list[str] = Field(default_factory=list)
    capacity: int
    sizes: list[tuple[str, int]] = Field(default_factory=list)
    trr: TrrTable
    counts: dict[str, int] = Field(default_factory=dict)
    groups: list[GroupResult] = Field(default_factory=list)
    runs: list[RunRecord] = Field(default_factory=list)


class TteService:
    def __init__(self, root: Path, *, llm_settings: LLMSettings | None = None,
                 log: Log | None = None, evolution: EvolutionService | None = None) -> None:
        self.root = root
        self.evolution = evolution or EvolutionService(root, llm_settings=llm_settings, log=log)
        self._own_evolution = evolution is None
        self.library = self.evolution.library
        self.log = log or (lambda _msg: None)
        self.tte_log = TteLog(self.evolution.store)

    def close(self) -> None:
        if self._own_evolution:
            self.evolution.close()

    def __enter__(self) -> TteService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- settings ----------------------------------------------------------------------------

    def settings(self, options: RunOptions) -> tuple[TteSettings, int]:
        lib = self.library.library.settings()
        updates: dict[str, Any] = {}
        if options.tau_ret is not None:
            updates["tau_ret"] = options.tau_ret
        if options.tau_dup is not None:
            updates["tau_dup"] = options.tau_dup
        if options.k is not None:
            updates["top_k"] = options.k
        return lib.tte.model_copy(update=updates), options.capacity or lib.capacity

    def _check_models(self) -> None:
        """Fail before anything is recorded, with the how-to hint, when a role has no model."""
        for role in ("agent", "synthesis", "tests", "adversarial"):
            self.evolution.llm.settings.for_role(role)

    def _solver(self, run_id: str, options: RunOptions) -> TteSolver:
        settings, capacity = self.settings(options)
        promote = options.auto_promote or self.library.library.settings().promotion == "auto"
        return TteSolver(self.library, self.evolution.llm, self.evolution.ledger,
                         self.evolution.store, self.tte_log, run_id=run_id,
                         settings=settings, capacity=capacity, promote=promote,
                         reward_threshold=self.evolution.policy.reward_threshold, log=self.log)

    def _params(self, options: RunOptions) -> dict[str, Any]:
        from toolforge.retrieval import ToolIndex

        settings, capacity = self.settings(options)
        index = ToolIndex.for_library(self.root)
        return {"tau_ret": settings.tau_ret, "tau_dup": settings.tau_dup,
                "k": settings.top_k, "attempts": settings.attempts, "capacity": capacity,
                "split": settings.split, "auto_promote": options.auto_promote,
                "promotion": self.library.library.settings().promotion,
                "retrieval": index.mode, "retrieval_model": index.status}

    # --- solving -----------------------------------------------------------------------------

    def solve(self, problem: str | Task, *, expected: Any = None, group: str | None = None,
              options: RunOptions | None = None) -> SolveResult:
        """One problem as a run of its own (mode "solve")."""
        options = options or RunOptions()
        task = problem if isinstance(problem, Task) else Task(
            id="solve", task=problem, expected=expected, group=group)
        self._check_models()
        params = self._params(options)
        if params["retrieval"] != "hybrid":
            self.log(f"retrieval is BM25 only: the dense model is {params['retrieval_model']}")
        run_id = self.tte_log.start_run("solve", params)
        with self._solver(run_id, options) as solver:
            result = solver.solve(task)
        self.tte_log.finish_run(run_id, {"problems": 1, "correct": result.correct})
        return result

    def run(self, tasks: list[Task], *, options: RunOptions | None = None,
            from_library: Path | None = None,
            results_file: Path | Callable[[str], Path] | None = None,
            on_result: Callable[[SolveResult], None] | None = None) -> TteRunSummary:
        """A whole problem set: TTE-Zero, or TTE-Adapt when seeded `from_library`."""
        options = options or RunOptions()
        if not tasks:
            raise UsageError("the problems file has no problems")
        self._check_models()
        active_before = len(active_sources(self.root))
        mode = "adapt" if from_library else ("zero" if active_before == 0 else "continue")
        params = self._params(options)
        run_id = self.tte_log.start_run(mode, params,
                                        str(from_library) if from_library else None)
        path = results_file(run_id) if callable(results_file) else results_file
        if path is not None and not path.expanduser().resolve().parent.is_dir():
            self.tte_log.finish_run(run_id, {"error": f"no directory for {path}"})
            raise UsageError(f"cannot write the results file {path}: its directory does "
                             "not exist", hint="create it, or pass another --out")
        summary = TteRunSummary(run_id=run_id, mode=mode, library=str(self.root),
                                source_library=str(from_library) if from_library else None,
                                params=params)
        if params["retrieval"] != "hybrid":
            summary.warnings.append(f"retrieval is BM25 only: the dense model is "
                                    f"{params['retrieval_model']}")
        if params["promotion"] == "review" and not options.auto_promote:
            summary.warnings.append(
                'the library\'s promotion policy is "review": new tools wait as candidates '
                "and later problems do not retrieve them (reuse needs --auto-promote or "
                'promotion = "auto")')
        solver = self._solver(run_id, options)
        try:
            if from_library is not None:
                summary.transferred = self.transfer(from_library, run_id)
            self.tte_log.size(run_id, solver.active_count())
            summary.pruned_at_start = solver.prune_now()
            for task in tasks:
                result = solver.solve(task)
                summary.results.append(result)
                if on_result:
                    on_result(result)
        finally:
            solver.close()
            self._summarize(summary)
            self.tte_log.finish_run(run_id, {
                "problems": len(summary.results), "accuracy": summary.accuracy,
                "trr": summary.trr.model_dump() if summary.trr else None,
                "counts": summary.counts})
            if path is not None:
                summary.results_file = str(path)
                try:
                    atomic_write_text(path, json.dumps(
                        summary.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n")
                except OSError as exc:
                    summary.results_file = None
                    summary.warnings.append(f"results file {path} not written: {exc}")
        return summary

    def _summarize(self, summary: TteRunSummary) -> None:
        from toolforge.metrics.usage import UsageStore

        run_id = summary.run_id
        self.library.runtime.flush_usage()
        hits = UsageStore.for_library(self.root).hits(session=run_id)
        summary.trr = trr_table(active_sources(self.root), hits)
        summary.counts = self.tte_log.event_counts(run_id)
        summary.sizes = self.tte_log.sizes(run_id)
        summary.groups = [_group(g) for g in self.tte_log.accuracy(run_id)]
        scored = [r for r in summary.results if r.correct is not None]
        summary.accuracy = (sum(1 for r in scored if r.correct) / len(scored)) if scored \
            else None
        summary.usage = self.evolution.ledger.totals()

    # --- TTE-Adapt: seeding from another library ------------------------------------------

    def transfer(self, source: Path, run_id: str | None = None) -> list[str]:
        """Bring `source`'s active tools in, each through the validation gate (a library
        from elsewhere is untrusted), marked `provenance.source = "transfer"`. Tools whose
        name the library already has are skipped."""
        from toolforge.library.incoming import read_optional_source, read_source
        from toolforge.library.meta import parse_meta
        from toolforge.library.store import (
            CANDIDATES_DIR,
            META_FILE,
            TEST_FILE,
            TOOL_FILE,
            TOOLS_DIR,
        )
        from toolforge.names import is_valid_tool_name

        source = source.expanduser().resolve()
        if source == self.root.resolve():
            raise UsageError("--from-library names the library being run",
                             hint="seed a new library from another one")
        base = source / TOOLS_DIR
        if not base.is_dir():
            raise NotFoundError(f"{source} has no tools/ directory",
                                hint="--from-library takes a toolforge library")
        transferred: list[str] = []
        for d in sorted(p for p in base.iterdir() if p.is_dir() and not p.is_symlink()):
            name = d.name
            if not is_valid_tool_name(name) or (self.root / TOOLS_DIR / name).exists() \
                    or (self.root / CANDIDATES_DIR / name).exists():
                continue
            try:
                # another library's files come in like `add` reads them (no symlinks)
                meta = parse_meta(read_source(d / META_FILE))
                if meta.status != "active":
                    continue
                code = read_source(d / TOOL_FILE)
                tests = read_optional_source(d / TEST_FILE)
                added = self.library.add(
                    code, tests, name=name, origin=f"transfer from {source}",
                    provenance={"source": TRANSFER, "from_library": str(source)},
                    meta={"made_for": meta.made_for} if meta.made_for else None)
                if added.warnings:
                    self.log(f"transfer {name}: not promoted ({added.warnings[-1]})")
                    self.library.reject(name, f"transfer: {added.warnings[-1]}")
                    continue
                self.library.promote(name)
            except (ToolforgeError, OSError, UnicodeDecodeError) as exc:
                self.log(f"transfer {name}: skipped ({getattr(exc, 'message', exc)})")
                continue
            transferred.append(name)
            self.tte_log.event(run_id, None, "transferred", name, source=str(source))
            self.log(f"transferred {name}")
        return transferred

    # --- stats, pruning, calibration ---------------------------------------------------------

    def stats(self, run: str | None = None) -> StatsReport:
        from toolforge.metrics.usage import UsageStore

        record = None
        if run is not None:
            record = self.tte_log.run(run)
            if record is None:
                raise NotFoundError(f"no TTE run {run!r} (or the prefix is ambiguous)",
                                    hint="`toolforge stats --json` lists the recent runs")
        run_id = record.id if record else None
        sources = active_sources(self.root)
        entries = self.library.library.entries()
        self.library.runtime.flush_usage()  # calls made in this process count too
        hits = UsageStore.for_library(self.root).hits(session=run_id)
        by_source: dict[str, int] = {}
        for s in sources.values():
            by_source[s] = by_source.get(s, 0) + 1
        return StatsReport(
            library=str(self.root), run=record, active=len(sources), by_source=by_source,
            pinned=sorted(e.name for e in entries if e.meta and e.meta.pinned
                          and e.meta.status == "active"),
            capacity=self.library.library.settings().capacity,
            sizes=self.tte_log.sizes(run_id), trr=trr_table(sources, hits),
            counts=self.tte_log.event_counts(run_id),
            groups=[_group(g) for g in self.tte_log.accuracy(run_id)],
            runs=self.tte_log.runs(limit=10),
        )

    def prune_plan(self, capacity: int | None = None) -> PrunePlan:
        return plan_prune(self.root, capacity or self.library.library.settings().capacity)

    def record_prunes(self, plan: PrunePlan, retired: list[str]) -> None:
        for item in plan.retire:
            if item.tool in retired:
                self.tte_log.event(None, None, "pruned", item.tool, hits=item.hits,
                                   last_used=item.last_used, reason=item.reason)
        if retired:
            self.tte_log.size(None, len(active_sources(self.root)))

    def calibrate(self, pairs_file: Path, *, save: bool = False) -> CalibrationReport:
        from toolforge.tte.calibrate import calibrate

        opts = self.library.validation_options()
        report = calibrate(self.root, pairs_file, limits=opts.limits, backend=opts.backend,
                           policy=opts.policy)
        if save:
            values: dict[str, Any] = {}
            if report.retrieval is not None:
                values["tau_ret"] = report.retrieval.threshold
            if report.dedup is not None:
                values["tau_dup"] = report.dedup.threshold
            if not values:
                raise ConflictError("nothing to save: no pair set had a positive example",
                                    hint="label at least one matching pair of each kind")
            result = self.library.set_settings("tte", values)
            report.saved, report.commit = True, result.commit
        return report


def _group(g: GroupAccuracy) -> GroupResult:
    return GroupResult(group=g.group, problems=g.problems, scored=g.scored, correct=g.correct,
                       accuracy=g.accuracy)
