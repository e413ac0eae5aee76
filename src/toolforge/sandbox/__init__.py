"""Isolated execution of candidate tools and their tests (DESIGN.md §5, layers 2 and 3).

Modules:
- `limits`: the resource limits of one sandboxed process.
- `backends`: how a sandbox starts and dies (`bwrap`, the default; `rlimit`, the
  non-isolating fallback) and how one is chosen.
- `process`: `ToolProcess`, one sandboxed process hosting one tool (JSON in, JSON out).
- `harness`: `run_tests`, a tool against test suites, with a verdict neither the tool nor
  the test file can forge; `testfile` checks and compiles a test file, `verdict` judges
  each test's checks.
- `pool`: `WarmPool`, sandboxes started ahead of time, each used for one job only.
- `guest/`: the stdlib-only scripts that run inside the sandbox (never imported here, but
  for `guest/judge.py`: the parent judges assertions with the very code the runner uses).

How the pieces fit, and why:
- Two sandboxed processes per suite, each in its own sandbox: the tool host and the test
  runner. The runner's `tool` module is a proxy: calls go over a private pipe to this
  process, which relays them to the tool host; results come back as JSON text and are
  decoded afresh, so no object of the tool's making ever reaches a comparison. This
  process compiled the test file, judges every assertion's operands itself and decides
  each test; silence is an error, and the runner's own word is never taken.
- Under root, every sandbox runs as its own random unprivileged uid (RLIMIT_NPROC does not
  bind root, even inside a user namespace). bwrap gets a user namespace made once per
  process that maps that uid range to itself (and host root to 1 so bwrap can reach an
  interpreter under /root during set-up; the sandboxed process has no capabilities).
- Death: bwrap sandboxes are killed through a pidfd on their pid-namespace init (the
  kernel then kills everything inside, double-forked daemons included); rlimit sandboxes
  by process group plus kill(-1) from their uid. Both also die with the parent: guests
  read their pipe on a thread of their own and kill everything of theirs at end of file.
"""

from toolforge.sandbox.backends import (
    BackendUnavailableError,
    SandboxBackend,
    available_backends,
    select_backend,
)
from toolforge.sandbox.harness import TestOutcome, TestRunReport, run_tests
from toolforge.sandbox.limits import Limits
from toolforge.sandbox.pool import WarmPool
from toolforge.sandbox.process import CallResult, ToolProcess, call_tool

__all__ = [
    "BackendUnavailableError",
    "CallResult",
    "Limits",
    "SandboxBackend",
    "TestOutcome",
    "TestRunReport",
    "ToolProcess",
    "WarmPool",
    "available_backends",
    "call_tool",
    "run_tests",
    "select_backend",
]
