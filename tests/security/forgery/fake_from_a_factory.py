"""A helper returns a local fake of the tool; the visible assert checks the fake.

caught_by: runtime
"""
from tool import add


def outer():
    def fake(a, b):
        return 4
    return fake


def test_two_and_two():
    f = outer()
    assert f(2, 2) == 4
    assert add(1, 2) == 3
