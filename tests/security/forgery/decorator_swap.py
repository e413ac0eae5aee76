"""A decorator replaces the strong test with one that checks nothing.

caught_by: static TF408
"""
from tool import add


def weaken(function):
    return lambda: None


def test_small():
    assert add(1, 2) == 3


@weaken
def test_two_and_two():
    assert add(2, 2) == 4
