import pytest

from tool import gallons_to_liters


def test_example():
    assert gallons_to_liters(2.75) == pytest.approx(10.409882406)
