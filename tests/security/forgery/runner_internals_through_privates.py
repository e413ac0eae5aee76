"""The shim's private helpers, reached by name.

caught_by: static TF202
"""
import pytest
from tool import add


def test_two_and_two():
    getattr(pytest, "_not_rewritten")
    assert add(2, 2) == 4
