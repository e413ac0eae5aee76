"""Assertions that cannot fail, found by running the tests against other answers.

A check is worth something only if some behaviour of the tool makes it fail. Static rules
catch the obvious tautologies (`x == x`, `f() or True`); no list of shapes catches them all
(`isinstance(f(x) == 4, bool)`, `any([f(x) == 4, True])`, `str(f(x) == 4)`, ...). So the
parent asks the question directly: after the real run, it runs every test again, a few
times, answering each tool call with a different value of the same kind (and once with
`None`) instead of the tool's own answer, and replies "held" to every check so the test goes
on to its later checks. An assert that held in the real run and held in every probe, whatever
the tool answered, cannot tell a right tool from a wrong one: its test fails.

Only evaluations that came out False count as evidence that a check can fail. An operand that
raised, or a check the probe never reached (the test stopped early on an odd value), proves
nothing, so a test cannot dodge the probe by crashing on unexpected answers.

The probe changes only what the tool says, never what the runner or the judge does: the
test's process cannot tell a probe from a run except by the values, and a test that
detects "wrong" values and then fails a check is a check that can fail.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

# Probe k answers with perturb(answer, k): 0 grows or shifts, 1 empties or negates,
# 2 is None (or a string for None), 3 rewrites each element.
PROBES = 4
_TEXT_MARK = "X-?"


def perturb(value: Any, k: int, salt: int = 0) -> Any:
    """A JSON value of the same kind as `value` (probe 2: of another kind) that differs
    from it, for probe `k`. `salt` tells calls apart: two different calls that answered
    the same get different answers, so a relation between them (`f(a, b) == f(b, a)`,
    "the letter and the name of a level count the same") can still fail; the same call
    gets the same answer, so `f(x) == f(x)` cannot."""
    if k == 2:
        return "tf-probe" if value is None else None
    if value is None:
        return (salt, f"tf-probe{salt}" if salt else "", None, [salt])[k]
    if isinstance(value, bool):
        return value if (salt + k) % 2 else not value
    if isinstance(value, int):
        return (value + 1 + salt, -value - 7 - salt, None, value * 1000 + 3 + salt)[k]
    if isinstance(value, float):
        if not math.isfinite(value):
            return 0.5 + salt
        return (value + 1.5 + salt, -value - 7.25 - salt, None, value * 1e6 + 0.5 + salt)[k]
    if isinstance(value, str):
        tag = str(salt) if salt else ""
        return (value + _TEXT_MARK + tag, f"tf-probe{tag}" if value or salt else "tf-probe",
                None, value[::-1].swapcase() + " " + tag)[k]
    if isinstance(value, list):
        if k == 1:
            return [salt] if salt else []
        items = [perturb(item, k, salt) for item in value]
        if k == 0:
            return [*items, perturb(value[0], 0, salt) if value else salt]
        return items or [None, salt]
    if isinstance(value, dict):
        if k == 1:
            return {"tf_probe": salt} if salt else {}
        fields = {key: perturb(item, k, salt) for key, item in value.items()}
        if k == 0:
            return {**fields, "tf_probe": salt}
        return fields or {"tf_probe": [None, salt]}
    return None


def perturb_error(reply: dict[str, Any], k: int, salt: int = 0) -> dict[str, Any]:
    """A tool exception of the same class whose message and arguments differ: checks on
    what an exception says must be able to fail too. (A limit hit stays as it is.)"""
    if reply.get("limit_hit"):
        return reply
    same_kind = 0 if k == 2 else k  # keep the arguments' types: the class must still build
    args = reply.get("error_args")
    message = reply.get("error_message")
    return {**reply,
            "error_message": perturb(message, same_kind, salt) if isinstance(message, str)
            else message,
            "error_args": [perturb(a, same_kind, salt) for a in args] if isinstance(args, list)
            else args}


_KEYS = json.JSONEncoder(sort_keys=True, allow_nan=False)  # made once, not per call


def call_key(args: Any, kwargs: Any) -> str | None:
    """The cache key of a tool call (None: not cacheable, relay it)."""
    try:
        return _KEYS.encode([args, kwargs])
    except (TypeError, ValueError, RecursionError):
        return None


@dataclass
class ProbeEvidence:
    """What the probes of one suite showed about its asserts and tests."""

    can_fail: set[int] = field(default_factory=set)  # assert sites evaluated False
    reached: set[int] = field(default_factory=set)  # assert sites evaluated (not raised)
    failing: set[str] = field(default_factory=set)  # tests some probe made fail
    finished: bool = True  # every probe ran to its end (False: out of time or broken)

    def vacuous(self, held: set[int]) -> set[int]:
        """Of the assert sites that held in a real run, those the probes reached and never
        made fail. (One no probe reached stands behind a step that failed on every other
        answer: that step is the check, and it can fail.)"""
        return (held & self.reached) - self.can_fail
