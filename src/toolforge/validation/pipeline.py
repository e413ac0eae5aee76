"""The validation pipeline (DESIGN.md §5): contract -> static -> sandboxed tests ->
coverage -> property attack -> determinism.

Each layer's verdict lands in the report. A static failure stops the run before any code
executes (hostile code is not run when it can be refused unseen); `static=False` exists so
the security corpus can prove the sandbox contains what the checker would refuse in
tool.py. Test files are checked by the harness in any case: it is what makes their verdict
unforgeable (sandbox/testfile.py).

The report's verdict is "passed" only when every layer passed; "inconclusive" when the
property attack ran out of time before its minimum number of inputs (or before comparing a
second process), which promotion treats as not validated.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field

from toolforge.errors import ToolContractError
from toolforge.safety.checker import check_source
from toolforge.safety.fuzz import AttackBudget
from toolforge.safety.policy import SafetyPolicy
from toolforge.sandbox.access import Access, access_for
from toolforge.sandbox.backends import SandboxBackend, select_backend
from toolforge.sandbox.limits import Limits
from toolforge.sandbox.pool import WarmPool
from toolforge.sandbox.testfile import analyse
from toolforge.tools.contract import ToolSpec, load_tool_source
from toolforge.validation.report import LayerResult, ValidationReport, Verdict, files_hash

Log = Callable[[str], None]


class ValidationOptions(BaseModel):
    """How to validate; built from the library's settings by the service."""

    model_config = {"arbitrary_types_allowed": True}

    policy: SafetyPolicy = Field(default_factory=SafetyPolicy)
    limits: Limits = Field(default_factory=Limits)
    backend: str | None = None  # None/auto -> bwrap when it works here
    static: bool = True
    attack: bool = True  # the property attack (and the determinism check it carries)
    budget: AttackBudget = Field(default_factory=AttackBudget)

    @property
    def access(self) -> Access:
        """What the policy opens in the sandbox; AccessError for what it cannot honour."""
        return access_for(self.policy.allowed_imports, self.policy.allow_network)


class ValidationInput(BaseModel):
    tool: str
    code: str
    tests: str
    location: str = "candidates"
    version: int | None = None
    # Earlier promoted versions' tests (label, source): regressions fail validation.
    regression_suites: list[tuple[str, str]] = Field(default_factory=list)
    # More suites to run, e.g. ("adversarial", source) written by a model.
    extra_suites: list[tuple[str, str]] = Field(default_factory=list)


class Cancelled(Exception):
    pass


def validate(item: ValidationInput, options: ValidationOptions | None = None, *,
             log: Log | None = None, cancel: threading.Event | None = None,
             pool: WarmPool | None = None) -> ValidationReport:
    """Validate `item`; `pool` supplies warm sandboxes when it serves the same backend."""
    return _Run(item, options or ValidationOptions(), log, cancel, pool).validate()


class _Finished(Exception):
    """A layer decided: the report is built from the layers so far."""


class _Run:
    def __init__(self, item: ValidationInput, opts: ValidationOptions, log: Log | None,
                 cancel: threading.Event | None, pool: WarmPool | None) -> None:
        self.item = item
        self.opts = opts
        self.say: Log = log or (lambda _msg: None)
        self.cancel = cancel
        self.started = time.perf_counter()
        self.backend: SandboxBackend = select_backend(opts.backend, access=opts.access)
        # A pool's sandboxes are its backend's (and access's): another one starts its own.
        self.pool = pool if pool is not None and (pool.backend.name, pool.backend.access) == (
            self.backend.name, self.backend.access) else None
        self.layers: list[LayerResult] = []

    def validate(self) -> ValidationReport:
        try:
            spec = self.contract()
            self.static(spec)
            self.check_cancel()
            self.tested(spec)
            verdict = "passed"
        except _Finished:
            verdict = "failed"
        if verdict == "passed" and any(layer.verdict == "inconclusive"
                                       for layer in self.layers):
            verdict = "inconclusive"
        item, opts, backend = self.item, self.opts, self.backend
        return ValidationReport(
            verdict=verdict, layers=self.layers,  # type: ignore[arg-type]
            duration_ms=_ms(self.started), tool=item.tool, version=item.version,
            location=item.location, files_hash=files_hash(item.code, item.tests),
            backend=backend.name, isolated=backend.isolating, limits=opts.limits.model_dump(),
            warnings=list(backend.warnings()))

    def check_cancel(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled("validation cancelled")

    def add(self, layer: LayerResult) -> None:
        self.layers.append(layer)
        self.say(f"{layer.name}: {layer.verdict} ({layer.summary})")
        if layer.verdict in ("failed", "error"):
            raise _Finished

    # 1. contract
    def contract(self) -> ToolSpec:
        t0 = time.perf_counter()
        try:
            spec = load_tool_source(self.item.code)
        except ToolContractError as exc:
            self.add(LayerResult(name="contract", verdict="failed", summary=exc.message,
                                 duration_ms=_ms(t0)))
            raise
        self.add(LayerResult(name="contract", verdict="passed", summary=spec.signature,
                             duration_ms=_ms(t0)))
        return spec

    # 2. static checks, tool and every test file (the harness checks test files in any case,
    # whatever `static` says: the verdict rests on them; here they are refused early, and
    # the harness reuses this analysis)
    def static(self, spec: ToolSpec) -> None:
        item, opts = self.item, self.opts
        if not opts.static:
            self.add(LayerResult(name="static", verdict="skipped",
                                 summary="static checks disabled for this run"))
            return
        t0 = time.perf_counter()
        findings = [f.model_dump() for f in check_source(item.code, filename="tool.py",
                                                          policy=opts.policy)]
        for label, source in [("candidate", item.tests), *item.regression_suites,
                              *item.extra_suites]:
            if not source:
                continue
            name = "test_tool.py" if label == "candidate" else f"{label}/test_tool.py"
            # The harness's own analysis (cached): test files are checked once per validation.
            findings += [{**f.model_dump(), "file": name}
                         for f in analyse(label, source, spec.name).findings]
        verdict: Verdict = "failed" if findings else "passed"
        summary = (f"{len(findings)} finding(s): " + "; ".join(
            f"{f['file']}:{f['line']}: {f['message']}" for f in findings[:3])) if findings \
            else "no findings"
        self.add(LayerResult(name="static", verdict=verdict, summary=summary,
                             findings=findings, duration_ms=_ms(t0)))

    # 3-6. tests, coverage, attack, determinism: the candidate's tests and then the attack
    # share one warm tool process.
    def tested(self, spec: ToolSpec) -> None:
        from toolforge.validation.attack import SandboxTarget

        item = self.item
        if not item.tests.strip():
            self.add(LayerResult(name="tests", verdict="failed",
                                 summary="the tool has no tests (test_tool.py is empty)"))
        target = SandboxTarget(item.code, spec.name, limits=self.opts.limits,
                               backend=self.backend, pool=self.pool)
        try:
            calls = self.tests(spec, target)
            self.check_cancel()
            self.attack(spec, target, calls)
        finally:
            target.close()

    def tests(self, spec: ToolSpec, target: Any) -> list[dict[str, Any]]:
        """Run the suites; the tests' tool calls, by parameter name."""
        from toolforge.sandbox.harness import run_tests
        from toolforge.validation.attack import coverage_layer, named_calls

        item, opts = self.item, self.opts
        t0 = time.perf_counter()
        suites = [("candidate", item.tests), *item.regression_suites, *item.extra_suites]
        suites = [(label, src) for label, src in suites if src.strip()]
        run = run_tests(item.code, spec.name, suites, limits=opts.limits, backend=self.backend,
                        pool=self.pool, candidate_tool=target.process)
        tests = [t.model_dump() for t in run.tests]
        failed = [t for t in tests if t["outcome"] != "passed"]
        parts = [f"{len(tests) - len(failed)}/{len(tests)} passed"]
        parts += [f"{t['suite']}::{t['name']} {t['outcome']}: "
                  f"{(t['message'] or '').splitlines()[0][:200] if t['message'] else ''}"
                  for t in failed[:5]]
        parts += run.problems[:5]
        self.add(LayerResult(name="tests", verdict="passed" if run.passed else "failed",
                             summary="; ".join(parts), tests=tests,
                             problems=list(run.problems), limit_hits=list(run.limit_hits),
                             duration_ms=_ms(t0)))
        # Which parameters the candidate's own tests vary (warnings only).
        self.add(coverage_layer(spec, named_calls(
            spec, [c for c in run.calls if c.suite == "candidate"])))
        return named_calls(spec, run.calls)

    def attack(self, spec: ToolSpec, target: Any, calls: list[dict[str, Any]]) -> None:
        from toolforge.validation.attack import attack_layers

        if not self.opts.attack:
            self.add(LayerResult(name="property", verdict="skipped",
                                 summary="property attack disabled"))
            return
        property_layer, determinism = attack_layers(spec, target, budget=self.opts.budget,
                                                    examples=calls)
        self.layers += [property_layer, determinism]
        for layer in (property_layer, determinism):
            self.say(f"{layer.name}: {layer.verdict} ({layer.summary})")
        if "failed" in (property_layer.verdict, determinism.verdict):
            raise _Finished


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)
