import pytest

from tool import celsius_to_kelvin


def test_example():
    assert celsius_to_kelvin(-40.0) == pytest.approx(233.14999999999998)
