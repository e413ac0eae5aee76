import pytest

from tool import buoyant_force


def test_example():
    assert buoyant_force(1025.0, 0.08) == pytest.approx(804.1452999999999)
