"""Test support shipped with toolforge: the scripted model (an honest stand-in for an LLM).

Names are loaded on first use, so ``python -m toolforge.testing.scripted_model`` does not
find its own module already imported by this package (runpy warns about that).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from toolforge.testing.scripted_model import (
        SCRIPTED_LITELLM_MODEL,
        SCRIPTED_MODEL_ID,
        Match,
        Respond,
        Rule,
        Script,
        ScriptedModelServer,
        embed_text,
    )

__all__ = [
    "SCRIPTED_LITELLM_MODEL",
    "SCRIPTED_MODEL_ID",
    "Match",
    "Respond",
    "Rule",
    "Script",
    "ScriptedModelServer",
    "embed_text",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from toolforge.testing import scripted_model

        return getattr(scripted_model, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
