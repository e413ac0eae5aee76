"""An optional warm pool: sandboxes started ahead of time, each used for ONE job only.

A cold sandbox spends most of its start-up in bwrap (or the landlock confinement) and the
interpreter (about 15 ms here). The pool keeps a few sandboxes per role that have already
started, imported the guest code and confined themselves (cgroups, uid, Landlock, seccomp)
and are blocked reading their init frame. A job takes one (its cgroup limits are set to the
job's), sends its init (the rlimits are applied at that moment, before any untrusted code),
uses it, and kills it; a background thread starts a replacement. Nothing is ever reused
between jobs: no state, files, uid or process can leak from one job to the next. The price
is idle memory (about 10 MB per spare) and start-up CPU spent in the background instead of
on the request path.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque

from toolforge.sandbox.backends import ROLES, SandboxBackend, select_backend
from toolforge.sandbox.limits import Limits
from toolforge.sandbox.sandboxed import SandboxedProcess, kill_all

log = logging.getLogger(__name__)


class WarmPool:
    """Pre-started sandboxes for `backend`, `size` per role ("worker" and "runner").

    Spares are started with `limits`' work-dir size; a job whose limits need another size
    gets a cold sandbox instead (`take` returns None).
    """

    def __init__(self, backend: SandboxBackend | None = None, *, size: int = 2,
                 limits: Limits | None = None, settle_s: float = 0.05) -> None:
        self.backend = backend or select_backend()
        self.size = max(1, size)
        # Refill only after `settle_s` without a take: on a small machine, starting the
        # replacements while the job that just took the spares runs would slow that job.
        self.settle_s = settle_s
        self._last_take = 0.0
        self.limits = limits or Limits()
        self._spares: dict[str, deque[SandboxedProcess]] = {role: deque() for role in ROLES}
        self._lock = threading.Lock()
        self._wanted = threading.Condition(self._lock)
        self._closed = False
        self.hits = 0
        self.misses = 0
        self._thread = threading.Thread(target=self._refill, name="sandbox-warm-pool",
                                        daemon=True)
        self._thread.start()

    def __enter__(self) -> WarmPool:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def take(self, role: str, limits: Limits, backend: SandboxBackend | None = None, *,
             avoid_hash_key: int | None = None) -> SandboxedProcess | None:
        """A started sandbox for `role`, or None (the caller then starts one cold).

        None also when the caller wants another backend, or the same one with other access
        (network, third-party imports): a spare is only ever what the job asked for. With
        `avoid_hash_key`, only a spare that hashes strings with another key will do.
        """
        if limits.work_dir_bytes != self.limits.work_dir_bytes or (
            backend is not None and (backend.name, backend.access)
            != (self.backend.name, self.backend.access)
        ):
            self.misses += 1
            return None
        dead: list[SandboxedProcess] = []
        try:
            return self._take(role, limits, dead, avoid_hash_key)
        finally:
            kill_all(dead)

    def _take(self, role: str, limits: Limits, dead: list[SandboxedProcess],
              avoid_hash_key: int | None) -> SandboxedProcess | None:
        with self._lock:
            self._last_take = time.monotonic()
            spares = self._spares[role]
            for proc in list(spares):
                if avoid_hash_key is not None and proc.hash_key == avoid_hash_key:
                    continue
                spares.remove(proc)
                self._wanted.notify_all()
                if proc.alive:
                    self.hits += 1
                    proc.retarget(limits.max_output_bytes, limits.memory_mb << 20,
                                  limits.max_processes)
                    return proc
                dead.append(proc)
            self.misses += 1
            self._wanted.notify_all()
            return None

    def wait_ready(self, timeout: float = 10.0) -> bool:
        """Block until every role has its spares (for benchmarks and tests)."""
        with self._lock:
            return self._wanted.wait_for(
                lambda: all(len(s) >= self.size for s in self._spares.values()), timeout
            )

    def close(self) -> None:
        with self._lock:
            self._closed = True
            spares = [p for s in self._spares.values() for p in s]
            for s in self._spares.values():
                s.clear()
            self._wanted.notify_all()
        kill_all(spares)
        self._thread.join(timeout=5)

    def _missing(self) -> str | None:
        for role, spares in self._spares.items():
            if len(spares) < self.size:
                return role
        return None

    def _refill(self) -> None:
        while True:
            with self._lock:
                self._wanted.wait_for(lambda: self._closed or self._missing() is not None)
                quiet = self._last_take + self.settle_s - time.monotonic()
                if quiet > 0 and not self._closed:
                    self._wanted.wait(quiet)
                    continue
                if self._closed:
                    return
                role = self._missing()
            assert role is not None
            try:
                proc = self.backend.spawn(role, limits=self.limits)
                if not proc.wait_ready(time.monotonic() + 30):
                    proc.kill()
                    raise RuntimeError(f"a {role} sandbox did not boot")
            except Exception:  # keep the pool alive; jobs fall back to cold starts
                log.exception("warm pool: could not start a %s sandbox", role)
                with self._lock:
                    self._wanted.wait(1.0)
                continue
            with self._lock:
                if self._closed:
                    discard = proc
                else:
                    self._spares[role].append(proc)
                    self._wanted.notify_all()
                    discard = None
            if discard is not None:
                with contextlib.suppress(Exception):
                    discard.kill()
