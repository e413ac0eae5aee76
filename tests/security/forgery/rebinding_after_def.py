"""The strong test is defined, then its name is rebound to a weak one.

caught_by: static TF409
"""
from tool import add


def test_small():
    assert add(1, 2) == 3


def test_two_and_two():
    assert add(2, 2) == 4


test_two_and_two = test_small
