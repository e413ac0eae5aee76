"""LLM access: per-role model config, the litellm client, usage accounting, output parsing.

Importing this package never imports litellm (it costs seconds); only
:meth:`LLMClient.complete` / :meth:`LLMClient.embed` do, on their first call.
"""

from toolforge.llm.client import Completion, LLMClient, LLMError, ToolCallRequest
from toolforge.llm.config import (
    ROLE_ENV,
    ROLES,
    LLMSettings,
    ModelConfig,
    Role,
    RoleSettings,
    config_hint,
    load_llm_settings,
)
from toolforge.llm.parsing import ParseError, detect_refusal, extract_code, extract_json
from toolforge.llm.usage import CallRecord, UsageLedger, UsageTotals

__all__ = [
    "ROLES",
    "ROLE_ENV",
    "CallRecord",
    "Completion",
    "LLMClient",
    "LLMError",
    "LLMSettings",
    "ModelConfig",
    "ParseError",
    "Role",
    "RoleSettings",
    "ToolCallRequest",
    "UsageLedger",
    "UsageTotals",
    "config_hint",
    "detect_refusal",
    "extract_code",
    "extract_json",
    "load_llm_settings",
]
