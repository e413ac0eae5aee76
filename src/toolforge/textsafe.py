"""Text from untrusted sources made safe to store and send: valid UTF-8, always.

A tool (or a test, or a model) can produce strings with lone surrogates ("\\ud800"): Python
and JSON escapes carry them, but UTF-8 cannot, so a report, a database row or a response
holding one fails to serialise. Text (output, messages, tracebacks) is shown with the
surrogate escaped (`\\ud800`); values are refused where they are produced instead
(a tool result with one is not plain JSON).
"""

from __future__ import annotations

from typing import Any

_MAX_DEPTH = 40


def encodable(value: Any, depth: int = 0) -> Any:
    """`value` with every string made encodable as UTF-8 (lists and dicts walked)."""
    if isinstance(value, str):
        if value.isascii():
            return value
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "backslashreplace").decode("utf-8")
        return value
    if depth > _MAX_DEPTH or not isinstance(value, dict | list | tuple):
        return value
    if isinstance(value, dict):
        return {encodable(k, depth + 1): encodable(v, depth + 1) for k, v in value.items()}
    return [encodable(v, depth + 1) for v in value]
