"""The validation pipeline (DESIGN.md §5): contract -> static -> sandboxed tests -> attack.

Each layer's verdict lands in the report. A static failure stops the run before any code
executes (hostile code is not run when it can be refused unseen); `static=False` exists so
the security corpus can prove the sandbox contains what the checker would refuse in
tool.py. Test files are checked by the harness in any case: it is what makes their verdict
unforgeable (sandbox/testfile.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field

from toolforge.errors import ToolContractError
from toolforge.safety.checker import check_source
from toolforge.safety.policy import SafetyPolicy
from toolforge.sandbox.access import Access, access_for
from toolforge.sandbox.backends import SandboxBackend, select_backend
from toolforge.sandbox.limits import Limits
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
    fuzz: bool = True
    fuzz_examples: int = 60
    fuzz_deadline_s: float = 15.0

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
             log: Log | None = None, cancel: threading.Event | None = None) -> ValidationReport:
    opts = options or ValidationOptions()
    say = log or (lambda _msg: None)
    started = time.perf_counter()
    backend: SandboxBackend = select_backend(opts.backend, access=opts.access)
    layers: list[LayerResult] = []
    report_args: dict[str, Any] = {
        "tool": item.tool,
        "version": item.version,
        "location": item.location,
        "files_hash": files_hash(item.code, item.tests),
        "backend": backend.name,
        "isolated": backend.isolating,
        "limits": opts.limits.model_dump(),
        "warnings": list(backend.warnings()),
    }

    def finish(verdict: str) -> ValidationReport:
        return ValidationReport(verdict=verdict, layers=layers,  # type: ignore[arg-type]
                                duration_ms=_ms(started), **report_args)

    def check_cancel() -> None:
        if cancel is not None and cancel.is_set():
            raise Cancelled("validation cancelled")

    # 1. contract
    t0 = time.perf_counter()
    try:
        spec = load_tool_source(item.code)
        layers.append(LayerResult(name="contract", verdict="passed", summary=spec.signature,
                                  duration_ms=_ms(t0)))
    except ToolContractError as exc:
        layers.append(LayerResult(name="contract", verdict="failed", summary=exc.message,
                                  duration_ms=_ms(t0)))
        say(f"contract: failed: {exc.message}")
        return finish("failed")
    say(f"contract: ok ({spec.signature})")

    # 2. static checks, tool and every test file (the harness checks test files again,
    # whatever `static` says: the verdict rests on them; here they are refused early)
    t0 = time.perf_counter()
    if opts.static:
        findings = [f.model_dump() for f in check_source(item.code, filename="tool.py",
                                                          policy=opts.policy)]
        suites = [("candidate", item.tests), *item.regression_suites, *item.extra_suites]
        for label, source in suites:
            if not source:
                continue
            name = "test_tool.py" if label == "candidate" else f"{label}/test_tool.py"
            findings += [f.model_dump() for f in check_source(
                source, filename=name, policy=opts.policy, is_test=True,
                entrypoint=spec.name)]
        verdict: Verdict = "failed" if findings else "passed"
        summary = (f"{len(findings)} finding(s): " + "; ".join(
            f"{f['file']}:{f['line']}: {f['message']}" for f in findings[:3])) if findings \
            else "no findings"
        layers.append(LayerResult(name="static", verdict=verdict, summary=summary,
                                  findings=findings, duration_ms=_ms(t0)))
        say(f"static: {verdict} ({summary})")
        if findings:
            return finish("failed")
    else:
        layers.append(LayerResult(name="static", verdict="skipped",
                                  summary="static checks disabled for this run"))
    check_cancel()

    # 3. tests in the sandbox: the candidate's own, earlier versions', extra suites
    t0 = time.perf_counter()
    from toolforge.sandbox.harness import run_tests

    suites = [("candidate", item.tests), *item.regression_suites, *item.extra_suites]
    suites = [(label, src) for label, src in suites if src.strip()]
    if not item.tests.strip():
        layers.append(LayerResult(name="tests", verdict="failed",
                                  summary="the tool has no tests (test_tool.py is empty)",
                                  duration_ms=_ms(t0)))
        say("tests: failed (no tests)")
        return finish("failed")
    run = run_tests(item.code, spec.name, suites, limits=opts.limits, backend=backend)
    tests = [t.model_dump() for t in run.tests]
    failed = [t for t in tests if t["outcome"] != "passed"]
    verdict = "passed" if run.passed else "failed"  # a new Verdict for the tests layer
    parts = [f"{len(tests) - len(failed)}/{len(tests)} passed"]
    parts += [f"{t['suite']}::{t['name']} {t['outcome']}: "
              f"{(t['message'] or '').splitlines()[0][:200] if t['message'] else ''}"
              for t in failed[:5]]
    parts += run.problems[:5]
    layers.append(LayerResult(name="tests", verdict=verdict, summary="; ".join(parts),
                              tests=tests, problems=list(run.problems),
                              limit_hits=list(run.limit_hits), duration_ms=_ms(t0)))
    say(f"tests: {verdict} ({parts[0]})")
    if not run.passed:
        return finish("failed")
    check_cancel()

    # 4. property-based attack from the type hints (no LLM)
    if opts.fuzz:
        t0 = time.perf_counter()
        fuzz_layer = _attack(item.code, spec, opts, backend)
        fuzz_layer.duration_ms = _ms(t0)
        layers.append(fuzz_layer)
        say(f"property: {fuzz_layer.verdict} ({fuzz_layer.summary})")
        if fuzz_layer.verdict != "passed":
            return finish("failed")
    else:
        layers.append(LayerResult(name="property", verdict="skipped",
                                  summary="property attack disabled"))
    return finish("passed")


def _attack(code: str, spec: ToolSpec, opts: ValidationOptions,
            backend: SandboxBackend) -> LayerResult:
    from toolforge.safety.fuzz import CallOutcome, fuzz_tool
    from toolforge.sandbox.process import ToolProcess

    limit_hits: list[str] = []
    with ToolProcess(code, spec.name, limits=opts.limits, backend=backend) as proc:

        def call(args: dict[str, Any]) -> CallOutcome:
            result = proc.call(args)
            if result.limit_hit:
                limit_hits.append(result.limit_hit)
            return CallOutcome.model_validate(result.model_dump())

        # Strict JSON crosses the sandbox boundary, so a tool can never receive NaN/inf.
        report = fuzz_tool(spec, call, max_examples=opts.fuzz_examples, seed=0,
                           deadline_s=opts.fuzz_deadline_s, allow_non_finite=False)
    examples = [c.model_dump() for c in report.counterexamples]
    if report.passed:
        summary = f"{report.examples_run} generated inputs, no counterexample"
    else:
        summary = "; ".join(f"{c['kind']}: {c['detail'][:160]} (args {c['args']!r:.120})"
                            for c in examples[:3])
    return LayerResult(name="property", verdict="passed" if report.passed else "failed",
                       summary=summary, counterexamples=examples,
                       limit_hits=sorted(set(limit_hits)))


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)
