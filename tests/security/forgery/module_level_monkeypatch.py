"""Module-level code patches the tool proxy before any test runs.

caught_by: static TF106
"""
import tool
from tool import add

tool.add = lambda a, b: a + b


def test_two_and_two():
    assert add(2, 2) == 4
