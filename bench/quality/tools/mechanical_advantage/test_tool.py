import pytest

from tool import mechanical_advantage


def test_example():
    assert mechanical_advantage(1200.0, 150.0) == pytest.approx(8.0)
