"""The property attack and the tests' coverage, run for the validation pipeline.

The attack's inputs all go to ONE sandboxed tool process (warm from the pool when there is
one); a second, fresh process (its own random hash key: str hashing is randomised per
process) replays them to compare. Its findings
become two layers of the report: `property` (crashes, limits, types, ignored parameters)
and `determinism` (the same input answered differently, in one process or across two). The
`coverage` layer reads the calls the tests made (relayed by the harness) and warns about
parameters no test varied; it never blocks, because one good example test is a fine start
and the attack covers what it leaves out.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from toolforge.safety.fuzz import (
    AttackBudget,
    AttackReport,
    AttackTarget,
    CallOutcome,
    Finding,
    attack,
)
from toolforge.safety.generate import canonical
from toolforge.validation.report import LayerResult, Verdict

if TYPE_CHECKING:
    from toolforge.sandbox.backends import SandboxBackend
    from toolforge.sandbox.harness import RelayedCall
    from toolforge.sandbox.limits import Limits
    from toolforge.sandbox.pool import WarmPool
    from toolforge.sandbox.process import CallResult
    from toolforge.tools.contract import ToolSpec

DETERMINISM_KINDS = ("nondeterministic", "hash_order")


class SandboxTarget:
    """The tool in one sandboxed process (`ToolProcess`), as the attack calls it."""

    # Each sandbox hashes strings with its own random key (PYTHONHASHSEED is not set).
    hash_seed: int | None = None

    def __init__(self, code: str, entrypoint: str, *, limits: Limits, backend: SandboxBackend,
                 pool: WarmPool | None = None, avoid_hash_key: int | None = None) -> None:
        from toolforge.sandbox.process import ToolProcess

        self._args = (code, entrypoint, limits, backend, pool)
        self.process = ToolProcess(code, entrypoint, limits=limits, backend=backend, pool=pool,
                                   avoid_hash_key=avoid_hash_key)
        self.limit_hits: list[str] = []

    def load(self, timeout_s: float) -> CallOutcome | None:
        failed = self.process.load(min(timeout_s, self.process.limits.wall_time_s))
        return None if failed is None else self._outcome(failed)

    def call(self, args: dict[str, Any], timeout_s: float) -> CallOutcome:
        return self._outcome(self.process.call(args, timeout_s))

    def _outcome(self, result: CallResult) -> CallOutcome:
        if result.limit_hit:
            self.limit_hits.append(result.limit_hit)
        return CallOutcome(ok=result.ok, value=result.value, error_type=result.error_type,
                           error_message=result.error_message,
                           error_builtin=result.error_builtin,
                           error_bases=list(result.error_bases), limit_hit=result.limit_hit,
                           duration_ms=result.duration_ms)

    def twin(self) -> AttackTarget | None:
        code, entrypoint, limits, backend, pool = self._args
        # Another process, and one that hashes strings with another key than this one.
        return SandboxTarget(code, entrypoint, limits=limits, backend=backend, pool=pool,
                             avoid_hash_key=self.process.hash_key)

    def close(self) -> None:
        self.process.close()


def attack_layers(spec: ToolSpec, target: SandboxTarget, *, budget: AttackBudget,
                  examples: list[dict[str, Any]]) -> tuple[LayerResult, LayerResult]:
    """Run the attack in `target` (the caller closes it); the `property` and `determinism`
    layers."""
    started = time.perf_counter()
    target.limit_hits.clear()
    report = attack(spec, target, budget=budget, examples=examples)
    duration = round((time.perf_counter() - started) * 1000, 1)
    return _layers(report, sorted(set(target.limit_hits)), duration)


def _layers(report: AttackReport, limit_hits: list[str],
            duration_ms: float) -> tuple[LayerResult, LayerResult]:
    stats = report.model_dump(exclude={"findings", "verdict"})
    property_findings = [f for f in report.findings if f.kind not in DETERMINISM_KINDS]
    determinism_findings = [f for f in report.findings if f.kind in DETERMINISM_KINDS]
    seeds = report.hash_seeds
    compared = (f"{report.replayed} inputs compared with a second process (another hash "
                "seed)" if report.replayed else "not compared with a second process")
    inconclusive = report.verdict == "inconclusive"
    prop = LayerResult(
        name="property", verdict=_verdict(property_findings, inconclusive and (
            report.examples_run < report.min_examples)),
        summary=_summary(property_findings, report.summary()), duration_ms=duration_ms,
        counterexamples=[_dump(f) for f in property_findings], limit_hits=limit_hits,
        stats=stats)
    det = LayerResult(
        name="determinism", verdict=_verdict(determinism_findings, inconclusive and (
            report.examples_run >= report.min_examples)),
        summary=_summary(determinism_findings, compared + (
            f"; {report.notes[-1]}" if report.notes and not report.replayed else "")),
        counterexamples=[_dump(f) for f in determinism_findings],
        stats={"replayed": report.replayed, "hash_seeds": seeds})
    return prop, det


def _verdict(findings: list[Finding], inconclusive: bool) -> Verdict:
    if any(f.severity == "blocking" for f in findings):
        return "failed"
    return "inconclusive" if inconclusive else "passed"


def _summary(findings: list[Finding], figures: str) -> str:
    blocking = [f for f in findings if f.severity == "blocking"]
    warnings = [f for f in findings if f.severity == "warning"]
    parts = [f"{f.kind}: {f.detail[:160]} (input {_args(f.args)})" for f in blocking[:3]]
    if warnings:
        parts.append(f"{len(warnings)} warning(s): " + "; ".join(
            f"{w.kind} (input {_args(w.args, 60)})" for w in warnings[:3]))
    parts.append(figures)
    return "; ".join(parts)


def _args(args: dict[str, Any], limit: int = 120) -> str:
    text = canonical_text(args)
    return text if len(text) <= limit else text[:limit] + "..."


def canonical_text(value: Any) -> str:
    import json

    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError):
        return repr(value)


def _dump(finding: Finding) -> dict[str, Any]:
    return finding.model_dump(exclude_none=True)


# --- coverage: which parameters the tests vary ---------------------------------------------


_ABSENT = object()


def named_calls(spec: ToolSpec, calls: list[RelayedCall]) -> list[dict[str, Any]]:
    """The tests' calls as keyword arguments (positional ones named by the signature);
    calls that do not bind to the signature are left out."""
    names = [p.name for p in spec.params]
    out = []
    for call in calls:
        if len(call.args) > len(names):
            continue
        bound = dict(zip(names, call.args, strict=False))
        if set(bound) & set(call.kwargs) or not set(call.kwargs) <= set(names):
            continue
        out.append({**bound, **call.kwargs})
    return out


def coverage_layer(spec: ToolSpec, calls: list[dict[str, Any]]) -> LayerResult:
    """Warnings for parameters no test varied (a parameter the tests hold fixed is where a
    swapped or ignored argument hides)."""
    findings: list[dict[str, Any]] = []
    for param in spec.params if calls else []:
        values = {canonical(call.get(param.name, param.default)) for call in calls}
        if len(values) >= 2:
            continue
        passed = [call[param.name] for call in calls if param.name in call]
        if not passed:
            detail = (f"parameter `{param.name}` is never passed by any test (always its "
                      f"default {canonical_text(param.default)})")
        else:
            detail = (f"parameter `{param.name}` never varied by any test (always "
                      f"{canonical_text(passed[0])[:80]})")
        findings.append({"kind": "unvaried_parameter", "severity": "warning", "args": {},
                         "detail": detail + ": a test with another value would catch a "
                         "swapped or ignored argument", "stage": "tests"})
    summary = (f"{len(calls)} tool call(s) in the tests; "
               + (f"{len(findings)} of {len(spec.params)} parameter(s) never varied"
                  if findings else "every parameter varied"))
    return LayerResult(name="coverage", verdict="passed", summary=summary,
                       counterexamples=findings, stats={"calls": len(calls)})


__all__ = ["SandboxTarget", "attack_layers", "coverage_layer", "named_calls"]
