"""Tool names: the one place that decides what may become a directory name.

Names are ASCII snake_case identifiers. Anything else (path separators, dots, unicode
look-alikes, empty, over-long, Python keywords) is refused before it reaches the filesystem.
"""

from __future__ import annotations

import keyword
import re

from toolforge.errors import InvalidNameError, InvalidVersionError

MAX_NAME_LENGTH = 64
MAX_VERSION_DIGITS = 9  # a billion versions; more is a typo or an attack, not a version
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


def version_number(text: object) -> int | None:
    """The number in a version ("3" or "v3"), None when it is not one. ASCII digits only:
    `str.isdigit` admits "①" and other scripts' digits, which int() then refuses or reads."""
    if isinstance(text, bool):
        return None
    if isinstance(text, int):
        return text if 0 < text < 10**MAX_VERSION_DIGITS else None
    if not isinstance(text, str):
        return None
    digits = text.strip().lower().removeprefix("v")
    if not (digits.isascii() and digits.isdigit()) or len(digits) > MAX_VERSION_DIGITS:
        return None
    number = int(digits)
    return number if number > 0 else None


def validate_version(text: object) -> int:
    """`version_number`, or InvalidVersionError naming what was given."""
    number = version_number(text)
    if number is None:
        shown = ascii(text) if len(str(text)) <= 40 else ascii(str(text)[:40]) + "..."
        raise InvalidVersionError(
            f"bad version {shown}",
            hint="a version is a number from 1 (3 or v3), or 'active' or 'candidate'")
    return number
