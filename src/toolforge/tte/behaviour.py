"""Behaviour of tools on shared inputs, observed in the sandbox.

Two tools behave the same on a sample when both return equal JSON values (numbers within a
relative 1e-6, so `a * b / c` and `a / c * b` agree), or both refuse it (raise). Agreement
is the share of samples where they behave the same; it only counts as evidence when at
least one sample made both of them return a value (two tools that reject every input tell
us nothing). These probe calls are not usage: they never count as hits.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from toolforge.sandbox.limits import Limits

REL_TOL = 1e-6
ABS_TOL = 1e-9
PROBE_WALL_S = 5.0


@dataclass(frozen=True)
class Outcome:
    ok: bool
    value: Any = None
    error: str | None = None


@dataclass(frozen=True)
class Agreement:
    share: float  # samples behaving the same / samples compared
    compared: int
    both_ok: int

    @property
    def evidence(self) -> bool:
        return self.compared > 0 and self.both_ok > 0

    @property
    def identical(self) -> bool:
        """Equal outputs on every shared sample: the same behaviour."""
        return self.evidence and self.share == 1.0


def same_value(a: Any, b: Any, depth: int = 0) -> bool:
    if depth > 50:
        return False
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
            return True
        return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_value(x, y, depth + 1)
                                        for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_value(a[k], b[k], depth + 1) for k in a)
    return type(a) is type(b) and a == b


def agreement(a: list[Outcome], b: list[Outcome]) -> Agreement:
    pairs = list(zip(a, b, strict=False))
    if not pairs:
        return Agreement(0.0, 0, 0)
    same = both_ok = 0
    for x, y in pairs:
        if x.ok and y.ok:
            both_ok += 1
            same += same_value(x.value, y.value)
        elif not x.ok and not y.ok:
            same += 1
    return Agreement(same / len(pairs), len(pairs), both_ok)


class Prober:
    """Runs tools on sample inputs in the sandbox, one warm process per tool for the whole
    comparison, and remembers outputs (a tool compared with several others runs once)."""

    def __init__(self, limits: Limits, backend: str | None) -> None:
        self.limits = limits.model_copy(
            update={"wall_time_s": min(limits.wall_time_s, PROBE_WALL_S)})
        self.backend = backend
        self._memo: dict[tuple[str, str], list[Outcome]] = {}
        self._open: list[Any] = []

    def outputs(self, code: str, entrypoint: str, samples: list[list[Any]]) -> list[Outcome]:
        key = (_digest(code, entrypoint), _digest(json.dumps(samples, default=str)))
        found = self._memo.get(key)
        if found is not None:
            return found
        from toolforge.sandbox.backends import select_backend
        from toolforge.sandbox.process import ToolProcess

        results: list[Outcome] = []
        with ToolProcess(code, entrypoint, limits=self.limits,
                         backend=select_backend(self.backend)) as proc:
            for sample in samples:
                result = proc.call_raw(list(sample), {})
                if result.ok:
                    results.append(Outcome(True, result.value))
                else:
                    results.append(Outcome(False, None, result.error_type or result.limit_hit))
        self._memo[key] = results
        return results

    def caller(self, tools: dict[str, tuple[str, str]]) -> Callable[[str, dict[str, Any]],
                                                                  Outcome]:
        """A `call(name, kwargs)` over (code, entrypoint) pairs, one warm process each
        (stopped by `close()`)."""
        from toolforge.sandbox.backends import select_backend
        from toolforge.sandbox.process import ToolProcess

        procs: dict[str, Any] = {}

        def call(name: str, kwargs: dict[str, Any]) -> Outcome:
            if name not in tools:
                return Outcome(False, None, f"unknown tool {name}")
            proc = procs.get(name)
            if proc is None:
                code, entrypoint = tools[name]
                proc = ToolProcess(code, entrypoint, limits=self.limits,
                                   backend=select_backend(self.backend))
                procs[name] = proc
                self._open.append(proc)
            result = proc.call(kwargs)
            if result.ok:
                return Outcome(True, result.value)
            return Outcome(False, None, result.error_type or result.limit_hit)

        return call

    def close(self) -> None:
        procs, self._open = self._open, []
        for proc in procs:
            proc.close()


def _digest(*parts: str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.hexdigest()
