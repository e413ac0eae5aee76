import pytest

from tool import half_life_from_rate


def test_example():
    assert half_life_from_rate(0.0035) == pytest.approx(198.04205158855578)
