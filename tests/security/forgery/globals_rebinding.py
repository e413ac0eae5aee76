"""The module namespace is rewritten through globals().

caught_by: static TF201
"""
from tool import add


def test_two_and_two():
    globals()["add"] = lambda a, b: 4
    assert add(2, 2) == 4
