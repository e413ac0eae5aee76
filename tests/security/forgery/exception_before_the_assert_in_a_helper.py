"""The wrong tool raises on (2, 2) before the helper's assert; the test swallows it.

caught_by: static TF419
tool: raises
"""
from tool import add


def check(a, b, total):
    result = add(a, b)
    assert result == total


def test_two_and_two():
    check(1, 1, 2)
    try:
        check(2, 2, 4)
    except ValueError:
        pass
