"""Benchmark: sandboxed validation of a small tool with 5 tests.

Run: .venv/bin/python bench/validation.py [--quick]

Prints p50/p95 wall time per backend, cold (fresh sandboxes) and warm (sandboxes started
ahead by a WarmPool), throughput with N concurrent validations, the latency of a warm tool
call, and the floors (bare interpreter, bare bwrap + interpreter), with targets beside them.
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

from toolforge.sandbox import _uids
from toolforge.sandbox.backends import BwrapBackend, available_backends, interpreter, select_backend
from toolforge.sandbox.harness import run_tests
from toolforge.sandbox.pool import WarmPool
from toolforge.sandbox.process import ToolProcess

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

TARGETS = {"cold": 25.0, "warm": 10.0, "call": 5.0}


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


def latency(backend_name: str, runs: int) -> None:
    print(f"{backend_name}: validate 1 tool x 5 tests (2 sandboxes: tool host + test runner)")
    line("cold", timed(lambda: validate_once(backend_name), runs), TARGETS["cold"])
    with WarmPool(select_backend(backend_name), size=1) as pool:
        def warm() -> None:
            pool.wait_ready()
            time.sleep(0.03)  # let the background start-up finish: measure the job alone
            started = time.perf_counter()
            validate_once(backend_name, pool)
            samples.append((time.perf_counter() - started) * 1000)

        samples: list[float] = []
        for _ in range(runs + 2):
            warm()
        line("warm (WarmPool, 1 spare per role)", samples[2:], TARGETS["warm"])
    with ToolProcess(TOOL, "slugify", backend=select_backend(backend_name)) as process:
        line("tool call, warm process", timed(
            lambda: process.call({"text": "Hello World"}), runs * 5), TARGETS["call"])


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
    args = parser.parse_args()
    runs = 8 if args.quick else 40
    print(f"python {sys.version.split()[0]} at {interpreter().executable}; "
          f"backends here: {', '.join(available_backends())}; "
          f"{'root (sandboxes get their own uids)' if _uids.running_as_root() else 'not root'}")
    floors(runs)
    for name in available_backends():
        latency(name, runs)
        throughput(name, 8 if args.quick else 40)


if __name__ == "__main__":
    main()
