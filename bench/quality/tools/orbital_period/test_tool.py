import pytest

from tool import orbital_period


def test_example():
    assert orbital_period(4.2164e7, 5.972e24) == pytest.approx(86164.78605197273)
