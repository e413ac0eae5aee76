"""Benchmark: sandboxed validation of a small tool with 5 tests, and tool calls, per backend.

Run: .venv/bin/python bench/validation.py [--quick] [--backends bwrap,landlock,rlimit]

Prints, for bwrap, landlock and rlimit side by side, p50/p95 wall time of: a validation
cold (fresh sandboxes) and warm (sandboxes started ahead by a WarmPool), a tool call cold
(start, call, kill) and warm (into a running tool process); then throughput with N
concurrent validations and the floors (a pipe round trip between two processes, bare
interpreter, bare bwrap + interpreter), with the budgets beside them (landlock: warm call
<= 2 ms, warm 5-test validation <= 25 ms).
"""

from __future__ import annotations

import argparse
import itertools
import os
import queue
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import host

from toolforge.sandbox import _uids
from toolforge.sandbox.backends import (
    BACKEND_NAMES,
    BwrapBackend,
    available_backends,
    interpreter,
    select_backend,
)
from toolforge.sandbox.harness import run_tests
from toolforge.sandbox.pool import WarmPool
from toolforge.sandbox.process import ToolProcess
from toolforge.sandbox.sandboxed import drain

TOOL = '''
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

TESTS = '''
import pytest
from tool import slugify


def test_simple():
    assert slugify("Hello World") == "hello-world"


def test_punctuation():
    assert slugify("Hello, World!") == "hello-world"


def test_separator():
    assert slugify("a b c", separator="_") == "a_b_c"


def test_empty():
    assert slugify("") == ""


SPACED = ["  spaced  out  ", "spaced\tout"]


def test_spaces():
    for text in SPACED:
        assert slugify(text) == "spaced-out"
        assert slugify(text, separator="_") == pytest.approx("spaced_out")
'''

# Budgets (DESIGN.md §7, issue 15): the landlock tier's warm paths; bwrap's are the same.
TARGETS = {"validate, warm": 25.0, "tool call, warm": 2.0}
METRICS = ("validate, cold", "validate, warm", "tool call, cold", "tool call, warm")


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def timed(fn: Callable[[], object], runs: int, warmup: int = 2) -> list[float]:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def line(label: str, samples: list[float], target: float | None = None) -> None:
    p50, p95 = percentiles(samples)
    goal = ""
    if target is not None:
        goal = f"   target p50 <= {target:g} ms  [{'ok' if p50 <= target else 'MISSED'}]"
    print(f"  {label:44s} p50 {p50:7.2f} ms   p95 {p95:7.2f} ms{goal}")


_runs = itertools.count()


def validate_once(backend_name: str, pool: WarmPool | None = None) -> None:
    # A new candidate brings a new test file: defeat the parser's cache, as in real life.
    tests = f"{TESTS}\n# candidate {next(_runs)}\n"
    report = run_tests(TOOL, "slugify", [("candidate", tests)],
                       backend=select_backend(backend_name), pool=pool)
    if not report.passed:
        raise SystemExit(f"benchmark validation did not pass: {report}")


def floors(runs: int) -> None:
    python = interpreter().executable
    print("floors")
    print(f"  {'pipe round trip to another process':44s} {host.pipe_round_trip():7.1f} us")
    line("python -I -S -c pass", timed(
        lambda: subprocess.run([python, "-I", "-S", "-c", "pass"], check=True, env={}), runs))
    if "bwrap" in available_backends():
        bwrap = BwrapBackend()
        root = _uids.running_as_root()
        userns = _uids.shared_userns() if root else None
        uid = _uids.allocate_uid() if root else None
        command = bwrap.command([python, "-I", "-S", "-c", "pass"], work_dir_bytes=16 << 20,
                                uid=uid, userns_fd=userns)
        fds = (userns,) if userns is not None else ()
        line("bare bwrap (same mounts) + python -I -S", timed(
            lambda: subprocess.run(command, check=True, env={}, pass_fds=fds), runs))


def measure(backend_name: str, runs: int) -> dict[str, list[float]]:
    """Cold and warm validation (5 tests, tool host + test runner) and tool calls."""
    backend = select_backend(backend_name)
    found: dict[str, list[float]] = {}
    found["validate, cold"] = timed(lambda: validate_once(backend_name), runs)
    with WarmPool(backend, size=1) as pool:
        samples: list[float] = []
        for _ in range(runs + 2):
            pool.wait_ready()
            drain()  # the previous job's teardown (sandboxed.finish_later) is done too
            time.sleep(0.03)  # let the background start-up finish: measure the job alone
            started = time.perf_counter()
            validate_once(backend_name, pool)
            samples.append((time.perf_counter() - started) * 1000)
        found["validate, warm"] = samples[2:]

    def cold_call() -> None:
        with ToolProcess(TOOL, "slugify", backend=backend) as process:
            process.call({"text": "Hello World"})

    found["tool call, cold"] = timed(cold_call, runs)
    with ToolProcess(TOOL, "slugify", backend=backend) as process:
        found["tool call, warm"] = timed(lambda: process.call({"text": "Hello World"}),
                                         runs * 5)
    return found


def table(results: dict[str, dict[str, list[float]]]) -> None:
    names = list(results)
    print("\np50 (p95) in ms, side by side; budgets are the landlock tier's (issue 15)")
    print(f"  {'':22s}" + "".join(f"{name:>20s}" for name in names) + f"{'budget':>14s}")
    for metric in METRICS:
        cells = []
        for name in names:
            p50, p95 = percentiles(results[name][metric])
            cells.append(f"{p50:9.2f} ({p95:6.2f})")
        target = TARGETS.get(metric)
        verdict = ""
        if target is not None and "landlock" in results:
            ok = percentiles(results["landlock"][metric])[0] <= target
            verdict = f"<= {target:g} [{'ok' if ok else 'MISSED'}]"
        print(f"  {metric:22s}" + "".join(f"{c:>20s}" for c in cells) + f"{verdict:>14s}")


def _drain(jobs: queue.SimpleQueue[str]) -> None:
    while True:
        try:
            backend_name = jobs.get_nowait()
        except queue.Empty:
            return
        validate_once(backend_name)


def throughput(backend_name: str, total: int) -> None:
    print(f"{backend_name}: throughput, cold validations ({os.cpu_count()} CPUs)")
    for workers in (1, 2, 4):
        jobs: queue.SimpleQueue[str] = queue.SimpleQueue()
        for _ in range(total):
            jobs.put(backend_name)
        threads = [threading.Thread(target=_drain, args=(jobs,)) for _ in range(workers)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        print(f"  N={workers}: {total / elapsed:6.1f} validations/s "
              f"({elapsed * 1000 / total:6.1f} ms wall per validation)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs (a smoke test)")
    parser.add_argument("--backends", default=",".join(BACKEND_NAMES),
                        help="comma-separated, default: every backend that works here")
    args = parser.parse_args()
    runs = 8 if args.quick else 40
    wanted = [b for b in args.backends.split(",") if b in available_backends()]
    print(f"python {sys.version.split()[0]} at {interpreter().executable}; "
          f"backends here: {', '.join(available_backends())}; "
          f"{'root (sandboxes get their own uids)' if _uids.running_as_root() else 'not root'}; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    floors(runs)
    results = {name: measure(name, runs) for name in wanted}
    for name in wanted:
        print(f"{name}:")
        for metric in METRICS:
            line(metric, results[name][metric], TARGETS.get(metric))
    table(results)
    for name in wanted:
        throughput(name, 8 if args.quick else 40)


if __name__ == "__main__":
    main()
