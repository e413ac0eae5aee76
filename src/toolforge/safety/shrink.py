"""Shrinking a failing input to a small one that fails the same way.

Greedy, like hypothesis's shrinker in spirit but without its engine: try simpler versions of
one argument at a time (drop an optional argument; empty, halve or drop pieces of strings,
lists and dicts; zero, one, round or halve numbers), keep the first that still fails the same
way, and start over from it until nothing simpler fails or the budget is spent. Every
candidate stays inside the tool's schema, and each is strictly "smaller" than the last, so
the loop always ends.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

from toolforge.safety.generate import _OMIT, FairInputs, apply, canonical

_MAX_POSITIONS = 16


def size(value: Any) -> float:
    """How big an input is: its JSON length, then its numbers' magnitudes."""
    return len(canonical(value)) + _magnitude(value) * 1e-6


def _magnitude(value: Any) -> float:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return 0.0
    if isinstance(value, int | float):
        return min(abs(float(value)), 1e300)
    if isinstance(value, list):
        return sum(_magnitude(v) for v in value)
    if isinstance(value, dict):
        return sum(_magnitude(v) for v in value.values())
    return 0.0


def shrink(args: dict[str, Any], fails: Callable[[dict[str, Any]], bool], gen: FairInputs,
           *, budget: Callable[[], bool]) -> dict[str, Any]:
    """The smallest input found that `fails` like `args` (which must fail).

    `budget()` says whether another try is allowed (calls and time are the caller's)."""
    current = args
    improved = True
    while improved and budget():
        improved = False
        here = size(current)
        for candidate in candidates(current, gen):
            if not budget():
                break
            if size(candidate) >= here or not gen.fits_args(candidate):
                continue
            if fails(candidate):
                current, improved = candidate, True
                break
    return current


def candidates(args: dict[str, Any], gen: FairInputs) -> Iterator[dict[str, Any]]:
    for name in list(args):
        if name not in gen.required:
            yield apply(args, name, _OMIT)
    for name, value in list(args.items()):
        for smaller in _smaller(value):
            yield apply(args, name, smaller)


def _smaller(value: Any) -> Iterator[Any]:
    if isinstance(value, bool):
        if value:
            yield False
        return
    if value is None:
        return
    if isinstance(value, int):
        for whole in (0, 1, -1, value // 2, value - (1 if value > 0 else -1), abs(value)):
            if abs(whole) < abs(value) or (whole == abs(value) and value < 0):
                yield whole
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            return
        for number in (0.0, 1.0, float(round(value)), value / 2, round(value, 1),
                       float(int(value)), abs(value)):
            if number != value:
                yield number
        if value.is_integer() and abs(value) < 2**53:
            yield int(value)
        return
    if isinstance(value, str):
        if not value:
            return
        yield ""
        half = len(value) // 2
        if half:
            yield value[:half]
            yield value[half:]
        for i in range(min(len(value), _MAX_POSITIONS)):
            yield value[:i] + value[i + 1 :]
        simple = "".join(c if c.isascii() and c.isprintable() else "a" for c in value)
        if simple != value:
            yield simple
        return
    if isinstance(value, list):
        if not value:
            return
        yield []
        half = len(value) // 2
        if half:
            yield value[:half]
            yield value[half:]
        for i in range(min(len(value), _MAX_POSITIONS)):
            yield value[:i] + value[i + 1 :]
        for i in range(min(len(value), _MAX_POSITIONS)):
            for item in _smaller(value[i]):
                yield [*value[:i], item, *value[i + 1 :]]
        return
    if isinstance(value, dict):
        if not value:
            return
        yield {}
        for key in list(value)[:_MAX_POSITIONS]:
            yield {k: v for k, v in value.items() if k != key}
        for key in list(value)[:_MAX_POSITIONS]:
            for item in _smaller(value[key]):
                yield {**value, key: item}


__all__ = ["candidates", "shrink", "size"]
