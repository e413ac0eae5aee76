"""The test returns before its assert whenever the tool is wrong.

caught_by: static TF419
"""
from tool import add


def test_two_and_two():
    if add(2, 2) != 4:
        return
    assert add(2, 2) == 4
