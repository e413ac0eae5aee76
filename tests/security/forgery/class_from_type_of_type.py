"""type(type(1)) is type: a three-argument call builds a class with a lying __eq__.

caught_by: static TF418
"""
from tool import add


def test_two_and_two():
    fake = type(type(1))("Fake", (), {"__e" + "q__": bool})
    assert any(add(2, 2) == value for value in [fake()]) or add(2, 2) == 4
