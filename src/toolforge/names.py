"""Tool names: the one place that decides what may become a directory name.

Names are ASCII snake_case identifiers. Anything else (path separators, dots, unicode
look-alikes, empty, over-long, Python keywords) is refused before it reaches the filesystem.
"""

from __future__ import annotations

import keyword
import re

from toolforge.errors import InvalidNameError

MAX_NAME_LENGTH = 64
_NAME_RE = re.compile(r"[a-z][a-z0-9_]*\Z")
_RESERVED = {"tool", "test_tool", "toolforge", "tools", "candidates"}


def validate_tool_name(name: object) -> str:
    """Return `name` if it is a valid tool name, else raise InvalidNameError."""
    if not isinstance(name, str) or not name:
        raise InvalidNameError(
            "tool name is empty", hint="use a snake_case identifier such as parse_acme_log"
        )
    shown = ascii(name) if len(name) <= 80 else ascii(name[:80]) + "..."
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidNameError(
            f"tool name {shown} is longer than {MAX_NAME_LENGTH} characters",
            hint="pick a shorter snake_case name",
        )
    if not name.isascii() or not _NAME_RE.match(name):
        raise InvalidNameError(
            f"invalid tool name {shown}",
            hint="names are ASCII snake_case: a lowercase letter, then letters, digits or _",
        )
    if keyword.iskeyword(name) or name in _RESERVED:
        raise InvalidNameError(f"tool name {shown} is reserved", hint="pick another name")
    return name


def is_valid_tool_name(name: object) -> bool:
    try:
        validate_tool_name(name)
    except InvalidNameError:
        return False
    return True
