import pytest

from tool import average_power


def test_example():
    assert average_power(1500.0, 12.0) == pytest.approx(125.0)
