"""A class with a lying __eq__, built from a namespace dict instead of a class statement.

caught_by: static TF305
"""
import dataclasses

from tool import add


def test_two_and_two():
    four = dataclasses.make_dataclass("Four", [], namespace={"__eq__": lambda a, b: True})
    assert add(2, 2) == four()
