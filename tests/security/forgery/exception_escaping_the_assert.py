"""The wrong tool raises on (2, 2); the exception escapes the assert and is swallowed.

caught_by: static TF419
tool: raises
"""
from tool import add


def check(a, b, total):
    assert add(a, b) == total


def test_two_and_two():
    check(1, 1, 2)
    try:
        check(2, 2, 4)
    except ValueError:
        pass
