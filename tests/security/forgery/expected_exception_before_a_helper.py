"""A pytest.raises block that holds for anything precedes the helper with the assert.

caught_by: runtime
"""
import pytest
from tool import add


def check():
    assert add(2, 2) == 4


def test_two_and_two():
    with pytest.raises(Exception):
        add(2, 2) + "x"
    check()
