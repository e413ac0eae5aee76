"""The corpus directories hold hostile `test_tool.py` files, and forgery/ hostile test
files: data for the sandbox and the harness, not tests.

Every isolating backend must keep the same promises (issue 15), so each corpus test that
takes an `isolating_backend` argument runs once per backend below, with the static checker
on and off (test_corpus.py).
"""

from __future__ import annotations

import pytest

collect_ignore_glob = ["corpus/*", "forgery/*"]

ISOLATING_BACKENDS = ("bwrap", "landlock")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "isolating_backend" in metafunc.fixturenames:
        metafunc.parametrize("isolating_backend", ISOLATING_BACKENDS)
