"""A helper named like a builtin changes what the visible assert computes.

caught_by: static TF405
"""
from tool import add


def sorted(values):
    return [4]


def test_two_and_two():
    assert sorted([add(2, 2)]) == [4]
    assert add(2, 2) == 4 or sorted([add(2, 2)]) == [4]
