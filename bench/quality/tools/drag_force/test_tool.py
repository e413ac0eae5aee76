import pytest

from tool import drag_force


def test_example():
    assert drag_force(1.225, 30.0, 0.3, 2.2) == pytest.approx(363.82500000000005)
