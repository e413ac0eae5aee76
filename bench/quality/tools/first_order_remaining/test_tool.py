import pytest

from tool import first_order_remaining


def test_example():
    assert first_order_remaining(0.8, 0.002, 300.0) == pytest.approx(0.43904930887522114)
