import pytest

from tool import centripetal_acceleration


def test_example():
    assert centripetal_acceleration(25.0, 50.0) == pytest.approx(12.5)
