import pytest

from tool import knots_to_kmh


def test_example():
    assert knots_to_kmh(22) == pytest.approx(40.744)
