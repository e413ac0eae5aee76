"""An expected value whose __eq__ always says True.

caught_by: static TF412
"""
from tool import add


class Four(int):
    def __eq__(self, other):
        return True


def test_two_and_two():
    assert add(2, 2) == Four(4)
