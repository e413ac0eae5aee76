"""The visible assert runs in a helper whose parameter `add` is a fake the test passes in.

caught_by: static TF405
"""
from tool import add


def check(add):
    assert add(2, 2) == 4


def fake(a, b):
    return 4


def test_two_and_two():
    check(fake)
    assert add(1, 2) == 3
