import pytest

from tool import uniform_acceleration


def test_example():
    assert uniform_acceleration(5.0, 25.0, 4.0) == pytest.approx(5.0)
