"""The assert keeps its comparison but cannot fail.

caught_by: static TF410
"""
from tool import add


def test_two_and_two():
    assert add(2, 2) == 4 or True
