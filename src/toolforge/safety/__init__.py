"""Checks on candidate code: the static checker and the property attack.

The attack's names are loaded on first use: they pull in jsonschema and pydantic models the
static checker (run on every save) does not need.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from toolforge.safety.checker import RULES, Finding, check_source
from toolforge.safety.policy import DEFAULT_ALLOWED_IMPORTS, SafetyPolicy

if TYPE_CHECKING:
    from toolforge.safety.fuzz import (
        AttackBudget,
        AttackReport,
        CallOutcome,
        InProcessTarget,
        attack,
    )

_FUZZ_NAMES = frozenset({"AttackBudget", "AttackReport", "CallOutcome", "InProcessTarget",
                         "attack"})


def __getattr__(name: str) -> Any:
    if name in _FUZZ_NAMES:
        from toolforge.safety import fuzz

        return getattr(fuzz, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_ALLOWED_IMPORTS",
    "RULES",
    "AttackBudget",
    "AttackReport",
    "CallOutcome",
    "Finding",
    "InProcessTarget",
    "SafetyPolicy",
    "attack",
    "check_source",
]
