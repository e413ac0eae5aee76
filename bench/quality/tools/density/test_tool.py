import pytest

from tool import density


def test_example():
    assert density(7.8, 0.001) == pytest.approx(7800.0)
