import pytest

from tool import fahrenheit_to_celsius


def test_example():
    assert fahrenheit_to_celsius(98.6) == pytest.approx(37.0)
