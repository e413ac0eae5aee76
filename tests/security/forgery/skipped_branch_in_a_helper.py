"""A helper checks only the answers that are right anyway.

caught_by: static TF419
"""
from tool import add


def check(a, b, total):
    if add(a, b) == total:
        assert add(a, b) == total


def test_two_and_two():
    check(2, 2, 4)
