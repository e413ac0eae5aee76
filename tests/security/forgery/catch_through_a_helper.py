"""The assert lives in a helper, and the test swallows whatever the helper raises.

caught_by: static TF419
"""
from tool import add


def check(a, b, total):
    assert add(a, b) == total


def test_two_and_two():
    check(1, 1, 2)
    try:
        check(2, 2, 4)
    except Exception:
        pass
