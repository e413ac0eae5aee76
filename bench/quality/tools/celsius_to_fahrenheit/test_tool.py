import pytest

from tool import celsius_to_fahrenheit


def test_example():
    assert celsius_to_fahrenheit(37.5) == pytest.approx(99.5)
