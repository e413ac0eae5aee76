"""A helper named with a Cyrillic letter reads exactly like the tool's function.

caught_by: static TF417
"""
from tool import add


def аdd(a, b):
    return a + b


def test_two_and_two():
    assert аdd(2, 2) == 4
    assert add(1, 1) == 2
