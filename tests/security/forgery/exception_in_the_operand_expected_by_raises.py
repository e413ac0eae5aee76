"""The wrong tool raises on (2, 2) inside the helper's assert; pytest.raises expects it.

caught_by: runtime
tool: raises
"""
import pytest
from tool import add


def check(a, b, total):
    assert add(a, b) == total


def test_two_and_two():
    check(1, 1, 2)
    with pytest.raises(ValueError):
        check(2, 2, 4)
