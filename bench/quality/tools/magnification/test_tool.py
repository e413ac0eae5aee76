import pytest

from tool import magnification


def test_example():
    assert magnification(-4.5, 1.5) == pytest.approx(-3.0)
