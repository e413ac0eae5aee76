"""The loop stops after the first case whenever the tool is wrong about a later one.

caught_by: static TF419
"""
from tool import add

CASES = [(1, 1, 2), (2, 2, 4)]


def test_two_and_two():
    for a, b, total in CASES:
        assert add(a, b) == total or add(2, 2) != 4
        if add(2, 2) != 4:
            break
