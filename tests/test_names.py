"""Hostile names never become paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import git, make_tool, run_cli
from toolforge.errors import InvalidNameError
from toolforge.names import validate_tool_name

HOSTILE = [
    "../x",
    "..",
    ".",
    ".git",
    "a/b",
    "a\\b",
    "/etc/passwd",
    "",
    "x" * 65,
    "x" * 10_000,
    "sha256_hеx",  # Cyrillic е
    "ｓｈａ",  # fullwidth
    "tool\u200b",  # zero-width space
    "Upper",
    "1abc",
    "with space",
    "with-dash",
    "nul\x00byte",
    "class",  # keyword
    "tools",
    "-rf",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_validator_refuses(name: str) -> None:
    with pytest.raises(InvalidNameError):
        validate_tool_name(name)


def test_good_names_pass() -> None:
    for name in ("a", "sha256_hex", "parse_acme_log_v2", "x" * 64):
        assert validate_tool_name(name) == name


# argv cannot carry a NUL byte; the validator test above covers that one.
@pytest.mark.parametrize("name", [n for n in HOSTILE if "\x00" not in n])
def test_cli_refuses_hostile_names_everywhere(name: str, library: Path, tmp_path: Path) -> None:
    src = tmp_path / "ok_tool.py"
    src.write_text(make_tool("ok_tool"))
    head = git(library, "rev-parse", "HEAD")
    for args in (
        ["add", src, "--name", name],
        ["show", name],
        ["promote", name],
        ["reject", name, "--reason", "x"],
        ["retire", name],
        ["history", name],
        ["diff", name],
        ["rollback", name],
    ):
        result = run_cli(*args, "-L", library, "--json")
        assert result.exit_code in (1, 2), (args, result.stdout)
        if result.exit_code == 1:
            assert result.json["error"] == "invalid_name", (args, result.json)
    assert git(library, "rev-parse", "HEAD") == head
    assert sorted(p.name for p in library.iterdir()) == [
        ".git", ".gitignore", ".toolforge", "candidates", "toolforge.toml", "tools"]
    assert not (tmp_path / "x").exists()


def test_function_names_in_tool_files_are_checked(library: Path, tmp_path: Path) -> None:
    src = tmp_path / "t.py"
    src.write_text(make_tool("Bad_Name"))
    result = run_cli("add", src, "-L", library, "--json")
    assert result.exit_code == 1
    assert "not a valid tool name" in result.json["message"]
