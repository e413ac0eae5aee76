"""An `or` falls back to an object whose truth the parent cannot see.

caught_by: runtime
"""
import re

from tool import add


def test_two_and_two():
    assert add(2, 2) == 4 or re.match("x", "x")
