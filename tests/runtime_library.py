"""A library for the runtime's tests, built through the real add/validate/promote path.

- add(a, b=2) -> int
- word_stats(text) -> dict[str, int]: declares a title and read_only/idempotent hints
- trap(word) -> str: reverses a word, except two trigger words no fuzzer will guess: one
  loops forever, the other allocates 2 GB (validated tools misbehaving on one input)
- shout: a validated candidate, not promoted (for promotions during a test)

The sandbox's wall time is 2 s here so that the endless loop is answered quickly.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import copy_library as copy_library
from conftest import template_env
from toolforge.library.settings import DEFAULT_SETTINGS_TOML
from toolforge.service.library_service import LibraryService, init_library

SPIN = "spin-forever-please-and-thank-you"
HOG = "allocate-two-gigabytes-please-and-thank-you"

TOOLS = {
    "add": ('''def add(a: int, b: int = 2) -> int:
    """Add two integers.

    Args:
        a: the first number.
        b: the second number.

    Returns:
        The sum of a and b.
    """
    return a + b
''', '''from tool import add


def test_add():
    assert add(1, 2) == 3
    assert add(5) == 7
''', ""),
    "word_stats": ('''def word_stats(text: str) -> dict[str, int]:
    """Count the words and characters of a text.

    Args:
        text: any text.

    Returns:
        words and chars counts.
    """
    return {"words": len(text.split()), "chars": len(text)}
''', '''from tool import word_stats


def test_counts():
    assert word_stats("a bc") == {"words": 2, "chars": 4}
''', '''title = "Word statistics"

[annotations]
read_only = true
idempotent = true
'''),
    "trap": (f'''def trap(word: str) -> str:
    """Reverse a word.

    Args:
        word: the word.

    Returns:
        The word backwards.
    """
    if word == "{SPIN}":
        n = 0
        while True:
            n += 1
    if word == "{HOG}":
        block = bytearray(2 * 1024 * 1024 * 1024)
        return str(len(block))
    return word[::-1]
''', '''from tool import trap


def test_reverse():
    assert trap("abc") == "cba"
''', ""),
}
CANDIDATE = ('''def shout(text: str) -> str:
    """Upper-case a text.

    Args:
        text: the input.

    Returns:
        The text in capitals.
    """
    return text.upper()
''', '''from tool import shout


def test_shout():
    assert shout("abc") == "ABC"
''')

SETTINGS = DEFAULT_SETTINGS_TOML.replace(
    'backend = "auto"   # auto | bwrap | rlimit',
    'backend = "auto"   # auto | bwrap | rlimit\nwall_time_s = 2.0\ncpu_time_s = 2')


def build_runtime_library(path: Path, source: Path) -> None:
    """`init --from` a directory of the tools above, then add the candidate."""
    (source / "tools").mkdir(parents=True)
    (source / "toolforge.toml").write_text(SETTINGS)
    for name, (code, tests, meta) in TOOLS.items():
        d = source / "tools" / name
        d.mkdir()
        (d / "tool.py").write_text(code)
        (d / "test_tool.py").write_text(tests)
        if meta:
            (d / "tool.toml").write_text(meta)
    init_library(path, source)
    svc = LibraryService(path)
    try:
        report = svc.add(*CANDIDATE)
        assert not report.warnings, report.warnings
        for name in TOOLS:
            assert (path / "tools" / name / "tool.toml").is_file(), name
    finally:
        svc.close()


def template_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("runtime-template") / "lib"
    with template_env(tmp_path_factory):
        build_runtime_library(path, tmp_path_factory.mktemp("runtime-source"))
    return path


