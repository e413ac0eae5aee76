import pytest

from tool import grains_to_mg


def test_example():
    assert grains_to_mg(5) == pytest.approx(323.99455)
