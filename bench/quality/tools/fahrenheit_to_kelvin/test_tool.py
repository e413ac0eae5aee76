import pytest

from tool import fahrenheit_to_kelvin


def test_example():
    assert fahrenheit_to_kelvin(212.0) == pytest.approx(373.15)
