"""The tolerance of an approx object is widened after it is made.

caught_by: static TF413
"""
import pytest
from tool import add


def test_two_and_two():
    four = pytest.approx(4)
    four.abs = 10
    assert add(2, 2) == four
