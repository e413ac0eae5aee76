"""Strings that match a regular expression, for parameters with a `pattern` constraint.

Walks the parsed pattern (`re._parser`, the stdlib's own parser, stable from 3.11 on) and
picks one way through it with a seeded `random.Random`: literals, classes, alternations,
groups and back-references, with repeats kept short. Look-arounds and conditionals are not
generated; a string that comes out wrong is simply retried, and every result is checked with
`re.search` (JSON Schema's `pattern` is unanchored), so nothing that fails the pattern leaves.
"""

from __future__ import annotations

import random
import re
from re import _constants as C  # type: ignore[attr-defined]
from re import _parser as P  # type: ignore[attr-defined]
from typing import Any

# Characters a class or `.` draws from: printable ASCII first, a little unicode.
_PRINTABLE = [chr(c) for c in range(32, 127)]
_UNICODE = ["é", "ß", "Ж", "中", "😀", "\u00a0"]
_DIGITS = [str(d) for d in range(10)]
_WORD = [*_DIGITS, "_", *[chr(c) for c in range(65, 91)], *[chr(c) for c in range(97, 123)]]
_SPACE = [" ", "\t"]
_CATEGORIES: dict[Any, list[str]] = {
    C.CATEGORY_DIGIT: _DIGITS,
    C.CATEGORY_WORD: _WORD,
    C.CATEGORY_SPACE: _SPACE,
    C.CATEGORY_NOT_DIGIT: [c for c in _PRINTABLE if not c.isdigit()],
    C.CATEGORY_NOT_WORD: [c for c in _PRINTABLE if not (c.isalnum() or c == "_")],
    C.CATEGORY_NOT_SPACE: [c for c in _PRINTABLE if c != " "],
}
_MAX_EXTRA_REPEATS = 3


class _CannotGenerate(Exception):
    pass


def matching_strings(pattern: str, rng: random.Random, count: int,
                     tries: int = 40) -> list[str]:
    """Up to `count` distinct strings that `re.search(pattern, s)` accepts."""
    try:
        compiled = re.compile(pattern)
        tree = P.parse(pattern)
    except (re.error, RecursionError, ValueError):
        return []
    found: dict[str, None] = {}
    for _ in range(max(count * 4, tries)):
        if len(found) >= count:
            break
        try:
            text = _walk(tree, rng, {})
        except (_CannotGenerate, RecursionError):
            continue
        if compiled.search(text) is not None:
            found.setdefault(text, None)
    return list(found)


def _walk(items: Any, rng: random.Random, groups: dict[int, str]) -> str:
    out: list[str] = []
    for op, arg in items:
        out.append(_one(op, arg, rng, groups))
    return "".join(out)


def _one(op: Any, arg: Any, rng: random.Random, groups: dict[int, str]) -> str:
    if op is C.LITERAL:
        return chr(arg)
    if op is C.NOT_LITERAL:
        return rng.choice([c for c in _PRINTABLE if ord(c) != arg])
    if op is C.ANY:
        return rng.choice(_PRINTABLE + _UNICODE)
    if op is C.IN:
        return _in(arg, rng)
    if op is C.BRANCH:
        return _walk(rng.choice(arg[1]), rng, groups)
    if op is C.SUBPATTERN:
        group, _add, _del, body = arg
        text = _walk(body, rng, groups)
        if group is not None:
            groups[group] = text
        return text
    if op in (C.MAX_REPEAT, C.MIN_REPEAT, getattr(C, "POSSESSIVE_REPEAT", C.MAX_REPEAT)):
        low, high, body = arg
        top = low + _MAX_EXTRA_REPEATS if high is C.MAXREPEAT else min(high,
                                                                        low + _MAX_EXTRA_REPEATS)
        return "".join(_walk(body, rng, groups) for _ in range(rng.randint(low, top)))
    if op is C.AT:
        return ""
    if op is C.GROUPREF:
        return groups.get(arg, "")
    if op is getattr(C, "ATOMIC_GROUP", None):
        return _walk(arg, rng, groups)
    raise _CannotGenerate(str(op))


def _in(items: Any, rng: random.Random) -> str:
    negate = False
    choices: list[str] = []
    for op, arg in items:
        if op is C.NEGATE:
            negate = True
        elif op is C.LITERAL:
            choices.append(chr(arg))
        elif op is C.RANGE:
            low, high = arg
            choices.extend(chr(c) for c in range(low, min(high, low + 200) + 1))
        elif op is C.CATEGORY:
            choices.extend(_CATEGORIES.get(arg, []))
        else:
            raise _CannotGenerate(str(op))
    if negate:
        excluded = set(choices)
        choices = [c for c in _PRINTABLE if c not in excluded]
    if not choices:
        raise _CannotGenerate("empty class")
    return rng.choice(choices)


__all__ = ["matching_strings"]
