import pytest

from tool import parse_temperature_kelvin


def test_example():
    assert parse_temperature_kelvin("-40 F") == pytest.approx(233.14999999999998)
