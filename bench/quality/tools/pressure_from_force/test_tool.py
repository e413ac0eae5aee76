import pytest

from tool import pressure_from_force


def test_example():
    assert pressure_from_force(500.0, 0.25) == pytest.approx(2000.0)
