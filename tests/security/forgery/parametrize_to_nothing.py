"""parametrize with no cases: the test is never called.

caught_by: static TF408
"""
import pytest
from tool import add


@pytest.mark.parametrize("a", [])
def test_two_and_two(a):
    assert add(2, 2) == 4
