"""A `for` loop binds the tool's name to a fake around the visible assert.

caught_by: static TF405
"""
from tool import add


def fake(a, b):
    return 4


def test_two_and_two():
    for add in [fake]:
        assert add(2, 2) == 4
