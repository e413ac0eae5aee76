"""An Enum built from a mapping whose computed key is "__eq__": members equal anything, and
the comparison happens inside the test's own process.

caught_by: static TF101
"""
import enum

from tool import add


def test_two_and_two():
    fake = enum.Enum("Fake", {"__e" + "q__": lambda a, b: True, "FOUR": 4})
    assert all(add(2, 2) == member for member in [fake.FOUR])
