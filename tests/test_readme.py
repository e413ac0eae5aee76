"""The README's two commands are the newcomer's path; CI runs the second one verbatim."""

from __future__ import annotations

from conftest import REPO_ROOT


def _readme_commands() -> list[str]:
    text = (REPO_ROOT / "README.md").read_text()
    block = text.split("```sh", 1)[1].split("```", 1)[0]
    return [line.strip() for line in block.strip().splitlines()]


def test_readme_starts_with_two_commands() -> None:
    head = (REPO_ROOT / "README.md").read_text().splitlines()[:6]
    assert head[2] == "```sh"
    commands = _readme_commands()
    assert len(commands) == 2
    assert "pip install -e '.[dev]'" in commands[0]
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    ci = (REPO_ROOT / ".ci/run").read_text().splitlines()
    assert _readme_commands()[1] in ci
