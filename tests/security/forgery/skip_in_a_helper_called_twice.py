"""A helper that checks only answers that are right anyway, called once with a case the
wrong tool gets right (so its assert does run) and once with the case it gets wrong.

caught_by: static TF419
"""
from tool import add


def check(a, b, total):
    if add(a, b) == total:
        assert add(a, b) == total


def test_two_and_two():
    check(1, 1, 2)
    check(2, 2, 4)
