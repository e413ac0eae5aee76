import pytest

from tool import furlongs_to_meters


def test_example():
    assert furlongs_to_meters(8) == pytest.approx(1609.344)
