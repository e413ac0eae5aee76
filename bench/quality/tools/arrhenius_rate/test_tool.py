import pytest

from tool import arrhenius_rate


def test_example():
    assert arrhenius_rate(1e13, 75000.0, 310.0) == pytest.approx(2.3058648100471504)
