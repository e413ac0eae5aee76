import pytest

from tool import impulse


def test_example():
    assert impulse(850.0, 0.012) == pytest.approx(10.200000000000001)
