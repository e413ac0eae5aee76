import pytest

from tool import feet_to_meters


def test_example():
    assert feet_to_meters(5280) == pytest.approx(1609.344)
