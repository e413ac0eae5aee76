import pytest

from tool import linear_interpolate


def test_example():
    assert linear_interpolate(0.0, 10.0, 4.0, 30.0, 1.5) == pytest.approx(17.5)
