"""pytest.raises(AssertionError) turns the failing assert into the expected outcome.

caught_by: runtime
"""
import pytest
from tool import add


def check(a, b, total):
    assert add(a, b) == total


def test_two_and_two():
    check(1, 1, 2)
    with pytest.raises(AssertionError):
        check(2, 2, 4)
