import pytest

from tool import electrical_power


def test_example():
    assert electrical_power(230.0, 4.3) == pytest.approx(989.0)
