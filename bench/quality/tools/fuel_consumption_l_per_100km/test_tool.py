import pytest

from tool import fuel_consumption_l_per_100km


def test_example():
    assert fuel_consumption_l_per_100km(42.3, 615.0) == pytest.approx(6.9)
