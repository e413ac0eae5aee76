import pytest

from tool import net_force


def test_example():
    assert net_force(3.5, 2.25) == pytest.approx(7.875)
