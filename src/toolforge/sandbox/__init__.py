"""Isolated execution of candidate tools and their tests (DESIGN.md §5, layers 2 and 3).

Modules:
- `limits`: the resource limits of one sandbox.
- `backends`: how a sandbox starts and dies (`bwrap`, the default; `landlock`, isolation
  without user namespaces; `rlimit`, the non-isolating fallback) and how one is chosen.
- `landlock`, `seccomp`, `cgroup`, `reaper`, `spawning`: the landlock backend, the syscall
  filter, per-sandbox memory/process bounds, the reaper that outlives a dead parent, and
  what every backend does to start a guest.
- `access`: what a library's policy opens in the sandbox (third-party imports, network).
- `diagnosis`: `diagnose()`, what works on this machine and which backend "auto" picks (for doctor).
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
  kernel then kills everything inside, double-forked daemons included); landlock ones by
  their process group (setsid/setpgid are refused); all of them also through their cgroup
  (`cgroup.kill`) or their own uid where they have one. They die with the parent too:
  guests read their pipe on a thread of their own and kill everything of theirs at end of
  file, and the reaper kills what a stopped guest cannot.

Attributes are imported on first use, so `toolforge.sandbox.diagnose()` stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from toolforge.sandbox.backends import (
        BackendUnavailableError,
        SandboxBackend,
        available_backends,
        select_backend,
    )
    from toolforge.sandbox.diagnosis import diagnose
    from toolforge.sandbox.harness import TestOutcome, TestRunReport, run_tests
    from toolforge.sandbox.limits import Limits
    from toolforge.sandbox.pool import WarmPool
    from toolforge.sandbox.process import CallResult, ToolProcess, call_tool

_WHERE = {
    "BackendUnavailableError": "backends", "SandboxBackend": "backends",
    "available_backends": "backends", "select_backend": "backends",
    "diagnose": "diagnosis",
    "TestOutcome": "harness", "TestRunReport": "harness", "run_tests": "harness",
    "Limits": "limits", "WarmPool": "pool",
    "CallResult": "process", "ToolProcess": "process", "call_tool": "process",
}  # fmt: skip

__all__ = [
    "BackendUnavailableError", "CallResult", "Limits", "SandboxBackend", "TestOutcome",
    "TestRunReport", "ToolProcess", "WarmPool", "available_backends", "call_tool", "diagnose",
    "run_tests", "select_backend",
]  # fmt: skip


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'toolforge.sandbox' has no attribute {name!r}")
    return getattr(importlib.import_module(f"toolforge.sandbox.{module}"), name)
