import pytest

from tool import kelvin_to_celsius


def test_example():
    assert kelvin_to_celsius(310.65) == pytest.approx(37.5)
