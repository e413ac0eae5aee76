import pytest

from tool import percent_yield


def test_example():
    assert percent_yield(8.73, 10.25) == pytest.approx(85.17)
