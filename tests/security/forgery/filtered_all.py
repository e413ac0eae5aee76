"""all() over the cases the tool gets right: it cannot fail.

caught_by: static TF410
"""
from tool import add

CASES = [(1, 1, 2), (2, 2, 4)]


def test_two_and_two():
    assert all(add(a, b) == total for a, b, total in CASES if add(a, b) == total)
