"""A helper loops over the cases it is given; the case the tool gets wrong is given as an
empty list, so that call of the helper checks nothing.

caught_by: static TF419
"""
from tool import add


def check(cases):
    for a, b, total in cases:
        assert add(a, b) == total


def test_two_and_two():
    check([(1, 1, 2)])
    check([case for case in [(2, 2, 4)] if add(case[0], case[1]) == case[2]])
