"""Checks on candidate code: the static checker and the property-based attack.

The fuzz names are loaded on first use: they pull in hypothesis and jsonschema, which the
static checker (run on every save) does not need.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from toolforge.safety.checker import RULES, Finding, check_source
from toolforge.safety.policy import DEFAULT_ALLOWED_IMPORTS, SafetyPolicy

if TYPE_CHECKING:
    from toolforge.safety.fuzz import (
        CallOutcome,
        Counterexample,
        FuzzReport,
        fuzz_tool,
        in_process_call,
        strategy_for_schema,
    )

_FUZZ_NAMES = frozenset(
    {
        "CallOutcome",
        "Counterexample",
        "FuzzReport",
        "fuzz_tool",
        "in_process_call",
        "strategy_for_schema",
    }
)


def __getattr__(name: str) -> Any:
    if name in _FUZZ_NAMES:
        from toolforge.safety import fuzz

        return getattr(fuzz, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_ALLOWED_IMPORTS",
    "RULES",
    "CallOutcome",
    "Counterexample",
    "Finding",
    "FuzzReport",
    "SafetyPolicy",
    "check_source",
    "fuzz_tool",
    "in_process_call",
    "strategy_for_schema",
]
