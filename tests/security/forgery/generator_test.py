"""A generator test returns a generator without running its body.

caught_by: static TF411
"""
from tool import add


def test_two_and_two():
    yield
    assert add(2, 2) == 4
