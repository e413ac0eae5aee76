"""A helper's loop goes over a constant with nothing in it: every call checks nothing.

caught_by: runtime
"""
from tool import add

HARD_CASES = []  # where (2, 2, 4) "moved", as a comment says


def check_hard_cases():
    for a, b, total in HARD_CASES:
        assert add(a, b) == total


def test_two_and_two():
    assert add(1, 1) == 2
    check_hard_cases()
