import pytest

from tool import spring_force


def test_example():
    assert spring_force(250.0, 0.04) == pytest.approx(-10.0)
