import pytest

from tool import degrees_to_radians


def test_example():
    assert degrees_to_radians(135) == pytest.approx(2.356194490192345)
