"""Snapshots (pytest-textual-snapshot) of the review TUI's main screens at 80x24.

Stable across runs: the library is built with a pinned clock (every created_at is the same
instant), the app gets an injected clock (so ages read "2d"), the reviewed candidate's
report is written here (no durations, ids or backends of this machine), and no screen
shown includes a commit sha or a path. Regenerate with `pytest --snapshot-update`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from conftest import EXAMPLE_LIBRARY
from toolforge.service.library_service import LibraryService, init_library
from toolforge.tui.app import ReviewApp
from toolforge.tui.backend import LocalBackend
from toolforge.validation.report import LayerResult, ValidationReport, files_hash

pytestmark = pytest.mark.timeout(120)

PINNED = "2025-01-01T12:00:00Z"
NOW = datetime(2025, 1, 3, 12, 0, tzinfo=UTC)
SIZE = (80, 24)

WORD_COUNT = '''import os


def word_count(text: str, min_length: int = 1) -> int:
    """Count the words of a text.

    Args:
        text: the text.
        min_length: shortest word to count.

    Returns:
        How many words have at least min_length characters.
    """
    words = text.split(" ")
    return len([w for w in words if len(w) >= min_length])
'''
WORD_COUNT_TESTS = '''from tool import word_count


def test_simple():
    assert word_count("a b c") == 3


def test_newlines():
    assert word_count("a\\nb") == 2
'''


def _report(code: str, tests: str) -> ValidationReport:
    """A failing report with something in every layer (written, not run: stable)."""
    return ValidationReport(
        id="0" * 12, tool="word_count", version=1, location="candidates",
        files_hash=files_hash(code, tests), verdict="failed", backend="bwrap",
        isolated=True, created_at=PINNED,
        limits={"wall_time_s": 10.0, "memory_mb": 512, "max_output_bytes": 1_000_000},
        layers=[
            LayerResult(name="contract", verdict="passed",
                        summary="word_count(text: str, min_length: int = 1) -> int"),
            LayerResult(name="static", verdict="failed", summary="1 finding(s)", findings=[
                {"file": "tool.py", "line": 1, "col": 8, "code": "TF101 forbidden-import",
                 "message": "`import os`: os is never allowed"}]),
            LayerResult(name="tests", verdict="failed", summary="1/2 passed", tests=[
                {"name": "test_simple", "suite": "candidate", "outcome": "passed",
                 "message": "", "output": ""},
                {"name": "test_newlines", "suite": "candidate", "outcome": "failed",
                 "message": "AssertionError: assert 1 == 2", "output": "split: ['a\\nb']\n"},
            ]),
            LayerResult(name="property", verdict="failed", summary="1 counterexample(s)",
                        counterexamples=[{"kind": "crash", "args": {"text": "", "min_length": 0},
                                          "detail": "counted an empty word"}]),
        ],
    )


@pytest.fixture(scope="module")
def snap_library(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("snap") / "library"
    home = tmp_path_factory.mktemp("snap-home")
    with pytest.MonkeyPatch.context() as mp:  # the autouse env fixture is function-scoped
        mp.setenv("HOME", str(home))
        mp.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
        mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
        for module in ("toolforge.library.meta", "toolforge.library.store",
                       "toolforge.service.library_service"):
            mp.setattr(f"{module}.now_iso", lambda: PINNED)
        init_library(path, from_dir=EXAMPLE_LIBRARY)
        svc = LibraryService(path)
        try:
            svc.add(WORD_COUNT, WORD_COUNT_TESTS, validate=False, provenance={
                "source": "evolve", "cycle": "c-0001",
                "models": {"synthesis": "gpt-4.1-mini", "tests": "claude-haiku"},
                "evidence": ["traj-0007", "traj-0011"], "cost_usd": 0.0123, "tokens": 4567,
            })
            svc.reports.save(_report(WORD_COUNT, WORD_COUNT_TESTS))
        finally:
            svc.close()
    yield path


@pytest.fixture
def review_app(snap_library: Path) -> Iterator[ReviewApp]:
    backend = LocalBackend(snap_library)
    yield ReviewApp(backend, clock=lambda: NOW)
    backend.close()


async def _loaded(pilot: Any) -> None:
    app: ReviewApp = pilot.app
    while not (app.tool_list.tools and app.detail.loaded and not app.detail.loading):
        await pilot.pause(0.05)


async def _word_count_validation(pilot: Any) -> None:
    await _loaded(pilot)
    app: ReviewApp = pilot.app
    await pilot.press("G")  # word_count is the last row
    while app.detail.loaded.detail.tool != "word_count" or app.detail.loading:
        await pilot.pause(0.05)
    await pilot.press("3")
    await pilot.pause(0.2)


async def _help(pilot: Any) -> None:
    await _loaded(pilot)
    await pilot.press("question_mark")
    await pilot.pause(0.2)


def test_main_screen(review_app: ReviewApp, snap_compare: Any) -> None:
    assert snap_compare(review_app, terminal_size=SIZE, run_before=_loaded)


def test_validation_tab(review_app: ReviewApp, snap_compare: Any) -> None:
    assert snap_compare(review_app, terminal_size=SIZE, run_before=_word_count_validation)


def test_help_screen(review_app: ReviewApp, snap_compare: Any) -> None:
    assert snap_compare(review_app, terminal_size=SIZE, run_before=_help)
