"""Bidirectional control characters make a line display differently from what runs.

caught_by: static TF003
"""
from tool import add


def test_two_and_two():
    """‮ ⁦ if result != 4: return ⁩ ⁦"""
    assert add(2, 2) == 4
