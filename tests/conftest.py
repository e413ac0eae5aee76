"""Shared fixtures: real git libraries in temp dirs, and the CLI driven like a user would."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from toolforge.cli.app import app

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_LIBRARY = REPO_ROOT / "library"


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """No test depends on the developer's git identity, library or logs."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for kind in ("AUTHOR", "COMMITTER"):  # a person's identity, for hand commits in tests
        monkeypatch.setenv(f"GIT_{kind}_NAME", "Test Person")
        monkeypatch.setenv(f"GIT_{kind}_EMAIL", "person@example.test")
    monkeypatch.setenv("TOOLFORGE_LOG_DIR", str(home / "logs"))
    monkeypatch.setenv("TOOLFORGE_NO_DAEMON", "1")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(home / "run"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))  # the user config
    for var in ("TOOLFORGE_LIBRARY", "TOOLFORGE_CONFIG", "TOOLFORGE_SANDBOX", "TOOLFORGE_MODEL",
                "TOOLFORGE_API_BASE", "TOOLFORGE_API_KEY"):
        monkeypatch.delenv(var, raising=False)


@contextmanager
def template_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[pytest.MonkeyPatch]:
    """For a module-scoped fixture that builds a library before the autouse environment
    is active: a home of its own, no git config of the developer's, no daemon."""
    with pytest.MonkeyPatch.context() as mp:
        home = tmp_path_factory.mktemp("template-home")
        mp.setenv("HOME", str(home))
        mp.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
        mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
        mp.setenv("TOOLFORGE_NO_DAEMON", "1")
        yield mp


def copy_library(template: Path, tmp_path: Path) -> Path:
    """A test's own copy of a library built once per module."""
    path = tmp_path / "lib"
    shutil.copytree(template, path, symlinks=True)
    return path


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def envelope(self) -> Any:
        """The whole --json document (docs/json.md)."""
        return json.loads(self.stdout)

    @property
    def json(self) -> Any:
        """What the command returned: the envelope's `result`; for a failure its `error`
        as {"error": kind, "message": ..., "hint": ..., ...}."""
        doc = self.envelope
        if not isinstance(doc, dict) or "schema_version" not in doc:
            return doc  # not an envelope: e.g. `export` without --json prints the schemas
        if doc.get("ok", True):
            return doc.get("result")
        error = dict(doc["error"])
        return {"error": error.pop("kind"), **error}


def run_cli(*args: str | Path) -> CliResult:
    runner = CliRunner()
    result = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
    return CliResult(result.exit_code, result.stdout, result.stderr)


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture
def library(tmp_path: Path) -> Path:
    path = tmp_path / "lib"
    assert run_cli("init", path).exit_code == 0
    return path


@pytest.fixture
def example_library(tmp_path: Path) -> Path:
    path = tmp_path / "example"
    result = run_cli("init", path, "--from", EXAMPLE_LIBRARY)
    assert result.exit_code == 0, result.stdout + result.stderr
    return path


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout


def make_tool(name: str, body: str = "return text.upper()", doc: str = "Upper-case a text.") -> str:
    return (
        f"def {name}(text: str) -> str:\n"
        f'    """{doc}\n\n    Args:\n        text: the input.\n\n    Returns:\n'
        f'        The result.\n    """\n    {body}\n'
    )


def make_tests(name: str, expected_for_abc: str = "ABC") -> str:
    return (
        f"from tool import {name}\n\n\n"
        f"def test_abc():\n    assert {name}('abc') == {expected_for_abc!r}\n"
    )


def write_tool_dir(base: Path, name: str, code: str | None = None, tests: str | None = None
                   ) -> Path:
    d = base / name
    d.mkdir(parents=True, exist_ok=True)
    (d / "tool.py").write_text(code if code is not None else make_tool(name))
    (d / "test_tool.py").write_text(tests if tests is not None else make_tests(name))
    return d


def python_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT / "tests")
    return env


PYTHON = sys.executable
