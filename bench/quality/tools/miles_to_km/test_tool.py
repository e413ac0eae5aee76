import pytest

from tool import miles_to_km


def test_example():
    assert miles_to_km(26.2) == pytest.approx(42.1648128)
