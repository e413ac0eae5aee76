"""terminal.py: which characters are escaped, and that escaping keeps meaning."""

from __future__ import annotations

import json
import re
import sys
import unicodedata

from toolforge.terminal import _FORMAT, json_printable, printable, printable_line


def test_every_format_character_is_escaped() -> None:
    # The hand-written table of Unicode's Cf category must cover Python's own tables.
    pattern = re.compile(f"[{_FORMAT}]")
    missing = [hex(c) for c in range(sys.maxunicode + 1)
               if unicodedata.category(chr(c)) == "Cf" and not pattern.match(chr(c))]
    assert missing == []


def test_controls_become_visible_escapes() -> None:
    assert printable("a\x1b[31mb\x9b\x07\r\n\tc\u202e\x7f") == \
        "a\\x1b[31mb\\x9b\\x07\\r\n\tc\\u202e\\x7f"
    assert printable_line("one\ntwo\tthree") == "one\\ntwo\\tthree"
    assert printable("plain text, ünïcode and 日本語 stay") == "plain text, ünïcode and 日本語 stay"
    # in a string literal the escape means the same character: code reads as it runs
    assert eval(f"'{printable(chr(27))}'") == chr(27)


def test_json_stays_the_same_value() -> None:
    value = {"x": "\x1b\x9b\u202e\ud800\U000e0001 é \u2028"}
    text = json_printable(json.dumps(value, ensure_ascii=False))
    assert json.loads(text) == value
    assert not re.search("[\x1b\x9b\u202e\u2028]", text)
    text.encode("utf-8")  # a lone surrogate no longer breaks the output
