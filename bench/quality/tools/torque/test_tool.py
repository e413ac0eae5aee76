import pytest

from tool import torque


def test_example():
    assert torque(50.0, 0.3, 60.0) == pytest.approx(12.990381056766578)
