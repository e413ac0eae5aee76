import pytest

from tool import momentum


def test_example():
    assert momentum(0.145, 40.2) == pytest.approx(5.829)
