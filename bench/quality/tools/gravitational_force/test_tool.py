import pytest

from tool import gravitational_force


def test_example():
    assert gravitational_force(5.972e24, 7.348e22, 3.844e8) == pytest.approx(1.982110729079252e+20)
