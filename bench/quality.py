"""Benchmark: does validation keep correct tools and stop broken ones? (issue 12)

    .venv/bin/python bench/quality.py [--quick] [--workers N] [--no-arise] [--speed-only]

The dataset is bench/quality/: 182 correct tools (unit conversions, physics and chemistry
formulas, parsers, statistics), each with ONE valid example test, and 1,720 spec-breaking
mutants of them (bench/quality/make_mutants.py: off-by-one, swapped fields, ignored
parameter, rounding, ordering, wrong units, sign errors, boundaries). Each mutant is
validated with its reference's single test, as an evolved tool would be: whatever the test
does not catch must be caught by the attack, the determinism check or not at all.

It runs the mutants twice:
A. with the single example test only (what the hidden evaluation set looks like);
B. with probe tests added, written to the checklist the test-writer prompt gives a model
   (evolve/prompts.py WRITE_TESTS: every parameter varied, boundaries, messy numbers for
   rounding, several distinct items for ordering). They are generated here from the
   reference implementation, so they know the right answers: an upper bound of what a
   model following the prompt would write, and labelled so in the output.

Prints, with the targets beside them:
- correct tools passed (target >= 95%), and why each rejected one was rejected;
- mutants stopped (target >= 95%), by the layer that decided and by class, for A and B, and
  again without the mutants judged by hand to break nothing the docstring states
  (bench/quality/spec_equivalent.json, each with its reason, printed when one passes);
- full validation p50, warm, of a tool with 5 tests (target <= 150 ms) and validations per
  second with 8 running at once (target >= 20/s), beside ARISE 0.2.1's unisolated
  subprocess test run of the same tool (`arise.skills.sandbox.Sandbox.test_skill`; it runs
  the tests only, so it has no attack to compare), for bwrap and landlock side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

import host  # noqa: E402

from toolforge.sandbox.backends import available_backends, select_backend  # noqa: E402
from toolforge.sandbox.pool import WarmPool  # noqa: E402
from toolforge.validation.pipeline import (  # noqa: E402
    ValidationInput,
    ValidationOptions,
    validate,
)
from toolforge.validation.report import ValidationReport  # noqa: E402

DATA = HERE / "quality"
TARGET_PASS = 95.0
TARGET_CATCH = 95.0
TARGET_P50_MS = 150.0
TARGET_RATE = 20.0

FIVE_TESTS_TOOL = '''
def slugify(text: str, separator: str = "-") -> str:
    """Turn a title into a URL slug.

    Args:
        text: the title.
        separator: what joins the words.

    Returns:
        The slug.
    """
    words = "".join(c.lower() if c.isalnum() else " " for c in text).split()
    return separator.join(words)
'''
FIVE_TESTS = '''
from tool import slugify


def test_simple():
    assert slugify("Hello World") == "hello-world"


def test_punctuation():
    assert slugify("Hello, World!") == "hello-world"


def test_separator():
    assert slugify("a b c", separator="_") == "a_b_c"


def test_empty():
    assert slugify("") == ""


def test_spaces():
    assert slugify("  spaced  out  ") == "spaced-out"
'''


@dataclass
class Case:
    id: str
    tool: str
    code: str
    tests: str
    kind: str  # "correct" or a mutant class
    description: str = ""


@dataclass
class Result:
    case: Case
    verdict: str
    decided_by: str  # the first layer that did not pass, with the finding kind
    detail: str
    warnings: list[str]
    ms: float


def probe_tests(tool_dir: Path) -> str:
    """Tests to the test-writer prompt's checklist, answers from the reference (see above)."""
    from make_mutants import example_of  # bench/quality/make_mutants.py

    from toolforge.safety.generate import LEVELS, FairInputs
    from toolforge.tools.contract import load_tool_source

    code = (tool_dir / "tool.py").read_text()
    spec = load_tool_source(code)
    namespace: dict[str, Any] = {}
    exec(compile(code, "tool.py", "exec"), namespace)
    func = namespace[spec.name]
    example = example_of(tool_dir)
    gen = FairInputs(spec.parameters_schema, seed=7, examples=[example])
    inputs = []
    for name in gen.names:  # every parameter varied, the others as in the example
        for _ in range(2):
            inputs.append({**example, name: gen.variant(example, name, LEVELS[0])})
    inputs += [{**example, name: value} for name, value in gen.edge_args(example)[:8]]
    inputs += [gen.random_args(LEVELS[0]) for _ in range(4)]
    lines = ["import pytest", f"from tool import {spec.name}", ""]
    seen: set[str] = set()
    for i, args in enumerate(inputs):
        if "<omitted>" in repr(args) or repr(args) in seen:
            continue
        seen.add(repr(args))
        call = f"{spec.name}(" + ", ".join(f"{k}={v!r}" for k, v in args.items()) + ")"
        try:
            value = func(**json.loads(json.dumps(args)))
            json.dumps(value, allow_nan=False)
        except ValueError:
            lines += ["", f"def test_probe_{i}():", "    with pytest.raises(ValueError):",
                      f"        {call}"]
            continue
        except Exception:
            continue  # a refusal of another kind: no test the prompt would ask for
        expected = f"pytest.approx({value!r})" if _has_float(value) else repr(value)
        lines += ["", f"def test_probe_{i}():", f"    assert {call} == {expected}"]
    return "\n".join(lines) + "\n"


def with_probes(tests: str, probes: str) -> str:
    """The example test file followed by the probe tests, one `import pytest` on top."""
    example = "\n".join(line for line in tests.splitlines() if line != "import pytest")
    return "import pytest\n" + example + "\n\n" + probes.split("\n", 2)[2]


def _has_float(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, list):
        return any(map(_has_float, value))
    if isinstance(value, dict):
        return any(map(_has_float, value.values()))
    return False


def load_cases(quick: bool) -> tuple[list[Case], list[Case]]:
    tools = sorted(p for p in (DATA / "tools").iterdir() if p.is_dir())
    if quick:
        tools = tools[::6]
    correct = [Case(id=p.name, tool=p.name, code=(p / "tool.py").read_text(),
                    tests=(p / "test_tool.py").read_text(), kind="correct") for p in tools]
    tests = {c.tool: c.tests for c in correct}
    mutants = []
    for line in (DATA / "mutants.jsonl").read_text().splitlines():
        record = json.loads(line)
        if record["tool"] in tests:
            mutants.append(Case(id=record["id"], tool=record["tool"], code=record["code"],
                                tests=tests[record["tool"]], kind=record["class"],
                                description=record["description"]))
    return correct, mutants


def decided_by(report: ValidationReport) -> tuple[str, str]:
    for layer in report.layers:
        if layer.verdict in ("failed", "error", "inconclusive"):
            blocking = [c for c in layer.counterexamples if c.get("severity") == "blocking"]
            if blocking:
                return f"{layer.name}: {blocking[0]['kind']}", blocking[0]["detail"][:160]
            return layer.name, layer.summary[:160]
    return "-", ""


def run_case(case: Case, pool: WarmPool | None) -> Result:
    started = time.perf_counter()
    report = validate(ValidationInput(tool=case.tool, code=case.code, tests=case.tests),
                      pool=pool)
    ms = (time.perf_counter() - started) * 1000
    layer, detail = decided_by(report)
    warnings = [f"{layer.name}: {w['kind']}" for layer in report.layers
                for w in layer.warning_findings]
    return Result(case, report.verdict, layer, detail, warnings, ms)


def run_all(cases: list[Case], workers: int, pool: WarmPool | None,
            label: str) -> tuple[list[Result], float]:
    done = [0]
    lock = threading.Lock()

    def one(case: Case) -> Result:
        result = run_case(case, pool)
        with lock:
            done[0] += 1
            if done[0] % 100 == 0:
                print(f"  {label}: {done[0]}/{len(cases)}", file=sys.stderr, flush=True)
        return result

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as executor:
        results = list(executor.map(one, cases))
    return results, time.perf_counter() - started


def pct(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else 0.0


def mark(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def report_correct(results: list[Result]) -> None:
    passed = [r for r in results if r.verdict == "passed"]
    rate = pct(len(passed), len(results))
    print(f"correct tools: {len(passed)}/{len(results)} passed = {rate:.1f}%   "
          f"target >= {TARGET_PASS:.0f}%  [{mark(rate >= TARGET_PASS)}]")
    verdicts = Counter(r.verdict for r in results)
    print("  verdicts: " + ", ".join(f"{k} {v}" for k, v in sorted(verdicts.items())))
    for r in results:
        if r.verdict != "passed":
            print(f"  rejected {r.case.tool}: {r.verdict} by {r.decided_by}: {r.detail}")
    warned = Counter(w for r in results for w in set(r.warnings))
    if warned:
        print("  warnings on correct tools (not blocking): " + ", ".join(
            f"{k} on {v}" for k, v in warned.most_common()))


def spec_equivalent() -> dict[str, str]:
    """Mutants judged by hand to break no statement of their docstring, with the reason
    (bench/quality/spec_equivalent.json): counted everywhere, and also left out once."""
    data = json.loads((DATA / "spec_equivalent.json").read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if not k.startswith("_")}


def report_mutants(results: list[Result], label: str) -> None:
    stopped = [r for r in results if r.verdict != "passed"]
    rate = pct(len(stopped), len(results))
    print(f"mutants, {label}: {len(stopped)}/{len(results)} stopped = {rate:.1f}%   "
          f"target >= {TARGET_CATCH:.0f}%  [{mark(rate >= TARGET_CATCH)}]")
    equivalent = spec_equivalent()
    breaking = [r for r in results if r.case.id not in equivalent]
    caught = [r for r in breaking if r.verdict != "passed"]
    kept = [r for r in results if r.case.id in equivalent and r.verdict == "passed"]
    print(f"  without the {len(results) - len(breaking)} judged spec-equivalent (they break "
          f"nothing the docstring states): {len(caught)}/{len(breaking)} stopped = "
          f"{pct(len(caught), len(breaking)):.1f}%")
    for r in kept:
        print(f"    spec-equivalent, passed: {r.case.id}: {equivalent[r.case.id]}")
    layers = Counter(r.decided_by for r in stopped)
    print("  decided by: " + ", ".join(f"{k} {v} ({pct(v, len(results)):.1f}%)"
                                       for k, v in layers.most_common()))
    beyond_tests = [r for r in stopped if not r.decided_by.startswith("tests")]
    print(f"  stopped by a layer after the tests (the attack, determinism): "
          f"{len(beyond_tests)} = {pct(len(beyond_tests), len(results)):.1f}% of mutants, "
          f"{pct(len(beyond_tests), len(results) - (len(stopped) - len(beyond_tests))):.1f}% "
          "of those the tests let through")
    print("  by class (stopped/total):")
    for kind in sorted({r.case.kind for r in results}):
        group = [r for r in results if r.case.kind == kind]
        caught = [r for r in group if r.verdict != "passed"]
        by = Counter(r.decided_by.split(":")[0] for r in caught)
        print(f"    {kind:18s} {len(caught):4d}/{len(group):4d} = "
              f"{pct(len(caught), len(group)):5.1f}%   ("
              + ", ".join(f"{k} {v}" for k, v in by.most_common()) + ")")


# --- speed: a 5-test tool, warm, and 8 at once; ARISE beside it -----------------------------


def arise_available() -> bool:
    try:
        import arise.skills.sandbox  # noqa: F401
    except ImportError:
        return False
    return True


def arise_run(code: str, tests: str) -> bool:
    """ARISE 0.2.1's validation of a skill: its tests in one unisolated subprocess."""
    from arise.skills.sandbox import Sandbox
    from arise.types import Skill

    # ARISE puts implementation and tests in one file; there is no `tool` module.
    suite = "\n".join(line for line in tests.splitlines() if not line.startswith("from tool "))
    skill = Skill(name="bench", description="bench", implementation=code, test_suite=suite)
    return bool(Sandbox(backend="subprocess", timeout=30).test_skill(skill).success)


def backend_speed(name: str, runs: int) -> None:
    backend = select_backend(name)
    opts = ValidationOptions(backend=name)
    item = ValidationInput(tool="slugify", code=FIVE_TESTS_TOOL, tests=FIVE_TESTS)

    def one(tag: str) -> ValidationReport:
        return validate(item.model_copy(update={"tests": FIVE_TESTS + f"\n# {tag}\n"}), opts,
                        pool=pool)

    samples = []
    with WarmPool(backend, size=2) as pool:
        for i in range(runs + 2):
            pool.wait_ready()
            time.sleep(0.05)  # let the background start-up finish: measure the job alone
            started = time.perf_counter()
            report = one(str(i))
            samples.append((time.perf_counter() - started) * 1000)
            assert report.verdict == "passed", report.failure_summary()
    p50 = statistics.median(samples[2:])
    default = " (the default here)" if name == select_backend().name else ""
    print(f"{name}{default}: full validation of a 5-test tool (contract, static, tests, "
          f"coverage, attack, determinism), warm: p50 {p50:.0f} ms   target <= "
          f"{TARGET_P50_MS:.0f} ms  [{mark(p50 <= TARGET_P50_MS)}]")
    total = 8 * 6
    with WarmPool(backend, size=4) as pool:
        pool.wait_ready()
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=8) as executor:
            reports = list(executor.map(lambda i: one(f"c{i}"), range(total)))
        elapsed = time.perf_counter() - started
    assert all(r.verdict == "passed" for r in reports)
    rate = total / elapsed
    print(f"{name}{default}: 8 concurrent full validations on {os.cpu_count()} CPUs: "
          f"{rate:.1f}/s   target >= {TARGET_RATE:.0f}/s  [{mark(rate >= TARGET_RATE)}]")


def speed(runs: int, with_arise: bool) -> None:
    """Warm full validation and 8 at once, on each isolating backend that works here."""
    print(f"speed, on {host.describe()}")
    for name in [n for n in ("bwrap", "landlock") if n in available_backends()]:
        backend_speed(name, runs)
    if with_arise:
        arise_samples = []
        for _ in range(max(5, runs // 2)):
            started = time.perf_counter()
            assert arise_run(FIVE_TESTS_TOOL, FIVE_TESTS)
            arise_samples.append((time.perf_counter() - started) * 1000)
        print(f"  ARISE 0.2.1 (tests only, one unisolated subprocess): p50 "
              f"{statistics.median(arise_samples):.0f} ms")
        total = 8 * 6
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=8) as executor:
            ok = list(executor.map(lambda _: arise_run(FIVE_TESTS_TOOL, FIVE_TESTS),
                                   range(total)))
        assert all(ok)
        print(f"  ARISE 0.2.1, 8 concurrent: {total / (time.perf_counter() - started):.1f}/s")


def arise_quality(correct: list[Case], mutants: list[Case], sample: int) -> None:
    """What the peer's tests-only validation keeps and stops on the same data."""
    picked = mutants[::max(1, len(mutants) // sample)]
    with ThreadPoolExecutor(max_workers=2) as executor:
        kept = list(executor.map(lambda c: arise_run(c.code, c.tests), correct))
        passed = list(executor.map(lambda c: arise_run(c.code, c.tests), picked))
    print(f"  ARISE 0.2.1 on the same data (tests only): correct tools passed "
          f"{pct(sum(kept), len(kept)):.1f}%, mutants stopped "
          f"{pct(len(passed) - sum(passed), len(passed)):.1f}% (a sample of {len(picked)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="every 6th tool (a smoke test)")
    parser.add_argument("--workers", type=int, default=2, help="validations at once")
    parser.add_argument("--no-arise", action="store_true", help="skip ARISE's figures")
    parser.add_argument("--single-test-only", action="store_true",
                        help="skip run B (mutants with probe tests)")
    parser.add_argument("--json", type=Path, help="write every verdict to this file")
    parser.add_argument("--speed-only", action="store_true",
                        help="only the speed figures (warm p50, 8 at once), per backend")
    args = parser.parse_args()
    # ARISE runs `python` from PATH: this environment's, which has pytest.
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    with_arise = not args.no_arise and arise_available()
    if args.speed_only:
        speed(10 if args.quick else 30, with_arise)
        return
    started = time.perf_counter()
    correct, mutants = load_cases(args.quick)
    print(f"dataset: {len(correct)} correct tools (one example test each), {len(mutants)} "
          f"spec-breaking mutants; backend {select_backend().name}; {args.workers} at once")
    probed: list[Case] = []
    if not args.single_test_only:
        sys.path.insert(0, str(DATA))
        probes = {c.tool: probe_tests(DATA / "tools" / c.tool) for c in correct}
        probed = [Case(id=m.id, tool=m.tool, code=m.code, kind=m.kind,
                       description=m.description, tests=with_probes(m.tests, probes[m.tool]))
                  for m in mutants]
    with WarmPool(select_backend(), size=max(2, args.workers)) as pool:
        correct_results, correct_s = run_all(correct, args.workers, pool, "correct")
        mutant_results, mutant_s = run_all(mutants, args.workers, pool, "mutants")
        probed_results, _ = run_all(probed, args.workers, pool, "mutants + probe tests")
    report_correct(correct_results)
    report_mutants(mutant_results, "A, single example test")
    if probed_results:
        report_mutants(probed_results, "B, with probe tests to the test-writer checklist "
                       "(generated from the reference: an upper bound)")
    times = [r.ms for r in correct_results]
    print(f"validation of the correct tools, warm pool, {args.workers} at once: p50 "
          f"{statistics.median(times):.0f} ms, p95 {sorted(times)[int(len(times) * 0.95)]:.0f} "
          f"ms; {len(correct) + len(mutants)} validations in {correct_s + mutant_s:.0f} s")
    if with_arise:
        arise_quality(correct, mutants, sample=150 if not args.quick else 40)
    speed(10 if args.quick else 30, with_arise)
    if not with_arise and not args.no_arise:
        print("  (ARISE figures need `pip install arise-ai==0.2.1`, part of the dev extra)")
    if args.json:
        args.json.write_text(json.dumps([
            {"id": r.case.id, "kind": r.case.kind, "verdict": r.verdict,
             "decided_by": r.decided_by, "detail": r.detail, "warnings": r.warnings,
             "ms": round(r.ms, 1)} for r in correct_results + mutant_results], indent=1))
    print(f"benchmark wall time: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
