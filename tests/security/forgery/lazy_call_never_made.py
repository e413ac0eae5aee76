"""The call that would fail is inside a lazy map that nothing consumes.

caught_by: static TF419
"""
from tool import add


def check(a, b, total):
    assert add(a, b) == total


def test_two_and_two():
    check(1, 1, 2)
    map(lambda pair: check(*pair, 4), [(2, 2)])
