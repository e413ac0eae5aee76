"""Text from tools, tests, models and files, made safe to show on a terminal.

Anything toolforge prints that it did not write itself (code, names, descriptions, test
output, exception messages, diffs, commit subjects, trajectories) may hold control
characters: an ESC/CSI/OSC sequence that recolours or redraws the screen (a forged
"validation: passed"), a carriage return that overwrites a line, a bidi override or a
zero-width character that makes `show` display other code than the file holds. Every such
character is shown as a visible Python-style escape (`\\x1b`, `\\u202e`) instead, which
in a string literal means the same character, so code reads as it runs.

Escaped: C0 controls (but tab and newline where text may span lines), DEL, C1 controls
(0x9b is a one-byte CSI), Unicode format characters (bidi controls, zero-width
characters, BOM, tags), line and paragraph separators, and lone surrogates.

Stdlib only: the thin CLI uses it on its hot path.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

# Unicode general category Cf (format), from the Unicode 15.1 tables; tests/test_terminal.py
# checks this list against unicodedata, so it cannot silently fall behind Python's tables.
_FORMAT = (
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
)
_OTHER = "\x7f-\x9f\u2028\u2029\ud800-\udfff" + _FORMAT
_MULTILINE = re.compile(f"[\x00-\x08\x0b-\x1f{_OTHER}]")
_ONE_LINE = re.compile(f"[\x00-\x1f{_OTHER}]")
# json.dumps already escapes C0 controls; these are what it leaves raw with ensure_ascii=False.
_JSON = re.compile(f"[{_OTHER}]")
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def printable(text: str) -> str:
    """`text` with every control or invisible formatting character escaped; newlines and
    tabs stay (for code, test output, messages that span lines)."""
    return _MULTILINE.sub(_escape, text)


def printable_line(text: str) -> str:
    """`text` on one line: as `printable`, and newlines and tabs escaped too (names,
    table cells, subjects)."""
    return _ONE_LINE.sub(_escape, text)


def _json_escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000  # JSON spells astral characters as a surrogate pair
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def json_printable(document: str) -> str:
    """A JSON text (from json.dumps with ensure_ascii=False) with the characters that could
    drive a terminal written as \\u escapes: the same JSON value, safe to print, and
    encodable (a lone surrogate would otherwise fail to encode as UTF-8)."""
    return _JSON.sub(_json_escape, document)


class Escaped:
    """A Rich renderable rendered with `printable` applied to every text segment (Rich's
    own control segments, e.g. cursor moves, pass untouched). Wraps whatever shows text
    from tools: the CLI's consoles apply it to everything they print, the review TUI to what
    its widgets show. Rich is imported only when it renders."""

    def __init__(self, renderable: Any) -> None:
        self.renderable = renderable

    def __rich_console__(self, console: Any, options: Any) -> Iterator[Any]:
        from rich.segment import Segment

        for seg in console.render(self.renderable, options):
            if seg.control or not seg.text or seg.text == "\n":
                yield seg
                continue
            clean = printable(seg.text)
            yield seg if clean == seg.text else Segment(clean, seg.style)

    def __rich_measure__(self, console: Any, options: Any) -> Any:
        from rich.measure import Measurement

        return Measurement.get(console, options, self.renderable)
