"""Text from tools never drives a terminal (issue 9, item 7): the audit's own cases.

A tool's description, its exception message and printed output, a test's output and
message, and a file name handed to `add` carry CSI, OSC (a hyperlink, a window title),
one-byte C1 CSI, carriage return, BEL, line separator and zero-width characters. Every
command that shows them, run as a user runs it (a process, its real stdout and stderr),
prints them escaped: no raw control character reaches the terminal.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from conftest import PYTHON, python_env

ESC = "\x1b"
HOSTILE = (f"{ESC}[2J{ESC}[H{ESC}[1;32mvalidation: passed{ESC}[0m "
           f"{ESC}]8;;http://evil.invalid{ESC}\\link{ESC}]8;;{ESC}\\ {ESC}]0;title\x07"
           "\x9b31m\r\u2028\u200b")
# What a terminal acts on: C0 controls but newline and tab, DEL, C1, line/paragraph
# separators and zero-width/format characters.
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u200b-\u200f\u202a-\u202e]")
# Raw in the docstring, all but the line separator: the static check refuses that in source
# (TF004); through repr() it still reaches the exception and the output below.
IN_SOURCE = HOSTILE.replace("\u2028", "")
TOOL = f'''def shout(text: str) -> str:
    """Upper-case a text. {IN_SOURCE}"""
    if text == "boom":
        raise ValueError({HOSTILE!r})
    print({HOSTILE!r})
    return text.upper()
'''
TESTS = f'''from tool import shout


def test_upper():
    print({HOSTILE!r})
    assert shout("a") == "A"


def test_wrong():
    assert shout("boom") == "BOOM", {HOSTILE!r}
'''


def toolforge(*args: str | Path) -> str:
    result = subprocess.run([PYTHON, "-m", "toolforge", *map(str, args)], capture_output=True,
                            text=True, env={**python_env(), "TOOLFORGE_NO_DAEMON": "1"},
                            timeout=300)
    assert "Traceback (most recent call last)" not in result.stderr or "ValueError" in (
        result.stderr), result.stderr
    return result.stdout + result.stderr


@pytest.fixture
def hostile_library(tmp_path: Path) -> Path:
    library = tmp_path / "lib"
    toolforge("init", library)
    tool = tmp_path / "shout"
    tool.mkdir()
    (tool / "tool.py").write_text(TOOL)
    (tool / "test_tool.py").write_text(TESTS)
    out = toolforge("add", tool, "-L", library)
    assert "shout" in out, out
    (tool / "test_tool.py").write_text(TESTS.split("\n\n\ndef test_wrong")[0] + "\n")
    toolforge("reject", "shout", "-L", library)
    toolforge("add", tool, "-L", library)
    toolforge("promote", "shout", "-L", library)
    return library


def test_no_command_lets_tool_text_drive_the_terminal(hostile_library: Path,
                                                      tmp_path: Path) -> None:
    lib = str(hostile_library)
    shown = {
        "validate": toolforge("validate", "shout", "-L", lib),
        "show": toolforge("show", "shout", "-L", lib),
        "show --json": toolforge("show", "shout", "-L", lib, "--json"),
        "list": toolforge("list", "-L", lib, "--status", "all"),
        "history": toolforge("history", "shout", "-L", lib),
        "call": toolforge("call", "shout", "--args", '{"text": "a"}', "-L", lib),
        "call error": toolforge("call", "shout", "--args", '{"text": "boom"}', "-L", lib),
        "call --json": toolforge("call", "shout", "--args", '{"text": "boom"}', "-L", lib,
                                 "--json"),
        "export": toolforge("export", "-L", lib),
    }
    assert "validation: passed" in shown["show"]  # the text is there, escaped
    assert "ValueError" in shown["call error"] and "\\x1b[2J" in shown["call error"]
    for name, text in shown.items():
        raw = RAW.findall(text)
        assert not raw, (name, raw, text[:2000])


def test_a_hostile_file_name_is_shown_escaped(tmp_path: Path) -> None:
    library = tmp_path / "lib"
    toolforge("init", library)
    hostile = tmp_path / f"tool{ESC}[2J{ESC}]0;title\x07\x9b1m"
    hostile.mkdir()
    (hostile / "tool.py").symlink_to("/etc/hostname")
    text = toolforge("add", hostile, "-L", library)
    assert "symbolic link" in text and "\\x1b[2J" in text, text
    assert not RAW.findall(text), text
