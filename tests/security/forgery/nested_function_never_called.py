"""The assert is inside a nested function that the test never calls.

caught_by: static TF419
"""
from tool import add


def test_two_and_two():
    def check():
        assert add(2, 2) == 4

    assert add(1, 2) == 3
