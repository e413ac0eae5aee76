import pytest

from tool import average_speed


def test_example():
    assert average_speed(400.0, 43.03) == pytest.approx(9.295840111550081)
