"""A second definition of the same test silently replaces the first.

caught_by: static TF406
"""
from tool import add


def test_two_and_two():
    assert add(2, 2) == 4


def test_two_and_two():
    assert add(1, 2) == 3
