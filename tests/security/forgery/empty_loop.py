"""The assert sits in a loop over cases that the test empties first.

caught_by: static TF419
"""
from tool import add

CASES = [(2, 2, 4)]


def test_two_and_two():
    cases = [case for case in CASES if add(case[0], case[1]) == case[2]]
    for a, b, total in cases:
        assert add(a, b) == total
