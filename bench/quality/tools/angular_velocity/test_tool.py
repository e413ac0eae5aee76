import pytest

from tool import angular_velocity


def test_example():
    assert angular_velocity(3000.0) == pytest.approx(314.1592653589793)
