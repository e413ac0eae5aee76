import pytest

from tool import distance_2d


def test_example():
    assert distance_2d(1.0, 2.0, 4.0, 6.0) == pytest.approx(5.0)
