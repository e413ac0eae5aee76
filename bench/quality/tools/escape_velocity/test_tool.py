import pytest

from tool import escape_velocity


def test_example():
    assert escape_velocity(5.972e24, 6.371e6) == pytest.approx(11185.97789184991)
