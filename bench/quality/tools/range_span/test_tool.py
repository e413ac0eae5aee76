import pytest

from tool import range_span


def test_example():
    assert range_span([3.5, -2.0, 7.25]) == pytest.approx(9.25)
